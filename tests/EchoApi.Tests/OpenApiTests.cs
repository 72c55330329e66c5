using System.Text.Json;
using EchoApi.Tests.Infrastructure;
using Microsoft.OpenApi;

namespace EchoApi.Tests;

/// <summary>The OpenAPI document parses and describes every route and answer.</summary>
public sealed class OpenApiTests
{
    [Fact]
    public async Task DocumentParsesAndListsEveryRouteAndStatus()
    {
        using var server = EchoApiFactory.Start();
        using var client = server.CreateUnixClient();
        var json = await client.GetStringAsync("/openapi/v1.json", TestContext.Current.CancellationToken);

        var read = OpenApiDocument.Parse(json, "json");

        Assert.Empty(read.Diagnostic?.Errors ?? []);
        var document = Assert.IsType<OpenApiDocument>(read.Document);
        Assert.Contains("Identity comes from the socket", document.Info.Description, StringComparison.Ordinal);
        Assert.Contains("/echo/ws", document.Info.Description, StringComparison.Ordinal);
        Assert.Contains("nc -U", document.Info.Description, StringComparison.Ordinal);
        Assert.Contains("bridge", document.Info.Description, StringComparison.Ordinal);

        AssertResponses(document, "/echo", HttpMethod.Post, "200", "401", "403", "413");
        AssertResponses(document, "/whoami", HttpMethod.Get, "200", "401", "403");
        AssertResponses(document, "/healthz", HttpMethod.Get, "200");
        AssertResponses(document, "/echo/ws", HttpMethod.Get, "101", "400", "401", "403", "426");

        var echo = document.Paths["/echo"].Operations![HttpMethod.Post];
        Assert.Equal(["text/plain", "application/octet-stream"], echo.RequestBody!.Content!.Keys);
        Assert.Equal("binary", echo.RequestBody.Content["application/octet-stream"].Schema!.Format);
        Assert.Equal("application/problem+json", Assert.Single(echo.Responses!["413"].Content!.Keys));
        Assert.Contains("uid", document.Components!.Schemas!["WhoAmIResponse"].Properties!.Keys);
        Assert.Contains("ProblemDetails", document.Components.Schemas.Keys);
    }

    [Fact]
    public async Task WhoAmIExampleHasTheShapeTheServiceAnswersWith()
    {
        using var server = EchoApiFactory.Start();
        using var client = server.CreateUnixClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json", TestContext.Current.CancellationToken));
        using var answer = JsonDocument.Parse(await client.GetStringAsync("/whoami", TestContext.Current.CancellationToken));

        var example = document.RootElement.GetProperty("paths").GetProperty("/whoami").GetProperty("get").GetProperty("responses")
            .GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("example");

        Assert.Equal(
            answer.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.ValueKind)),
            example.EnumerateObject().Select(p => (p.Name, p.Value.ValueKind)));
    }

    private static void AssertResponses(OpenApiDocument document, string path, HttpMethod method, params string[] statuses)
    {
        Assert.True(document.Paths.TryGetValue(path, out var item), $"{path} is missing from the document.");
        var operation = item.Operations![method];
        Assert.Equal(statuses.Order(), operation.Responses!.Keys.Order());
    }
}
