using System.Globalization;
using System.Security.Claims;
using Microsoft.Extensions.Options;
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

    internal static WhoAmIResponse WhoAmI(ClaimsPrincipal user, IOptions<EchoApiOptions> options)
    {
        // The owner policy has run, so the principal is a peer's.
        var peer = user.GetPeerIdentity() ?? throw new InvalidOperationException("GET /whoami ran without a peer-credential identity.");
        var uid = uint.Parse(peer.Value(PeerCredentialClaimTypes.UserId)!, CultureInfo.InvariantCulture);
        var pid = peer.Value(PeerCredentialClaimTypes.ProcessId);
        return new WhoAmIResponse(
            Uid: uid,
            Gid: uint.Parse(peer.Value(PeerCredentialClaimTypes.GroupId)!, CultureInfo.InvariantCulture),
            Pid: pid is null ? null : int.Parse(pid, CultureInfo.InvariantCulture),
            User: peer.Value(PeerCredentialClaimTypes.UserName)!,
            Group: peer.Value(PeerCredentialClaimTypes.GroupName)!,
            Groups: [.. peer.GetSupplementaryGroups().Select(g => new GroupEntry(g.Id, g.Name))],
            IsOwner: uid == options.Value.OwnerUserId);
    }
}
