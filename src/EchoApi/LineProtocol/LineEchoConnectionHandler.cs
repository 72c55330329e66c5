using System.Buffers;
using System.Net.Sockets;
using EchoApi.Settings;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using PeerCredentials;
using PeerCredentials.Sockets;

namespace EchoApi.LineProtocol;

/// <summary>
/// The classic line-echo protocol on a raw Unix socket, as <c>nc -U</c> speaks it: every line comes
/// back as <c>&gt; line</c>. Who may connect is the gate's business: it refuses a stranger at connect
/// and lets <see cref="RefuseAsync"/> say <c>Unauthorized access</c>; this handler only speaks the protocol.
/// </summary>
/// <remarks>
/// The endpoint hands its connections over as bare sockets (<c>UseDirectSocket()</c>): the handler receives
/// and sends on the socket itself, one <c>send</c> for all the answers to what one <c>recv</c> brought, as
/// the Go server it is measured against does. Where that code runs: the handler starts on the thread pool,
/// after the gate has decided (Kestrel dispatches every connection there; the gate's rules may read
/// <c>/proc</c> or the user database). After a receive that had to wait, it goes on where the socket
/// engine completed it: with <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> (set by the service at
/// start) that is one of the runtime's epoll threads (one per core), each serving many sockets. So nothing in the
/// loop may block: it only scans and copies bytes within fixed bounds and starts socket operations, logs
/// nothing, and never waits but on the socket (the idle timer and shutdown cancel those waits from the
/// thread pool).
/// </remarks>
internal sealed class LineEchoConnectionHandler(IOptions<LineSocketSettings> settings, IOptions<LimitSettings> limits, IHostApplicationLifetime lifetime) : ConnectionHandler
{
    private static readonly byte[] Prompt = "> "u8.ToArray();
    private static readonly byte[] Unauthorized = "Unauthorized access\n"u8.ToArray();
    private static readonly byte[] TooLong = "Line too long\n"u8.ToArray();
    private static readonly byte[] Idle = "Idle timeout\n"u8.ToArray();
    private static readonly byte[] ShuttingDown = "Server shutting down\n"u8.ToArray();
    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(1);
    private const long DrainBytes = 4 * 1024 * 1024;

    // What a connection reads into (held while it is open, as Go's bufio.Reader holds its 4 KiB), and what
    // one batch of answers is written into before its send. A line longer than this grows the input
    // buffer, never past the longest line allowed.
    private const int BufferBytes = 4096;

    /// <summary>The protocol's answer to a peer the gate refused, as the classic server gives it.</summary>
    public static async ValueTask RefuseAsync(ConnectionContext connection, PeerRefusal refusal)
        => await EndAsync(SocketOf(connection), Unauthorized);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var socket = SocketOf(connection);
        byte[]? ending;
        try
        {
            using var idle = new IdleWatch(limits.Value.IdleTimeout, lifetime.ApplicationStopping);
            ending = await EchoLinesAsync(socket, settings.Value.MaxLineBytes, idle);
        }
        catch (OperationCanceledException)
        {
            // Shutting down, or the peer has not read its answers for the idle timeout: nothing more can
            // reach it, so drop what is queued for it.
            connection.Abort(new ConnectionAbortedException("The peer stopped reading."));
            return;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer went away (reset, or gone while we wrote), or shutdown ran out of time and aborted
            // the connection.
            return;
        }

