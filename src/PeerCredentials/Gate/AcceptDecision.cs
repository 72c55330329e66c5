namespace PeerCredentials;

/// <summary>What happens to a connection right after <c>accept()</c>.</summary>
internal enum AcceptDecision
{
    Admit,
    RateLimited,
    Unreadable,
}
