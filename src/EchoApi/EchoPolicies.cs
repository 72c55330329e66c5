namespace EchoApi;

/// <summary>The names of the service's authorization policies.</summary>
public static class EchoPolicies
{
    /// <summary>
    /// Who may use the service: the socket's owner (and root, when allowed), the members of
    /// <c>EchoApi:SocketGroup</c>, and whoever a rule of <c>EchoApi:Allow</c> admits.
    /// </summary>
    public const string Access = "EchoApiAccess";
}
