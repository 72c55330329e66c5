using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace EchoApi.Echo;

/// <summary>
/// The upgraded connection as the server's WebSocket reads it, with every client frame header read on its
/// way past: the bytes are the framework's own, in its own buffers, and are only looked at, never copied
/// or changed.
/// </summary>
/// <remarks>
/// <para>
/// It exists for three things that <c>ManagedWebSocket</c> does late or not at all.
/// </para>
/// <list type="bullet">
/// <item>Unmasked frames. The framework reads a server-side header as if the mask were there: it waits for
/// 2 + 4 bytes (more with an extended length) before it looks at the mask bit. An unmasked empty ping
/// (2 bytes) or an unmasked close carrying only a code (4 bytes) never fills that, so the connection
/// hangs until the idle timeout. Here the mask bit is checked on the header's second byte.</item>
/// <item>The message size. The framework has no limit; it reads a frame's payload straight into the
/// buffer it is given. Here the declared lengths of a message's data frames are added up as each header
/// passes, so a frame that declares 2^40 bytes is refused at its header, before any of its payload.</item>
/// <item>Activity. Pings and pongs never reach the caller of <c>ReceiveAsync</c>. Here every complete
/// frame, control frames included, counts as a sign of life (<see cref="LastFrameTicks"/>).</item>
/// </list>
/// <para>
/// A frame that breaks these rules is not handed on: the bytes before it are, and the next read fails. It
/// first sends the close frame through <paramref name="fail"/> (the framework's own send path, so it
/// cannot cross a keep-alive ping), then throws a <see cref="WebSocketException"/>, which the framework
/// passes through unchanged to the pending <c>ReceiveAsync</c>. Everything else (reserved bits, opcodes,
/// fragmentation, control frame sizes) is left to the framework, which checks it as soon as it has the
/// header.
/// </para>
/// </remarks>
internal sealed class ClientFrameGuardStream(Stream inner, long maxMessageBytes, Func<WebSocketCloseStatus, string, ValueTask> fail) : Stream
{
    private const int MaskLength = 4;

    private int _headerRead;       // bytes of the current header seen so far; 0 between frames
    private int _headerLength;     // the whole header's length, known from its second byte
    private byte _firstByte;       // FIN, reserved bits and opcode
    private ulong _declaredLength; // the payload length, as the header declares it
    private long _payloadLeft;     // payload bytes of the current frame still to pass
    private long _messageBytes;    // payload declared so far by the data frames of the current message
    private WebSocketCloseStatus? _failure;
    private string? _failureReason;
    private long _lastFrameTicks = Environment.TickCount64;

    /// <summary>When the last complete frame arrived, in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    public long LastFrameTicks => Volatile.Read(ref _lastFrameTicks);

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_failure is not null)
        {
            return FailAsync();
        }

        var read = inner.ReadAsync(buffer, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return InspectAsync(read, buffer);
        }

        var count = read.Result;
        var passed = Inspect(buffer.Span[..count]);
        return passed == 0 && count > 0 ? FailAsync() : new ValueTask<int>(passed);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
        => throw new NotSupportedException("The WebSocket reads asynchronously.");

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count)
        => throw new NotSupportedException("The WebSocket writes asynchronously.");

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> InspectAsync(ValueTask<int> read, Memory<byte> buffer)
    {
        var count = await read;
        var passed = Inspect(buffer.Span[..count]);
        if (passed == 0 && count > 0)
        {
            return await FailAsync();
        }

        return passed;
    }

    private async ValueTask<int> FailAsync()
    {
        await fail(_failure!.Value, _failureReason!);
        throw new WebSocketException(WebSocketError.Faulted, $"Closed with {(int)_failure.Value}: {_failureReason}.");
    }

    /// <summary>
    /// Follows the frames through <paramref name="data"/>; returns how many of its bytes may be handed on:
    /// all of them, or those before the header of a frame that breaks a rule (which is then remembered).
    /// </summary>
    private int Inspect(ReadOnlySpan<byte> data)
    {
        var frameStart = 0;
        var i = 0;
        while (i < data.Length)
        {
            if (_payloadLeft > 0)
            {
                var skipped = (int)Math.Min(_payloadLeft, data.Length - i);
                i += skipped;
                _payloadLeft -= skipped;
                if (_payloadLeft == 0)
                {
                    FrameEnded();
                }

                continue;
            }

            if (_headerRead == 0)
            {
                frameStart = i;
            }

            var b = data[i++];
            var index = _headerRead++;
            if (index == 0)
            {
                _firstByte = b;
            }
            else if (index == 1)
            {
                if ((b & 0x80) == 0)
                {
                    return Refuse(frameStart, WebSocketCloseStatus.ProtocolError, "unmasked frame");
                }

                var length = b & 0x7F;
                _declaredLength = length < 126 ? (ulong)length : 0;
                _headerLength = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + MaskLength;
            }
            else if (index < _headerLength - MaskLength)
            {
                _declaredLength = (_declaredLength << 8) | b; // big-endian extended length
            }

            if (_headerRead == _headerLength)
            {
                _headerRead = 0;
                if (HeaderEnded() is { } refusal)
                {
                    return Refuse(frameStart, refusal.Status, refusal.Reason);
                }
            }
        }

        return data.Length;
    }

    private (WebSocketCloseStatus Status, string Reason)? HeaderEnded()
    {
        if (_declaredLength > long.MaxValue)
        {
            return (WebSocketCloseStatus.ProtocolError, "payload length with its most significant bit set");
        }

        var length = (long)_declaredLength;
        var opcode = _firstByte & 0x0F;
        if (opcode <= 2)
        {
            // Text and binary start a message, continuations add to it. A continuation without a message is
            // the framework's to refuse; it does so on this same header.
            _messageBytes = opcode == 0 ? _messageBytes : 0;
            if (length > maxMessageBytes - _messageBytes)
            {
                return (WebSocketCloseStatus.MessageTooBig, $"message over {maxMessageBytes} bytes");
            }

            _messageBytes += length;
        }

        _payloadLeft = length;
        if (length == 0)
        {
            FrameEnded();
        }

        return null;
    }

    private void FrameEnded() => Volatile.Write(ref _lastFrameTicks, Environment.TickCount64);

    private int Refuse(int frameStart, WebSocketCloseStatus status, string reason)
    {
        _failure = status;
        _failureReason = reason;
        return frameStart;
    }
}
