using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PeerCredentials.Tests.Infrastructure;

/// <summary>Keeps every log line, with its event id and structured fields, to check what the library said.</summary>
public sealed class LogCollector : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message, EventId EventId, IReadOnlyDictionary<string, object?> Fields)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> Entries => [.. _entries.Select(e => (e.Level, e.Category, e.Message))];

    /// <summary>The same entries with their event ids and structured fields (a [LoggerMessage]'s placeholders, and {OriginalFormat}).</summary>
    public IReadOnlyList<(LogLevel Level, string Category, string Message, EventId EventId, IReadOnlyDictionary<string, object?> Fields)> Events => [.. _entries];

    public IEnumerable<string> Warnings => Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message);

    /// <summary>The least level the loggers report as enabled, as a host's filter would.</summary>
    public LogLevel MinimumLevel { get; init; } = LogLevel.Trace;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            // [LoggerMessage] state is the list of its fields, the template last as {OriginalFormat}.
            var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    fields[key] = value;
                }
            }

            owner._entries.Enqueue((logLevel, category, formatter(state, exception), eventId, fields));
        }
    }
}
