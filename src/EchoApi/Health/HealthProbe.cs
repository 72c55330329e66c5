using System.Net.Sockets;
using EchoApi.Settings;
using PeerCredentials;
using PeerCredentials.Client;
using PeerCredentials.Sockets;

namespace EchoApi.Health;

/// <summary>
/// <c>EchoApi --health</c>: dials the service's own socket and asks <c>GET /healthz</c>, for container
/// health checks in images that have no shell or curl. Exit code 0 when healthy, 1 otherwise.
/// </summary>
internal static class HealthProbe
{
    public const string Switch = "--health";

    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(args.Where(a => a != Switch).ToArray(), EchoApiSettings.SwitchMappings.ToDictionary())
            .Build();
        var path = configuration[EchoApiSettings.Key(nameof(SocketSettings.SocketPath))];
        if (string.IsNullOrWhiteSpace(path))
        {
            path = SocketSettings.DefaultSocketPath();
        }

        // A socket in a directory that another uid can change may be that uid's, answering "ok" for the service.
        if (UnixSocketPaths.FindUnsafeDirectory(path) is { } problem)
        {
            await Console.Error.WriteLineAsync($"echoapi: {path} is not trusted: {problem}");
            return 1;
        }

        if (!UnixSocketPaths.IsAbstract(path) && !Path.Exists(path))
        {
            await Console.Error.WriteLineAsync($"echoapi: no socket at {path} (is the service running?)");
            return 1;
        }

        // The server must run as this uid (the service's own, when a container or unit asks) or as root:
        // another uid that took the path or the abstract name first is not asked at all.
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = UnixSocketClient.ConnectCallback(path, UnixAccounts.EffectiveUserId, allowRoot: true),
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            var answer = await client.GetStringAsync(new Uri("http://localhost/healthz"));
            await Console.Out.WriteLineAsync($"{path}: {answer}");
            return answer == "ok" ? 0 : 1;
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.AddressNotAvailable })
        {
            // A file nobody listens on (left by a killed instance), or an abstract name nobody holds.
            await Console.Error.WriteLineAsync($"echoapi: nothing listens on {path} (is the service running?)");
            return 1;
        }
        catch (HttpRequestException e) when (e.InnerException is UntrustedServerException untrusted)
        {
            await Console.Error.WriteLineAsync($"echoapi: {untrusted.Message}");
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"echoapi: {path} is not healthy: {e.Message}");
            return 1;
        }
    }
}
