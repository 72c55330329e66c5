using System.Collections.Concurrent;
using System.Diagnostics;

namespace PeerCredentials;

/// <summary>A token bucket per uid: <c>rate</c> per second, holding up to twice that; <c>unlimited</c> uids pass.</summary>
internal sealed class PeerRateLimiter(double rate, IEnumerable<uint> unlimited)
{
    private readonly HashSet<uint> _unlimited = [.. unlimited];

    // Far more uids than a machine has; past it the table starts over rather than grow.
    private const int MaxTrackedUsers = 16384;

    private readonly ConcurrentDictionary<uint, Bucket> _buckets = new();

    public double Rate { get; } = rate;

    /// <summary>Takes a token for <paramref name="uid"/>; false when its bucket is empty.</summary>
    public bool TryTake(uint uid)
    {
        if (_unlimited.Contains(uid))
        {
            return true;
        }

        if (_buckets.Count > MaxTrackedUsers)
        {
            _buckets.Clear();
        }

        var bucket = _buckets.GetOrAdd(uid, static (_, rate) => new Bucket(rate * 2), Rate);
        lock (bucket)
        {
            var now = Stopwatch.GetTimestamp();
            var elapsed = Stopwatch.GetElapsedTime(bucket.Refilled, now).TotalSeconds;
            bucket.Tokens = Math.Min(Rate * 2, bucket.Tokens + (elapsed * Rate));
            bucket.Refilled = now;
            if (bucket.Tokens < 1)
            {
                return false;
            }

            bucket.Tokens--;
            return true;
        }
    }

    private sealed class Bucket(double tokens)
    {
        public double Tokens = tokens;
        public long Refilled = Stopwatch.GetTimestamp();
    }
}
