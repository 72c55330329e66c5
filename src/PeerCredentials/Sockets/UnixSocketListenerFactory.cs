using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// Kestrel's listener for Unix socket endpoints (by path, abstract, or inherited from systemd): Kestrel's
/// own socket transport, with the gate's first decision taken right after <c>accept()</c>, before any
/// pipe, buffer or scheduling work is spent on the connection: the peer's credentials are read (once:
/// they travel with the connection as its <see cref="IPeerCredentialFeature"/>), and a uid over its
/// connect rate is closed on the spot. After every so many such refusals (a connect flood) the listener
/// pauses a moment, so that refusing cannot take the CPU from the connections already open. An endpoint
/// with <c>UseDirectSocket()</c> gets its connections as bare sockets (<see cref="DirectSocketConnection"/>)
/// instead of Kestrel's transport connections.
/// </summary>
internal sealed class UnixSocketListenerFactory(
    IOptions<SocketTransportOptions> transport,
    PeerCredentialGate gate,
    DirectSocketEndpoints direct,
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
        var options = transport.Value;
        var socket = options.CreateBoundListenSocket(endpoint);
        try
        {
            socket.Listen(options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        // An endpoint with UseDirectSocket() needs none of Kestrel's transport: its connections are their sockets.
        var factory = direct.Contains(endpoint) ? null : new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions
            {
                IOQueueCount = options.IOQueueCount,
                WaitForDataBeforeAllocatingBuffer = options.WaitForDataBeforeAllocatingBuffer,
                MaxReadBufferSize = options.MaxReadBufferSize,
                MaxWriteBufferSize = options.MaxWriteBufferSize,
                UnsafePreferInlineScheduling = options.UnsafePreferInlineScheduling,
            },
            loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        var pacing = new FloodPacing(gate.RefusalsBeforePause, gate.FloodPause);
        return ValueTask.FromResult<IConnectionListener>(new Listener(socket, socket.LocalEndPoint ?? endpoint, factory, gate, pacing, loggers.CreateLogger<UnixSocketListenerFactory>()));
    }

    private readonly record struct FloodPacing(int RefusalsBeforePause, TimeSpan Pause)
    {
        public bool Enabled => RefusalsBeforePause > 0 && Pause > TimeSpan.Zero;
    }

    // factory is null for an endpoint with UseDirectSocket(): its connections are their bare sockets.
    private sealed class Listener(Socket socket, EndPoint endpoint, SocketConnectionContextFactory? factory, PeerCredentialGate gate, FloodPacing pacing, ILogger logger) : IConnectionListener
    {
        private static readonly TimeSpan MinBackOff = TimeSpan.FromMilliseconds(50);
        private static readonly TimeSpan MaxBackOff = TimeSpan.FromSeconds(1);

        private readonly CancellationTokenSource _unbound = new();
        private readonly PerUserLogThrottle _failures = new(TimeSpan.FromSeconds(10));
        private TimeSpan _backOff = MinBackOff;
        private int _refusedSincePause;

        public EndPoint EndPoint { get; } = endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (pacing.Enabled && _refusedSincePause >= pacing.RefusalsBeforePause)
                {
                    // A flood: let the connections already open have the CPU for a moment. Connects wait
                    // in the listen queue meanwhile (or are refused by the kernel when it is full). Counting
                    // since the last pause, not in a row: the connects a flooder is allowed must not keep
                    // the pause from coming, and a pause every so many refusals costs nothing when they are rare.
                    _refusedSincePause = 0;
                    try
                    {
                        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
                        await Task.Delay(pacing.Pause, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return null; // unbound (shutdown does not wait out a pause)
                    }
                }

                Socket accepted;
                try
                {
                    accepted = await socket.AcceptAsync(cancellationToken);
                }
                catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException
                    || (e is SocketException s && s.SocketErrorCode == SocketError.OperationAborted))
                {
                    return null; // unbound
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
                {
                    continue; // the peer went away between connect and accept
                }
                catch (SocketException e)
                {
                    // Out of descriptors or memory: back off (longer while it lasts) instead of spinning on
                    // accept(), and say so once in a while, with a count, instead of on every try.
                    if (_failures.ShouldLog((uint)e.NativeErrorCode, out var leftOut))
                    {
                        logger.AcceptFailed(e.SocketErrorCode.ToString(), e.NativeErrorCode, leftOut + 1, _backOff.TotalMilliseconds);
                    }

                    try
                    {
                        await Task.Delay(_backOff, cancellationToken);
                        _backOff = TimeSpan.FromTicks(Math.Min(_backOff.Ticks * 2, MaxBackOff.Ticks));
                    }
                    catch (OperationCanceledException)
                    {
                        return null;
                    }

                    continue;
                }

                _backOff = MinBackOff;
                switch (gate.Accept(accepted, out var credential))
                {
                    case AcceptDecision.Admit:
                        ConnectionContext connection = factory is null ? new DirectSocketConnection(accepted) : factory.Create(accepted);
                        connection.Features.Set<IPeerCredentialFeature>(new PeerCredentialFeature(credential!));
                        return connection;
                    case AcceptDecision.RateLimited:
                        _refusedSincePause++;
                        break;
                }

                accepted.Dispose();
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _unbound.Cancel();
            socket.Dispose();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _unbound.Cancel();
            socket.Dispose();
            factory?.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
