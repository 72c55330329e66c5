namespace PeerCredentials;

/// <summary>What a BSD kernel's <c>struct xucred</c> says about a socket's peer.</summary>
/// <param name="UserId">The effective uid (<c>cr_uid</c>).</param>
/// <param name="GroupId">The effective gid (<c>cr_groups[0]</c>).</param>
/// <param name="SupplementaryGroups">The rest of <c>cr_groups</c>, at most 15: the kernel's list stops at 16 groups in all.</param>
/// <param name="ProcessId">The pid where the kernel reports one (FreeBSD 13 and later: <c>cr_pid</c>); 0 when unknown.</param>
internal readonly record struct Xucred(uint UserId, uint GroupId, uint[] SupplementaryGroups, int ProcessId);
