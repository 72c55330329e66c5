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

    private (object Key, object? Answer)[] _entries = [];

    /// <summary>The refusal (or <see langword="null"/> for a pass) kept for <paramref name="key"/>, computing it once.</summary>
    public string? GetOrAdd<TKey>(TKey key, Func<TKey, PeerCredential, string?> check, PeerCredential peer)
        where TKey : class
        => GetOrAdd<TKey, string>(key, check, peer);

    /// <summary>
    /// The answer kept for <paramref name="key"/>, computing it once. A key must always be asked for
    /// answers of one type.
    /// </summary>
    public TAnswer? GetOrAdd<TKey, TAnswer>(TKey key, Func<TKey, PeerCredential, TAnswer?> decide, PeerCredential peer)
        where TKey : class
        where TAnswer : class
    {
        var entries = Volatile.Read(ref _entries);
        foreach (var entry in entries)
        {
            if (ReferenceEquals(entry.Key, key))
            {
                return (TAnswer?)entry.Answer;
            }
        }

        var answer = decide(key, peer);
        if (entries.Length < MaxEntries)
        {
            // A racing writer may win; then this answer is simply computed again next time.
            Interlocked.CompareExchange(ref _entries, [.. entries, (key, answer)], entries);
        }

        return answer;
    }
}
