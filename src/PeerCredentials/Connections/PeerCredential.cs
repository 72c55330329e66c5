using System.Net.Sockets;
using System.Runtime.InteropServices;
using PeerCredentials.Interop;

namespace PeerCredentials;

/// <summary>
/// What the kernel says about the process at the other end of a Unix domain socket, captured when
/// it called <c>connect()</c>: on Linux <c>SO_PEERCRED</c> always, <c>SO_PEERGROUPS</c>, a pidfd from
/// <c>SO_PEERPIDFD</c> and the security label from <c>SO_PEERSEC</c> where the kernel offers them; on macOS
/// and FreeBSD <c>LOCAL_PEERCRED</c> (uid and groups) and the pid where the kernel gives it.
/// </summary>
/// <remarks>
/// The credentials are those of the process that connected, for the whole life of the socket: a
/// connected descriptor handed to another process keeps them. The uid is the identity; the pid is
/// informational (0 when the peer's process is not visible in this pid namespace, and reusable once the
/// process exits). Facts about the process, such as its executable, are read through the pidfd so that
/// they cannot describe a different process that later got the same pid; they are read on first use, from
/// the socket, so ask for them while the connection is open. Dispose to close the pidfd.
/// </remarks>
public sealed class PeerCredential : IDisposable
{
    // 65536 groups (NGROUPS_MAX) of 4 bytes: the most SO_PEERGROUPS can ever return.
    private const int MaxGroupBytes = 65536 * sizeof(uint);
    private const int InitialGroupSlots = 64;

    private readonly PeerProcess _process;

    /// <summary>Creates credentials from known values, for peers identified by other means and for tests.</summary>
    /// <param name="processId">The peer's pid in this pid namespace, or 0 when not visible.</param>
    /// <param name="userId">The peer's effective uid.</param>
    /// <param name="groupId">The peer's effective gid.</param>
    /// <param name="supplementaryGroups">The peer's supplementary groups, or <see langword="null"/> when unknown.</param>
    /// <param name="securityLabel">The peer's security label, or <see langword="null"/> when it has none (an empty one counts as none).</param>
    /// <remarks>Without a pidfd nothing pins a process, so such credentials have no executable.</remarks>
    public PeerCredential(int processId, uint userId, uint groupId, IReadOnlyList<uint>? supplementaryGroups = null, string? securityLabel = null)
        : this(processId, userId, groupId, supplementaryGroups, socket: null, string.IsNullOrEmpty(securityLabel) ? null : securityLabel)
    {
    }

    private PeerCredential(int processId, uint userId, uint groupId, IReadOnlyList<uint>? supplementaryGroups, Socket? socket, string? securityLabel)
    {
        ProcessId = processId;
        UserId = userId;
        GroupId = groupId;
        SupplementaryGroups = supplementaryGroups;
        SecurityLabel = securityLabel;
        _process = new PeerProcess(processId, socket);
    }

    /// <summary>
    /// The largest executable <see cref="GetExecutableSha256"/> hashes: 512 MiB (Chromium, among the
    /// largest executables in common use, is about 300 MiB), about 0.4 s of one core with SHA-NI. A larger
    /// one has no known hash, so a hash rule refuses it.
    /// </summary>
    public const long MaxHashedExecutableBytes = 512L * 1024 * 1024;

    /// <summary>Whether this platform can read peer credentials from a Unix domain socket: Linux, macOS and FreeBSD.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    /// <summary>The peer's pid in this pid namespace; 0 means the process is not visible here, not a process.</summary>
    public int ProcessId { get; }

    /// <summary>The peer's effective uid when it connected. This is the identity.</summary>
    public uint UserId { get; }

    /// <summary>The peer's effective gid when it connected.</summary>
    public uint GroupId { get; }

    /// <summary>
    /// The peer's supplementary groups as the kernel reports them (<c>SO_PEERGROUPS</c>; on macOS and
    /// FreeBSD the groups after the first in <c>LOCAL_PEERCRED</c>'s list, which stops at 16 in all), or
    /// <see langword="null"/> when the kernel does not offer them.
    /// </summary>
    public IReadOnlyList<uint>? SupplementaryGroups { get; }

    /// <summary>
    /// The peer's security label (<c>SO_PEERSEC</c>): its SELinux context, AppArmor profile or Smack label,
    /// as the LSM reports it; <see langword="null"/>, never empty, when no LSM labels the socket.
    /// </summary>
    public string? SecurityLabel { get; }

    /// <summary>
    /// Whether a pidfd pins the peer's process (<c>SO_PEERPIDFD</c>, Linux 6.5 and later). The pidfd is
    /// taken from the socket on first use (this, or a process fact), while the connection is open.
    /// </summary>
    public bool HasProcessHandle => _process.HasPidFd;

    /// <summary>
    /// Whether the uid is the kernel's overflow uid: the peer lives in a user namespace that does not map
    /// its uid into ours. Such a peer is never a real user.
    /// </summary>
    public bool IsOverflowUser => UserId == UnixAccounts.OverflowUserId;

