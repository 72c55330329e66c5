namespace PeerCredentials;

internal sealed class PeerCredentialFeature(PeerCredential credential) : IPeerCredentialFeature
{
    public PeerCredential Credential { get; } = credential;
}
