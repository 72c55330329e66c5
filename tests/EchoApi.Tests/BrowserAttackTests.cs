using System.Text.Json;
using EchoApi.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace EchoApi.Tests;

/// <summary>
/// What a web page the owner visits can do through the socat bridge, in the real Chromium: through the
/// bridge every request carries the owner's uid, so only the local request guard stands in the way.
/// </summary>
public sealed class BrowserAttackTests
{
    private const string Marker = "csrf-marker";

    [Fact]
    public async Task CrossSitePagesAndRebindingAreRefusedInChromiumAndEchoNeverRunsForThem()
    {
        var browserTests = Path.Combine(CurlExamplesTests.RepositoryRoot(), "tests", "browser");
        if (!File.Exists("/usr/bin/chromium") || !Directory.Exists(Path.Combine(browserTests, "node_modules", "playwright-core")))
        {
            Assert.Skip("Skipped: needs Debian's chromium and `npm ci --prefix tests/browser` (.ci/run installs both).");
        }

        // The framework's own request and endpoint logs say, on the server's side, which requests came
        // in, how each ended, and which endpoints ran.
        using var server = EchoApiFactory.Start(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore.Routing.EndpointMiddleware"] = "Information",
        });
        await using var bridge = await SocatBridge.StartAsync(server.SocketPath);

        var result = await Command.RunAsync(
            ["env", $"BRIDGE_URL={bridge.BaseAddress}", $"MARKER={Marker}", "node", Path.Combine(browserTests, "cross-site.mjs")],
            timeout: TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, $"The browser run failed: {result.Stderr}{result.StdoutText}");
        var page = JsonDocument.Parse(result.StdoutText.Trim().Split('\n')[^1]).RootElement;
        var logs = server.Logs.Entries;
        var log = string.Join('\n', logs.Select(e => $"{e.Level} {e.Category}: {e.Message}"));
        var bridgeUrl = $"http://127.0.0.1:{bridge.Port}";
        var reboundUrl = $"http://attacker.example:{bridge.Port}";

        // The page on another origin: its POSTs (no-cors fetch, CORS fetch, form), its read of /whoami and
        // its WebSocket all reached the service through the bridge, and each was refused with 403 before
        // any endpoint ran. The WebSocket never opened.
        var crossSite = page.GetProperty("crossSite");
        Assert.Equal("opaque", crossSite.GetProperty("noCorsPost").GetProperty("type").GetString());
        Assert.True(crossSite.GetProperty("corsPost").TryGetProperty("error", out _), crossSite.ToString());
        Assert.DoesNotContain("open", crossSite.GetProperty("webSocket").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("submitted", crossSite.GetProperty("form").GetString());
        Assert.True(CountFinished(logs, $"POST {bridgeUrl}/echo - 403") >= 3, log); // no-cors, CORS, form
        Assert.Equal(1, CountFinished(logs, $"GET {bridgeUrl}/whoami - 403"));
        Assert.Equal(1, CountFinished(logs, $"GET {bridgeUrl}/echo/ws - 403"));
        // The first refusal of a uid is always logged (later ones in the same second are only counted).
        Assert.Contains(logs, e => e.Message.Contains($"a cross-site browser request (Origin '{page.GetProperty("attackerOrigin").GetString()}'", StringComparison.Ordinal));

        // The page under a rebound name is same-origin with the bridge as far as Chromium knows, and reads
        // every answer: each is the 421 problem, never the owner's identity, document or echo.
        var rebinding = page.GetProperty("rebinding");
        Assert.Equal(421, rebinding.GetProperty("navigationStatus").GetInt32());
        foreach (var name in (string[])["whoami", "openapi", "echo"])
        {
            var answer = rebinding.GetProperty(name);
            Assert.Equal(421, answer.GetProperty("status").GetInt32());
            Assert.Equal("Misdirected Request", JsonDocument.Parse(answer.GetProperty("body").GetString()!).RootElement.GetProperty("title").GetString());
        }

        Assert.True(CountFinished(logs, $"POST {reboundUrl}/echo - 421") >= 1, log);
        Assert.DoesNotContain(logs, e => e.Message.Contains($"{reboundUrl}/", StringComparison.Ordinal) && e.Message.Contains(" - 200 ", StringComparison.Ordinal));

        // The bridge's own page still echoes, same-origin: exactly the one echo the service ran, and no
        // /whoami, no WebSocket.
        var control = page.GetProperty("control");
        Assert.Equal(200, control.GetProperty("status").GetInt32());
        Assert.Equal($"{Marker}-control", control.GetProperty("body").GetString());
        Assert.Single(logs, e => e.Message.StartsWith("Executing endpoint 'HTTP: POST /echo", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, e => e.Message.StartsWith("Executing endpoint 'HTTP: GET /whoami", StringComparison.Ordinal)
            || e.Message.StartsWith("Executing endpoint 'HTTP: GET /echo/ws", StringComparison.Ordinal));
    }

    // How many requests the hosting layer saw end as "METHOD URL - STATUS".
    private static int CountFinished(IReadOnlyList<(LogLevel Level, string Category, string Message)> logs, string request)
        => logs.Count(e => e.Message.StartsWith("Request finished HTTP/1.1 " + request + " ", StringComparison.Ordinal));
}
