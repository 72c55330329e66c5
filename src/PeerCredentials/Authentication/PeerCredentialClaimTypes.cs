using System.Security.Claims;

namespace PeerCredentials.Authentication;

/// <summary>The claim types a peer-credential principal carries; values are decimal numbers, names, a path or a label.</summary>
public static class PeerCredentialClaimTypes
{
    /// <summary>The peer's uid (also issued as <see cref="ClaimTypes.NameIdentifier"/>).</summary>
    public const string UserId = "urn:peercred:uid";

    /// <summary>The peer's user name, or its uid when the user database has no entry (also <see cref="ClaimTypes.Name"/>).</summary>
    public const string UserName = ClaimTypes.Name;

    /// <summary>The peer's primary gid.</summary>
    public const string GroupId = "urn:peercred:gid";

    /// <summary>The name of the peer's primary group, or its gid when the group database has no entry.</summary>
    public const string GroupName = "urn:peercred:groupname";

    /// <summary>
    /// One supplementary gid of the peer, as the kernel reports it; the group's name is in the claim's
    /// <see cref="Claim.Properties"/> under <see cref="GroupNameProperty"/>.
    /// </summary>
    public const string SupplementaryGroup = "urn:peercred:group";

    /// <summary>The peer's pid; absent when the process is not visible in this pid namespace.</summary>
    public const string ProcessId = "urn:peercred:pid";

    /// <summary>The peer's executable path, read through its pidfd; issued only when asked for and known.</summary>
    public const string ExecutablePath = "urn:peercred:exe";

    /// <summary>The peer's security label (<c>SO_PEERSEC</c>); issued only when an LSM provides one, never empty.</summary>
    public const string SecurityLabel = "urn:peercred:label";

    /// <summary>The <see cref="Claim.Properties"/> key holding a supplementary group's name.</summary>
    public const string GroupNameProperty = "name";
}
