using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using EchoApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EchoApi.Tests;

/// <summary>Who gets in: the kernel's word on the peer, through the handler and the owner policy.</summary>
public sealed class AuthorizationTests
{
    private static readonly CancellationToken Cancel = TestContext.Current.CancellationToken;

    [Fact]
    public async Task WhoAmIAgreesWithId()
    {
        using var server = EchoApiFactory.Start();
        using var client = server.CreateUnixClient();

        using var json = JsonDocument.Parse(await client.GetStringAsync("/whoami", Cancel));
        var me = json.RootElement;

        Assert.Equal(await Id("-u"), me.GetProperty("uid").GetUInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(await Id("-g"), me.GetProperty("gid").GetUInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(await Id("-un"), me.GetProperty("user").GetString());
        Assert.Equal(await Id("-gn"), me.GetProperty("group").GetString());
        Assert.Equal(Environment.ProcessId, me.GetProperty("pid").GetInt32());
        Assert.True(me.GetProperty("isOwner").GetBoolean());

        // id -G is the primary group plus the supplementary groups; the kernel reports the latter.
        var groups = me.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("gid").GetUInt32()).Append(me.GetProperty("gid").GetUInt32());
        var expected = (await Id("-G")).Split(' ').Select(uint.Parse);
        Assert.Equal(expected.Order().Distinct(), groups.Order().Distinct());
    }

    [Fact]
    public void PerRequestAuthWorkIsADelegateAndALookup()
    {
        using var server = EchoApiFactory.Start();

        // The authentication handler is per request by design: it must come from a delegate, not from its
        // constructor by reflection (there is no dynamic code to compile that).
        var services = new ServiceCollection();
        services.AddAuthentication().AddPeerCredential();
        var handler = Assert.Single(services, d => d.ServiceType.Name == "PeerCredentialAuthenticationHandler");
        Assert.Equal(ServiceLifetime.Transient, handler.Lifetime);
        Assert.NotNull(handler.ImplementationFactory);

        // The policy evaluator is one object that answers the owner policy from the connection's decision.
        using var first = server.Services.CreateScope();
        using var second = server.Services.CreateScope();
        var evaluator = first.ServiceProvider.GetRequiredService<IPolicyEvaluator>();
        Assert.Equal("PeerCredentialPolicyEvaluator", evaluator.GetType().Name);
        Assert.Same(evaluator, second.ServiceProvider.GetRequiredService<IPolicyEvaluator>());
    }

    [Fact]
    public async Task ForeignUidIsRefusedWith403AndNothingIsEchoed()
    {
        Privileges.RequireRoot("connecting as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll();
        var nobody = Command.AsUser(Privileges.Nobody);

        var (echoStatus, echoBody, echoHeaders) = await Command.CurlAsync(server.SocketPath, "/echo", nobody, ["--data-binary", "top secret payload"]);
        var (whoStatus, whoBody, _) = await Command.CurlAsync(server.SocketPath, "/whoami", nobody);

        Assert.Equal(403, echoStatus);
        Assert.Contains("Content-Type: application/problem+json", echoHeaders, StringComparison.OrdinalIgnoreCase);
        var problem = JsonDocument.Parse(echoBody).RootElement;
        Assert.Equal(403, problem.GetProperty("status").GetInt32());
        Assert.Equal($"uid 65534 is not the owner of this socket (uid {Privileges.EffectiveUserId}).", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("top secret", Encoding.UTF8.GetString(echoBody), StringComparison.Ordinal);

        Assert.Equal(403, whoStatus);
        Assert.Equal(403, JsonDocument.Parse(whoBody).RootElement.GetProperty("status").GetInt32());

        var refusal = Assert.Single(server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Refused POST /echo", StringComparison.Ordinal));
        Assert.Matches(@"uid 65534 gid 65534 pid [1-9]\d* \(/usr/bin/curl\)", refusal.Message);
    }

    [Fact]
    public async Task RefusalsOfOneUidAreLoggedAtMostOnceASecond()
    {
        // The owner is somebody else, so every request of this process is refused: a steady stream of 403s.
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:Owner"] = Privileges.Stranger.ToString(CultureInfo.InvariantCulture) });
        using var client = server.CreateUnixClient();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 50; i++)
        {
            using var response = await client.PostAsync("/echo", new StringContent("x"), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode); // every one is answered
        }

        var seconds = (int)Stopwatch.GetElapsedTime(started).TotalSeconds;
        var logged = server.Logs.Entries.Count(e => e.Message.Contains("Refused POST /echo", StringComparison.Ordinal));
        Assert.InRange(logged, 1, 1 + seconds);

        // The next one logged, a second later, first says how many were left out.
        await Task.Delay(TimeSpan.FromSeconds(1.1), TestContext.Current.CancellationToken);
        using var later = await client.PostAsync("/echo", new StringContent("x"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, later.StatusCode);
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains($"more refusal(s) of uid {Privileges.EffectiveUserId} were not logged", StringComparison.Ordinal));
        Assert.Equal(logged + 1, server.Logs.Entries.Count(e => e.Message.Contains("Refused POST /echo", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AClaimsTransformationCannotChangeWhoThePeerIs()
    {
        Privileges.RequireRoot("connecting as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll(services: s => s.AddTransient<Microsoft.AspNetCore.Authentication.IClaimsTransformation, ClaimToBeRoot>());
        using var client = server.CreateUnixClient();
        var nobody = Command.AsUser(Privileges.Nobody);

        // The transformation says every peer is uid 0 and the owner; /whoami and the policy keep the kernel's word.
        var (status, body, _) = await Command.CurlAsync(server.SocketPath, "/whoami", nobody);
        using var me = JsonDocument.Parse(await client.GetStringAsync("/whoami", Cancel));

        Assert.Equal(403, status);
        Assert.Contains("uid 65534 is not the owner", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.Equal(Privileges.EffectiveUserId, me.RootElement.GetProperty("uid").GetUInt32());
        Assert.True(ClaimToBeRoot.Calls > 0);
    }

    private sealed class ClaimToBeRoot : Microsoft.AspNetCore.Authentication.IClaimsTransformation
    {
        public static int Calls;

        public Task<System.Security.Claims.ClaimsPrincipal> TransformAsync(System.Security.Claims.ClaimsPrincipal principal)
        {
            Interlocked.Increment(ref Calls);
            var transformed = principal.Clone();
            transformed.AddIdentity(new System.Security.Claims.ClaimsIdentity(
                [
                    new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.NameIdentifier, "0"),
                    new System.Security.Claims.Claim(PeerCredentials.Authentication.PeerCredentialClaimTypes.UserId, "0"),
                    new System.Security.Claims.Claim(PeerCredentials.Authentication.PeerCredentialClaimTypes.UserName, "root"),
                ],
                "Transformed"));
            return Task.FromResult(transformed);
        }
    }

    [Fact]
    public async Task ForeignUidMayStillAskForHealth()
    {
        Privileges.RequireRoot("connecting as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll();

        var (status, body, _) = await Command.CurlAsync(server.SocketPath, "/healthz", Command.AsUser(Privileges.Nobody));

        Assert.Equal(200, status);
        Assert.Equal("ok", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task ForeignUidIsRefusedOnUnknownRoutesToo()
    {
        Privileges.RequireRoot("connecting as uid 65534");
        using var server = EchoApiFactory.StartOpenToAll();

        var (status, _, _) = await Command.CurlAsync(server.SocketPath, "/no/such/route", Command.AsUser(Privileges.Nobody));

        Assert.Equal(403, status);
    }

    [Fact]
    public async Task CallerIsRefusedWhenTheOwnerIsAnotherUid()
    {
        // Runs as any user: the test process itself is the foreign peer here. As root, this is the
        // classic rule: not even root gets in when root is not the owner.
        using var server = EchoApiFactory.Start(new Dictionary<string, string?> { ["EchoApi:Owner"] = Privileges.Stranger.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var client = server.CreateUnixClient();

        using var response = await client.PostAsync("/echo", new StringContent("hello"), Cancel);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("detail").GetString();
        Assert.Equal(
            Privileges.IsRoot
                ? "uid 0 (root) is not the owner of this socket (uid 12345), and root is not allowed."
                : $"uid {Privileges.EffectiveUserId} is not the owner of this socket (uid 12345).",
            detail);
    }

    [Fact]
    public async Task RootIsAllowedWhenAllowRootIsSet()
    {
        Privileges.RequireRoot("checking that root passes with AllowRoot");
        using var server = EchoApiFactory.Start(new Dictionary<string, string?>
        {
            ["EchoApi:Owner"] = "12345",
            ["EchoApi:AllowRoot"] = "true",
        });
        using var client = server.CreateUnixClient();

        using var response = await client.PostAsync("/echo", new StringContent("root may"), Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("root may", await response.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task OwnerGivenByUidIsLetInAndItsSupplementaryGroupsArrive()
    {
        Privileges.RequireRoot("connecting as uid 12345 with supplementary groups");
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?> { ["EchoApi:Owner"] = "12345" });

        var (status, body, _) = await Command.CurlAsync(server.SocketPath, "/whoami", Command.AsUser(Privileges.Stranger, 4242, 4343, 0));

        Assert.Equal(200, status);
        var me = JsonDocument.Parse(body).RootElement;
        Assert.Equal(12345u, me.GetProperty("uid").GetUInt32());
        Assert.Equal(12345u, me.GetProperty("gid").GetUInt32());
        Assert.Equal("12345", me.GetProperty("user").GetString()); // no such user: the number stands in
        Assert.True(me.GetProperty("isOwner").GetBoolean());
        var groups = me.GetProperty("groups").EnumerateArray().Select(g => (g.GetProperty("gid").GetUInt32(), g.GetProperty("name").GetString())).ToArray();
        Assert.Equal([(0u, "root"), (4242u, "4242"), (4343u, "4343")], groups.Order());
    }

    [Fact]
    public async Task OwnerMayBeGivenByUserName()
    {
        Privileges.RequireRoot("connecting as the user 'daemon'");
        using var server = EchoApiFactory.StartOpenToAll(new Dictionary<string, string?> { ["EchoApi:Owner"] = "daemon" });

        var (asDaemon, _, _) = await Command.CurlAsync(server.SocketPath, "/whoami", Command.AsUser(1)); // daemon is uid 1 on Debian
        var (asNobody, _, _) = await Command.CurlAsync(server.SocketPath, "/whoami", Command.AsUser(Privileges.Nobody));

        Assert.Equal(200, asDaemon);
        Assert.Equal(403, asNobody);
    }

    private static async Task<string> Id(string flag)
    {
        var result = await Command.RunAsync(["id", flag]);
        Assert.Equal(0, result.ExitCode);
        return result.StdoutText.Trim();
    }
}
