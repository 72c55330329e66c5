using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using PeerCredentials.Sockets;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Keeps Kestrel from serving anything but Unix sockets.</summary>
public static class KestrelUnixOnlyExtensions
{
    /// <summary>
    /// Makes the server refuse to start with a listener that is not a Unix stream socket: a TCP endpoint
    /// from Kestrel's configuration or the hosting URLs, or a TCP socket handed over by systemd. Such a
    /// listener would serve requests without peer credentials, outside the gate. The start then fails
    /// with an <see cref="IOException"/> that names the endpoint, before any TCP socket is made (Unix
    /// sockets bound before it are closed again). Call it after the server is added
    /// (<c>WebApplication.CreateSlimBuilder</c> does so).
    /// </summary>
    public static IServiceCollection AddUnixSocketsOnly(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        // Kestrel asks the transports registered last first; this one only claims what it refuses.
        services.AddSingleton<IConnectionListenerFactory, UnixOnlyListenerFactory>();
        return services;
    }
}
