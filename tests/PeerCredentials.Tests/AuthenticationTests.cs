using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using PeerCredentials.Authentication;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>The scheme: the connection's credential becomes a principal, once per connection, that no request can edit.</summary>
public sealed class AuthenticationTests
{
    private const uint Owner = 1000;

    [Fact]
    public async Task PeerIsAuthenticatedWithTheKernelsNumbers()
    {
        await using var host = await OwnerOnlyHostAsync();
        var connection = new FakeConnection(uid: Owner, gid: 1001, pid: 77, groups: [27, 1001]);

        var answer = await host.SendAsync("GET", "/claims", connection);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var claims = JsonSerializer.Deserialize<Dictionary<string, string[]>>(answer.Body)!;
        Assert.Equal(["1000"], claims[PeerCredentialClaimTypes.UserId]);
        Assert.Equal(["1000"], claims[ClaimTypes.NameIdentifier]);
        Assert.Equal(["1001"], claims[PeerCredentialClaimTypes.GroupId]);
        Assert.Equal(["77"], claims[PeerCredentialClaimTypes.ProcessId]);
        Assert.Equal(["27", "1001"], claims[PeerCredentialClaimTypes.SupplementaryGroup]);
    }

    [Fact]
    public async Task ConnectionWithoutCredentialsHasNoIdentityAndGets401()
    {
        await using var host = await OwnerOnlyHostAsync();

        var answer = await host.SendAsync("GET", "/claims", connection: null);

        Assert.Equal(HttpStatusCode.Unauthorized, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Contains("needs the peer credentials of a Unix socket connection", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdentityIsBuiltOncePerConnectionButEachRequestHasItsOwnPrincipal()
    {
        var seen = new List<(ClaimsPrincipal Principal, PeerCredentialIdentity Identity)>();
        await using var host = await PeerHost.StartAsync(
            services => AddOwnerOnly(services),
            app => app.MapGet("/", (ClaimsPrincipal user) => { seen.Add((user, user.GetPeerIdentity()!)); return "ok"; }));
        var connection = new FakeConnection(Owner);
        var other = new FakeConnection(Owner);

        await host.SendAsync("GET", "/", connection);
        await host.SendAsync("GET", "/", connection);
        await host.SendAsync("GET", "/", other);

        Assert.Equal(3, seen.Count);
        Assert.Same(seen[0].Identity, seen[1].Identity);
        Assert.NotSame(seen[0].Principal, seen[1].Principal);
        Assert.NotSame(seen[0].Identity, seen[2].Identity);
    }

    [Fact]
    public void PeerIdentityCannotBeEdited()
    {
        var identity = new PeerCredentialIdentity(new PeerCredential(1, Owner, Owner), "PeerCredential", new PeerCredentialAuthenticationOptions { ResolveNames = false });
        var fake = new Claim(PeerCredentialClaimTypes.UserId, "0");

        Assert.Throws<InvalidOperationException>(() => identity.AddClaim(fake));
        Assert.Throws<InvalidOperationException>(() => identity.AddClaims([fake]));
        Assert.Throws<InvalidOperationException>(() => identity.RemoveClaim(identity.FindFirst(PeerCredentialClaimTypes.UserId)));
        Assert.Throws<InvalidOperationException>(() => identity.TryRemoveClaim(identity.FindFirst(PeerCredentialClaimTypes.UserId)));
        Assert.Throws<InvalidOperationException>(() => ((ClaimsIdentity)identity.Clone()).AddClaim(fake));
        Assert.Equal("1000", identity.FindFirst(PeerCredentialClaimTypes.UserId)!.Value);
    }

    [Fact]
    public async Task ClaimsTransformationCannotMakeAStrangerTheOwner()
    {
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                AddOwnerOnly(services);
                services.AddTransient<IClaimsTransformation, ClaimToBeTheOwner>();
            },
            app => app.MapGet("/uid", (ClaimsPrincipal user) => user.GetPeerIdentity()!.Credential.UserId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var stranger = new FakeConnection(uid: 1234);

        var answer = await host.SendAsync("GET", "/uid", stranger);

        // The transformation ran and its claims are there, and count for nothing: the policy reads the kernel's uid.
        Assert.True(ClaimToBeTheOwner.Calls > 0);
        Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
        Assert.Contains("uid 1234 is not the owner of this socket (uid 1000)", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClaimsTransformationThatEditsThePeerIdentityFailsTheRequest()
    {
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                AddOwnerOnly(services);
                services.AddTransient<IClaimsTransformation, EditThePeerIdentity>();
            },
            app => app.MapGet("/", () => "served"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => host.SendAsync("GET", "/", new FakeConnection(Owner)));
    }

    internal static void AddOwnerOnly(IServiceCollection services, bool allowRoot = false)
    {
        services.AddAuthentication(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential(o => o.ResolveNames = false);
        services.AddAuthorization(o =>
        {
            var owner = new AuthorizationPolicyBuilder().RequireSocketOwner(Owner, allowRoot).Build();
            o.AddPolicy("Owner", owner);
            o.DefaultPolicy = owner;
            o.FallbackPolicy = owner;
        });
        services.AddPeerCredentialProblemDetails();
    }

    private static Task<PeerHost> OwnerOnlyHostAsync() => PeerHost.StartAsync(
        services => AddOwnerOnly(services),
        app => app.MapGet("/claims", (ClaimsPrincipal user) => user.Claims.GroupBy(c => c.Type).ToDictionary(g => g.Key, g => g.Select(c => c.Value).ToArray())));

    private sealed class ClaimToBeTheOwner : IClaimsTransformation
    {
        public static int Calls;

        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            Interlocked.Increment(ref Calls);
            var lie = new ClaimsIdentity(
                [new Claim(ClaimTypes.NameIdentifier, "1000"), new Claim(PeerCredentialClaimTypes.UserId, "1000")],
                authenticationType: "Lies");
            var transformed = principal.Clone();
            transformed.AddIdentity(lie);
            return Task.FromResult(transformed);
        }
    }

    private sealed class EditThePeerIdentity : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            principal.GetPeerIdentity()!.AddClaim(new Claim(PeerCredentialClaimTypes.UserId, "1000"));
            return Task.FromResult(principal);
        }
    }
}
