using System.Globalization;
using System.Security.Claims;

namespace PeerCredentials.Authentication;

/// <summary>
/// The identity of a Unix socket peer. Only this library creates it, so code that finds one on a
/// principal knows its claims came from the kernel, not from a token or header that imitates them.
/// </summary>
public sealed class PeerCredentialIdentity : ClaimsIdentity
{
    internal PeerCredentialIdentity(PeerCredential credential, string authenticationType, PeerCredentialAuthenticationOptions options)
        : base(authenticationType, ClaimTypes.Name, ClaimTypes.Role)
    {
        Credential = credential;
        var issuer = options.ClaimsIssuer ?? authenticationType;
        var uid = Number(credential.UserId);
        var gid = Number(credential.GroupId);

        AddClaim(new Claim(ClaimTypes.NameIdentifier, uid, ClaimValueTypes.UInteger32, issuer));
        AddClaim(new Claim(PeerCredentialClaimTypes.UserId, uid, ClaimValueTypes.UInteger32, issuer));
        AddClaim(new Claim(PeerCredentialClaimTypes.UserName, options.ResolveNames ? UnixAccounts.GetUserName(credential.UserId) : uid, ClaimValueTypes.String, issuer));
        AddClaim(new Claim(PeerCredentialClaimTypes.GroupId, gid, ClaimValueTypes.UInteger32, issuer));
        AddClaim(new Claim(PeerCredentialClaimTypes.GroupName, options.ResolveNames ? UnixAccounts.GetGroupName(credential.GroupId) : gid, ClaimValueTypes.String, issuer));
        if (credential.ProcessId > 0)
        {
            AddClaim(new Claim(PeerCredentialClaimTypes.ProcessId, credential.ProcessId.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer32, issuer));
        }

        foreach (var group in credential.SupplementaryGroups ?? [])
        {
            var claim = new Claim(PeerCredentialClaimTypes.SupplementaryGroup, Number(group), ClaimValueTypes.UInteger32, issuer);
            claim.Properties[PeerCredentialClaimTypes.GroupNameProperty] = options.ResolveNames ? UnixAccounts.GetGroupName(group) : Number(group);
            AddClaim(claim);
        }

        if (options.IncludeExecutablePath && credential.GetExecutablePath() is { } executable)
        {
            AddClaim(new Claim(PeerCredentialClaimTypes.ExecutablePath, executable, ClaimValueTypes.String, issuer));
        }
    }

    private PeerCredentialIdentity(PeerCredentialIdentity other)
        : base(other)
    {
        Credential = other.Credential;
    }

    /// <summary>The kernel's credentials this identity was built from.</summary>
    public PeerCredential Credential { get; }

    /// <inheritdoc />
    public override ClaimsIdentity Clone() => new PeerCredentialIdentity(this);

    private static string Number(uint value) => value.ToString(CultureInfo.InvariantCulture);
}
