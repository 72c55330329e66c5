using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using PeerCredentials.Authentication;
using PeerCredentials.Authorization;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>Rules: each an AND of selectors, a rule set an OR of rules, tried in order, lazily, once per connection.</summary>
public sealed class PeerRuleTests
{
    private const uint Owner = 1000;

    [Fact]
    public void ARuleAdmitsOnlyAPeerThatMatchesAllItsSelectors()
    {
        var rule = PeerRule.Parse("uid:2000", "group:daemon");

        Assert.Equal("uid:2000 and group:daemon", rule.Name);
        Assert.Null(rule.Check(new PeerCredential(1, 2000, 100, [1])));
        Assert.Equal("uid 2000 holds none of the allowed groups (1)", rule.Check(new PeerCredential(1, 2000, 100, [4])));
        Assert.Equal("uid 2001 is not among the allowed users (2000)", rule.Check(new PeerCredential(1, 2001, 1, [1])));
    }

    [Fact]
    public void ARuleOrARuleSetThatAsksNothingIsRefused()
    {
        Assert.Throws<ArgumentException>(() => PeerRule.Parse());
        Assert.Throws<ArgumentException>(() => new PeerRule([]));
        Assert.Throws<ArgumentException>(() => new PeerRulesRequirement([]));

        // A bad selector in a rule names itself.
        var error = Assert.Throws<PeerSelectorException>(() => PeerRule.Parse("uid:2000", "usr:alice"));
        Assert.Equal("usr:alice", error.Selector);
    }

    [Fact]
    public void RulesAreTriedInOrderAndAfterTheOneThatAdmitsNothingIsRead()
    {
        var costly = new RecordingSelector("costly", admits: true);
        var rules = new PeerRulesRequirement([PeerRule.SocketOwner(Owner), new PeerRule([costly])]);

        // The owner is admitted by the first rule: the second is never evaluated.
        var owner = new PeerCredential(1, Owner, Owner);
        Assert.Equal("owner", rules.FindAdmittingRule(owner)?.Name);
        Assert.Null(rules.Check(owner));
        Assert.Equal(0, costly.Checks);

        // A stranger falls through to the second rule, which is evaluated once for the connection.
        var stranger = new PeerCredential(2, 2000, 2000);
        Assert.Null(rules.Check(stranger));
        Assert.Same(rules.Rules[1], rules.FindAdmittingRule(stranger));
        Assert.Same(rules.Rules[1], rules.FindAdmittingRule(stranger));
        Assert.Equal(1, costly.Checks);

        // Another connection of the same uid is decided anew.
        Assert.Same(rules.Rules[1], rules.FindAdmittingRule(new PeerCredential(3, 2000, 2000)));
        Assert.Equal(2, costly.Checks);
    }

    [Fact]
    public void WithinARuleASelectorAfterOneThatFailsIsNotRead()
    {
        var costly = new RecordingSelector("costly", admits: true);
        var rules = new PeerRulesRequirement([new PeerRule([PeerSelector.Parse("gid:27"), costly])]);

        Assert.Equal("no rule admits uid 2000: [gid:27 and costly] uid 2000 holds none of the allowed groups (27)", rules.Check(new PeerCredential(1, 2000, 100, [4])));
        Assert.Null(rules.FindAdmittingRule(new PeerCredential(1, 2000, 100, [4])));
        Assert.Equal(0, costly.Checks);

        Assert.Null(rules.Check(new PeerCredential(1, 2000, 100, [27])));
        Assert.Equal(1, costly.Checks);
    }

    [Fact]
    public void ARefusalNamesWhatEachRuleLackedInOneBoundedLine()
    {
        var many = Enumerable.Range(0, 20).Select(i => PeerRule.Parse($"uid:{3000 + i}", "group:daemon"));
        var rules = new PeerRulesRequirement([PeerRule.SocketOwner(Owner), .. many]);

        var refusal = rules.Check(new PeerCredential(1, 2000, 2000, []));

        Assert.NotNull(refusal);
        Assert.StartsWith("no rule admits uid 2000: [owner] uid 2000 is not the owner of this socket (uid 1000); [uid:3000 and group:daemon] uid 2000 is not among the allowed users (3000); ", refusal, StringComparison.Ordinal);
        Assert.EndsWith("; and 13 more rules", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refusal);
        Assert.True(refusal.Length <= 1024, $"The refusal is {refusal.Length} characters long.");
    }

