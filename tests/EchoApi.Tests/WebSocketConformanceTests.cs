using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// <c>/echo/ws</c> probed with hand-built frames on a raw Unix socket, case by case in the manner of the
/// Autobahn suite: UTF-8 across frames, unmasked frames, declared lengths, pings and idleness, and the
/// handshake's answers.
/// </summary>
public sealed class WebSocketConformanceTests
{
    /// <summary>Failing a connection does not wait for the peer's close frame (it used to wait 5 s).</summary>
    private static readonly TimeSpan Promptly = TimeSpan.FromSeconds(2);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TextEndingInsideAUtf8SequenceBeforeAnEmptyFinalFrameClosesWith1007()
    {
        using var server = EchoApiFactory.Start();
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        // "ok €" cut after two of the euro sign's three bytes, then an empty final continuation frame.
        await client.SendAsync([.. RawWebSocket.Build(0x1, [(byte)'o', (byte)'k', 0xE2, 0x82], fin: false), .. RawWebSocket.Build(0x0, [])], Cancel);
        var (close, before) = await client.ReadUntilCloseAsync(Cancel);

        Assert.Empty(before); // nothing of it is echoed
        Assert.Equal(1007, close.CloseCode);
        Assert.InRange(await client.TimeUntilClosedAsync(Cancel), TimeSpan.Zero, Promptly);
    }

    [Fact]
    public async Task Utf8SequencesSplitAcrossFramesAreEchoedWhole()
    {
        using var server = EchoApiFactory.Start();
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        // The euro sign (E2 82 AC) over three frames, one byte each, the last one closing the message.
        await client.SendAsync(
            [.. RawWebSocket.Build(0x1, "ok "u8, fin: false), .. RawWebSocket.Build(0x0, [0xE2], fin: false), .. RawWebSocket.Build(0x0, [0x82], fin: false), .. RawWebSocket.Build(0x0, [0xAC])],
            Cancel);
        // Cut before an empty final frame too, this time with the sequence complete.
        await client.SendAsync([.. RawWebSocket.Build(0x1, [(byte)'a', 0xE2, 0x82, 0xAC], fin: false), .. RawWebSocket.Build(0x0, [])], Cancel);

        Assert.Equal("> ok €", (await client.ReadFrameAsync(Cancel))?.Text);
        Assert.Equal("> a€", (await client.ReadFrameAsync(Cancel))?.Text);
    }

    [Theory]
    [InlineData("89 00", "an empty ping")]
    [InlineData("88 02 03 e8", "a close carrying only a code")]
    [InlineData("88 00", "an empty close")]
    [InlineData("8a 00", "an empty pong")]
    [InlineData("81 05 68 65 6c 6c 6f", "a text frame")]
    [InlineData("82 7e 00 c8", "the header of a 200-byte binary frame")]
    public async Task UnmaskedClientFrameFailsWith1002AtOnce(string frame, string what)
    {
        using var server = EchoApiFactory.Start(); // IdleTimeout is 5 minutes: nothing here can be an idle close
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        var started = Stopwatch.GetTimestamp();
        await client.SendAsync(Convert.FromHexString(frame.Replace(" ", "", StringComparison.Ordinal)), Cancel);
        var (close, before) = await client.ReadUntilCloseAsync(Cancel);
        await client.TimeUntilClosedAsync(Cancel);
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Empty(before);
        Assert.Equal(1002, close.CloseCode);
        Assert.True(elapsed < Promptly, $"After {what} without a mask, the connection took {elapsed} to close.");
    }

    [Theory]
    [InlineData(0x41, "", "a text frame with a reserved bit set")]
    [InlineData(0x83, "", "a frame with the reserved opcode 3")]
    [InlineData(0x80, "orphan", "a continuation with no message to continue")]
    [InlineData(0x09, "", "a ping that is not final")]
    [InlineData(0x88, "\u0003\u00ed", "a close with code 1005, which is never sent")]
    public async Task ProtocolErrorTheFrameworkFindsClosesWith1002AndThenTheConnectionAtOnce(int firstByte, string payload, string what)
    {
        using var server = EchoApiFactory.Start();
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        var started = Stopwatch.GetTimestamp();
        await client.SendAsync(RawWebSocket.Build(firstByte & 0x7F, Encoding.Latin1.GetBytes(payload), fin: (firstByte & 0x80) != 0), Cancel);
        var (close, _) = await client.ReadUntilCloseAsync(Cancel);
        await client.TimeUntilClosedAsync(Cancel);
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(1002, close.CloseCode);
        Assert.True(elapsed < Promptly, $"After {what}, the connection took {elapsed} to close.");
    }

