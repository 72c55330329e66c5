namespace PeerCredentials;

/// <summary>Why the gate refused a connection.</summary>
public enum PeerRefusalReason
{
    /// <summary>The endpoint's <see cref="PeerCredentialConnectionOptions.AuthorizePeer"/> said no.</summary>
    NotAuthorized,

    /// <summary>The uid already holds <see cref="PeerCredentialGateOptions.MaxConnectionsPerUser"/> connections.</summary>
    UserConnectionLimit,

    /// <summary>The untrusted uids together hold <see cref="PeerCredentialGateOptions.MaxUntrustedConnections"/> connections.</summary>
    UntrustedConnectionLimit,
}

/// <summary>A refusal by the gate: who, why, in words fit for a log or the peer.</summary>
/// <param name="Credential">The refused peer.</param>
/// <param name="Reason">Why, as a value.</param>
/// <param name="Message">Why, in words.</param>
public sealed record PeerRefusal(PeerCredential Credential, PeerRefusalReason Reason, string Message);
