using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// Nothing is served outside the gate: a TCP listener, wherever it comes from, stops the start with one
/// line, and its port never accepts a connection.
/// </summary>
[Trait("Category", "Process")]
public sealed class UnixSocketsOnlyTests : IDisposable
{
    private readonly TempSocketDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task TcpEndpointInKestrelsSettingsStopsTheStart()
    {
        var port = SocatBridge.FreePort();
        await using var server = EchoApiProcess.Start(["--socket", _directory.File("echo.sock"), $"--Kestrel:Endpoints:Tcp:Url=http://127.0.0.1:{port}"]);

        var (exitCode, accepted) = await WatchPortUntilExitAsync(server, port);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"echoapi: Refusing to listen on 127.0.0.1:{port} (TCP", line, StringComparison.Ordinal);
        Assert.Contains("serves Unix sockets only", line, StringComparison.Ordinal);
        Assert.Equal(0, accepted);
        Assert.Empty(Directory.GetFileSystemEntries(_directory.Path, "*.sock"));
    }

    [Fact]
    public async Task HostingUrlsPreferredToTheSocketsStopTheStart()
    {
        // Without this guard, PreferHostingUrls drops the Unix sockets and serves TCP alone.
        var port = SocatBridge.FreePort();
        await using var server = EchoApiProcess.Start(
            ["--socket", _directory.File("echo.sock")],
            new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}", ["ASPNETCORE_PREFERHOSTINGURLS"] = "true" });

        var (exitCode, accepted) = await WatchPortUntilExitAsync(server, port);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"echoapi: Refusing to listen on 127.0.0.1:{port} (TCP", line, StringComparison.Ordinal);
        Assert.Equal(0, accepted);
    }

    [Fact]
    public async Task InheritedTcpSocketStopsTheStart()
    {
        if (!File.Exists("/usr/bin/systemd-socket-activate"))
        {
            Assert.Skip("Skipped: needs systemd-socket-activate (package systemd) to hand over a TCP socket.");
        }

        // systemd-socket-activate makes both sockets, as a socket unit with a ListenStream=127.0.0.1:port
        // would, and starts the service on the first connection.
        var http = _directory.File("echo.sock");
        var port = SocatBridge.FreePort();
        await using var server = EchoApiProcess.Start([], launcher: ["systemd-socket-activate", "-l", http, "-l", $"127.0.0.1:{port}", "--fdname=http:tcp"]);
        using (var first = new TcpClient())
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    await first.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
                    break;
                }
                catch (SocketException) when (i < 200 && !server.HasExited)
                {
                    await Task.Delay(50, TestContext.Current.CancellationToken);
                }
            }

            Assert.Equal(1, await server.WaitForExitAsync());
            // The connection that started it was never answered: the service closed the socket unserved.
            var stream = first.GetStream();
            stream.ReadTimeout = 10_000;
            Assert.Equal(0, await ReadOrResetAsync(stream));
        }

        // Only the launcher's own lines ("Listening on …", "Execing …") besides the service's one.
        string[] launcher = ["Listening on ", "Communication attempt on ", "Execing "];
        var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !launcher.Any(p => l.StartsWith(p, StringComparison.Ordinal)));
        Assert.StartsWith("echoapi: Refusing to listen on inherited descriptor 4, which is not a Unix stream socket", line, StringComparison.Ordinal);
        using var after = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => after.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken).AsTask());
    }

    /// <summary>Tries to connect to <paramref name="port"/> every few milliseconds until the service exits; returns its exit code and how many connects succeeded.</summary>
    private static async Task<(int ExitCode, int Accepted)> WatchPortUntilExitAsync(EchoApiProcess server, int port)
    {
        var accepted = 0;
        var deadline = Stopwatch.StartNew();
        while (!server.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
                accepted++;
            }
            catch (SocketException)
            {
                await Task.Delay(5, TestContext.Current.CancellationToken);
            }
        }

        return (await server.WaitForExitAsync(), accepted);
    }

    private static async Task<int> ReadOrResetAsync(NetworkStream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[64], TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }
        catch (IOException)
        {
            return 0; // reset: closed unanswered
        }
    }
}
