using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

public sealed class LimitTests : IDisposable
{
    private const int Limit = 64 * 1024;
    private static readonly CancellationToken Cancel = TestContext.Current.CancellationToken;
    private readonly EchoApiFactory _server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxEchoBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task BodyOverTheLimitGets413AndTheNextConnectionWorks()
    {
        var (status, body, headers) = await Command.CurlAsync(_server.SocketPath, "/echo", curlArguments: ["--data-binary", "@-"], stdin: new byte[Limit + 1]);

        Assert.Equal(413, status);
        Assert.Contains("application/problem+json", headers, StringComparison.Ordinal);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(413, problem.GetProperty("status").GetInt32());
        Assert.Contains("EchoApi:MaxEchoBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var client = _server.CreateUnixClient();
        using var next = await client.PostAsync("/echo", new ByteArrayContent(new byte[Limit]), Cancel);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(Limit, (await next.Content.ReadAsByteArrayAsync(Cancel)).Length);
    }

    [Fact]
    public async Task BodyOfExactlyTheLimitIsEchoed()
    {
        var payload = new byte[Limit];
        new Random(7).NextBytes(payload);

        var response = await RawHttp.PostAsync(_server.SocketPath, "/echo", payload, cancellationToken: Cancel);

        Assert.Equal(200, response.Status);
        Assert.Equal(payload, response.Body);
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimitBeforeTheAnswerStartsGets413()
    {
        // The first read already crosses the limit, so nothing has been echoed yet: a clean 413. That holds
        // only if the first read has the whole body: the server reads the socket 4 KiB at a time and starts
        // the echo on what has arrived, so a 128 KiB body in several writes was now and then (2 in 300)
        // echoed in part under a 200 and cut off instead. Hence a small limit, and the whole request in one
        // write that fits one read.
        const int SmallLimit = 1024;
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxEchoBytes"] = SmallLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var request = System.Text.Encoding.ASCII.GetBytes(
            $"POST /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{SmallLimit * 2:x}\r\n{new string('x', SmallLimit * 2)}\r\n0\r\n\r\n");

        var response = await RawHttp.ExchangeAsync(server.SocketPath, request, Cancel);

        Assert.Equal(413, response.Status);
        Assert.Equal("application/problem+json", response.Headers["Content-Type"]);
    }

    [Fact]
    public async Task ChunkedBodyThatOutgrowsTheLimitMidEchoEndsInABrokenAnswerNotACompleteOne()
    {
        // Once part of the echo is out under 200, the server cuts the connection: the client can tell
        // the answer is incomplete (no final chunk) rather than take a truncated echo for a whole one.
        var payload = new byte[Limit * 16];
        using var socket = await UnixHttp.ConnectAsync(_server.SocketPath, Cancel);
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray(), Cancel);
        await stream.WriteAsync("1000\r\n"u8.ToArray(), Cancel);
        await stream.WriteAsync(new byte[0x1000], Cancel);
        await stream.WriteAsync("\r\n"u8.ToArray(), Cancel);

        // The answer's head is out (the server flushes it with the first chunk's echo) before the body
        // grows past the limit: sent any earlier, the rest of the body could reach the server's first read
        // and make it a clean 413 instead (as it did on a loaded machine).
        var received = new MemoryStream();
        await ReadHeadAsync(stream, received);
        var reading = stream.CopyToAsync(received, Cancel);
        try
        {
            for (var sent = 0x1000; sent < payload.Length; sent += 0x1000)
            {
                await stream.WriteAsync("1000\r\n"u8.ToArray(), Cancel);
                await stream.WriteAsync(new byte[0x1000], Cancel);
                await stream.WriteAsync("\r\n"u8.ToArray(), Cancel);
            }
        }
        catch (IOException)
        {
            // The server has closed the connection under us: expected.
        }

        try
        {
            await reading.WaitAsync(UnixHttp.Timeout, Cancel);
        }
        catch (IOException)
        {
        }

        var raw = received.ToArray();
        Assert.StartsWith("HTTP/1.1 200", System.Text.Encoding.ASCII.GetString(raw, 0, Math.Min(raw.Length, 12)), StringComparison.Ordinal);
        Assert.False(raw.AsSpan().EndsWith("0\r\n\r\n"u8), "The cut-off echo must not end like a complete chunked answer.");
        Assert.Contains(_server.Logs.Entries, e => e.Message.Contains("cut off", StringComparison.Ordinal));
    }

    /// <summary>Reads into <paramref name="received"/> until it holds a whole header block.</summary>
    private static async Task ReadHeadAsync(NetworkStream stream, MemoryStream received)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(UnixHttp.Timeout);
        var buffer = new byte[8192];
        while (received.GetBuffer().AsSpan(0, (int)received.Length).IndexOf("\r\n\r\n"u8) < 0)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.True(read > 0, $"The connection ended before the answer's head: {System.Text.Encoding.ASCII.GetString(received.ToArray())}");
            received.Write(buffer, 0, read);
        }
    }
}
