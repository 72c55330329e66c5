namespace PeerCredentials.Authorization;

/// <summary>
/// The peer must not be a known relay (<see cref="PeerCredential.IsRelay"/>): a <c>socat</c> bridge or an
/// <c>ssh</c> forward speaks with its own uid for clients the kernel never saw. As a connection-level
/// check, pass its <see cref="Check"/> as <c>AuthorizePeer</c>.
/// </summary>
/// <remarks>
/// Only relays recognised by name are refused; a peer whose executable cannot be known is admitted (see
/// <see cref="PeerRelays"/>). It is a guard against mistakes, not against a peer that hides.
/// </remarks>
/// <param name="relayNames">Executable file names that count as relays; <see langword="null"/> for <see cref="PeerRelays.DefaultNames"/>.</param>
public sealed class PeerNotRelayRequirement(IReadOnlySet<string>? relayNames = null) : PeerCredentialRequirement
{
    /// <summary>The executable file names that count as relays.</summary>
    public IReadOnlySet<string> RelayNames { get; } = relayNames ?? PeerRelays.DefaultNames;

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return peer.IsRelay(RelayNames)
            ? $"the peer is a relay ({peer.GetExecutablePath()}): its credentials describe the relay, not its client"
            : null;
    }

    /// <summary>A description; relays have no selector of their own.</summary>
    public override string ToString() => "not a relay";
}
