using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerCredentials.Authentication;

internal sealed class PeerCredentialAuthenticationHandler(
    IOptionsMonitor<PeerCredentialAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder)
    : AuthenticationHandler<PeerCredentialAuthenticationOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var feature = Context.Features.Get<IPeerCredentialFeature>();
        if (feature is null)
        {
            Logger.NoPeerCredentials(Context.Connection.Id);
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        // The identity is the connection's, built on its first request: the kernel fixed it at connect.
        // Each request gets a principal of its own around it, so nothing a request adds to its principal
        // reaches the next one.
        var credential = feature.Credential;
        var identity = credential.Identity;
        if (identity is null || identity.AuthenticationType != Scheme.Name || !ReferenceEquals(identity.BuiltWith, Options))
        {
            identity = new PeerCredentialIdentity(credential, Scheme.Name, Options) { BuiltWith = Options };
            credential.Identity = identity;
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    // The identity was fixed when the peer connected: there is nothing to prompt for, so a challenge is a refusal.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => HandleForbiddenAsync(properties);
}
