using System.Net.Sockets;

namespace EchoApi.Tests.Infrastructure;

/// <summary>Reading a raw socket in tests: exactly so many bytes, or everything up to EOF; each within <see cref="UnixHttp.Timeout"/>.</summary>
public static class SocketReads
{
    public static async Task<byte[]> ReadExactlyAsync(Socket socket, int length, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(UnixHttp.Timeout);
        var buffer = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), timeout.Token);
            Assert.True(n > 0, $"EOF after {read} of {length} bytes: {System.Text.Encoding.UTF8.GetString(buffer, 0, read)}");
            read += n;
        }

        return buffer;
    }

    public static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(UnixHttp.Timeout);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}
