using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerCredentials.Authentication;

/// <summary>
/// Turns the connection's credential into a principal. Unlike most handlers it does not derive from
/// <see cref="AuthenticationHandler{TOptions}"/>: a handler is made for every request, and that base
/// class's per-request set-up (its logger, its events, forwarding) cost more than everything this
/// handler does, which is a lookup: the identity is the connection's, built on its first request.
/// </summary>
internal sealed class PeerCredentialAuthenticationHandler(
    IOptionsMonitor<PeerCredentialAuthenticationOptions> options,
    ILogger<PeerCredentialAuthenticationHandler> logger) : IAuthenticationHandler
{
    private AuthenticationScheme? _scheme;
    private HttpContext? _context;
    private AuthenticateResult? _result;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _scheme = scheme;
        _context = context;
        return Task.CompletedTask;
    }

    public Task<AuthenticateResult> AuthenticateAsync()
    {
        var (scheme, context) = Initialized();
        return Task.FromResult(_result ??= Authenticate(scheme, context));
    }

    // The identity was fixed when the peer connected: there is nothing to prompt for, so a challenge is a refusal.
    public Task ChallengeAsync(AuthenticationProperties? properties) => ForbidAsync(properties);

    public Task ForbidAsync(AuthenticationProperties? properties)
    {
        Initialized().Context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    private AuthenticateResult Authenticate(AuthenticationScheme scheme, HttpContext context)
    {
        var feature = context.Features.Get<IPeerCredentialFeature>();
        if (feature is null)
        {
            logger.NoPeerCredentials(context.Connection.Id);
            return AuthenticateResult.NoResult();
        }

        // Each request gets a principal of its own around the connection's identity, so nothing a request
        // adds to its principal reaches the next one; the identity itself cannot be changed.
        var identity = PeerCredentialIdentity.ForConnection(feature.Credential, scheme.Name, options.Get(scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), scheme.Name));
    }

    private (AuthenticationScheme Scheme, HttpContext Context) Initialized()
        => (_scheme ?? throw new InvalidOperationException("The handler was not initialized."), _context!);
}
