using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerCredentials.Authentication;
using PeerCredentials.Sockets;

namespace PeerCredentials.Tests.Infrastructure;

/// <summary>
/// Real Kestrel on a real Unix socket, through the library's listener, gate, scheme and policy
/// evaluator: for clients whose process is what a policy looks at. <c>GET /</c> answers "ok" under
/// <see cref="StartAsync"/>'s policy.
/// </summary>
public sealed class UnixSocketHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempDirectory _directory;

    private UnixSocketHost(WebApplication app, TempDirectory directory, string socketPath, LogCollector logs)
    {
        _app = app;
        _directory = directory;
        SocketPath = socketPath;
        Logs = logs;
    }

    public string SocketPath { get; }

    public LogCollector Logs { get; }

    public static async Task<UnixSocketHost> StartAsync(Action<AuthorizationPolicyBuilder> policy)
    {
        var directory = new TempDirectory();
        var socketPath = Path.Combine(directory.Path, "api.sock");
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new LogCollector();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddUnixSocketFiles();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocketFile(socketPath, new UnixSocketFileOptions(), listen => listen.UsePeerCredentials()));
        builder.Services.AddAuthentication(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential(o => o.ResolveNames = false);
        builder.Services.AddAuthorization(o =>
        {
            var rule = new AuthorizationPolicyBuilder();
            policy(rule);
            o.FallbackPolicy = rule.Build();
        });
        builder.Services.AddPeerCredentialProblemDetails();
        builder.Services.AddPeerCredentialPolicyEvaluator();
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/", () => "ok");
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new UnixSocketHost(app, directory, socketPath, logs);
    }

    /// <summary><c>GET /</c> with <paramref name="curl"/> (any curl executable): the status and body.</summary>
    public async Task<(int Status, string Body)> CurlAsync(string curl = "/usr/bin/curl")
    {
        var (exitCode, stdout, stderr) = await ClientProcess.RunAsync(curl, "--silent", "--show-error", "--max-time", "30", "--unix-socket", SocketPath, "--write-out", "\n%{http_code}", "http://localhost/");
        Assert.True(exitCode == 0, $"{curl} failed ({exitCode}): {stderr}");
        var split = stdout.LastIndexOf('\n');
        return (int.Parse(stdout[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture), stdout[..split]);
    }

    /// <summary><c>GET /</c> from a python3 process: the status and body.</summary>
    public async Task<(int Status, string Body)> Python3Async()
    {
        const string Script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(30)
            s.connect(sys.argv[1])
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            sys.stdout.write(answer.decode())
            """;
        var (exitCode, stdout, stderr) = await ClientProcess.RunAsync("/usr/bin/python3", "-c", Script, SocketPath);
        Assert.True(exitCode == 0, $"python3 failed ({exitCode}): {stderr}");
        var status = int.Parse(stdout.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, stdout[(stdout.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(TestContext.Current.CancellationToken);
        await _app.DisposeAsync();
        _directory.Dispose();
    }
}
