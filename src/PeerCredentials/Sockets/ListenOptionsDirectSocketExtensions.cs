using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using PeerCredentials.Sockets;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Connections handed to the endpoint's handler as their bare socket.</summary>
public static class ListenOptionsDirectSocketExtensions
{
    /// <summary>
    /// Hands each connection of this Unix socket endpoint to its handler as a bare socket
    /// (<see cref="IDirectSocketFeature"/>): no receive loop, pipes or thread hops of Kestrel's socket
    /// transport, for a small protocol that receives and sends on the socket itself. Everything else stays:
    /// the listener reads the peer's credentials at <c>accept()</c>, Kestrel counts the connection against
    /// <c>MaxConcurrentConnections</c> and starts its middleware (the gate) and handler on the thread pool,
    /// and aborts it when shutdown runs out of time.
    /// </summary>
    /// <remarks>
    /// With <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> the handler's code after a receive that had
    /// to wait runs on one of the runtime's epoll threads, each of which serves many sockets: it must not
    /// block there (no user-database lookups, no files, no locks held long). The gate's decisions are made
    /// before the handler starts, on the thread pool.
    /// </remarks>
    /// <exception cref="InvalidOperationException"><c>AddUnixSocketFiles()</c> was not called: only the library's listener can do this.</exception>
    public static ListenOptions UseDirectSocket(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        var endpoints = listenOptions.KestrelServerOptions.ApplicationServices.GetService<DirectSocketEndpoints>()
            ?? throw new InvalidOperationException($"Call services.{nameof(KestrelUnixSocketExtensions.AddUnixSocketFiles)}() before {nameof(UseDirectSocket)}(): its listener is the one that hands sockets over.");
        endpoints.Add(listenOptions.EndPoint);
        return listenOptions;
    }
}
