using EchoApi.LineProtocol;
using EchoApi.Settings;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using PeerCredentials;
using PeerCredentials.Authorization;
using PeerCredentials.Sockets;

namespace EchoApi.Hosting;

/// <summary>The service's sockets: files made safely, every connection through the peer-credential gate.</summary>
public static class EchoApiSocketsExtensions
{
    /// <summary>
    /// Binds and checks the settings, then listens on the HTTP socket, the owner's socket and the line
    /// socket (or on the sockets systemd hands over), each behind the gate, with the service's limits.
    /// </summary>
    public static WebApplicationBuilder AddEchoApiSockets(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Settings: read as typed (unknown keys, values that do not convert), bound from "EchoApi", checked
        // before the socket exists; a failure is one line on stderr, not the host's stack trace.
        builder.Services.AddEchoApiSettings();
        StartupFailure.QuietHostErrors(builder.Logging, builder.Configuration);
        EchoApiStartupLog.QuietFrameworkStartupLines(builder.Logging, builder.Configuration);

        // The gate's limits count every socket together; they protect the owner (and root, when allowed)
        // rather than limit them.
        builder.Services.AddUnixSocketFiles();
        builder.Services.AddUnixSocketsOnly(); // no TCP listener, from Kestrel's settings or systemd: it would be outside the gate
        builder.Services.AddOptions<PeerCredentialGateOptions>().Configure<IOptions<LimitSettings>, IOptions<AccessSettings>>((gate, limitSettings, access) =>
        {
            var limits = limitSettings.Value;
            gate.ConnectionsPerSecondPerUser = limits.MaxConnectsPerSecondPerUser;
            gate.FloodPause = limits.FloodPause;
            gate.MaxConnectionsPerUser = limits.MaxConnectionsPerUser;
            // Strangers together never hold all of Kestrel's connections: the owner always finds room.
            gate.MaxUntrustedConnections = (int)Math.Min(int.MaxValue, Math.Max(1, limits.MaxConnections * 3 / 4));
            foreach (var uid in access.Value.TrustedUserIds())
            {
                gate.TrustedUserIds.Add(uid);
            }

            if (access.Value.RelayExecutables.Count > 0)
            {
                gate.RelayExecutableNames.Clear();
                gate.RelayExecutableNames.UnionWith(access.Value.RelayExecutables);
            }
        });
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<LimitSettings>>((host, limits) => host.ShutdownTimeout = limits.Value.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(Listen);
        return builder;
    }

    private static void Listen(KestrelServerOptions kestrel)
    {
        var services = kestrel.ApplicationServices;
        var sockets = services.GetRequiredService<IOptions<SocketSettings>>().Value;
        var access = services.GetRequiredService<IOptions<AccessSettings>>().Value;
        ApplyLimits(kestrel.Limits, services.GetRequiredService<IOptions<LimitSettings>>().Value);

        // The access check (the HTTP policy's own), for the gate to ask at connect: on the line socket always
        // (the classic protocol has no way to say 403), on the HTTP sockets when RefuseAtConnect says so.
        var allowed = services.GetRequiredService<AccessRules>();
        void Http(PeerCredentialConnectionOptions gate) => gate.AuthorizePeer = access.RefuseAtConnect ? allowed.Check : null;
        void Lines(PeerCredentialConnectionOptions gate)
        {
            gate.AuthorizePeer = allowed.Check;
            gate.OnRefused = LineEchoConnectionHandler.RefuseAsync;
        }

        // The line protocol receives and sends on the bare socket (UseDirectSocket): see LineEchoConnectionHandler
        // for what runs on which thread. The gate still decides first, on the thread pool.
        void ListenLines(ListenOptions listen) => listen.UseDirectSocket().UsePeerCredentials(Lines).UseConnectionHandler<LineEchoConnectionHandler>();

        // Socket activation: systemd made the sockets (FileDescriptorName=line for the line socket); this
        // process serves them and never creates, chmods or deletes their files.
        var inherited = kestrel.ListenOnSystemdSockets((name, listen) =>
        {
            if (name == "line")
            {
                ListenLines(listen);
            }
            else
            {
                listen.UsePeerCredentials(Http);
            }
        });
        if (inherited > 0)
        {
            return;
        }

        var file = new UnixSocketFileOptions { Mode = sockets.SocketFileMode, Group = sockets.SocketGroup };
        kestrel.ListenUnixSocketFile(sockets.SocketPath, file, listen => listen.UsePeerCredentials(Http));
        if (!string.IsNullOrEmpty(sockets.OwnerSocketPath))
        {
            // Only the owner can open it: no other uid can flood it, or wait in its listen queue.
            var ownerOnly = new UnixSocketFileOptions { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
            kestrel.ListenUnixSocketFile(sockets.OwnerSocketPath, ownerOnly, listen => listen.UsePeerCredentials(Http));
        }

        if (!string.IsNullOrEmpty(sockets.LineSocketPath))
        {
            kestrel.ListenUnixSocketFile(sockets.LineSocketPath, file, ListenLines);
        }
    }

    // Slow or idle peers are timed out, and nothing a peer sends is held without a bound.
    private static void ApplyLimits(KestrelServerLimits limits, LimitSettings settings)
    {
        limits.MaxConcurrentConnections = settings.MaxConnections;
        limits.MaxConcurrentUpgradedConnections = settings.MaxConnections;
        limits.RequestHeadersTimeout = settings.RequestHeadersTimeout;
        limits.KeepAliveTimeout = settings.KeepAliveTimeout;
        limits.MaxRequestHeadersTotalSize = settings.MaxRequestHeadersBytes;
        limits.MinRequestBodyDataRate = settings.MinRequestBodyBytesPerSecond > 0
            ? new MinDataRate(settings.MinRequestBodyBytesPerSecond, LimitSettings.MinRequestBodyGracePeriod)
            : null;
    }
}
