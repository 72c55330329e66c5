using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace EchoApi.Tests;

/// <summary>
/// docs/library.md promises a Program.cs that compiles as pasted into a fresh <c>dotnet new web</c> app.
/// This builds exactly that block, taken from the doc file, so the promise cannot rot.
/// </summary>
public sealed partial class DocsSnippetTests
{
    private const string Marker = "### Program.cs";

    /// <summary>
    /// Slow (tens of seconds to minutes): a whole <c>dotnet build</c> of a separate app, with restore,
    /// outside the repository so that none of its build settings help the snippet along.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task LibrarySnippetBuildsInAFreshWebApp()
    {
        var root = CurlExamplesTests.RepositoryRoot();
        var snippet = ProgramSnippet(await File.ReadAllTextAsync(Path.Combine(root, "docs", "library.md"), TestContext.Current.CancellationToken));
        var app = Directory.CreateTempSubdirectory("echoapi-docs-snippet-");
        try
        {
            // What `dotnet new web` writes, plus warnings as errors and the library by its absolute path.
            // Empty Directory.* files stop MSBuild looking further up for a stray one in the temp directory.
            var library = Path.Combine(root, "src", "PeerCredentials", "PeerCredentials.csproj");
            await File.WriteAllTextAsync(Path.Combine(app.FullName, "SnippetApp.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <ProjectReference Include="{library}" />
                  </ItemGroup>
                </Project>
                """, TestContext.Current.CancellationToken);
            foreach (var file in (string[])["Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props"])
            {
                await File.WriteAllTextAsync(Path.Combine(app.FullName, file), "<Project />\n", TestContext.Current.CancellationToken);
            }

            await File.WriteAllTextAsync(Path.Combine(app.FullName, "Program.cs"), snippet, TestContext.Current.CancellationToken);

            var (exitCode, output) = await BuildAsync(app.FullName, TimeSpan.FromMinutes(5));

            Assert.True(exitCode == 0, $"The snippet under '{Marker}' in docs/library.md does not build:\n{output}");
            Assert.Matches(@"\b0 Warning\(s\)", output);
        }
        finally
        {
            app.Delete(recursive: true);
        }
    }

    /// <summary>The first C# block after the marker heading.</summary>
    private static string ProgramSnippet(string markdown)
    {
        var start = markdown.IndexOf("\n" + Marker + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/library.md has no '{Marker}' heading.");
        var block = CSharpBlock().Match(markdown, start);
        Assert.True(block.Success, $"docs/library.md has no ```csharp block under '{Marker}'.");
        return block.Groups["code"].Value;
    }

    private static async Task<(int ExitCode, string Output)> BuildAsync(string directory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["build", "-nologo", "-v", "quiet", "-clp:Summary"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet build.");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet build of the docs snippet did not finish in {timeout}:\n{output}");
        }

        process.WaitForExit(); // the last output lines
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
