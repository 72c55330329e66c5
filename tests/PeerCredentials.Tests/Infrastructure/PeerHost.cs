using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PeerCredentials.Tests.Infrastructure;

/// <summary>
/// A real ASP.NET Core pipeline (authentication, authorization, endpoints) on the in-memory test
/// server. There is no socket, so each request is given the credential feature a connection would
/// carry: the fake is the kernel's answer, and everything after it is the library's real code.
/// </summary>
public sealed class PeerHost : IAsyncDisposable
{
    private readonly IHost _host;

    private PeerHost(IHost host, LogCollector logs)
    {
        _host = host;
        Logs = logs;
    }

    public IServiceProvider Services => _host.Services;

    public LogCollector Logs { get; }

    public static async Task<PeerHost> StartAsync(Action<IServiceCollection> services, Action<WebApplication> endpoints, bool validateScopes = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        // What the Development environment turns on: a scoped service resolved from the root provider throws.
        builder.Host.UseDefaultServiceProvider(provider => provider.ValidateScopes = validateScopes);
        var logs = new LogCollector();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        services(builder.Services);
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        endpoints(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new PeerHost(app, logs);
    }

    /// <summary>Sends a request as if on a connection whose peer is <paramref name="connection"/> (none: not a Unix socket).</summary>
    public async Task<Answer> SendAsync(string method, string path, FakeConnection? connection, Action<HttpRequest>? request = null)
    {
        var context = await _host.GetTestServer().SendAsync(
            c =>
            {
                c.Request.Method = method;
                c.Request.Path = path;
                if (connection is not null)
                {
                    c.Features.Set<IPeerCredentialFeature>(connection);
                }

                request?.Invoke(c.Request);
            },
            TestContext.Current.CancellationToken);
        using var reader = new StreamReader(context.Response.Body);
        return new Answer((HttpStatusCode)context.Response.StatusCode, context.Response.ContentType, await reader.ReadToEndAsync(TestContext.Current.CancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TestContext.Current.CancellationToken);
        _host.Dispose();
    }
}

/// <summary>What one request got back.</summary>
public sealed record Answer(HttpStatusCode Status, string? ContentType, string Body);

/// <summary>One connection's peer, as the gate would publish it.</summary>
public sealed class FakeConnection(PeerCredential credential) : IPeerCredentialFeature
{
    public FakeConnection(uint uid, uint gid = 100, int pid = 4242, IReadOnlyList<uint>? groups = null)
        : this(new PeerCredential(pid, uid, gid, groups))
    {
    }

    public PeerCredential Credential { get; } = credential;
}
