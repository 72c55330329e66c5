using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using PeerCredentials.Interop;

namespace PeerCredentials;

/// <summary>
/// Reads the peer credentials of a Unix socket on macOS and FreeBSD: <c>getsockopt(SOL_LOCAL,
/// LOCAL_PEERCRED)</c> answers with a <c>struct xucred</c>, which this parses field by field, never by
/// trusting a struct declaration to match the kernel's.
/// </summary>
/// <remarks>
/// The layouts, from the kernels' headers (all fields native-endian):
/// <code>
/// struct xucred {                 offset  size
///     u_int  cr_version;               0     4   XUCRED_VERSION, 0 on both
///     uid_t  cr_uid;                   4     4   effective uid
///     short  cr_ngroups;               8     2   groups in cr_groups, the effective gid included
///                                     10     2   padding: gid_t is 4-aligned
///     gid_t  cr_groups[16];           12    64   cr_groups[0] is the effective gid (cr_gid)
///     // FreeBSD only: union { void *_cr_unused1; pid_t cr_pid; }, 8-aligned on 64-bit ABIs
///                                     76     4   padding
///     pid_t  cr_pid;                  80     4   FreeBSD 13 and later; 0 before
///                                     84     4   the rest of the pointer-sized union
/// };                               macOS 76, FreeBSD (64-bit) 88 bytes
/// </code>
/// Sources: xnu <c>bsd/sys/ucred.h</c> (<c>cr_groups[NGROUPS]</c>, <c>NGROUPS</c> = <c>NGROUPS_MAX</c> = 16
/// in <c>bsd/sys/syslimits.h</c>) and <c>bsd/sys/un.h</c> (<c>SOL_LOCAL</c> 0, <c>LOCAL_PEERCRED</c> 1,
/// <c>LOCAL_PEERPID</c> 2); FreeBSD <c>sys/sys/ucred.h</c> (<c>XU_NGROUPS</c> 16, the <c>cr_pid</c> union)
/// and <c>sys/sys/un.h</c> (<c>SOL_LOCAL</c> 0, <c>LOCAL_PEERCRED</c> 1).
/// </remarks>
internal static class XucredParser
{
    /// <summary><c>XUCRED_VERSION</c>: the only layout this parser knows.</summary>
    internal const uint Version = 0;

    /// <summary><c>XU_NGROUPS</c> (FreeBSD), <c>NGROUPS</c> (macOS): the room in <c>cr_groups</c>.</summary>
    internal const int MaxGroups = 16;

    internal const int MacOSSize = 76;
    internal const int FreeBsdSize = 88;

    private const int UserIdOffset = 4;
    private const int GroupCountOffset = 8;
    private const int GroupsOffset = 12;
    private const int FreeBsdProcessIdOffset = 80;

    /// <summary>The size of <paramref name="layout"/>'s <c>struct xucred</c>.</summary>
    internal static int Size(XucredLayout layout) => layout == XucredLayout.MacOS ? MacOSSize : FreeBsdSize;

    /// <summary>The layout of the kernel this process runs on.</summary>
    internal static XucredLayout Current => OperatingSystem.IsMacOS() ? XucredLayout.MacOS : XucredLayout.FreeBsd;

    /// <summary>
    /// The credentials in <paramref name="raw"/>, the bytes <c>LOCAL_PEERCRED</c> wrote.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a <c>struct xucred</c> of this layout and version.</exception>
    internal static Xucred Parse(ReadOnlySpan<byte> raw, XucredLayout layout)
    {
        var size = Size(layout);
        if (raw.Length != size)
        {
            throw new InvalidDataException(
                $"LOCAL_PEERCRED returned {raw.Length.ToString(CultureInfo.InvariantCulture)} bytes; a {Name(layout)} struct xucred has {size.ToString(CultureInfo.InvariantCulture)}.");
        }

        var version = MemoryMarshal.Read<uint>(raw);
        if (version != Version)
        {
            throw new InvalidDataException(
                $"LOCAL_PEERCRED returned a struct xucred of version {version.ToString(CultureInfo.InvariantCulture)}; only version {Version.ToString(CultureInfo.InvariantCulture)} (XUCRED_VERSION) is known, so its fields cannot be trusted.");
        }

        // The effective gid is always there, as cr_groups[0]; without it the peer's group is unknown.
        var count = MemoryMarshal.Read<short>(raw[GroupCountOffset..]);
        if (count is < 1 or > MaxGroups)
        {
            throw new InvalidDataException(
                $"LOCAL_PEERCRED returned a struct xucred with cr_ngroups {count.ToString(CultureInfo.InvariantCulture)}; it holds 1 to {MaxGroups.ToString(CultureInfo.InvariantCulture)} groups, the effective gid first.");
        }

        var groups = MemoryMarshal.Cast<byte, uint>(raw.Slice(GroupsOffset, count * sizeof(uint)));
        var processId = layout == XucredLayout.FreeBsd ? Math.Max(0, MemoryMarshal.Read<int>(raw[FreeBsdProcessIdOffset..])) : 0;
        return new Xucred(MemoryMarshal.Read<uint>(raw[UserIdOffset..]), groups[0], groups[1..].ToArray(), processId);
    }

    /// <summary>
    /// Reads <c>LOCAL_PEERCRED</c> from a connected Unix socket, and on macOS the pid from
    /// <c>LOCAL_PEERPID</c> (0 when the kernel does not say).
    /// </summary>
    /// <exception cref="SocketException">The kernel refused <c>LOCAL_PEERCRED</c>.</exception>
    /// <exception cref="InvalidDataException">Its answer is not a <c>struct xucred</c> this parser knows.</exception>
    internal static Xucred Read(Socket socket)
    {
        var layout = Current;
        Span<byte> raw = stackalloc byte[Size(layout)];
        var xucred = Parse(raw[..socket.GetRawSocketOption(Libc.SolLocal, Libc.LocalPeerCred, raw)], layout);
        return layout == XucredLayout.MacOS ? xucred with { ProcessId = ReadPeerProcessId(socket) } : xucred;
    }

    private static int ReadPeerProcessId(Socket socket)
    {
        Span<byte> pid = stackalloc byte[sizeof(int)];
        try
        {
            return socket.GetRawSocketOption(Libc.SolLocal, Libc.LocalPeerPid, pid) == pid.Length ? Math.Max(0, MemoryMarshal.Read<int>(pid)) : 0;
        }
        catch (SocketException)
        {
            return 0; // the pid is informational: its absence takes nothing from the uid
        }
    }

    private static string Name(XucredLayout layout) => layout == XucredLayout.MacOS ? "macOS" : "FreeBSD (64-bit)";
}
