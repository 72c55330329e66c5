using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace PeerCredentials.Tests.Infrastructure;

/// <summary>
/// Listens to the library's counters of one meter factory (one host, one test), so that tests running at
/// the same time do not see each other's measurements.
/// </summary>
public sealed class CounterCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, long Value, IReadOnlyDictionary<string, object?> Tags)> _measurements = new();

    public CounterCollector(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PeerCredentialMetricNames.Meter && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            _measurements.Enqueue((instrument.Name, value, copy));
        });
        _listener.Start();
    }

    public IReadOnlyList<(string Instrument, long Value, IReadOnlyDictionary<string, object?> Tags)> Measurements => [.. _measurements];

    /// <summary>The sum of <paramref name="instrument"/>'s measurements, of those with the tag when one is given.</summary>
    public long Sum(string instrument, string? tag = null, string? value = null)
        => Measurements.Where(m => m.Instrument == instrument && (tag is null || (m.Tags.TryGetValue(tag, out var v) && Equals(v, value)))).Sum(m => m.Value);

    public void Dispose() => _listener.Dispose();
}
