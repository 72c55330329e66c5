namespace EchoApi.Settings;

/// <summary>Checks the limits before any socket exists: each has a sensible range, and none may turn itself off by accident.</summary>
internal static class LimitSettingsValidator
{
    /// <summary>Adds what is wrong with <paramref name="options"/> to <paramref name="failures"/>.</summary>
    public static void Validate(LimitSettings options, List<string> failures)
    {
        if (options.MaxConnectionsPerUser <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LimitSettings.MaxConnectionsPerUser))} must be a positive number, not {options.MaxConnectionsPerUser}.");
        }

        // NaN compares false with everything: it would pass every check here and turn the limit off.
        foreach (var (setting, value) in (ReadOnlySpan<(string, double)>)[(nameof(LimitSettings.MaxConnectsPerSecondPerUser), options.MaxConnectsPerSecondPerUser), (nameof(LimitSettings.MinRequestBodyBytesPerSecond), options.MinRequestBodyBytesPerSecond)])
        {
            if (!double.IsFinite(value))
            {
                failures.Add($"{EchoApiSettings.Key(setting)} must be a finite number (0 turns the limit off), not {value}.");
            }
        }

        if (options.MaxConnectsPerSecondPerUser < 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LimitSettings.MaxConnectsPerSecondPerUser))} must not be negative (0 turns the limit off), not {options.MaxConnectsPerSecondPerUser}.");
        }

        if (options.FloodPause < TimeSpan.Zero || options.FloodPause > TimeSpan.FromSeconds(1))
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LimitSettings.FloodPause))} must be between 0 (never pause) and 00:00:01, not {options.FloodPause}.");
        }

        if (options.MaxConnections <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LimitSettings.MaxConnections))} must be a positive number, not {options.MaxConnections}.");
        }

        EchoApiSettings.CheckTimeSpan(failures, nameof(LimitSettings.RequestHeadersTimeout), options.RequestHeadersTimeout, "00:00:10");
        EchoApiSettings.CheckTimeSpan(failures, nameof(LimitSettings.KeepAliveTimeout), options.KeepAliveTimeout, "00:00:10");
        EchoApiSettings.CheckTimeSpan(failures, nameof(LimitSettings.ShutdownTimeout), options.ShutdownTimeout, "00:00:10");
        if (options.MinRequestBodyBytesPerSecond < 0 || options.MaxRequestHeadersBytes <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LimitSettings.MinRequestBodyBytesPerSecond))} must not be negative and {EchoApiSettings.Key(nameof(LimitSettings.MaxRequestHeadersBytes))} must be positive.");
        }

        if (options.MaxEchoBytes <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LimitSettings.MaxEchoBytes))} must be a positive number of bytes, not {options.MaxEchoBytes}.");
        }

        EchoApiSettings.CheckTimeSpan(failures, nameof(LimitSettings.IdleTimeout), options.IdleTimeout, "00:05:00");

        const long MiB = 1024 * 1024;
        EchoApiSettings.CheckAtMost(failures, nameof(LimitSettings.MaxConnectionsPerUser), options.MaxConnectionsPerUser, 1 << 20, "connections");
        EchoApiSettings.CheckAtMost(failures, nameof(LimitSettings.MaxConnections), options.MaxConnections, 1 << 20, "connections");
        EchoApiSettings.CheckAtMost(failures, nameof(LimitSettings.MaxConnectsPerSecondPerUser), options.MaxConnectsPerSecondPerUser, 1_000_000, "connects a second");
        EchoApiSettings.CheckAtMost(failures, nameof(LimitSettings.MinRequestBodyBytesPerSecond), options.MinRequestBodyBytesPerSecond, 1024 * MiB, "bytes a second");
        EchoApiSettings.CheckAtMost(failures, nameof(LimitSettings.MaxRequestHeadersBytes), options.MaxRequestHeadersBytes, MiB, "bytes");
        EchoApiSettings.CheckAtMost(failures, nameof(LimitSettings.MaxEchoBytes), options.MaxEchoBytes, 1024 * MiB, "bytes");
        EchoApiSettings.CheckAtMostADay(failures, nameof(LimitSettings.RequestHeadersTimeout), options.RequestHeadersTimeout);
        EchoApiSettings.CheckAtMostADay(failures, nameof(LimitSettings.KeepAliveTimeout), options.KeepAliveTimeout);
        EchoApiSettings.CheckAtMostADay(failures, nameof(LimitSettings.ShutdownTimeout), options.ShutdownTimeout);
        EchoApiSettings.CheckAtMostADay(failures, nameof(LimitSettings.IdleTimeout), options.IdleTimeout);
    }
}
