using EchoApi.Settings;
using Microsoft.Extensions.Options;
using PeerCredentials.Sockets;

namespace EchoApi.Hosting;

/// <summary>
/// How a start that cannot go on ends: every failure before the sockets listen becomes one line on
/// stderr that names the setting, its value and what is expected, and exit code 1.
/// </summary>
public static class StartupFailure
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Keeps the host's own "Hosting failed to start" error (a stack trace on stdout) out of the log
    /// unless the log level asks for debug: every exception it reports reaches <see cref="ReportAsync"/>.
    /// </summary>
    public static void QuietHostErrors(ILoggingBuilder logging, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(logging);
        var minimum = ConfiguredLevel(configuration, HostCategory);
        logging.AddFilter(HostCategory, level => level >= minimum && (level != LogLevel.Error || minimum <= LogLevel.Debug));
    }

    /// <summary>Writes the one line for <paramref name="exception"/> to stderr and returns the exit code, 1.</summary>
    public static async Task<int> ReportAsync(Exception exception, IConfiguration configuration)
    {
        await Console.Error.WriteLineAsync(Line(exception, configuration));
        return 1;
    }

    /// <summary>The one line <see cref="ReportAsync"/> writes for <paramref name="exception"/>.</summary>
    internal static string Line(Exception exception, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(exception);
        while (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }

        var line = exception switch
        {
            StartupFailureException => exception.Message,
            // Its Message joins the failures with "; " after each one's own full stop.
            OptionsValidationException validation => string.Join("; ", validation.Failures.Select(f => f.TrimEnd('.'))),
            // Each settings class reports the whole section's failures; the host's start-up check gathers one per class.
            AggregateException aggregate when aggregate.InnerExceptions.All(e => e is OptionsValidationException)
                => string.Join("; ", aggregate.InnerExceptions.Cast<OptionsValidationException>().SelectMany(e => e.Failures).Distinct().Select(f => f.TrimEnd('.'))),
            IOException or UnauthorizedAccessException => WithSetting(exception.Message, configuration),
            PlatformNotSupportedException => exception.Message,
            _ => ConfiguredLevel(configuration, "EchoApi") <= LogLevel.Debug
                ? exception.ToString()
                : $"could not start: {exception.GetType().Name}: {exception.Message} (run with --Logging:LogLevel:Default=Debug for the stack trace)",
        };
        return $"echoapi: {OneLine(line)}";
    }

    private static string OneLine(string text)
        => text.Contains('\n', StringComparison.Ordinal) && !text.Contains("   at ", StringComparison.Ordinal)
            ? string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            : text;

    // A socket problem names a path; the line names the setting that path came from.
    private static string WithSetting(string message, IConfiguration configuration)
    {
        // The paths as the service computed them (defaults included); the host's services are gone by now.
        string? Setting(string name) => configuration[EchoApiSettings.Key(name)];
        var sockets = new SocketSettings
        {
            SocketPath = Setting(nameof(SocketSettings.SocketPath)) ?? "",
            OwnerSocketPath = Setting(nameof(SocketSettings.OwnerSocketPath)),
            LineSocketPath = Setting(nameof(SocketSettings.LineSocketPath)),
        };
        SocketSettingsSetup.Resolve(sockets);

        (string Name, string? Path)[] settings =
        [
            (nameof(SocketSettings.SocketPath), sockets.SocketPath),
            (nameof(SocketSettings.OwnerSocketPath), sockets.OwnerSocketPath),
            (nameof(SocketSettings.LineSocketPath), sockets.LineSocketPath),
        ];
        var match = settings.FirstOrDefault(s => !string.IsNullOrEmpty(s.Path) && message.Contains($"'{s.Path}", StringComparison.Ordinal));
        if (match.Path is null)
        {
            match = settings.FirstOrDefault(s => !string.IsNullOrEmpty(s.Path) && !UnixSocketPaths.IsAbstract(s.Path)
                && System.IO.Path.GetDirectoryName(s.Path) is { } directory && message.Contains(directory, StringComparison.Ordinal));
        }

        return match.Path is null ? message : $"{EchoApiSettings.Key(match.Name)} '{match.Path}': {message}";
    }

    private static LogLevel ConfiguredLevel(IConfiguration configuration, string category)
    {
        var text = configuration[$"Logging:LogLevel:{category}"] ?? configuration["Logging:LogLevel:Default"];
        return Enum.TryParse<LogLevel>(text, ignoreCase: true, out var level) ? level : LogLevel.Information;
    }
}
