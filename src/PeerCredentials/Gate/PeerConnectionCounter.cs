using System.Collections.Concurrent;

namespace PeerCredentials;

/// <summary>Open connections per uid, for per-user limits. Entries vanish at zero, so memory follows live connections.</summary>
internal sealed class PeerConnectionCounter(int limit)
{
    private readonly ConcurrentDictionary<uint, int> _open = new();

    public int Limit { get; } = limit;

    /// <summary>Counts one more connection of <paramref name="uid"/>, unless it already holds <see cref="Limit"/>.</summary>
    public bool TryAcquire(uint uid, out int open)
    {
        while (true)
        {
            open = _open.GetValueOrDefault(uid);
            if (open >= Limit)
            {
                return false;
            }

            if (open == 0 ? _open.TryAdd(uid, 1) : _open.TryUpdate(uid, open + 1, open))
            {
                open++;
                return true;
            }
        }
    }

    public void Release(uint uid)
    {
        while (true)
        {
            var open = _open.GetValueOrDefault(uid);
            if (open <= 1
                ? _open.TryRemove(new KeyValuePair<uint, int>(uid, open))
                : _open.TryUpdate(uid, open - 1, open))
            {
                return;
            }
        }
    }
}
