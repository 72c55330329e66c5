using System.Diagnostics;
using System.Globalization;
using System.Text;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>systemd socket activation, through <c>systemd-socket-activate</c> (no systemd needed).</summary>
[Trait("Category", "Process")]
public sealed class SocketActivationTests
{
    [Fact]
    public async Task InheritedSocketsAreServedGuardedAndLeftInPlace()
    {
        using var directory = new TempSocketDirectory();
        var http = directory.File("echo.sock");
        var line = directory.File("line.sock");
        await using var server = await ActivateAsync([], (http, "http"), (line, "line"));

        // systemd (here its stand-in) owns the files and their modes; open them up so another uid can try.
        File.SetUnixFileMode(http, (UnixFileMode)0b110_110_110);
        File.SetUnixFileMode(line, (UnixFileMode)0b110_110_110);

        var (status, body, _) = await Command.CurlAsync(http, "/echo", curlArguments: ["--data-binary", "activated"]);
        Assert.Equal(200, status);
        Assert.Equal("activated", Encoding.UTF8.GetString(body));
        var lines = await Command.RunAsync(["nc", "-N", "-U", line], stdin: "over the inherited line socket\n"u8.ToArray());
        Assert.Equal("> over the inherited line socket\n", lines.StdoutText);

        if (Privileges.IsRoot)
        {
            var (foreign, _, _) = await Command.CurlAsync(http, "/whoami", Command.AsUser(Privileges.Nobody));
            Assert.Equal(403, foreign);
            var refused = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "nc", "-U", line], stdin: "hi\n"u8.ToArray());
            Assert.Equal("Unauthorized access\n", refused.StdoutText);
        }

        Assert.Contains("handed over by systemd (http, line)", await server.WaitForOutputAsync("handed over by systemd"), StringComparison.Ordinal);
        await server.TerminateAsync();
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.True(File.Exists(http) && File.Exists(line), "The service must not delete sockets it did not create.");
        Assert.Equal((UnixFileMode)0b110_110_110, File.GetUnixFileMode(http));
    }

    [Fact]
    public async Task InheritedSocketsCloseAUidOverItsConnectRateAtAccept()
    {
        using var directory = new TempSocketDirectory();
        var http = directory.File("echo.sock");
        var owner = Privileges.Stranger.ToString(CultureInfo.InvariantCulture); // so that this process's uid is limited
        await using var server = await ActivateAsync(["--EchoApi:MaxConnectsPerSecondPerUser=5", $"--EchoApi:Owner={owner}"], (http, "http"));

        // The first connection starts the service (systemd-socket-activate waits for one); then a burst.
        Assert.Equal(1, await RawHttp.CountAnsweredConnectsAsync(http, 1, TestContext.Current.CancellationToken));
        Assert.Contains("handed over by systemd", await server.WaitForOutputAsync("handed over by systemd"), StringComparison.Ordinal);
        var started = Stopwatch.GetTimestamp();
        var answered = await RawHttp.CountAnsweredConnectsAsync(http, 40, TestContext.Current.CancellationToken);
        var refilled = (int)Math.Ceiling(5 * Stopwatch.GetElapsedTime(started).TotalSeconds);

        Assert.InRange(answered, 9, Math.Min(39, 9 + refilled)); // what the first connect left of the bucket's 10, plus the refill
        Assert.Contains("at accept: over 5 new connections per second", await server.WaitForOutputAsync("at accept: over 5"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OwnerSocketPathIsNotServedUnderSocketActivationAndTheLogSaysSo()
    {
        using var directory = new TempSocketDirectory();
        var http = directory.File("echo.sock");
        var ownerSocket = directory.File("owner.sock");
        await using var server = await ActivateAsync([$"--EchoApi:OwnerSocketPath={ownerSocket}"], (http, "http"));

        Assert.Equal(1, await RawHttp.CountAnsweredConnectsAsync(http, 1, TestContext.Current.CancellationToken));
        Assert.Contains($"EchoApi:OwnerSocketPath ({ownerSocket}) is not served", await server.WaitForOutputAsync("OwnerSocketPath"), StringComparison.Ordinal);
        Assert.False(File.Exists(ownerSocket), "Under socket activation the service makes no socket of its own.");
    }

    /// <summary>
    /// Starts the service under systemd-socket-activate, which makes the sockets (path, name) and hands them
    /// over on the first connection; returns once every socket file exists.
    /// </summary>
    private static async Task<EchoApiProcess> ActivateAsync(string[] arguments, params (string Path, string Name)[] sockets)
    {
        string[] launcher = ["systemd-socket-activate", .. sockets.SelectMany(s => new[] { "-l", s.Path }), $"--fdname={string.Join(':', sockets.Select(s => s.Name))}"];
        var server = EchoApiProcess.Start(arguments, launcher: launcher);
        try
        {
            for (var i = 0; i < 300 && !sockets.All(s => File.Exists(s.Path)); i++)
            {
                Assert.False(server.HasExited, server.Stderr + server.Stdout);
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }
}
