using System.Net.Http;
using System.Net.Sockets;
using PeerCredentials.Sockets;

namespace PeerCredentials.Client;

/// <summary>
/// Dials a Unix socket and checks, before a byte is sent, that the server is who the client expects.
/// The kernel reports the credentials of the process that made the listening socket (<c>SO_PEERCRED</c>
/// works from the client's side too), so a process of another uid that took the path or the abstract
/// name first (socket squatting: while the service is down, anyone can bind its abstract name) is
/// refused instead of being handed the request.
/// </summary>
public static class UnixSocketClient
{
    /// <summary>
    /// Connects to <paramref name="path"/> (a file path, or <c>@name</c> for an abstract socket) and returns
    /// the connected socket once the server's uid is <paramref name="expectedServerUserId"/> (or 0, when
    /// <paramref name="allowRoot"/>).
    /// </summary>
    /// <exception cref="UntrustedServerException">The server runs as another uid, or its credentials cannot be read.</exception>
    /// <exception cref="SocketException">Nothing listens there.</exception>
    public static async ValueTask<Socket> ConnectAsync(string path, uint expectedServerUserId, bool allowRoot = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        PeerCredential.EnsureSupported();
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(UnixSocketPaths.ToEndPoint(path), cancellationToken);
            if (PeerCredential.ReadUcred(socket) is not { } server)
            {
                throw new UntrustedServerException($"The credentials of the server at {path} cannot be read; refusing to talk to it.");
            }

            if (server.UserId != expectedServerUserId && !(allowRoot && server.UserId == 0))
            {
                throw new UntrustedServerException(
                    $"The server at {path} runs as uid {server.UserId} (pid {server.ProcessId}), not as uid {expectedServerUserId}{(allowRoot ? " or root" : "")}; refusing to talk to it (another process may have taken the socket).");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that dials <paramref name="path"/> whatever the
    /// request's host, through <see cref="ConnectAsync"/>: an <see cref="HttpClient"/> on it talks only to a
    /// server running as <paramref name="expectedServerUserId"/> (or root, when <paramref name="allowRoot"/>).
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback(string path, uint expectedServerUserId, bool allowRoot = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return async (_, cancellationToken) => new NetworkStream(await ConnectAsync(path, expectedServerUserId, allowRoot, cancellationToken), ownsSocket: true);
    }
}
