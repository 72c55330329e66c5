using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EchoApi.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace EchoApi.Tests;

/// <summary>A chunk size that overflows, and what peers and the log see when the service is stopped with SIGTERM.</summary>
public sealed class BadInputAndShutdownTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("fffffffffffffffff")]
    [InlineData("80000000")]
    public async Task ChunkSizeThatOverflowsGets400WithProblemDetailsAndNoErrorIsLogged(string chunkSize)
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectAsync(server.SocketPath, Cancel);

        await socket.SendAsync(Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{chunkSize}\r\nabc\r\n0\r\n\r\n"), Cancel);
        var response = RawHttp.Parse(await ReadToEndAsync(socket)); // the end: the connection's framing is lost, so it closes

        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json", response.Headers["Content-Type"]);
        using var problem = JsonDocument.Parse(response.Body);
        Assert.Equal(400, problem.RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task OnSigtermLineSocketPeersReadServerShuttingDownBeforeEof()
    {
        using var directory = new TempSocketDirectory();
        await using var server = await EchoApiProcess.StartListeningAsync(directory.File("echo.sock"));
        using var first = await UnixHttp.ConnectAsync(directory.File("line.sock"), Cancel);
        using var second = await UnixHttp.ConnectAsync(directory.File("line.sock"), Cancel);
        foreach (var peer in (Socket[])[first, second])
        {
            await peer.SendAsync("are you there\n"u8.ToArray(), Cancel);
            Assert.Equal("> are you there\n", Encoding.ASCII.GetString(await ReadAsync(peer, "> are you there\n".Length)));
        }

        await server.TerminateAsync();

        Assert.Equal("Server shutting down\n", Encoding.ASCII.GetString(await ReadToEndAsync(first)));
        Assert.Equal("Server shutting down\n", Encoding.ASCII.GetString(await ReadToEndAsync(second)));
        Assert.Equal(0, await server.WaitForExitAsync());
    }

    [Fact]
    public async Task EchoStillRunningAtShutdownTimeoutIsLoggedOnceAsCutOff()
    {
        using var directory = new TempSocketDirectory();
        await using var server = await EchoApiProcess.StartListeningAsync(directory.File("echo.sock"), environment: new Dictionary<string, string> { ["EchoApi__ShutdownTimeout"] = "00:00:01" });
        using var socket = await UnixHttp.ConnectAsync(directory.File("echo.sock"), Cancel);

        // A chunked echo under way: its first chunk is back, the rest of the body never comes.
        await socket.SendAsync("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"u8.ToArray(), Cancel);
        var answered = new List<byte>();
        while (!Encoding.ASCII.GetString([.. answered]).Contains("hello", StringComparison.Ordinal))
        {
            answered.AddRange(await ReadAsync(socket, 1));
        }

        await server.TerminateAsync();

        Assert.Equal(0, await server.WaitForExitAsync());
        var log = server.Stdout + server.Stderr;
        Assert.Single(Regex.Matches(log, "cut off at shutdown: it was still running when HostOptions.ShutdownTimeout \\(00:00:01\\) ran out"));
        Assert.DoesNotContain("Exception", log, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", log, StringComparison.Ordinal);
    }

    private static Task<byte[]> ReadAsync(Socket socket, int length) => SocketReads.ReadExactlyAsync(socket, length, Cancel);

    private static Task<byte[]> ReadToEndAsync(Socket socket) => SocketReads.ReadToEndAsync(socket, Cancel);
}
