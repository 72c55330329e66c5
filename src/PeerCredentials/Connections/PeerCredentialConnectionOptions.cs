namespace PeerCredentials;

/// <summary>What the peer-credential connection middleware decides before a connection reaches HTTP.</summary>
public sealed class PeerCredentialConnectionOptions
{
    /// <summary>
    /// An authorization policy evaluated once, at connect, on the peer's principal; a peer that fails it
    /// is closed before a single byte of its request is parsed (the classic example's behaviour).
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: every peer reaches HTTP, where authorization answers 403 with an explanation.</value>
    public string? ConnectionPolicy { get; set; }

    /// <summary>How many connections one uid may hold open at once on this endpoint; more are closed at connect.</summary>
    /// <value>Defaults to <see langword="null"/>: no limit per uid.</value>
    public int? MaxConnectionsPerUser { get; set; }
}
