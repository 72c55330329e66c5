using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>The problem-details answers are opt-in and only for peer-credential policies: a second scheme keeps its own 401 and 403.</summary>
public sealed class ResultHandlerTests
{
    private const string Header = "HeaderToken";

    [Fact]
    public async Task ASecondSchemeKeepsItsOwn401And403()
    {
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                AuthenticationTests.AddOwnerOnly(services);
                services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, HeaderHandler>(Header, null);
                services.AddAuthorization(o => o.AddPolicy("Admins", p => p.AddAuthenticationSchemes(Header).RequireAuthenticatedUser().RequireClaim("role", "admin")));
            },
            app =>
            {
                app.MapGet("/peer", () => "ok");
                app.MapGet("/admin", () => "ok").RequireAuthorization("Admins");
            });

        var noToken = await host.SendAsync("GET", "/admin", connection: null);
        var notAdmin = await host.SendAsync("GET", "/admin", connection: null, r => r.Headers["X-Role"] = "user");
        var admin = await host.SendAsync("GET", "/admin", connection: null, r => r.Headers["X-Role"] = "admin");
        var stranger = await host.SendAsync("GET", "/peer", new FakeConnection(1234));

        // The other scheme's own answers: its challenge and its forbid, no problem body of ours, no refusal log.
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.Status);
        Assert.Equal("Bearer realm=\"test\"", HeaderHandler.LastChallenge);
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.Status);
        Assert.Empty(notAdmin.Body);
        Assert.Equal(HttpStatusCode.OK, admin.Status);
        Assert.DoesNotContain(host.Logs.Warnings, w => w.Contains("/admin", StringComparison.Ordinal));

        // The peer-credential policy's: problem details saying why, 403 for a stranger and 401 for a request
        // that came with no peer credentials at all (not over a Unix socket).
        Assert.Equal(HttpStatusCode.Forbidden, stranger.Status);
        Assert.Equal("application/problem+json", stranger.ContentType);
        var noPeer = await host.SendAsync("GET", "/peer", connection: null);
        Assert.Equal(HttpStatusCode.Unauthorized, noPeer.Status);
        Assert.Equal("application/problem+json", noPeer.ContentType);
    }

    [Fact]
    public async Task WithoutTheOptInRefusalsAreTheFrameworksPlain403()
    {
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                services.AddAuthentication(PeerCredentials.Authentication.PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential();
                services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireSocketOwner(1000).Build());
            },
            app => app.MapGet("/", () => "ok"));

        var stranger = await host.SendAsync("GET", "/", new FakeConnection(1234));

        Assert.Equal(HttpStatusCode.Forbidden, stranger.Status);
        Assert.Empty(stranger.Body);
    }

    private sealed class HeaderHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public static string? LastChallenge { get; private set; }

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue("X-Role", out var role))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim("role", role.ToString())], Header);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Header)));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            LastChallenge = "Bearer realm=\"test\"";
            Response.Headers.WWWAuthenticate = LastChallenge;
            return base.HandleChallengeAsync(properties);
        }
    }
}
