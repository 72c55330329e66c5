using System.Net.Sockets;

namespace EchoApi.Tests.Infrastructure;

/// <summary>HttpClient and raw sockets that dial a Unix socket.</summary>
public static class UnixHttp
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static HttpClient CreateClient(string socketPath, bool expectContinue = false)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = await ConnectAsync(socketPath, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = Timeout };
        client.DefaultRequestHeaders.ExpectContinue = expectContinue;
        return client;
    }

    public static async Task<Socket> ConnectAsync(string socketPath, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
