using System.Net;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using PeerCredentials.Authentication;
using PeerCredentials.Authorization;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>
/// Process selectors as written: what each accepts when a policy is built, how it prints (SPIRE's
/// spelling, for the selector parser), and what it says about a peer whose process cannot be known.
/// </summary>
public sealed class ProcessSelectorRuleTests
{
    private const string Sha = "58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef2593";

    [Fact]
    public void SelectorsPrintInSpiresSpelling()
    {
        Assert.Equal("path:/usr/bin/curl", new PeerExecutableRequirement("/usr/bin/curl").ToString());
        Assert.Equal($"sha256:{Sha}", new PeerExecutableHashRequirement(Sha.ToUpperInvariant()).ToString());
        Assert.Equal("label:system_u:system_r:sshd_t:s0", new PeerLabelRequirement("system_u:system_r:sshd_t:s0").ToString());
        Assert.Equal("path:/usr/bin/curl or path:/usr/bin/wget", new PeerExecutableRequirement("/usr/bin/wget", "/usr/bin/curl").ToString());
    }

    [Theory]
    [InlineData("curl", "is not an absolute path")]
    [InlineData("", "is not an absolute path")]
    [InlineData("/usr/bin/../bin/curl", "write /usr/bin/curl")]
    [InlineData("/usr/bin//curl", "write /usr/bin/curl")]
    public void AnExecutablePathTheKernelCouldNeverReportIsRefusedWhenThePolicyIsBuilt(string path, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequirePeerExecutable(path));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequirePeerExecutable());
    }

    [Fact]
    public void AnExecutablePathThroughASymbolicLinkIsRefusedNamingTheRealFile()
    {
        using var directory = new TempDirectory();
        var real = Path.Combine(directory.Path, "tool-1.2");
        var link = Path.Combine(directory.Path, "tool");
        File.WriteAllBytes(real, []);
        File.CreateSymbolicLink(link, "tool-1.2");

        var error = Assert.Throws<ArgumentException>(() => new PeerExecutableRequirement(link));
        Assert.Contains($"leads through a symbolic link to {real}", error.Message, StringComparison.Ordinal);
        Assert.Equal(real, Assert.Single(new PeerExecutableRequirement(real).Paths));

        // A path that does not exist yet (installed later) is taken as written.
        Assert.Equal("/opt/not-yet/tool", Assert.Single(new PeerExecutableRequirement("/opt/not-yet/tool").Paths));
    }

    [Theory]
    [InlineData("58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef259")] // 63 digits
    [InlineData("58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef25933")] // 65
    [InlineData("58824afa640f512e07e895c0f2d1e1fe2c3fd1456acab689b6e4c1c75cef259g")]
    [InlineData("")]
    public void AHashThatIsNot64HexDigitsIsRefusedWhenThePolicyIsBuilt(string hash)
    {
        var error = Assert.Throws<ArgumentException>(() => new AuthorizationPolicyBuilder().RequirePeerExecutableHash(hash));
        Assert.Contains($"'{hash}' is not a sha256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APeerWhoseProcessCannotBeKnownHasNoProcessFactsAndEveryRuleSaysWhy()
    {
        // pid 0: the peer is in a pid namespace this process cannot see into.
        using var hidden = new PeerCredential(0, 1000, 1000);
        Assert.Null(hidden.GetExecutablePath());
        Assert.Null(hidden.GetExecutableSha256());
        Assert.False(hidden.IsRelay());
        Assert.Equal("the peer's executable cannot be known: the peer's process is not visible in this pid namespace (pid 0)", new PeerExecutableRequirement("/usr/bin/curl").Check(hidden));
        Assert.Equal("the sha256 of the peer's executable cannot be known: the peer's process is not visible in this pid namespace (pid 0)", new PeerExecutableHashRequirement(Sha).Check(hidden));

        // A pid but no pidfd: nothing ties the pid to the peer, so it is not looked up at all (this very
        // process's pid, whose executable would otherwise be found).
        using var unpinned = new PeerCredential(Environment.ProcessId, 1000, 1000);
        Assert.Null(unpinned.GetExecutablePath());
        Assert.Contains("no pidfd pins the peer's process", new PeerExecutableRequirement("/usr/bin/curl").Check(unpinned), StringComparison.Ordinal);

        // Not known to be a relay is all it is.
        Assert.Null(new PeerNotRelayRequirement().Check(unpinned));
    }

    [Theory]
    [InlineData("system_u:system_r:unconfined_t:s0\0", "system_u:system_r:unconfined_t:s0")] // SELinux ends it with a NUL
    [InlineData("unconfined", "unconfined")]
    [InlineData("/usr/bin/curl (enforce)\0\0", "/usr/bin/curl (enforce)")]
    [InlineData("\0", null)]
    [InlineData("", null)]
    public void ASecurityLabelIsTheTextBeforeTrailingNulsAndNothingIsNoLabel(string raw, string? label)
    {
        Assert.Equal(label, PeerCredential.ParseSecurityLabel(Encoding.UTF8.GetBytes(raw)));
    }

    [Fact]
    public void AnEmptySecurityLabelIsNoLabel()
    {
        using var peer = new PeerCredential(1, 1000, 1000, securityLabel: "");
        Assert.Null(peer.SecurityLabel);
        Assert.Equal("the peer has no security label (no LSM labels this socket)", new PeerLabelRequirement("unconfined").Check(peer));
        Assert.Throws<ArgumentException>(() => new PeerLabelRequirement(""));
    }

    [Fact]
    public async Task ALabelRuleAdmitsThatLabelOnlyAndTheLabelIsAClaim()
    {
        await using var host = await PeerHost.StartAsync(
            services =>
            {
                services.AddAuthentication(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential(o => o.ResolveNames = false);
                services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequirePeerLabel("system_u:system_r:sshd_t:s0").Build());
                services.AddPeerCredentialProblemDetails();
                services.AddPeerCredentialPolicyEvaluator();
            },
            app => app.MapGet("/", (HttpContext context) => context.User.GetPeerIdentity()?.Value(PeerCredentialClaimTypes.SecurityLabel) ?? "none"));

        var admitted = await host.SendAsync("GET", "/", new FakeConnection(new PeerCredential(1, 1000, 1000, securityLabel: "system_u:system_r:sshd_t:s0")));
        var other = await host.SendAsync("GET", "/", new FakeConnection(new PeerCredential(1, 1000, 1000, securityLabel: "system_u:system_r:httpd_t:s0")));
        var none = await host.SendAsync("GET", "/", new FakeConnection(1000));

        Assert.Equal((HttpStatusCode.OK, "system_u:system_r:sshd_t:s0"), (admitted.Status, admitted.Body));
        Assert.Equal(HttpStatusCode.Forbidden, other.Status);
        Assert.Contains("security label 'system_u:system_r:httpd_t:s0' is not 'system_u:system_r:sshd_t:s0'", other.Body, StringComparison.Ordinal);
        Assert.Contains("the peer has no security label", none.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/usr/bin/socat", true)]
    [InlineData("/usr/bin/socat (deleted)", true)] // upgraded while it ran: still socat
    [InlineData("/usr/bin/nc.openbsd", true)]
    [InlineData("/usr/lib/systemd/systemd-socket-proxyd", true)]
    [InlineData("/usr/sbin/sshd", true)]
    [InlineData("/usr/bin/curl", false)]
    [InlineData("/usr/bin/socat2", false)]
    [InlineData("/home/me/socat/tool", false)] // a directory's name is not the program's
    [InlineData("/usr/bin/SOCAT", false)]
    public void RelaysAreKnownByTheExecutablesFileName(string path, bool relay)
    {
        Assert.Equal(relay, PeerRelays.IsRelay(path));
    }

    [Fact]
    public void TheRelayListIsConfigurable()
    {
        Assert.True(PeerRelays.IsRelay("/opt/bridge/my-proxy", new HashSet<string> { "my-proxy" }));
        Assert.False(PeerRelays.IsRelay("/usr/bin/socat", new HashSet<string> { "my-proxy" }));
        Assert.Equal(10, PeerRelays.DefaultNames.Count);
    }
}
