using System.Net;
using System.Text.Json;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>Swagger UI through a socat bridge, in a real browser, and behind the owner policy.</summary>
public sealed class SwaggerUiTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TryItOutOnPostEchoWorksThroughTheBridgeInChromium()
    {
        var browserTests = Path.Combine(CurlExamplesTests.RepositoryRoot(), "tests", "browser");
        if (!File.Exists("/usr/bin/chromium") || !Directory.Exists(Path.Combine(browserTests, "node_modules", "playwright-core")))
        {
            Assert.Skip("Skipped: needs Debian's chromium and `npm ci --prefix tests/browser` (.ci/run installs both).");
        }

        using var server = EchoApiFactory.Start();
        await using var bridge = await SocatBridge.StartAsync(server.SocketPath);
        var screenshot = Environment.GetEnvironmentVariable("ECHOAPI_SCREENSHOT") ?? Path.Combine(server.Directory.Path, "swagger-ui.png");
        const string Body = "hello from Swagger UI, through socat";

        var result = await Command.RunAsync(
            ["env", $"SWAGGER_URL={bridge.BaseAddress}swagger/", $"ECHO_BODY={Body}", $"SCREENSHOT={screenshot}", "node", Path.Combine(browserTests, "swagger-try-it-out.mjs")],
            timeout: TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, $"The browser run failed: {result.Stderr}{result.StdoutText}");
        var page = JsonDocument.Parse(result.StdoutText.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(200, page.GetProperty("pageStatus").GetInt32());
        Assert.Equal("EchoApi", page.GetProperty("title").GetString());
        Assert.Equal("200", page.GetProperty("status").GetString());
        Assert.Equal(Body, page.GetProperty("echoed").GetString());
        Assert.True(new FileInfo(screenshot).Length > 10_000, "The screenshot should be a real picture of the page.");
    }

    [Fact]
    public async Task OwnerGetsTheUiAndTheDocumentThroughTheBridge()
    {
        using var server = EchoApiFactory.Start();
        await using var bridge = await SocatBridge.StartAsync(server.SocketPath);
        using var client = bridge.CreateClient();

        var ui = await client.GetStringAsync("/swagger/index.html", Cancel);
        using var document = await client.GetAsync("/openapi/v1.json", Cancel);

        Assert.Contains("swagger-ui", ui, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
    }

    [Fact]
    public async Task ForeignUidsOwnBridgeGets403ForTheUiAndTheDocument()
    {
        Privileges.RequireRoot("running a bridge as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll();
        await using var bridge = await SocatBridge.StartAsync(server.SocketPath, Command.AsUser(Privileges.Nobody));
        using var client = bridge.CreateClient();

        foreach (var path in (string[])["/swagger/index.html", "/swagger/", "/openapi/v1.json"])
        {
            using var response = await client.GetAsync(path, Cancel);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("swagger-ui", await response.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
        }
    }
}
