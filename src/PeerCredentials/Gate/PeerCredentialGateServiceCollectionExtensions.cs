using Microsoft.Extensions.DependencyInjection.Extensions;
using PeerCredentials;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the peer-credential gate that every <c>UsePeerCredentials()</c> endpoint shares.</summary>
public static class PeerCredentialGateServiceCollectionExtensions
{
    /// <summary>
    /// Adds the process-wide peer-credential gate: one set of limits (connect rate, connections per uid,
    /// connections of untrusted peers together) and one refusal log for every endpoint that calls
    /// <c>UsePeerCredentials()</c>.
    /// </summary>
    public static IServiceCollection AddPeerCredentialGate(this IServiceCollection services, Action<PeerCredentialGateOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<PeerRefusalLog>();
        services.AddPeerCredentialMetrics();
        services.TryAddSingleton<PeerCredentialGate>();
        var options = services.AddOptions<PeerCredentialGateOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return services;
    }
}
