namespace EchoApi.Settings;

/// <summary>
/// The raw line-echo socket. Its path is <see cref="SocketSettings.LineSocketPath"/>, and how long a silent
/// peer may stay is <see cref="LimitSettings.IdleTimeout"/>.
/// </summary>
public sealed class LineSocketSettings
{
    /// <summary>The longest line the raw line socket accepts, in bytes; a longer one gets <c>Line too long</c>.</summary>
    /// <value>Defaults to 64 KiB.</value>
    public int MaxLineBytes { get; set; } = 64 * 1024;
}
