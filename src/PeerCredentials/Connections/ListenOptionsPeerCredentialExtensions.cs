using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerCredentials;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Puts the peer-credential gate in front of a Kestrel endpoint.</summary>
public static class ListenOptionsPeerCredentialExtensions
{
    /// <summary>
    /// Reads the kernel's peer credentials of every connection to this Unix socket endpoint, applies the
    /// service-wide limits of <see cref="PeerCredentialGateOptions"/>, and publishes the credentials as an
    /// <see cref="IPeerCredentialFeature"/> for authentication to use.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux, macOS or FreeBSD: the service must not run unauthenticated.</exception>
    public static ListenOptions UsePeerCredentials(this ListenOptions listenOptions)
        => listenOptions.UsePeerCredentials(configure: null);

    /// <summary>
    /// Like <see cref="UsePeerCredentials(ListenOptions)"/>, and refuses peers at connect as
    /// <paramref name="configure"/> says.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux, macOS or FreeBSD: the service must not run unauthenticated.</exception>
    public static ListenOptions UsePeerCredentials(this ListenOptions listenOptions, Action<PeerCredentialConnectionOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        PeerCredential.EnsureSupported();

        var options = new PeerCredentialConnectionOptions();
        configure?.Invoke(options);

        var services = listenOptions.KestrelServerOptions.ApplicationServices;
        var loggers = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        // One gate for the whole process when the app registered it (AddPeerCredentialGate), so that the
        // limits count every endpoint together; otherwise one with the defaults for this endpoint.
        var gate = services.GetService<PeerCredentialGate>() ?? CreateGate(loggers, services.GetService<PeerCredentialMetrics>() ?? PeerCredentialMetrics.Create(services.GetService<IMeterFactory>()));
        var logger = loggers.CreateLogger<PeerCredentialConnectionMiddleware>();
        listenOptions.Use(next => new PeerCredentialConnectionMiddleware(next, gate, options, logger).OnConnectionAsync);
        return listenOptions;
    }

    private static PeerCredentialGate CreateGate(ILoggerFactory loggers, PeerCredentialMetrics metrics)
    {
        var defaults = Options.Create(new PeerCredentialGateOptions());
        return new PeerCredentialGate(defaults, new PeerRefusalLog(defaults, loggers.CreateLogger<PeerRefusalLog>()), loggers.CreateLogger<PeerCredentialGate>(), metrics);
    }
}