        if (ending is not null)
        {
            await EndAsync(socket, ending);
        }
    }

    /// <summary>Echoes lines until EOF, returning the one-line message to end with, if any.</summary>
    private async Task<byte[]?> EchoLinesAsync(Socket socket, int maxLineBytes, IdleWatch idle)
    {
        // The longest line allowed, with its newline, always fits; anything longer is refused before it does.
        var longest = maxLineBytes + 1;
        var input = ArrayPool<byte>.Shared.Rent(Math.Min(BufferBytes, longest));
        var kept = 0; // the start of a line whose newline has not come yet, at the front of input
        try
        {
            while (true)
            {
                if (kept == input.Length)
                {
                    input = Grow(input, kept, longest);
                }

                int received;
                try
                {
                    // Backpressure: this receive starts only once the last answers were sent, so a peer that
                    // does not read stops us reading, for no longer than the idle timeout.
                    received = await socket.ReceiveAsync(input.AsMemory(kept), SocketFlags.None, idle.Token);
                }
                catch (OperationCanceledException)
                {
                    return lifetime.ApplicationStopping.IsCancellationRequested ? ShuttingDown : Idle;
                }

                if (received == 0)
                {
                    if (kept > 0)
                    {
                        // A last line without a newline is still answered, as a whole line.
                        await SendLastLineAsync(socket, input.AsMemory(0, kept), idle.Token);
                    }

                    return null;
                }

                idle.Touch();
                var end = kept + received;
                var (answered, tooLong) = await AnswerAsync(socket, input, kept, end, maxLineBytes, idle.Token);

                // Everything left has no newline yet: bounded by the limit, whatever the peer sends.
                kept = end - answered;
                if (tooLong || kept > maxLineBytes)
                {
                    return TooLong;
                }

                input.AsSpan(answered, kept).CopyTo(input);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    /// <summary>
    /// Answers every whole line in <c>input[..end]</c> (the first <paramref name="scanFrom"/> bytes hold no
    /// newline) in as few sends as fit the answer buffer; returns how many bytes of input were answered, and
    /// whether the line after them is over the limit. The newline (and a <c>\r</c> before it) stays as sent.
    /// </summary>
    private static async ValueTask<(int Answered, bool TooLong)> AnswerAsync(Socket socket, byte[] input, int scanFrom, int end, int maxLineBytes, CancellationToken cancellationToken)
    {
        var lineStart = 0;
        var newline = input.AsSpan(scanFrom, end - scanFrom).IndexOf((byte)'\n');
        if (newline < 0)
        {
            return (0, false);
        }

        var output = ArrayPool<byte>.Shared.Rent(BufferBytes);
        var written = 0;
        var tooLong = false;
        try
        {
            while (newline >= 0)
            {
                var lineEnd = scanFrom + newline + 1;
                var lineLength = lineEnd - lineStart;
                if (lineLength - 1 > maxLineBytes)
                {
                    tooLong = true;
                    break;
                }

                if (written + Prompt.Length + lineLength > output.Length)
                {
                    if (written > 0)
                    {
                        await SendAsync(socket, output.AsMemory(0, written), cancellationToken);
                        written = 0;
                    }

                    if (Prompt.Length + lineLength > output.Length)
                    {
                        // A line longer than the answer buffer goes out from where it is, after its prompt.
                        await SendAsync(socket, Prompt, cancellationToken);
                        await SendAsync(socket, input.AsMemory(lineStart, lineLength), cancellationToken);
                        lineStart = scanFrom = lineEnd;
                        newline = input.AsSpan(scanFrom, end - scanFrom).IndexOf((byte)'\n');
                        continue;
                    }
                }

                Prompt.CopyTo(output, written);
                Buffer.BlockCopy(input, lineStart, output, written + Prompt.Length, lineLength);
                written += Prompt.Length + lineLength;
                lineStart = scanFrom = lineEnd;
                newline = input.AsSpan(scanFrom, end - scanFrom).IndexOf((byte)'\n');
            }

            // The answers so far go out even when a line is over the limit: they come before "Line too long".
            if (written > 0)
            {
                await SendAsync(socket, output.AsMemory(0, written), cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }

        return (lineStart, tooLong);
    }

    private static async ValueTask SendLastLineAsync(Socket socket, ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        var answer = ArrayPool<byte>.Shared.Rent(Prompt.Length + line.Length + 1);
        try
        {
            Prompt.CopyTo(answer, 0);
            line.Span.CopyTo(answer.AsSpan(Prompt.Length));
            answer[Prompt.Length + line.Length] = (byte)'\n';
            await SendAsync(socket, answer.AsMemory(0, Prompt.Length + line.Length + 1), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(answer);
        }
    }

    // A partial line filled the buffer: twice the room, up to the longest line allowed.
    private static byte[] Grow(byte[] input, int kept, int longest)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(longest, 2L * input.Length));
        input.AsSpan(0, kept).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(input);
        return larger;
    }

    private static async ValueTask SendAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            data = data[await socket.SendAsync(data, SocketFlags.None, cancellationToken)..];
        }
    }

    /// <summary>
    /// Sends the last line and EOF, then reads and drops what the peer still sends, for a bounded time and
    /// amount: closing a Unix socket with unread input resets it, and the peer would lose the line.
    /// </summary>
    private static async Task EndAsync(Socket socket, byte[] message)
    {
        // Not linked to ApplicationStopping: at shutdown that token is cancelled already, and the write of
        // "Server shutting down" would be the first thing it stopped. DrainTime bounds it instead.
        using var drain = new CancellationTokenSource(DrainTime);
        var sink = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            await SendAsync(socket, message, drain.Token);
            socket.Shutdown(SocketShutdown.Send); // the peer reads its EOF now, not after the drain
            long dropped = 0;
            while (dropped < DrainBytes)
            {
                var read = await socket.ReceiveAsync(sink, SocketFlags.None, drain.Token);
                if (read == 0)
                {
                    return;
                }

                dropped += read;
            }
        }
        catch (OperationCanceledException)
        {
            // Drained long enough.
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer is gone already, or shutdown ran out of time.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sink);
        }
    }

    private static Socket SocketOf(ConnectionContext connection)
        => connection.Features.Get<IDirectSocketFeature>()?.Socket
            ?? throw new InvalidOperationException("The line socket's endpoint needs UseDirectSocket(): this handler receives and sends on the socket itself.");
}
