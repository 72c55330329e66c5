using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using PeerCredentials.Authentication;
using PeerCredentials.Authorization;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>Access beyond the owner: users and groups by number or name, decided on the kernel's numbers.</summary>
public sealed class SelectorPolicyTests
{
    [Fact]
    public async Task AUserAllowedByUidOrByNameGetsInAndOthersGet403SayingWhy()
    {
        // uid 0 is "root" in every user database.
        await using var host = await HostAsync(p => p.RequirePeerUser("1000", "root"));

        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", new FakeConnection(1000))).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", new FakeConnection(0))).Status);
        var refused = await host.SendAsync("GET", "/", new FakeConnection(1001));

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("uid 1001 is not among the allowed users (0, 1000)", refused.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGroupCountsAsPrimaryOrAsAKernelReportedSupplementaryGroupOnly()
    {
        await using var host = await HostAsync(p => p.RequirePeerGroup("27", "root"));

        // Primary gid 0 (root, by name), or 27 among the groups the kernel reports.
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", new FakeConnection(1000, gid: 0))).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync("GET", "/", new FakeConnection(1000, gid: 1000, groups: [4, 27]))).Status);

        // Neither: refused, whatever the group database says of uid 1000.
        var dropped = await host.SendAsync("GET", "/", new FakeConnection(1000, gid: 1000, groups: [4]));
        Assert.Equal(HttpStatusCode.Forbidden, dropped.Status);
        Assert.Contains("uid 1000 holds none of the allowed groups (0, 27)", dropped.Body, StringComparison.Ordinal);

        // A kernel without SO_PEERGROUPS: only the primary gid can count, and the refusal says so.
        var unknown = await host.SendAsync("GET", "/", new FakeConnection(new PeerCredential(1, 1000, 1000, supplementaryGroups: null)));
        Assert.Contains("the kernel does not report the peer's other groups", unknown.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void TheOverflowIdsAreNeverAllowedByName()
    {
        var overflowName = UnixAccounts.GetUserName(UnixAccounts.OverflowUserId);
        if (overflowName == UnixAccounts.OverflowUserId.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            Assert.Skip($"Skipped: the user database has no name for the overflow uid {UnixAccounts.OverflowUserId} here.");
        }

        var byName = Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequirePeerUser(overflowName));
        Assert.Contains("overflow id", byName.Message, StringComparison.Ordinal);

        // Given as a number, it is meant, and allowed.
        var byNumber = new AuthorizationPolicyBuilder().RequirePeerUser(UnixAccounts.OverflowUserId.ToString(System.Globalization.CultureInfo.InvariantCulture)).Build();
        Assert.Contains(UnixAccounts.OverflowUserId, Assert.Single(byNumber.Requirements.OfType<PeerUserRequirement>()).UserIds);
    }

    [Theory]
    [InlineData("no-such-user-echoapi")]
    [InlineData("")]
    public void AnUnknownNameIsRefusedWhenThePolicyIsBuilt(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequirePeerUser(name));
        Assert.Contains($"'{name}' is neither a user id nor a user in the user database", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequirePeerGroup(name));
    }

    private static Task<PeerHost> HostAsync(Action<AuthorizationPolicyBuilder> policy) => PeerHost.StartAsync(
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
        app => app.MapGet("/", () => "ok"));
}
