using Microsoft.AspNetCore.Authentication;

namespace PeerCredentials.Authentication;

/// <summary>Options for peer-credential authentication.</summary>
public sealed class PeerCredentialAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>
    /// Whether to resolve user and group names through the system's user database (cached per id).
    /// </summary>
    /// <value>Defaults to <see langword="true"/>. When <see langword="false"/>, names are the numbers.</value>
    public bool ResolveNames { get; set; } = true;

    /// <summary>
    /// Whether to issue a <see cref="PeerCredentialClaimTypes.ExecutablePath"/> claim, read through the
    /// peer's pidfd (once per connection, on the first request).
    /// </summary>
    /// <value>Defaults to <see langword="false"/>: the decision path stays free of <c>/proc</c> reads.</value>
    public bool IncludeExecutablePath { get; set; }
}
