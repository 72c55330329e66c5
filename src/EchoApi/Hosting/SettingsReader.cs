using System.Globalization;
using EchoApi.Settings;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace EchoApi.Hosting;

/// <summary>
/// Reads the <c>EchoApi</c> section as the strings people typed, before the binder turns them into
/// numbers and time spans: an unknown key or a value that does not convert stops the start with a line
/// that names the setting, the value and what is expected, instead of the binder's exception.
/// </summary>
public static class SettingsReader
{
    private enum Kind
    {
        Text,
        Boolean,
        Int32,
        Int64,
        Number,
        TimeSpan,
        List, // of text: EchoApi:Name:0, EchoApi:Name:1, ... (a JSON array, or indexed keys)
        Rules, // a list whose items are a text or a list of texts: EchoApi:Allow:0, EchoApi:Allow:1:0, ...
    }

    // Every public settable property of the settings classes (a test keeps this list complete), with its
    // type: a static table rather than reflection, so the service stays trim- and AOT-safe.
    private static readonly Dictionary<string, Kind> Settings = new(StringComparer.OrdinalIgnoreCase)
    {
        [nameof(SocketSettings.SocketPath)] = Kind.Text,
        [nameof(SocketSettings.SocketMode)] = Kind.Text,
        [nameof(SocketSettings.SocketGroup)] = Kind.Text,
        [nameof(SocketSettings.OwnerSocketPath)] = Kind.Text,
        [nameof(SocketSettings.LineSocketPath)] = Kind.Text,
        [nameof(AccessSettings.Owner)] = Kind.Text,
        [nameof(AccessSettings.AllowRoot)] = Kind.Boolean,
        [nameof(AccessSettings.RefuseAtConnect)] = Kind.Boolean,
        [nameof(AccessSettings.AllowedHostNames)] = Kind.List,
        [nameof(AccessSettings.Allow)] = Kind.Rules,
        [nameof(AccessSettings.RefuseRelays)] = Kind.Boolean,
        [nameof(AccessSettings.RelayExecutables)] = Kind.List,
        [nameof(LimitSettings.MaxConnections)] = Kind.Int64,
        [nameof(LimitSettings.MaxConnectionsPerUser)] = Kind.Int32,
        [nameof(LimitSettings.MaxConnectsPerSecondPerUser)] = Kind.Number,
        [nameof(LimitSettings.FloodPause)] = Kind.TimeSpan,
        [nameof(LimitSettings.RequestHeadersTimeout)] = Kind.TimeSpan,
        [nameof(LimitSettings.KeepAliveTimeout)] = Kind.TimeSpan,
        [nameof(LimitSettings.MinRequestBodyBytesPerSecond)] = Kind.Number,
        [nameof(LimitSettings.MaxRequestHeadersBytes)] = Kind.Int32,
        [nameof(LimitSettings.ShutdownTimeout)] = Kind.TimeSpan,
        [nameof(LimitSettings.MaxEchoBytes)] = Kind.Int64,
        [nameof(LimitSettings.IdleTimeout)] = Kind.TimeSpan,
        [nameof(WebSocketSettings.MaxMessageBytes)] = Kind.Int32,
        [nameof(WebSocketSettings.KeepAliveInterval)] = Kind.TimeSpan,
        [nameof(LineSocketSettings.MaxLineBytes)] = Kind.Int32,
    };

    /// <summary>The names of the settings in the <c>EchoApi</c> section.</summary>
    public static IReadOnlyCollection<string> KnownSettings => Settings.Keys;

