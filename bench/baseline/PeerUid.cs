namespace Baseline;

/// <summary>The uid the kernel reported for the connection's peer (SO_PEERCRED), set once at accept.</summary>
internal sealed record PeerUid(uint Uid);
