using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using PeerCredentials.Interop;

namespace PeerCredentials;

/// <summary>
/// What can be known for sure about the process at the other end of a connection: its executable's path
/// and sha256, each read once, on first use, and only kept when the process was provably the peer.
/// Disposing closes the pidfd, if one was taken.
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
/// The pidfd is taken from the socket on first use, not at <c>accept()</c>: the socket has held a
/// reference to the peer's <c>struct pid</c> since <c>connect()</c>, so a pidfd taken later names the
/// same process (or fails, or reads as reaped, once it is gone), and a connection whose process nobody
/// asks about never pays for one (about 20 µs to create and close).
/// </para>
/// <para>
/// The hash is of the file that opening <c>/proc/PID/exe</c> gives: the kernel's reference to the file
/// the process runs, not whatever the path names by then (a rename, a new file, a link swapped in).
/// </para>
/// </remarks>
internal sealed class PeerProcess : IDisposable
{
    private const int HashBufferBytes = 128 * 1024;

    private readonly int _processId;
    private readonly Socket? _socket;
    private readonly Lazy<Fact> _executablePath;
    private readonly Lazy<Fact> _executableSha256;
    private string? _glance; // /proc/PID/exe by pid alone, once asked; empty when it could not be read
    private readonly Lock _pidFdLock = new();
    private SafeFileHandle? _pidFd;
    private string? _noPidFd;
    private bool _pidFdTaken;
    private bool _disposed;