    /// <summary>Throws a <see cref="StartupFailureException"/> for every key in the section that is unknown or whose value does not convert.</summary>
    /// <exception cref="StartupFailureException">A key is unknown or a value does not convert; the message says which and what to use.</exception>
    public static void Check(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        foreach (var entry in configuration.GetSection(EchoApiSettings.Section).GetChildren())
        {
            var key = $"{EchoApiSettings.Section}:{entry.Key}";
            if (!Settings.TryGetValue(entry.Key, out var kind))
            {
                var closest = Closest(entry.Key, Settings.Keys);
                problems.Add($"unknown setting {key}{Source(configuration, entry.Path)}"
                    + (closest is null ? $"; see EchoApi --help for the settings" : $"; did you mean {EchoApiSettings.Section}:{closest}?"));
            }
            else if (kind == Kind.List)
            {
                if (!string.IsNullOrEmpty(entry.Value) || entry.GetChildren().Any(c => c.Value is null || !int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                {
                    problems.Add($"{key}{Source(configuration, entry.Path)} is a list: give its items as {key}:0, {key}:1, ... (or a JSON array)");
                }
            }
            else if (kind == Kind.Rules)
            {
                if (!string.IsNullOrEmpty(entry.Value) || entry.GetChildren().Any(rule => !IsIndex(rule.Key) || (rule.Value is null) == !rule.GetChildren().Any() || rule.GetChildren().Any(s => !IsIndex(s.Key) || s.Value is null)))
                {
                    problems.Add($"{key}{Source(configuration, entry.Path)} is a list of rules, each a selector or a list of selectors that must all match: "
                        + $"{key}:0=user:alice, {key}:1:0=group:docker, {key}:1:1=path:/usr/bin/curl (in JSON: [\"user:alice\", [\"group:docker\", \"path:/usr/bin/curl\"]])");
                }
            }
            else if (entry.Value is null)
            {
                problems.Add($"{key}{Source(configuration, entry.Path)} has sub-keys ({string.Join(", ", entry.GetChildren().Select(c => c.Key))}), but it is a single value");
            }
            else if (Converts(kind, entry.Value) is { } expected)
            {
                problems.Add($"{key} '{entry.Value}' is {expected}");
            }
        }

        if (problems.Count > 0)
        {
            throw new StartupFailureException(string.Join("; ", problems));
        }
    }

    private static bool IsIndex(string key) => int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out _);

    /// <summary>The name in <paramref name="candidates"/> closest to <paramref name="name"/>, when one is close enough to be a typo.</summary>
    public static string? Closest(string name, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(candidates);
        var best = candidates
            .Select(candidate => (Candidate: candidate, Distance: Distance(name.ToUpperInvariant(), candidate.ToUpperInvariant())))
            .OrderBy(c => c.Distance)
            .FirstOrDefault();
        return best.Candidate is not null && best.Distance <= Math.Max(2, name.Length / 3) ? best.Candidate : null;
    }

    // The same conversions the configuration binder makes (invariant culture), so that a value that passes
    // here binds; null when it converts, else what was expected instead.
    private static string? Converts(Kind kind, string value) => kind switch
    {
        Kind.Boolean => bool.TryParse(value, out _) ? null : "not true or false",
        Kind.Int32 => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null
            : $"not a whole number up to {int.MaxValue} (such as 65536)",
        Kind.Int64 => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null
            : "not a whole number (such as 16777216)",
        Kind.Number => double.TryParse(value, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out _) ? null
            : "not a number (such as 1000)",
        Kind.TimeSpan => TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _) ? null
            : $"not a time span (use {TimeSpanHint(value)})",
        _ => null,
    };

    // "5m" or "30s", the spellings people try, turned into the one the binder reads.
    private static string TimeSpanHint(string value)
    {
        var text = value.Trim();
        if (text.Length < 2 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount < 0 || amount > 1e6)
        {
            return "hours:minutes:seconds, such as 00:05:00";
        }

        TimeSpan? meant = char.ToLowerInvariant(text[^1]) switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => null,
        };
        return meant is { } span ? span.ToString("c", CultureInfo.InvariantCulture) : "hours:minutes:seconds, such as 00:05:00";
    }

    // Where a key came from: the last source that has it is the one that counts.
    private static string Source(IConfiguration configuration, string path)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return "";
        }

        var provider = root.Providers.LastOrDefault(p => p.TryGet(path, out _) || p.GetChildKeys([], path).Any());
        return provider switch
        {
            CommandLineConfigurationProvider => " (from the command line)",
            EnvironmentVariablesConfigurationProvider => $" (from the environment: {path.Replace(":", "__", StringComparison.Ordinal)})",
            FileConfigurationProvider file => $" (from {file.Source.Path})",
            null => "",
            _ => $" (from {provider})",
        };
    }

    // Levenshtein distance, with an adjacent swap counted as one edit ("sokcet" is one typo from "socket").
    private static int Distance(string a, string b)
    {
        var before = new int[b.Length + 1];
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    current[j] = Math.Min(current[j], before[j - 2] + 1);
                }
            }

            (before, previous, current) = (previous, current, before);
        }

        return previous[b.Length];
    }
}
