using Microsoft.AspNetCore.Connections;

namespace PeerCredentials;

/// <summary>
/// What the peer-credential gate decides for one endpoint before a connection reaches HTTP (or a
/// connection handler), in the manner of Kestrel's <c>HttpsConnectionAdapterOptions</c>: delegates, no
/// services. The limits shared by all endpoints are <see cref="PeerCredentialGateOptions"/>.
/// </summary>
public sealed class PeerCredentialConnectionOptions
{
    /// <summary>
    /// Decides at connect whether the peer may use this endpoint at all: returns <see langword="null"/> to
    /// let it in, or the reason it is refused. A refused peer is closed before a byte of its request is
    /// read. It must depend on the credential alone (for example
    /// <c>AuthorizePeer = new SocketOwnerRequirement(uid, false).Check</c>).
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: every peer the limits admit gets in, and authorization decides per request.</value>
    public Func<PeerCredential, string?>? AuthorizePeer { get; set; }

    /// <summary>
    /// Called for a peer the gate refuses after the connection was set up (by <see cref="AuthorizePeer"/>
    /// or a limit), before the gate closes it: the place for a protocol's last words, such as the line
    /// protocol's <c>Unauthorized access</c>. The gate has already logged the refusal.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: the connection is closed without a word.</value>
    public Func<ConnectionContext, PeerRefusal, ValueTask>? OnRefused { get; set; }
}