    [Fact]
    public async Task FramesBeforeAnUnmaskedOneAreServedThenTheConnectionFails()
    {
        using var server = EchoApiFactory.Start();
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        // One write: a good text frame, then an unmasked empty ping.
        await client.SendAsync([.. RawWebSocket.Build(0x1, "first"u8), 0x89, 0x00], Cancel);
        var (close, before) = await client.ReadUntilCloseAsync(Cancel);

        Assert.Equal(["> first"], before.Select(f => f.Text));
        Assert.Equal(1002, close.CloseCode);
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("unmasked frame; closing with 1002", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FrameDeclaring2To40BytesClosesWith1009AtItsHeader()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxMessageBytes"] = "1024" });
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        // The header alone: not one byte of the payload it announces is ever sent.
        await client.SendAsync(RawWebSocket.Build(0x2, [], declaredLength: 1L << 40), Cancel);
        var (close, _) = await client.ReadUntilCloseAsync(Cancel);

        Assert.Equal(1009, close.CloseCode);
        Assert.InRange(await client.TimeUntilClosedAsync(Cancel), TimeSpan.Zero, Promptly);
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("message over 1024 bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FragmentedMessageIsRefusedWhenItsDeclaredLengthsPassTheLimit()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxMessageBytes"] = "1024" });
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        // Exactly the limit, in three frames: echoed.
        await client.SendAsync([.. RawWebSocket.Build(0x2, new byte[500], fin: false), .. RawWebSocket.Build(0x0, new byte[500], fin: false), .. RawWebSocket.Build(0x0, new byte[24])], Cancel);
        Assert.Equal(1024, (await client.ReadFrameAsync(Cancel))?.Payload.Length);

        // One byte more, announced by the second frame's header, whose payload is never sent.
        await client.SendAsync([.. RawWebSocket.Build(0x2, new byte[1000], fin: false), .. RawWebSocket.Build(0x0, [], declaredLength: 25)], Cancel);
        var (close, before) = await client.ReadUntilCloseAsync(Cancel);

