using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace EchoApi.Tests.Infrastructure;

/// <summary>Keeps every log line of a test's server, with its event id and structured fields, to check what it said.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message, EventId EventId, IReadOnlyDictionary<string, object?> Fields)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Message)> Entries => [.. _entries.Select(e => (e.Level, e.Category, e.Message))];

    /// <summary>The same entries with their event ids and structured fields (a [LoggerMessage]'s placeholders, and {OriginalFormat}).</summary>
    public IReadOnlyList<(LogLevel Level, string Category, string Message, EventId EventId, IReadOnlyDictionary<string, object?> Fields)> Events => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>
    /// Waits until an entry matching <paramref name="match"/> is in, for what the server logs after the
    /// client has seen the effect (a hang-up it noticed later, a refusal logged by a process of its own);
    /// fails, with everything logged, if none comes within <see cref="UnixHttp.Timeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<(LogLevel Level, string Category, string Message)>> WaitForAsync(Func<(LogLevel Level, string Category, string Message), bool> match, CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var entries = Entries;
        while (!entries.Any(match))
        {
            Assert.True(waited.Elapsed < UnixHttp.Timeout, "The expected log entry did not come. The log:\n" + string.Join("\n", entries.Select(e => $"{e.Level} {e.Category}: {e.Message}")));
            await Task.Delay(50, cancellationToken);
            entries = Entries;
        }

        return entries;
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
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
