using System.Text;
using EchoApi.OpenApi;
using EchoApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.Extensions.DependencyInjection;

namespace EchoApi.Tests;

/// <summary>
/// The service serves a committed OpenAPI document (src/EchoApi/OpenApi/openapi.v1.json) instead of running
/// ASP.NET Core's generator, which is left out of the native binary. These tests run the generator, with the
/// service's own endpoints and transformers, and hold the file and the serving of it to what it makes.
/// </summary>
[Collection(OpenApiGeneratorTests.Name)]
public sealed class OpenApiDocumentFileTests
{
    private const string FileName = "src/EchoApi/OpenApi/openapi.v1.json";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheCommittedDocumentIsWhatTheGeneratorMakes()
    {
        byte[] generated;
        using (var server = Start(generate: true))
        {
            Assert.NotNull(server.Services.GetService<IApiDescriptionGroupCollectionProvider>()); // the generator's API explorer runs
            generated = await GetDocumentAsync(server, host: null);
        }

        var path = Path.Combine(CurlExamplesTests.RepositoryRoot(), FileName);
        var committed = await File.ReadAllBytesAsync(path, Cancel);
        if (generated.AsSpan().SequenceEqual(committed))
        {
            return;
        }

        var at = generated.AsSpan().CommonPrefixLength(committed);
        var context = $"the generator writes \"{Excerpt(generated, at)}\", the file has \"{Excerpt(committed, at)}\"";
        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllBytesAsync(path, generated, Cancel);
            Assert.Fail($"Rewrote {FileName} with the generator's document (first difference at byte {at}: {context}). Review the diff, commit it, and rebuild: the service embeds the file.");
        }

        Assert.Fail($"{FileName} is not what ASP.NET Core's generator makes from the service's endpoints and transformers (first difference at byte {at}: {context}). "
            + "To rewrite it: UPDATE_OPENAPI=1 dotnet test tests/EchoApi.Tests --filter FullyQualifiedName~OpenApiDocumentFileTests, then review the diff and commit it.");
    }

    [Fact]
    public async Task EveryClientGetsTheBytesTheGeneratorWouldSendIt()
    {
        using var generator = Start(generate: true);
        using var file = Start(generate: false);
        Assert.Null(file.Services.GetService<IApiDescriptionGroupCollectionProvider>()); // the service runs no generator

        // The generator's one per-request part is the server URL, which Swagger UI's "Try it out" follows: curl on the
        // socket says localhost, a browser through the socat bridge names the bridge's address and port.
        foreach (var host in (string?[])[null, "localhost:8080", "127.0.0.1:18080", "[::1]:8080"])
        {
            var expected = await GetDocumentAsync(generator, host);
            var served = await GetDocumentAsync(file, host);

            Assert.Contains($"\"url\": \"http://{host ?? "localhost"}/\"", Encoding.UTF8.GetString(served), StringComparison.Ordinal);
            Assert.True(expected.AsSpan().SequenceEqual(served), $"Host {host ?? "localhost"}: the served document differs from the generator's at byte {expected.AsSpan().CommonPrefixLength(served)}.");
        }
    }

    [Fact]
    public async Task TheServedDocumentHasTheGeneratorsContentType()
    {
        using var generator = Start(generate: true);
        using var file = Start(generate: false);

        Assert.Equal(await ContentTypeAsync(generator), await ContentTypeAsync(file));
        Assert.Equal("application/json; charset=utf-8", await ContentTypeAsync(file));
    }

    private static EchoApiFactory Start(bool generate)
    {
        AppContext.SetSwitch(EchoApiOpenApi.GenerateDocumentSwitch, generate);
        try
        {
            return EchoApiFactory.Start();
        }
        finally
        {
            AppContext.SetSwitch(EchoApiOpenApi.GenerateDocumentSwitch, false);
        }
    }

    private static async Task<byte[]> GetDocumentAsync(EchoApiFactory server, string? host)
    {
        using var client = server.CreateUnixClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, EchoApiOpenApi.DocumentPath);
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        using var response = await client.SendAsync(request, Cancel);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync(Cancel);
    }

    private static async Task<string?> ContentTypeAsync(EchoApiFactory server)
    {
        using var client = server.CreateUnixClient();
        using var response = await client.GetAsync(EchoApiOpenApi.DocumentPath, Cancel);
        return response.Content.Headers.ContentType?.ToString();
    }

    private static string Excerpt(byte[] bytes, int at) => Encoding.UTF8.GetString(bytes.AsSpan(at, Math.Min(60, bytes.Length - at))).Replace("\n", "\\n", StringComparison.Ordinal);
}
