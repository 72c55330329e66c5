using System.Globalization;

namespace PeerCredentials.Authorization;

/// <summary>
/// The peer's uid must be one of <see cref="UserIds"/>. Names are resolved to uids once, when the policy is
/// built (<c>RequirePeerUser</c>); the decision is made on the kernel's number.
/// </summary>
/// <param name="userIds">The uids allowed.</param>
public sealed class PeerUserRequirement(IEnumerable<uint> userIds) : PeerCredentialRequirement
{
    /// <summary>The uids allowed.</summary>
    public IReadOnlySet<uint> UserIds { get; } = new HashSet<uint>(userIds);

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return UserIds.Contains(peer.UserId)
            ? null
            : $"uid {peer.UserId} is not among the allowed users ({string.Join(", ", UserIds.Order().Select(u => u.ToString(CultureInfo.InvariantCulture)))})";
    }
}
