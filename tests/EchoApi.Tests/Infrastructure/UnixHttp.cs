using System.Net.Sockets;

namespace EchoApi.Tests.Infrastructure;

/// <summary>HttpClient and raw sockets that dial a Unix socket.</summary>
public static class UnixHttp
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static SocketsHttpHandler CreateHandler(string socketPath) => new()
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = await ConnectAsync(socketPath, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    };

    /// <summary>A WebSocket to <paramref name="path"/> on the Unix socket.</summary>
    public static async Task<System.Net.WebSockets.ClientWebSocket> ConnectWebSocketAsync(string socketPath, string path = "/echo/ws", CancellationToken cancellationToken = default)
    {
        var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var invoker = new HttpMessageInvoker(CreateHandler(socketPath));
        await socket.ConnectAsync(new Uri($"ws://localhost{path}"), invoker, timeout.Token);
        return socket;
    }

    public static HttpClient CreateClient(string socketPath, bool expectContinue = false)
    {
        var client = new HttpClient(CreateHandler(socketPath)) { BaseAddress = new Uri("http://localhost"), Timeout = Timeout };
        client.DefaultRequestHeaders.ExpectContinue = expectContinue;
        return client;
    }

    public static async Task<Socket> ConnectAsync(string socketPath, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            await socket.ConnectAsync(PeerCredentials.Sockets.UnixSocketPaths.ToEndPoint(socketPath), timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
