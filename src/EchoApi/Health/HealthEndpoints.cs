namespace EchoApi.Health;

/// <summary><c>GET /healthz</c>: liveness, for any local peer.</summary>
public static class HealthEndpoints
{
    /// <summary>Maps <c>GET /healthz</c>, open to every peer that can reach the socket.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => "ok")
            .AllowAnonymous()
            .WithName("Health")
            .WithTags("Health")
            .WithSummary("Liveness: answers ok");
        return routes;
    }
}
