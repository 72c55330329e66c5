using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PeerCredentials.Interop;

namespace PeerCredentials;

/// <summary>
/// What the kernel says about the process at the other end of a Unix domain socket, captured when
/// it called <c>connect()</c>: <c>SO_PEERCRED</c> always, <c>SO_PEERGROUPS</c> and a pidfd from
/// <c>SO_PEERPIDFD</c> where the kernel offers them.
/// </summary>
/// <remarks>
/// The credentials are those of the process that connected, for the whole life of the socket: a
/// connected descriptor handed to another process keeps them. The uid is the identity; the pid is
/// informational (0 when the peer's process is not visible in this pid namespace, and reusable once the
/// process exits). Facts about the process, such as its executable, are read through the pidfd so that
/// they cannot describe a different process that later got the same pid. Dispose to close the pidfd.
/// </remarks>
public sealed class PeerCredential : IDisposable
{
    // 65536 groups (NGROUPS_MAX) of 4 bytes: the most SO_PEERGROUPS can ever return.
    private const int MaxGroupBytes = 65536 * sizeof(uint);
    private const int InitialGroupSlots = 64;

    private readonly SafeFileHandle? _pidFd;
    private readonly Lazy<string?> _executablePath;

    /// <summary>Creates credentials from known values, for peers identified by other means and for tests.</summary>
    /// <param name="processId">The peer's pid in this pid namespace, or 0 when not visible.</param>
    /// <param name="userId">The peer's effective uid.</param>
    /// <param name="groupId">The peer's effective gid.</param>
    /// <param name="supplementaryGroups">The peer's supplementary groups, or <see langword="null"/> when unknown.</param>
    public PeerCredential(int processId, uint userId, uint groupId, IReadOnlyList<uint>? supplementaryGroups = null)
        : this(processId, userId, groupId, supplementaryGroups, pidFd: null)
    {
    }

