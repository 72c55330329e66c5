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
}
