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
            .WithDescription("Upgrade to a WebSocket. Each line of a text message comes back as its own text message '> line'; binary messages come back unchanged. Messages over EchoApi:MaxMessageBytes close with 1009, invalid UTF-8 with 1007, an idle peer or a shutdown with 1001.");
        return group;
    }

    internal static async Task<Results<EmptyHttpResult, ProblemHttpResult>> EchoAsync(
        HttpContext context, IOptions<EchoApiOptions> options, IHostApplicationLifetime lifetime, ILogger<WebSocketLineEcho> logger)
    {
        // The owner policy has already run: a refused peer got 403 and never reaches the upgrade.
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.Headers.Upgrade = "websocket";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status426UpgradeRequired,
                title: "Upgrade Required",
                detail: "GET /echo/ws speaks WebSocket only: connect with a WebSocket client (websocat, wscat, ClientWebSocket).");
        }

        var settings = options.Value;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = settings.KeepAliveInterval,
            KeepAliveTimeout = settings.IdleTimeout,
        });
        using var echo = new WebSocketLineEcho(socket, settings.MaxMessageBytes, settings.IdleTimeout, context.Connection.Id, logger);
        await echo.RunAsync(context.RequestAborted, lifetime.ApplicationStopping);
        return TypedResults.Empty;
    }
}
