using System.Net.Sockets;

namespace PeerCredentials.Tests.Infrastructure;

/// <summary>A listening Unix socket of the test's own, in a private directory, for real clients to connect to.</summary>
public sealed class PeerListener : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    public PeerListener()
    {
        Path = System.IO.Path.Combine(_directory.Path, "peer.sock");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _socket.Listen(16);
    }

    public string Path { get; }

    public async Task<Socket> AcceptAsync()
        => await _socket.AcceptAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

    /// <summary>Accepts one connection and reads its peer's credentials as the library's listener does.</summary>
    public async Task<(Socket Connection, PeerCredential Peer)> AcceptPeerAsync()
    {
        var connection = await AcceptAsync();
        return (connection, PeerCredential.Read(connection));
    }

    /// <summary>Skips a test about the peer's process on a kernel that gives no pidfd (SO_PEERPIDFD, before Linux 6.5), saying so.</summary>
    public static async Task RequirePidFdAsync()
    {
        using var listener = new PeerListener();
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(listener.Path), TestContext.Current.CancellationToken);
        var (connection, peer) = await listener.AcceptPeerAsync();
        using (connection)
        using (peer)
        {
            if (!peer.HasProcessHandle)
            {
                Assert.Skip($"Skipped: this kernel ({Environment.OSVersion.Version}) gives no pidfd for a peer (SO_PEERPIDFD needs Linux 6.5), so no peer's process can be known.");
            }
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _directory.Dispose();
    }
}
