using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>The socket file: private, created safely, never deleted blindly.</summary>
[Trait("Category", "Process")]
public sealed class SocketFileTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = Mode0600 | UnixFileMode.UserExecute;
    private readonly TempSocketDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task SocketIs0600InANew0700DirectoryEvenWhenUmaskIs000()
    {
        var socketPath = _directory.File("run/echoapi/echo.sock");
        await using var server = await EchoApiProcess.StartListeningAsync(socketPath, umask: "000");

        Assert.Contains($"EchoApi listening on {socketPath}", await server.WaitForOutputAsync("EchoApi listening"), StringComparison.Ordinal);
        Assert.Equal(Mode0700, File.GetUnixFileMode(Path.GetDirectoryName(socketPath)!));
        Assert.Equal(Mode0600, File.GetUnixFileMode(socketPath));
        Assert.Equal(Mode0600, File.GetUnixFileMode(Path.Combine(Path.GetDirectoryName(socketPath)!, "line.sock")));
    }

    [Fact]
    public async Task SocketModeSettingWidensTheMode()
    {
        var socketPath = _directory.File("echo.sock");
        await using var server = await EchoApiProcess.StartListeningAsync(socketPath, environment: new Dictionary<string, string> { ["EchoApi__SocketMode"] = "0660" }, umask: "077");

        Assert.Equal(Mode0600 | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(socketPath));
    }

    [Fact]
    public async Task SocketPathCanComeFromTheEnvironment()
    {
        var socketPath = _directory.File("env.sock");
        await using var server = EchoApiProcess.Start([], new Dictionary<string, string> { ["EchoApi__SocketPath"] = socketPath });

        // The file appears at bind(), before listen(): wait until the service says it listens.
        Assert.Contains($"EchoApi listening on {socketPath}", await server.WaitForOutputAsync("EchoApi listening"), StringComparison.Ordinal);
        using var client = UnixHttp.CreateClient(socketPath);
        Assert.Equal("ok", await client.GetStringAsync("/healthz", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SocketFileIsRemovedOnShutdown()
    {
        var socketPath = _directory.File("echo.sock");
        await using var server = await EchoApiProcess.StartListeningAsync(socketPath);

        await server.TerminateAsync();

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.False(File.Exists(socketPath), "The socket file should be gone after SIGTERM.");
        Assert.False(File.Exists(_directory.File("line.sock")), "The line socket file should be gone after SIGTERM.");
    }

    [Fact]
    public async Task ShutdownLeavesASocketThatIsNoLongerOursInPlace()
    {
        var socketPath = _directory.File("echo.sock");
        await using var server = await EchoApiProcess.StartListeningAsync(socketPath);

        // Someone removed our file and put their own live socket at the path.
        File.Delete(socketPath);
        using var theirs = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        theirs.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
        theirs.Listen();

        await server.TerminateAsync();

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.True(File.Exists(socketPath), "Shutdown must not delete a socket that is no longer ours.");
        Assert.Contains("no longer the socket this process created", server.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DirectoryWritableByOthersIsRefused()
    {
        var open = Directory.CreateDirectory(_directory.File("open")).FullName;
        File.SetUnixFileMode(open, (UnixFileMode)0b111_111_111);

        var message = await FailedStartAsync(["--socket", Path.Combine(open, "echo.sock")]);

        Assert.Contains("is writable by others", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegularFileAtThePathIsLeftUntouchedAndStartFails()
    {
        var socketPath = _directory.File("echo.sock");
        await File.WriteAllTextAsync(socketPath, "precious", TestContext.Current.CancellationToken);

        var message = await FailedStartAsync(["--socket", socketPath]);

        Assert.Contains("is a regular file, not a socket", message, StringComparison.Ordinal);
        Assert.Equal("precious", await File.ReadAllTextAsync(socketPath, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task LiveSocketIsLeftAloneAndStartFails()
    {
        using var live = EchoApiFactory.Start();

        var message = await FailedStartAsync(["--socket", live.SocketPath]);

        Assert.Contains("is in use", message, StringComparison.Ordinal);
        using var client = live.CreateUnixClient();
        Assert.Equal("ok", await client.GetStringAsync("/healthz", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task StaleSocketIsReplaced()
    {
        var socketPath = _directory.File("echo.sock");
        var killed = await EchoApiProcess.StartListeningAsync(socketPath);
        await killed.DisposeAsync(); // SIGKILL: no chance to clean up, the file stays behind

        Assert.True(File.Exists(socketPath));
        await using var server = await EchoApiProcess.StartListeningAsync(socketPath);

        using var client = UnixHttp.CreateClient(socketPath);
        Assert.Equal("ok", await client.GetStringAsync("/healthz", TestContext.Current.CancellationToken));
        Assert.Contains("Removed stale socket", server.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverLongPathFailsNamingTheLimit()
    {
        var socketPath = _directory.File(new string('s', 120) + ".sock");

        var message = await FailedStartAsync(["--socket", socketPath]);

        Assert.Contains("EchoApi:SocketPath", message, StringComparison.Ordinal);
        Assert.Contains("at most 107 bytes", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SymbolicLinkDirectoryIsRefused()
    {
        var real = Directory.CreateDirectory(_directory.File("real")).FullName;
        var link = _directory.File("link");
        File.CreateSymbolicLink(link, real);

        var message = await FailedStartAsync(["--socket", Path.Combine(link, "echo.sock")]);

        Assert.Contains("is a symbolic link", message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(real));
    }

    [Fact]
    public async Task DirectoryOwnedByAnotherUidIsRefused()
    {
        string directory;
        if (Privileges.IsRoot)
        {
            directory = Directory.CreateDirectory(_directory.File("theirs")).FullName;
            var chown = await Command.RunAsync(["chown", "12345:12345", directory]);
            Assert.Equal(0, chown.ExitCode);
        }
        else
        {
            directory = "/tmp"; // owned by root, and we are not root
        }

        var message = await FailedStartAsync(["--socket", Path.Combine(directory, $"echoapi-test-{Guid.NewGuid():N}.sock")]);

        Assert.Contains("is owned by uid", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("EchoApi__SocketMode", "0777", "EchoApi:SocketMode '0777' is not a socket mode")]
    [InlineData("EchoApi__SocketMode", "0066", "EchoApi:SocketMode '0066' is not a socket mode")]
    [InlineData("EchoApi__Owner", "no-such-user-here", "EchoApi:Owner 'no-such-user-here' is neither a uid nor a user")]
    [InlineData("EchoApi__Owner", "65534", "EchoApi:Owner is uid 65534, the kernel's overflow uid")]
    [InlineData("EchoApi__MaxEchoBytes", "0", "EchoApi:MaxEchoBytes must be a positive number of bytes")]
    [InlineData("EchoApi__FloodPause", "00:00:05", "EchoApi:FloodPause must be between 0 (never pause) and 00:00:01")]
    [InlineData("EchoApi__OwnerSocketPath", "@echoapi-owner", "EchoApi:OwnerSocketPath must be a file path: an abstract socket has no file permissions")]
    [InlineData("EchoApi__Owner", "12345", "EchoApi:OwnerSocketPath needs the service to run as the owner", "owner.sock")]
    public async Task BadSettingStopsTheStartNamingTheSetting(string variable, string value, string expected, string? ownerSocket = null)
    {
        var socketPath = _directory.File("echo.sock");
        var environment = new Dictionary<string, string> { [variable] = value };
        if (ownerSocket is not null)
        {
            environment["EchoApi__OwnerSocketPath"] = _directory.File(ownerSocket);
        }

        var message = await FailedStartAsync(["--socket", socketPath], environment);

        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.False(File.Exists(socketPath), "No socket may exist when the settings are wrong.");
    }

    /// <summary>Starts the service expecting it to refuse: exit code 1 and one line on stderr, which is returned.</summary>
    private static async Task<string> FailedStartAsync(string[] arguments, IDictionary<string, string>? environment = null)
    {
        await using var server = EchoApiProcess.Start(arguments, environment);

        var exitCode = await server.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        var lines = server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("echoapi: ", line, StringComparison.Ordinal);
        return line;
    }
}
