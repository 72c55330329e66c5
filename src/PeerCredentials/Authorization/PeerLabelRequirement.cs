namespace PeerCredentials.Authorization;

/// <summary>
/// The peer's security label (<see cref="PeerCredential.SecurityLabel"/>, <c>SO_PEERSEC</c>) must be one
/// of <see cref="Labels"/>, exactly. A peer without one (no LSM labels the socket) is refused. The
/// <c>label:</c> selector.
/// </summary>
public sealed class PeerLabelRequirement : PeerCredentialRequirement
{
    /// <summary>Creates the requirement.</summary>
    /// <param name="labels">The labels allowed, as the LSM spells them (<c>system_u:system_r:sshd_t:s0</c>, <c>/usr/bin/curl (enforce)</c>).</param>
    /// <exception cref="ArgumentException">No label, or an empty one.</exception>
    public PeerLabelRequirement(params IEnumerable<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            if (string.IsNullOrEmpty(label) || label.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("A security label is a non-empty text without NUL characters.", nameof(labels));
            }

            set.Add(label);
        }

        if (set.Count == 0)
        {
            throw new ArgumentException("Name at least one security label.", nameof(labels));
        }

        Labels = set;
    }

    /// <summary>The labels allowed.</summary>
    public IReadOnlySet<string> Labels { get; }

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer.SecurityLabel is not { } label)
        {
            return "the peer has no security label (no LSM labels this socket)";
        }

        return Labels.Contains(label) ? null : $"security label '{label}' is not {string.Join(" or ", Labels.Order(StringComparer.Ordinal).Select(l => $"'{l}'"))}";
    }

    /// <summary>The selector: <c>label:…</c> (several joined by <c> or </c>).</summary>
    public override string ToString() => string.Join(" or ", Labels.Order(StringComparer.Ordinal).Select(l => "label:" + l));
}
