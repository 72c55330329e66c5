using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerCredentials;
using PeerCredentials.Authentication;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Adds peer-credential capture to a Kestrel endpoint.</summary>
public static class ListenOptionsPeerCredentialExtensions
{
    /// <summary>
    /// Reads the kernel's peer credentials of every connection to this Unix socket endpoint and
    /// publishes them as an <see cref="IPeerCredentialFeature"/> for authentication to use.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux: the service must not run unauthenticated.</exception>
    public static ListenOptions UsePeerCredentials(this ListenOptions listenOptions)
        => listenOptions.UsePeerCredentials(configure: null);

    /// <summary>
    /// Reads the kernel's peer credentials of every connection to this Unix socket endpoint, publishes
    /// them as an <see cref="IPeerCredentialFeature"/>, and refuses peers at connect as
    /// <paramref name="configure"/> says.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux: the service must not run unauthenticated.</exception>
    public static ListenOptions UsePeerCredentials(this ListenOptions listenOptions, Action<PeerCredentialConnectionOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        PeerCredential.EnsureSupported();

        var options = new PeerCredentialConnectionOptions();
        configure?.Invoke(options);
        if (options.MaxConnectionsPerUser is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), options.MaxConnectionsPerUser, "MaxConnectionsPerUser must be positive.");
        }

        var services = listenOptions.KestrelServerOptions.ApplicationServices;
        IAuthorizationService? authorization = null;
        PeerCredentialPrincipalFactory? principals = null;
        if (options.ConnectionPolicy is not null)
        {
            authorization = services.GetRequiredService<IAuthorizationService>();
            principals = services.GetService<PeerCredentialPrincipalFactory>()
                ?? throw new InvalidOperationException("A connection policy needs peer-credential authentication: call AddAuthentication().AddPeerCredential().");
        }

        var logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(typeof(PeerCredentialConnectionMiddleware).FullName!);
        listenOptions.Use(next => new PeerCredentialConnectionMiddleware(next, options, authorization, principals, logger).OnConnectionAsync);
        return listenOptions;
    }
}
