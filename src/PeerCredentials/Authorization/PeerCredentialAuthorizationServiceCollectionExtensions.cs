using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PeerCredentials;
using PeerCredentials.Authorization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Opt-in answers for peers that peer-credential policies refuse.</summary>
public static class PeerCredentialAuthorizationServiceCollectionExtensions
{
    /// <summary>
    /// Replaces the app's <see cref="IAuthorizationMiddlewareResultHandler"/> with one that answers a
    /// request refused by a peer-credential policy (one with a <see cref="PeerCredentialRequirement"/> or
    /// a peer-credential scheme) with a problem-details body saying why, 403 for a refused peer and 401
    /// for a connection without peer credentials, and logs it, throttled per uid. Every other policy's
    /// refusals keep the default answers. Adds problem details.
    /// </summary>
    public static IServiceCollection AddPeerCredentialProblemDetails(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddProblemDetails();
        services.AddOptions<PeerCredentialGateOptions>();
        services.TryAddSingleton<PeerRefusalLog>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, PeerCredentialAuthorizationResultHandler>();
        return services;
    }

    /// <summary>
    /// Replaces the authorization middleware's <see cref="IPolicyEvaluator"/> with one that decides a
    /// policy only the peer's credentials decide (<see cref="PeerCredentialRequirement"/>s, with a
    /// peer-credential scheme or none) once per connection and answers later requests from that
    /// decision; every other policy is evaluated by the framework's <see cref="PolicyEvaluator"/> as
    /// before. Such cached decisions skip <see cref="IAuthorizationService"/> and its metrics; every request a
    /// policy with a <see cref="PeerCredentialRequirement"/> decides, cached or not, is counted in
    /// <see cref="PeerCredentialMetricNames.AuthorizedRequests"/> or <see cref="PeerCredentialMetricNames.DeniedRequests"/>.
    /// </summary>
    public static IServiceCollection AddPeerCredentialPolicyEvaluator(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddAuthorization();
        services.AddPeerCredentialMetrics();
        services.RemoveAll<IPolicyEvaluator>();
        services.AddSingleton<IPolicyEvaluator, PeerCredentialPolicyEvaluator>();
        return services;
    }
}
