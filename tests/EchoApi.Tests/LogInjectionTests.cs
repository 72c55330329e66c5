using System.Text;
using EchoApi.Tests.Infrastructure;
using PeerCredentials;

namespace EchoApi.Tests;

/// <summary>
/// A stranger chooses its request path and the name of its executable; neither may reach the log with
/// the control characters that would let it erase, overwrite, fake or reorder log lines on a terminal.
/// </summary>
public sealed class LogInjectionTests : IDisposable
{
    // ESC [2J clears a terminal, CR returns to the line's start, BEL, U+202E reverses what follows,
    // U+2066 opens an isolate, U+2028 is a line separator.
    private static readonly string[] Raw = ["\u001B", "\r", "\u0007", "\u202E", "\u2066", "\u2028"];

    private readonly TempSocketDirectory _bin = new(); // 0755: uid 65534 can run what is in it

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _bin.Dispose();

    [Fact]
    public async Task StrangersExecutableNameIsEscapedInTheHttpAndLineRefusals()
    {
        Privileges.RequireRoot("running a renamed curl and nc as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll();
        var curl = Renamed("/usr/bin/curl", "cu\u001B[2J\rrl\u202Eexe");
        var nc = Renamed("/usr/bin/nc.openbsd", "nc\u001B]0;owned\u0007\u2066\u2028x");

        var http = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30", "--unix-socket", server.SocketPath, "http://localhost/whoami"]);
        await Task.Delay(TimeSpan.FromSeconds(1.1), TestContext.Current.CancellationToken); // one refusal log a second per uid
        var line = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), nc, "-U", server.LineSocketPath], stdin: "hi\n"u8.ToArray());

        Assert.Equal("403", http.StdoutText);
        Assert.Equal("Unauthorized access\n", line.StdoutText);
        var logs = await WaitForAsync(server, "closed at connect");
        Assert.Contains(logs, m => m.StartsWith("Refused GET /whoami for uid 65534", StringComparison.Ordinal) && m.Contains(@"/cu\x1B[2J\x0Drl\u202Eexe)", StringComparison.Ordinal));
        Assert.Contains(logs, m => m.Contains("closed at connect", StringComparison.Ordinal) && m.Contains(@"/nc\x1B]0;owned\x07\u2066\u2028x)", StringComparison.Ordinal));
        AssertNoRawControlCharacters(logs);
    }

    [Fact]
    public async Task StrangersExecutableNameIsEscapedWhenRefusedAtConnect()
    {
        Privileges.RequireRoot("running a renamed curl as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?> { ["EchoApi:RefuseAtConnect"] = "true" });
        var curl = Renamed("/usr/bin/curl", "cu\u001B[2J\rrl\u202Eexe");

        var refused = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), curl, "-s", "-S", "--max-time", "30", "--unix-socket", server.SocketPath, "http://localhost/whoami"]);

        // No reply (52, 56); or 7 when the gate closed the connection before curl had checked that its
        // connect() went through: the log line below shows that it did, and that the gate closed it; or 55
        // (broken pipe) when the close came between that check and curl's send of the request.
        Assert.True(refused.ExitCode is 7 or 52 or 55 or 56, $"curl should get no reply, got exit {refused.ExitCode}: {refused.Stderr}");
        var logs = await WaitForAsync(server, "closed at connect");
        Assert.Contains(logs, m => m.Contains("closed at connect", StringComparison.Ordinal) && m.Contains(@"/cu\x1B[2J\x0Drl\u202Eexe)", StringComparison.Ordinal));
        AssertNoRawControlCharacters(logs);
    }

    [Fact]
    public async Task RequestPathWithControlBytesIsEscapedInTheLog()
    {
        using var server = EchoApiFactory.StartOpenToAll();
        const string Path = "/%1B[2J%0D%07%E2%80%AEgnp.exe%E2%81%A6%E2%80%A8";
        const string Escaped = @"/\x1B[2J\x0D\x07\u202Egnp.exe\u2066\u2028";

        // Refused by the request guard (no root needed): a rebound Host.
        var (rebound, _, _) = await Command.CurlAsync(server.SocketPath, Path, curlArguments: ["--globoff", "--path-as-is", "-H", "Host: attacker.example"]);
        Assert.Equal(421, rebound);
        Assert.Contains(await WaitForAsync(server, "with 421"), m => m.StartsWith($"Refused GET {Escaped} of uid", StringComparison.Ordinal));

        if (Privileges.IsRoot)
        {
            // Refused by the owner policy: a stranger.
            var (forbidden, _, _) = await Command.CurlAsync(server.SocketPath, Path, Command.AsUser(Privileges.Nobody), ["--globoff", "--path-as-is"]);
            Assert.Equal(403, forbidden);
            Assert.Contains(await WaitForAsync(server, "for uid 65534"), m => m.StartsWith($"Refused GET {Escaped} for uid 65534", StringComparison.Ordinal));
        }

        AssertNoRawControlCharacters([.. server.Logs.Entries.Select(e => e.Message)]);
    }

    [Theory]
    [InlineData("/usr/bin/curl", "/usr/bin/curl")]
    [InlineData("a\u001Bb\rc\nd\te\u0000f\u007Fg\u0085h\u009Bi", @"a\x1Bb\x0Dc\x0Ad\x09e\x00f\x7Fg\x85h\x9Bi")]
    [InlineData("\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee\u2066f\u2067g\u2068h\u2069i", @"\u202Aa\u202Bb\u202Cc\u202Dd\u202Ee\u2066f\u2067g\u2068h\u2069i")]
    [InlineData("line\u2028paragraph\u2029end", @"line\u2028paragraph\u2029end")]
    [InlineData("\u200E\u200F\u061C", @"\u200E\u200F\u061C")]
    [InlineData(@"C:\x1B is text", @"C:\\x1B is text")] // an escape in the log always stands for an escaped character
    [InlineData("héllo wörld ✓ 日本", "héllo wörld ✓ 日本")]
    [InlineData("", "")]
    public void EscapeWritesEveryControlAndBidiCharacterAsAnEscape(string text, string expected)
        => Assert.Equal(expected, LogText.Escape(text));

    private string Renamed(string program, string name)
    {
        var path = System.IO.Path.Combine(_bin.Path, name);
        File.Copy(program, path);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    private static async Task<IReadOnlyList<string>> WaitForAsync(EchoApiFactory server, string text)
        => [.. (await server.Logs.WaitForAsync(e => e.Message.Contains(text, StringComparison.Ordinal), Cancel)).Select(e => e.Message)];

    private static void AssertNoRawControlCharacters(IReadOnlyList<string> logs)
    {
        foreach (var message in logs)
        {
            Assert.False(Raw.Any(c => message.Contains(c, StringComparison.Ordinal)), $"A raw control character reached the log: {Encoding.UTF8.GetByteCount(message)} bytes: {LogText.Escape(message)}");
        }
    }
}
