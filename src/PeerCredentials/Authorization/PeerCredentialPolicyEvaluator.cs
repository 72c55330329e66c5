using System.Runtime.CompilerServices;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerCredentials.Authentication;

namespace PeerCredentials.Authorization;

/// <summary>
/// The authorization middleware's evaluator, with one shortcut: a policy that only the peer's kernel
/// credentials decide (peer-credential requirements, a peer-credential scheme or none) is decided once
/// per connection and then answered from the connection's cache, since the peer cannot change. Every
/// other policy, and any request whose principal is not the connection's peer, takes the framework's
/// <see cref="PolicyEvaluator"/> as usual.
/// </summary>
internal sealed class PeerCredentialPolicyEvaluator(
    IAuthenticationSchemeProvider schemes,
    IOptionsMonitor<PeerCredentialAuthenticationOptions> options,
    PeerCredentialMetrics metrics) : IPolicyEvaluator
{
    private const int Unknown = -1;

    private readonly ConditionalWeakTable<AuthorizationPolicy, StrongBox<bool>> _peerOnly = [];

    // With a claims transformation of the app's, every principal must go through the authentication
    // service, which runs it; without one, the connection's identity can be put on the request directly.
    // Asked of the first request's services, not the root provider: apps register transformations scoped as
    // often as not, and a scoped service taken from the root throws where scopes are validated (Development).
    private int _transformsClaims = Unknown;

    public async Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context)
    {
        if (await IsPeerOnlyAsync(policy))
        {
            // Authentication already put the connection's peer on the request (the peer-credential scheme
            // is the default): asking the scheme again would only give the same identity.
            if (Peer(context) is not null)
            {
                return context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult
                    ?? AuthenticateResult.Success(new AuthenticationTicket(context.User, PeerCredentialAuthenticationDefaults.AuthenticationScheme));
            }

            // The policy names the peer-credential scheme, and there is nothing to transform: the request's
            // principal is the connection's identity, as the scheme would have built it, without the
            // authentication service's per-request machinery.
            if (!TransformsClaims(context) && policy.AuthenticationSchemes.Count == 1
                && context.Features.Get<IPeerCredentialFeature>()?.Credential is { } credential)
            {
                var scheme = policy.AuthenticationSchemes[0];
                context.User = new ClaimsPrincipal(PeerCredentialIdentity.ForConnection(credential, scheme, options.Get(scheme)));
                return AuthenticateResult.Success(new AuthenticationTicket(context.User, scheme));
            }
        }

        return await Framework(context).AuthenticateAsync(policy, context);
    }

    public async Task<PolicyAuthorizationResult> AuthorizeAsync(AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (await IsPeerOnlyAsync(policy) && Peer(context) is { } peer)
        {
            var refusal = peer.Decisions.GetOrAdd(policy, static (p, credential) => Decide(p, credential), peer);
            metrics.RequestDecided(policy, context, authorized: refusal is null); // per request, not per cached decision
            return refusal is null
                ? PolicyAuthorizationResult.Success()
                : PolicyAuthorizationResult.Forbid(AuthorizationFailure.Failed([new AuthorizationFailureReason(FirstPeerRequirement(policy), refusal)]));
        }

        var result = await Framework(context).AuthorizeAsync(policy, authenticationResult, context, resource);
        metrics.RequestDecided(policy, context, result.Succeeded);
        return result;
    }

    private bool TransformsClaims(HttpContext context)
    {
        var known = Volatile.Read(ref _transformsClaims);
        if (known == Unknown)
        {
            // The registration, not the instance, decides; every request's scope has the same one.
            known = context.RequestServices.GetService<IClaimsTransformation>() is not (null or NoopClaimsTransformation) ? 1 : 0;
            Volatile.Write(ref _transformsClaims, known);
        }

        return known == 1;
    }

    // The request's principal holds the identity of this connection's peer, and no other.
    private static PeerCredential? Peer(HttpContext context)
    {
        var connection = context.Features.Get<IPeerCredentialFeature>()?.Credential;
        return connection is not null && ReferenceEquals(context.User.GetPeerIdentity()?.Credential, connection) ? connection : null;
    }

    // In order, and no further than the first refusal, as a PeerRule checks its selectors: a requirement
    // that reads the process (an executable's hash) placed after a uid check is never paid for by a
    // stranger the uid check already refused.
    private static string? Decide(AuthorizationPolicy policy, PeerCredential peer)
    {
        foreach (var requirement in policy.Requirements)
        {
            if (requirement is PeerCredentialRequirement check && check.Check(peer) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    private static PeerCredentialRequirement FirstPeerRequirement(AuthorizationPolicy policy)
        => policy.Requirements.OfType<PeerCredentialRequirement>().First();

    private static PolicyEvaluator Framework(HttpContext context)
        => new(context.RequestServices.GetRequiredService<IAuthorizationService>());

    private async ValueTask<bool> IsPeerOnlyAsync(AuthorizationPolicy policy)
    {
        if (_peerOnly.TryGetValue(policy, out var known))
        {
            return known.Value;
        }

        var peerOnly = policy.Requirements.Any(r => r is PeerCredentialRequirement)
            && policy.Requirements.All(r => r is PeerCredentialRequirement or DenyAnonymousAuthorizationRequirement);
        foreach (var name in policy.AuthenticationSchemes)
        {
            peerOnly &= (await schemes.GetSchemeAsync(name))?.HandlerType == typeof(PeerCredentialAuthenticationHandler);
        }

        _peerOnly.AddOrUpdate(policy, new StrongBox<bool>(peerOnly));
        return peerOnly;
    }
}
