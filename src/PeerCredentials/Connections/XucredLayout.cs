namespace PeerCredentials;

/// <summary>Which kernel's <c>struct xucred</c> a <c>LOCAL_PEERCRED</c> answer is.</summary>
internal enum XucredLayout
{
    /// <summary>
    /// macOS (xnu <c>bsd/sys/ucred.h</c>): version, uid, group count, 16 groups; 76 bytes, no pid
    /// (that comes from <c>LOCAL_PEERPID</c>).
    /// </summary>
    MacOS,

    /// <summary>
    /// FreeBSD on a 64-bit ABI (<c>sys/sys/ucred.h</c>): the same fields, then a union of a pointer and
    /// <c>cr_pid</c> (filled since FreeBSD 13) at offset 80; 88 bytes. .NET runs on no 32-bit FreeBSD.
    /// </summary>
    FreeBsd,
}