    private PeerCredential(int processId, uint userId, uint groupId, IReadOnlyList<uint>? supplementaryGroups, SafeFileHandle? pidFd)
    {
        ProcessId = processId;
        UserId = userId;
        GroupId = groupId;
        SupplementaryGroups = supplementaryGroups;
        _pidFd = pidFd;
        _executablePath = new Lazy<string?>(ReadExecutablePath, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Whether this platform can read peer credentials from a Unix domain socket.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>The peer's pid in this pid namespace; 0 means the process is not visible here, not a process.</summary>
    public int ProcessId { get; }

    /// <summary>The peer's effective uid when it connected. This is the identity.</summary>
    public uint UserId { get; }

    /// <summary>The peer's effective gid when it connected.</summary>
    public uint GroupId { get; }

    /// <summary>
    /// The peer's supplementary groups as the kernel reports them (<c>SO_PEERGROUPS</c>), or
    /// <see langword="null"/> when the kernel does not offer them.
    /// </summary>
    public IReadOnlyList<uint>? SupplementaryGroups { get; }

    /// <summary>Whether a pidfd pins the peer's process (<c>SO_PEERPIDFD</c>, Linux 6.5 and later).</summary>
    public bool HasProcessHandle => _pidFd is { IsInvalid: false, IsClosed: false };

    /// <summary>
    /// Whether the uid is the kernel's overflow uid: the peer lives in a user namespace that does not map
    /// its uid into ours. Such a peer is never a real user.
    /// </summary>
    public bool IsOverflowUser => UserId == UnixAccounts.OverflowUserId;

    /// <summary>
    /// Reads the peer credentials of a connected Unix domain socket.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The platform has no peer credentials (not Linux).</exception>
    /// <exception cref="SocketException">The kernel refused <c>SO_PEERCRED</c>.</exception>
    public static PeerCredential Read(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        EnsureSupported();

        var (pid, uid, gid) = ReadUcredOrThrow(socket);
        return Read(socket, pid, uid, gid);
    }

    /// <summary>
    /// Reads <c>SO_PEERCRED</c> alone: the cheap part, enough to decide on a uid before anything else is
    /// spent on a connection. <see langword="null"/> when the kernel refuses it.
    /// </summary>
    internal static (int ProcessId, uint UserId, uint GroupId)? ReadUcred(Socket socket)
    {
        try
        {
            return ReadUcredOrThrow(socket);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static (int ProcessId, uint UserId, uint GroupId) ReadUcredOrThrow(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        if (socket.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerCred, ucred) != ucred.Length)
        {
            throw new SocketException((int)SocketError.ProtocolOption);
        }

        return (MemoryMarshal.Read<int>(ucred), MemoryMarshal.Read<uint>(ucred[4..]), MemoryMarshal.Read<uint>(ucred[8..]));
    }

    /// <summary>The rest of the credentials (groups, pidfd), for a peer whose <c>SO_PEERCRED</c> was already read.</summary>
    internal static PeerCredential Read(Socket socket, int processId, uint userId, uint groupId)
        => new(processId, userId, groupId, ReadGroups(socket), OpenPidFd(socket));

    /// <summary>
    /// Decisions about this peer that depend on nothing else (a policy's peer requirements), kept for
    /// the life of the connection: the kernel fixed the peer's identity at <c>connect()</c>.
    /// </summary>
    internal PeerDecisionCache Decisions { get; } = new();

    /// <summary>The identity authentication built for this connection, kept for its later requests.</summary>
    internal Authentication.PeerCredentialIdentity? Identity { get; set; }

    /// <summary>Throws a <see cref="PlatformNotSupportedException"/> that says why, on platforms without peer credentials.</summary>
    public static void EnsureSupported()
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException(
                $"Peer credentials (SO_PEERCRED) are only supported on Linux; refusing to serve a Unix socket unauthenticated on {RuntimeInformation.OSDescription}.");
        }
    }

    /// <summary>
    /// The path of the peer's executable, read through its pidfd so that it names the process that
    /// connected and no other. <see langword="null"/> when it cannot be known for sure: no pidfd, the
    /// process has exited, or <c>/proc</c> does not show it. Read once, on first use.
    /// </summary>
    public string? GetExecutablePath() => _executablePath.Value;

    /// <summary>Closes the pidfd.</summary>
    public void Dispose() => _pidFd?.Dispose();

    private static uint[]? ReadGroups(Socket socket)
    {
        Span<byte> small = stackalloc byte[InitialGroupSlots * sizeof(uint)];
        try
        {
            return ToGroups(small[..socket.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerGroups, small)]);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ProtocolOption)
        {
            return null; // Before Linux 4.13.
        }
        catch (SocketException)
        {
            // ERANGE: more groups than the first buffer holds. Rare; ask again with room for the maximum.
            var large = new byte[MaxGroupBytes];
            return ToGroups(large.AsSpan(0, socket.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerGroups, large)));
        }
    }

    private static uint[] ToGroups(ReadOnlySpan<byte> raw) => MemoryMarshal.Cast<byte, uint>(raw).ToArray();

    private static SafeFileHandle? OpenPidFd(Socket socket)
    {
        Span<byte> fd = stackalloc byte[sizeof(int)];
        try
        {
            return socket.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerPidFd, fd) == fd.Length
                ? new SafeFileHandle(MemoryMarshal.Read<int>(fd), ownsHandle: true)
                : null;
        }
        catch (SocketException)
        {
            // ENOPROTOOPT before Linux 6.5; ESRCH when the peer has already been reaped. Either way the
            // process cannot be pinned, so process facts will read as unknown.
            return null;
        }
    }

    private string? ReadExecutablePath()
    {
        if (ProcessId <= 0 || _pidFd is null)
        {
            return null;
        }

        var added = false;
        try
        {
            _pidFd.DangerousAddRef(ref added);
            var target = new FileInfo($"/proc/{ProcessId.ToString(CultureInfo.InvariantCulture)}/exe").LinkTarget;

            // The link was read by pid. It named our peer only if the peer was still alive afterwards:
            // while it lives, its pid cannot belong to anyone else.
            return target is not null && PidFdStillNames(_pidFd.DangerousGetHandle(), ProcessId) ? target : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                _pidFd.DangerousRelease();
            }
        }
    }

    private static bool PidFdStillNames(nint pidFd, int pid)
    {
        // The kernel shows "Pid: -1" in a pidfd's fdinfo once its process has been reaped.
        foreach (var line in File.ReadLines($"/proc/self/fdinfo/{pidFd.ToString(CultureInfo.InvariantCulture)}"))
        {
            if (line.StartsWith("Pid:", StringComparison.Ordinal))
            {
                return int.TryParse(line.AsSpan(4).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var current)
                    && current == pid;
            }
        }

        return false;
    }

    /// <summary>Whether the executable has been read (tests check that nothing reads it for a log line that is not written).</summary>
    internal bool ExecutablePathRead => _executablePath.IsValueCreated;
}
