using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

public sealed class EchoTests : IDisposable
{
    private readonly EchoApiFactory _server = EchoApiFactory.Start(new Dictionary<string, string?> { ["Logging:LogLevel:EchoApi"] = "Debug" });
    private readonly HttpClient _client;

    public EchoTests() => _client = _server.CreateUnixClient();

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task TextIsEchoedWithItsContentType()
    {
        using var content = new StringContent("hello, socket", Encoding.UTF8, "text/plain");
        using var response = await _client.PostAsync("/echo", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(13, response.Content.Headers.ContentLength);
        Assert.Equal("hello, socket", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AllByteValuesComeBackUnchanged()
    {
        var bytes = Enumerable.Range(0, 256).Select(b => (byte)b).Concat(Enumerable.Range(0, 256).Select(b => (byte)(255 - b))).ToArray();
        using var content = new ByteArrayContent(bytes);
        using var response = await _client.PostAsync("/echo", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task EmptyBodyGivesEmptyAnswer()
    {
        using var content = new ByteArrayContent([]);
        using var response = await _client.PostAsync("/echo", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ChunkedBodyIsEchoedChunked()
    {
        var payload = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("chunk of data\n", 5000)));
        using var content = new StreamContent(new MemoryStream(payload));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(payload, await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TenMebibytesAreEchoedIntactWhileStillArriving(bool chunked)
    {
        // The echo streams: the answer flows while the body still arrives, so the client must read as
        // it sends (a client that sends everything first stalls once the socket buffers are full).
        var payload = new byte[10 * 1024 * 1024];
        new Random(42).NextBytes(payload);

        var response = await RawHttp.PostAsync(_server.SocketPath, "/echo", payload, "application/octet-stream", chunked, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(200, response.Status);
        if (chunked)
        {
            Assert.Equal("chunked", response.Headers["Transfer-Encoding"]);
        }
        else
        {
            Assert.Equal(payload.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers["Content-Length"]);
        }

        Assert.Equal(payload, response.Body);
    }

    [Fact]
    public async Task ClientThatHangsUpMidBodyIsNotAnError()
    {
        using (var socket = await UnixHttp.ConnectAsync(_server.SocketPath, TestContext.Current.CancellationToken))
        {
            await socket.SendAsync("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nonly ten b"u8.ToArray(), TestContext.Current.CancellationToken);
        }

        var entries = await _server.Logs.WaitForAsync(e => e.Message.Contains("ended early", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        Assert.DoesNotContain(entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
        using var response = await _client.PostAsync("/echo", new StringContent("still fine"), TestContext.Current.CancellationToken);
        Assert.Equal("still fine", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task CurlEchoesBinaryFileByteForByte()
    {
        var payload = Enumerable.Range(0, 256 * 64).Select(i => (byte)i).ToArray();
        var (status, body, headers) = await Command.CurlAsync(_server.SocketPath, "/echo", curlArguments: ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"], stdin: payload);

        Assert.Equal(200, status);
        Assert.Contains("Content-Type: application/octet-stream", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(payload, body);
    }
}
