namespace EchoApi;

/// <summary>The names of the service's authorization policies.</summary>
public static class EchoPolicies
{
    /// <summary>Only the socket's owner (and root, when allowed).</summary>
    public const string Owner = "SocketOwner";
}
