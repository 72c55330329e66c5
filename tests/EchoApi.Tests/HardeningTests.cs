using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EchoApi.Tests.Infrastructure;
using PeerCredentials.Interop;

namespace EchoApi.Tests;

/// <summary>Abstract sockets, group access, refusal at connect, per-uid limits, graceful shutdown.</summary>
public sealed class HardeningTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AbstractSocketServesTheOwnerAndThePeerCredentialGateHolds()
    {
        var name = $"@echoapi-test-{Guid.NewGuid():N}";
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:SocketPath"] = name });
        using var client = UnixHttp.CreateClient(name);

        using var echo = await client.PostAsync("/echo", new StringContent("abstract"), Cancel);
        Assert.Equal(HttpStatusCode.OK, echo.StatusCode);
        Assert.Equal("abstract", await echo.Content.ReadAsStringAsync(Cancel));
        Assert.Empty(Directory.GetFileSystemEntries(server.Directory.Path)); // no file anywhere

        using var line = await UnixHttp.ConnectAsync(name + ".line", Cancel);
        await line.SendAsync("over the abstract line socket\n"u8.ToArray(), Cancel);
        var answer = new byte[64];
        Assert.StartsWith("> over the abstract line socket", Encoding.ASCII.GetString(answer, 0, await line.ReceiveAsync(answer, Cancel)), StringComparison.Ordinal);

        // No file permission protects an abstract socket: anyone can connect, so the policy must refuse.
        if (Privileges.IsRoot)
        {
            var result = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--abstract-unix-socket", name[1..], "-d", "x", "http://localhost/echo"]);
            Assert.Equal("403", result.StdoutText);
        }
    }

    [Fact]
    public async Task SocketGroupMembersReachTheSocketOthersDoNot()
    {
        Privileges.RequireRoot("connecting as uid 12345 with and without the socket's group");
        using var server = EchoApiFactory.Start(new Dictionary<string, string?>
        {
            ["EchoApi:Owner"] = "12345",
            ["EchoApi:SocketGroup"] = "4242",
            ["EchoApi:SocketMode"] = "0660",
        });

        var file = Libc.LStat(server.SocketPath)!.Value;
        Assert.Equal(4242u, file.Gid);
        Assert.Equal((UnixFileMode)0b110_110_000, file.Permissions);

        var (member, _, _) = await Command.CurlAsync(server.SocketPath, "/whoami", Command.AsUser(Privileges.Stranger, 4242));
        Assert.Equal(200, member);

        var outsider = await Command.RunAsync([.. Command.AsUser(Privileges.Stranger), "curl", "-s", "--unix-socket", server.SocketPath, "http://localhost/whoami"]);
        Assert.Equal(7, outsider.ExitCode); // couldn't connect: the file's permissions keep it out

        // The group that opens the file is allowed in too: by the groups the process holds, whoever it is.
        var (otherMember, body, _) = await Command.CurlAsync(server.SocketPath, "/whoami", Command.AsUser(Privileges.Nobody, 4242));
        Assert.Equal(200, otherMember);
        Assert.Contains("\"rule\":\"EchoApi:SocketGroup (gid:4242)\"", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownSocketGroupStopsTheStart()
    {
        using var directory = new TempSocketDirectory();
        await using var server = EchoApiProcess.Start(["--socket", directory.File("echo.sock")], new Dictionary<string, string> { ["EchoApi__SocketGroup"] = "no-such-group-here" });

        Assert.Equal(1, await server.WaitForExitAsync());
        Assert.Contains("EchoApi:SocketGroup 'no-such-group-here' is neither a gid nor a group", server.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefuseAtConnectClosesAStrangerWithoutAnHttpAnswer()
    {
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?>
        {
            ["EchoApi:RefuseAtConnect"] = "true",
            ["EchoApi:Owner"] = Privileges.IsRoot ? null : "12345",
        });

        if (Privileges.IsRoot)
        {
            // The owner (us) is unaffected; a foreign uid gets no HTTP answer at all.
            using var client = server.CreateUnixClient();
            Assert.Equal("ok", await client.GetStringAsync("/healthz", Cancel));
            var stranger = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "curl", "-s", "-S", "--unix-socket", server.SocketPath, "http://localhost/healthz"]);
            // The gate closes it right after accept(): curl sees an empty reply or a reset (52, 56), or, when
            // the close beats its own connect check, a connection that did not come up (7), or, when it comes
            // between that check and the request, a broken pipe on the send (55); never an answer.
            Assert.True(stranger.ExitCode is 7 or 52 or 55 or 56, $"curl should get no reply, got exit {stranger.ExitCode}: {stranger.Stderr}");
            Assert.Empty(stranger.Stdout);
        }
        else
        {
            using var socket = await UnixHttp.ConnectAsync(server.SocketPath, Cancel);
            await SendUnlessClosedAsync(socket, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray());
            Assert.Equal(0, await ReceiveOrResetAsync(socket));
        }

        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("closed at connect", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UidOverItsConnectionLimitIsClosedWhileAnotherUidStillConnects()
    {
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?> { ["EchoApi:MaxConnectionsPerUser"] = "3" });
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                // One at a time, each answered once, so the server has surely counted it.
                var socket = await UnixHttp.ConnectAsync(server.SocketPath, Cancel);
                held.Add(socket);
                await socket.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), Cancel);
                Assert.True(await ReceiveOrResetAsync(socket) > 0);
            }

            using var fourth = await UnixHttp.ConnectAsync(server.SocketPath, Cancel);
            await SendUnlessClosedAsync(fourth, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray()); // the gate may have closed it already
            Assert.Equal(0, await ReceiveOrResetAsync(fourth));
            Assert.Contains(server.Logs.Entries, e => e.Message.Contains("already holds 3 connections", StringComparison.Ordinal));

            if (Privileges.IsRoot)
            {
                var (status, body, _) = await Command.CurlAsync(server.SocketPath, "/healthz", Command.AsUser(Privileges.Nobody));
                Assert.Equal(200, status);
                Assert.Equal("ok", Encoding.ASCII.GetString(body));
            }

            held[0].Dispose();
            held.RemoveAt(0);

            // Once the server has noticed that close, the uid may connect again.
            string? answer = null;
            var waited = Stopwatch.StartNew();
            while (answer is null && waited.Elapsed < UnixHttp.Timeout)
            {
                await Task.Delay(100, Cancel);
                using var client = server.CreateUnixClient();
                try
                {
                    answer = await client.GetStringAsync("/healthz", Cancel);
                }
                catch (HttpRequestException)
                {
                    // still counted; try again
                }
            }

            Assert.Equal("ok", answer);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task ManyUidsTogetherCannotTakeTheOwnersRoom()
    {
        Privileges.RequireRoot("holding connections as uids 65534 and 12345");

        // MaxConnections 8: the strangers together may hold 6 (three quarters), whatever each may hold alone.
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?> { ["EchoApi:MaxConnections"] = "8" });
        // Holds what it gets of five connections, writes how many were answered, and keeps them open until
        // the test says it is done.
        const string Hold = """
            import os, socket, sys, time
            path, done, release = sys.argv[1], sys.argv[2], sys.argv[3]
            held, answered = [], 0
            for _ in range(5):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(path)
                try:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    answer = b""
                    while b"\r\n" not in answer:
                        more = s.recv(4096)
                        if not more:
                            break
                        answer += more
                    if answer.startswith(b"HTTP/1.1 200"):
                        answered += 1
                        held.append(s)
                except OSError:
                    pass  # closed at connect, before the request (EPIPE) or under it (ECONNRESET)
            with open(done + ".part", "w") as f:
                f.write(str(answered))
            os.rename(done + ".part", done)
            for _ in range(600):
                if os.path.exists(release):
                    break
                time.sleep(0.05)
            """;
        File.SetUnixFileMode(server.Directory.Path, (UnixFileMode)0b111_111_111); // where the holders write
        var release = server.Directory.File("release");
        var holders = new List<Task<Command.Result>>();
        async Task<string> HoldAsync(uint uid, string done)
        {
            var holder = Command.RunAsync([.. Command.AsUser(uid), "/usr/bin/python3", "-c", Hold, server.SocketPath, done, release], timeout: TimeSpan.FromSeconds(60));
            holders.Add(holder);
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(done))
            {
                if (holder.IsCompleted)
                {
                    var result = await holder;
                    Assert.Fail($"The holder as uid {uid} ended ({result.ExitCode}) before it wrote how many it holds: {result.Stderr}");
                }

                Assert.True(deadline.Elapsed < UnixHttp.Timeout, $"The holder as uid {uid} did not say how many it holds in time.");
                await Task.Delay(50, Cancel);
            }

            return done;
        }

        try
        {
            var nobody = await HoldAsync(Privileges.Nobody, server.Directory.File("nobody"));
            var stranger = await HoldAsync(Privileges.Stranger, server.Directory.File("stranger"));

            // The strangers hold all they may; the owner still gets in, and is served.
            using (var client = server.CreateUnixClient())
            {
                using var echo = await client.PostAsync("/echo", new StringContent("still mine"), Cancel);
                Assert.Equal("still mine", await echo.Content.ReadAsStringAsync(Cancel));
            }

            Assert.Equal("5", await File.ReadAllTextAsync(nobody, Cancel));
            Assert.Equal("1", await File.ReadAllTextAsync(stranger, Cancel));
        }
        finally
        {
            await File.WriteAllTextAsync(release, "", Cancel);
            await Task.WhenAll(holders);
        }

        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("closed at connect: the peers other than the owner already hold 6 connections together", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UidOverItsConnectRateIsClosedAtAcceptWhileTheOwnerStillConnects()
    {
        // The owner is somebody else, so this process's uid is one of "the others" the rate applies to.
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?>
        {
            ["EchoApi:MaxConnectsPerSecondPerUser"] = "5",
            ["EchoApi:Owner"] = Privileges.Stranger.ToString(CultureInfo.InvariantCulture),
        });

        // A burst of 40 connects: the bucket holds 10, so most are closed before any HTTP is spoken.
        var started = Stopwatch.GetTimestamp();
        var answered = await RawHttp.CountAnsweredConnectsAsync(server.SocketPath, 40, Cancel);
        var refilled = (int)Math.Ceiling(5 * Stopwatch.GetElapsedTime(started).TotalSeconds);

        Assert.InRange(answered, 10, Math.Min(39, 10 + refilled)); // the bucket's 10, plus what 5 per second refilled meanwhile
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("at accept: over 5 new connections per second", StringComparison.Ordinal));

        if (Privileges.IsRoot)
        {
            // The owner, on the same socket right after the burst: never limited by the connect rate.
            var (status, _, _) = await Command.CurlAsync(server.SocketPath, "/healthz", Command.AsUser(Privileges.Stranger));
            Assert.Equal(200, status);
        }
    }

    [Fact]
    public async Task AfterEvery32RefusalsTheListenerPausesAccepting()
    {
        // This process's uid is one of "the others", and its bucket never holds a whole token: every connect is
        // refused at accept, and after the 32nd the listener rests for EchoApi:FloodPause before the next accept.
        // The pause is the longest the setting allows, and "slow" is half of it: the client's own delays (waking
        // up after one close, opening the next connection) shorten the wait it sees, and a loaded machine can
        // stall any connect, so the two sides of the line each get half a second.
        var pause = TimeSpan.FromSeconds(1);
        var slowAfter = pause / 2;
        using var paused = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?>
        {
            ["EchoApi:MaxConnectsPerSecondPerUser"] = "0.01",
            ["EchoApi:FloodPause"] = pause.ToString(),
            ["EchoApi:Owner"] = Privileges.Stranger.ToString(CultureInfo.InvariantCulture),
        });
        using var unpaused = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?>
        {
            ["EchoApi:MaxConnectsPerSecondPerUser"] = "0.01",
            ["EchoApi:FloodPause"] = "0",
            ["EchoApi:Owner"] = Privileges.Stranger.ToString(CultureInfo.InvariantCulture),
        });

        var waits = await TimeToBeClosedAsync(paused.SocketPath, 40);
        var unpausedWaits = await TimeToBeClosedAsync(unpaused.SocketPath, 40);

        // The 33rd connect waited out the pause; the others were closed at once.
        var slow = Enumerable.Range(0, waits.Length).Where(i => waits[i] >= slowAfter).ToArray();
        Assert.True(slow is [32], $"Connects that waited {slowAfter.TotalMilliseconds} ms or more: [{string.Join(", ", slow)}]; all waits (ms): {string.Join(" ", waits.Select(w => (int)w.TotalMilliseconds))}");
        Assert.InRange(waits[32], slowAfter, pause + TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(unpausedWaits, w => w >= slowAfter);
    }

    [Fact]
    public async Task OwnerSocketIsTheOwnersAloneWhateverTheSharedSocketAllows()
    {
        using var sockets = new TempSocketDirectory();
        var ownerSocket = sockets.File("owner.sock");
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?> { ["EchoApi:OwnerSocketPath"] = ownerSocket });

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ownerSocket));
        Assert.Equal((UnixFileMode)0b110_110_110, File.GetUnixFileMode(server.SocketPath));
        using var client = UnixHttp.CreateClient(ownerSocket);
        using var echo = await client.PostAsync("/echo", new StringContent("mine alone"), Cancel);
        Assert.Equal(HttpStatusCode.OK, echo.StatusCode);
        Assert.Equal("mine alone", await echo.Content.ReadAsStringAsync(Cancel));

        Privileges.RequireRoot("connecting as uid 65534");
        var nobody = Command.AsUser(Privileges.Nobody);
        // The shared socket lets uid 65534 connect, to be told no; the owner's socket does not let it connect at all.
        var (status, _, _) = await Command.CurlAsync(server.SocketPath, "/echo", nobody, ["--data-binary", "x"]);
        Assert.Equal(403, status);
        var refused = await Command.RunAsync([.. nobody, "curl", "--silent", "--show-error", "--max-time", "10", "--unix-socket", ownerSocket, "--data-binary", "x", "http://localhost/echo"]);
        Assert.Equal(7, refused.ExitCode); // curl: couldn't connect (EACCES from the socket file's mode)
        Assert.Empty(refused.Stdout);
    }

    /// <summary>Opens <paramref name="count"/> connections one after another; for each, how long until the server answered or closed it.</summary>
    private static async Task<TimeSpan[]> TimeToBeClosedAsync(string socketPath, int count)
    {
        var waits = new TimeSpan[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var socket = await UnixHttp.ConnectAsync(socketPath, Cancel);
            await SendUnlessClosedAsync(socket, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray());
            await ReceiveOrResetAsync(socket);
            waits[i] = Stopwatch.GetElapsedTime(started);
        }

        return waits;
    }

    [Fact]
    public async Task TheOwnerIsNotLimitedByTheConnectRate()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxConnectsPerSecondPerUser"] = "5" });

        Assert.Equal(40, await RawHttp.CountAnsweredConnectsAsync(server.SocketPath, 40, Cancel));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Message.Contains("at accept", StringComparison.Ordinal));
    }

    /// <summary>
    /// Sends a request on a connection the server may have closed at connect already: the send then fails
    /// with EPIPE (or ECONNRESET), how soon depending only on who was faster; reading tells what happened.
    /// </summary>
    private static async Task SendUnlessClosedAsync(Socket socket, byte[] request)
    {
        try
        {
            await socket.SendAsync(request, Cancel);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset)
        {
            // closed at connect before the request went out
        }
    }

    /// <summary>Reads until EOF; a connection closed under unread input may also end in a reset, which counts as closed.</summary>
    private static async Task<int> ReceiveOrResetAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(UnixHttp.Timeout);
        try
        {
            return await socket.ReceiveAsync(new byte[256], timeout.Token);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return 0;
        }
    }
}
