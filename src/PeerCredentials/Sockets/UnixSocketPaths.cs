using System.Globalization;
using System.Net.Sockets;
using System.Text;

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
    public static string GetDefault(string application, string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(application);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var runtimeDirectory = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(runtimeDirectory))
        {
            return Path.Combine(runtimeDirectory, application, fileName);
        }

        var uid = UnixAccounts.EffectiveUserId;
        return uid == 0
            ? Path.Combine("/run", application, fileName)
            : Path.Combine("/tmp", $"{application}-{uid.ToString(CultureInfo.InvariantCulture)}", fileName);
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
}
