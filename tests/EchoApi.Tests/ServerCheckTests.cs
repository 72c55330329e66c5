using System.Diagnostics;
using System.Net.Sockets;
using EchoApi.Tests.Infrastructure;
using PeerCredentials.Client;

namespace EchoApi.Tests;

/// <summary>
/// The client side: before a byte is sent, the server's uid is read from the socket, so a squatter on the
/// service's abstract name (or path) is never asked anything. The squatter really runs as uid 65534.
/// </summary>
[Trait("Category", "Process")]
public sealed class ServerCheckTests
{
    // Answers every connection with "ok" and notes that it was asked.
    private const string Squatter = """
        import socket, sys
        name, marker = sys.argv[1], sys.argv[2]
        server = socket.socket(socket.AF_UNIX)
        server.bind("\0" + name[1:])
        server.listen()
        print("listening", flush=True)
        while True:
            client, _ = server.accept()
            try:
                if client.recv(65536):
                    with open(marker, "a") as f:
                        f.write("asked\n")
                    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass  # a client that checked and left
            client.close()
        """;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheClientRefusesAServerOfAnotherUidAndTalksToTheRightOne()
    {
        Privileges.RequireRoot("running the squatter as uid 65534");
        await using var squatter = await RunningSquatter.StartAsync();

        var refused = await Assert.ThrowsAsync<UntrustedServerException>(async () => await UnixSocketClient.ConnectAsync(squatter.Name, Privileges.EffectiveUserId, cancellationToken: Cancel));
        Assert.Contains($"runs as uid {Privileges.Nobody}", refused.Message, StringComparison.Ordinal);

        // The same server, expected: the connection is handed over, and it answers.
        using var trusted = await UnixSocketClient.ConnectAsync(squatter.Name, Privileges.Nobody, cancellationToken: Cancel);
        await trusted.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), Cancel);
        var buffer = new byte[256];
        Assert.StartsWith("HTTP/1.1 200 OK", System.Text.Encoding.ASCII.GetString(buffer, 0, await trusted.ReceiveAsync(buffer, Cancel)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthRefusesASquatterOnTheAbstractNameWithoutAskingIt()
    {
        Privileges.RequireRoot("running the squatter as uid 65534");
        await using var squatter = await RunningSquatter.StartAsync();

        await using var probe = EchoApiProcess.Start(["--health", "--socket", squatter.Name]);

        Assert.Equal(1, await probe.WaitForExitAsync());
        var line = Assert.Single(probe.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"echoapi: The server at {squatter.Name} runs as uid {Privileges.Nobody}", line, StringComparison.Ordinal);
        Assert.DoesNotContain(": ok", probe.Stdout, StringComparison.Ordinal);
        Assert.False(squatter.WasAsked, "The health probe sent its request to the squatter.");
    }

    /// <summary>The squatter on a fresh abstract name, running as uid 65534, listening when this returns.</summary>
    private sealed class RunningSquatter : IAsyncDisposable
    {
        private readonly TempSocketDirectory _directory = new();
        private readonly Process _process;

        private RunningSquatter()
        {
            // The marker's directory is the test's; the squatter must be able to write there.
            File.SetUnixFileMode(_directory.Path, (UnixFileMode)0b111_111_111);
            var start = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in (string[])[.. Command.AsUser(Privileges.Nobody)[1..], "/usr/bin/python3", "-c", Squatter, Name, Marker])
            {
                start.ArgumentList.Add(argument);
            }

            _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the squatter.");
        }

        public string Name { get; } = $"@echoapi-squat-{Guid.NewGuid():N}";

        public bool WasAsked => File.Exists(Marker);

        private string Marker => _directory.File("asked");

        public static async Task<RunningSquatter> StartAsync()
        {
            var squatter = new RunningSquatter();
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                Assert.Equal("listening", await squatter._process.StandardOutput.ReadLineAsync(timeout.Token));
                return squatter;
            }
            catch
            {
                await squatter.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(Cancel);
            _process.Dispose();
            _directory.Dispose();
        }
    }
}
