using Microsoft.Extensions.Options;

namespace EchoApi.Settings;

/// <summary>Checks the WebSocket route's settings before any socket exists.</summary>
internal sealed class WebSocketSettingsValidator : IValidateOptions<WebSocketSettings>
{
    public ValidateOptionsResult Validate(string? name, WebSocketSettings options)
    {
        var failures = new List<string>();
        if (options.MaxMessageBytes <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(WebSocketSettings.MaxMessageBytes))} must be a positive number of bytes, not {options.MaxMessageBytes}.");
        }

        EchoApiSettings.CheckTimeSpan(failures, nameof(WebSocketSettings.KeepAliveInterval), options.KeepAliveInterval, "00:00:30");
        EchoApiSettings.CheckAtMost(failures, nameof(WebSocketSettings.MaxMessageBytes), options.MaxMessageBytes, 16 * 1024 * 1024, "bytes");
        EchoApiSettings.CheckAtMostADay(failures, nameof(WebSocketSettings.KeepAliveInterval), options.KeepAliveInterval);
        return EchoApiSettings.Result(failures);
    }
}
