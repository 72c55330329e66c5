using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// Kestrel's listener for Unix socket endpoints (by path, abstract, or inherited from systemd): Kestrel's
/// own socket transport, fed by a <see cref="UnixSocketAcceptLoop"/> that takes one decision right after
/// <c>accept()</c>, before any pipe, buffer or scheduling work is spent on the connection: a uid over its
/// connect rate is closed on the spot.
/// </summary>
internal sealed class UnixSocketListenerFactory(
    IOptions<SocketTransportOptions> transport,
    IOptions<UnixSocketAcceptOptions> accept,
    ILoggerFactory loggers) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    // Unix sockets by path or abstract name, and those handed over by systemd (ListenHandle).
    public bool CanBind(EndPoint endpoint) => endpoint switch
    {
        UnixDomainSocketEndPoint => true,
        FileHandleEndPoint handle => Libc.IsUnixStreamSocket(handle.FileHandle),
        _ => false,
    };

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var transportOptions = transport.Value;
        var socket = transportOptions.CreateBoundListenSocket(endpoint);
        try
        {
            socket.Listen(transportOptions.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var factory = new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions
            {
                IOQueueCount = transportOptions.IOQueueCount,
                WaitForDataBeforeAllocatingBuffer = transportOptions.WaitForDataBeforeAllocatingBuffer,
                MaxReadBufferSize = transportOptions.MaxReadBufferSize,
                MaxWriteBufferSize = transportOptions.MaxWriteBufferSize,
                UnsafePreferInlineScheduling = transportOptions.UnsafePreferInlineScheduling,
            },
            loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        var options = accept.Value;
        var limiter = options.ConnectionsPerSecondPerUser > 0 ? new PeerRateLimiter(options.ConnectionsPerSecondPerUser, options.UnlimitedUserIds) : null;
        var loop = new UnixSocketAcceptLoop(socket, limiter, loggers.CreateLogger<UnixSocketListenerFactory>());
        return ValueTask.FromResult<IConnectionListener>(new Listener(socket, socket.LocalEndPoint ?? endpoint, factory, loop));
    }

    private sealed class Listener(Socket socket, EndPoint endpoint, SocketConnectionContextFactory factory, UnixSocketAcceptLoop loop) : IConnectionListener
    {
        public EndPoint EndPoint { get; } = endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
            => await loop.NextAsync(cancellationToken) is { } accepted ? factory.Create(accepted) : null;

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            loop.Stop();
            return ValueTask.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            await loop.DisposeAsync();
            socket.Dispose();
            factory.Dispose();
        }
    }
}
