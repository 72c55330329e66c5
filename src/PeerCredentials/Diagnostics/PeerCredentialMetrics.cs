using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using PeerCredentials.Authorization;

namespace PeerCredentials;

/// <summary>
/// The library's counters (<see cref="PeerCredentialMetricNames"/>). Counting sits on the path of every
/// connection and every authorized request, so it is shaped to cost nothing that matters: when no one
/// listens, a test of <see cref="Instrument.Enabled"/>; when someone does, one tag passed as a
/// <see cref="KeyValuePair{TKey, TValue}"/> (no array), whose value is a string that already exists (a
/// constant, or the policy's tag, worked out once per policy object).
/// </summary>
internal sealed class PeerCredentialMetrics
{
    public const string ConnectRate = "connect_rate";
    public const string UserConnectionLimit = "user_connection_limit";
    public const string UntrustedConnectionLimit = "untrusted_connection_limit";
    public const string NotAuthorized = "not_authorized";
    public const string UnreadableCredentials = "unreadable_credentials";

    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _authorized;
    private readonly Counter<long> _denied;

    // The tag of each policy the evaluator has seen ("" for one that is not the library's). The
    // authorization middleware combines one policy object per endpoint and keeps it, so a policy object
    // stands for its endpoint's name; working the tag out (endpoint metadata, a type's name) costs about
    // 60 ns, looking it up here about a third of that.
    private readonly ConditionalWeakTable<AuthorizationPolicy, string> _tags = [];

    /// <param name="meterFactory">The host's factory, so that each host (and each test) has a meter of its own, disposed with it.</param>
    public PeerCredentialMetrics(IMeterFactory meterFactory)
        : this(meterFactory.Create(PeerCredentialMetricNames.Meter))
    {
    }

    private PeerCredentialMetrics(Meter meter)
    {
        _accepted = meter.CreateCounter<long>(PeerCredentialMetricNames.AcceptedConnections, "{connection}",
            "Connections the peer-credential gate let through.");
        _refused = meter.CreateCounter<long>(PeerCredentialMetricNames.RefusedConnections, "{connection}",
            "Connections the peer-credential gate closed, by reason.");
        _authorized = meter.CreateCounter<long>(PeerCredentialMetricNames.AuthorizedRequests, "{request}",
            "Requests a peer-credential policy let through, by policy.");
        _denied = meter.CreateCounter<long>(PeerCredentialMetricNames.DeniedRequests, "{request}",
            "Requests a peer-credential policy or the local request guard refused, by policy.");
    }

    /// <summary>For a gate or guard built without the host's services: one meter of the process's, never disposed.</summary>
    public static PeerCredentialMetrics Process { get; } = new(new Meter(PeerCredentialMetricNames.Meter));

    /// <summary>The counters on <paramref name="meterFactory"/>'s meter, or <see cref="Process"/>'s without one.</summary>
    public static PeerCredentialMetrics Create(IMeterFactory? meterFactory) => meterFactory is null ? Process : new(meterFactory);

    public void ConnectionAccepted() => _accepted.Add(1);

    /// <param name="reason">One of this class's constants.</param>
    public void ConnectionRefused(string reason)
        => _refused.Add(1, new KeyValuePair<string, object?>(PeerCredentialMetricNames.RefusalReasonTag, reason));

    public void ConnectionRefused(PeerRefusalReason reason) => ConnectionRefused(Tag(reason));

    /// <summary>Counts one request decided by <paramref name="policy"/>, if it is a peer-credential policy.</summary>
    public void RequestDecided(AuthorizationPolicy policy, HttpContext context, bool authorized)
    {
        var counter = authorized ? _authorized : _denied;
        if (counter.Enabled)
        {
            Count(counter, policy, context);
        }
    }

    // Out of line, so that the test of Enabled above is all that is inlined into a request's path.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Count(Counter<long> counter, AuthorizationPolicy policy, HttpContext context)
    {
        if (!_tags.TryGetValue(policy, out var tag))
        {
            tag = PolicyTag(policy, context) ?? string.Empty;
            _tags.TryAdd(policy, tag);
        }

        if (tag.Length > 0)
        {
            counter.Add(1, new KeyValuePair<string, object?>(PeerCredentialMetricNames.PolicyTag, tag));
        }
    }

    /// <summary>Counts one request refused by something other than a policy (the local request guard).</summary>
    public void RequestDenied(string rule)
        => _denied.Add(1, new KeyValuePair<string, object?>(PeerCredentialMetricNames.PolicyTag, rule));

    public static string Tag(PeerRefusalReason reason) => reason switch
    {
        PeerRefusalReason.UserConnectionLimit => UserConnectionLimit,
        PeerRefusalReason.UntrustedConnectionLimit => UntrustedConnectionLimit,
        _ => NotAuthorized,
    };

    /// <summary>
    /// The policy's name when the endpoint names exactly one, else the type of its first
    /// <see cref="PeerCredentialRequirement"/>; <see langword="null"/> for a policy without one, which is
    /// not the library's to count. The same for a request let through and one refused, so that the two
    /// counters can be set side by side.
    /// </summary>
    public static string? PolicyTag(AuthorizationPolicy policy, HttpContext context)
    {
        // Indexed, not foreach: an interface's enumerator would be an allocation per request.
        var requirements = policy.Requirements;
        for (var i = 0; i < requirements.Count; i++)
        {
            if (requirements[i] is PeerCredentialRequirement requirement)
            {
                return PolicyName(context) ?? requirement.GetType().Name;
            }
        }

        return null;
    }

    /// <summary>What a refusal log names as the rule that failed: <see cref="PolicyTag"/>, or the policy's first requirement.</summary>
    public static string Rule(AuthorizationPolicy policy, HttpContext context)
        => PolicyTag(policy, context) ?? PolicyName(context) ?? (policy.Requirements.Count > 0 ? policy.Requirements[0].GetType().Name : "policy");

    // The fallback policy (no [Authorize] on the endpoint, or no endpoint at all) and a combination of
    // several named policies have no one name.
    private static string? PolicyName(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>() is not { Count: > 0 } data)
        {
            return null;
        }

        string? name = null;
        for (var i = 0; i < data.Count; i++)
        {
            var policy = data[i].Policy;
            if (string.IsNullOrEmpty(policy) || string.Equals(policy, name, StringComparison.Ordinal))
            {
                continue;
            }

            if (name is not null)
            {
                return null;
            }

            name = policy;
        }

        return name;
    }
}
