using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PeerCredentials.Sockets;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Listening on Unix socket files that are created safely.</summary>
public static class KestrelUnixSocketExtensions
{
    /// <summary>
    /// Lets Kestrel's Sockets transport create the files of endpoints added with
    /// <see cref="ListenUnixSocketFile"/>: private directory, stale-socket handling, mode and group set
    /// before <c>listen()</c>, removal on shutdown. Their listener reads each peer's credentials right
    /// after <c>accept()</c> and applies the peer-credential gate's connect rate there.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public static IServiceCollection AddUnixSocketFiles(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        EnsureLinux(nameof(AddUnixSocketFiles));
        services.TryAddSingleton<UnixSocketFileBinder>();
        services.TryAddSingleton<DirectSocketEndpoints>();
        services.AddPeerCredentialGate(); // the listener takes the gate's first decision at accept()
        // Registered after Kestrel's own transport, so Kestrel picks it for Unix socket endpoints.
        services.AddSingleton<IConnectionListenerFactory, UnixSocketListenerFactory>();
        services.AddOptions<SocketTransportOptions>()
            .Configure<UnixSocketFileBinder>((transport, binder) => transport.CreateBoundListenSocket = binder.CreateBoundListenSocket);
        return services;
    }

    /// <summary>
    /// Listens on the Unix socket file at <paramref name="path"/>, created as <paramref name="fileOptions"/>
    /// say. An abstract socket (<c>@name</c>) has no file: no permission protects it, so peer credentials
    /// are its only gate.
    /// </summary>
    /// <exception cref="UnixSocketFileException">The path cannot be a socket path.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public static void ListenUnixSocketFile(this KestrelServerOptions options, string path, UnixSocketFileOptions fileOptions, Action<ListenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(fileOptions);
        EnsureLinux(nameof(ListenUnixSocketFile));
        if (UnixSocketPaths.Validate(path) is { } problem)
        {
            throw new UnixSocketFileException($"Socket path {problem}.");
        }

        if (UnixSocketPaths.IsAbstract(path))
        {
            // The abstract namespace: a leading NUL instead of '@', no file, no permissions.
            options.Listen(UnixSocketPaths.ToEndPoint(path), configure);
            return;
        }

        var binder = options.ApplicationServices.GetService<UnixSocketFileBinder>()
            ?? throw new InvalidOperationException($"Call services.{nameof(AddUnixSocketFiles)}() before listening on Unix socket files.");
        binder.Register(path, fileOptions);
        options.ListenUnixSocket(path, configure);
    }

    // The safe socket file is made with Linux's system calls (statx, O_PATH, fchmodat, SOCK_CLOEXEC) and
    // abstract names are Linux's; the peer credentials themselves are read on macOS and FreeBSD too.
    private static void EnsureLinux(string method)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException(
                $"{method} makes its socket files with Linux system calls; on {System.Runtime.InteropServices.RuntimeInformation.OSDescription} listen with Kestrel's ListenUnixSocket and UsePeerCredentials() instead.");
        }
    }
}
