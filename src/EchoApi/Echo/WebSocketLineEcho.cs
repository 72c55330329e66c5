using System.Buffers;
using System.Net.WebSockets;

namespace EchoApi.Echo;

/// <summary>
/// One WebSocket's line echo: each line of a text message comes back as <c>&gt; line</c>, binary messages
/// unchanged. Messages are bounded; an idle peer, an oversized message and shutdown end in a close
/// handshake that the peer gets a bounded time to answer.
/// </summary>
internal sealed class WebSocketLineEcho(WebSocket socket, int maxMessageBytes, TimeSpan idleTimeout, string connectionId, ILogger logger) : IDisposable
{
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);
    private static readonly byte[] Prompt = "> "u8.ToArray();

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _closeDeadline = new();
    private int _closing;

    public async Task RunAsync(CancellationToken requestAborted, CancellationToken stopping)
    {
        using var receiveCancel = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _closeDeadline.Token);
        using var idle = new Timer(static state => ((WebSocketLineEcho)state!).BeginClose(WebSocketCloseStatus.EndpointUnavailable, "idle timeout"), this, idleTimeout, Timeout.InfiniteTimeSpan);
        using var stop = stopping.Register(static state => ((WebSocketLineEcho)state!).BeginClose(WebSocketCloseStatus.EndpointUnavailable, "server shutting down"), this);

        // The message buffer grows on demand up to one byte past the limit, which is how an oversized
        // message is recognised without ever holding more than the limit.
        var message = ArrayPool<byte>.Shared.Rent(Math.Min(maxMessageBytes + 1, 4096));
        try
        {
            var length = 0;
            while (true)
            {
                if (length == message.Length)
                {
                    message = Grow(message, length);
                }

                var result = await socket.ReceiveAsync(message.AsMemory(length), receiveCancel.Token);
                idle.Change(idleTimeout, Timeout.InfiniteTimeSpan);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await AnswerCloseAsync(requestAborted);
                    return;
                }

                length += result.Count;
                if (Volatile.Read(ref _closing) != 0)
                {
                    length = 0; // closing: what still arrives is not echoed
                    continue;
                }

                if (length > maxMessageBytes)
                {
                    logger.WebSocketMessageTooBig(connectionId, maxMessageBytes);
                    BeginClose(WebSocketCloseStatus.MessageTooBig, $"message over {maxMessageBytes} bytes");
                    length = 0;
                    continue;
                }

                if (result.EndOfMessage)
                {
                    await EchoAsync(message.AsMemory(0, length), result.MessageType, requestAborted);
                    length = 0;
                }
            }
        }
        catch (WebSocketException e)
        {
            // The framework sends the close frame itself on protocol errors (1007 for invalid UTF-8, 1002
            // for bad frames). Returning at once would close the connection under that frame before it is
            // out; the peer closes the connection once it has read it, or we give up after a moment.
            logger.WebSocketFailed(connectionId, socket.CloseStatus, e.Message);
            await LingerAsync(requestAborted);
        }
        catch (OperationCanceledException)
        {
            logger.WebSocketAborted(connectionId);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(message);
        }
    }

    public void Dispose()
    {
        _closeDeadline.Dispose();
        _sendLock.Dispose();
    }

    private static async Task LingerAsync(CancellationToken requestAborted)
    {
        try
        {
            await Task.Delay(CloseHandshakeTimeout, requestAborted);
        }
        catch (OperationCanceledException)
        {
            // The peer has closed the connection.
        }
    }

    private byte[] Grow(byte[] message, int length)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(message.Length * 2, maxMessageBytes + 1));
        message.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(message);
        return larger;
    }

    private async Task EchoAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _closing) != 0)
            {
                return;
            }

            if (type == WebSocketMessageType.Binary)
            {
                await socket.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
                return;
            }

            var answer = ArrayPool<byte>.Shared.Rent(message.Length + Prompt.Length);
            try
            {
                foreach (var line in Lines(message))
                {
                    Prompt.CopyTo(answer, 0);
                    line.Span.CopyTo(answer.AsSpan(Prompt.Length));
                    await socket.SendAsync(answer.AsMemory(0, Prompt.Length + line.Length), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(answer);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The lines of a text message: split on <c>\n</c>, a trailing <c>\r</c> dropped; a final newline ends the last line rather than starting an empty one.</summary>
    internal static IEnumerable<ReadOnlyMemory<byte>> Lines(ReadOnlyMemory<byte> text)
    {
        while (true)
        {
            var newline = text.Span.IndexOf((byte)'\n');
            var line = newline < 0 ? text : text[..newline];
            if (!line.IsEmpty && line.Span[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            yield return line;
            if (newline < 0 || newline == text.Length - 1)
            {
                yield break;
            }

            text = text[(newline + 1)..];
        }
    }

    /// <summary>Starts the close handshake once; the peer then has a bounded time to answer.</summary>
    private void BeginClose(WebSocketCloseStatus status, string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await _sendLock.WaitAsync();
                try
                {
                    if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    {
                        using var timeout = new CancellationTokenSource(CloseHandshakeTimeout);
                        await socket.CloseOutputAsync(status, reason, timeout.Token);
                    }
                }
                finally
                {
                    _sendLock.Release();
                }

                logger.WebSocketClosing(connectionId, (int)status, reason);
                _closeDeadline.CancelAfter(CloseHandshakeTimeout);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                logger.WebSocketAborted(connectionId);
            }
        });
    }

    private async Task AnswerCloseAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _closing, 1);

        // Under the send lock, so a close we started ourselves (idle, shutdown) cannot cross this one:
        // whichever runs second sees the state and does not send twice, and neither leaves it unanswered.
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            if (socket.State == WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, cancellationToken);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
