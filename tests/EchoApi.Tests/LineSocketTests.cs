using System.Net.Sockets;
using System.Text;
using EchoApi.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace EchoApi.Tests;

/// <summary>The classic line-echo protocol on the raw socket, with raw sockets and <c>nc -U</c>.</summary>
public sealed class LineSocketTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LineIsAnsweredWithThePrompt()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);

        await socket.SendAsync("this is a line\n"u8.ToArray(), Cancel);

        Assert.Equal("> this is a line\n", await ReadAsync(socket, "> this is a line\n".Length));
    }

    [Fact]
    public async Task TenThousandPipelinedLinesAreAnsweredInOrder()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
        var lines = Enumerable.Range(0, 10_000).Select(i => $"line number {i}").ToArray();
        var expected = string.Concat(lines.Select(l => $"> {l}\n"));

        var reading = ReadAsync(socket, expected.Length);
        await socket.SendAsync(Encoding.ASCII.GetBytes(string.Concat(lines.Select(l => l + "\n"))), Cancel);

        Assert.Equal(expected, await reading);
    }

    [Fact]
    public async Task CrLfIsKeptAsSentAndALastLineWithoutNewlineIsAnsweredAtEof()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);

        await socket.SendAsync("windows line\r\nunix line\nno newline"u8.ToArray(), Cancel);
        socket.Shutdown(SocketShutdown.Send);

        Assert.Equal("> windows line\r\n> unix line\n> no newline\n", await ReadToEndAsync(socket));
    }

    [Fact]
    public async Task LineOverTheLimitGetsLineTooLongAndTheConnectionCloses()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxLineBytes"] = "1024" });
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
        var atLimit = new string('a', 1024);

        await socket.SendAsync(Encoding.ASCII.GetBytes(atLimit + "\n"), Cancel);
        Assert.Equal($"> {atLimit}\n", await ReadAsync(socket, atLimit.Length + 3));

        await socket.SendAsync(Encoding.ASCII.GetBytes(new string('b', 1025)), Cancel); // no newline needed to be too long
        Assert.Equal("Line too long\n", await ReadToEndAsync(socket));
    }

    [Fact]
    public async Task EndlessLineWithoutNewlineIsCutOffAtTheLimit()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
        var chunk = new byte[16 * 1024];
        Array.Fill(chunk, (byte)'x');

        var sent = 0;
        try
        {
            while (sent < 64 * 1024 * 1024 && socket.Poll(0, SelectMode.SelectRead) == false)
            {
                sent += await socket.SendAsync(chunk, Cancel);
            }
        }
        catch (SocketException)
        {
            // The server closed on us mid-send: expected.
        }

        Assert.Equal("Line too long\n", await ReadToEndAsync(socket));
        Assert.True(sent < 8 * 1024 * 1024, $"The server read {sent} bytes of one line before refusing it.");
    }

    [Fact]
    public async Task PeerThatStopsReadingIsHeldBackNotBuffered()
    {
        using var server = EchoApiFactory.Start();
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("0123456789abcdef0123456789abcde\n", 2048))); // 64 KiB of lines

        // Never read: once the answers fill the buffers, the server must stop taking input.
        long sent = 0;
        while (sent < 256L * 1024 * 1024)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
            stall.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                sent += await socket.SendAsync(chunk, stall.Token);
            }
            catch (OperationCanceledException) when (!Cancel.IsCancellationRequested)
            {
                break;
            }
        }

        Assert.True(sent < 32L * 1024 * 1024, $"The server took {sent} bytes from a peer that reads nothing.");

        // Nothing is lost: reading now brings the answers, in order.
        var expected = "> 0123456789abcdef0123456789abcde\n";
        Assert.Equal(string.Concat(Enumerable.Repeat(expected, 1000)), await ReadAsync(socket, expected.Length * 1000));
    }

    [Fact]
    public async Task PeerThatStopsReadingIsCutOffAfterTheIdleTimeout()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:IdleTimeout"] = "00:00:01" });
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
        var line = "0123456789abcdef0123456789abcde\n";
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(line, 2048)));

        // Send without reading until the server stops taking input, then keep not reading past the timeout.
        long sent = 0;
        while (true)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
            stall.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                sent += await socket.SendAsync(chunk, stall.Token);
            }
            catch (OperationCanceledException) when (!Cancel.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset)
            {
                break; // cut off already, while we were still filling the buffers
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5), Cancel);

        // What was answered before the cut is there, in order; then the connection ends, with no more
        // answers (reading now would have let a server that was still waiting go on) and no goodbye.
        var received = await ReadUntilEndOrResetAsync(socket);
        var answer = "> " + line;
        Assert.True(received.Length < sent / line.Length * answer.Length, $"The server answered all {sent} bytes: it never cut the peer off.");
        Assert.Equal(string.Concat(Enumerable.Repeat(answer, received.Length / answer.Length)), received[..(received.Length / answer.Length * answer.Length)]);
        Assert.DoesNotContain("Idle timeout", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdlePeerIsToldAndClosed()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:IdleTimeout"] = "00:00:01" });
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);

        Assert.Equal("Idle timeout\n", await ReadToEndAsync(socket));
    }

    [Fact]
    public async Task ForeignUidReadsUnauthorizedAccessThenEof()
    {
        Privileges.RequireRoot("connecting as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll();

        var result = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "nc", "-U", server.LineSocketPath], stdin: "let me in\n"u8.ToArray());

        Assert.Equal("Unauthorized access\n", result.StdoutText);
        // The gate refused it at connect and logged it, once, with who and why.
        var log = Assert.Single(server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("closed at connect", StringComparison.Ordinal));
        Assert.Matches($@"from uid 65534 gid 65534 pid [1-9]\d* \(/usr/bin/nc[^)]*\) closed at connect: uid 65534 is not the owner of this socket \(uid {Privileges.EffectiveUserId}\)$", log.Message);
    }

    [Fact]
    public async Task CallerIsRefusedWhenTheOwnerIsAnotherUid()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:Owner"] = "12345" });
        using var socket = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);

        try
        {
            await socket.SendAsync("hello\n"u8.ToArray(), Cancel);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset)
        {
            // The server refuses at connect and reads what arrives for a second only: a client held up longer
            // than that (a loaded machine) finds the connection closed. The answer is waiting all the same.
        }

        Assert.Equal("Unauthorized access\n", await ReadToEndAsync(socket));
    }

    [Fact]
    public async Task LineConnectionOverMaxConnectionsIsClosedWithoutAWord()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxConnections"] = "1" });
        using var first = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
        await first.SendAsync("first\n"u8.ToArray(), Cancel);
        Assert.Equal("> first\n", await ReadAsync(first, "> first\n".Length)); // counted, and being served

        using var second = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);

        Assert.Equal(string.Empty, await ReadToEndAsync(second));
        await first.SendAsync("still here\n"u8.ToArray(), Cancel);
        Assert.Equal("> still here\n", await ReadAsync(first, "> still here\n".Length));
    }

    [Fact]
    public async Task UidOverItsConnectionLimitReadsUnauthorizedAccess()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:MaxConnectionsPerUser"] = "1" });
        using var first = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
        await first.SendAsync("first\n"u8.ToArray(), Cancel);
        Assert.Equal("> first\n", await ReadAsync(first, "> first\n".Length));

        using var second = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);

        Assert.Equal("Unauthorized access\n", await ReadToEndAsync(second));
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("already holds 1 connections", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NcIsARealClient()
    {
        using var server = EchoApiFactory.Start();

        var result = await Command.RunAsync(["nc", "-N", "-U", server.LineSocketPath], stdin: "this is a line\nand another\n"u8.ToArray());

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("> this is a line\n> and another\n", result.StdoutText);
    }

    [Fact]
    public async Task EmptyLineSocketPathTurnsTheLineSocketOff()
    {
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:LineSocketPath"] = "" });

        Assert.False(File.Exists(server.Directory.File("line.sock")));
        using var client = server.CreateUnixClient();
        Assert.Equal("ok", await client.GetStringAsync("/healthz", Cancel));
    }

    private static async Task<string> ReadAsync(Socket socket, int length) => Encoding.UTF8.GetString(await SocketReads.ReadExactlyAsync(socket, length, Cancel));

    private static async Task<string> ReadUntilEndOrResetAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(UnixHttp.Timeout);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed with our unread lines still in its queue: the kernel says so with a reset.
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static async Task<string> ReadToEndAsync(Socket socket) => Encoding.UTF8.GetString(await SocketReads.ReadToEndAsync(socket, Cancel));
}
