using Microsoft.AspNetCore.Server.Kestrel.Core;
using PeerCredentials;

namespace EchoApi.Settings;

/// <summary>What one peer, and all of them together, may hold and take: connections, rates, sizes, time.</summary>
public sealed class LimitSettings
{
    // Where a setting means what a framework or library option means, it starts from that option's own
    // default. Kestrel's body rate is never null by default; without one there would be no limit and no grace.
    private static readonly KestrelServerLimits Kestrel = new();
    private static readonly PeerCredentialGateOptions Gate = new();

    /// <summary>
    /// How many connections each socket holds open (Kestrel's limit, which it counts per endpoint; more are
    /// closed at once), and how many upgraded WebSockets the service holds in all. Three quarters of it is
    /// what every uid other than the owner may hold together, on all sockets.
    /// </summary>
    /// <value>Defaults to 4096.</value>
    public long MaxConnections { get; set; } = 4096;

    /// <summary>How many connections one uid may hold open on all the service's sockets together; more are closed at connect.</summary>
    /// <value>Defaults to 256.</value>
    public int MaxConnectionsPerUser { get; set; } = 256;

    /// <summary>
    /// How many new connections per second one uid may open; more are closed right after <c>accept()</c>,
    /// before Kestrel spends anything on them, so a uid flooding the socket with connects cannot crowd
    /// out the others. It does not apply to the owner (nor to root with <see cref="AccessSettings.AllowRoot"/>),
    /// whom it protects. 0 turns the limit off.
    /// </summary>
    /// <value>Defaults to 1000, <see cref="PeerCredentialGateOptions.ConnectionsPerSecondPerUser"/>'s default.</value>
    public double MaxConnectsPerSecondPerUser { get; set; } = Gate.ConnectionsPerSecondPerUser;

    /// <summary>
    /// How long the service stops accepting on a socket after every
    /// <see cref="PeerCredentialGateOptions.RefusalsBeforePause"/> (32) connections it closed for
    /// <see cref="MaxConnectsPerSecondPerUser"/>: during a connect flood, the connections already open
    /// are served first. New connections to that socket wait behind the flood meanwhile; the owner's
    /// <see cref="SocketSettings.OwnerSocketPath"/> has no flood to wait behind. 0 never pauses.
    /// </summary>
    /// <value>Defaults to 1 ms, <see cref="PeerCredentialGateOptions.FloodPause"/>'s default.</value>
    public TimeSpan FloodPause { get; set; } = Gate.FloodPause;

    /// <summary>How long a client may take to send its request headers.</summary>
    /// <value>Defaults to 10 seconds.</value>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle keep-alive HTTP connection stays open.</summary>
    /// <value>Defaults to 2 minutes.</value>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The slowest a request body may arrive, in bytes per second, after a 5-second grace period.</summary>
    /// <value>Defaults to 240 bytes per second, Kestrel's <see cref="KestrelServerLimits.MinRequestBodyDataRate"/>.</value>
    public double MinRequestBodyBytesPerSecond { get; set; } = Kestrel.MinRequestBodyDataRate?.BytesPerSecond ?? 0;

    /// <summary>The largest total size of a request's headers, in bytes.</summary>
    /// <value>Defaults to 32 KiB, Kestrel's <see cref="KestrelServerLimits.MaxRequestHeadersTotalSize"/>.</value>
    public int MaxRequestHeadersBytes { get; set; } = Kestrel.MaxRequestHeadersTotalSize;

    /// <summary>How long shutdown waits for in-flight requests to finish.</summary>
    /// <value>Defaults to 30 seconds, <see cref="HostOptions.ShutdownTimeout"/>'s default.</value>
    public TimeSpan ShutdownTimeout { get; set; } = new HostOptions().ShutdownTimeout;

    /// <summary>The largest body <c>POST /echo</c> echoes, in bytes; larger ones get 413.</summary>
    /// <value>Defaults to 16 MiB.</value>
    public long MaxEchoBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>How long a WebSocket or line-socket peer may send nothing before the server closes it.</summary>
    /// <value>Defaults to 5 minutes.</value>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The grace period before <see cref="MinRequestBodyBytesPerSecond"/> applies: Kestrel's own.</summary>
    internal static TimeSpan MinRequestBodyGracePeriod => Kestrel.MinRequestBodyDataRate?.GracePeriod ?? TimeSpan.Zero;
}