    /// <param name="processId">The peer's pid from <c>SO_PEERCRED</c>.</param>
    /// <param name="socket">The connection, to take the pidfd from; <see langword="null"/> for credentials not read from a socket.</param>
    public PeerProcess(int processId, Socket? socket)
    {
        _processId = processId;
        _socket = socket;
        _executablePath = new(() => WithPidFd(ReadExecutablePath), LazyThreadSafetyMode.ExecutionAndPublication);

        // The path first: a hash is only given for the file whose path was reported.
        _executableSha256 = new(
            () => ExecutablePath is { Value: { } path } ? WithPidFd((pid, fd) => ReadExecutableSha256(pid, fd, path)) : ExecutablePath,
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

    /// <summary>
    /// Whether the peer may be a relay, from a glance at <c>/proc/PID/exe</c> by pid alone (one
    /// <c>readlink</c>, a few µs) before the confirmed read (a pidfd and its check, about 80 µs here). While
    /// the peer lives its pid is its own, so a glance that finds no relay there means the peer is not one,
    /// or is gone, which the confirmed read would find too; a glance that finds one may have seen a
    /// process that took a dead peer's pid, so only then is the answer confirmed. Most peers are not
    /// relays, and asking about every connection then costs the glance alone.
    /// </summary>
    public bool MayBeRelay(IReadOnlySet<string>? relayNames)
    {
        if (_executablePath.IsValueCreated || _processId <= 0 || !OperatingSystem.IsLinux())
        {
            return true; // already known, or nothing to glance at: the confirmed answer decides
        }

        // Kept, so the gate's relay log, a not-relay rule and /whoami glance once between them. Two threads
        // may both read it at first; they read the same link.
        var glance = _glance ??= Libc.TryReadLink(ExeLink(_processId), out var target) == 0 && target is not null ? target : string.Empty;
        return glance.Length > 0 && PeerRelays.IsRelay(glance, relayNames);
    }

    /// <summary>Whether the executable's path has been read (and the pidfd taken for it).</summary>
    public bool ExecutablePathRead => _executablePath.IsValueCreated;

    /// <summary>Whether a pidfd pins the peer's process (taking it now, if not yet taken).</summary>
    public bool HasPidFd => _processId > 0 && PidFd(out _) is not null;

    public void Dispose()
    {
        lock (_pidFdLock)
        {
            _disposed = true;
            _pidFd?.Dispose(); // a read under way keeps it open (AddRef) until it is done
        }
    }

    private SafeFileHandle? PidFd(out string? missing)
    {
        lock (_pidFdLock)
        {
            if (_disposed)
            {
                missing = "the connection has closed";
                return null;
            }

            if (!_pidFdTaken)
            {
                _pidFdTaken = true;
                _pidFd = OpenPidFd(_socket, _processId, out _noPidFd);
            }

            missing = _noPidFd;
            return _pidFd;
        }
    }

    private static SafeFileHandle? OpenPidFd(Socket? socket, int pid, out string? missing)
    {
        if (socket is null)
        {
            missing = $"no pidfd pins the peer's process (pid {Number(pid)}): these credentials were not read from a socket";
            return null;
        }

        if (!OperatingSystem.IsLinux())
        {
            missing = $"no pidfd pins the peer's process (pid {Number(pid)}): pidfds are Linux's";
            return null;
        }

        Span<byte> fd = stackalloc byte[sizeof(int)];
        try
        {
            if (socket.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerPidFd, fd) == fd.Length)
            {
                missing = null;
                return new SafeFileHandle(MemoryMarshal.Read<int>(fd), ownsHandle: true);
            }

            missing = "the kernel gave no pidfd for the peer";
        }
        catch (ObjectDisposedException)
        {
            missing = "the connection has closed";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ProtocolOption)
        {
            missing = $"no pidfd pins the peer's process (pid {Number(pid)}): this kernel gives none (SO_PEERPIDFD needs Linux 6.5)";
        }
        catch (SocketException e) when (e.NativeErrorCode == Libc.ESRCH)
        {
            missing = Exited(pid).Unknown;
        }
        catch (SocketException e)
        {
            missing = $"the kernel gave no pidfd for the peer (pid {Number(pid)}): {e.Message}";
        }

        return null;
    }

    private static Fact ReadExecutablePath(int pid, nint fd)
    {
        var errno = Libc.TryReadLink(ExeLink(pid), out var target);

        // The link was read by pid: it was the peer's only if the peer was still there afterwards.
        if (!PidFdStillNames(fd, pid))
        {
            return Exited(pid);
        }

        return errno == 0 && target is not null ? Fact.Known(target) : Fact.Unknowable(Explain(errno, pid, "read"));
    }

    private static Fact ReadExecutableSha256(int pid, nint fd, string path)
    {
        var errno = Libc.TryOpenForReading(ExeLink(pid), out var opened);
        using var file = opened;
        if (file is null)
        {
            return PidFdStillNames(fd, pid) ? Fact.Unknowable(Explain(errno, pid, "open")) : Exited(pid);
        }

        // The same file as the path named, unless the process has run execve, or its file was replaced, since.
        if (Libc.TryReadLink("/proc/self/fd/" + Number(file.DangerousGetHandle()), out var openedPath) != 0 || openedPath != path)
        {
            return PidFdStillNames(fd, pid)
                ? Fact.Unknowable($"the peer's process (pid {Number(pid)}) runs {openedPath ?? "another file"} now, not {path} (an execve, or the file was replaced, since its path was read)")
                : Exited(pid);
        }

        var hash = Sha256(file, path, out var tooLarge);

        // Hashing took a while: the file opened was the peer's only if the peer is still there now.
        if (!PidFdStillNames(fd, pid))
        {
            return Exited(pid);
        }

        return hash is not null ? Fact.Known(hash) : Fact.Unknowable(tooLarge!);
    }

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

    private Fact WithPidFd(Func<int, nint, Fact> read)
    {
        var pid = _processId;
        if (pid <= 0)
        {
            return Fact.Unknowable("the peer's process is not visible in this pid namespace (pid 0)");
        }

        if (PidFd(out var missing) is not { } pidFd)
        {
            return Fact.Unknowable(missing!);
        }

        var added = false;
        try
        {
            pidFd.DangerousAddRef(ref added);
            return read(pid, pidFd.DangerousGetHandle());
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
