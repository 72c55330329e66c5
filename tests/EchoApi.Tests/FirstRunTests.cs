using System.Reflection;
using System.Text.Json;
using EchoApi.Hosting;
using EchoApi.Settings;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// What a new user meets first, against the real binary: a bad start is one line on stderr and exit 1,
/// the command line answers --help and --version, and the settings do what they say.
/// </summary>
[Trait("Category", "Process")]
public sealed class FirstRunTests : IDisposable
{
    private readonly TempSocketDirectory _directory = new();

    private string SocketPath => _directory.File("echo.sock");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("--EchoApi:IdleTimeout=5m", "EchoApi:IdleTimeout '5m' is not a time span (use 00:05:00)")]
    [InlineData("--EchoApi:AllowRoot=yes", "EchoApi:AllowRoot 'yes' is not true or false")]
    [InlineData("--EchoApi:MaxEchoBytes=lots", "EchoApi:MaxEchoBytes 'lots' is not a whole number")]
    [InlineData("--EchoApi:MaxLineBytes=99999999999", "EchoApi:MaxLineBytes '99999999999' is not a whole number up to 2147483647")]
    [InlineData("--EchoApi:MaxMessageBytes=2147483647", "EchoApi:MaxMessageBytes must be at most 16777216 bytes, not 2147483647")]
    [InlineData("--EchoApi:MaxConnectsPerSecondPerUser=NaN", "EchoApi:MaxConnectsPerSecondPerUser must be a finite number (0 turns the limit off), not NaN")]
    [InlineData("--EchoApi:MaxConnectsPerSecondPerUser=Infinity", "EchoApi:MaxConnectsPerSecondPerUser must be a finite number")]
    [InlineData("--EchoApi:IdleTimeout=30.00:00:00", "EchoApi:IdleTimeout must be at most 1.00:00:00")]
    [InlineData("--EchoApi:SocketMod=0666", "unknown setting EchoApi:SocketMod (from the command line); did you mean EchoApi:SocketMode?")]
    [InlineData("--sokcet /tmp/x.sock", "unknown switch --sokcet; did you mean --socket?")]
    [InlineData("--SocketMode=0666", "unknown switch --SocketMode; did you mean --EchoApi:SocketMode?")]
    [InlineData("--socket", "--socket needs a value")]
    [InlineData("stray", "unexpected argument 'stray'")]
    [InlineData("", "unknown setting EchoApi:SocketMod (from the environment: EchoApi__SocketMod); did you mean EchoApi:SocketMode?", "EchoApi__SocketMod=0666")]
    public async Task BadStartIsOneLineOnStderrAndExitOne(string arguments, string expected, string? environment = null)
    {
        var variables = new Dictionary<string, string>();
        if (environment?.Split('=', 2) is [var key, var value])
        {
            variables[key] = value;
        }

        var line = await FailedStartAsync(["--socket", SocketPath, .. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)], variables);

        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(File.Exists(SocketPath), "No socket may exist when the start fails.");
    }

    [Fact]
    public async Task RelativeSocketPathIsTheOnlyThingSaid()
    {
        // The line socket's default lies beside SocketPath, so it is no second complaint; and one full stop.
        var line = await FailedStartAsync(["--socket", "relative.sock"]);

        Assert.Equal("echoapi: EchoApi:SocketPath 'relative.sock' is not an absolute path", line);
    }

    [Fact]
    public async Task EveryBadSettingIsOnTheOneLineWhateverItsConcern()
    {
        // Socket files, access, limits, WebSocket and line socket are bound into separate classes.
        var line = await FailedStartAsync(["--socket", SocketPath, "--EchoApi:SocketMode=0777", "--EchoApi:Owner=no-such-user-here", "--EchoApi:IdleTimeout=00:00:00", "--EchoApi:MaxMessageBytes=0", "--EchoApi:MaxLineBytes=0"]);

        Assert.Equal(
            "echoapi: EchoApi:SocketMode '0777' is not a socket mode: give octal read/write bits that include the owner's, such as 0600 or 0660; "
            + "EchoApi:Owner 'no-such-user-here' is neither a uid nor a user in the user database; "
            + "EchoApi:IdleTimeout must be a positive time span (such as 00:05:00), not 00:00:00; "
            + "EchoApi:MaxMessageBytes must be a positive number of bytes, not 0; "
            + "EchoApi:MaxLineBytes must be a positive number of bytes, not 0",
            line);
    }

    [Fact]
    public async Task UnknownKeyInASettingsFileNamesTheFile()
    {
        // appsettings.{Environment}.json beside the binary, under an environment name no other test uses.
        var environment = $"FirstRun{Guid.NewGuid():N}";
        var file = Path.Combine(BinaryDirectory(), $"appsettings.{environment}.json");
        await File.WriteAllTextAsync(file, """{ "EchoApi": { "MaxEchoByte": 10 } }""", Cancel);
        try
        {
            var line = await FailedStartAsync(["--socket", SocketPath, "--environment", environment]);

            Assert.Contains($"unknown setting EchoApi:MaxEchoByte (from appsettings.{environment}.json); did you mean EchoApi:MaxEchoBytes?", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    // (An XDG_RUNTIME_DIR that is missing, or not the user's own, is not used at all: the service falls back
    // to /tmp/echoapi-UID; SocketPathTests covers that.)
    [Theory]
    [InlineData("socket")]
    public async Task PathTheUserCannotCreateIsOneLine(string how)
    {
        // As root, an ordinary uid plays the user; otherwise the tests already are one.
        var launcher = Privileges.IsRoot ? Command.AsUser(Privileges.Stranger) : [];
        var missing = $"/run/echoapi-first-{Guid.NewGuid():N}";
        var environment = new Dictionary<string, string> { ["HOME"] = _directory.Path, ["DOTNET_CLI_HOME"] = _directory.Path };
        string[] arguments = [];
        if (how == "socket")
        {
            arguments = ["--socket", $"{missing}/echo.sock"];
        }
        else
        {
            environment["XDG_RUNTIME_DIR"] = missing;
        }

        var line = await FailedStartAsync(arguments, environment, launcher);

        Assert.Contains($"EchoApi:SocketPath '{missing}/echo", line, StringComparison.Ordinal);
        Assert.Contains($"Cannot create socket directory '{missing}", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task SocketInUseIsOneLineWithoutTheHostsStackTrace()
    {
        await using var first = await EchoApiProcess.StartListeningAsync(SocketPath);

        var line = await FailedStartAsync(["--socket", SocketPath]);

        Assert.Contains($"EchoApi:SocketPath '{SocketPath}': Socket '{SocketPath}' is in use", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task HelpPrintsUsageAndExitsZero(string flag)
    {
        await using var help = EchoApiProcess.Start([flag]);

        Assert.Equal(0, await help.WaitForExitAsync());
        Assert.Empty(help.Stderr);
        foreach (var expected in (string[])["Usage: EchoApi", "--socket PATH", "--version", "/run/echoapi/echo.sock", "SocketMode             0600", "MaxEchoBytes           16777216", "docs/configuration.md"])
        {
            Assert.Contains(expected, help.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task VersionPrintsTheVersionAndExitsZero()
    {
        await using var version = EchoApiProcess.Start(["--version"]);

        Assert.Equal(0, await version.WaitForExitAsync());
        Assert.Matches(@"^EchoApi \d+\.\d+\.\d+\S*\r?\n$", version.Stdout.TrimEnd('\n') + "\n");
        Assert.Empty(version.Stderr);
    }

    [Fact]
    public void TestHostArgumentsAreAccepted()
    {
        // WebApplicationFactory hands Program its host configuration as --key=value, sections included.
        string[] arguments = ["--EchoApi=", "--EchoApi:SocketPath=/tmp/x/echo.sock", "--EchoApi:LineSocketPath=", "--contentRoot=/tmp", "--environment=Testing", "--applicationName=EchoApi"];

        Assert.Null(CommandLine.Problem(arguments));
        Assert.Equal("--socket needs a value (--socket VALUE or --socket=VALUE)", CommandLine.Problem(["--socket="]));
    }

    [Fact]
    public void KnownSettingsAreEveryPublicSettableOptionsProperty()
    {
        // Every class bound from the EchoApi section. Settable: a public setter, or a list the binder fills
        // (AllowedHostNames); and Allow, whose items may be a text or a list, read by hand (AccessSettingsSetup).
        Type[] classes = [typeof(SocketSettings), typeof(AccessSettings), typeof(LimitSettings), typeof(WebSocketSettings), typeof(LineSocketSettings)];
        var properties = classes
            .SelectMany(c => c.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Where(p => p.SetMethod?.IsPublic == true || p.PropertyType.IsAssignableTo(typeof(System.Collections.IEnumerable)) && p.PropertyType != typeof(string))
            .Select(p => p.Name)
            .Append(nameof(AccessSettings.Allow))
            .Order()
            .ToList();

        Assert.Equal(properties, SettingsReader.KnownSettings.Order());
        // The classes share one flat section: a name in two of them would be one key bound twice.
        Assert.Equal(properties.Count, properties.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public async Task HealthOnAMissingSocketSaysSo()
    {
        var missing = _directory.File("nothing.sock");
        await using var probe = EchoApiProcess.Start(["--health", "--socket", missing]);

        Assert.Equal(1, await probe.WaitForExitAsync());
        Assert.Equal($"echoapi: no socket at {missing} (is the service running?)\n", probe.Stderr);
    }

    [Fact]
    public async Task RootPointsToTheDocsForTheOwnerOnly()
    {
        await using var server = await EchoApiProcess.StartListeningAsync(SocketPath, environment: new Dictionary<string, string> { ["EchoApi__SocketMode"] = "0666" });
        using var client = UnixHttp.CreateClient(SocketPath);

        var index = await client.GetStringAsync("/", Cancel);
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", Cancel));

        Assert.Contains("/swagger", index, StringComparison.Ordinal);
        Assert.Contains("/openapi/v1.json", index, StringComparison.Ordinal);
        Assert.True(document.RootElement.GetProperty("paths").TryGetProperty("/", out _), "GET / is in the OpenAPI document.");
        if (Privileges.IsRoot)
        {
            var (status, body, _) = await Command.CurlAsync(SocketPath, "/", Command.AsUser(Privileges.Nobody));
            Assert.Equal(403, status);
            Assert.DoesNotContain("/swagger", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ReadmeWhatAnotherUserSeesWorksAsWrittenInAnExistingPrivateDirectory()
    {
        Privileges.RequireRoot("running the README's curl as uid 65534");

        // Left 0700 by an earlier default run; SocketMode=0666 must still let others reach the socket.
        var directory = Directory.CreateDirectory(_directory.File("run")).FullName;
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = Path.Combine(directory, "echo.sock");
        await using var server = await EchoApiProcess.StartListeningAsync(socket, ["--EchoApi:SocketMode=0666"]);

        // The README's line verbatim, with setpriv for sudo (not installed here).
        var readme = await File.ReadAllTextAsync(Path.Combine(CurlExamplesTests.RepositoryRoot(), "README.md"), Cancel);
        const string Line = "curl -i --unix-socket \"$SOCK\" -d secret http://localhost/echo";
        Assert.Contains($"$ sudo -u nobody {Line}", readme, StringComparison.Ordinal);
        var result = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "/usr/bin/env", $"SOCK={socket}", "/bin/sh", "-c", Line]);

        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("HTTP/1.1 403 Forbidden", result.StdoutText, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/problem+json", result.StdoutText, StringComparison.Ordinal);
        Assert.Contains("\"detail\":\"uid 65534 is not the owner of this socket (uid 0).\"", result.StdoutText, StringComparison.Ordinal);
        Assert.Equal(0b111_001_001, (int)File.GetUnixFileMode(directory));
    }

    [Fact]
    public async Task SocketGroupOnAnExistingPrivateDirectoryLetsTheGroupIn()
    {
        Privileges.RequireRoot("connecting as a member of another group");
        const uint Group = 23456;
        var directory = Directory.CreateDirectory(_directory.File("run")).FullName;
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = Path.Combine(directory, "echo.sock");
        await using var server = await EchoApiProcess.StartListeningAsync(socket, ["--EchoApi:SocketMode=0660", $"--EchoApi:SocketGroup={Group}"]);

        var member = await Command.CurlAsync(socket, "/echo", Command.AsUser(Privileges.Stranger, Group), ["--data-binary", "hi"]);
        var outsider = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "curl", "-s", "--unix-socket", socket, "http://localhost/echo"]);

        Assert.Equal(200, member.Status); // it connects (the directory let it through), and the group's rule admits it
        Assert.Equal(7, outsider.ExitCode); // not in the group: cannot even connect
        Assert.Equal(0b111_001_000, (int)File.GetUnixFileMode(directory));
        // Said just after "EchoApi listening", which is all that starting waited for.
        var rules = $"these rules admit peers, tried in order: EchoApi:SocketGroup (gid:{Group})";
        Assert.Contains(rules, await server.WaitForOutputAsync(rules), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SocketGroupOnADirectoryThatGivesAnotherGroupAccessIsRefusedSayingWhatToChange()
    {
        var directory = Directory.CreateDirectory(_directory.File("run")).FullName;
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute);
        var group = Privileges.IsRoot ? "23456" : "0";

        var line = await FailedStartAsync(["--socket", Path.Combine(directory, "echo.sock"), "--EchoApi:SocketMode=0660", $"--EchoApi:SocketGroup={group}"]);

        Assert.Contains($"keeps gid {group} from the socket; run 'chgrp {group} {directory} && chmod 0710 {directory}'", line, StringComparison.Ordinal);
    }

    /// <summary>Starts the service expecting it to refuse: exit 1, one stderr line, no stack trace anywhere.</summary>
    private static async Task<string> FailedStartAsync(string[] arguments, IDictionary<string, string>? environment = null, IEnumerable<string>? launcher = null)
    {
        await using var server = EchoApiProcess.Start(arguments, environment, launcher: launcher);

        var exitCode = await server.WaitForExitAsync();

        var output = server.Stdout + server.Stderr;
        Assert.True(exitCode == 1, $"exit {exitCode}: {output}");
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Hosting failed to start", output, StringComparison.Ordinal);
        var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("echoapi: ", line, StringComparison.Ordinal);
        return line;
    }

    private static string BinaryDirectory()
        => Environment.GetEnvironmentVariable("ECHOAPI_EXECUTABLE") is { Length: > 0 } executable
            ? Path.GetDirectoryName(Path.GetFullPath(executable))!
            : AppContext.BaseDirectory;
}
