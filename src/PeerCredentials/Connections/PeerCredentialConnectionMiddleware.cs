using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace PeerCredentials;

/// <summary>
/// Reads the peer's credentials once per connection and publishes them as an
/// <see cref="IPeerCredentialFeature"/>; closes the pidfd when the connection ends.
/// </summary>
internal sealed class PeerCredentialConnectionMiddleware(ConnectionDelegate next, ILogger logger)
{
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is null || socket.AddressFamily != AddressFamily.Unix)
        {
            // No peer credentials to read (TCP, or a transport without sockets): requests carry no
            // credential feature, so authentication yields no identity.
            logger.NotAUnixSocket(connection.ConnectionId);
            await next(connection);
            return;
        }

        PeerCredential credential;
        try
        {
            credential = PeerCredential.Read(socket);
        }
        catch (SocketException e)
        {
            // Fail closed: a Unix socket peer whose identity cannot be read gets no service at all.
            logger.CredentialsUnreadable(connection.ConnectionId, e.SocketErrorCode, e);
            await connection.DisposeAsync();
            return;
        }

        using (credential)
        {
            logger.PeerConnected(connection.ConnectionId, credential.UserId, credential.GroupId, credential.ProcessId);
            connection.Features.Set<IPeerCredentialFeature>(new PeerCredentialFeature(credential));
            await next(connection);
        }
    }
}
