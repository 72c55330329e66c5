using System.Buffers;
using System.IO.Pipelines;
using EchoApi.Settings;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using PeerCredentials;

namespace EchoApi.LineProtocol;

/// <summary>
/// The classic line-echo protocol on a raw Unix socket, as <c>nc -U</c> speaks it: every line comes
/// back as <c>&gt; line</c>. Who may connect is the gate's business: it refuses a stranger at connect
/// and lets <see cref="RefuseAsync"/> say <c>Unauthorized access</c>; this handler only speaks the protocol.
/// </summary>
internal sealed class LineEchoConnectionHandler(IOptions<LineSocketSettings> settings, IOptions<LimitSettings> limits, IHostApplicationLifetime lifetime) : ConnectionHandler
{
    private static readonly byte[] Prompt = "> "u8.ToArray();
    private static readonly byte[] Unauthorized = "Unauthorized access\n"u8.ToArray();
    private static readonly byte[] TooLong = "Line too long\n"u8.ToArray();
    private static readonly byte[] Idle = "Idle timeout\n"u8.ToArray();
    private static readonly byte[] ShuttingDown = "Server shutting down\n"u8.ToArray();
    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(1);
    private const long DrainBytes = 4 * 1024 * 1024;

    /// <summary>The protocol's answer to a peer the gate refused, as the classic server gives it.</summary>
    public static async ValueTask RefuseAsync(ConnectionContext connection, PeerRefusal refusal)
        => await EndAsync(connection.Transport, Unauthorized);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        try
        {
            if (await EchoLinesAsync(connection.Transport, settings.Value.MaxLineBytes, limits.Value.IdleTimeout) is { } ending)
            {
                await EndAsync(connection.Transport, ending);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down, or the peer has not read its answers for the idle timeout: nothing more can
            // reach it, so drop what is queued for it.
            connection.Abort(new ConnectionAbortedException("The peer stopped reading."));
        }
        catch (ConnectionResetException)
        {
            // The peer went away mid-line.
        }
    }

    /// <summary>Echoes lines until EOF, returning the one-line message to end with, if any.</summary>
    private async Task<byte[]?> EchoLinesAsync(IDuplexPipe transport, int maxLineBytes, TimeSpan idleTimeout)
    {
        var input = transport.Input;
        var output = transport.Output;
        // Not the connection's ConnectionClosed: Kestrel fires it when the peer half-closes, and lines
        // that arrived with the peer's EOF must still be answered. The pipes report the end themselves.
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        while (true)
        {
            wait.CancelAfter(idleTimeout);
            ReadResult read;
            try
            {
                read = await input.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                return lifetime.ApplicationStopping.IsCancellationRequested ? ShuttingDown : Idle;
            }

            var buffer = read.Buffer;
            try
            {
                while (buffer.PositionOf((byte)'\n') is { } newline)
                {
                    var line = buffer.Slice(0, buffer.GetPosition(1, newline)); // the newline (and a \r before it) stay as sent
                    if (line.Length - 1 > maxLineBytes)
                    {
                        return TooLong;
                    }

                    output.Write(Prompt);
                    Write(output, line);
                    buffer = buffer.Slice(line.End);
                }

                // Everything left has no newline yet: bounded by the limit, whatever the peer sends.
                if (buffer.Length > maxLineBytes)
                {
                    return TooLong;
                }

                if (read.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        // A last line without a newline is still answered, as a whole line.
                        output.Write(Prompt);
                        Write(output, buffer);
                        output.Write("\n"u8);
                        buffer = buffer.Slice(buffer.End);
                    }

                    await output.FlushAsync(wait.Token);
                    return null;
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            // Backpressure: a peer that stops reading stops us here, and so stops our reading too;
            // for no longer than the idle timeout.
            var flush = await output.FlushAsync(wait.Token);
            if (flush.IsCompleted || flush.IsCanceled)
            {
                return null;
            }
        }
    }

    private static void Write(PipeWriter output, in ReadOnlySequence<byte> data)
    {
        foreach (var segment in data)
        {
            output.Write(segment.Span);
        }
    }

    /// <summary>
    /// Sends the last line, then reads and drops what the peer still sends, for a bounded time and
    /// amount: closing a Unix socket with unread input resets it, and the peer would lose the line.
    /// </summary>
    private static async Task EndAsync(IDuplexPipe transport, byte[] message)
    {
        // Not linked to ApplicationStopping: at shutdown that token is cancelled already, and the write of
        // "Server shutting down" would be the first thing it stopped. DrainTime bounds it instead.
        using var drain = new CancellationTokenSource(DrainTime);
        try
        {
            await transport.Output.WriteAsync(message, drain.Token);
            long dropped = 0;
            while (dropped < DrainBytes)
            {
                var read = await transport.Input.ReadAsync(drain.Token);
                dropped += read.Buffer.Length;
                transport.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Drained long enough.
        }
        catch (ConnectionResetException)
        {
            // The peer is gone already.
        }
    }
}
