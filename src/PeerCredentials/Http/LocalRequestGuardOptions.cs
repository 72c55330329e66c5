namespace PeerCredentials.Http;

/// <summary>Options of the local request guard (<see cref="Microsoft.AspNetCore.Builder.LocalRequestGuardExtensions.UseLocalRequestGuard"/>).</summary>
public sealed class LocalRequestGuardOptions
{
    /// <summary>The host names every request may carry, whatever else is allowed: the loopback names a browser cannot be made to send for another site.</summary>
    public static readonly IReadOnlyList<string> LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    /// <summary>
    /// Host names or IP addresses (an IPv6 address in brackets), without scheme or port, that a request's
    /// <c>Host</c> may name besides <see cref="LoopbackHosts"/>, on any port. Compared without regard to case.
    /// Add only names that no one else's DNS can point at this machine.
    /// </summary>
    /// <value>Defaults to none.</value>
    public IList<string> AllowedHosts { get; } = [];
}
