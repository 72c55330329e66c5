using System.Globalization;
using System.Net.Sockets;
using System.Text;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>Where a daemon's socket goes by default, and what a socket path may be.</summary>
public static class UnixSocketPaths
{
    /// <summary>The most bytes a socket path may have: <c>sun_path</c> holds 108, one of them the terminating NUL.</summary>
    public const int MaxPathBytes = 107;

    /// <summary>
    /// The conventional place for <paramref name="fileName"/> of <paramref name="application"/>:
    /// <c>$XDG_RUNTIME_DIR/application/fileName</c>; without <c>XDG_RUNTIME_DIR</c>,
    /// <c>/run/application/fileName</c> for root and <c>/tmp/application-uid/fileName</c> for others.
    /// </summary>
    /// <remarks>
    /// An <c>XDG_RUNTIME_DIR</c> that is not a directory owned by this process's uid is ignored:
    /// <c>su</c> and <c>sudo -E</c> keep the invoking user's, and a socket made in it would be at that
    /// user's mercy (the user can swap the directory the socket is in).
    /// </remarks>
    public static string GetDefault(string application, string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(application);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var uid = UnixAccounts.EffectiveUserId;
        var runtimeDirectory = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(runtimeDirectory) && IsOwnDirectory(runtimeDirectory, uid))
        {
            return Path.Combine(runtimeDirectory, application, fileName);
        }

        return uid == 0
            ? Path.Combine("/run", application, fileName)
            : Path.Combine("/tmp", $"{application}-{uid.ToString(CultureInfo.InvariantCulture)}", fileName);
    }

    /// <summary>
    /// Why a client should not trust the socket file at <paramref name="socketPath"/>: its directory, or a
    /// directory above it, could have been changed by a uid other than root and this process's (which
    /// could then have put its own socket there), or <see langword="null"/> when none could. Abstract
    /// names have no directory and give <see langword="null"/>; only the server's uid can tell about them.
    /// </summary>
    public static string? FindUnsafeDirectory(string socketPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        return IsAbstract(socketPath) || Path.GetDirectoryName(socketPath) is not { } directory
            ? null
            : UnixSocketDirectory.FindProblem(directory);
    }

    /// <summary>Whether <paramref name="path"/> names an abstract socket (<c>@name</c>), which has no file.</summary>
    public static bool IsAbstract(string path) => path.StartsWith('@');

    /// <summary>The endpoint of a socket path; <c>@name</c> becomes the abstract address (a leading NUL).</summary>
    public static UnixDomainSocketEndPoint ToEndPoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new UnixDomainSocketEndPoint(IsAbstract(path) ? "\0" + path[1..] : path);
    }

    /// <summary>Why <paramref name="path"/> cannot be a socket path, or <see langword="null"/> when it can.</summary>
    public static string? Validate(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return "is empty";
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return "contains a NUL character";
        }

        if (!IsAbstract(path) && !Path.IsPathFullyQualified(path))
        {
            return $"'{path}' is not an absolute path";
        }

        var bytes = Encoding.UTF8.GetByteCount(path);
        return bytes > MaxPathBytes
            ? $"'{path}' is {bytes} bytes long, but a Unix socket path holds at most {MaxPathBytes} bytes (sun_path)"
            : null;
    }

    private static bool IsOwnDirectory(string path, uint uid)
    {
        try
        {
            // lstat: a symbolic link named XDG_RUNTIME_DIR is not a directory of ours, whoever owns it.
            return Path.IsPathFullyQualified(path) && Libc.LStat(path) is { IsDirectory: true } found && found.Uid == uid;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
