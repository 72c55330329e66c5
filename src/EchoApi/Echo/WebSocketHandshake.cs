using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;

namespace EchoApi.Echo;

/// <summary>
/// The server's half of the WebSocket opening handshake (RFC 6455 §4.2), done here rather than by
/// <c>UseWebSockets()</c> for two reasons: every refused handshake gets the answer the RFC names (the
/// middleware answers them all alike), and the connection after the 101 is ours to put the
/// <see cref="ClientFrameGuardStream"/> under the framework's WebSocket.
/// </summary>
internal static class WebSocketHandshake
{
    /// <summary>The one protocol version there is (RFC 6455 §4.1).</summary>
    public const string Version = "13";

    private const int KeyLength = 24; // base64 of 16 bytes
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>The answer to a request that is not a handshake this service accepts; <see langword="null"/> for one it does.</summary>
    public static ProblemHttpResult? Refusal(HttpContext context)
    {
        var headers = context.Request.Headers;
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is null || !HasToken(headers.Upgrade, "websocket"))
        {
            return UpgradeRequired(context, "GET /echo/ws speaks WebSocket only: connect with a WebSocket client (websocat, wscat, ClientWebSocket).");
        }

        if (headers.SecWebSocketVersion is not [Version])
        {
            // RFC 6455 §4.4: name the versions the server speaks.
            var sent = headers.SecWebSocketVersion.Count == 0 ? "no Sec-WebSocket-Version" : $"Sec-WebSocket-Version {headers.SecWebSocketVersion}";
            return UpgradeRequired(context, $"The handshake has {sent}; this service speaks WebSocket version {Version} (RFC 6455).");
        }

        if (!upgrade.IsUpgradableRequest)
        {
            return BadHandshake("A WebSocket handshake is an HTTP/1.1 GET with Connection: Upgrade and no body.");
        }

        if (!IsValidKey(headers.SecWebSocketKey))
        {
            return BadHandshake("Sec-WebSocket-Key must be one base64 value of 16 bytes (RFC 6455 §4.1).");
        }

        return null;
    }

    /// <summary>Sends the 101 for a handshake that <see cref="Refusal"/> passed; returns the connection after it.</summary>
    /// <exception cref="InvalidOperationException">Kestrel's limit of upgraded connections is reached; nothing has been sent.</exception>
    public static Task<Stream> AcceptAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.Upgrade = "websocket";
        response.Headers.SecWebSocketAccept = AcceptKey(context.Request.Headers.SecWebSocketKey.ToString());
        return context.Features.GetRequiredFeature<IHttpUpgradeFeature>().UpgradeAsync(); // sets 101 and Connection: Upgrade
    }

    private static ProblemHttpResult UpgradeRequired(HttpContext context, string detail)
    {
        context.Response.Headers.Upgrade = "websocket";
        context.Response.Headers.SecWebSocketVersion = Version;
        return TypedResults.Problem(statusCode: StatusCodes.Status426UpgradeRequired, title: "Upgrade Required", detail: detail);
    }

    private static ProblemHttpResult BadHandshake(string detail)
        => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad WebSocket handshake", detail: detail);

    private static bool HasToken(StringValues values, string token)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(','))
            {
                if (part.Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsValidKey(StringValues key)
    {
        Span<byte> nonce = stackalloc byte[16];
        return key is [{ Length: KeyLength } value] && Convert.TryFromBase64String(value, nonce, out var written) && written == nonce.Length;
    }

    private static string AcceptKey(string key)
    {
        Span<byte> input = stackalloc byte[KeyLength + AcceptGuid.Length];
        Encoding.ASCII.GetBytes(key, input);
        Encoding.ASCII.GetBytes(AcceptGuid, input[KeyLength..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
#pragma warning disable CA5350 // RFC 6455 §4.2.2 prescribes SHA-1 here; it proves the server read the handshake, it protects nothing.
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        return Convert.ToBase64String(hash);
    }
}
