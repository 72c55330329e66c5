using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace PeerCredentials.Sockets;

/// <summary>
/// A Kestrel connection that is only its socket: no receive loop, no pipes, no scheduling of its own. The
/// endpoint's handler receives and sends on <see cref="Socket"/> itself, so an answer costs one
/// <c>recv</c> and one <c>send</c> on whatever thread the receive completed on. Kestrel still dispatches
/// it (to the thread pool), counts it against <c>MaxConcurrentConnections</c>, runs the endpoint's
/// connection middleware (the gate) and disposes it, or aborts it when shutdown runs out of time.
/// <see cref="Transport"/> exists for code that wants pipes anyway (a gate's last words to a refused peer):
/// made on first use, over a stream on the same socket.
/// </summary>
internal sealed class DirectSocketConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionItemsFeature, IConnectionTransportFeature, IConnectionLifetimeFeature,
    IConnectionEndPointFeature, IConnectionSocketFeature, IDirectSocketFeature
{
    private const string IdAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

    // Ids in Kestrel's form (13 characters of base 32), from a counter that starts at the clock.
    private static long s_lastId = DateTime.UtcNow.Ticks;

    private readonly CancellationTokenSource _closed = new();
    private IDuplexPipe? _transport;
    private EndPoint? _localEndPoint;
    private EndPoint? _remoteEndPoint;
    private IDictionary<object, object?>? _items;
    private int _closing;

    public DirectSocketConnection(Socket socket)
    {
        Socket = socket;
        ConnectionId = NextId();
        Features = new FeatureCollection();
        Features.Set<IConnectionIdFeature>(this);
        Features.Set<IConnectionItemsFeature>(this);
        Features.Set<IConnectionTransportFeature>(this);
        Features.Set<IConnectionLifetimeFeature>(this);
        Features.Set<IConnectionEndPointFeature>(this);
        Features.Set<IConnectionSocketFeature>(this);
        Features.Set<IDirectSocketFeature>(this);
    }

    public Socket Socket { get; }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; }

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport
    {
        get => _transport ??= StreamTransport(Socket);
        set => _transport = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException("The connection's ConnectionClosed token is its own.");
    }

    // Read when asked (logs and metrics ask rarely), and null once the socket is closed.
    public override EndPoint? LocalEndPoint
    {
        get => _localEndPoint ??= EndPointOf(static socket => socket.LocalEndPoint);
        set => _localEndPoint = value;
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _remoteEndPoint ??= EndPointOf(static socket => socket.RemoteEndPoint);
        set => _remoteEndPoint = value;
    }

    /// <summary>Ends the connection at once: pending receives and sends on the socket fail.</summary>
    public override void Abort(ConnectionAbortedException abortReason) => Close();

    public override async ValueTask DisposeAsync()
    {
        if (_transport is StreamPipe pipe)
        {
            await pipe.Output.CompleteAsync();
            await pipe.Input.CompleteAsync();
        }

        Close();
        await base.DisposeAsync();
    }

    private void Close()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        try
        {
            // Both directions, as Kestrel's own transport does: a peer still blocked in a read sees EOF.
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Not connected any more: nothing to shut down.
        }
        catch (ObjectDisposedException)
        {
        }

        Socket.Dispose();
        // Whoever waits on ConnectionClosed runs on the thread pool, never on the thread that closed the
        // socket (which may be the runtime's epoll thread).
        ThreadPool.UnsafeQueueUserWorkItem(static closed => closed.Cancel(), _closed, preferLocal: false);
    }

    private EndPoint? EndPointOf(Func<Socket, EndPoint?> read)
    {
        try
        {
            return read(Socket);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            return null;
        }
    }

    private static StreamPipe StreamTransport(Socket socket)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        return new StreamPipe(
            PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));
    }

    private static string NextId()
    {
        var id = Interlocked.Increment(ref s_lastId);
        return string.Create(13, id, static (chars, value) =>
        {
            for (var i = chars.Length - 1; i >= 0; i--)
            {
                chars[i] = IdAlphabet[(int)(value & 31)];
                value >>= 5;
            }
        });
    }

    private sealed record StreamPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
