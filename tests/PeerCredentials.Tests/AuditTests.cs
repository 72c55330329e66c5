using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Authentication;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>
/// The audit trail: each refusal is one warning carrying who (uid, gid, pid, executable) and the rule as
/// fields of their own; accepted connections are a debug line that costs nothing when debug is off; and
/// the counters move. The peers are real: connections of this process to a socket of its own, so the
/// kernel gives a pid and a pidfd, and the executable is really read (or really not).
/// </summary>
public sealed class AuditTests : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly List<IDisposable> _owned = [];
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly UnixDomainSocketEndPoint _endPoint;

    public AuditTests()
    {
        _endPoint = new UnixDomainSocketEndPoint(Path.Combine(_directory.Path, "audit.sock"));
        _listener.Bind(_endPoint);
        _listener.Listen(16);
    }

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    // This process's own: the peer of every connection the tests make.
    private static uint MyUid => UnixAccounts.EffectiveUserId;

    private IMeterFactory Meters => _services.GetRequiredService<IMeterFactory>();

    [Theory]
    [InlineData(PeerCredentialMetrics.ConnectRate, 0)]
    [InlineData(PeerCredentialMetrics.UserConnectionLimit, 1)]
    [InlineData(PeerCredentialMetrics.UntrustedConnectionLimit, 1)]
    [InlineData(PeerCredentialMetrics.NotAuthorized, 0)]
    public async Task EachRefusalAtTheGateIsOneWarningWithThePeersFieldsAndIsCounted(string rule, int admitted)
    {
        var logs = new LogCollector();
        using var counters = new CounterCollector(Meters);
        var gate = Gate(logs, o =>
        {
            o.ConnectionsPerSecondPerUser = rule == PeerCredentialMetrics.ConnectRate ? 1 : 0; // a bucket of two
            o.MaxConnectionsPerUser = rule == PeerCredentialMetrics.UserConnectionLimit ? 1 : null;
            o.MaxUntrustedConnections = rule == PeerCredentialMetrics.UntrustedConnectionLimit ? 1 : null;
        });
        Func<PeerCredential, string?>? policy = rule == PeerCredentialMetrics.NotAuthorized ? _ => "not this one" : null;
        var myGid = (await ConnectAsync()).GroupId; // what the kernel says of this process, not counted by the gate
        if (rule == PeerCredentialMetrics.ConnectRate)
        {
            var decisions = new List<AcceptDecision>();
            for (var i = 0; i < 3; i++)
            {
                decisions.Add(gate.Accept(await AcceptAsync(), out var admittedCredential));
                admittedCredential?.Dispose();
            }

            Assert.Equal([AcceptDecision.Admit, AcceptDecision.Admit, AcceptDecision.RateLimited], decisions);
        }
        else
        {
            if (admitted > 0)
            {
                Assert.Null(gate.Enter(await ConnectAsync(), null, "held"));
            }

            Assert.NotNull(gate.Enter(await ConnectAsync(), policy, "refused"));
        }

        var warning = Assert.Single(logs.Events, e => e.Level == LogLevel.Warning);
        Assert.Equal(rule == PeerCredentialMetrics.ConnectRate ? 13 : 12, warning.EventId.Id);
        Assert.Equal(MyUid, warning.Fields["Uid"]);
        Assert.Equal(myGid, warning.Fields["Gid"]);
        Assert.Equal(Environment.ProcessId, warning.Fields["Pid"]);
        Assert.Equal(Environment.ProcessPath, warning.Fields["Executable"]);
        Assert.Equal(rule, warning.Fields["Rule"]);
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.RefusedConnections));
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.RefusedConnections, PeerCredentialMetricNames.RefusalReasonTag, rule));
        Assert.Equal(admitted, counters.Sum(PeerCredentialMetricNames.AcceptedConnections));
    }

    [Fact]
    public async Task RefusalsOverTheThrottleAreCountedButNotLoggedAndTheirExecutableIsNotRead()
    {
        var logs = new LogCollector();
        using var counters = new CounterCollector(Meters);
        var gate = Gate(logs, o => o.RefusalLogInterval = TimeSpan.FromMilliseconds(300));
        static string? Nobody(PeerCredential peer) => "not this one";

        var peers = new List<PeerCredential>();
        for (var i = 0; i < 5; i++)
        {
            peers.Add(await ConnectAsync());
            Assert.NotNull(gate.Enter(peers[^1], Nobody, $"c{i}"));
        }

        // One line, one executable read: the first; the other four only counted.
        Assert.Single(logs.Events, e => e.Level == LogLevel.Warning);
        Assert.True(peers[0].ExecutablePathRead);
        Assert.All(peers.Skip(1), p => Assert.False(p.ExecutablePathRead));
        Assert.Equal(5, counters.Sum(PeerCredentialMetricNames.RefusedConnections, PeerCredentialMetricNames.RefusalReasonTag, PeerCredentialMetrics.NotAuthorized));

        // The next one logged says first how many were left out.
        await Task.Delay(TimeSpan.FromMilliseconds(350), Cancel);
        Assert.NotNull(gate.Enter(await ConnectAsync(), Nobody, "later"));
        var warnings = logs.Events.Where(e => e.Level == LogLevel.Warning).ToList();
        Assert.Equal([12, 15, 12], warnings.Select(w => w.EventId.Id));
        Assert.Equal(4L, warnings[1].Fields["LeftOut"]);
        Assert.Equal(MyUid, warnings[1].Fields["Uid"]);
    }

    [Fact]
    public async Task WithWarningsOffRefusalsAreCountedAndNothingIsReadForALog()
    {
        var logs = new LogCollector { MinimumLevel = LogLevel.Error };
        using var counters = new CounterCollector(Meters);
        var gate = Gate(logs, o => o.MaxConnectionsPerUser = 1);
        var held = await ConnectAsync();
        var overLimit = await ConnectAsync();
        var notAuthorized = await ConnectAsync();

        Assert.Null(gate.Enter(held, null, "held"));
        Assert.NotNull(gate.Enter(overLimit, null, "over"));
        gate.Leave(held);
        Assert.NotNull(gate.Enter(notAuthorized, _ => "not this one", "refused"));

        Assert.Empty(logs.Events);
        Assert.False(held.ExecutablePathRead);
        Assert.False(overLimit.ExecutablePathRead);
        Assert.False(notAuthorized.ExecutablePathRead);
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.RefusedConnections, PeerCredentialMetricNames.RefusalReasonTag, PeerCredentialMetrics.UserConnectionLimit));
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.RefusedConnections, PeerCredentialMetricNames.RefusalReasonTag, PeerCredentialMetrics.NotAuthorized));
    }

    [Fact]
    public async Task AnAcceptedConnectionIsLoggedAtDebugWithItsEndpointAndCounted()
    {
        var logs = new LogCollector();
        using var counters = new CounterCollector(Meters);
        var gate = Gate(logs, _ => { });
        var peer = await ConnectAsync();

        Assert.Null(gate.Enter(peer, null, "c1", _endPoint));

        var accepted = Assert.Single(logs.Events, e => e.Level == LogLevel.Debug);
        Assert.Equal(3, accepted.EventId.Id);
        Assert.Equal("c1", accepted.Fields["ConnectionId"]);
        Assert.Equal(_endPoint.ToString(), accepted.Fields["EndPoint"]);
        Assert.Equal(MyUid, accepted.Fields["Uid"]);
        Assert.Equal(peer.GroupId, accepted.Fields["Gid"]);
        Assert.Equal(Environment.ProcessId, accepted.Fields["Pid"]);
        Assert.Equal(Environment.ProcessPath, accepted.Fields["Executable"]);
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.AcceptedConnections));
    }

    [Fact]
    public async Task WithDebugOffAnAcceptedConnectionIsCountedAndNothingIsReadForALog()
    {
        var logs = new LogCollector { MinimumLevel = LogLevel.Information };
        using var counters = new CounterCollector(Meters);
        var gate = Gate(logs, _ => { });
        var peer = await ConnectAsync();

        Assert.Null(gate.Enter(peer, null, "c1", _endPoint));

        Assert.DoesNotContain(logs.Events, e => e.EventId.Id == 3);
        Assert.False(peer.ExecutablePathRead);
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.AcceptedConnections));
    }

    [Fact]
    public async Task EveryRequestAPolicyRefusesIsOneWarningNamingThePolicyAndIsCountedPerRequest()
    {
        var owner = MyUid == 4000 ? 4001u : 4000u;
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                services.AddAuthentication(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential(o => o.ResolveNames = false);
                services.AddAuthorization(o =>
                {
                    var ownerOnly = new AuthorizationPolicyBuilder().RequireSocketOwner(owner).Build();
                    o.AddPolicy("Owner", ownerOnly);
                    o.FallbackPolicy = ownerOnly;
                });
                services.AddPeerCredentialProblemDetails();
                services.AddPeerCredentialPolicyEvaluator();
                services.Configure<PeerCredentialGateOptions>(o => o.RefusalLogInterval = TimeSpan.Zero); // no throttle: every refusal logged
            },
            app =>
            {
                app.MapGet("/named", () => "ok").RequireAuthorization("Owner");
                app.MapGet("/ws", () => "ok").RequireAuthorization("Owner");
                app.MapGet("/unnamed", () => "ok"); // the fallback policy: no name
            });
        using var counters = new CounterCollector(host.Services.GetRequiredService<IMeterFactory>());
        var stranger = new FakeConnection(await ConnectAsync()); // this process: not the owner
        var ownerConnection = new FakeConnection(owner);

        var answers = new[]
        {
            await host.SendAsync("GET", "/named", stranger),
            await host.SendAsync("GET", "/named", stranger), // the connection's cached decision, a request of its own
            await host.SendAsync("GET", "/ws", stranger, WebSocketUpgrade),
            await host.SendAsync("GET", "/unnamed", stranger),
        };
        var allowed = await host.SendAsync("GET", "/named", ownerConnection);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Forbidden, a.Status));
        Assert.Equal(HttpStatusCode.OK, allowed.Status);
        var warnings = LibraryWarnings(host.Logs);
        Assert.Equal(4, warnings.Count);
        Assert.All(warnings, w =>
        {
            Assert.Equal(5, w.EventId.Id);
            Assert.Equal(MyUid, w.Fields["Uid"]);
            Assert.Equal(stranger.Credential.GroupId, w.Fields["Gid"]);
            Assert.Equal(Environment.ProcessId, w.Fields["Pid"]);
            Assert.Equal(Environment.ProcessPath, w.Fields["Executable"]);
            Assert.Equal(new Authorization.SocketOwnerRequirement(owner, allowRoot: false).Check(stranger.Credential) + ".", w.Fields["Reason"]);
        });
        Assert.Equal(["/named", "/named", "/ws", "/unnamed"], warnings.Select(w => w.Fields["Path"]));
        Assert.Equal(["Owner", "Owner", "Owner", nameof(Authorization.SocketOwnerRequirement)], warnings.Select(w => w.Fields["Rule"]));

        // Per request, with the same tag for both outcomes of a policy.
        Assert.Equal(3, counters.Sum(PeerCredentialMetricNames.DeniedRequests, PeerCredentialMetricNames.PolicyTag, "Owner"));
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.DeniedRequests, PeerCredentialMetricNames.PolicyTag, nameof(Authorization.SocketOwnerRequirement)));
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.AuthorizedRequests, PeerCredentialMetricNames.PolicyTag, "Owner"));
        Assert.Equal(4, counters.Sum(PeerCredentialMetricNames.DeniedRequests));
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.AuthorizedRequests));
    }

    [Fact]
    public async Task TheRequestGuardsRefusalsAreWarningsWithThePeersFieldsAndAreCounted()
    {
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                services.AddAuthentication(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential();
                services.AddAuthorization();
                services.AddPeerCredentialGate(o => o.RefusalLogInterval = TimeSpan.Zero);
            },
            app =>
            {
                app.UseLocalRequestGuard();
                app.MapGet("/", () => "ok").AllowAnonymous();
            });
        using var counters = new CounterCollector(host.Services.GetRequiredService<IMeterFactory>());
        var peer = new FakeConnection(await ConnectAsync());

        var rebound = await host.SendAsync("GET", "/", peer, r => r.Host = new HostString("attacker.example"));
        var crossSite = await host.SendAsync("GET", "/", peer, r => r.Headers.Origin = "http://attacker.example");

        Assert.Equal(HttpStatusCode.MisdirectedRequest, rebound.Status);
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.Status);
        var warnings = LibraryWarnings(host.Logs);
        Assert.Equal([30, 31], warnings.Select(w => w.EventId.Id));
        Assert.Equal(["LocalRequestGuard.Host", "LocalRequestGuard.Origin"], warnings.Select(w => w.Fields["Rule"]));
        Assert.All(warnings, w =>
        {
            Assert.Equal(MyUid.ToString(System.Globalization.CultureInfo.InvariantCulture), w.Fields["Uid"]);
            Assert.Equal(peer.Credential.GroupId.ToString(System.Globalization.CultureInfo.InvariantCulture), w.Fields["Gid"]);
            Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), w.Fields["Pid"]);
            Assert.Equal(Environment.ProcessPath, w.Fields["Executable"]);
        });
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.DeniedRequests, PeerCredentialMetricNames.PolicyTag, "LocalRequestGuard.Host"));
        Assert.Equal(1, counters.Sum(PeerCredentialMetricNames.DeniedRequests, PeerCredentialMetricNames.PolicyTag, "LocalRequestGuard.Origin"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }

        _listener.Dispose();
        await _services.DisposeAsync();
        _directory.Dispose();
    }

    // The library's: a host may warn of other things (data protection's key ring, as a user without a home).
    private static List<(LogLevel Level, string Category, string Message, EventId EventId, IReadOnlyDictionary<string, object?> Fields)> LibraryWarnings(LogCollector logs)
        => [.. logs.Events.Where(e => e.Level == LogLevel.Warning && e.Category.StartsWith("PeerCredentials.", StringComparison.Ordinal))];

    private static void WebSocketUpgrade(HttpRequest request)
    {
        request.Headers.Connection = "Upgrade";
        request.Headers.Upgrade = "websocket";
        request.Headers.SecWebSocketVersion = "13";
        request.Headers.SecWebSocketKey = "dGhlIHNhbXBsZSBub25jZQ==";
    }

    private PeerCredentialGate Gate(LogCollector logs, Action<PeerCredentialGateOptions> configure)
    {
        var settings = new PeerCredentialGateOptions();
        configure(settings);
        var options = Options.Create(settings);
        return new PeerCredentialGate(options, new PeerRefusalLog(options, logs.CreateLogger<PeerRefusalLog>()), logs.CreateLogger<PeerCredentialGate>(), new PeerCredentialMetrics(Meters));
    }

    // A connection of this process to its own socket; the server's end, as accept() gives it.
    private async Task<Socket> AcceptAsync()
    {
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _owned.Add(client);
        await client.ConnectAsync(_endPoint, Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        var accepted = await _listener.AcceptAsync(Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        _owned.Add(accepted);
        return accepted;
    }

    // The kernel's credentials of such a connection, pidfd and all.
    private async Task<PeerCredential> ConnectAsync()
    {
        var credential = PeerCredential.Read(await AcceptAsync());
        _owned.Add(credential);
        return credential;
    }
}
