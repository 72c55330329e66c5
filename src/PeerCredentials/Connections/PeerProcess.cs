using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using PeerCredentials.Interop;

namespace PeerCredentials;

/// <summary>
/// What can be known for sure about the process at the other end of a connection: its executable's path
/// and sha256, each read once, on first use, and only kept when the process was provably the peer.
/// </summary>
/// <remarks>
/// <para>
/// <c>/proc/PID/exe</c> is looked up by pid, and a pid is reused once its process has exited and been
/// reaped. The pidfd (<c>SO_PEERPIDFD</c>) pins the peer's <c>struct pid</c>, and
/// <c>/proc/self/fdinfo/FD</c> says whether a task still has it, by its number in <c>/proc</c>'s pid
/// namespace (<c>Pid: -1</c> once reaped). A pid cannot name anyone else while its process exists, and a
/// process that was reaped never comes back; so when the pidfd still names the same pid after a read, the
/// read was of the peer's process. Every fact is read first and confirmed after.
/// </para>
/// <para>
/// The hash is of the file that opening <c>/proc/PID/exe</c> gives: the kernel's reference to the file
/// the process runs, not whatever the path names by then (a rename, a new file, a link swapped in).
/// </para>
/// </remarks>
internal sealed class PeerProcess
{
    private const int HashBufferBytes = 128 * 1024;

    private readonly Lazy<Fact> _executablePath;
    private readonly Lazy<Fact> _executableSha256;

    public PeerProcess(int processId, SafeFileHandle? pidFd)
    {
        _executablePath = new(() => ReadExecutablePath(processId, pidFd), LazyThreadSafetyMode.ExecutionAndPublication);

        // The path first: a hash is only given for the file whose path was reported.
        _executableSha256 = new(
            () => ExecutablePath is { Value: { } path } ? ReadExecutableSha256(processId, pidFd, path) : ExecutablePath,
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>A fact about the process, or why it cannot be known.</summary>
    /// <param name="Value">The fact; <see langword="null"/> when unknown.</param>
    /// <param name="Unknown">Why it is unknown; <see langword="null"/> when known.</param>
    internal readonly record struct Fact(string? Value, string? Unknown)
    {
        public static Fact Known(string value) => new(value, null);

        public static Fact Unknowable(string why) => new(null, why);
    }

    /// <summary>The executable's path as the kernel names it (<c>/proc/PID/exe</c>).</summary>
    public Fact ExecutablePath => _executablePath.Value;

    /// <summary>The sha256, lowercase hex, of the file <see cref="ExecutablePath"/> names.</summary>
    public Fact ExecutableSha256 => _executableSha256.Value;

    private static Fact ReadExecutablePath(int pid, SafeFileHandle? pidFd) => WithPidFd(pid, pidFd, fd =>
    {
        var errno = Libc.TryReadLink(ExeLink(pid), out var target);

        // The link was read by pid: it was the peer's only if the peer was still there afterwards.
        if (!PidFdStillNames(fd, pid))
        {
            return Exited(pid);
        }

        return errno == 0 && target is not null ? Fact.Known(target) : Fact.Unknowable(Explain(errno, pid, "read"));
    });

    private static Fact ReadExecutableSha256(int pid, SafeFileHandle? pidFd, string path) => WithPidFd(pid, pidFd, fd =>
    {
        var errno = Libc.TryOpenForReading(ExeLink(pid), out var opened);
        using var file = opened;
        if (file is null)
        {
            return PidFdStillNames(fd, pid) ? Fact.Unknowable(Explain(errno, pid, "open")) : Exited(pid);
        }

        // The same file as the path named, unless the process has run execve since.
        if (Libc.TryReadLink("/proc/self/fd/" + Number(file.DangerousGetHandle()), out var openedPath) != 0 || openedPath != path)
        {
            return PidFdStillNames(fd, pid)
                ? Fact.Unknowable($"the peer's process (pid {Number(pid)}) no longer runs {path} (it has called execve since)")
                : Exited(pid);
        }

        var hash = Sha256(file, path, out var tooLarge);

        // Hashing took a while: the file opened was the peer's only if the peer is still there now.
        if (!PidFdStillNames(fd, pid))
        {
            return Exited(pid);
        }

        return hash is not null ? Fact.Known(hash) : Fact.Unknowable(tooLarge!);
    });

    private static string? Sha256(SafeFileHandle file, string path, out string? tooLarge)
    {
        var length = RandomAccess.GetLength(file);
        if (length > PeerCredential.MaxHashedExecutableBytes)
        {
            tooLarge = TooLarge(path, length);
            return null;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(HashBufferBytes);
        try
        {
            long offset = 0;
            int read;
            while ((read = RandomAccess.Read(file, buffer, offset)) > 0)
            {
                offset += read;
                if (offset > PeerCredential.MaxHashedExecutableBytes)
                {
                    tooLarge = TooLarge(path, offset);
                    return null;
                }

                hash.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        tooLarge = null;
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string TooLarge(string path, long length)
        => $"the peer's executable {path} is {Number(length / (1024 * 1024))} MiB, more than the {Number(PeerCredential.MaxHashedExecutableBytes / (1024 * 1024))} MiB this library hashes";

    private static Fact WithPidFd(int pid, SafeFileHandle? pidFd, Func<nint, Fact> read)
    {
        if (pid <= 0)
        {
            return Fact.Unknowable("the peer's process is not visible in this pid namespace (pid 0)");
        }

        if (pidFd is null)
        {
            return Fact.Unknowable($"no pidfd pins the peer's process (pid {Number(pid)}): the kernel gave none (SO_PEERPIDFD needs Linux 6.5), or the process had already exited");
        }

        var added = false;
        try
        {
            pidFd.DangerousAddRef(ref added);
            return read(pidFd.DangerousGetHandle());
        }
        catch (ObjectDisposedException)
        {
            return Fact.Unknowable("the connection has closed");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fact.Unknowable($"the peer's process (pid {Number(pid)}) could not be inspected: {e.Message}");
        }
        finally
        {
            if (added)
            {
                pidFd.DangerousRelease();
            }
        }
    }

    private static bool PidFdStillNames(nint pidFd, int pid)
    {
        // fdinfo gives the pid in the namespace of the /proc it is read through, which is the /proc the
        // facts came from; "Pid: -1" once the process has been reaped (0 if /proc cannot see it).
        foreach (var line in File.ReadLines("/proc/self/fdinfo/" + Number(pidFd)))
        {
            if (line.StartsWith("Pid:", StringComparison.Ordinal))
            {
                return int.TryParse(line.AsSpan(4).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var current)
                    && current == pid;
            }
        }

        return false;
    }

    private static Fact Exited(int pid) => Fact.Unknowable($"the peer's process (pid {Number(pid)}) has exited");

    private static string Explain(int errno, int pid, string what) => errno switch
    {
        // A zombie: exited, not yet reaped, its memory (and so its executable) gone.
        Libc.ENOENT or Libc.ESRCH => $"the peer's process (pid {Number(pid)}) has exited",
        Libc.EACCES or 1 /* EPERM */ => $"this process (uid {Number(Libc.GetEffectiveUserId())}) may not {what} /proc/{Number(pid)}/exe: that needs ptrace read access to the peer (the same uid, or CAP_SYS_PTRACE){(what == "open" ? " and read permission on its executable" : string.Empty)}",
        _ => $"cannot {what} /proc/{Number(pid)}/exe: {Marshal.GetPInvokeErrorMessage(errno)} (errno {Number(errno)})",
    };

    private static string ExeLink(int pid) => "/proc/" + Number(pid) + "/exe";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
