namespace PeerCredentials.Authorization;

/// <summary>
/// The sha256 of the peer's executable must be one of <see cref="Hashes"/>
/// (<see cref="PeerCredential.GetExecutableSha256"/>: the file the process runs, opened through
/// <c>/proc/PID/exe</c> and confirmed through the pidfd). A peer whose executable cannot be hashed
/// (unknown, or larger than <see cref="PeerCredential.MaxHashedExecutableBytes"/>) is refused. SPIRE's
/// <c>sha256:</c> selector.
/// </summary>
/// <remarks>
/// The hash is read once per connection, only when a policy with this requirement is evaluated: about
/// 1 ms per MB of executable. The remarks of <see cref="PeerExecutableRequirement"/> apply: it names the
/// program the process runs, not what the process does.
/// </remarks>
public sealed class PeerExecutableHashRequirement : PeerCredentialRequirement
{
    /// <summary>Creates the requirement.</summary>
    /// <param name="sha256Hashes">The hashes allowed: 64 hexadecimal digits each, in either case.</param>
    /// <exception cref="ArgumentException">No hash, or one that is not 64 hexadecimal digits.</exception>
    public PeerExecutableHashRequirement(params IEnumerable<string> sha256Hashes)
    {
        ArgumentNullException.ThrowIfNull(sha256Hashes);
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var hash in sha256Hashes)
        {
            if (hash is not { Length: 64 } || !hash.All(char.IsAsciiHexDigit))
            {
                throw new ArgumentException($"'{hash}' is not a sha256: that is 64 hexadecimal digits (sha256sum prints it).", nameof(sha256Hashes));
            }

            set.Add(hash.ToLowerInvariant());
        }

        if (set.Count == 0)
        {
            throw new ArgumentException("Name at least one sha256.", nameof(sha256Hashes));
        }

        Hashes = set;
    }

    /// <summary>The hashes allowed, lowercase.</summary>
    public IReadOnlySet<string> Hashes { get; }

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var hash = peer.ExecutableSha256;
        if (hash.Value is not { } sha256)
        {
            return $"the sha256 of the peer's executable cannot be known: {hash.Unknown}";
        }

        return Hashes.Contains(sha256)
            ? null
            : $"executable {peer.GetExecutablePath()} has sha256 {sha256}, which is not {string.Join(" or ", Hashes.Order(StringComparer.Ordinal))}";
    }

    /// <summary>The selector in SPIRE's spelling: <c>sha256:…</c> (several joined by <c> or </c>).</summary>
    public override string ToString() => string.Join(" or ", Hashes.Order(StringComparer.Ordinal).Select(h => "sha256:" + h));
}
