using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace PeerCredentials;

/// <summary>
/// The gate at one endpoint: takes the credentials the listener read at <c>accept()</c> (or reads them,
/// for a listener that is not the library's), lets the gate count the connection and ask the endpoint's
/// policy, publishes the credentials as an <see cref="IPeerCredentialFeature"/>, and closes the pidfd when
/// the connection ends.
/// </summary>
internal sealed class PeerCredentialConnectionMiddleware(
    ConnectionDelegate next,
    PeerCredentialGate gate,
    PeerCredentialConnectionOptions options,
    ILogger logger)
{
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        // The library's listener read the credentials at accept() and published them already.
        var published = connection.Features.Get<IPeerCredentialFeature>()?.Credential;
        var credential = published ?? ReadCredential(connection);
        if (credential is null)
        {
            if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { AddressFamily: AddressFamily.Unix })
            {
                // Fail closed: a Unix socket peer whose identity cannot be read gets no service at all.
                await connection.DisposeAsync();
                return;
            }

            // No peer credentials to read (TCP, or a transport without sockets): requests carry no
            // credential feature, so authentication yields no identity.
            logger.NotAUnixSocket(connection.ConnectionId);
            await next(connection);
            return;
        }

        using (credential)
        {
            if (!Thread.CurrentThread.IsThreadPoolThread)
            {
                // The gate's decision may block: the endpoint's rules can read /proc, hash an executable or
                // ask the user database, and a refusal's log line reads the executable's path. None of that
                // may run on an I/O thread (each of the runtime's epoll threads serves many sockets).
                // Kestrel starts every connection on the thread pool, so this costs nothing there; it holds
                // the line for a server or transport that starts connections inline.
                await Task.Yield();
            }

            if (gate.Enter(credential, options.AuthorizePeer, connection.ConnectionId, connection.LocalEndPoint) is { } refusal)
            {
                if (options.OnRefused is { } onRefused)
                {
                    await onRefused(connection, refusal);
                }

                await connection.DisposeAsync();
                return;
            }

            try
            {
                if (published is null)
                {
                    connection.Features.Set<IPeerCredentialFeature>(new PeerCredentialFeature(credential));
                }

                await next(connection);
            }
            finally
            {
                gate.Leave(credential);
            }
        }
    }

    private PeerCredential? ReadCredential(ConnectionContext connection)
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { AddressFamily: AddressFamily.Unix } socket)
        {
            return null;
        }

        // A listener other than the library's (Kestrel's own ListenUnixSocket): the gate's accept-time
        // decision has not run, so run it here.
        var decision = gate.Accept(socket, out var credential);
        return decision == AcceptDecision.Admit ? credential : null;
    }
}
