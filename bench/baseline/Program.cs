using System.Net.WebSockets;
using Baseline;
using Microsoft.AspNetCore.Connections.Features;

// The least Kestrel needs to do EchoApi's job: the owner check in one connection middleware, no
// authentication or authorization. EchoApi / this is what EchoApi's gate, authentication and
// authorization cost together (bench/README.md).
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Baseline SOCKET_PATH");
    return 2;
}

var socketPath = args[0];
var owner = Libc.GetEffectiveUserId();
File.Delete(socketPath); // the bench gives it a fresh path in its own directory

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.MaxRequestBodySize = null; // the stream scenario posts 256 MiB
    kestrel.ListenUnixSocket(socketPath, listen => listen.Use(next => connection =>
    {
        // SOL_SOCKET, SO_PEERCRED: struct ucred { pid, uid, gid }, read once per connection.
        Span<byte> ucred = stackalloc byte[12];
        connection.Features.Get<IConnectionSocketFeature>()!.Socket.GetRawSocketOption(1, 17, ucred);
        connection.Features.Set(new PeerUid(BitConverter.ToUInt32(ucred[4..])));
        return next(connection);
    }));
});

var app = builder.Build();
app.UseWebSockets();
app.MapGet("/healthz", context => context.Response.WriteAsync("ok", context.RequestAborted));
app.MapPost("/echo", Echo);
app.MapGet("/echo/ws", EchoWebSocket);
await app.RunAsync();
return 0;

// HttpContext.Features falls back to the connection's features.
bool IsOwner(HttpContext context) => context.Features.Get<PeerUid>()?.Uid == owner;

async Task Echo(HttpContext context)
{
    if (!IsOwner(context))
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return;
    }

    context.Response.ContentType = context.Request.ContentType ?? "application/octet-stream";
    context.Response.ContentLength = context.Request.ContentLength;
    await context.Request.BodyReader.CopyToAsync(context.Response.BodyWriter, context.RequestAborted);
}

// Each line of a text message comes back as its own text message "> line"; binary comes back unchanged.
async Task EchoWebSocket(HttpContext context)
{
    if (!IsOwner(context) || !context.WebSockets.IsWebSocketRequest)
    {
        context.Response.StatusCode = IsOwner(context) ? StatusCodes.Status400BadRequest : StatusCodes.Status403Forbidden;
        return;
    }

    var aborted = context.RequestAborted;
    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var message = new byte[64 * 1024];
    var answer = new byte[message.Length + 2];
    "> "u8.CopyTo(answer);
    while (true)
    {
        var length = 0;
        ValueWebSocketReceiveResult received;
        do
        {
            if (length == message.Length)
            {
                await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, null, aborted);
                return;
            }

            received = await socket.ReceiveAsync(message.AsMemory(length), aborted);
            length += received.Count;
        }
        while (!received.EndOfMessage);

        if (received.MessageType == WebSocketMessageType.Close)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, aborted);
            return;
        }

        if (received.MessageType == WebSocketMessageType.Binary)
        {
            await socket.SendAsync(message.AsMemory(0, length), WebSocketMessageType.Binary, true, aborted);
            continue;
        }

        // A final newline ends the last line rather than starting an empty one, as in EchoApi.
        var text = message.AsMemory(0, length);
        if (!text.IsEmpty && text.Span[^1] == (byte)'\n')
        {
            text = text[..^1];
        }

        while (true)
        {
            var newline = text.Span.IndexOf((byte)'\n');
            var line = newline < 0 ? text : text[..newline];
            if (!line.IsEmpty && line.Span[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            line.CopyTo(answer.AsMemory(2));
            await socket.SendAsync(answer.AsMemory(0, line.Length + 2), WebSocketMessageType.Text, true, aborted);
            if (newline < 0)
            {
                break;
            }

            text = text[(newline + 1)..];
        }
    }
}