    /// <summary>
    /// Reads the peer credentials of a connected Unix domain socket.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The platform has no peer credentials (not Linux, macOS or FreeBSD).</exception>
    /// <exception cref="SocketException">The kernel refused <c>SO_PEERCRED</c> (<c>LOCAL_PEERCRED</c>).</exception>
    /// <exception cref="InvalidDataException">The kernel's <c>struct xucred</c> is of a layout or version this library does not know.</exception>
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
        catch (Exception e) when (e is SocketException or InvalidDataException)
        {
            return null;
        }
    }

    private static (int ProcessId, uint UserId, uint GroupId) ReadUcredOrThrow(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            var xucred = XucredParser.Read(socket);
            return (xucred.ProcessId, xucred.UserId, xucred.GroupId);
        }

        Span<byte> ucred = stackalloc byte[12];
        if (socket.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerCred, ucred) != ucred.Length)
        {
            throw new SocketException((int)SocketError.ProtocolOption);
        }

        return (MemoryMarshal.Read<int>(ucred), MemoryMarshal.Read<uint>(ucred[4..]), MemoryMarshal.Read<uint>(ucred[8..]));
    }

    /// <summary>The rest of the credentials (groups, label; the pidfd on first use), for a peer whose <c>SO_PEERCRED</c> was already read.</summary>
    internal static PeerCredential Read(Socket socket, int processId, uint userId, uint groupId)
        => new(processId, userId, groupId, ReadGroups(socket), socket, ReadSecurityLabel(socket));

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
                $"Peer credentials (SO_PEERCRED, LOCAL_PEERCRED) are only supported on Linux, macOS and FreeBSD; refusing to serve a Unix socket unauthenticated on {RuntimeInformation.OSDescription}.");
        }
    }

    /// <summary>
    /// The path of the peer's executable (<c>/proc/PID/exe</c>), confirmed through its pidfd to be that of
    /// the process that connected and no other. <see langword="null"/> when it cannot be known for sure:
    /// pid 0 (another pid namespace), no pidfd, the process has exited, or this process may not inspect it
    /// (that needs the peer's uid or <c>CAP_SYS_PTRACE</c>). Read once, on first use.
    /// </summary>
    /// <remarks>
    /// The kernel's name for the file: symbolic links resolved (<c>/usr/bin/python3.11</c>, not
    /// <c>/usr/bin/python3</c>), and <c>" (deleted)"</c> appended when the file has been removed or
    /// replaced since the process started. It says which program the process runs, not what it does: a
    /// process of the same uid can ptrace it or load code into it, and the process itself may have run
    /// <c>execve</c> since it connected.
    /// </remarks>
    public string? GetExecutablePath() => _process.ExecutablePath.Value;

    /// <summary>
    /// The sha256, lowercase hex, of the peer's executable: of the file that opening <c>/proc/PID/exe</c>
    /// gives (the file the process runs, never the path looked up again), and only when the pidfd still
    /// names the same live process after hashing, and the file is the one <see cref="GetExecutablePath"/>
    /// reports. <see langword="null"/> when it cannot be known for sure (as for the path, or more than
    /// <see cref="MaxHashedExecutableBytes"/>). Read once, on first use; hashing costs about 1 ms per MB.
    /// </summary>
    public string? GetExecutableSha256() => _process.ExecutableSha256.Value;

    /// <summary>
    /// Whether the peer's executable is a known relay (<see cref="PeerRelays"/>): a program that connects
    /// on behalf of others, so these credentials describe the relay, not its client. Matched on the file
    /// name of <see cref="GetExecutablePath"/>. <see langword="false"/> when the executable is unknown:
    /// that means "not known to be a relay", never "known not to be one".
    /// </summary>
    /// <param name="relayNames">Executable file names that count as relays; <see langword="null"/> for <see cref="PeerRelays.DefaultNames"/>.</param>
    public bool IsRelay(IReadOnlySet<string>? relayNames = null)
        => _process.MayBeRelay(relayNames) && GetExecutablePath() is { } path && PeerRelays.IsRelay(path, relayNames);

    /// <summary>The executable's path, or why it cannot be known.</summary>
    internal PeerProcess.Fact ExecutablePath => _process.ExecutablePath;

    /// <summary>The executable's sha256, or why it cannot be known.</summary>
    internal PeerProcess.Fact ExecutableSha256 => _process.ExecutableSha256;

    /// <summary>Closes the pidfd, if one was taken.</summary>
    public void Dispose() => _process.Dispose();

    private static uint[]? ReadGroups(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return XucredParser.Read(socket).SupplementaryGroups;
        }

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

    // Through the handle, not GetRawSocketOption, which throws on the usual answer (no label): ~0.4 µs
    // instead of ~6 µs per connection. Taking SafeHandle marks the socket "exposed", which only matters
    // to a later connect(), never to an accepted socket.
    private static string? ReadSecurityLabel(Socket socket)
        => OperatingSystem.IsLinux() && Libc.GetPeerSecurityLabel(socket.SafeHandle) is { } raw ? ParseSecurityLabel(raw) : null;

    /// <summary>
    /// A label as <c>SO_PEERSEC</c> gives it: text, which some LSMs (SELinux) end with a NUL and others do
    /// not. <see langword="null"/> when nothing is left.
    /// </summary>
    internal static string? ParseSecurityLabel(ReadOnlySpan<byte> raw)
    {
        var text = raw.TrimEnd((byte)0);
        return text.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(text);
    }

    /// <summary>Whether the executable has been read (tests check that nothing reads it for a log line that is not written).</summary>
    internal bool ExecutablePathRead => _process.ExecutablePathRead;
}
