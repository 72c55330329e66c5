using Microsoft.AspNetCore.Authorization;
using PeerCredentials.Authentication;

namespace PeerCredentials.Authorization;

internal sealed class SocketOwnerAuthorizationHandler : AuthorizationHandler<SocketOwnerRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SocketOwnerRequirement requirement)
    {
        var reason = Refusal(context.User.GetPeerIdentity()?.Credential, requirement);
        if (reason is null)
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, reason));
        }

        return Task.CompletedTask;
    }

    /// <summary>Why <paramref name="peer"/> is refused, or <see langword="null"/> when it passes.</summary>
    internal static string? Refusal(PeerCredential? peer, SocketOwnerRequirement requirement)
    {
        if (peer is null)
        {
            return "the connection carries no peer credentials (it is not a Unix socket connection)";
        }

        if (peer.UserId == requirement.OwnerUserId)
        {
            // An owner configured as the overflow uid would let every unmapped user-namespace peer in.
            return peer.IsOverflowUser
                ? $"uid {peer.UserId} is the overflow uid of an unmapped user namespace, which never names a real user"
                : null;
        }

        if (peer.UserId == 0)
        {
            return requirement.AllowRoot
                ? null
                : $"uid 0 (root) is not the owner of this socket (uid {requirement.OwnerUserId}), and root is not allowed";
        }

        return $"uid {peer.UserId} is not the owner of this socket (uid {requirement.OwnerUserId})";
    }
}
