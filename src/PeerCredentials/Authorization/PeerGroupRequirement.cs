using System.Globalization;

namespace PeerCredentials.Authorization;

/// <summary>
/// The peer must be in one of <see cref="GroupIds"/>: as its primary gid, or among the supplementary groups
/// the kernel reports for it (<c>SO_PEERGROUPS</c>). Never the group database, which may list a user in a
/// group its process has dropped (or not yet picked up): what counts is what the process holds.
/// </summary>
public sealed class PeerGroupRequirement : PeerCredentialRequirement
{
    private readonly string _selector;

    /// <summary>Creates the requirement; it renders as <c>gid:27</c> (several as <c>gid:4 | gid:27</c>).</summary>
    /// <param name="groupIds">The gids allowed.</param>
    public PeerGroupRequirement(IEnumerable<uint> groupIds)
    {
        GroupIds = new HashSet<uint>(groupIds);
        _selector = PeerSelector.Render("gid", GroupIds);
    }

    /// <summary>For a requirement parsed or built from names: it renders as they were written (<c>group:docker</c>).</summary>
    internal PeerGroupRequirement(IEnumerable<uint> groupIds, string selector)
    {
        GroupIds = new HashSet<uint>(groupIds);
        _selector = selector;
    }

    /// <summary>The gids allowed.</summary>
    public IReadOnlySet<uint> GroupIds { get; }

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

    /// <summary>The requirement as selectors: <c>gid:27</c>, <c>group:docker</c>, several joined by <c> | </c>.</summary>
    public override string ToString() => _selector;
}
