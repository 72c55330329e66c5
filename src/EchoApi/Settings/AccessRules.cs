using System.Collections.Frozen;
using System.Globalization;
using PeerCredentials;
using PeerCredentials.Authorization;

namespace EchoApi.Settings;

/// <summary>
/// Who may use the service, as one requirement on the peer: the owner (and root with
/// <c>EchoApi:AllowRoot</c>), the members of <c>EchoApi:SocketGroup</c>, and the rules of <c>EchoApi:Allow</c>.
/// The HTTP policy and the gate (the line socket, <c>RefuseAtConnect</c>) ask this one requirement, so
/// they agree, and a connection's answer is worked out once. With <c>EchoApi:RefuseRelays</c>, no relay
/// gets in.
/// </summary>
internal sealed class AccessRules
{
    public const string OwnerRule = "owner";
    public const string RootRule = "root (EchoApi:AllowRoot)";

    private AccessRules(PeerCredentialRequirement requirement, PeerRulesRequirement? rules, IReadOnlySet<string> relayNames, bool refuseRelays)
    {
        Requirement = requirement;
        Rules = rules;
        RelayNames = relayNames;
        NotRelay = refuseRelays ? new PeerNotRelayRequirement(relayNames) : null;
        Requirements = NotRelay is null ? [requirement] : [requirement, NotRelay];
    }

    /// <summary>Who may get in: the owner, and the rules beyond it.</summary>
    public PeerCredentialRequirement Requirement { get; }

    /// <summary>With <c>EchoApi:RefuseRelays</c>: no relay gets in, whatever rule admits it.</summary>
    public PeerNotRelayRequirement? NotRelay { get; }

    /// <summary>What the access policy requires, cheapest first.</summary>
    public IReadOnlyList<PeerCredentialRequirement> Requirements { get; }

    /// <summary>The executable file names that count as relays.</summary>
    public IReadOnlySet<string> RelayNames { get; }

    /// <summary>The same decision as the policy's, for the gate to ask at connect: why the peer is refused, or <see langword="null"/>.</summary>
    public string? Check(PeerCredential peer) => Requirement.Check(peer) ?? NotRelay?.Check(peer);

    /// <summary>The rules beyond the owner, or <see langword="null"/> when the owner (and root) is all there is.</summary>
    public PeerRulesRequirement? Rules { get; }

    /// <summary>Whether anyone other than the owner and root may get in.</summary>
    public bool OwnerOnly => Rules is null;

    /// <summary>The name of the rule that admits <paramref name="peer"/>, or <see langword="null"/> when none does.</summary>
    public string? AdmittedBy(PeerCredential peer, uint ownerUserId)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (Rules is not null)
        {
            return Rules.FindAdmittingRule(peer)?.Name;
        }

        return Requirement.Check(peer) is not null ? null : peer.UserId == ownerUserId ? OwnerRule : RootRule;
    }

    /// <summary>
    /// Builds the rules from the settings; what cannot be used (an unknown selector kind, a name the system
    /// does not know) goes into <paramref name="failures"/>, naming the key.
    /// </summary>
    public static AccessRules Build(AccessSettings access, SocketSettings sockets, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(sockets);
        ArgumentNullException.ThrowIfNull(failures);

        List<PeerRule> rules = [];
        // An unknown SocketGroup is reported by the socket settings' own check.
        if (!string.IsNullOrWhiteSpace(sockets.SocketGroup) && UnixAccounts.TryResolveGroupId(sockets.SocketGroup.Trim(), out _)
            && Rule(failures, EchoApiSettings.Key(nameof(SocketSettings.SocketGroup)), [GroupSelector(sockets.SocketGroup.Trim())], "EchoApi:SocketGroup") is { } group)
        {
            // The group can open the socket: it may use it too (the way Docker's socket group works).
            rules.Add(group);
        }

        for (var i = 0; i < access.Allow.Count; i++)
        {
            if (Rule(failures, $"{EchoApiSettings.Key(nameof(AccessSettings.Allow))}:{i.ToString(CultureInfo.InvariantCulture)}", access.Allow[i], name: null) is { } rule)
            {
                rules.Add(rule);
            }
        }

        var relayNames = access.RelayExecutables.Count > 0
            ? access.RelayExecutables.ToFrozenSet(StringComparer.Ordinal)
            : PeerRelays.DefaultNames;
        var allowRoot = access.AllowRoot && access.OwnerUserId != 0;
        if (rules.Count == 0)
        {
            return new AccessRules(new SocketOwnerRequirement(access.OwnerUserId, allowRoot), rules: null, relayNames, access.RefuseRelays);
        }

        // The owner first: the common case is decided by its cheap uid check alone.
        rules.Insert(0, PeerRule.SocketOwner(access.OwnerUserId));
        if (allowRoot)
        {
            rules.Insert(1, new PeerRule([new PeerUserRequirement([0])], RootRule));
        }

        var requirement = new PeerRulesRequirement(rules);
        return new AccessRules(requirement, requirement, relayNames, access.RefuseRelays);
    }

    // SocketGroup is a gid or a name: the selector of the same kind.
    private static string GroupSelector(string group)
        => uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? "gid:" + group : "group:" + group;

    private static PeerRule? Rule(List<string> failures, string key, IReadOnlyList<string> selectors, string? name)
    {
        if (selectors.Count == 0)
        {
            failures.Add($"{key} is an empty rule: give it at least one selector (such as user:alice), or remove it.");
            return null;
        }

        try
        {
            return new PeerRule(selectors.Select(PeerSelector.Parse), name is null ? null : $"{name} ({string.Join(" and ", selectors)})");
        }
        catch (PeerSelectorException e)
        {
            failures.Add($"{key}: {e.Message}");
            return null;
        }
    }
}
