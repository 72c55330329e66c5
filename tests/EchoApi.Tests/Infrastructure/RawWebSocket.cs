using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// A WebSocket client that speaks in hand-built frames on a raw Unix socket, the way the Autobahn suite
/// probes a server: it sends exactly the bytes a test gives it (masked or not, any length declared), and
/// reads the server's frames one by one.
/// </summary>
public sealed class RawWebSocket : IDisposable
{
    /// <summary>A handshake any RFC 6455 server accepts.</summary>
    public const string Handshake = "GET /echo/ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    private static readonly byte[] MaskKey = [0x37, 0xfa, 0x21, 0x3d];

    private readonly Socket _socket;
    private readonly List<byte> _received = [];
    private readonly byte[] _buffer = new byte[16 * 1024];

    private RawWebSocket(Socket socket) => _socket = socket;

    /// <summary>The server's answer to the handshake: status line and headers.</summary>
    public string HandshakeAnswer { get; private set; } = "";

    public sealed record Frame(int Opcode, bool Fin, byte[] Payload)
    {
        public int CloseCode => BinaryPrimitives.ReadUInt16BigEndian(Payload);

        public string CloseReason => Encoding.UTF8.GetString(Payload.AsSpan(2));

        public string Text => Encoding.UTF8.GetString(Payload);
    }

    /// <summary>Connects, sends the handshake and checks the 101.</summary>
    public static async Task<RawWebSocket> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        var client = new RawWebSocket(await UnixHttp.ConnectAsync(socketPath, cancellationToken));
        try
        {
            await client.SendAsync(Encoding.ASCII.GetBytes(Handshake), cancellationToken);
            client.HandshakeAnswer = await client.ReadHeadAsync(cancellationToken);
            Assert.StartsWith("HTTP/1.1 101", client.HandshakeAnswer, StringComparison.Ordinal);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>A client frame: masked unless told otherwise, with the real payload length unless <paramref name="declaredLength"/> says another.</summary>
    public static byte[] Build(int opcode, ReadOnlySpan<byte> payload, bool fin = true, bool masked = true, long? declaredLength = null)
    {
        var length = declaredLength ?? payload.Length;
        var frame = new List<byte> { (byte)((fin ? 0x80 : 0) | opcode) };
        var maskBit = masked ? 0x80 : 0;
        if (length <= 125)
        {
            frame.Add((byte)(maskBit | (int)length));
        }
        else if (length <= ushort.MaxValue)
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(length >> 8));
            frame.Add((byte)length);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            for (var shift = 56; shift >= 0; shift -= 8)
            {
                frame.Add((byte)(length >> shift));
            }
        }

        if (masked)
        {
            frame.AddRange(MaskKey);
        }

        for (var i = 0; i < payload.Length; i++)
        {
            frame.Add(masked ? (byte)(payload[i] ^ MaskKey[i % 4]) : payload[i]);
        }

        return [.. frame];
    }

    /// <summary>A close frame's payload: the code, big-endian, then the reason.</summary>
    public static byte[] ClosePayload(int code, string reason = "") => [(byte)(code >> 8), (byte)code, .. Encoding.UTF8.GetBytes(reason)];

    public async Task SendAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        using var timeout = Timeout(cancellationToken);
        await _socket.SendAsync(bytes, timeout.Token);
    }

    /// <summary>The server's next frame, or <see langword="null"/> at the end of the connection.</summary>
    public async Task<Frame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        if (!await FillAsync(2, cancellationToken))
        {
            return null;
        }

        Assert.True((_received[1] & 0x80) == 0, "The server sent a masked frame.");
        var headerLength = (_received[1] & 0x7F) switch { 126 => 4, 127 => 10, _ => 2 };
        Assert.True(await FillAsync(headerLength, cancellationToken), "The connection ended inside a frame header.");
        var header = _received.Take(headerLength).ToArray();
        var length = headerLength switch
        {
            4 => BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)),
            10 => (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(2)),
            _ => header[1] & 0x7F,
        };
        Assert.True(await FillAsync(headerLength + (int)length, cancellationToken), "The connection ended inside a frame.");
        var payload = _received.Skip(headerLength).Take((int)length).ToArray();
        _received.RemoveRange(0, headerLength + (int)length);
        return new Frame(header[0] & 0x0F, (header[0] & 0x80) != 0, payload);
    }

    /// <summary>Reads frames up to the server's close frame, answering nothing; pings and pongs on the way are skipped.</summary>
    public async Task<(Frame Close, IReadOnlyList<Frame> Before)> ReadUntilCloseAsync(CancellationToken cancellationToken)
    {
        var before = new List<Frame>();
        while (true)
        {
            var frame = await ReadFrameAsync(cancellationToken);
            Assert.True(frame is not null, $"The connection ended without a close frame, after {before.Count} frame(s).");
            if (frame.Opcode == 0x8)
            {
                return (frame, before);
            }

            if (frame.Opcode is not (0x9 or 0xA))
            {
                before.Add(frame);
            }
        }
    }

    /// <summary>How long until the server ends the connection (EOF or reset), without this side sending anything.</summary>
    public async Task<TimeSpan> TimeUntilClosedAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = Timeout(cancellationToken);
        try
        {
            while (await _socket.ReceiveAsync(_buffer, timeout.Token) > 0)
            {
                // anything after the close frame is not looked at
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // closed under unread input: closed all the same
        }

        return Stopwatch.GetElapsedTime(started);
    }

    public void Dispose() => _socket.Dispose();

    private static CancellationTokenSource Timeout(CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(UnixHttp.Timeout);
        return timeout;
    }

    private async Task<string> ReadHeadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var end = IndexOf(_received, "\r\n\r\n"u8);
            if (end >= 0)
            {
                var head = Encoding.ASCII.GetString([.. _received.Take(end)]);
                _received.RemoveRange(0, end + 4);
                return head;
            }

            Assert.True(await FillAsync(_received.Count + 1, cancellationToken), "The connection ended before the handshake's answer.");
        }
    }

    private static int IndexOf(List<byte> bytes, ReadOnlySpan<byte> value)
        => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes).IndexOf(value);

    /// <summary>Reads until at least <paramref name="count"/> bytes are buffered; false at the end of the connection.</summary>
    private async Task<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        using var timeout = Timeout(cancellationToken);
        while (_received.Count < count)
        {
            int read;
            try
            {
                read = await _socket.ReceiveAsync(_buffer, timeout.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                read = 0;
            }

            if (read == 0)
            {
                return false;
            }

            _received.AddRange(_buffer.AsSpan(0, read));
        }

        return true;
    }
}
