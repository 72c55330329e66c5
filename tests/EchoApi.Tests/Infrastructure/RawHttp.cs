using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// A full-duplex HTTP/1.1 client on a raw Unix socket: it sends the body while it reads the answer,
/// which a streaming echo of a large body needs (HttpClient sends the whole body first).
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body);

    public static async Task<Response> PostAsync(string socketPath, string path, byte[] body, string? contentType = null, bool chunked = false, TimeSpan? pace = null, CancellationToken cancellationToken = default)
    {
        using var socket = await UnixHttp.ConnectAsync(socketPath, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(UnixHttp.Timeout);

        var head = new StringBuilder($"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if (contentType is not null)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\n");
        }

        head.Append(chunked ? "Transfer-Encoding: chunked\r\n\r\n" : $"Content-Length: {body.Length}\r\n\r\n");

        var send = Task.Run(async () =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), timeout.Token);
            const int Piece = 64 * 1024;
            for (var offset = 0; offset < body.Length; offset += Piece)
            {
                var length = Math.Min(Piece, body.Length - offset);
                if (chunked)
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"{length:x}\r\n"), timeout.Token);
                }

                await stream.WriteAsync(body.AsMemory(offset, length), timeout.Token);
                if (pace is { } delay)
                {
                    await Task.Delay(delay, timeout.Token); // a slow sender, so that the request is long in flight
                }
                if (chunked)
                {
                    await stream.WriteAsync("\r\n"u8.ToArray(), timeout.Token);
                }
            }

            if (chunked)
            {
                await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), timeout.Token);
            }
        }, timeout.Token);

        var received = new MemoryStream();
        await ReadToEndAsync(stream, received, timeout.Token);
        try
        {
            await send;
        }
        catch (IOException) when (received.Length > 0)
        {
            // The server answered before it had read the whole body (a 413, a 403) and closed: the rest of
            // the body had nowhere to go. The answer is what the test looks at.
        }

        return Parse(received.ToArray());
    }

    /// <summary>
    /// Sends <paramref name="request"/>, head and body, in one write (so that it reaches the server whole,
    /// as one read when it is small) and reads the answer until the server closes.
    /// </summary>
    public static async Task<Response> ExchangeAsync(string socketPath, byte[] request, CancellationToken cancellationToken = default)
    {
        using var socket = await UnixHttp.ConnectAsync(socketPath, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(UnixHttp.Timeout);
        await stream.WriteAsync(request, timeout.Token);
        var received = new MemoryStream();
        await ReadToEndAsync(stream, received, timeout.Token);
        return Parse(received.ToArray());
    }

    /// <summary>
    /// Reads until the server closes. A server that answers before reading the whole request and then closes
    /// leaves unread bytes in its socket, and the kernel reports that close to the client as a reset once the
    /// answer has been read (as TCP does): an answer already received is kept, as curl keeps it.
    /// </summary>
    private static async Task ReadToEndAsync(NetworkStream stream, MemoryStream received, CancellationToken cancellationToken)
    {
        try
        {
            await stream.CopyToAsync(received, cancellationToken);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset } && received.Length > 0)
        {
        }
    }

    /// <summary>
    /// Opens <paramref name="count"/> connections one after the other, each asking <c>GET /healthz</c>;
    /// returns how many got an answer (any answer: the others were closed at accept, unanswered).
    /// </summary>
    public static async Task<int> CountAnsweredConnectsAsync(string socketPath, int count, CancellationToken cancellationToken)
    {
        var answered = 0;
        for (var i = 0; i < count; i++)
        {
            using var socket = await UnixHttp.ConnectAsync(socketPath, cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(UnixHttp.Timeout);
            try
            {
                await socket.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray(), timeout.Token);
                if (await socket.ReceiveAsync(new byte[256], timeout.Token) > 0)
                {
                    answered++;
                }
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset)
            {
                // closed at accept, before or under the request
            }
        }

        return answered;
    }

    public static Response Parse(byte[] raw)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, "The answer has no complete header block.");
        var lines = Encoding.ASCII.GetString(raw, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = raw.AsSpan(end + 4);
        return new Response(status, headers, headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase)
            ? Dechunk(body)
            : body.ToArray());
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> chunked)
    {
        var result = new MemoryStream();
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n"u8);
            Assert.True(lineEnd > 0, "Incomplete chunked body.");
            var size = int.Parse(Encoding.ASCII.GetString(chunked[..lineEnd]).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            chunked = chunked[(lineEnd + 2)..];
            if (size == 0)
            {
                return result.ToArray();
            }

            Assert.True(chunked.Length >= size + 2, "Incomplete chunked body.");
            result.Write(chunked[..size]);
            chunked = chunked[(size + 2)..];
        }
    }
}
