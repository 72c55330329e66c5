using System.Text;

namespace PeerCredentials.Authorization;

/// <summary>
/// One way in: selectors (requirements on the peer) that must all match, such as
/// <c>group:docker</c> and <c>path:/usr/bin/curl</c>. A <see cref="PeerRulesRequirement"/> admits a peer that
/// one of its rules matches.
/// </summary>
public sealed class PeerRule
{
    /// <summary>Creates a rule.</summary>
    /// <param name="selectors">The requirements that must all match, checked in this order.</param>
    /// <param name="name">What refusals and <c>/whoami</c> call the rule; by default its selectors joined by <c> and </c>.</param>
    /// <exception cref="ArgumentException">There are no selectors: a rule that asks nothing would admit everyone.</exception>
    public PeerRule(IEnumerable<PeerCredentialRequirement> selectors, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(selectors);
        Selectors = [.. selectors];
        if (Selectors.Count == 0)
        {
            throw new ArgumentException("A rule needs at least one selector: one that asks nothing would admit every peer.", nameof(selectors));
        }

        foreach (var selector in Selectors)
        {
            ArgumentNullException.ThrowIfNull(selector, nameof(selectors));
        }

        // " and " rather than " & ": the name goes into JSON bodies, whose default encoder writes & as \u0026.
        Name = string.IsNullOrWhiteSpace(name) ? string.Join(" and ", Selectors) : name;
    }

    /// <summary>What refusals and <c>/whoami</c> call the rule.</summary>
    public string Name { get; }

    /// <summary>The requirements that must all match, in the order they are checked.</summary>
    public IReadOnlyList<PeerCredentialRequirement> Selectors { get; }

    /// <summary>
    /// A rule of selectors in SPIRE's spelling that must all match
    /// (<c>PeerRule.Parse("group:docker", "path:/usr/bin/curl")</c>), named after them.
    /// </summary>
    /// <param name="selectors">The selectors; see <see cref="PeerSelector.Parse"/>.</param>
    /// <exception cref="PeerSelectorException">A selector cannot be used; the message names it.</exception>
    /// <exception cref="ArgumentException">There are no selectors.</exception>
    public static PeerRule Parse(params IEnumerable<string> selectors)
    {
        ArgumentNullException.ThrowIfNull(selectors);
        return new PeerRule(selectors.Select(PeerSelector.Parse));
    }

    /// <summary>The socket owner as a rule among others, named <c>owner</c> (<see cref="SocketOwnerRequirement"/>).</summary>
    /// <param name="ownerUserId">The owner's uid.</param>
    /// <param name="allowRoot">Whether uid 0 passes too when it is not the owner.</param>
    public static PeerRule SocketOwner(uint ownerUserId, bool allowRoot = false)
        => new([new SocketOwnerRequirement(ownerUserId, allowRoot)], "owner");

    /// <summary>
    /// Why the rule does not match <paramref name="peer"/>: the reason of the first selector that fails
    /// (later ones are not checked, so a costly selector placed last is read only when the cheap ones
    /// matched); <see langword="null"/> when all match.
    /// </summary>
    public string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        foreach (var selector in Selectors)
        {
            if (selector.Check(peer) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    /// <summary>The rule's name.</summary>
    public override string ToString() => Name;
}
