using System.Collections.Concurrent;
using System.Diagnostics;

namespace PeerCredentials;

/// <summary>
/// Lets a log entry about one uid through at most once per <see cref="Interval"/> and counts the ones
/// held back, so that a uid refused again and again cannot flood the log: whoever logs the next entry
/// that goes through can say how many were left out since the last one.
/// </summary>
internal sealed class PerUserLogThrottle(TimeSpan interval)
{
    /// <summary>One entry a second per uid.</summary>
    public PerUserLogThrottle()
        : this(TimeSpan.FromSeconds(1))
    {
    }

    /// <summary>The shortest time between two entries about the same uid.</summary>
    public TimeSpan Interval { get; } = interval;

    // Far more uids than a machine has; past it the table starts over rather than grow.
    private const int MaxTrackedUsers = 16384;

    private readonly ConcurrentDictionary<uint, Entry> _entries = new();

    /// <summary>True when an entry about <paramref name="uid"/> may be logged now; <paramref name="leftOut"/> is how many were not since the last.</summary>
    public bool ShouldLog(uint uid, out long leftOut)
    {
        if (_entries.Count > MaxTrackedUsers)
        {
            _entries.Clear();
        }

        var entry = _entries.GetOrAdd(uid, static _ => new Entry());
        lock (entry)
        {
            var now = Stopwatch.GetTimestamp();
            if (entry.Logged != 0 && Stopwatch.GetElapsedTime(entry.Logged, now) < Interval)
            {
                entry.LeftOut++;
                leftOut = 0;
                return false;
            }

            entry.Logged = now;
            leftOut = entry.LeftOut;
            entry.LeftOut = 0;
            return true;
        }
    }

    private sealed class Entry
    {
        public long Logged;
        public long LeftOut;
    }
}
