using System.Globalization;

namespace PeerCredentials.Authorization;

/// <summary>
/// The peer must be in one of <see cref="GroupIds"/>: as its primary gid, or among the supplementary groups
/// the kernel reports for it (<c>SO_PEERGROUPS</c>). Never the group database, which may list a user in a
/// group its process has dropped (or not yet picked up): what counts is what the process holds.
/// </summary>
/// <param name="groupIds">The gids allowed.</param>
public sealed class PeerGroupRequirement(IEnumerable<uint> groupIds) : PeerCredentialRequirement
{
    /// <summary>The gids allowed.</summary>
    public IReadOnlySet<uint> GroupIds { get; } = new HashSet<uint>(groupIds);

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (GroupIds.Contains(peer.GroupId) || (peer.SupplementaryGroups?.Any(GroupIds.Contains) ?? false))
        {
            return null;
        }

        var allowed = string.Join(", ", GroupIds.Order().Select(g => g.ToString(CultureInfo.InvariantCulture)));
        return peer.SupplementaryGroups is null
            ? $"gid {peer.GroupId} is not among the allowed groups ({allowed}), and the kernel does not report the peer's other groups"
            : $"uid {peer.UserId} holds none of the allowed groups ({allowed})";
    }
}
