namespace EchoApi;

/// <summary>The service's settings, section <c>EchoApi</c> (environment: <c>EchoApi__Name</c>).</summary>
public sealed class EchoApiOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "EchoApi";

    /// <summary>The command-line switches that are short for a setting.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--socket"] = $"{Section}:{nameof(SocketPath)}",
    };

    /// <summary>The HTTP socket's path.</summary>
    /// <value>Defaults to <c>$XDG_RUNTIME_DIR/echoapi/echo.sock</c> (when that directory is the process's own); without it <c>/run/echoapi/echo.sock</c> for root, <c>/tmp/echoapi-UID/echo.sock</c> otherwise.</value>
    public string? SocketPath { get; set; }

    /// <summary>The socket file's mode, in octal.</summary>
    /// <value>Defaults to <c>0600</c>: only the owner can connect. <c>0660</c> lets the file's group connect too.</value>
    public string SocketMode { get; set; } = "0600";

    /// <summary>The group (name or gid) the socket files are given, before <c>listen()</c>; use with <c>SocketMode=0660</c>.</summary>
    /// <value>Defaults to <see langword="null"/>: the service's own group.</value>
    public string? SocketGroup { get; set; }

    /// <summary>Whether a peer that fails the owner policy is closed at connect, before any HTTP byte is parsed.</summary>
    /// <value>Defaults to <see langword="false"/>: it gets a 403 that explains why.</value>
    public bool RefuseAtConnect { get; set; }

    /// <summary>How many connections one uid may hold open on all the service's sockets together; more are closed at connect.</summary>
    /// <value>Defaults to 256.</value>
    public int MaxConnectionsPerUser { get; set; } = 256;

    /// <summary>
    /// How many new connections per second one uid may open; more are closed right after <c>accept()</c>,
    /// before Kestrel spends anything on them, so a uid flooding the socket with connects cannot crowd
    /// out the others. It does not apply to the owner (nor to root with <see cref="AllowRoot"/>), whom it
    /// protects. 0 turns the limit off.
    /// </summary>
    /// <value>Defaults to 1000.</value>
    public double MaxConnectsPerSecondPerUser { get; set; } = 1000;

    /// <summary>
    /// How long the service stops accepting on a socket after every 32 connections it closed for
    /// <see cref="MaxConnectsPerSecondPerUser"/>: during a connect flood, the connections already open
    /// are served first. New connections to that socket wait behind the flood meanwhile; the owner's
    /// <see cref="OwnerSocketPath"/> has no flood to wait behind. 0 never pauses.
    /// </summary>
    /// <value>Defaults to 1 ms.</value>
    public TimeSpan FloodPause { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// A second HTTP socket for the owner alone: mode 0600 whatever <see cref="SocketMode"/> says, so no
    /// other uid can even connect to it, and a flood on the shared socket leaves it alone. For when the
    /// main socket is open to others (<see cref="SocketMode"/> 0660 or 0666, or an abstract socket).
    /// The service must run as the owner.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: none.</value>
    public string? OwnerSocketPath { get; set; }

    /// <summary>
    /// How many connections each socket holds open (Kestrel's limit, which it counts per endpoint; more are
    /// closed at once), and how many upgraded WebSockets the service holds in all. Three quarters of it is
    /// what every uid other than the owner may hold together, on all sockets.
    /// </summary>
    /// <value>Defaults to 4096.</value>
    public long MaxConnections { get; set; } = 4096;

    /// <summary>How long a client may take to send its request headers.</summary>
    /// <value>Defaults to 10 seconds.</value>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle keep-alive HTTP connection stays open.</summary>
    /// <value>Defaults to 2 minutes.</value>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The slowest a request body may arrive, in bytes per second, after a 5-second grace period.</summary>
    /// <value>Defaults to 240 bytes per second.</value>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>The largest total size of a request's headers, in bytes.</summary>
    /// <value>Defaults to 32 KiB.</value>
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;

    /// <summary>How long shutdown waits for in-flight requests to finish.</summary>
    /// <value>Defaults to 30 seconds.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The user (uid or name) whose processes may use the service.</summary>
    /// <value>Defaults to <see langword="null"/>: the uid the service runs as.</value>
    public string? Owner { get; set; }

    /// <summary>Whether root may use the service when root is not the owner.</summary>
    /// <value>Defaults to <see langword="false"/>: not even root gets in.</value>
    public bool AllowRoot { get; set; }

    /// <summary>The largest body <c>POST /echo</c> echoes, in bytes; larger ones get 413.</summary>
    /// <value>Defaults to 16 MiB.</value>
    public long MaxEchoBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The raw line-echo socket's path (the classic <c>nc -U</c> protocol); empty turns it off.</summary>
    /// <value>Defaults to <c>line.sock</c> beside <see cref="SocketPath"/>.</value>
    public string? LineSocketPath { get; set; }

    /// <summary>The longest line the raw line socket accepts, in bytes; a longer one gets <c>Line too long</c>.</summary>
    /// <value>Defaults to 64 KiB.</value>
    public int MaxLineBytes { get; set; } = 64 * 1024;

    /// <summary>The largest WebSocket message <c>/echo/ws</c> accepts, in bytes; a larger one closes with 1009.</summary>
    /// <value>Defaults to 64 KiB.</value>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>How long a WebSocket or line-socket peer may send nothing before the server closes it.</summary>
    /// <value>Defaults to 5 minutes.</value>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the server pings an open WebSocket; a peer that does not answer within <see cref="IdleTimeout"/> is dropped.</summary>
    /// <value>Defaults to 30 seconds.</value>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Host names (or IP addresses, IPv6 in brackets) that requests may name in <c>Host</c> besides
    /// localhost, 127.0.0.1 and [::1], on any port; any other gets 421, since a web page that rebinds its
    /// name to this machine sends its own. Not ASP.NET Core's top-level <c>AllowedHosts</c>, whose usual
    /// <c>*</c> would let every name in.
    /// </summary>
    /// <value>Defaults to none.</value>
    public IList<string> AllowedHostNames { get; } = [];

    /// <summary>The owner's uid, resolved from <see cref="Owner"/> after binding; <see langword="null"/> when it does not resolve.</summary>
    internal uint? OwnerUserId { get; set; }

    /// <summary>The parsed <see cref="SocketMode"/>; <see langword="null"/> when it is not a valid socket mode.</summary>
    internal UnixFileMode? SocketFileMode { get; set; }

    /// <summary>The uids the gate's limits protect rather than limit: the owner, and root when allowed.</summary>
    internal IEnumerable<uint> TrustedUserIds()
    {
        if (OwnerUserId is { } owner)
        {
            yield return owner;
        }

        if (AllowRoot)
        {
            yield return 0;
        }
    }

    /// <summary>Parses an octal socket mode: read and write bits only, including the owner's.</summary>
    internal static UnixFileMode? ParseSocketMode(string? text)
        => PeerCredentials.Sockets.UnixSocketFileOptions.TryParseMode(text, out var mode) ? mode : null;
}
