namespace PeerCredentials.Authorization;

/// <summary>
/// Only the socket's owner may pass: the peer's uid must equal <see cref="OwnerUserId"/>. Root is refused
/// unless root is the owner or <see cref="AllowRoot"/> is set; the overflow uid of an unmapped user
/// namespace is always refused.
/// </summary>
/// <param name="ownerUserId">The owner's uid.</param>
/// <param name="allowRoot">Whether uid 0 passes too.</param>
public sealed class SocketOwnerRequirement(uint ownerUserId, bool allowRoot) : PeerCredentialRequirement
{
    /// <summary>The owner's uid.</summary>
    public uint OwnerUserId { get; } = ownerUserId;

    /// <summary>Whether uid 0 passes although it is not the owner.</summary>
    public bool AllowRoot { get; } = allowRoot;

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer.UserId == OwnerUserId)
        {
            // An owner configured as the overflow uid would let every unmapped user-namespace peer in.
            return peer.IsOverflowUser
                ? $"uid {peer.UserId} is the overflow uid of an unmapped user namespace, which never names a real user"
                : null;
        }

        if (peer.UserId == 0)
        {
            return AllowRoot
                ? null
                : $"uid 0 (root) is not the owner of this socket (uid {OwnerUserId}), and root is not allowed";
        }

        return $"uid {peer.UserId} is not the owner of this socket (uid {OwnerUserId})";
    }

    /// <summary>The requirement as refusals and <c>/whoami</c> name it: <c>owner (uid 1000)</c>, with <c>or root</c> when root passes too.</summary>
    public override string ToString() => AllowRoot && OwnerUserId != 0 ? $"owner (uid {OwnerUserId}) or root" : $"owner (uid {OwnerUserId})";
}
