using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using PeerCredentials.Authentication;
using PeerCredentials.Authorization;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>The policies: decided on the kernel's numbers, once per connection, through the framework's own tools.</summary>
public sealed class PolicyTests
{
    private const uint Owner = 1000;

    [Fact]
    public async Task OwnerPassesAndAStrangerGets403SayingWhy()
    {
        await using var host = await HostAsync();

        var owner = await host.SendAsync("GET", "/", new FakeConnection(Owner));
        var stranger = await host.SendAsync("GET", "/", new FakeConnection(1234, gid: 1234, pid: 99));

        Assert.Equal(HttpStatusCode.OK, owner.Status);
        Assert.Equal(HttpStatusCode.Forbidden, stranger.Status);
        Assert.Equal("application/problem+json", stranger.ContentType);
        Assert.Contains("\"detail\":\"uid 1234 is not the owner of this socket (uid 1000).\"", stranger.Body, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Warnings, w => w.StartsWith("Refused GET / for uid 1234 gid 1234 pid 99 (unknown)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, HttpStatusCode.Forbidden)]
    [InlineData(true, HttpStatusCode.OK)]
    public async Task RootIsRefusedUnlessAllowed(bool allowRoot, HttpStatusCode expected)
    {
        await using var host = await HostAsync(allowRoot);

        var root = await host.SendAsync("GET", "/", new FakeConnection(0));

        Assert.Equal(expected, root.Status);
    }

    [Fact]
    public void TheOverflowUidNeverPassesEvenAsTheOwner()
    {
        var overflow = UnixAccounts.OverflowUserId;
        var requirement = new SocketOwnerRequirement(overflow, allowRoot: false);

        Assert.Contains("overflow uid", requirement.Check(new PeerCredential(1, overflow, overflow)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APeerOnlyDecisionIsWorkedOutOncePerConnection()
    {
        var counting = new CountingRequirement();
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                AuthenticationTests.AddOwnerOnly(services);
                services.AddAuthorization(o => o.AddPolicy("Counted", p => p.AddAuthenticationSchemes(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddRequirements(counting)));
            },
            app => app.MapGet("/", () => "ok").RequireAuthorization("Counted"));
        var first = new FakeConnection(Owner);
        var second = new FakeConnection(Owner);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", first)).Status);
        }

        Assert.Equal(1, counting.Checks);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", second)).Status);
        Assert.Equal(2, counting.Checks);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // with the library's evaluator, as a daemon like EchoApi runs it
    public async Task AuthorizeAttributeNamedPolicyAndAuthorizationServiceAllFailClosed(bool peerCredentialEvaluator)
    {
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                AuthenticationTests.AddOwnerOnly(services);
                if (peerCredentialEvaluator)
                {
                    services.AddPeerCredentialPolicyEvaluator();
                }
            },
            app =>
            {
                app.MapGet("/attribute", [Authorize] () => "ok");
                app.MapGet("/named", () => "ok").RequireAuthorization("Owner");
                app.MapGet("/service", async (ClaimsPrincipal user, IAuthorizationService authorization)
                    => (await authorization.AuthorizeAsync(user, resource: null, "Owner")).Succeeded ? "yes" : "no").AllowAnonymous();
            });
        var stranger = new FakeConnection(1234);
        var owner = new FakeConnection(Owner);

        Assert.Equal(HttpStatusCode.Forbidden, (await host.SendAsync("GET", "/attribute", stranger)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.SendAsync("GET", "/named", stranger)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.SendAsync("GET", "/named", connection: null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/attribute", owner)).Status);

        // Anonymous endpoint: authentication still ran, so the service sees the same principal the policies do.
        Assert.Equal("no", (await host.SendAsync("GET", "/service", stranger)).Body);
        Assert.Equal("yes", (await host.SendAsync("GET", "/service", owner)).Body);
        Assert.Equal("no", (await host.SendAsync("GET", "/service", connection: null)).Body);
    }

    [Fact]
    public async Task ThePolicyEvaluatorDecidesAPeerPolicyOncePerConnectionAndLeavesOtherPoliciesToTheFramework()
    {
        var counting = new CountingRequirement();
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                AuthenticationTests.AddOwnerOnly(services);
                services.AddPeerCredentialPolicyEvaluator();
                services.AddAuthorization(o =>
                {
                    o.AddPolicy("Counted", p => p.AddAuthenticationSchemes(PeerCredentialAuthenticationDefaults.AuthenticationScheme).RequireAuthenticatedUser().AddRequirements(counting));
                    o.AddPolicy("Named", p => p.RequireClaim(System.Security.Claims.ClaimTypes.Name, "alice"));
                });
            },
            app =>
            {
                app.MapGet("/counted", () => "ok").RequireAuthorization("Counted");
                app.MapGet("/named", () => "ok").RequireAuthorization("Named");
                app.MapGet("/owner", (System.Security.Claims.ClaimsPrincipal user) => user.GetPeerIdentity()!.Credential.UserId);
            });
        var owner = new FakeConnection(Owner);
        var stranger = new FakeConnection(1234);

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add((await host.SendAsync("GET", "/counted", owner)).Status);
            answers.Add((await host.SendAsync("GET", "/counted", stranger)).Status);
        }

        Assert.Equal(Enumerable.Repeat(new[] { HttpStatusCode.OK, HttpStatusCode.Forbidden }, 5).SelectMany(a => a), answers);
        Assert.Equal(2, counting.Checks); // once per connection
        var refused = await host.SendAsync("GET", "/counted", stranger);
        Assert.Contains("not the owner", refused.Body, StringComparison.Ordinal); // the cached refusal still says why

        // A policy on claims goes through the framework: the peer's name is its uid here (no name lookups), not alice.
        Assert.Equal(HttpStatusCode.Forbidden, (await host.SendAsync("GET", "/named", owner)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.SendAsync("GET", "/owner", connection: null)).Status);
        Assert.Equal("1000", (await host.SendAsync("GET", "/owner", owner)).Body);
    }

    [Fact]
    public async Task ThePolicyEvaluatorStopsAtTheFirstRequirementThatRefuses()
    {
        // A costly requirement (an executable's hash) placed after a uid check is never paid for by a stranger.
        var costly = new CountingRequirement();
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                AuthenticationTests.AddOwnerOnly(services);
                services.AddPeerCredentialPolicyEvaluator();
                services.AddAuthorization(o => o.AddPolicy("UserThenCostly", p => p.RequirePeerUser("1000").AddRequirements(costly)));
            },
            app => app.MapGet("/", () => "ok").RequireAuthorization("UserThenCostly"));

        var refused = await host.SendAsync("GET", "/", new FakeConnection(1234));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("uid 1234 is not among the allowed users (1000)", refused.Body, StringComparison.Ordinal);
        Assert.Equal(0, costly.Checks);

        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", new FakeConnection(Owner))).Status);
        Assert.Equal(1, costly.Checks);
    }

    private static Task<PeerHost> HostAsync(bool allowRoot = false) => PeerHost.StartAsync(
        services => AuthenticationTests.AddOwnerOnly(services, allowRoot),
        app => app.MapGet("/", () => "ok"));

    [Fact]
    public async Task AScopedClaimsTransformationRunsUnderTheEvaluatorWithScopesValidated()
    {
        // Apps register their IClaimsTransformation scoped as often as not; the Development environment validates
        // scopes, so the evaluator (a singleton) must not resolve one from the root provider.
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                services.AddAuthentication().AddPeerCredential(o => o.ResolveNames = false);
                services.AddAuthorization(o => o.AddPolicy("Owner", p => p.AddAuthenticationSchemes(PeerCredentialAuthenticationDefaults.AuthenticationScheme).RequireSocketOwner(Owner)));
                services.AddPeerCredentialPolicyEvaluator();
                services.AddScoped<IClaimsTransformation, AddsARole>();
            },
            app => app.MapGet("/roles", (ClaimsPrincipal user) => string.Join(",", user.FindAll(ClaimTypes.Role).Select(c => c.Value))).RequireAuthorization("Owner"),
            validateScopes: true);

        var owner = await host.SendAsync("GET", "/roles", new FakeConnection(Owner));
        Assert.Equal(HttpStatusCode.OK, owner.Status);
        Assert.Equal("echo-user", owner.Body); // the app's transformation ran
        Assert.Equal(HttpStatusCode.Forbidden, (await host.SendAsync("GET", "/roles", new FakeConnection(1234))).Status);
    }

    private sealed class AddsARole : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            var transformed = principal.Clone();
            transformed.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.Role, "echo-user")]));
            return Task.FromResult(transformed);
        }
    }

    private sealed class CountingRequirement : PeerCredentialRequirement
    {
        private int _checks;

        public int Checks => Volatile.Read(ref _checks);

        public override string? Check(PeerCredential peer)
        {
            Interlocked.Increment(ref _checks);
            return peer.UserId == Owner ? null : "not the owner";
        }
    }
}
