using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>curl-examples.sh, the tour a new user takes, runs against a live server so it cannot rot.</summary>
public sealed class CurlExamplesTests
{
    [Fact]
    public async Task EveryStepOfTheTourPasses()
    {
        using var server = EchoApiFactory.StartOpenToAll();
        var script = Path.Combine(RepositoryRoot(), "curl-examples.sh");

        var result = await Command.RunAsync(
            ["env", $"ECHOAPI_SOCKET={server.SocketPath}", $"ECHOAPI_LINE_SOCKET={server.LineSocketPath}", $"ECHOAPI_BRIDGE_PORT={SocatBridge.FreePort()}", "bash", script],
            timeout: TimeSpan.FromMinutes(2));

        var output = result.StdoutText;
        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(result.ExitCode == 0, $"curl-examples.sh failed ({result.ExitCode}):\n{output}\n{result.Stderr}");
        Assert.Contains("All steps passed.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL:", output, StringComparison.Ordinal);
        Assert.Matches("PASS: (websocat|wscat): each line echoed", output);
        Assert.Contains("PASS: nc: line echoed", output, StringComparison.Ordinal);
        Assert.Contains("PASS: echo through the bridge", output, StringComparison.Ordinal);
        if (Privileges.IsRoot)
        {
            Assert.Contains("PASS: another user gets 403", output, StringComparison.Ordinal);
        }
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EchoApi.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("EchoApi.sln not found above the test output.");
    }
}
