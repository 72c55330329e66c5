using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerCredentials.Authentication;

internal sealed class PeerCredentialAuthenticationHandler(
    IOptionsMonitor<PeerCredentialAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    PeerCredentialPrincipalFactory principals)
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

        var principal = principals.CreatePrincipal(feature.Credential, Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }

    // The identity was fixed when the peer connected: there is nothing to prompt for, so a challenge is a refusal.
    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => HandleForbiddenAsync(properties);
}
