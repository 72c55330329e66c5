namespace PeerCredentials;

/// <summary>
/// The answers of checks that depend on the peer alone, kept for one connection: the kernel fixed the
/// peer's identity at <c>connect()</c>, so asking again can only give the same answer. Keyed by the
/// check's identity (a requirement object); a handful of entries per connection, copied on write so
/// that reads take no lock.
/// </summary>
internal sealed class PeerDecisionCache
{
    // More distinct checks than a service has policies; past it, answers are computed, not kept.
    private const int MaxEntries = 32;

    private (object Key, string? Refusal)[] _entries = [];

    /// <summary>The refusal (or <see langword="null"/> for a pass) kept for <paramref name="key"/>, computing it once.</summary>
    public string? GetOrAdd<TKey>(TKey key, Func<TKey, PeerCredential, string?> check, PeerCredential peer)
        where TKey : class
    {
        var entries = Volatile.Read(ref _entries);
        foreach (var entry in entries)
        {
            if (ReferenceEquals(entry.Key, key))
            {
                return entry.Refusal;
            }
        }

        var refusal = check(key, peer);
        if (entries.Length < MaxEntries)
        {
            // A racing writer may win; then this answer is simply computed again next time.
            Interlocked.CompareExchange(ref _entries, [.. entries, (key, refusal)], entries);
        }

        return refusal;
    }
}
