using System.Buffers;
using System.Net.WebSockets;
using System.Text.Unicode;
using EchoApi.Settings;

namespace EchoApi.Echo;

/// <summary>
/// One WebSocket's line echo: each line of a text message comes back as <c>&gt; line</c>, binary messages
/// unchanged. Messages are bounded. An idle peer and shutdown end in a close handshake that the peer gets a
/// bounded time to answer; a peer that breaks the protocol gets its close code and the connection ends at
/// once (RFC 6455 §7.1.7, "fail the WebSocket connection").
/// </summary>
internal sealed class WebSocketLineEcho : IDisposable
{
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);
    private static readonly byte[] Prompt = "> "u8.ToArray();

    private readonly WebSocket _socket;
    private readonly ClientFrameGuardStream _frames;
    private readonly int _maxMessageBytes;
    private readonly TimeSpan _idleTimeout;
    private readonly string _connectionId;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _closeDeadline = new();
    private readonly Timer _idle;
    private int _closing;
    private int _failed;

    /// <summary>Runs the server's side of the WebSocket protocol on <paramref name="upgraded"/>, the connection after the 101.</summary>
    public WebSocketLineEcho(Stream upgraded, WebSocketSettings settings, TimeSpan idleTimeout, string connectionId, ILogger logger)
    {
        _maxMessageBytes = settings.MaxMessageBytes;
        _idleTimeout = idleTimeout;
        _connectionId = connectionId;
        _logger = logger;
        _frames = new ClientFrameGuardStream(upgraded, _maxMessageBytes, FailAsync);
        _socket = WebSocket.CreateFromStream(_frames, new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = settings.KeepAliveInterval,
            KeepAliveTimeout = idleTimeout,
        });
        _idle = new Timer(static state => ((WebSocketLineEcho)state!).CheckIdle(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public async Task RunAsync(CancellationToken requestAborted, CancellationToken stopping)
    {
        using var receiveCancel = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _closeDeadline.Token);
        using var stop = stopping.Register(static state => ((WebSocketLineEcho)state!).BeginClose(WebSocketCloseStatus.EndpointUnavailable, "server shutting down"), this);
        _idle.Change(_idleTimeout, Timeout.InfiniteTimeSpan);

        // The message buffer grows on demand up to one byte past the limit, and the framework is never given
        // more room than that: it fills all the room it is given (up to the frame's end) before it returns.
        var room = (int)Math.Min(_maxMessageBytes + 1L, Array.MaxLength);
        var message = ArrayPool<byte>.Shared.Rent(Math.Min(room, 4096));
        try
        {
            var length = 0;
            var validated = 0; // how much of a text message is known to be valid UTF-8
            while (true)
            {
                if (length == message.Length)
                {
                    message = Grow(message, length, room);
                }

                var result = await _socket.ReceiveAsync(message.AsMemory(length, Math.Min(message.Length, room) - length), receiveCancel.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await AnswerCloseAsync(requestAborted);
                    return;
                }

                length += result.Count;
                if (Volatile.Read(ref _closing) != 0)
                {
                    length = validated = 0; // closing: what still arrives is not echoed
                    continue;
                }

                if (length > _maxMessageBytes)
                {
                    // The frame guard refuses such a message at its frame header already; this holds whatever it missed.
                    await FailAsync(WebSocketCloseStatus.MessageTooBig, $"message over {_maxMessageBytes} bytes");
                    return;
                }

                if (result.MessageType == WebSocketMessageType.Text && !IsValidUtf8(message.AsSpan(0, length), ref validated, result.EndOfMessage))
                {
                    await FailAsync(WebSocketCloseStatus.InvalidPayloadData, "invalid UTF-8");
                    return;
                }

                if (result.EndOfMessage)
                {
                    await EchoAsync(message.AsMemory(0, length), result.MessageType, requestAborted);
                    length = validated = 0;
                }
            }
        }
        catch (WebSocketException e)
        {
            // A protocol error, and its close frame (1002, 1007, 1009) is out already: sent by the framework,
            // or by FailAsync for what the frame guard found. Returning closes the connection at once; waiting
            // for the peer's close would only give a misbehaving peer more time.
            if (Volatile.Read(ref _failed) == 0)
            {
                _logger.WebSocketFailed(_connectionId, _socket.CloseStatus, e.Message);
            }
        }
        catch (OperationCanceledException)
        {
            _logger.WebSocketAborted(_connectionId);
        }
        finally
        {
            _idle.Dispose();
            ArrayPool<byte>.Shared.Return(message);
        }
    }

    public void Dispose()
    {
        _idle.Dispose();
        _socket.Dispose();
        _closeDeadline.Dispose();
        _sendLock.Dispose();
    }

    /// <summary>
    /// Checks the text that arrived since the last call. A sequence cut by a frame boundary waits for the
    /// next frame, unless the message ends here. The framework checks each frame too, but lets a message end
    /// inside a sequence when its last frame is empty: it never looks at an empty frame's payload.
    /// </summary>
    internal static bool IsValidUtf8(ReadOnlySpan<byte> text, ref int validated, bool endOfMessage)
    {
        var end = endOfMessage ? text.Length : text.Length - IncompleteSequenceAtEnd(text[validated..]);
        if (!Utf8.IsValid(text[validated..end]))
        {
            return false;
        }

        validated = end;
        return true;
    }

    /// <summary>How many bytes at the end of <paramref name="text"/> start a sequence that is not complete yet.</summary>
    private static int IncompleteSequenceAtEnd(ReadOnlySpan<byte> text)
    {
        for (var back = 1; back <= Math.Min(3, text.Length); back++)
        {
            var b = text[^back];
            if ((b & 0b1100_0000) == 0b1000_0000)
            {
                continue; // a continuation byte: its lead byte is further back
            }

            var sequence = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return sequence > back ? back : 0;
        }

        return 0;
    }

    /// <summary>
    /// Fails the connection: sends the close frame (unless one is out already) and leaves the peer's
    /// answer unread. The frame guard calls this from inside the framework's receive, before it throws.
    /// </summary>
    private async ValueTask FailAsync(WebSocketCloseStatus status, string reason)
    {
        Volatile.Write(ref _closing, 1);
        Volatile.Write(ref _failed, 1);
        if (status == WebSocketCloseStatus.MessageTooBig)
        {
            _logger.WebSocketMessageTooBig(_connectionId, _maxMessageBytes);
        }
        else
        {
            _logger.WebSocketProtocolViolation(_connectionId, reason, (int)status);
        }

        using var timeout = new CancellationTokenSource(CloseHandshakeTimeout);
        try
        {
            await _sendLock.WaitAsync(timeout.Token);
            try
            {
                if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(status, reason, timeout.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.WebSocketAborted(_connectionId); // the peer is not reading: closing the connection is all that is left
        }
    }

    /// <summary>The idle timer: a peer is idle when no frame of its own, not even a ping or a pong, arrived for the idle timeout.</summary>
    private void CheckIdle()
    {
        var quiet = TimeSpan.FromMilliseconds(Environment.TickCount64 - _frames.LastFrameTicks);
        if (quiet >= _idleTimeout)
        {
            BeginClose(WebSocketCloseStatus.EndpointUnavailable, "idle timeout");
            return;
        }

        try
        {
            _idle.Change(_idleTimeout - quiet, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The echo has ended meanwhile.
        }
    }

    private static byte[] Grow(byte[] message, int length, int room)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(message.Length * 2L, room));
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
                await _socket.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
                return;
            }

            var answer = ArrayPool<byte>.Shared.Rent(message.Length + Prompt.Length);
            try
            {
                foreach (var line in Lines(message))
                {
                    Prompt.CopyTo(answer, 0);
                    line.Span.CopyTo(answer.AsSpan(Prompt.Length));
                    await _socket.SendAsync(answer.AsMemory(0, Prompt.Length + line.Length), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
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
                    if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    {
                        using var timeout = new CancellationTokenSource(CloseHandshakeTimeout);
                        await _socket.CloseOutputAsync(status, reason, timeout.Token);
                        _logger.WebSocketClosing(_connectionId, (int)status, reason);
                    }
                }
                finally
                {
                    _sendLock.Release();
                }

                _closeDeadline.CancelAfter(CloseHandshakeTimeout);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                _logger.WebSocketAborted(_connectionId);
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
            if (_socket.State == WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, _socket.CloseStatusDescription, cancellationToken);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
