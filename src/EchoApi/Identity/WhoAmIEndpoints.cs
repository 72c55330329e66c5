using EchoApi.Settings;
using Microsoft.Extensions.Options;
using PeerCredentials;
using PeerCredentials.Authentication;

namespace EchoApi.Identity;

/// <summary><c>GET /whoami</c>: the caller's identity as the service sees it.</summary>
public static class WhoAmIEndpoints
{
    /// <summary>Maps <c>GET /whoami</c>.</summary>
    public static RouteGroupBuilder MapWhoAmI(this RouteGroupBuilder group)
    {
        group.MapGet("/whoami", WhoAmI)
            .WithName("WhoAmI")
            .WithTags("Identity")
            .WithSummary("Who the kernel says you are");
        return group;
    }

    internal static WhoAmIResponse WhoAmI(HttpContext context, IOptions<AccessSettings> access, AccessRules rules)
    {
        // The access policy has run. The answer comes from the kernel's typed credential for this connection,
        // read at accept, not from the principal, to which a claims transformation may have added claims or
        // even identities.
        var peer = context.Features.Get<IPeerCredentialFeature>()?.Credential ?? throw new InvalidOperationException("GET /whoami ran on a connection without peer credentials.");
        return new WhoAmIResponse(
            Uid: peer.UserId,
            Gid: peer.GroupId,
            Pid: peer.ProcessId > 0 ? peer.ProcessId : null,
            User: UnixAccounts.GetUserName(peer.UserId),
            Group: UnixAccounts.GetGroupName(peer.GroupId),
            Groups: [.. (peer.SupplementaryGroups ?? []).Select(gid => new GroupEntry(gid, UnixAccounts.GetGroupName(gid)))],
            IsOwner: peer.UserId == access.Value.OwnerUserId,
            Rule: rules.AdmittedBy(peer, access.Value.OwnerUserId) ?? throw new InvalidOperationException("GET /whoami ran for a peer no rule admits."),
            Executable: peer.GetExecutablePath(),
            Relayed: peer.IsRelay(rules.RelayNames));
    }
}
