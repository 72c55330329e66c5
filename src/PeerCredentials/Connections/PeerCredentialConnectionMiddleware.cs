using System.Net.Sockets;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;
using PeerCredentials.Authentication;

namespace PeerCredentials;

/// <summary>
/// Reads the peer's credentials once per connection and publishes them as an
/// <see cref="IPeerCredentialFeature"/>; optionally refuses a peer at connect (a policy, a per-uid
/// limit); closes the pidfd when the connection ends.
/// </summary>
internal sealed class PeerCredentialConnectionMiddleware(
    ConnectionDelegate next,
    PeerCredentialConnectionOptions options,
    IAuthorizationService? authorization,
    PeerCredentialPrincipalFactory? principals,
    ILogger logger)
{
    private readonly PeerConnectionCounter? _perUser = options.MaxConnectionsPerUser is { } limit ? new PeerConnectionCounter(limit) : null;
    private readonly PerUserLogThrottle _refusals = new();

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
            if (_perUser is not null && !_perUser.TryAcquire(credential.UserId, out _))
            {
                if (logger.ShouldLogRefusal(_refusals, credential.UserId))
                {
                    logger.TooManyConnections(connection.ConnectionId, credential.UserId, credential.ProcessId, _perUser.Limit);
                }

                await connection.DisposeAsync();
                return;
            }

            try
            {
                if (options.ConnectionPolicy is { } policy && await RefusalAsync(credential, policy) is { } reason)
                {
                    if (logger.ShouldLogRefusal(_refusals, credential.UserId))
                    {
                        logger.RefusedAtConnect(connection.ConnectionId, credential.UserId, credential.GroupId, credential.ProcessId, credential.GetExecutablePath() ?? "unknown", reason);
                    }

                    await connection.DisposeAsync();
                    return;
                }

                logger.PeerConnected(connection.ConnectionId, credential.UserId, credential.GroupId, credential.ProcessId);
                connection.Features.Set<IPeerCredentialFeature>(new PeerCredentialFeature(credential));
                await next(connection);
            }
            finally
            {
                _perUser?.Release(credential.UserId);
            }
        }
    }

    private async Task<string?> RefusalAsync(PeerCredential credential, string policy)
    {
        var result = await authorization!.AuthorizeAsync(principals!.CreatePrincipal(credential), resource: null, policy);
        return result.Succeeded ? null : string.Join("; ", result.Failure?.FailureReasons.Select(r => r.Message) ?? ["the connection policy failed"]);
    }
}
