using Microsoft.Extensions.Options;
using PeerCredentials;
using PeerCredentials.Sockets;

namespace EchoApi;

/// <summary>Fills in the defaults that depend on the machine, and checks every setting before the socket exists.</summary>
internal sealed class EchoApiOptionsSetup : IPostConfigureOptions<EchoApiOptions>, IValidateOptions<EchoApiOptions>
{
    public void PostConfigure(string? name, EchoApiOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.SocketPath))
        {
            options.SocketPath = UnixSocketPaths.GetDefault("echoapi", "echo.sock");
        }

        // null: beside the HTTP socket; empty: no line socket. Beside a SocketPath that is itself wrong
        // there is no place to put it, and the one error to report is SocketPath's.
        if (options.LineSocketPath is null && UnixSocketPaths.Validate(options.SocketPath) is null)
        {
            options.LineSocketPath = UnixSocketPaths.IsAbstract(options.SocketPath)
                ? options.SocketPath + ".line"
                : Path.Combine(Path.GetDirectoryName(options.SocketPath) ?? "/", "line.sock");
        }

        options.SocketFileMode = EchoApiOptions.ParseSocketMode(options.SocketMode);
        if (string.IsNullOrWhiteSpace(options.Owner))
        {
            options.OwnerUserId = UnixAccounts.EffectiveUserId;
        }
        else
        {
            options.OwnerUserId = UnixAccounts.TryResolveUserId(options.Owner.Trim(), out var uid) ? uid : null;
        }
    }

    public ValidateOptionsResult Validate(string? name, EchoApiOptions options)
    {
        const string Prefix = EchoApiOptions.Section + ":";
        var failures = new List<string>();
        if (UnixSocketPaths.Validate(options.SocketPath) is { } pathProblem)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.SocketPath)} {pathProblem}.");
        }

        if (!string.IsNullOrEmpty(options.LineSocketPath))
        {
            if (UnixSocketPaths.Validate(options.LineSocketPath) is { } lineProblem)
            {
                failures.Add($"{Prefix}{nameof(EchoApiOptions.LineSocketPath)} {lineProblem}.");
            }
            else if (options.LineSocketPath == options.SocketPath)
            {
                failures.Add($"{Prefix}{nameof(EchoApiOptions.LineSocketPath)} is the same path as {Prefix}{nameof(EchoApiOptions.SocketPath)}; give it its own path, or an empty one to turn it off.");
            }
        }

        if (!string.IsNullOrEmpty(options.OwnerSocketPath))
        {
            const string Setting = Prefix + nameof(EchoApiOptions.OwnerSocketPath);
            if (UnixSocketPaths.Validate(options.OwnerSocketPath) is { } ownerProblem)
            {
                failures.Add($"{Setting} {ownerProblem}.");
            }
            else if (UnixSocketPaths.IsAbstract(options.OwnerSocketPath))
            {
                failures.Add($"{Setting} must be a file path: an abstract socket has no file permissions, so any uid could connect to it.");
            }
            else if (SamePath(options.OwnerSocketPath, options.SocketPath) || SamePath(options.OwnerSocketPath, options.LineSocketPath))
            {
                failures.Add($"{Setting} must be a path of its own, not that of {Prefix}{nameof(EchoApiOptions.SocketPath)} or {Prefix}{nameof(EchoApiOptions.LineSocketPath)}.");
            }

            if (options.OwnerUserId is { } owner && owner != UnixAccounts.EffectiveUserId)
            {
                failures.Add($"{Setting} needs the service to run as the owner: the socket file is the service's with mode 0600, so uid {owner} could not open it (the service runs as uid {UnixAccounts.EffectiveUserId}).");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.SocketGroup) && !UnixAccounts.TryResolveGroupId(options.SocketGroup.Trim(), out _))
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.SocketGroup)} '{options.SocketGroup}' is neither a gid nor a group in the group database.");
        }

        foreach (var host in options.AllowedHostNames.Where(h => Uri.CheckHostName(h) switch { UriHostNameType.Dns or UriHostNameType.IPv4 => false, UriHostNameType.IPv6 => !h.StartsWith('['), _ => true }))
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.AllowedHostNames)} '{host}' is not a host name: give a name or an IP address without scheme or port (IPv6 in brackets), such as echo.internal.");
        }

        if (options.MaxConnectionsPerUser <= 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MaxConnectionsPerUser)} must be a positive number, not {options.MaxConnectionsPerUser}.");
        }

        // NaN compares false with everything: it would pass every check here and turn the limit off.
        foreach (var (setting, value) in (ReadOnlySpan<(string, double)>)[(nameof(EchoApiOptions.MaxConnectsPerSecondPerUser), options.MaxConnectsPerSecondPerUser), (nameof(EchoApiOptions.MinRequestBodyBytesPerSecond), options.MinRequestBodyBytesPerSecond)])
        {
            if (!double.IsFinite(value))
            {
                failures.Add($"{Prefix}{setting} must be a finite number (0 turns the limit off), not {value}.");
            }
        }

        if (options.MaxConnectsPerSecondPerUser < 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MaxConnectsPerSecondPerUser)} must not be negative (0 turns the limit off), not {options.MaxConnectsPerSecondPerUser}.");
        }

        if (options.FloodPause < TimeSpan.Zero || options.FloodPause > TimeSpan.FromSeconds(1))
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.FloodPause)} must be between 0 (never pause) and 00:00:01, not {options.FloodPause}.");
        }

        if (options.MaxConnections <= 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MaxConnections)} must be a positive number, not {options.MaxConnections}.");
        }

        foreach (var (setting, value) in (ReadOnlySpan<(string, TimeSpan)>)[(nameof(EchoApiOptions.RequestHeadersTimeout), options.RequestHeadersTimeout), (nameof(EchoApiOptions.KeepAliveTimeout), options.KeepAliveTimeout), (nameof(EchoApiOptions.ShutdownTimeout), options.ShutdownTimeout)])
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"{Prefix}{setting} must be a positive time span (such as 00:00:10), not {value}.");
            }
        }

        if (options.MinRequestBodyBytesPerSecond < 0 || options.MaxRequestHeadersBytes <= 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MinRequestBodyBytesPerSecond)} must not be negative and {Prefix}{nameof(EchoApiOptions.MaxRequestHeadersBytes)} must be positive.");
        }

        if (options.MaxLineBytes <= 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MaxLineBytes)} must be a positive number of bytes, not {options.MaxLineBytes}.");
        }

        if (options.MaxMessageBytes <= 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MaxMessageBytes)} must be a positive number of bytes, not {options.MaxMessageBytes}.");
        }

        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.IdleTimeout)} must be a positive time span (such as 00:05:00), not {options.IdleTimeout}.");
        }

        if (options.KeepAliveInterval <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.KeepAliveInterval)} must be a positive time span (such as 00:00:30), not {options.KeepAliveInterval}.");
        }

        if (options.SocketFileMode is null)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.SocketMode)} '{options.SocketMode}' is not a socket mode: give octal read/write bits that include the owner's, such as 0600 or 0660.");
        }

        if (options.OwnerUserId is null)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.Owner)} '{options.Owner}' is neither a uid nor a user in the user database.");
        }
        else if (options.OwnerUserId == UnixAccounts.OverflowUserId)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.Owner)} is uid {options.OwnerUserId}, the kernel's overflow uid, which unmapped users of other user namespaces share; it cannot own the socket.");
        }

        if (options.MaxEchoBytes <= 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MaxEchoBytes)} must be a positive number of bytes, not {options.MaxEchoBytes}.");
        }

        CheckUpperBounds(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // Values that bind but break the service later: a 2 GiB WebSocket buffer fails every socket after
    // the 101, a time span past 24 days overflows the timers. Each bound is far beyond any real use.
    private static void CheckUpperBounds(EchoApiOptions options, List<string> failures)
    {
        const long MiB = 1024 * 1024;
        (string Setting, double Value, double Max, string Unit)[] bounded =
        [
            (nameof(EchoApiOptions.MaxConnectionsPerUser), options.MaxConnectionsPerUser, 1 << 20, "connections"),
            (nameof(EchoApiOptions.MaxConnections), options.MaxConnections, 1 << 20, "connections"),
            (nameof(EchoApiOptions.MaxConnectsPerSecondPerUser), options.MaxConnectsPerSecondPerUser, 1_000_000, "connects a second"),
            (nameof(EchoApiOptions.MinRequestBodyBytesPerSecond), options.MinRequestBodyBytesPerSecond, 1024 * MiB, "bytes a second"),
            (nameof(EchoApiOptions.MaxRequestHeadersBytes), options.MaxRequestHeadersBytes, MiB, "bytes"),
            (nameof(EchoApiOptions.MaxEchoBytes), options.MaxEchoBytes, 1024 * MiB, "bytes"),
            (nameof(EchoApiOptions.MaxLineBytes), options.MaxLineBytes, 16 * MiB, "bytes"),
            (nameof(EchoApiOptions.MaxMessageBytes), options.MaxMessageBytes, 16 * MiB, "bytes"),
        ];
        foreach (var (setting, value, max, unit) in bounded)
        {
            if (double.IsFinite(value) && value > max)
            {
                failures.Add($"{EchoApiOptions.Section}:{setting} must be at most {max:0} {unit}, not {value:0}.");
            }
        }

        var day = TimeSpan.FromDays(1);
        (string Setting, TimeSpan Value)[] spans =
        [
            (nameof(EchoApiOptions.RequestHeadersTimeout), options.RequestHeadersTimeout),
            (nameof(EchoApiOptions.KeepAliveTimeout), options.KeepAliveTimeout),
            (nameof(EchoApiOptions.ShutdownTimeout), options.ShutdownTimeout),
            (nameof(EchoApiOptions.IdleTimeout), options.IdleTimeout),
            (nameof(EchoApiOptions.KeepAliveInterval), options.KeepAliveInterval),
        ];
        foreach (var (setting, value) in spans)
        {
            if (value > day)
            {
                failures.Add($"{EchoApiOptions.Section}:{setting} must be at most 1.00:00:00 (a day), not {value:c}.");
            }
        }
    }

    // The same socket, however the path is spelled (abstract names compare as they are).
    private static bool SamePath(string path, string? other)
        => !string.IsNullOrEmpty(other)
            && (UnixSocketPaths.IsAbstract(path) || UnixSocketPaths.IsAbstract(other)
                ? path == other
                : Path.GetFullPath(path) == Path.GetFullPath(other));
}
