using PeerCredentials;
using PeerCredentials.Authentication;
using PeerCredentials.Authorization;

namespace Microsoft.AspNetCore.Authorization;

/// <summary>Policy building blocks for peer-credential authorization.</summary>
public static class PeerCredentialPolicyBuilderExtensions
{
    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials whose uid is the socket owner's
    /// (<see cref="SocketOwnerRequirement"/>).
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="ownerUserId">The owner's uid.</param>
    /// <param name="allowRoot">Whether uid 0 passes too when it is not the owner.</param>
    /// <param name="authenticationScheme">The peer-credential scheme the policy authenticates with.</param>
    public static AuthorizationPolicyBuilder RequireSocketOwner(
        this AuthorizationPolicyBuilder builder,
        uint ownerUserId,
        bool allowRoot = false,
        string authenticationScheme = PeerCredentialAuthenticationDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.RequirePeer(new SocketOwnerRequirement(ownerUserId, allowRoot), authenticationScheme);
    }

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials whose uid is one of
    /// <paramref name="users"/> (<see cref="PeerUserRequirement"/>), each a uid or a user name resolved now.
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="users">Uids (<c>1000</c>) or user names (<c>alice</c>).</param>
    /// <exception cref="ArgumentException">A name is not in the user database, or names the overflow uid, which
    /// unmapped users of other user namespaces share (give it as a number to mean it).</exception>
    public static AuthorizationPolicyBuilder RequirePeerUser(this AuthorizationPolicyBuilder builder, params string[] users)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var ids = Resolve(users, UnixAccounts.TryResolveUserId, UnixAccounts.OverflowUserId, "user", nameof(users));
        return builder.RequirePeer(new PeerUserRequirement(ids, PeerSelector.Render("uid", "user", users)), PeerCredentialAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials that holds one of
    /// <paramref name="groups"/> as its primary or a supplementary group, as the kernel reports them
    /// (<see cref="PeerGroupRequirement"/>); each a gid or a group name resolved now.
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="groups">Gids (<c>27</c>) or group names (<c>docker</c>).</param>
    /// <exception cref="ArgumentException">A name is not in the group database, or names the overflow gid
    /// (give it as a number to mean it).</exception>
    public static AuthorizationPolicyBuilder RequirePeerGroup(this AuthorizationPolicyBuilder builder, params string[] groups)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var ids = Resolve(groups, UnixAccounts.TryResolveGroupId, UnixAccounts.OverflowGroupId, "group", nameof(groups));
        return builder.RequirePeer(new PeerGroupRequirement(ids, PeerSelector.Render("gid", "group", groups)), PeerCredentialAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials that one of <paramref name="rules"/>
    /// admits (<see cref="PeerRulesRequirement"/>): the owner, or user alice, or group docker with
    /// <c>/usr/bin/curl</c>. Rules are tried in order; the first that matches admits the peer.
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="rules">The rules, such as <c>PeerRule.SocketOwner(uid)</c> and <c>PeerRule.Parse("group:docker")</c>.</param>
    /// <exception cref="ArgumentException">There are no rules.</exception>
    public static AuthorizationPolicyBuilder RequirePeerRules(this AuthorizationPolicyBuilder builder, params PeerRule[] rules)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.RequirePeer(new PeerRulesRequirement(rules), PeerCredentialAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials that one of the rules of
    /// <paramref name="rules"/> admits. Keep the requirement to ask it which rule admitted a peer
    /// (<see cref="PeerRulesRequirement.FindAdmittingRule"/>).
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="rules">The rules.</param>
    /// <param name="authenticationScheme">The peer-credential scheme the policy authenticates with.</param>
    public static AuthorizationPolicyBuilder RequirePeerRules(
        this AuthorizationPolicyBuilder builder,
        PeerRulesRequirement rules,
        string authenticationScheme = PeerCredentialAuthenticationDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(rules);
        return builder.RequirePeer(rules, authenticationScheme);
    }

    // A peer authenticated by the scheme, and the requirement on its credentials.
    private static AuthorizationPolicyBuilder RequirePeer(this AuthorizationPolicyBuilder builder, PeerCredentialRequirement requirement, string authenticationScheme)
        => builder.AddAuthenticationSchemes(authenticationScheme).RequireAuthenticatedUser().AddRequirements(requirement);

    private delegate bool TryResolve(string nameOrId, out uint id);

    private static uint[] Resolve(string[] namesOrIds, TryResolve resolve, uint overflow, string what, string parameter)
    {
        ArgumentNullException.ThrowIfNull(namesOrIds);
        if (namesOrIds.Length == 0)
        {
            throw new ArgumentException($"Name at least one {what}.", parameter);
        }

        var ids = new uint[namesOrIds.Length];
        for (var i = 0; i < namesOrIds.Length; i++)
        {
            var text = namesOrIds[i]?.Trim() ?? string.Empty;
            if (!resolve(text, out ids[i]))
            {
                throw new ArgumentException($"'{text}' is neither a {what} id nor a {what} in the {what} database.", parameter);
            }

            // A name that resolves to the overflow id would admit every unmapped peer of another user namespace.
            if (ids[i] == overflow && !uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                throw new ArgumentException($"{what} '{text}' is the overflow id {overflow}, which every unmapped peer of another user namespace shares; give it as the number {overflow} if you mean it.", parameter);
            }
        }

        return ids;
    }

    // Process selectors (issue 13): the peer's executable, its hash, its security label, and relays.

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials whose executable is one of
    /// <paramref name="paths"/>, as the kernel names it (<see cref="PeerExecutableRequirement"/>, SPIRE's
    /// <c>path:</c>): read through the pidfd, so a peer whose executable cannot be known is refused.
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="paths">Absolute paths with symbolic links resolved (<c>/usr/bin/python3.11</c>, not <c>/usr/bin/python3</c>).</param>
    /// <exception cref="ArgumentException">No path, or one the kernel could never report (relative, not canonical, through a symbolic link).</exception>
    public static AuthorizationPolicyBuilder RequirePeerExecutable(this AuthorizationPolicyBuilder builder, params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.RequirePeer(new PeerExecutableRequirement(paths), PeerCredentialAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials whose executable's sha256 is one of
    /// <paramref name="sha256Hashes"/> (<see cref="PeerExecutableHashRequirement"/>, SPIRE's <c>sha256:</c>):
    /// the file the process runs, hashed once per connection when the policy is first evaluated.
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="sha256Hashes">64 hexadecimal digits each, as <c>sha256sum</c> prints them.</param>
    /// <exception cref="ArgumentException">No hash, or one that is not 64 hexadecimal digits.</exception>
    public static AuthorizationPolicyBuilder RequirePeerExecutableHash(this AuthorizationPolicyBuilder builder, params string[] sha256Hashes)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.RequirePeer(new PeerExecutableHashRequirement(sha256Hashes), PeerCredentialAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials whose security label (<c>SO_PEERSEC</c>)
    /// is one of <paramref name="labels"/> (<see cref="PeerLabelRequirement"/>, <c>label:</c>). Without an
    /// LSM that labels sockets, no peer has one, and every peer is refused.
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="labels">Labels as the LSM spells them.</param>
    /// <exception cref="ArgumentException">No label, or an empty one.</exception>
    public static AuthorizationPolicyBuilder RequirePeerLabel(this AuthorizationPolicyBuilder builder, params string[] labels)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.RequirePeer(new PeerLabelRequirement(labels), PeerCredentialAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Requires a peer authenticated by its Unix socket credentials that is not a known relay
    /// (<see cref="PeerNotRelayRequirement"/>): a <c>socat</c> or <c>ssh</c> that speaks for clients the
    /// kernel never saw. A peer whose executable cannot be known is not known to be a relay, and passes.
    /// </summary>
    /// <param name="builder">The policy builder.</param>
    /// <param name="relayNames">Executable file names that count as relays; <see langword="null"/> for <see cref="PeerRelays.DefaultNames"/>.</param>
    public static AuthorizationPolicyBuilder RequirePeerNotRelay(this AuthorizationPolicyBuilder builder, IReadOnlySet<string>? relayNames = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.RequirePeer(new PeerNotRelayRequirement(relayNames), PeerCredentialAuthenticationDefaults.AuthenticationScheme);
    }
}
