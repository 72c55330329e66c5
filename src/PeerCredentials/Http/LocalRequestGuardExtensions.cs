using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials;
using PeerCredentials.Http;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the local request guard to the request pipeline.</summary>
public static class LocalRequestGuardExtensions
{
    /// <summary>
    /// Refuses the requests a web page can make a browser send to a local API through a TCP bridge, which
    /// carry the bridge's uid: a <c>Host</c> that is not a loopback name (or one of
    /// <see cref="LocalRequestGuardOptions.AllowedHosts"/>) gets 421, as DNS rebinding sends the attacker's
    /// own name; a cross-site browser request (<c>Sec-Fetch-Site</c> <c>cross-site</c> or <c>same-site</c>,
    /// or an <c>Origin</c> that is not the <c>Host</c>) gets 403. Both answers are problem details. Add it
    /// before authentication, so that nothing else runs for such a request, a WebSocket upgrade included.
    /// </summary>
    public static IApplicationBuilder UseLocalRequestGuard(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Its refusals share the one throttle of the peer-credential gate, where the app has one.
        var services = app.ApplicationServices;
        var refusals = services.GetService<PeerRefusalLog>() ?? new PeerRefusalLog(
            Options.Create(new PeerCredentialGateOptions()),
            services.GetRequiredService<ILoggerFactory>().CreateLogger<PeerRefusalLog>());
        var metrics = services.GetService<PeerCredentialMetrics>() ?? PeerCredentialMetrics.Create(services.GetService<IMeterFactory>());
        return app.UseMiddleware<LocalRequestGuardMiddleware>(refusals, metrics);
    }
}
