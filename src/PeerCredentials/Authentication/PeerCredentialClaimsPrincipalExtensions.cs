using System.Globalization;
using System.Security.Claims;

namespace PeerCredentials.Authentication;

/// <summary>Reads a peer's identity off a principal built by peer-credential authentication.</summary>
public static class PeerCredentialClaimsPrincipalExtensions
{
    /// <summary>
    /// The peer-credential identity of <paramref name="principal"/>, or <see langword="null"/> when the
    /// principal was not authenticated from a Unix socket's credentials.
    /// </summary>
    public static PeerCredentialIdentity? GetPeerIdentity(this ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        foreach (var identity in principal.Identities)
        {
            if (identity is PeerCredentialIdentity peer)
            {
                return peer;
            }
        }

        return null;
    }

    /// <summary>The supplementary groups of the peer, with their names, in the kernel's order.</summary>
    public static IReadOnlyList<UnixGroup> GetSupplementaryGroups(this PeerCredentialIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return [.. identity.FindAll(PeerCredentialClaimTypes.SupplementaryGroup).Select(claim => new UnixGroup(
            uint.Parse(claim.Value, CultureInfo.InvariantCulture),
            claim.Properties.TryGetValue(PeerCredentialClaimTypes.GroupNameProperty, out var name) ? name : claim.Value))];
    }

    /// <summary>The value of the first claim of <paramref name="type"/>, or <see langword="null"/>.</summary>
    public static string? Value(this PeerCredentialIdentity identity, string type)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return identity.FindFirst(type)?.Value;
    }
}

/// <summary>A Unix group: its gid and its name (the gid as text when the group database has none).</summary>
/// <param name="Id">The gid.</param>
/// <param name="Name">The group's name.</param>
public sealed record UnixGroup(uint Id, string Name);
