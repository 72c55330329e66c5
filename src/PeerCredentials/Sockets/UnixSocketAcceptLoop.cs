using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// Accepts the connections of one listening Unix socket on a thread of its own, reads each peer's uid
/// and closes at once the connections of a uid over its connect rate; the rest wait, a few at most,
/// for Kestrel to take them.
/// </summary>
/// <remarks>
/// A uid that floods the socket with connects makes accepting and closing them a steady load, and on a
/// small machine that load competes with serving the connections already open, the owner's among them.
/// So while any uid is being refused, accepting moves to a second thread at <c>SCHED_IDLE</c> priority:
/// the kernel then gives the CPU to serving first and accepts with what is left. Once no connection has
/// been refused for <see cref="CalmAfter"/>, accepting moves back to the first thread, at normal priority
/// (a thread cannot raise its own priority again without privileges, hence two threads, only one of
/// which accepts at any time). Without a flood, accepting never waits on anything else.
/// </remarks>
internal sealed class UnixSocketAcceptLoop : IAsyncDisposable
{
    /// <summary>How long no connection must have been refused before accepting returns to normal priority.</summary>
    internal static readonly TimeSpan CalmAfter = TimeSpan.FromSeconds(1);

    // How often a thread blocked in accept() wakes up to see whether the flood is over or the socket closed
    // (SO_RCVTIMEO, which accept() honours).
    private static readonly TimeSpan WakeInterval = TimeSpan.FromMilliseconds(200);

    private readonly Socket _socket;
    private readonly PeerRateLimiter? _limiter;
    private readonly ILogger _logger;
    private readonly Channel<Socket> _accepted = Channel.CreateBounded<Socket>(
        new BoundedChannelOptions(64) { SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly SemaphoreSlim _normalTurn = new(1);
    private readonly SemaphoreSlim _yieldingTurn = new(0);
    private readonly Thread _normal;
    private Thread? _yielding;
    private long _lastRefusal;
    private volatile bool _stopped;

    public UnixSocketAcceptLoop(Socket listening, PeerRateLimiter? limiter, ILogger logger)
    {
        _socket = listening;
        SetAcceptTimeout(listening, WakeInterval);
        _limiter = limiter;
        _logger = logger;
        _normal = new Thread(() => Run(yielding: false)) { IsBackground = true, Name = "Unix socket accept" };
        _normal.Start();
    }

    /// <summary>The next connection for Kestrel; <see langword="null"/> once the socket is closed.</summary>
    public async ValueTask<Socket?> NextAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _accepted.Reader.WaitToReadAsync(cancellationToken))
            {
                if (_accepted.Reader.TryRead(out var accepted))
                {
                    return accepted;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return null;
    }

    /// <summary>Stops accepting: closes the listening socket and wakes both threads.</summary>
    public void Stop()
    {
        _stopped = true;
        _socket.Dispose(); // wakes a thread blocked in accept()
        _accepted.Writer.TryComplete();
        _normalTurn.Release();
        _yieldingTurn.Release();
    }

    public async ValueTask DisposeAsync()
    {
        Stop();
        await Task.Run(() =>
        {
            _normal.Join(); // after it, _yielding is set for good: only _normal creates it
            _yielding?.Join();
        });
        while (_accepted.Reader.TryRead(out var left))
        {
            left.Dispose(); // accepted, never taken by Kestrel
        }

        _normalTurn.Dispose();
        _yieldingTurn.Dispose();
    }

    // Each thread waits for its turn, accepts until it should hand over, and passes the turn on.
    private void Run(bool yielding)
    {
        if (yielding && Libc.SetCurrentThreadIdlePriority() is var errno and not 0)
        {
            _logger.AcceptPriorityNotLowered(Marshal.GetPInvokeErrorMessage(errno));
        }

        var turn = yielding ? _yieldingTurn : _normalTurn;
        while (true)
        {
            turn.Wait();
            if (_stopped)
            {
                return;
            }

            if (yielding)
            {
                AcceptWhileFlooded();
                _normalTurn.Release();
            }
            else
            {
                AcceptUntilFlooded();
                if (_stopped)
                {
                    return;
                }

                _logger.AcceptYielding();
                if (_yielding is null)
                {
                    _yielding = new Thread(() => Run(yielding: true)) { IsBackground = true, Name = "Unix socket accept (idle priority)" };
                    _yielding.Start();
                }

                _yieldingTurn.Release();
            }
        }
    }

    // Normal priority: returns at the first refusal (or when stopped).
    private void AcceptUntilFlooded()
    {
        while (!_stopped && AcceptOne() != Outcome.Refused)
        {
        }
    }

    // Idle priority: returns once nothing has been refused for CalmAfter (or when stopped).
    private void AcceptWhileFlooded()
    {
        while (!_stopped)
        {
            AcceptOne();
            if (Stopwatch.GetElapsedTime(_lastRefusal) >= CalmAfter)
            {
                foreach (var (uid, refused) in _limiter?.TakeUnreported() ?? [])
                {
                    _logger.ConnectRateExceeded(uid, refused, _limiter!.Rate);
                }

                _logger.AcceptCalm();
                return;
            }
        }
    }

    private enum Outcome
    {
        Handed,
        Refused,
        Nothing, // no connection within WakeInterval, or the peer was gone already
    }

    private Outcome AcceptOne()
    {
        int fd;
        try
        {
            fd = Libc.Accept(_socket.SafeHandle);
        }
        catch (ObjectDisposedException)
        {
            return Outcome.Nothing; // stopped
        }

        if (fd < 0)
        {
            if (!_stopped && -fd is not (Libc.EAGAIN or Libc.EINTR or Libc.ECONNABORTED))
            {
                // Out of descriptors or memory: back off a moment instead of spinning on accept().
                _logger.AcceptFailed(Marshal.GetPInvokeErrorMessage(-fd), -fd);
                Thread.Sleep(50);
            }

            return Outcome.Nothing; // EAGAIN: WakeInterval passed without a connection
        }

        // Only the uid, from SO_PEERCRED, and without a Socket object yet: the full credentials (groups,
        // pidfd) are read later, for the connections that get that far.
        if (_limiter is not null && Libc.PeerUserId(fd) is { } uid && !_limiter.TryTake(uid, out var refused, out var report))
        {
            Libc.CloseDescriptor(fd);
            _lastRefusal = Stopwatch.GetTimestamp();
            if (report)
            {
                _logger.ConnectRateExceeded(uid, refused, _limiter.Rate);
            }

            return Outcome.Refused;
        }

        var handle = new SafeSocketHandle(fd, ownsHandle: true);
        Socket accepted;
        try
        {
            accepted = new Socket(handle);
        }
        catch (SocketException)
        {
            handle.Dispose(); // the peer is gone already
            return Outcome.Nothing;
        }

        // Waits (the kernel's queue then holds the next ones) while Kestrel has 64 not yet taken.
        while (!_accepted.Writer.TryWrite(accepted))
        {
            if (!_accepted.Writer.WaitToWriteAsync().AsTask().GetAwaiter().GetResult())
            {
                accepted.Dispose(); // stopped
                return Outcome.Nothing;
            }
        }

        return Outcome.Handed;
    }

    private static void SetAcceptTimeout(Socket socket, TimeSpan timeout)
    {
        Span<long> timeval = [(long)timeout.TotalSeconds, timeout.Microseconds + (timeout.Milliseconds * 1000)];
        socket.SetRawSocketOption(Libc.SolSocket, Libc.SoRcvTimeo, MemoryMarshal.AsBytes(timeval));
    }
}
