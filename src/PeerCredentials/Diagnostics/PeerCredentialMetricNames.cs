namespace PeerCredentials;

/// <summary>
/// The names of the library's metrics (<see cref="System.Diagnostics.Metrics"/>), for
/// <c>dotnet-counters monitor --counters PeerCredentials</c> or OpenTelemetry's <c>AddMeter(…)</c>. They
/// follow OpenTelemetry's conventions as Kestrel's own do (<c>kestrel.rejected_connections</c>): a
/// namespace, then what is counted; tags are namespaced too, and their values are snake_case words or
/// policy names, a handful per service.
/// </summary>
public static class PeerCredentialMetricNames
{
    /// <summary>The meter: <c>PeerCredentials</c>.</summary>
    public const string Meter = "PeerCredentials";

    /// <summary>Counter (<c>{connection}</c>): connections the gate let through, on every <c>UsePeerCredentials()</c> endpoint.</summary>
    public const string AcceptedConnections = "peercredentials.accepted_connections";

    /// <summary>
    /// Counter (<c>{connection}</c>): connections the gate closed, tagged with
    /// <see cref="RefusalReasonTag"/>: <c>connect_rate</c>, <c>user_connection_limit</c>,
    /// <c>untrusted_connection_limit</c>, <c>not_authorized</c> (the endpoint's connect-time policy) or
    /// <c>unreadable_credentials</c>.
    /// </summary>
    public const string RefusedConnections = "peercredentials.refused_connections";

    /// <summary>
    /// Counter (<c>{request}</c>): requests a policy with a <c>PeerCredentialRequirement</c> let through,
    /// tagged with <see cref="PolicyTag"/>. Counted per request by the peer-credential policy evaluator
    /// (<c>AddPeerCredentialPolicyEvaluator()</c>), also when its decision comes from the connection's cache.
    /// </summary>
    public const string AuthorizedRequests = "peercredentials.authorized_requests";

    /// <summary>
    /// Counter (<c>{request}</c>): requests such a policy refused (401 or 403), and requests the local
    /// request guard refused (<c>LocalRequestGuard.Host</c>, <c>LocalRequestGuard.Origin</c>), tagged with
    /// <see cref="PolicyTag"/>.
    /// </summary>
    public const string DeniedRequests = "peercredentials.denied_requests";

    /// <summary>The tag of <see cref="RefusedConnections"/>: why the gate closed the connection.</summary>
    public const string RefusalReasonTag = "peercredentials.refusal_reason";

    /// <summary>
    /// The tag of <see cref="AuthorizedRequests"/> and <see cref="DeniedRequests"/>: the policy's name
    /// when the endpoint names exactly one, else the type of the policy's first peer-credential
    /// requirement (<c>SocketOwnerRequirement</c>).
    /// </summary>
    public const string PolicyTag = "peercredentials.policy";
}
