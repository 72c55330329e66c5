using System.Globalization;
using System.Net.Sockets;
using System.Text;
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

    // /healthz answers "ok"; anything near this size is not the service.
    private const int MaxAnswerBytes = 64 * 1024;

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
        // One HTTP/1.0 request on the checked socket, not HttpClient: the probe is the service's only HTTP
        // client, and HttpClient with its TLS and proxy code would add about a megabyte to the native
        // binary, all of it loaded (and its type data rehydrated) at every start of the service itself.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            using var socket = await UnixSocketClient.ConnectAsync(path, UnixAccounts.EffectiveUserId, allowRoot: true, timeout.Token);
            var (status, body) = await GetAsync(socket, "/healthz", timeout.Token);
            if (status != 200)
            {
                await Console.Error.WriteLineAsync($"echoapi: {path} is not healthy: it answered {status} to GET /healthz");
                return 1;
            }

            await Console.Out.WriteLineAsync($"{path}: {body}");
            return body == "ok" ? 0 : 1;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            // A file nobody listens on (left by a killed instance), or an abstract name nobody holds.
            await Console.Error.WriteLineAsync($"echoapi: nothing listens on {path} (is the service running?)");
            return 1;
        }
        catch (UntrustedServerException untrusted)
        {
            await Console.Error.WriteLineAsync($"echoapi: {untrusted.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"echoapi: {path} is not healthy: no answer within 5 seconds");
            return 1;
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"echoapi: {path} is not healthy: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Sends <c>GET <paramref name="target"/></c> as HTTP/1.0 (the server then sends the body as it is and
    /// closes: no chunked encoding to undo) and reads the answer, at most <see cref="MaxAnswerBytes"/>.
    /// </summary>
    internal static async Task<(int Status, string Body)> GetAsync(Socket socket, string target, CancellationToken cancellationToken)
    {
        var request = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n");
        await socket.SendAsync(request, SocketFlags.None, cancellationToken);
        var answer = new byte[MaxAnswerBytes];
        var length = 0;
        int read;
        while ((read = await socket.ReceiveAsync(answer.AsMemory(length), SocketFlags.None, cancellationToken)) > 0)
        {
            length += read;
            if (length == answer.Length)
            {
                throw new InvalidDataException($"the answer to GET {target} is over {MaxAnswerBytes} bytes");
            }
        }

        return Parse(answer.AsSpan(0, length), target);
    }

    /// <summary>The status and the body of a whole HTTP/1.x answer whose body ends where the connection did.</summary>
    internal static (int Status, string Body) Parse(ReadOnlySpan<byte> answer, string target)
    {
        var end = answer.IndexOf("\r\n\r\n"u8);
        // "HTTP/1.x 200 ...": the status is the three digits after the version and a space.
        if (end < 0 || answer.Length < 12 || !answer.StartsWith("HTTP/1."u8) || answer[8] != (byte)' '
            || !int.TryParse(answer.Slice(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new InvalidDataException($"the answer to GET {target} is not HTTP");
        }

        return (status, Encoding.UTF8.GetString(answer[(end + 4)..]));
    }

}
