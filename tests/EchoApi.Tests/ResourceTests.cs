using System.Net.Sockets;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>Per-connection resources are released with the connection.</summary>
[Trait("Category", "Process")]
public sealed class ResourceTests : IDisposable
{
    private readonly TempSocketDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task ThousandConnectionsLeakNoPidFdsOrOtherDescriptors()
    {
        var socketPath = _directory.File("echo.sock");

        // Owned by another uid, so that this test's requests are refused and the refusal's log line asks
        // for the executable: the only thing that makes the server take a peer's pidfd (on first use).
        await using var server = await EchoApiProcess.StartListeningAsync(socketPath, environment: new Dictionary<string, string> { ["EchoApi__Owner"] = Privileges.Stranger.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await RequestHealthAsync(socketPath); // warm up: first request opens what the process keeps

        // While a connection whose process was asked about is open, the server holds its peer's pidfd
        // (Linux 6.5+: SO_PEERPIDFD).
        using (var held = await UnixHttp.ConnectAsync(socketPath, TestContext.Current.CancellationToken))
        {
            await held.SendAsync("GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), TestContext.Current.CancellationToken);
            var answer = new byte[256];
            var read = await held.ReceiveAsync(answer, TestContext.Current.CancellationToken);
            Assert.StartsWith("HTTP/1.1 403", System.Text.Encoding.ASCII.GetString(answer, 0, read), StringComparison.Ordinal);
            if (Environment.OSVersion.Version >= new Version(6, 5))
            {
                Assert.Contains(server.OpenFiles(), f => f.Contains("pidfd", StringComparison.Ordinal));
            }
        }

        // Closed with its connection; and the refusal has loaded what it needed, so this is the baseline.
        var baseline = await SettledOpenFilesAsync(server, int.MaxValue);
        Assert.DoesNotContain(baseline, f => f.Contains("pidfd", StringComparison.Ordinal));

        for (var i = 0; i < 1000; i++)
        {
            await RequestHealthAsync(socketPath);
        }

        var after = await SettledOpenFilesAsync(server, baseline.Count);
        Assert.True(after.Count <= baseline.Count, $"Open descriptors grew from {baseline.Count} to {after.Count}: {string.Join(", ", after.Except(baseline))}");
        Assert.DoesNotContain(after, f => f.Contains("pidfd", StringComparison.Ordinal));
    }

    private static async Task RequestHealthAsync(string socketPath)
    {
        using var socket = await UnixHttp.ConnectAsync(socketPath);
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync().WaitAsync(UnixHttp.Timeout);
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
    }

    /// <summary>The server's open files once closing connections have been noticed (or the timeout passed).</summary>
    private static async Task<IReadOnlyList<string>> SettledOpenFilesAsync(EchoApiProcess server, int target)
    {
        var files = server.OpenFiles();
        for (var i = 0; i < 100 && (files.Count > target || files.Any(f => f.Contains("pidfd", StringComparison.Ordinal))); i++)
        {
            await Task.Delay(100);
            files = server.OpenFiles();
        }

        return files;
    }
}
