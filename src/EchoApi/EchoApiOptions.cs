using System.Globalization;

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
    /// <value>Defaults to <c>$XDG_RUNTIME_DIR/echoapi/echo.sock</c>; without it <c>/run/echoapi/echo.sock</c> for root, <c>/tmp/echoapi-UID/echo.sock</c> otherwise.</value>
    public string? SocketPath { get; set; }

    /// <summary>The socket file's mode, in octal.</summary>
    /// <value>Defaults to <c>0600</c>: only the owner can connect. <c>0660</c> lets the file's group connect too.</value>
    public string SocketMode { get; set; } = "0600";

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

    /// <summary>The owner's uid, resolved from <see cref="Owner"/> after binding; <see langword="null"/> when it does not resolve.</summary>
    internal uint? OwnerUserId { get; set; }

    /// <summary>The parsed <see cref="SocketMode"/>; <see langword="null"/> when it is not a valid socket mode.</summary>
    internal UnixFileMode? SocketFileMode { get; set; }

    /// <summary>Parses an octal socket mode: read and write bits only, including the owner's.</summary>
    internal static UnixFileMode? ParseSocketMode(string? text)
    {
        const int ReadWriteBits = 0b110_110_110;
        const int OwnerReadWrite = 0b110_000_000;
        if (string.IsNullOrWhiteSpace(text)
            || !int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out _)
            || text.Trim().Any(c => c > '7'))
        {
            return null;
        }

        var mode = Convert.ToInt32(text.Trim(), 8);
        return (mode & ~ReadWriteBits) == 0 && (mode & OwnerReadWrite) == OwnerReadWrite ? (UnixFileMode)mode : null;
    }
}
