using EchoApi.Settings;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EchoApi.Echo;

/// <summary><c>GET /echo/ws</c>: line echo over a WebSocket, authorized before the upgrade.</summary>
public static class WebSocketEchoEndpoints
{
    /// <summary>Maps <c>GET /echo/ws</c>.</summary>
    public static RouteGroupBuilder MapWebSocketEcho(this RouteGroupBuilder group)
    {
        group.MapGet("/echo/ws", EchoAsync)
            .WithName("EchoWebSocket")
            .WithTags("Echo")
            .WithSummary("Line echo over a WebSocket")
            .WithDescription("Upgrade to a WebSocket. Each line of a text message comes back as its own text message '> line'; binary messages come back unchanged. Messages over EchoApi:MaxMessageBytes close with 1009, invalid UTF-8 with 1007, a frame that breaks the protocol with 1002, an idle peer or a shutdown with 1001. A request that is not a WebSocket handshake gets 426, a malformed handshake 400.");
        return group;
    }

    internal static async Task<Results<EmptyHttpResult, ProblemHttpResult>> EchoAsync(
        HttpContext context, IOptions<WebSocketSettings> settings, IOptions<LimitSettings> limits, IHostApplicationLifetime lifetime, ILogger<WebSocketLineEcho> logger)
    {
        // The owner policy has already run: a refused peer got 403 and never reaches the handshake.
        if (WebSocketHandshake.Refusal(context) is { } refusal)
        {
            return refusal;
        }

        Stream upgraded;
        try
        {
            upgraded = await WebSocketHandshake.AcceptAsync(context);
        }
        catch (InvalidOperationException e)
        {
            // Kestrel's MaxConcurrentUpgradedConnections: refused before anything was sent.
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service Unavailable", detail: $"{e.Message} (EchoApi:MaxConnections); try again later.");
        }

        using var echo = new WebSocketLineEcho(upgraded, settings.Value, limits.Value.IdleTimeout, context.Connection.Id, logger);
        await echo.RunAsync(context.RequestAborted, lifetime.ApplicationStopping);
        return TypedResults.Empty;
    }
}
