using System.Globalization;
using System.Security.Claims;

namespace PeerCredentials.Authentication;

/// <summary>
/// The identity of a Unix socket peer. Only this library creates it, so code that finds one on a
/// principal knows its claims came from the kernel, not from a token or header that imitates them.
/// It is built once per connection and cannot be changed: adding or removing a claim throws. A claims
/// transformation that wants to add claims adds a <see cref="ClaimsIdentity"/> of its own to the
/// principal instead.
/// </summary>
public sealed class PeerCredentialIdentity : ClaimsIdentity
{
    private readonly bool _frozen;

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

        if (credential.SecurityLabel is { } label)
        {
            AddClaim(new Claim(PeerCredentialClaimTypes.SecurityLabel, label, ClaimValueTypes.String, issuer));
        }

        if (options.IncludeExecutablePath && credential.GetExecutablePath() is { } executable)
        {
            AddClaim(new Claim(PeerCredentialClaimTypes.ExecutablePath, executable, ClaimValueTypes.String, issuer));
        }

        _frozen = true;
    }

    private PeerCredentialIdentity(PeerCredentialIdentity other)
        : base(other)
    {
        Credential = other.Credential;
        _frozen = true;
    }

    /// <summary>The kernel's credentials this identity was built from.</summary>
    public PeerCredential Credential { get; }

    /// <summary>The scheme options this identity was built with, so a cached one is only reused for the same.</summary>
    private PeerCredentialAuthenticationOptions? BuiltWith { get; init; }

    /// <summary>The connection's identity under <paramref name="scheme"/>: built on first use, then kept with the credential.</summary>
    internal static PeerCredentialIdentity ForConnection(PeerCredential credential, string scheme, PeerCredentialAuthenticationOptions options)
    {
        var identity = credential.Identity;
        if (identity is null || identity.AuthenticationType != scheme || !ReferenceEquals(identity.BuiltWith, options))
        {
            // Two requests racing here build two equal identities; either one is right.
            identity = new PeerCredentialIdentity(credential, scheme, options) { BuiltWith = options };
            credential.Identity = identity;
        }

        return identity;
    }

    /// <inheritdoc />
    public override ClaimsIdentity Clone() => new PeerCredentialIdentity(this);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Always, once built: the kernel's word is not to be edited.</exception>
    public override void AddClaim(Claim claim)
    {
        ThrowIfFrozen();
        base.AddClaim(claim);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Always, once built.</exception>
    public override void AddClaims(IEnumerable<Claim?> claims)
    {
        ThrowIfFrozen();
        base.AddClaims(claims);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Always, once built.</exception>
    public override void RemoveClaim(Claim? claim)
    {
        ThrowIfFrozen();
        base.RemoveClaim(claim);
    }

    /// <inheritdoc />
    /// <returns>Never returns once built: throws.</returns>
    /// <exception cref="InvalidOperationException">Always, once built.</exception>
    public override bool TryRemoveClaim(Claim? claim)
    {
        ThrowIfFrozen();
        return base.TryRemoveClaim(claim);
    }

    private void ThrowIfFrozen()
    {
        if (_frozen)
        {
            throw new InvalidOperationException(
                "A PeerCredentialIdentity holds what the kernel said about the peer and cannot be changed. Add a ClaimsIdentity of your own to the principal (for example in an IClaimsTransformation) for claims of your own.");
        }
    }

    private static string Number(uint value) => value.ToString(CultureInfo.InvariantCulture);
}
