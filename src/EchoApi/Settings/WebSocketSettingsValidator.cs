namespace EchoApi.Settings;

/// <summary>Checks the WebSocket route's settings before any socket exists.</summary>
internal static class WebSocketSettingsValidator
{
    /// <summary>Adds what is wrong with <paramref name="options"/> to <paramref name="failures"/>.</summary>
    public static void Validate(WebSocketSettings options, List<string> failures)
    {
        if (options.MaxMessageBytes <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(WebSocketSettings.MaxMessageBytes))} must be a positive number of bytes, not {options.MaxMessageBytes}.");
        }

        EchoApiSettings.CheckTimeSpan(failures, nameof(WebSocketSettings.KeepAliveInterval), options.KeepAliveInterval, "00:00:30");
        EchoApiSettings.CheckAtMost(failures, nameof(WebSocketSettings.MaxMessageBytes), options.MaxMessageBytes, 16 * 1024 * 1024, "bytes");
        EchoApiSettings.CheckAtMostADay(failures, nameof(WebSocketSettings.KeepAliveInterval), options.KeepAliveInterval);
    }
}
