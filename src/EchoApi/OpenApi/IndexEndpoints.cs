namespace EchoApi.OpenApi;

/// <summary><c>GET /</c>: where to look next, instead of a bare 404.</summary>
public static class IndexEndpoints
{
    /// <summary>The answer to <c>GET /</c>.</summary>
    public const string Text = "EchoApi: POST /echo, GET /echo/ws (WebSocket), GET /whoami, GET /healthz. Try them in Swagger UI at /swagger; the OpenAPI document is /openapi/v1.json.\n";

    /// <summary>Maps <c>GET /</c>.</summary>
    public static RouteGroupBuilder MapIndex(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/", () => TypedResults.Text(Text, "text/plain; charset=utf-8"))
            .WithName("Index")
            .WithTags("Documentation")
            .WithSummary("Where the API is described")
            .Produces<string>(StatusCodes.Status200OK, "text/plain");
        return group;
    }
}
