using System.Net.Sockets;
using System.Text;
using EchoApi.Health;

namespace EchoApi.Tests;

/// <summary>
/// <c>--health</c> speaks HTTP/1.0 over the checked socket itself (no HttpClient in the binary): what it
/// sends, and how it reads an answer that is not the service's "ok". The process tests run it against the
/// real service, a squatter and a missing socket.
/// </summary>
public sealed class HealthProbeTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendsOneGetAndReadsTheAnswerToTheEndOfTheConnection()
    {
        var (client, server) = Pair();
        using (client)
        using (server)
        {
            var probe = HealthProbe.GetAsync(client, "/healthz", Cancel);

            var request = await ReadRequestAsync(server);
            Assert.Equal("GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n", request);
            // The body in two sends, then the end of the connection, as an HTTP/1.0 server ends it.
            await server.SendAsync("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\no"u8.ToArray(), SocketFlags.None, Cancel);
            await server.SendAsync("k"u8.ToArray(), SocketFlags.None, Cancel);
            server.Shutdown(SocketShutdown.Send);

            Assert.Equal((200, "ok"), await probe.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
        }
    }

    [Fact]
    public async Task ReportsAStatusThatIsNot200()
    {
        var (client, server) = Pair();
        using (client)
        using (server)
        {
            var probe = HealthProbe.GetAsync(client, "/healthz", Cancel);
            await ReadRequestAsync(server);
            await server.SendAsync("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), SocketFlags.None, Cancel);
            server.Shutdown(SocketShutdown.Send);

            Assert.Equal((503, ""), await probe.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
        }
    }

    [Theory]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")] // the head never ends
    [InlineData("HTTP/1.1 2x0 OK\r\n\r\nok")]
    [InlineData("")]
    public void AnAnswerThatIsNotHttpIsRefused(string answer)
    {
        var refusal = Assert.Throws<InvalidDataException>(() => HealthProbe.Parse(Encoding.ASCII.GetBytes(answer), "/healthz"));
        Assert.Equal("the answer to GET /healthz is not HTTP", refusal.Message);
    }

    [Fact]
    public async Task AnAnswerWithoutEndIsCutOff()
    {
        var (client, server) = Pair();
        using (client)
        using (server)
        {
            var probe = HealthProbe.GetAsync(client, "/healthz", Cancel);
            await ReadRequestAsync(server);
            var chunk = new byte[16 * 1024];
            var refusal = Task.Run(async () => await Assert.ThrowsAsync<InvalidDataException>(async () => await probe), Cancel);
            // The probe stops reading at its bound; sends after that may fail or block, which ends the loop.
            try
            {
                while (!refusal.IsCompleted)
                {
                    using var quick = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
                    quick.CancelAfter(TimeSpan.FromMilliseconds(200));
                    await server.SendAsync(chunk, SocketFlags.None, quick.Token);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
            }

            var exception = await refusal.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
            Assert.Equal("the answer to GET /healthz is over 65536 bytes", exception.Message);
        }
    }

    private static (Socket Client, Socket Server) Pair()
    {
        var directory = Directory.CreateTempSubdirectory("echoapi-health-");
        var path = Path.Combine(directory.FullName, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        var server = listener.Accept();
        directory.Delete(recursive: true);
        return (client, server);
    }

    private static async Task<string> ReadRequestAsync(Socket server)
    {
        var buffer = new byte[1024];
        var length = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (!Encoding.ASCII.GetString(buffer, 0, length).EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await server.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, read);
            length += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, length);
    }
}
