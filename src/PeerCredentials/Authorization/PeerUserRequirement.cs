using System.Globalization;

namespace PeerCredentials.Authorization;

/// <summary>
/// The peer's uid must be one of <see cref="UserIds"/>. Names are resolved to uids once, when the policy is
/// built (<c>RequirePeerUser</c>) or the selector parsed (<c>user:alice</c>); the decision is made on the
/// kernel's number.
/// </summary>
public sealed class PeerUserRequirement : PeerCredentialRequirement
{
    private readonly string _selector;

    /// <summary>Creates the requirement; it renders as <c>uid:1000</c> (several as <c>uid:0 | uid:1000</c>).</summary>
    /// <param name="userIds">The uids allowed.</param>
    public PeerUserRequirement(IEnumerable<uint> userIds)
    {
        UserIds = new HashSet<uint>(userIds);
        _selector = PeerSelector.Render("uid", UserIds);
    }

    /// <summary>For a requirement parsed or built from names: it renders as they were written (<c>user:alice</c>).</summary>
    internal PeerUserRequirement(IEnumerable<uint> userIds, string selector)
    {
        UserIds = new HashSet<uint>(userIds);
        _selector = selector;
    }

    /// <summary>The uids allowed.</summary>
    public IReadOnlySet<uint> UserIds { get; }

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return UserIds.Contains(peer.UserId)
            ? null
            : $"uid {peer.UserId} is not among the allowed users ({string.Join(", ", UserIds.Order().Select(u => u.ToString(CultureInfo.InvariantCulture)))})";
    }

    /// <summary>The requirement as selectors: <c>uid:1000</c>, <c>user:alice</c>, several joined by <c> | </c>.</summary>
    public override string ToString() => _selector;
}