    [Fact]
    public void AReasonTooLongIsCutSoThatTheRulesAfterItStillShow()
    {
        var rules = new PeerRulesRequirement([new PeerRule([new RecordingSelector("path:/usr/bin/curl", admits: false, reason: "executable /tmp/" + new string('x', 5000))]), PeerRule.Parse("uid:0")]);

        var refusal = rules.Check(new PeerCredential(1, 2000, 2000));

        Assert.NotNull(refusal);
        Assert.Matches(@"^no rule admits uid 2000: \[path:/usr/bin/curl\] executable /tmp/x{200,}\.\.\.; \[uid:0\] uid 2000 is not among the allowed users \(0\)$", refusal);
        Assert.True(refusal.Length < 400, $"The refusal is {refusal.Length} characters long.");
    }

    [Fact]
    public async Task AnyRuleAdmitsThroughARealPolicyAndA403NamesWhatEachRuleLacked()
    {
        var rules = new PeerRulesRequirement([PeerRule.SocketOwner(Owner), PeerRule.Parse("user:daemon"), PeerRule.Parse("gid:27", "uid:2000")]);
        await using var host = await HostAsync(p => p.RequirePeerRules(rules), rules);

        Assert.Equal("owner", (await host.SendAsync("GET", "/", new FakeConnection(Owner))).Body);
        Assert.Equal("user:daemon", (await host.SendAsync("GET", "/", new FakeConnection(1))).Body);
        Assert.Equal("gid:27 and uid:2000", (await host.SendAsync("GET", "/", new FakeConnection(2000, gid: 100, groups: [27]))).Body);

        var refused = await host.SendAsync("GET", "/", new FakeConnection(2000, gid: 100, groups: [4]));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal(
            "no rule admits uid 2000: [owner] uid 2000 is not the owner of this socket (uid 1000); [user:daemon] uid 2000 is not among the allowed users (1); [gid:27 and uid:2000] uid 2000 holds none of the allowed groups (27).",
            Detail(refused));
    }

    [Fact]
    public async Task TheParamsBuilderAdmitsByAnyRule()
    {
        await using var host = await HostAsync(p => p.RequirePeerRules(PeerRule.SocketOwner(Owner), PeerRule.Parse("uid:0")), rules: null);

        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", new FakeConnection(Owner))).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", new FakeConnection(0))).Status);
        var refused = await host.SendAsync("GET", "/", new FakeConnection(2000));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("no rule admits uid 2000: [owner] uid 2000 is not the owner of this socket (uid 1000); [uid:0] uid 2000 is not among the allowed users (0).", Detail(refused));
    }

    [Fact]
    public async Task AConnectionsRulesAreEvaluatedOnceForAllItsRequests()
    {
        var costly = new RecordingSelector("costly", admits: true);
        var rules = new PeerRulesRequirement([PeerRule.SocketOwner(Owner), new PeerRule([costly], "costly")]);
        await using var host = await HostAsync(p => p.RequirePeerRules(rules), rules);
        var connection = new FakeConnection(2000);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("costly", (await host.SendAsync("GET", "/", connection)).Body);
        }

        Assert.Equal(1, costly.Checks);
    }

    private static string? Detail(Answer answer)
    {
        using var body = JsonDocument.Parse(answer.Body);
        return body.RootElement.GetProperty("detail").GetString();
    }

    // The endpoint answers with the rule that admitted the caller, as /whoami would.
    private static Task<PeerHost> HostAsync(Action<AuthorizationPolicyBuilder> policy, PeerRulesRequirement? rules) => PeerHost.StartAsync(
        services =>
        {
            services.AddAuthentication(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential(o => o.ResolveNames = false);
            services.AddAuthorization(o =>
            {
                var builder = new AuthorizationPolicyBuilder();
                policy(builder);
                o.FallbackPolicy = builder.Build();
            });
            services.AddPeerCredentialProblemDetails();
            services.AddPeerCredentialPolicyEvaluator();
        },
        app => app.MapGet("/", (HttpContext context) =>
            rules?.FindAdmittingRule(context.User.GetPeerIdentity()!.Credential)?.Name ?? "admitted"));

    /// <summary>A selector that counts how often it is asked, standing in for one that reads the process.</summary>
    private sealed class RecordingSelector(string name, bool admits, string? reason = null) : PeerCredentialRequirement
    {
        private int _checks;

        public int Checks => Volatile.Read(ref _checks);

        public override string? Check(PeerCredential peer)
        {
            Interlocked.Increment(ref _checks);
            return admits ? null : reason ?? $"{name} refuses";
        }

        public override string ToString() => name;
    }
}
