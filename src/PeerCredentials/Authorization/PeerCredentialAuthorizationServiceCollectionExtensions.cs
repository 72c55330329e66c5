using Microsoft.AspNetCore.Authorization;
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
}
