using System.Text.Json;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// A relay (here the Swagger UI bridge, <c>socat</c>) connects on behalf of others: the service says so in
/// its log and in <c>/whoami</c>, and <c>EchoApi:RefuseRelays</c> refuses it. The service as its own process
/// (the AOT binary too), the bridge a real socat.
/// </summary>
[Trait("Category", "Process")]
public sealed class RelayTests : IDisposable
{
    private readonly TempSocketDirectory _directory = new();

    private string SocketPath => _directory.File("echo.sock");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task ARelayIsServedAndSaidToBeOne()
    {
        await using var server = await EchoApiProcess.StartListeningAsync(SocketPath);
        await using var bridge = await SocatBridge.StartAsync(SocketPath);
        using var viaBridge = new HttpClient { BaseAddress = bridge.BaseAddress, Timeout = UnixHttp.Timeout };

        using var relayed = JsonDocument.Parse(await viaBridge.GetStringAsync("/whoami", Cancel));
        Assert.True(relayed.RootElement.GetProperty("relayed").GetBoolean());
        Assert.Equal("socat", Path.GetFileName(relayed.RootElement.GetProperty("executable").GetString()));

        using var direct = UnixHttp.CreateClient(SocketPath);
        using var me = JsonDocument.Parse(await direct.GetStringAsync("/whoami", Cancel));
        Assert.False(me.RootElement.GetProperty("relayed").GetBoolean());
        Assert.Equal(new FileInfo("/proc/self/exe").LinkTarget, me.RootElement.GetProperty("executable").GetString());

        // Logged once, as the connection came in.
        const string Relayed = "comes through a relay (/usr/bin/socat): these peer credentials describe the relay, not its client";
        Assert.Contains(Relayed, await server.WaitForOutputAsync(Relayed), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefuseRelaysRefusesTheOwnersOwnBridgeButNotTheOwner()
    {
        await using var server = await EchoApiProcess.StartListeningAsync(SocketPath, ["--EchoApi:RefuseRelays=true"]);
        await using var bridge = await SocatBridge.StartAsync(SocketPath);
        using var viaBridge = new HttpClient { BaseAddress = bridge.BaseAddress, Timeout = UnixHttp.Timeout };

        using var refused = await viaBridge.PostAsync("/echo", new StringContent("hi"), Cancel);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        var detail = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("detail").GetString();
        Assert.StartsWith("the peer is a relay (/usr/bin/socat)", detail, StringComparison.Ordinal);

        using var direct = UnixHttp.CreateClient(SocketPath);
        using var echoed = await direct.PostAsync("/echo", new StringContent("hi"), Cancel);
        Assert.Equal(System.Net.HttpStatusCode.OK, echoed.StatusCode);
    }

    [Fact]
    public async Task RelayExecutablesReplacesTheList()
    {
        await using var server = await EchoApiProcess.StartListeningAsync(SocketPath, ["--EchoApi:RefuseRelays=true", "--EchoApi:RelayExecutables:0=curl"]);

        var (status, body, _) = await Command.CurlAsync(SocketPath, "/whoami");
        Assert.Equal(403, status);
        Assert.Contains("the peer is a relay (/usr/bin/curl)", JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await using var bridge = await SocatBridge.StartAsync(SocketPath);
        using var viaBridge = new HttpClient { BaseAddress = bridge.BaseAddress, Timeout = UnixHttp.Timeout };
        using var socat = JsonDocument.Parse(await viaBridge.GetStringAsync("/whoami", Cancel));
        Assert.False(socat.RootElement.GetProperty("relayed").GetBoolean()); // no longer on the list
    }

    [Fact]
    public async Task ARelayNameWithADirectoryStopsTheStart()
    {
        await using var server = EchoApiProcess.Start(["--socket", SocketPath, "--EchoApi:RelayExecutables:0=/usr/bin/socat"]);

        Assert.Equal(1, await server.WaitForExitAsync());
        Assert.Contains("EchoApi:RelayExecutables '/usr/bin/socat' is not an executable's file name", server.Stderr, StringComparison.Ordinal);
    }
}
