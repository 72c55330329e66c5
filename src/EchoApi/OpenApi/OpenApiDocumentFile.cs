using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http.Extensions;

namespace EchoApi.OpenApi;

/// <summary>
/// The committed OpenAPI document (<c>OpenApi/openapi.v1.json</c>, embedded), served as ASP.NET Core's generator
/// would serve it: the generator's code and type data stay out of the native binary, about 1.8 MiB of its idle
/// memory (bench/experiments/idle-memory-and-start.md). OpenApiDocumentFileTests keeps the file what the
/// generator makes.
/// </summary>
internal sealed class OpenApiDocumentFile
{
    /// <summary>The embedded resource's name (EchoApi.csproj).</summary>
    public const string ResourceName = "EchoApi.OpenApi.openapi.v1.json";

    // The generator's only per-request part: the server URL, the one a client used. The file has the one
    // `curl --unix-socket` sends (http://localhost/); a bridge's client gets its own, so Swagger UI's
    // "Try it out" goes back through the bridge.
    private static readonly byte[] ServerUrlStart = "\n  \"servers\": [\n    {\n      \"url\": \""u8.ToArray();

    private readonly byte[] _document;
    private readonly int _urlStart;
    private readonly int _urlEnd;

    private OpenApiDocumentFile(byte[] document, int urlStart, int urlEnd)
    {
        _document = document;
        _urlStart = urlStart;
        _urlEnd = urlEnd;
    }

    /// <summary>Reads the embedded document; a document without the generator's <c>servers</c> entry is a build error, said at start.</summary>
    public static OpenApiDocumentFile Load()
    {
        using var stream = typeof(OpenApiDocumentFile).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded OpenAPI document {ResourceName} is missing from the build.");
        var document = new byte[stream.Length];
        stream.ReadExactly(document);

        var marker = document.AsSpan().IndexOf(ServerUrlStart);
        var urlStart = marker + ServerUrlStart.Length;
        var urlLength = marker < 0 ? -1 : document.AsSpan(urlStart).IndexOf((byte)'"');
        if (urlLength < 0)
        {
            throw new InvalidOperationException($"The embedded OpenAPI document {ResourceName} has no servers entry where the generator writes one.");
        }

        return new OpenApiDocumentFile(document, urlStart, urlStart + urlLength);
    }

    /// <summary>Writes the document with this request's server URL, as <c>MapOpenApi</c> does.</summary>
    public async Task WriteAsync(HttpContext context)
    {
        var request = context.Request;
        var url = Encoding.UTF8.GetBytes(JsonString(UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase)));
        var response = context.Response;
        response.ContentType = "application/json;charset=utf-8";
        response.ContentLength = _urlStart + url.Length + (_document.Length - _urlEnd);

        // Not started, Kestrel's writer refused a write over several of its buffers (ArgumentOutOfRangeException);
        // started, it takes the whole document, and one flush sends it.
        await response.StartAsync(context.RequestAborted);
        var body = response.BodyWriter;
        body.Write(_document.AsSpan(0, _urlStart));
        body.Write(url);
        body.Write(_document.AsSpan(_urlEnd));
        await body.FlushAsync(context.RequestAborted);
    }

    // Kestrel lets no quote or backslash into a Host header; escaped anyway, as the generator's writer would.
    private static string JsonString(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
