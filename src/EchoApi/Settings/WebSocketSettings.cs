using System.Net.WebSockets;

namespace EchoApi.Settings;

/// <summary>The WebSocket route, <c>/echo/ws</c>. How long a silent peer may stay is <see cref="LimitSettings.IdleTimeout"/>.</summary>
public sealed class WebSocketSettings
{
    /// <summary>The largest WebSocket message <c>/echo/ws</c> accepts, in bytes; a larger one closes with 1009.</summary>
    /// <value>Defaults to 64 KiB.</value>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>How often the server pings an open WebSocket; a peer that does not answer within <see cref="LimitSettings.IdleTimeout"/> is dropped.</summary>
    /// <value>Defaults to 30 seconds, <see cref="WebSocket.DefaultKeepAliveInterval"/>.</value>
    public TimeSpan KeepAliveInterval { get; set; } = WebSocket.DefaultKeepAliveInterval;
}
