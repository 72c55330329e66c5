using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PeerCredentials;

/// <summary>The one registration of the library's counters, made by each of its <c>AddX</c> calls that counts.</summary>
internal static class PeerCredentialMetricsServiceCollectionExtensions
{
    public static IServiceCollection AddPeerCredentialMetrics(this IServiceCollection services)
    {
        // The host's IMeterFactory (AddMetrics is idempotent): meters per host, disposed with it.
        services.AddMetrics();
        services.TryAddSingleton(static provider => PeerCredentialMetrics.Create(provider.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        return services;
    }
}
