using Microsoft.AspNetCore.Authorization;
using PeerCredentials.Authentication;

namespace PeerCredentials.Authorization;

/// <summary>
/// A requirement on the kernel's credentials of the peer, and its own handler (as the framework's
/// <c>DenyAnonymousAuthorizationRequirement</c> is), so a policy that uses it needs no registration.
/// It reads the typed credential of the principal's <see cref="PeerCredentialIdentity"/>, never claims,
/// so a claims transformation cannot change its answer; and since that answer depends on the peer
/// alone, it is worked out once per connection. A requirement that is also a selector renders as one
/// (<see cref="object.ToString"/> gives <c>kind:value</c>), so that a <see cref="PeerRule"/> and its
/// refusals can name it.
/// </summary>
public abstract class PeerCredentialRequirement : IAuthorizationRequirement, IAuthorizationHandler
{
    /// <summary>
    /// Why <paramref name="peer"/> does not meet the requirement, or <see langword="null"/> when it does.
    /// It must depend on <paramref name="peer"/> alone: the answer is kept for the connection's life.
    /// </summary>
    public abstract string? Check(PeerCredential peer);

    /// <inheritdoc />
    public Task HandleAsync(AuthorizationHandlerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var peer = context.User.GetPeerIdentity()?.Credential;
        var refusal = peer is null
            ? "the connection carries no peer credentials (it is not a Unix socket connection)"
            : peer.Decisions.GetOrAdd(this, static (requirement, credential) => requirement.Check(credential), peer);
        if (refusal is null)
        {
            context.Succeed(this);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, refusal));
        }

        return Task.CompletedTask;
    }
}
