using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// <c>socat TCP-LISTEN:port,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:sock</c>, the bridge a browser
/// needs, optionally run as another uid; the service sees socat's uid on every request through it.
/// </summary>
public sealed class SocatBridge : IAsyncDisposable
{
    private readonly Process _process;

    private SocatBridge(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public static async Task<SocatBridge> StartAsync(string socketPath, string[]? asUser = null)
    {
        var port = FreePort();
        var start = new ProcessStartInfo((asUser ?? []).FirstOrDefault() ?? "socat") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in (string[])[.. (asUser ?? []).Skip(1), .. asUser is null ? [] : (string[])["socat"], $"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr", $"UNIX-CONNECT:{socketPath}"])
        {
            start.ArgumentList.Add(argument);
        }

        var bridge = new SocatBridge(Process.Start(start) ?? throw new InvalidOperationException("Could not start socat."), port);
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return bridge;
            }
            catch (SocketException)
            {
                if (bridge._process.HasExited)
                {
                    Assert.Fail("socat exited: " + await bridge._process.StandardError.ReadToEndAsync());
                }

                await Task.Delay(50);
            }
        }

        await bridge.DisposeAsync();
        throw new TimeoutException($"socat did not listen on 127.0.0.1:{port}.");
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = UnixHttp.Timeout };

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
