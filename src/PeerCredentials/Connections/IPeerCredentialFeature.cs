namespace PeerCredentials;

/// <summary>
/// The peer credentials of a connection, published by <c>UsePeerCredentials()</c> on the
/// connection's features and, through them, on every request it carries.
/// </summary>
public interface IPeerCredentialFeature
{
    /// <summary>The credentials the kernel reported when the peer connected.</summary>
    PeerCredential Credential { get; }
}
