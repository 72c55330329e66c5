using Microsoft.AspNetCore.Authorization;

namespace PeerCredentials.Authorization;

/// <summary>
/// Only the socket's owner may pass: the peer's uid must equal <see cref="OwnerUserId"/>. Root is refused
/// unless root is the owner or <see cref="AllowRoot"/> is set; the overflow uid of an unmapped user
/// namespace is always refused.
/// </summary>
/// <param name="ownerUserId">The owner's uid.</param>
/// <param name="allowRoot">Whether uid 0 passes too.</param>
public sealed class SocketOwnerRequirement(uint ownerUserId, bool allowRoot) : IAuthorizationRequirement
{
    /// <summary>The owner's uid.</summary>
    public uint OwnerUserId { get; } = ownerUserId;

    /// <summary>Whether uid 0 passes although it is not the owner.</summary>
    public bool AllowRoot { get; } = allowRoot;
}
