using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace PeerCredentials.Authentication;

/// <summary>
/// Builds the principal of a Unix socket peer, for the authentication handler and for connection
/// handlers outside HTTP that authorize with the same policies.
/// </summary>
public sealed class PeerCredentialPrincipalFactory(IOptionsMonitor<PeerCredentialAuthenticationOptions> options)
{
    /// <summary>Builds a fresh principal holding one <see cref="PeerCredentialIdentity"/> for <paramref name="credential"/>.</summary>
    /// <param name="credential">The peer's credentials.</param>
    /// <param name="authenticationScheme">The scheme whose options apply.</param>
    public ClaimsPrincipal CreatePrincipal(PeerCredential credential, string authenticationScheme = PeerCredentialAuthenticationDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(credential);
        return new ClaimsPrincipal(new PeerCredentialIdentity(credential, authenticationScheme, options.Get(authenticationScheme)));
    }
}
