using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// Every way in, against the service as a separate process. With <c>ECHOAPI_EXECUTABLE</c> pointing at
/// the native AOT binary, this is the smoke suite that proves the published build behaves like the JIT one.
/// </summary>
[Trait("Category", "Process")]
public sealed class ProcessSmokeTests : IAsyncLifetime
{
    private readonly TempSocketDirectory _directory = new();
    private EchoApiProcess? _server;

    private string SocketPath => _directory.File("echo.sock");

    private string LineSocketPath => _directory.File("line.sock");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
        => _server = await EchoApiProcess.StartListeningAsync(SocketPath, environment: new Dictionary<string, string> { ["EchoApi__SocketMode"] = "0666" });

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task EchoWhoAmIAndHealthAnswer()
    {
        var payload = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
        var (status, body, headers) = await Command.CurlAsync(SocketPath, "/echo", curlArguments: ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"], stdin: payload);
        Assert.Equal(200, status);
        Assert.Equal(payload, body);
        Assert.Contains("Content-Length: 4096", headers, StringComparison.OrdinalIgnoreCase);

        using var client = UnixHttp.CreateClient(SocketPath);
        using var me = JsonDocument.Parse(await client.GetStringAsync("/whoami", Cancel));
        Assert.Equal(Privileges.EffectiveUserId, me.RootElement.GetProperty("uid").GetUInt32());
        Assert.True(me.RootElement.GetProperty("isOwner").GetBoolean());
        Assert.Equal("ok", await client.GetStringAsync("/healthz", Cancel));
    }

    [Fact]
    public async Task OverLimitAndUnknownRoutesGetProblemDetails()
    {
        var (status, body, _) = await Command.CurlAsync(SocketPath, "/echo", curlArguments: ["--data-binary", "@-"], stdin: new byte[17 * 1024 * 1024]);
        Assert.Equal(413, status);
        Assert.Equal(413, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());

        using var client = UnixHttp.CreateClient(SocketPath);
        using var missing = await client.GetAsync("/nothing/here", Cancel);
        Assert.Equal(404, (int)missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task WebSocketEchoesLines()
    {
        using var socket = await UnixHttp.ConnectWebSocketAsync(SocketPath, cancellationToken: Cancel);
        await socket.SendAsync("one\ntwo"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, Cancel);

        var buffer = new byte[256];
        var first = await socket.ReceiveAsync(buffer, Cancel);
        Assert.Equal("> one", Encoding.UTF8.GetString(buffer, 0, first.Count));
        var second = await socket.ReceiveAsync(buffer, Cancel);
        Assert.Equal("> two", Encoding.UTF8.GetString(buffer, 0, second.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Cancel);
    }

    [Fact]
    public async Task LineSocketEchoesWithNc()
    {
        var result = await Command.RunAsync(["nc", "-N", "-U", LineSocketPath], stdin: "this is a line\n"u8.ToArray());

        Assert.Equal("> this is a line\n", result.StdoutText);
    }

    [Fact]
    public async Task SwaggerUiAndDocumentAreServed()
    {
        using var client = UnixHttp.CreateClient(SocketPath);

        Assert.Contains("swagger-ui", await client.GetStringAsync("/swagger/index.html", Cancel), StringComparison.Ordinal);
        Assert.Contains("/openapi/v1.json", await client.GetStringAsync("/swagger/index.js", Cancel), StringComparison.Ordinal);
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", Cancel));
        Assert.True(document.RootElement.GetProperty("paths").TryGetProperty("/echo", out _));
    }

    [Fact]
    public async Task HealthSwitchReportsALiveServiceAndADeadOne()
    {
        await using var probe = EchoApiProcess.Start(["--health", "--socket", SocketPath]);
        Assert.Equal(0, await probe.WaitForExitAsync());

        await using var dead = EchoApiProcess.Start(["--health", "--socket", _directory.File("nothing.sock")]);
        Assert.Equal(1, await dead.WaitForExitAsync());
        Assert.Contains("no socket at", dead.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForeignUidIsRefusedEverywhere()
    {
        Privileges.RequireRoot("connecting as uid 65534");
        var nobody = Command.AsUser(Privileges.Nobody);

        var (status, body, _) = await Command.CurlAsync(SocketPath, "/echo", nobody, ["--data-binary", "secret"]);
        var line = await Command.RunAsync([.. nobody, "nc", "-U", LineSocketPath], stdin: "hi\n"u8.ToArray());

        Assert.Equal(403, status);
        Assert.DoesNotContain("secret", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.Equal("Unauthorized access\n", line.StdoutText);
    }
}
