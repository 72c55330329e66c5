using System.Text;
using System.Text.Json;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// <c>EchoApi:Allow</c>: rules that let peers other than the owner in, proven with real uids and groups
/// (setpriv), against the service as its own process (the AOT binary too).
/// </summary>
[Trait("Category", "Process")]
public sealed class AllowRuleTests : IDisposable
{
    private const uint Daemon = 1; // "daemon" in every Debian passwd and group file
    private const uint AllowedByUid = 4001;
    private const uint NotAllowed = 4002;
    private const uint SupplementaryMember = 4003;

    private readonly TempSocketDirectory _directory = new();

    private string SocketPath => _directory.File("echo.sock");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task AUserAllowedByNameAndOneAllowedByUidGetInAndOthersGet403NamingTheRules()
    {
        Privileges.RequireRoot("connecting as uids 1, 4001 and 4002");
        await using var server = await StartAsync("--EchoApi:Allow:0=user:daemon", $"--EchoApi:Allow:1=uid:{AllowedByUid}");

        var byName = await WhoAmIAsync(Command.AsUser(Daemon));
        Assert.Equal(Daemon, byName.GetProperty("uid").GetUInt32());
        Assert.Equal("user:daemon", byName.GetProperty("rule").GetString());
        Assert.False(byName.GetProperty("isOwner").GetBoolean());

        var byUid = await WhoAmIAsync(Command.AsUser(AllowedByUid));
        Assert.Equal("uid:4001", byUid.GetProperty("rule").GetString());

        var (status, body, _) = await Command.CurlAsync(SocketPath, "/echo", Command.AsUser(NotAllowed), ["--data-binary", "hi"]);
        Assert.Equal(403, status);
        var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString();
        Assert.Contains("no rule admits uid 4002", detail, StringComparison.Ordinal);
        Assert.Contains("[owner]", detail, StringComparison.Ordinal);
        Assert.Contains("[user:daemon]", detail, StringComparison.Ordinal);
        Assert.Contains("[uid:4001]", detail, StringComparison.Ordinal);

        const string Rules = "Besides the owner (uid 0), these rules admit peers, tried in order: user:daemon; uid:4001";
        Assert.Contains(Rules, await server.WaitForOutputAsync(Rules), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGroupRuleCountsTheGroupsTheProcessHoldsNotThoseTheUserDatabaseLists()
    {
        Privileges.RequireRoot("connecting with and without a supplementary group");
        await using var server = await StartAsync("--EchoApi:Allow:0=group:daemon");

        // Not the primary group, not in the group database: held only as a supplementary group.
        var member = await WhoAmIAsync(["setpriv", $"--reuid={SupplementaryMember}", $"--regid={SupplementaryMember}", $"--groups={Daemon}", "--"]);
        Assert.Equal("group:daemon", member.GetProperty("rule").GetString());

        // User daemon, whose passwd entry gives it the group daemon, in a process that dropped it.
        var (status, body, _) = await Command.CurlAsync(SocketPath, "/whoami", ["setpriv", $"--reuid={Daemon}", $"--regid={NotAllowed}", "--clear-groups", "--"]);
        Assert.Equal(403, status);
        Assert.Contains("[group:daemon]", JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARuleOfTwoSelectorsNeedsBoth()
    {
        Privileges.RequireRoot("connecting as uids with and without a group");
        await using var server = await StartAsync("--EchoApi:Allow:0:0=group:daemon", $"--EchoApi:Allow:0:1=uid:{AllowedByUid}");

        var both = await WhoAmIAsync(["setpriv", $"--reuid={AllowedByUid}", $"--regid={AllowedByUid}", $"--groups={Daemon}", "--"]);
        Assert.Equal("group:daemon and uid:4001", both.GetProperty("rule").GetString());

        var (uidOnly, _, _) = await Command.CurlAsync(SocketPath, "/whoami", Command.AsUser(AllowedByUid));
        var (groupOnly, _, _) = await Command.CurlAsync(SocketPath, "/whoami", ["setpriv", $"--reuid={NotAllowed}", $"--regid={NotAllowed}", $"--groups={Daemon}", "--"]);
        Assert.Equal(403, uidOnly);
        Assert.Equal(403, groupOnly);
    }

    [Fact]
    public async Task TheLineSocketAndRefuseAtConnectApplyTheSameRules()
    {
        Privileges.RequireRoot("connecting as uids 4001 and 4002");
        var lineSocket = _directory.File("line.sock");
        await using var server = await StartAsync($"--EchoApi:Allow:0=uid:{AllowedByUid}", $"--EchoApi:LineSocketPath={lineSocket}", "--EchoApi:RefuseAtConnect=true");

        var allowed = await Command.RunAsync([.. Command.AsUser(AllowedByUid), "/usr/bin/python3", "-c", LineClient, lineSocket], Encoding.ASCII.GetBytes("hello\n"));
        var refused = await Command.RunAsync([.. Command.AsUser(NotAllowed), "/usr/bin/python3", "-c", LineClient, lineSocket], Encoding.ASCII.GetBytes("hello\n"));
        Assert.Equal("> hello\n", allowed.StdoutText);
        Assert.Equal("Unauthorized access\n", refused.StdoutText);

        Assert.Equal("uid:4001", (await WhoAmIAsync(Command.AsUser(AllowedByUid))).GetProperty("rule").GetString());
        var stranger = await Command.RunAsync([.. Command.AsUser(NotAllowed), "curl", "-s", "--unix-socket", SocketPath, "http://localhost/whoami"]);
        // Closed right after accept(), before any HTTP answer: an empty reply, a reset, or (when the close beats
        // curl's own connect check) a connection that did not come up.
        Assert.True(stranger.ExitCode is 7 or 52 or 56, $"curl should get no reply, got exit {stranger.ExitCode}: {stranger.Stderr}");
        Assert.Empty(stranger.Stdout);
    }

    [Fact]
    public async Task AnExecutableSelectorNarrowsAUserRuleToOneProgram()
    {
        Privileges.RequireRoot("connecting as uid 4001 with curl and with python3");
        await using var server = await StartAsync($"--EchoApi:Allow:0:0=uid:{AllowedByUid}", "--EchoApi:Allow:0:1=path:/usr/bin/curl");

        var curl = await WhoAmIAsync(Command.AsUser(AllowedByUid));
        Assert.Equal("uid:4001 and path:/usr/bin/curl", curl.GetProperty("rule").GetString());
        Assert.Equal("/usr/bin/curl", curl.GetProperty("executable").GetString());

        // The same uid, another program: refused, and the answer names the program the kernel saw.
        var python = await Command.RunAsync([.. Command.AsUser(AllowedByUid), "/usr/bin/python3", "-c", HttpGet, SocketPath, "/whoami"]);
        Assert.StartsWith("403 ", python.StdoutText, StringComparison.Ordinal);
        Assert.Contains("is not /usr/bin/curl", python.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASymbolicLinkInAPathSelectorStopsTheStartNamingTheRealFile()
    {
        var real = new FileInfo("/usr/bin/python3").ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        Assert.SkipWhen(real is null, "/usr/bin/python3 is not a symbolic link on this machine.");
        await using var server = EchoApiProcess.Start(["--socket", SocketPath, "--EchoApi:Allow:0=path:/usr/bin/python3"]);

        Assert.Equal(1, await server.WaitForExitAsync());
        Assert.Contains("EchoApi:Allow:0: Selector 'path:/usr/bin/python3'", server.Stderr, StringComparison.Ordinal);
        Assert.Contains(real, server.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSocketGroupIsARuleToo()
    {
        Privileges.RequireRoot("connecting as a member of the socket's group");
        await using var server = await StartAsync("--EchoApi:SocketGroup=daemon");

        var member = await WhoAmIAsync(["setpriv", $"--reuid={SupplementaryMember}", $"--regid={SupplementaryMember}", $"--groups={Daemon}", "--"]);
        Assert.Equal("EchoApi:SocketGroup (group:daemon)", member.GetProperty("rule").GetString());
        Assert.Equal("owner", (await WhoAmIAsync([])).GetProperty("rule").GetString());
    }

    [Theory]
    [InlineData("--EchoApi:Allow:0=usr:alice", "EchoApi:Allow:0: Selector 'usr:alice' has an unknown kind 'usr'; the kinds are uid, user, gid, group")]
    [InlineData("--EchoApi:Allow:0=user:no-such-user-here", "EchoApi:Allow:0: Selector 'user:no-such-user-here': there is no user 'no-such-user-here' in the user database")]
    [InlineData("--EchoApi:Allow:1:0=user:nobody", "EchoApi:Allow:1: Selector 'user:nobody': user 'nobody' is the overflow uid 65534")]
    [InlineData("--EchoApi:Allow=user:root", "EchoApi:Allow (from the command line) is a list of rules, each a selector or a list of selectors")]
    public async Task ARuleThatCannotBeUsedStopsTheStartNamingIt(string argument, string expected)
    {
        string[] arguments = argument.StartsWith("--EchoApi:Allow:1", StringComparison.Ordinal) ? ["--EchoApi:Allow:0=uid:1", argument] : [argument];
        await using var server = EchoApiProcess.Start(["--socket", SocketPath, .. arguments]);

        Assert.Equal(1, await server.WaitForExitAsync());
        Assert.StartsWith("echoapi: ", server.Stderr, StringComparison.Ordinal);
        Assert.Contains(expected, server.Stderr, StringComparison.Ordinal);
        Assert.Single(server.Stderr.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(SocketPath));
    }

    // One line in, the answer out: what nc -U does, as a system binary another uid may run.
    private const string LineClient = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(sys.argv[1])
        s.sendall(sys.stdin.buffer.read())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        sys.stdout.write(data.decode())
        """;

    // GET over a Unix socket from python3, printing the status line's code and reason, then the body.
    private const string HttpGet = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(sys.argv[1])
        s.sendall(("GET " + sys.argv[2] + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        sys.stdout.write(head.split(b"\r\n")[0].split(b" ", 1)[1].decode() + "\n" + body.decode(errors="replace"))
        """;

    private Task<EchoApiProcess> StartAsync(params string[] arguments)
        => EchoApiProcess.StartListeningAsync(SocketPath, ["--EchoApi:SocketMode=0666", .. arguments]);

    private async Task<JsonElement> WhoAmIAsync(string[] asUser)
    {
        var (status, body, _) = await Command.CurlAsync(SocketPath, "/whoami", asUser);
        Assert.True(status == 200, $"GET /whoami answered {status}: {Encoding.UTF8.GetString(body)}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
