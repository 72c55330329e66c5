using EchoApi.Settings;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace EchoApi.Echo;

/// <summary><c>POST /echo</c>: the body comes back, byte for byte, streamed.</summary>
public static class EchoEndpoints
{
    /// <summary>Maps <c>POST /echo</c>.</summary>
    public static RouteGroupBuilder MapEcho(this RouteGroupBuilder group)
    {
        group.MapPost("/echo", EchoAsync)
            .WithName("Echo")
            .WithTags("Echo")
            .WithSummary("Echoes the request body")
            .WithDescription("Answers with exactly the bytes received and the same Content-Type (application/octet-stream when none was sent). Bodies over EchoApi:MaxEchoBytes get 413.");
        return group;
    }

    internal static async Task<Results<EmptyHttpResult, ProblemHttpResult>> EchoAsync(HttpContext context, IOptions<LimitSettings> limits, IHostApplicationLifetime lifetime, ILogger<LimitSettings> logger)
    {
        var request = context.Request;
        var response = context.Response;
        var limit = limits.Value.MaxEchoBytes;
        if (request.ContentLength > limit)
        {
            return TooLarge(limit, $"The body is {request.ContentLength} bytes");
        }

        // Kestrel enforces the limit while reading too, which is what catches chunked bodies.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        response.ContentType = request.ContentType ?? "application/octet-stream";
        response.ContentLength = request.ContentLength;
        try
        {
            await request.BodyReader.CopyToAsync(response.BodyWriter, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            if (!response.HasStarted)
            {
                response.ContentLength = null;
                return TooLarge(limit, "The chunked body grew past the limit");
            }

            // Part of the echo is already on its way under a 200: the only honest end is a broken
            // response, which the client sees as an incomplete chunked body, not as a complete echo.
            logger.EchoCutOff(limit, context.Connection.Id);
            context.Abort();
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Kestrel aborts what still runs at HostOptions.ShutdownTimeout, and the read or write in flight
            // fails with an OperationCanceledException before RequestAborted is even signalled. That is this
            // service's own decision, not a fault: one warning, and the connection is gone.
            logger.EchoCutOffAtShutdown(context.Connection.Id, limits.Value.ShutdownTimeout);
            context.Abort();
        }
        catch (BadHttpRequestException e)
        {
            // The client broke off its own body (it disconnected, or sent bad chunking): nobody is left to
            // answer on a dead connection, and a started echo cannot turn into an error.
            logger.EchoBrokenOff(context.Connection.Id, e.Message);
            if (!response.HasStarted)
            {
                response.ContentLength = null;
                return TypedResults.Problem(statusCode: e.StatusCode, title: "Bad Request", detail: e.Message);
            }

            context.Abort();
        }
        catch (IOException e) when (e.InnerException is OverflowException)
        {
            // A chunk size that does not fit (say fffffffffffffffff): Kestrel throws a plain IOException for
            // it, not the BadHttpRequestException it throws for every other bad chunk, so nothing would turn it
            // into a 400. The body's framing is lost with it: the connection cannot carry another request.
            logger.EchoBrokenOff(context.Connection.Id, e.Message);
            if (!response.HasStarted)
            {
                response.ContentLength = null;
                response.Headers.Connection = "close";
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad Request", detail: "A chunk size in the chunked body is too large to be a number.");
            }

            context.Abort();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            logger.EchoBrokenOff(context.Connection.Id, "the connection was closed");
        }

        return TypedResults.Empty;
    }

    private static ProblemHttpResult TooLarge(long limit, string what) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Payload Too Large",
        detail: $"{what}; this service echoes at most {limit} bytes (EchoApi:MaxEchoBytes).");
}
