using System.Text;

namespace PeerCredentials.Authorization;

/// <summary>
/// The peer must match one of <see cref="Rules"/> (each a set of selectors that must all match): the socket
/// owner, or user alice, or group docker with <c>/usr/bin/curl</c>. Rules are tried in order and the first that
/// matches admits the peer; later ones are not evaluated. The decision, and the rule that admitted the peer
/// (<see cref="FindAdmittingRule"/>), are worked out once per connection.
/// </summary>
public sealed class PeerRulesRequirement : PeerCredentialRequirement
{
    // A refusal lists this many rules' reasons, then counts the rest: it goes into one 403 body and one log line.
    private const int MaxRulesListed = 8;
    private const int MaxReasonLength = 240;
    private const int MaxRefusalLength = 1024;

    // The key of this requirement's decisions in a connection's cache: the requirement itself keys the
    // refusal alone, which the base class keeps.
    private readonly DecisionKey _decisionKey;

    /// <summary>Creates the requirement.</summary>
    /// <param name="rules">The rules, in the order they are tried.</param>
    /// <exception cref="ArgumentException">There are no rules: nobody could ever be admitted.</exception>
    public PeerRulesRequirement(IEnumerable<PeerRule> rules)
    {
        _decisionKey = new DecisionKey(this);
        ArgumentNullException.ThrowIfNull(rules);
        Rules = [.. rules];
        if (Rules.Count == 0)
        {
            throw new ArgumentException("Give at least one rule: without one, no peer is ever admitted.", nameof(rules));
        }

        foreach (var rule in Rules)
        {
            ArgumentNullException.ThrowIfNull(rule, nameof(rules));
        }
    }

    /// <summary>The rules, in the order they are tried.</summary>
    public IReadOnlyList<PeerRule> Rules { get; }

    /// <summary>
    /// The first rule that admits <paramref name="peer"/>, or <see langword="null"/> when none does; worked out
    /// once per connection, together with <see cref="Check"/>.
    /// </summary>
    public PeerRule? FindAdmittingRule(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return Decide(peer).Rule;
    }

    /// <summary>
    /// <see langword="null"/> when a rule admits <paramref name="peer"/>; otherwise one line that names each rule
    /// and what it lacked: <c>no rule admits uid 1000: [owner (uid 0)] uid 1000 is not the owner of this
    /// socket (uid 0); [group:docker] uid 1000 holds none of the allowed groups (27)</c>.
    /// </summary>
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return Decide(peer).Refusal;
    }

    /// <summary>The rules' names joined by <c> | </c>.</summary>
    public override string ToString() => string.Join(" | ", Rules.Select(r => r.Name));

    private Decision Decide(PeerCredential peer)
        => peer.Decisions.GetOrAdd(_decisionKey, static (key, credential) => key.Requirement.Evaluate(credential), peer)!;

    private Decision Evaluate(PeerCredential peer)
    {
        var refusals = new List<(PeerRule Rule, string Reason)>(Rules.Count);
        foreach (var rule in Rules)
        {
            if (rule.Check(peer) is not { } reason)
            {
                return new Decision(rule, null);
            }

            refusals.Add((rule, reason));
        }

        var text = new StringBuilder("no rule admits uid ").Append(peer.UserId).Append(':');
        for (var i = 0; i < refusals.Count && i < MaxRulesListed; i++)
        {
            text.Append(i == 0 ? " [" : "; [").Append(refusals[i].Rule.Name).Append("] ").Append(Bounded(refusals[i].Reason, MaxReasonLength));
        }

        if (refusals.Count > MaxRulesListed)
        {
            text.Append("; and ").Append(refusals.Count - MaxRulesListed).Append(" more rules");
        }

        return new Decision(null, Bounded(text.ToString(), MaxRefusalLength));
    }

    // A selector's reason may quote what the peer chose (its executable's path), so no reason, and no
    // refusal, grows without a bound.
    private static string Bounded(string text, int length)
    {
        if (text.Length <= length)
        {
            return text;
        }

        var cut = char.IsHighSurrogate(text[length - 4]) ? length - 4 : length - 3;
        return string.Concat(text.AsSpan(0, cut), "...");
    }

    private sealed record Decision(PeerRule? Rule, string? Refusal);

    private sealed class DecisionKey(PeerRulesRequirement requirement)
    {
        public PeerRulesRequirement Requirement { get; } = requirement;
    }
}
