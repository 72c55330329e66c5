using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EchoApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerCredentials;

namespace EchoApi.Tests;

/// <summary>
/// What an operator reads after a stranger knocked: one warning per refusal that names the uid, gid, pid,
/// the client's executable and the rule it failed, as fields a log system can query, and counters that moved.
/// </summary>
public sealed class AuditTrailTests
{
    [Fact]
    public async Task AStrangerRefusedOverHttpAndOnTheLineSocketIsOneWarningEachNamingItsExecutableAndIsCounted()
    {
        Privileges.RequireRoot("running curl and nc as uid 65534");
        // No throttle: the two refusals of uid 65534 come within a second of each other, and both are to be logged.
        using var server = EchoApiFactory.StartOpenToAll(services: s => s.Configure<PeerCredentialGateOptions>(o => o.RefusalLogInterval = TimeSpan.Zero));
        var measurements = new ConcurrentQueue<(string Instrument, long Value, KeyValuePair<string, object?>[] Tags)>();
        using var listener = Listen(server.Services.GetRequiredService<IMeterFactory>(), measurements);

        var (status, _, _) = await Command.CurlAsync(server.SocketPath, "/echo", Command.AsUser(Privileges.Nobody), ["--data-binary", "let me in"]);
        var line = await Command.RunAsync([.. Command.AsUser(Privileges.Nobody), "nc", "-U", server.LineSocketPath], stdin: "let me in\n"u8.ToArray());

        Assert.Equal(403, status);
        Assert.Equal("Unauthorized access\n", line.StdoutText);

        // Both were logged before the stranger heard its answer.
        var warnings = server.Logs.Events.Where(e => e.Level == LogLevel.Warning && e.Category.StartsWith("PeerCredentials.", StringComparison.Ordinal)).ToList();
        Assert.Equal([5, 12], warnings.Select(w => w.EventId.Id));
        var http = warnings[0].Fields;
        Assert.Equal(65534u, http["Uid"]);
        Assert.Equal(65534u, http["Gid"]);
        Assert.True((int)http["Pid"]! > 0);
        Assert.Equal("/usr/bin/curl", http["Executable"]);
        Assert.Equal(EchoPolicies.Access, http["Rule"]);
        Assert.Equal("POST", http["Method"]);
        Assert.Equal("/echo", http["Path"]);
        Assert.Equal($"uid 65534 is not the owner of this socket (uid {Privileges.EffectiveUserId}).", http["Reason"]);

        var connect = warnings[1].Fields;
        Assert.Equal(65534u, connect["Uid"]);
        Assert.Equal(65534u, connect["Gid"]);
        Assert.True((int)connect["Pid"]! > 0);
        Assert.StartsWith("/usr/bin/nc", (string)connect["Executable"]!, StringComparison.Ordinal); // nc.openbsd, behind Debian's alternatives
        Assert.Equal("not_authorized", connect["Rule"]);

        // The gate let curl's connection in (policy decides per request on the HTTP socket) and closed nc's.
        Assert.Equal(1, Sum(measurements, PeerCredentialMetricNames.DeniedRequests, PeerCredentialMetricNames.PolicyTag, EchoPolicies.Access));
        Assert.Equal(1, Sum(measurements, PeerCredentialMetricNames.RefusedConnections, PeerCredentialMetricNames.RefusalReasonTag, "not_authorized"));
        Assert.Equal(1, Sum(measurements, PeerCredentialMetricNames.AcceptedConnections));
        Assert.Equal(0, Sum(measurements, PeerCredentialMetricNames.AuthorizedRequests));
    }

    // The service's own meters only: other tests' servers run in this process at the same time.
    private static MeterListener Listen(IMeterFactory scope, ConcurrentQueue<(string Instrument, long Value, KeyValuePair<string, object?>[] Tags)> measurements)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == PeerCredentialMetricNames.Meter && ReferenceEquals(instrument.Meter.Scope, scope))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => measurements.Enqueue((instrument.Name, value, tags.ToArray())));
        listener.Start();
        return listener;
    }

    private static long Sum(IEnumerable<(string Instrument, long Value, KeyValuePair<string, object?>[] Tags)> measurements, string instrument, string? tag = null, string? value = null)
        => measurements.Where(m => m.Instrument == instrument && (tag is null || m.Tags.Any(t => t.Key == tag && Equals(t.Value, value)))).Sum(m => m.Value);
}
