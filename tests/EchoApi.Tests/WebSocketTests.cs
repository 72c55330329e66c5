using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary><c>GET /echo/ws</c> with real WebSocket clients over the Unix socket.</summary>
public sealed class WebSocketTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EachLineOfATextMessageComesBackAsItsOwnMessage()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);

        await SendTextAsync(socket, "this is a line");
        Assert.Equal("> this is a line", await ReceiveTextAsync(socket));

        await SendTextAsync(socket, "first\nsecond\r\nthird\n");
        Assert.Equal("> first", await ReceiveTextAsync(socket));
        Assert.Equal("> second", await ReceiveTextAsync(socket));
        Assert.Equal("> third", await ReceiveTextAsync(socket));

        await SendTextAsync(socket, "héllo wörld ✓");
        Assert.Equal("> héllo wörld ✓", await ReceiveTextAsync(socket));
    }

    [Fact]
    public async Task BinaryMessagesComeBackUnchanged()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);
        var payload = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();

        await socket.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, Cancel);
        var (type, data) = await ReceiveAsync(socket);

        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(payload, data);
    }

    [Fact]
    public async Task MessageOverTheLimitClosesWith1009()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxMessageBytes"] = "1024" });
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);

        await socket.SendAsync(new byte[1024], WebSocketMessageType.Binary, endOfMessage: true, Cancel);
        Assert.Equal(1024, (await ReceiveAsync(socket)).Data.Length); // exactly the limit is fine

        await socket.SendAsync(new byte[1025], WebSocketMessageType.Binary, endOfMessage: true, Cancel);
        var (type, _) = await ReceiveAsync(socket);

        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
    }

    [Fact]
    public async Task MessageOverTheLimitInManyFramesClosesWith1009()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxMessageBytes"] = "1024" });
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);

        // Six frames of 200 bytes: the sixth takes the message past 1024, and nothing is sent after it. The
        // server fails the connection at that frame and closes it at once, so a further send would race the
        // close and fail with a broken pipe when it lost.
        for (var i = 0; i < 6; i++)
        {
            await socket.SendAsync(new byte[200], WebSocketMessageType.Text, endOfMessage: false, Cancel);
        }

        var (type, _) = await ReceiveAsync(socket);

        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
    }

    [Fact]
    public async Task InvalidUtf8ClosesWith1007()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);

        await socket.SendAsync(new byte[] { (byte)'o', (byte)'k', 0xC3, 0x28 }, WebSocketMessageType.Text, endOfMessage: true, Cancel);
        var (type, _) = await ReceiveAsync(socket);

        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, socket.CloseStatus);
    }

    [Fact]
    public async Task CloseHandshakeIsAnswered()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", Cancel).WaitAsync(UnixHttp.Timeout, Cancel);

        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task IdlePeerIsClosedWith1001()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:IdleTimeout"] = "00:00:01" });
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);

        var (type, _) = await ReceiveAsync(socket);

        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        Assert.Equal("idle timeout", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task ShutdownClosesOpenSocketsWith1001()
    {
        var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);
        await SendTextAsync(socket, "still here");
        Assert.Equal("> still here", await ReceiveTextAsync(socket));

        var stopping = Task.Run(server.Dispose, Cancel);
        var (type, _) = await ReceiveAsync(socket);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, Cancel);
        await stopping.WaitAsync(UnixHttp.Timeout, Cancel);

        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        Assert.Equal("server shutting down", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task ServerSendsKeepAlivePings()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:KeepAliveInterval"] = "00:00:00.200" });
        using var raw = await UnixHttp.ConnectAsync(server.SocketPath, Cancel);
        await raw.SendAsync(Encoding.ASCII.GetBytes("GET /echo/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"), Cancel);

        var received = new List<byte>();
        var buffer = new byte[1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        int headerEnd;
        do
        {
            received.AddRange(buffer.AsSpan(0, await raw.ReceiveAsync(buffer, timeout.Token)).ToArray());
            headerEnd = Encoding.ASCII.GetString([.. received]).IndexOf("\r\n\r\n", StringComparison.Ordinal);
        }
        while (headerEnd < 0);

        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString([.. received]), StringComparison.Ordinal);
        received.RemoveRange(0, headerEnd + 4);
        while (received.Count == 0)
        {
            received.AddRange(buffer.AsSpan(0, await raw.ReceiveAsync(buffer, timeout.Token)).ToArray());
        }

        Assert.Equal(0x89, received[0]); // FIN + ping
    }

    [Fact]
    public async Task TwoHundredSocketsEchoAtOnce()
    {
        using var server = EchoApiFactory.Start();
        var sockets = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel)));
        try
        {
            await Task.WhenAll(sockets.Select(async (socket, i) =>
            {
                await SendTextAsync(socket, $"socket {i}\nline two of {i}");
                Assert.Equal($"> socket {i}", await ReceiveTextAsync(socket));
                Assert.Equal($"> line two of {i}", await ReceiveTextAsync(socket));
            }));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task ForeignUidIsRefusedTheUpgradeWith403()
    {
        Privileges.RequireRoot("connecting as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll();

        var (status, body, headers) = await Command.CurlAsync(
            server.SocketPath,
            "/echo/ws",
            Command.AsUser(Privileges.Nobody),
            ["-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]);

        Assert.Equal(403, status);
        Assert.DoesNotContain("101", headers.Split('\n')[0], StringComparison.Ordinal);
        Assert.Contains("is not the owner of this socket", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallerIsRefusedTheUpgradeWhenTheOwnerIsAnotherUid()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:Owner"] = "12345" });

        var error = await Assert.ThrowsAsync<WebSocketException>(() => UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel));

        Assert.Contains("403", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlainHttpRequestGets426()
    {
        using var server = EchoApiFactory.Start();
        using var client = server.CreateUnixClient();

        using var response = await client.GetAsync("/echo/ws", Cancel);

        Assert.Equal(426, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static Task SendTextAsync(WebSocket socket, string text)
        => socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, Cancel);

    private static async Task<string> ReceiveTextAsync(WebSocket socket)
    {
        var (type, data) = await ReceiveAsync(socket);
        Assert.Equal(WebSocketMessageType.Text, type);
        return Encoding.UTF8.GetString(data);
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync(WebSocket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(UnixHttp.Timeout);
        var message = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }
}
