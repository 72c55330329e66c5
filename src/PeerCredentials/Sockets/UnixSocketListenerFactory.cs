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
/// own socket transport, with one decision taken right after <c>accept()</c>, before any pipe, buffer or
/// scheduling work is spent on the connection: a uid over its connect rate is closed on the spot. After
/// every so many such refusals (a connect flood) the listener pauses a moment, so that refusing cannot
/// take the CPU from the connections already open.
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

        var factory = new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions
            {
                IOQueueCount = options.IOQueueCount,
                WaitForDataBeforeAllocatingBuffer = options.WaitForDataBeforeAllocatingBuffer,
                MaxReadBufferSize = options.MaxReadBufferSize,
                MaxWriteBufferSize = options.MaxWriteBufferSize,
                UnsafePreferInlineScheduling = options.UnsafePreferInlineScheduling,
            },
            loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        var rate = accept.Value.ConnectionsPerSecondPerUser;
        var limiter = rate > 0 ? new PeerRateLimiter(rate, accept.Value.UnlimitedUserIds) : null;
        var pacing = new FloodPacing(accept.Value.RefusalsBeforePause, accept.Value.FloodPause);
        return ValueTask.FromResult<IConnectionListener>(new Listener(socket, socket.LocalEndPoint ?? endpoint, factory, limiter, pacing, loggers.CreateLogger<UnixSocketListenerFactory>()));
    }

    private readonly record struct FloodPacing(int RefusalsBeforePause, TimeSpan Pause)
    {
        public bool Enabled => RefusalsBeforePause > 0 && Pause > TimeSpan.Zero;
    }

    private sealed class Listener(Socket socket, EndPoint endpoint, SocketConnectionContextFactory factory, PeerRateLimiter? limiter, FloodPacing pacing, ILogger logger) : IConnectionListener
    {
        private readonly PerUserLogThrottle _refusals = new();
        private readonly CancellationTokenSource _unbound = new();
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
                    // Out of descriptors or memory: back off a moment instead of spinning on accept().
                    logger.AcceptFailed(e.SocketErrorCode.ToString(), e.NativeErrorCode);
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        return null;
                    }

                    continue;
                }

                if (limiter is not null && UserId(accepted) is { } uid && !limiter.TryTake(uid))
                {
                    // At most one report a second per uid, counting this refusal and those left out before it.
                    if (_refusals.ShouldLog(uid, out var leftOut))
                    {
                        logger.ConnectRateExceeded(uid, leftOut + 1, limiter.Rate);
                    }

                    accepted.Dispose();
                    _refusedSincePause++;
                    continue;
                }

                return factory.Create(accepted);
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
            factory.Dispose();
            return ValueTask.CompletedTask;
        }

        // Only the uid, from SO_PEERCRED: the full credentials (groups, pidfd) are read later, for the
        // connections that get that far.
        private static uint? UserId(Socket accepted)
        {
            Span<byte> ucred = stackalloc byte[12];
            try
            {
                return accepted.GetRawSocketOption(Libc.SolSocket, Libc.SoPeerCred, ucred) == ucred.Length
                    ? MemoryMarshal.Read<uint>(ucred[4..])
                    : null;
            }
            catch (SocketException)
            {
                return null; // the middleware fails such a connection closed
            }
        }
    }
}
