using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>The gate's decisions: limits per uid and for strangers together, the endpoint's policy, one throttled log.</summary>
public sealed class GateTests
{
    private const uint Owner = 1000;

    [Fact]
    public void AUidOverItsLimitIsRefusedUntilOneOfItsConnectionsCloses()
    {
        var (gate, _) = Gate(o => o.MaxConnectionsPerUser = 2);
        var first = Peer(2000);
        var second = Peer(2000);

        Assert.Null(gate.Enter(first, null, "c1"));
        Assert.Null(gate.Enter(second, null, "c2"));
        var refused = gate.Enter(Peer(2000), null, "c3");
        Assert.Null(gate.Enter(Peer(2001), null, "c4")); // another uid is not affected

        Assert.Equal(PeerRefusalReason.UserConnectionLimit, refused!.Reason);
        Assert.Equal("uid 2000 already holds 2 connections", refused.Message);
        gate.Leave(first);
        Assert.Null(gate.Enter(Peer(2000), null, "c5"));
    }

    [Fact]
    public void StrangersTogetherHaveABudgetAndTheOwnerIsOutsideIt()
    {
        var (gate, _) = Gate(o =>
        {
            o.MaxUntrustedConnections = 3;
            o.TrustedUserIds.Add(Owner);
        });

        // Three uids of a subordinate range fill the strangers' budget between them.
        Assert.Null(gate.Enter(Peer(100_000), null, "a"));
        Assert.Null(gate.Enter(Peer(100_001), null, "b"));
        var last = Peer(100_002);
        Assert.Null(gate.Enter(last, null, "c"));
        var refused = gate.Enter(Peer(100_003), null, "d");

        Assert.Equal(PeerRefusalReason.UntrustedConnectionLimit, refused!.Reason);
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(gate.Enter(Peer(Owner), null, $"owner{i}"));
        }

        gate.Leave(last);
        Assert.Null(gate.Enter(Peer(100_003), null, "e"));
    }

    [Fact]
    public void TheEndpointsPolicyRefusesWithItsReasonAndTheRefusalIsNotCounted()
    {
        var (gate, logs) = Gate(o => o.MaxConnectionsPerUser = 1);
        static string? OwnerOnly(PeerCredential peer) => peer.UserId == Owner ? null : $"uid {peer.UserId} is not the owner";

        var refused = gate.Enter(Peer(2000, pid: 31), OwnerOnly, "c1");
        var again = gate.Enter(Peer(2000, pid: 32), OwnerOnly, "c2");

        // Still refused by the policy, not by the limit: the first refusal holds no slot.
        Assert.Equal(PeerRefusalReason.NotAuthorized, refused!.Reason);
        Assert.Equal(PeerRefusalReason.NotAuthorized, again!.Reason);
        Assert.Equal("uid 2000 is not the owner", refused.Message);
        Assert.Null(gate.Enter(Peer(Owner), OwnerOnly, "c3"));
        Assert.Contains(logs.Warnings, w => w == "Connection c1 (rule not_authorized) from uid 2000 gid 2000 pid 31 (unknown) closed at connect: uid 2000 is not the owner");
    }

    [Fact]
    public void RefusalsOfOneUidAreLoggedOncePerIntervalAndTheNextSaysHowManyWereLeftOut()
    {
        // The default interval, a second: the twenty refusals must all fall inside one interval, and a loaded
        // machine that stalls this thread for a fifth of a second (the interval this test used to set) is
        // not unheard of.
        var interval = TimeSpan.FromSeconds(1);
        var (gate, logs) = Gate(o =>
        {
            o.MaxConnectionsPerUser = 1;
            o.RefusalLogInterval = interval;
        });
        Assert.Null(gate.Enter(Peer(2000), null, "held"));

        for (var i = 0; i < 20; i++)
        {
            Assert.NotNull(gate.Enter(Peer(2000), null, $"r{i}"));
        }

        Assert.Single(logs.Warnings, w => w.Contains("closed at connect", StringComparison.Ordinal));
        Thread.Sleep(interval + TimeSpan.FromMilliseconds(50));
        Assert.NotNull(gate.Enter(Peer(2000), null, "later"));
        Assert.Contains(logs.Warnings, w => w == "19 more refusal(s) of uid 2000 were not logged: at most one a second per uid is.");
        Assert.Equal(2, logs.Warnings.Count(w => w.Contains("closed at connect", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AcceptReadsTheCredentialsOnceAndAppliesTheConnectRate()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "gate.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        var (gate, logs) = Gate(o => o.ConnectionsPerSecondPerUser = 1); // a bucket of two

        var decisions = new List<AcceptDecision>();
        PeerCredential? first = null;
        for (var i = 0; i < 3; i++)
        {
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
            using var accepted = await listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            decisions.Add(gate.Accept(accepted, out var credential));
            first ??= credential;
        }

        Assert.Equal([AcceptDecision.Admit, AcceptDecision.Admit, AcceptDecision.RateLimited], decisions);
        Assert.Equal(Environment.ProcessId, first!.ProcessId);
        Assert.Equal(UnixAccounts.EffectiveUserId, first.UserId);
        Assert.Contains(logs.Warnings, w => w.StartsWith($"Closed 1 connection(s) of uid {first.UserId} gid {first.GroupId} pid {first.ProcessId} ({Environment.ProcessPath}) at accept: over 1 new connections per second (rule connect_rate)", StringComparison.Ordinal));
        first.Dispose();
    }

    [Fact]
    public void TheConnectRateIsATokenBucketThatLeavesTrustedUidsAlone()
    {
        var limiter = new PeerRateLimiter(10, [Owner]);

        var started = Stopwatch.GetTimestamp();
        var passed = Enumerable.Range(0, 25).Count(_ => limiter.TryTake(2000));
        var refilled = (int)(10 * Stopwatch.GetElapsedTime(started).TotalSeconds); // nothing, unless this thread was held up
        Assert.InRange(passed, 20, 20 + refilled); // twice the rate, at once
        Assert.True(Enumerable.Range(0, 1000).All(_ => limiter.TryTake(Owner)));
        Assert.True(limiter.TryTake(2001)); // every uid has its own bucket
    }

    [Fact]
    public void TheLogThrottleCountsWhatItHoldsBack()
    {
        var interval = TimeSpan.FromSeconds(1); // long enough that the calls below fall inside it on a loaded machine too
        var throttle = new PerUserLogThrottle(interval);

        Assert.True(throttle.ShouldLog(1, out var none));
        Assert.False(throttle.ShouldLog(1, out _));
        Assert.False(throttle.ShouldLog(1, out _));
        Assert.True(throttle.ShouldLog(2, out _)); // per uid
        Thread.Sleep(interval + TimeSpan.FromMilliseconds(50));
        Assert.True(throttle.ShouldLog(1, out var leftOut));

        Assert.Equal(0, none);
        Assert.Equal(2, leftOut);
    }

    private static PeerCredential Peer(uint uid, int pid = 0) => new(pid, uid, uid);

    private static (PeerCredentialGate Gate, LogCollector Logs) Gate(Action<PeerCredentialGateOptions> configure)
    {
        var settings = new PeerCredentialGateOptions();
        configure(settings);
        var options = Options.Create(settings);
        var logs = new LogCollector();
        return (new PeerCredentialGate(options, new PeerRefusalLog(options, logs.CreateLogger<PeerRefusalLog>()), logs.CreateLogger<PeerCredentialGate>()), logs);
    }
}
