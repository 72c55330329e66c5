namespace EchoApi.Settings;

/// <summary>Who may use the service, and how a stranger is turned away.</summary>
public sealed class AccessSettings
{
    /// <summary>The user (uid or name) whose processes may use the service.</summary>
    /// <value>Defaults to <see langword="null"/>: the uid the service runs as.</value>
    public string? Owner { get; set; }

    /// <summary>Whether root may use the service when root is not the owner.</summary>
    /// <value>Defaults to <see langword="false"/>: not even root gets in.</value>
    public bool AllowRoot { get; set; }

    /// <summary>Whether a peer that fails the owner policy is closed at connect, before any HTTP byte is parsed.</summary>
    /// <value>Defaults to <see langword="false"/>: it gets a 403 that explains why.</value>
    public bool RefuseAtConnect { get; set; }

    /// <summary>
    /// Host names (or IP addresses, IPv6 in brackets) that requests may name in <c>Host</c> besides
    /// localhost, 127.0.0.1 and [::1], on any port; any other gets 421, since a web page that rebinds its
    /// name to this machine sends its own. Not ASP.NET Core's top-level <c>AllowedHosts</c>, whose usual
    /// <c>*</c> would let every name in.
    /// </summary>
    /// <value>Defaults to none.</value>
    public IList<string> AllowedHostNames { get; } = [];

    /// <summary>
    /// Whether a peer whose executable is a known relay (<see cref="RelayExecutables"/>) is refused, the owner's
    /// own <c>socat</c> bridge too: its credentials describe the relay, not the client behind it.
    /// </summary>
    /// <value>Defaults to <see langword="false"/>: relays are served, and logged as relayed.</value>
    public bool RefuseRelays { get; set; }

    /// <summary>The executable file names that count as relays (<c>socat</c>, <c>nc</c>, <c>ssh</c>, …).</summary>
    /// <value>Defaults to none given: the library's list, <see cref="PeerCredentials.PeerRelays.DefaultNames"/>.</value>
    public IList<string> RelayExecutables { get; } = [];

    /// <summary>
    /// Who else may use the service: rules, each a list of selectors in SPIRE's spelling that must all match
    /// (<c>uid:1000</c>, <c>user:alice</c>, <c>gid:27</c>, <c>group:docker</c>), tried after the owner. An item that
    /// is one selector is a rule of one. Read by hand from <c>EchoApi:Allow</c> (an item may be a text or a list,
    /// which the binder cannot take), when the settings are resolved.
    /// </summary>
    /// <value>Defaults to none: the owner only.</value>
    internal List<IReadOnlyList<string>> Allow { get; } = [];

    /// <summary>The owner's uid, resolved from <see cref="Owner"/> at start; <see cref="OwnerResolves"/> says whether it did.</summary>
    internal uint OwnerUserId { get; set; }

    /// <summary>Whether <see cref="Owner"/> names a uid or a user; validation stops the start when it does not.</summary>
    internal bool OwnerResolves { get; set; }

    /// <summary>The uids the gate's limits protect rather than limit: the owner, and root when allowed.</summary>
    internal IEnumerable<uint> TrustedUserIds()
    {
        yield return OwnerUserId;
        if (AllowRoot)
        {
            yield return 0;
        }
    }
}
