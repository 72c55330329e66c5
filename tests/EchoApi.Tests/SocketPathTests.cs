using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using EchoApi.Tests.Infrastructure;
using PeerCredentials.Interop;

namespace EchoApi.Tests;

/// <summary>
/// The socket's whole path: every directory above it, the lock beside it, abstract names, the
/// descriptor budget, and no file written outside the socket directory. Each attack is carried out.
/// </summary>
[Trait("Category", "Process")]
public sealed class SocketPathTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = Mode0600 | UnixFileMode.UserExecute;

    // A stranger's socket server: answers every request with "ok", as /healthz would, and notes each
    // connection in a file beside it.
    private const string ImpostorScript = """
        import os, socket, sys
        path, marker = sys.argv[1], sys.argv[2]
        server = socket.socket(socket.AF_UNIX)
        server.bind(path)
        os.chmod(path, 0o666)
        server.listen()
        print("listening", flush=True)
        while True:
            client, _ = server.accept()
            with open(marker, "a") as f:
                f.write("connected\n")
            client.recv(65536)
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            client.close()
        """;

    private readonly TempSocketDirectory _directory = new();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task AncestorOwnedByAnotherUidRefusesTheStartSoItsOwnerCannotSwapTheSocketDirectory()
    {
        Privileges.RequireRoot("giving a directory above the socket to uid 65534 and swapping the socket directory as that uid");

        // A user's directory (think $XDG_RUNTIME_DIR kept by sudo -E, or --socket under a home), and in
        // it a socket directory of root's, left by an earlier run.
        var home = Directory.CreateDirectory(_directory.File("home")).FullName;
        await ChownAsync(home, Privileges.Nobody);
        var socketDirectory = Directory.CreateDirectory(Path.Combine(home, "echoapi")).FullName;
        File.SetUnixFileMode(socketDirectory, Mode0700);
        var socketPath = Path.Combine(socketDirectory, "echo.sock");

        var message = await FailedStartAsync(["--socket", socketPath]);

        Assert.Contains($"Directory '{home}' on the socket's path is owned by uid 65534", message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(socketDirectory)); // no socket, no lock: nothing to take over

        // The user does what the refusal is about: moves the directory aside, makes its own, listens in it.
        var swap = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "/bin/sh", "-c", "cd \"$1\" && mv echoapi echoapi.old && mkdir echoapi", "sh", home]);
        Assert.Equal(0, swap.ExitCode);
        var marker = Path.Combine(home, "connections");
        using var impostor = StartImpostor(socketPath, marker);
        try
        {
            await WaitForLineAsync(impostor, "listening");

            // --health does not take the impostor's "ok" for the service's, and does not even connect to it.
            await using var probe = EchoApiProcess.Start([HealthProbe, "--socket", socketPath]);
            Assert.Equal(1, await probe.WaitForExitAsync());
            Assert.Contains($"{socketPath} is not trusted", probe.Stderr, StringComparison.Ordinal);
            Assert.Contains($"'{home}'", probe.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(": ok", probe.Stdout, StringComparison.Ordinal);
            Assert.False(File.Exists(marker), "The health probe connected to the impostor's socket.");

            // The impostor is real: a client that does not check gets its answer.
            var (status, body, _) = await Command.CurlAsync(socketPath, "/healthz");
            Assert.Equal(200, status);
            Assert.Equal("ok", System.Text.Encoding.ASCII.GetString(body));
            Assert.True(File.Exists(marker));
        }
        finally
        {
            impostor.Kill(entireProcessTree: true);
            await impostor.WaitForExitAsync(Cancel);
        }
    }

    [Theory]
    [InlineData(0b111_111_101, "its group")]
    [InlineData(0b111_101_111, "others")]
    [InlineData(0b111_111_111, "its group and others")]
    public async Task AncestorWritableByOthersAndNotStickyRefusesTheStart(int mode, string who)
    {
        var shared = Directory.CreateDirectory(_directory.File("shared")).FullName;
        File.SetUnixFileMode(shared, (UnixFileMode)mode);
        var socketPath = Path.Combine(shared, "echoapi", "echo.sock");

        var message = await FailedStartAsync(["--socket", socketPath]);

        Assert.Contains($"Directory '{shared}' on the socket's path is writable by {who} (mode 0{Convert.ToString(mode, 8)}) and not sticky", message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(shared, "echoapi")), "Nothing may be created below a directory others can change.");

        if (Privileges.IsRoot)
        {
            // Another uid really can do the swap the refusal is about: make the directory, then rename it.
            var onlyTheGroup = (mode & 0b000_000_010) == 0;
            await ChownAsync(shared, 0, onlyTheGroup ? 4242u : 0u);
            var stranger = onlyTheGroup ? Command.AsUser(Privileges.Stranger, 4242) : Command.AsUser(Privileges.Stranger);
            var swap = await Command.RunAsync([.. stranger, "/bin/sh", "-c", "cd \"$1\" && mkdir echoapi && mv echoapi echoapi.old && mkdir echoapi", "sh", shared]);
            Assert.Equal(0, swap.ExitCode);
        }
    }

    [Fact]
    public async Task StickyWorldWritableAncestorIsAcceptedAsTmpIs()
    {
        var sticky = Directory.CreateDirectory(_directory.File("sticky")).FullName;
        File.SetUnixFileMode(sticky, (UnixFileMode)0b1_111_111_111);
        var socketPath = Path.Combine(sticky, "echoapi", "echo.sock");

        await using var server = await EchoApiProcess.StartListeningAsync(socketPath);

        using var client = UnixHttp.CreateClient(socketPath);
        Assert.Equal("ok", await client.GetStringAsync("/healthz", Cancel));
        Assert.Equal(Mode0700, File.GetUnixFileMode(Path.GetDirectoryName(socketPath)!));
    }

    [Fact]
    public async Task RootIgnoresAnXdgRuntimeDirectoryItDoesNotOwn()
    {
        Privileges.RequireRoot("root's default socket path (/run/echoapi) and an XDG_RUNTIME_DIR owned by uid 65534");
        const string Fallback = "/run/echoapi";
        if (File.Exists(Path.Combine(Fallback, "echo.sock")))
        {
            Assert.Skip($"Skipped: {Fallback}/echo.sock exists (another instance?); this test needs root's default path to itself.");
        }

        // What `sudo -E` keeps: the invoking user's runtime directory.
        var users = Directory.CreateDirectory(_directory.File("user-65534")).FullName;
        await ChownAsync(users, Privileges.Nobody);
        File.SetUnixFileMode(users, Mode0700);
        var createdFallback = !Directory.Exists(Fallback);
        var environment = new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = users };
        try
        {
            await using var server = EchoApiProcess.Start([], environment);
            var output = await server.WaitForOutputAsync("EchoApi listening");

            Assert.Contains($"EchoApi listening on {Fallback}/echo.sock", output, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(users));

            // The health probe, under the same environment, finds the service where it is.
            await using var probe = EchoApiProcess.Start([HealthProbe], environment);
            Assert.Equal(0, await probe.WaitForExitAsync());
            Assert.Contains($"{Fallback}/echo.sock: ok", probe.Stdout, StringComparison.Ordinal);

            await server.TerminateAsync();
            Assert.Equal(0, await server.WaitForExitAsync());
        }
        finally
        {
            if (createdFallback && Directory.Exists(Fallback) && Directory.GetFileSystemEntries(Fallback).Length == 0)
            {
                Directory.Delete(Fallback);
            }
        }
    }

    [Fact]
    public async Task AnXdgRuntimeDirectoryOfOurOwnIsUsed()
    {
        var runtime = Directory.CreateDirectory(_directory.File("xdg")).FullName;
        File.SetUnixFileMode(runtime, Mode0700);
        var environment = new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime };

        await using var server = EchoApiProcess.Start([], environment);

        Assert.Contains($"EchoApi listening on {runtime}/echoapi/echo.sock", await server.WaitForOutputAsync("EchoApi listening"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SymbolicLinkAtTheLockPathRefusesTheStartAndItsTargetIsNotTouched(bool targetExists)
    {
        var socketDirectory = Directory.CreateDirectory(_directory.File("echoapi")).FullName;
        File.SetUnixFileMode(socketDirectory, Mode0700);
        var target = _directory.File("elsewhere");
        if (targetExists)
        {
            await File.WriteAllTextAsync(target, "precious", Cancel);
            File.SetUnixFileMode(target, (UnixFileMode)0b110_100_100);
        }

        var socketPath = Path.Combine(socketDirectory, "echo.sock");
        File.CreateSymbolicLink(socketPath + ".lock", target);

        var message = await FailedStartAsync(["--socket", socketPath]);

        Assert.Contains($"Lock file '{socketPath}.lock' is a symbolic link", message, StringComparison.Ordinal);
        Assert.False(File.Exists(socketPath), "No socket may be bound without the lock.");
        if (targetExists)
        {
            Assert.Equal("precious", await File.ReadAllTextAsync(target, Cancel));
            Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(target));
        }
        else
        {
            Assert.False(File.Exists(target), "The lock's symbolic link was followed and its target created.");
        }
    }

    [Fact]
    public async Task DirectoryAtTheLockPathRefusesTheStartInOneLine()
    {
        var socketDirectory = Directory.CreateDirectory(_directory.File("echoapi")).FullName;
        File.SetUnixFileMode(socketDirectory, Mode0700);
        var socketPath = Path.Combine(socketDirectory, "echo.sock");
        Directory.CreateDirectory(socketPath + ".lock");

        var message = await FailedStartAsync(["--socket", socketPath]);

        Assert.Contains($"Lock file '{socketPath}.lock' is a directory", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LockFileIs0600AndHeldEvenWhenAnOlderOneWas0644()
    {
        var socketDirectory = Directory.CreateDirectory(_directory.File("echoapi")).FullName;
        File.SetUnixFileMode(socketDirectory, Mode0700);
        var socketPath = Path.Combine(socketDirectory, "echo.sock");
        await File.WriteAllTextAsync(socketPath + ".lock", string.Empty, Cancel);
        File.SetUnixFileMode(socketPath + ".lock", (UnixFileMode)0b110_100_100); // as earlier versions left it

        await using var server = await EchoApiProcess.StartListeningAsync(socketPath, umask: "000");

        Assert.Equal(Mode0600, File.GetUnixFileMode(socketPath + ".lock"));
        Assert.Equal(Mode0600, File.GetUnixFileMode(Path.Combine(socketDirectory, "line.sock.lock")));
        var contended = await Command.RunAsync(["flock", "--nonblock", socketPath + ".lock", "true"]);
        Assert.NotEqual(0, contended.ExitCode); // the service holds it
    }

    [Fact]
    public async Task SocketGroupMembersCannotHoldTheLockAndBlockARestart()
    {
        Privileges.RequireRoot("a member of the socket's group (uid 12345, gid 4242) trying to flock the lock file");
        var socketPath = _directory.File("echoapi/echo.sock");
        var environment = new Dictionary<string, string> { ["EchoApi__SocketGroup"] = "4242", ["EchoApi__SocketMode"] = "0660" };
        await using (var first = await EchoApiProcess.StartListeningAsync(socketPath, environment: environment))
        {
            Assert.Equal((UnixFileMode)0b111_001_000, File.GetUnixFileMode(Path.GetDirectoryName(socketPath)!)); // the group can reach the socket
        }

        // SIGKILL left the socket and the lock behind, as a crash would; the member tries to hold the lock.
        Assert.True(File.Exists(socketPath + ".lock"));
        var member = await Command.RunAsync([.. Command.AsUser(Privileges.Stranger, 4242), "flock", "--nonblock", socketPath + ".lock", "true"]);
        Assert.NotEqual(0, member.ExitCode);
        Assert.Contains("Permission denied", member.Stderr, StringComparison.Ordinal);

        await using var restarted = await EchoApiProcess.StartListeningAsync(socketPath, environment: environment);
        Assert.Contains("Removed stale socket", restarted.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".line")]
    public async Task AbstractNameAlreadyTakenStopsTheStartInOneLine(string taken)
    {
        var name = $"@echoapi-test-{Guid.NewGuid():N}";

        // Anyone can hold an abstract name; here the test does, as a squatter would while the service is down.
        using var squatter = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        squatter.Bind(new UnixDomainSocketEndPoint("\0" + name[1..] + taken));
        squatter.Listen();

        await using var server = EchoApiProcess.Start(["--socket", name]);
        var exitCode = await server.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"echoapi: EchoApi:SocketPath '{name}': Abstract socket '{name}{taken}' is already taken by another process (another instance, or anyone: an abstract name has no owner and no permissions). Stop that process or choose another name.", line);
        Assert.DoesNotContain("Unhandled exception", server.Stdout + server.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingIsWrittenOutsideTheSocketDirectory()
    {
        var home = Directory.CreateDirectory(_directory.File("home")).FullName;
        var socketDirectory = _directory.File("echoapi");
        var socketPath = Path.Combine(socketDirectory, "echo.sock");
        var environment = new Dictionary<string, string> { ["HOME"] = home, ["Logging__LogLevel__Default"] = "Debug" };

        await using var server = await EchoApiProcess.StartListeningAsync(socketPath, environment: environment);
        using (var client = UnixHttp.CreateClient(socketPath))
        {
            using var echo = await client.PostAsync("/echo", new StringContent("hello"), Cancel);
            Assert.Equal("hello", await echo.Content.ReadAsStringAsync(Cancel));
        }

        await server.TerminateAsync();
        Assert.Equal(0, await server.WaitForExitAsync());

        Assert.Empty(Directory.GetFileSystemEntries(home)); // no ~/.aspnet/DataProtection-Keys, nor anything else
        Assert.Empty(Directory.GetFileSystemEntries(socketDirectory)); // sockets and locks removed on the way out
        var output = server.Stdout + server.Stderr;
        Assert.DoesNotContain("No XML encryptor", output, StringComparison.Ordinal);
        Assert.DoesNotContain("DataProtection-Keys", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warn: Microsoft.AspNetCore.DataProtection", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SoftDescriptorLimitIsRaisedToTheHardLimitAndLogged()
    {
        // The JIT runtime raises the soft limit itself; the native AOT build (ECHOAPI_EXECUTABLE, as
        // test.sh runs this suite) does not, and there this proves the service's own raise.
        var socketPath = _directory.File("echoapi/echo.sock");
        await using var server = EchoApiProcess.Start(["--socket", socketPath], launcher: ["prlimit", "--nofile=1024:4096"]);
        var output = await server.WaitForOutputAsync("EchoApi listening");

        Assert.Contains("Descriptor budget: 4096 open files", output, StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ECHOAPI_EXECUTABLE")))
        {
            Assert.Contains("1024 at start", output, StringComparison.Ordinal); // nothing raised it before the service did
        }

        var limits = await File.ReadAllLinesAsync($"/proc/{server.Id.ToString(CultureInfo.InvariantCulture)}/limits", Cancel);
        var openFiles = limits.Single(l => l.StartsWith("Max open files", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("4096", openFiles[3]); // soft
        Assert.Equal("4096", openFiles[4]); // hard
    }

    [Fact]
    public async Task HealthDoesNotVouchForASocketWhoseDirectoryOthersCanChange()
    {
        var parent = Directory.CreateDirectory(_directory.File("parent")).FullName;
        var socketPath = Path.Combine(parent, "echoapi", "echo.sock");
        await using var server = await EchoApiProcess.StartListeningAsync(socketPath);

        await using (var healthy = EchoApiProcess.Start([HealthProbe, "--socket", socketPath]))
        {
            Assert.Equal(0, await healthy.WaitForExitAsync());
            Assert.Contains($"{socketPath}: ok", healthy.Stdout, StringComparison.Ordinal);
        }

        // Opened up after the start: from now on anyone could have swapped the socket directory.
        File.SetUnixFileMode(parent, (UnixFileMode)0b111_111_111);
        await using var probe = EchoApiProcess.Start([HealthProbe, "--socket", socketPath]);

        Assert.Equal(1, await probe.WaitForExitAsync());
        Assert.Contains($"echoapi: {socketPath} is not trusted: Directory '{parent}' on the socket's path is writable by its group and others", probe.Stderr, StringComparison.Ordinal);
    }

    private const string HealthProbe = "--health";

    private static async Task ChownAsync(string path, uint uid, uint? gid = null)
    {
        var chown = await Command.RunAsync(["chown", $"{uid}:{gid ?? uid}", path]);
        Assert.True(chown.ExitCode == 0, chown.Stderr);
    }

    private static Process StartImpostor(string socketPath, string marker)
    {
        var start = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])[.. Command.AsUser(Privileges.Nobody)[1..], "/usr/bin/python3", "-c", ImpostorScript, socketPath, marker])
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("Could not start the impostor.");
    }

    private static async Task WaitForLineAsync(Process process, string expected)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        Assert.Equal(expected, line);
    }

    /// <summary>Starts the service expecting it to refuse: exit code 1 and one line on stderr, which is returned.</summary>
    private static async Task<string> FailedStartAsync(string[] arguments)
    {
        await using var server = EchoApiProcess.Start(arguments);

        Assert.Equal(1, await server.WaitForExitAsync());
        var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("echoapi: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", server.Stdout, StringComparison.Ordinal);
        return line;
    }
}
