using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// Claims every endpoint that is not a Unix stream socket, and refuses to bind it: a TCP listener,
/// whether from Kestrel's configuration (<c>Kestrel:Endpoints</c>), from <c>--urls</c> with
/// <c>PreferHostingUrls</c>, or handed over by systemd, would serve requests that carry no peer
/// credentials. Registered last, it is the first transport Kestrel asks, so no such socket is ever made;
/// the start fails with a message that names the endpoint.
/// </summary>
internal sealed class UnixOnlyListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint switch
    {
        UnixDomainSocketEndPoint => false,
        FileHandleEndPoint handle => !Libc.IsUnixStreamSocket(handle.FileHandle),
        _ => true,
    };

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var what = endpoint switch
        {
            FileHandleEndPoint handle => $"inherited descriptor {handle.FileHandle}, which is not a Unix stream socket (a socket unit's ListenStream= must be a path or @name)",
            IPEndPoint or DnsEndPoint => $"{endpoint} (TCP; from Kestrel:Endpoints, or --urls/ASPNETCORE_URLS with PreferHostingUrls)",
            _ => $"{endpoint} ({endpoint.GetType().Name})",
        };
        throw new IOException($"Refusing to listen on {what}: this service serves Unix sockets only, where the kernel names every peer; remove that listener.");
    }
}
