using System.Net.Sockets;

namespace PeerCredentials.Sockets;

/// <summary>
/// The socket of a connection that no transport reads or writes: present on the connections of an endpoint
/// set up with <c>UseDirectSocket()</c>, whose handler does its own receives and sends on it.
/// </summary>
public interface IDirectSocketFeature
{
    /// <summary>The connected socket. The connection owns it: the handler must not dispose it.</summary>
    Socket Socket { get; }
}
