namespace PeerCredentials;

/// <summary>
/// The service-wide limits of the peer-credential gate: they count every Unix socket endpoint that uses
/// <c>UsePeerCredentials()</c> together, because descriptors, memory and CPU are the process's, not a
/// socket's. Per-endpoint decisions (a connect-time policy, the last words to a refused peer) are
/// <see cref="PeerCredentialConnectionOptions"/>.
/// </summary>
public sealed class PeerCredentialGateOptions
{
    /// <summary>
    /// The uids the gate protects rather than limits, typically the socket's owner: they are exempt from
    /// <see cref="ConnectionsPerSecondPerUser"/> and <see cref="MaxUntrustedConnections"/>, so that no
    /// number of strangers can use up what the owner needs.
    /// </summary>
    public ISet<uint> TrustedUserIds { get; } = new HashSet<uint>();

    /// <summary>
    /// How many new connections per second one uid may open (a token bucket holding twice as many).
    /// Connections over it are closed right after <c>accept()</c>, before anything is spent on them.
    /// </summary>
    /// <value>Defaults to 1000; 0 turns the limit off.</value>
    public double ConnectionsPerSecondPerUser { get; set; } = 1000;

    /// <summary>How many connections one uid may hold open at once; more are closed at connect.</summary>
    /// <value>Defaults to <see langword="null"/>: no limit per uid.</value>
    public int? MaxConnectionsPerUser { get; set; }

    /// <summary>
    /// How many connections all uids outside <see cref="TrustedUserIds"/> may hold open together; more are
    /// closed at connect. Each connection costs descriptors (the socket and the peer's pidfd), so without
    /// this, many uids (a rootless container has 65,536) could use up the process's descriptors and leave
    /// none for the owner.
    /// </summary>
    /// <value>
    /// Defaults to <see langword="null"/>: a quarter of the descriptors the process may open
    /// (<c>RLIMIT_NOFILE</c>) past a reserve of 256, that is half of them at two descriptors a connection.
    /// A larger value is cut down to that.
    /// </value>
    public int? MaxUntrustedConnections { get; set; }

    /// <summary>
    /// After how many connections closed for their uid's connect rate (counted since the last pause) a
    /// listener stops accepting for <see cref="FloodPause"/>. Refusing costs the kernel about as much as
    /// connecting costs the flooder, so without a pause a flood takes a core from the open connections.
    /// </summary>
    /// <value>Defaults to 32.</value>
    public int RefusalsBeforePause { get; set; } = 32;

    /// <summary>
    /// How long a listener stops accepting after <see cref="RefusalsBeforePause"/> refusals. New
    /// connections to that socket wait in its listen queue meanwhile; an owner-only socket has no flood
    /// to wait behind.
    /// </summary>
    /// <value>Defaults to 1 ms; <see cref="TimeSpan.Zero"/> never pauses.</value>
    public TimeSpan FloodPause { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The shortest time between two refusal warnings about the same uid; those in between are counted.</summary>
    /// <value>Defaults to 1 second.</value>
    public TimeSpan RefusalLogInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The executable file names of relays (<see cref="PeerRelays.DefaultNames"/> to begin with): a connection
    /// from one is logged, once per connection and at most once per <see cref="RefusalLogInterval"/> per uid,
    /// as relayed, because its credentials describe the relay (a <c>socat</c> bridge, an <c>ssh</c> forward)
    /// and not the client behind it. Empty: nothing is looked at.
    /// </summary>
    /// <remarks>Each admitted connection then costs one <c>readlink</c> of <c>/proc/PID/exe</c> (a few µs), and one
    /// from a relay the confirmed read through its pidfd (<see cref="PeerCredential.IsRelay"/>).</remarks>
    public ISet<string> RelayExecutableNames { get; } = new HashSet<string>(PeerRelays.DefaultNames, StringComparer.Ordinal);
}
