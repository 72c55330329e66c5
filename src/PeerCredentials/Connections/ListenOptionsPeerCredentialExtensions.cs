using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PeerCredentials;

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
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        PeerCredential.EnsureSupported();

        var loggerFactory = listenOptions.KestrelServerOptions.ApplicationServices.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger(typeof(PeerCredentialConnectionMiddleware).FullName!);
        listenOptions.Use(next => new PeerCredentialConnectionMiddleware(next, logger).OnConnectionAsync);
        return listenOptions;
    }
}
