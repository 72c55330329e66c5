namespace EchoApi.LineProtocol;

/// <summary>
/// A connection's idle timeout, cheap to keep alive: a line only notes the time (one store), and one timer
/// per connection looks at that note when the timeout would run out, then either fires <see cref="Token"/>
/// or waits for the rest. Resetting a timer (or a <see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/>)
/// for every line would take the timer queue's lock once a line.
/// </summary>
internal sealed class IdleWatch : IDisposable
{
    private readonly CancellationTokenSource _expired;
    private readonly long _timeoutMs;
    private readonly Timer _timer;
    private long _lastActive;

    /// <param name="timeout">How long the peer may stay silent (or not read its answers).</param>
    /// <param name="stopping">Ends the watch early too: the host is shutting down.</param>
    public IdleWatch(TimeSpan timeout, CancellationToken stopping)
    {
        _expired = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _timeoutMs = Math.Max(1, (long)timeout.TotalMilliseconds);
        _lastActive = Environment.TickCount64;
        // Started once stored, so that its callback always finds it.
        _timer = new Timer(static watch => ((IdleWatch)watch!).Check(), this, Timeout.Infinite, Timeout.Infinite);
        _timer.Change(_timeoutMs, Timeout.Infinite);
    }

    /// <summary>Fires when the peer has been idle for the timeout, or the host is stopping.</summary>
    public CancellationToken Token => _expired.Token;

    /// <summary>The peer did something: the timeout counts from now.</summary>
    public void Touch() => Volatile.Write(ref _lastActive, Environment.TickCount64);

    public void Dispose()
    {
        _timer.Dispose();
        _expired.Dispose();
    }

    private void Check()
    {
        try
        {
            var idle = Environment.TickCount64 - Volatile.Read(ref _lastActive);
            if (idle >= _timeoutMs)
            {
                _expired.Cancel();
            }
            else
            {
                _timer.Change(_timeoutMs - idle, Timeout.Infinite);
            }
        }
        catch (ObjectDisposedException)
        {
            // The connection ended while the timer fired.
        }
    }
}
