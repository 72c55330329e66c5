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
        return builder
            .AddAuthenticationSchemes(authenticationScheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new SocketOwnerRequirement(ownerUserId, allowRoot));
    }
}
