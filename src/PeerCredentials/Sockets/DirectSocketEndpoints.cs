using System.Net;

namespace PeerCredentials.Sockets;

/// <summary>
/// The endpoints whose connections the library's listener hands over as a bare socket instead of Kestrel's
/// socket transport. Kestrel binds the <see cref="EndPoint"/> object of each <c>ListenOptions</c>, so that
/// object is the key.
/// </summary>
internal sealed class DirectSocketEndpoints
{
    private readonly HashSet<EndPoint> _endpoints = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();

    public void Add(EndPoint endpoint)
    {
        lock (_lock)
        {
            _endpoints.Add(endpoint);
        }
    }

    public bool Contains(EndPoint endpoint)
    {
        lock (_lock)
        {
            return _endpoints.Contains(endpoint);
        }
    }
}