        Assert.Empty(before);
        Assert.Equal(1009, close.CloseCode);
    }

    [Theory]
    [InlineData(0x9)]
    [InlineData(0xA)]
    public async Task PingsOrPongsFromThePeerKeepItConnectedPastTheIdleTimeout(int opcode)
    {
        var idleTimeout = TimeSpan.FromSeconds(1.5);
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:IdleTimeout"] = idleTimeout.ToString() });
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);
        var started = Stopwatch.GetTimestamp();
        var reading = client.ReadUntilCloseAsync(Cancel);

        // Nothing but control frames, every 0.25 s, for well over the idle timeout: a loaded machine may hold
        // this loop (or the server's reading) back for a while, and only a gap of the whole 1.5 s may close it.
        var pinging = TimeSpan.FromSeconds(4.5);
        while (Stopwatch.GetElapsedTime(started) < pinging && !reading.IsCompleted)
        {
            await client.SendAsync(RawWebSocket.Build(opcode, "still here"u8), Cancel);
            await Task.Delay(250, Cancel);
        }

        // Then silence: the idle timeout runs from the last of them.
        var (close, _) = await reading;
        var closedAfter = Stopwatch.GetElapsedTime(started);

        Assert.True(closedAfter > pinging, $"Closed after {closedAfter}, while the peer was still sending control frames.");
        Assert.Equal(1001, close.CloseCode);
        Assert.Equal("idle timeout", close.CloseReason);
        Assert.True(closedAfter < pinging + idleTimeout + TimeSpan.FromSeconds(3), $"Closed only after {closedAfter}.");
    }

    [Fact]
    public async Task PeerThatAnswersNothingNotEvenThePingsIsClosedAsIdle()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?>
        {
            ["EchoApi:IdleTimeout"] = "00:00:01.500",
            ["EchoApi:KeepAliveInterval"] = "00:00:00.300",
        });
        // Timed from before the handshake: the server's idle clock starts with the upgrade, so however slow
        // the handshake's answer is to arrive, the time measured here is never shorter than the server's.
        var started = Stopwatch.GetTimestamp();
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        var pings = 0;
        RawWebSocket.Frame? frame;
        while ((frame = await client.ReadFrameAsync(Cancel)) is { Opcode: not 0x8 })
        {
            pings += frame.Opcode == 0x9 ? 1 : 0; // read, never answered
        }

        var closedAfter = Stopwatch.GetElapsedTime(started);
        Assert.True(pings > 0, "The server sent no keep-alive ping.");
        Assert.NotNull(frame);
        Assert.Equal(1001, frame.CloseCode);
        Assert.Equal("idle timeout", frame.CloseReason);
        Assert.InRange(closedAfter, TimeSpan.FromSeconds(1.3), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task HandshakeIsAcceptedWithTheKeyRfc6455Derives()
    {
        using var server = EchoApiFactory.Start();
        using var client = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        // RFC 6455 §1.3's own example: this key gives this accept value.
        Assert.Contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", client.HandshakeAnswer, StringComparison.OrdinalIgnoreCase);
        await client.SendAsync(RawWebSocket.Build(0x1, "after a raw handshake"u8), Cancel);
        Assert.Equal("> after a raw handshake", (await client.ReadFrameAsync(Cancel))?.Text);
    }

    [Theory]
    [InlineData("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", 400, "no Sec-WebSocket-Key")]
    [InlineData("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not a key at all, sorry\r\n", 400, "a key that is not base64")]
    [InlineData("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAECAwQFBgcICQoLDA0O\r\n", 400, "a key of 15 bytes")]
    [InlineData("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 400, "two keys")]
    [InlineData("Upgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 426, "version 8")]
    [InlineData("Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 426, "no version")]
    [InlineData("", 426, "no upgrade at all")]
    public async Task RefusedHandshakeGetsTheAnswerRfc6455Names(string handshake, int status, string what)
    {
        using var server = EchoApiFactory.Start();

        var response = await GetAsync(server.SocketPath, handshake);

        Assert.True(status == response.Status, $"{what}: {response.Status}, not {status}.");
        Assert.Equal("application/problem+json", response.Headers["Content-Type"]);
        using var problem = JsonDocument.Parse(response.Body);
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        if (status == 426)
        {
            Assert.Equal("13", response.Headers["Sec-WebSocket-Version"]);
            Assert.Equal("websocket", response.Headers["Upgrade"]);
        }
    }

    [Fact]
    public async Task StrangerWithABrokenHandshakeGets403NotTheHandshakesAnswer()
    {
        // The owner is another uid, so this process is the stranger: the owner policy answers before the handshake is read.
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:Owner"] = Privileges.Stranger.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        var response = await GetAsync(server.SocketPath, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");

        Assert.Equal(403, response.Status);
    }

    [Fact]
    public async Task UpgradeOverTheConnectionLimitGets503()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxConnections"] = "1" });
        using var first = await RawWebSocket.ConnectAsync(server.SocketPath, Cancel);

        var response = await GetAsync(server.SocketPath, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");

        Assert.Equal(503, response.Status);
        Assert.Equal("application/problem+json", response.Headers["Content-Type"]);
    }

    /// <summary><c>GET /echo/ws</c> with <paramref name="headers"/>, on a connection that closes after the answer.</summary>
    private static async Task<RawHttp.Response> GetAsync(string socketPath, string headers)
    {
        using var socket = await UnixHttp.ConnectAsync(socketPath, Cancel);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(UnixHttp.Timeout);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /echo/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, close\r\n{headers}\r\n"), timeout.Token);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return RawHttp.Parse(received.ToArray());
    }
}
