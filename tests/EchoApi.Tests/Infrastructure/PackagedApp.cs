using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// The library as someone else gets it: packed into a folder feed, referenced by a separate app in a
/// temporary directory outside the repository (none of its build settings apply there), built, and run
/// on a Unix socket. The app's Program.cs is the example in src/PeerCredentials/README.md, the package's
/// own page, so that example is proven too. Built once for the tests that share it; everything it made
/// is removed afterwards.
/// </summary>
public sealed partial class PackagedApp : IAsyncLifetime
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("echoapi-package-");
    private readonly StringBuilder _appOutput = new();
    private Process? _app;

    /// <summary>The packed <c>.nupkg</c> in the folder feed.</summary>
    public string PackagePath { get; private set; } = "";

    /// <summary>The socket the app listens on.</summary>
    public string SocketPath => Path.Combine(_root.FullName, "run", "api.sock");

    /// <summary>The group the app admits (the tests' own primary group), as given to <c>RequirePeerGroup</c>.</summary>
    public string Group { get; private set; } = "";

    /// <summary>How long packing, building and starting took, for the test output.</summary>
    public string Timings { get; private set; } = "";

    /// <summary>What the app wrote, for failure messages.</summary>
    public string AppOutput
    {
        get
        {
            lock (_appOutput)
            {
                return _appOutput.ToString();
            }
        }
    }

    public async ValueTask InitializeAsync()
    {
        try
        {
            await PackBuildAndStartAsync();
        }
        catch
        {
            await DisposeAsync(); // a fixture that failed to start is not disposed by the runner
            throw;
        }
    }

    private async Task PackBuildAndStartAsync()
    {
        // 0755: a client of another uid must reach the socket's directory (which the app makes 0711).
        File.SetUnixFileMode(_root.FullName, (UnixFileMode)0b111_101_101);
        var repository = CurlExamplesTests.RepositoryRoot();
        var feed = _root.CreateSubdirectory("feed").FullName;
        var app = _root.CreateSubdirectory("app").FullName;
        var clock = Stopwatch.StartNew();

        // The library as this test run built it (dotnet test builds it first): packing needs no second build.
        var configuration = typeof(PackagedApp).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var pack = await DotnetAsync(PackTimeout, "pack", Path.Combine(repository, "src", "PeerCredentials", "PeerCredentials.csproj"),
            "--no-build", "-c", configuration, "-o", feed);
        Assert.True(pack.ExitCode == 0, $"dotnet pack src/PeerCredentials failed:\n{pack.Output}");
        Assert.DoesNotMatch(@"warning [A-Z]+\d+", pack.Output);
        PackagePath = Assert.Single(Directory.GetFiles(feed, "PeerCredentials.*.nupkg"));
        var version = PackageVersion().Match(Path.GetFileName(PackagePath)).Groups["version"].Value;
        var packed = clock.Elapsed;

        await WriteAppAsync(app, feed, version, await ReadmeExampleAsync(repository));
        var build = await DotnetAsync(BuildTimeout, "build", Path.Combine(app, "PackageApp.csproj"), "-clp:Summary");
        Assert.True(build.ExitCode == 0, $"The app that uses the package does not build:\n{build.Output}");
        Assert.Matches(@"\b0 Warning\(s\)", build.Output);
        var built = clock.Elapsed;

        Group = await PrimaryGroupAsync();
        await StartAsync(Path.Combine(app, "bin", "Debug", "net10.0", "PackageApp.dll"));
        Timings = $"pack {packed.TotalSeconds:F1} s, restore and build {(built - packed).TotalSeconds:F1} s, start {(clock.Elapsed - built).TotalSeconds:F1} s";
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            if (!_app.HasExited)
            {
                _app.Kill(entireProcessTree: true);
            }

            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _app.WaitForExitAsync(exited.Token);
            _app.Dispose();
            _app = null;
        }

        if (_root.Exists)
        {
            _root.Delete(recursive: true);
        }
    }

    /// <summary>The first C# block of the package's README: a whole Program.cs.</summary>
    private static async Task<string> ReadmeExampleAsync(string repository)
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(repository, "src", "PeerCredentials", "README.md"));
        var block = CSharpBlock().Match(readme);
        Assert.True(block.Success, "src/PeerCredentials/README.md has no ```csharp block.");
        return block.Groups["code"].Value;
    }

    private async Task WriteAppAsync(string app, string feed, string version, string program)
    {
        // What `dotnet new web` writes, with warnings as errors, and the package at exactly the version packed.
        await File.WriteAllTextAsync(Path.Combine(app, "PackageApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <!-- No vulnerability lookups on nuget.org: the build needs nothing from it. -->
                <NuGetAudit>false</NuGetAudit>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="PeerCredentials" Version="[{version}]" />
              </ItemGroup>
            </Project>
            """);

        // The package from the folder feed and nowhere else; nuget.org for anything else (the package needs
        // nothing: only the ASP.NET Core shared framework). A package folder of its own, so a cached copy
        // of the same version from an older build can never stand in for this one.
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(_root.FullName, "packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local">
                  <package pattern="PeerCredentials" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);

        // Empty Directory.* files stop MSBuild looking further up for stray ones.
        foreach (var file in (string[])["Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props"])
        {
            await File.WriteAllTextAsync(Path.Combine(app, file), "<Project />\n");
        }

        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
    }

    private static async Task<string> PrimaryGroupAsync()
    {
        // By name where the group database has one, so that the package resolves it; else the number.
        var name = await Command.RunAsync(["id", "-gn"], timeout: TimeSpan.FromSeconds(10));
        if (name.ExitCode == 0 && name.StdoutText.Trim() is { Length: > 0 } groupName)
        {
            return groupName;
        }

        return (await Command.RunAsync(["id", "-g"], timeout: TimeSpan.FromSeconds(10))).StdoutText.Trim();
    }

    private async Task StartAsync(string dll)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[dll, $"--Socket={SocketPath}", $"--Group={Group}"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _app = Process.Start(start) ?? throw new InvalidOperationException("Could not start the app.");
        DataReceivedEventHandler collect = (_, e) =>
        {
            lock (_appOutput)
            {
                _appOutput.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Now listening on", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        };
        _app.OutputDataReceived += collect;
        _app.ErrorDataReceived += collect;
        _app.BeginOutputReadLine();
        _app.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(StartTimeout);
        var ended = await Task.WhenAny(listening.Task, _app.WaitForExitAsync(timeout.Token));
        Assert.True(ended == listening.Task, $"The app did not start listening in {StartTimeout.TotalSeconds} s{(_app.HasExited ? $" (it exited with {_app.ExitCode})" : "")}:\n{AppOutput}");
    }

    private static async Task<(int ExitCode, string Output)> DotnetAsync(TimeSpan timeout, params string[] arguments)
    {
        // No build servers: nothing of this build outlives the test.
        var result = await Command.RunAsync(
            ["env", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "DOTNET_NOLOGO=1", "dotnet", .. arguments, "-nologo", "--disable-build-servers"],
            timeout: timeout);
        return (result.ExitCode, result.StdoutText + result.Stderr);
    }

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^PeerCredentials\.(?<version>\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)\.nupkg$")]
    private static partial Regex PackageVersion();
}
