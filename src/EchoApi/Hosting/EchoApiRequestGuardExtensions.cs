using EchoApi.Settings;
using Microsoft.Extensions.Options;
using PeerCredentials.Http;

namespace EchoApi.Hosting;

/// <summary>The browser path: what a web page may not make the owner's browser do through a TCP bridge.</summary>
public static class EchoApiRequestGuardExtensions
{
    /// <summary>
    /// Through a TCP bridge a web page could speak with the owner's uid: other hosts' names (DNS
    /// rebinding) and cross-site browser requests are refused, except for the names in
    /// <c>EchoApi:AllowedHostNames</c>.
    /// </summary>
    public static IServiceCollection AddEchoApiRequestGuard(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<LocalRequestGuardOptions>().Configure<IOptions<AccessSettings>>((guard, access) =>
        {
            foreach (var host in access.Value.AllowedHostNames)
            {
                guard.AllowedHosts.Add(host);
            }
        });
        return services;
    }
}
