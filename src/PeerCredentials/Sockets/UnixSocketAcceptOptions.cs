namespace PeerCredentials.Sockets;

/// <summary>What the Unix socket listener decides right after <c>accept()</c>, before Kestrel spends anything on a connection.</summary>
public sealed class UnixSocketAcceptOptions
{
    /// <summary>
    /// How many new connections per second one uid may open (a token bucket holding twice as many);
    /// connections over it are closed at once, so a uid that floods the socket with connects cannot
    /// crowd out the others.
    /// </summary>
    /// <value>Defaults to 1000; 0 turns the limit off.</value>
    public double ConnectionsPerSecondPerUser { get; set; } = 1000;

    /// <summary>
    /// The uids <see cref="ConnectionsPerSecondPerUser"/> does not apply to: those the limit protects,
    /// typically the socket's owner, whose own clients may connect as often as they like.
    /// </summary>
    public ISet<uint> UnlimitedUserIds { get; } = new HashSet<uint>();

    /// <summary>
    /// After how many connections closed for their uid's connect rate (counted since the last pause)
    /// the listener stops accepting for <see cref="FloodPause"/>. Refusing costs the kernel about as
    /// much as connecting costs the flooder, so without a pause a flood takes a core from the
    /// connections already open.
    /// </summary>
    /// <value>Defaults to 32.</value>
    public int RefusalsBeforePause { get; set; } = 32;

    /// <summary>
    /// How long the listener stops accepting after <see cref="RefusalsBeforePause"/> refusals:
    /// a flood then costs a bounded share of one core, and the connections already open are served
    /// first. The price is paid by new connections to the same socket, which wait in the listen queue
    /// behind the flood (or find it full); the owner can keep a socket of its own that no other uid can
    /// open, and so never queues behind anyone.
    /// </summary>
    /// <value>Defaults to 1 ms; <see cref="TimeSpan.Zero"/> never pauses.</value>
    public TimeSpan FloodPause { get; set; } = TimeSpan.FromMilliseconds(1);
}
