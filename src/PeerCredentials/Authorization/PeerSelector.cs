using System.Globalization;

namespace PeerCredentials.Authorization;

/// <summary>
/// Selectors in SPIRE's spelling (<c>kind:value</c>), each turned into the <see cref="PeerCredentialRequirement"/>
/// it stands for: <c>uid:1000</c>, <c>user:alice</c>, <c>gid:27</c>, <c>group:docker</c>, <c>path:/usr/bin/curl</c>,
/// <c>sha256:…</c> (of the executable), <c>label:…</c> (the LSM label). A <see cref="PeerRule"/>
/// is a set of them that must all match.
/// </summary>
/// <remarks>
/// Names are resolved when the selector is parsed, so a typo stops a service at start rather than
/// refusing everyone later; decisions are then made on the kernel's numbers. The kernel's overflow ids
/// (65534: what every unmapped peer of another user namespace looks like) can be meant only as numbers.
/// Each requirement renders back to its selector text (<see cref="object.ToString"/>).
/// </remarks>
public static class PeerSelector
{
    // The kinds, in the order an error lists them. A factory takes the value (never empty, no spaces
    // around it) and throws ArgumentException or FormatException saying what is wrong with it (Parse
    // puts the selector in front); the requirement it returns renders as "kind:value" (ToString).
    private static readonly Dictionary<string, Func<string, PeerCredentialRequirement>> Factories = new(StringComparer.Ordinal)
    {
        ["uid"] = static value => new PeerUserRequirement([Number(value, "uid", "user")], "uid:" + value),
        ["user"] = static value => new PeerUserRequirement([Name(value, "user", "uid", UnixAccounts.TryResolveUserId, UnixAccounts.OverflowUserId)], "user:" + value),
        ["gid"] = static value => new PeerGroupRequirement([Number(value, "gid", "group")], "gid:" + value),
        ["group"] = static value => new PeerGroupRequirement([Name(value, "group", "gid", UnixAccounts.TryResolveGroupId, UnixAccounts.OverflowGroupId)], "group:" + value),
        ["path"] = static value => new PeerExecutableRequirement(value),
        ["sha256"] = static value => new PeerExecutableHashRequirement(value),
        ["label"] = static value => new PeerLabelRequirement(value),
    };

    /// <summary>The selector kinds <see cref="Parse"/> knows (<c>uid</c>, <c>user</c>, <c>gid</c>, <c>group</c>, …).</summary>
    public static IReadOnlyCollection<string> Kinds => Factories.Keys;

    /// <summary>Turns one selector into the requirement it stands for, resolving names now.</summary>
    /// <param name="selector">
    /// <c>uid:1000</c>, <c>user:alice</c>, <c>gid:27</c>, <c>group:docker</c>, <c>path:/usr/bin/curl</c>, <c>sha256:…</c>
    /// or <c>label:…</c>. Kinds are lowercase; the
    /// selector may have spaces around it, not inside.
    /// </param>
    /// <returns>A requirement whose <see cref="object.ToString"/> is the selector.</returns>
    /// <exception cref="PeerSelectorException">
    /// The selector is empty, has no or an unknown kind, or no value; a number is not one; a name is not in
    /// the user or group database, or resolves to the overflow id (give it as a number to mean it).
    /// </exception>
    public static PeerCredentialRequirement Parse(string selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var text = selector.Trim();
        if (text.Length == 0)
        {
            throw new PeerSelectorException(selector, $"A selector is empty; write kind:value with a kind among {KindList}, such as uid:1000 or group:docker.");
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new PeerSelectorException(selector, $"Selector '{text}' has no kind; write kind:value with a kind among {KindList}.");
        }

        var kind = text[..colon];
        var value = text[(colon + 1)..];
        if (!Factories.TryGetValue(kind, out var factory))
        {
            throw new PeerSelectorException(selector, $"Selector '{text}' has an unknown kind '{kind}'; the kinds are {KindList}.");
        }

        if (value.Length == 0)
        {
            throw new PeerSelectorException(selector, $"Selector '{text}' has no value after '{kind}:'.");
        }

        if (value.AsSpan().Trim().Length != value.Length)
        {
            throw new PeerSelectorException(selector, $"Selector '{text}' has spaces around its value; write {kind}:{value.Trim()}.");
        }

        try
        {
            return factory(value);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new PeerSelectorException(selector, $"Selector '{text}': {Reason(e)}", e);
        }
    }

    /// <summary>Ids as selectors of one kind: <c>uid:0 | uid:1000</c>.</summary>
    internal static string Render(string kind, IEnumerable<uint> ids)
    {
        var rendered = string.Join(" | ", ids.Order().Select(id => kind + ":" + id.ToString(CultureInfo.InvariantCulture)));
        return rendered.Length > 0 ? rendered : $"no {kind}";
    }

    /// <summary>Names or numbers as selectors: <c>uid:1000 | user:alice</c>.</summary>
    internal static string Render(string numberKind, string nameKind, IEnumerable<string> namesOrIds)
        => string.Join(" | ", namesOrIds.Select(text => text.Trim()).Select(text => (IsNumber(text) ? numberKind : nameKind) + ":" + text));

    private static string KindList => string.Join(", ", Factories.Keys);

    private static bool IsNumber(string text) => uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private static uint Number(string value, string kind, string nameKind)
        => uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new FormatException($"'{value}' is not a {kind} (a decimal number); write {nameKind}:{value} to name a {nameKind}.");

    private delegate bool TryResolve(string name, out uint id);

    private static uint Name(string value, string kind, string numberKind, TryResolve resolve, uint overflow)
    {
        // The databases would take a number as itself: a number here is a slip for the numeric kind.
        if (IsNumber(value))
        {
            throw new FormatException($"'{value}' is a number, and {kind}: takes a name; write {numberKind}:{value}.");
        }

        if (!resolve(value, out var id))
        {
            throw new ArgumentException($"there is no {kind} '{value}' in the {kind} database.");
        }

        // A name for the overflow id would admit every unmapped peer of another user namespace.
        return id != overflow
            ? id
            : throw new ArgumentException($"{kind} '{value}' is the overflow {numberKind} {overflow}, which every unmapped peer of another user namespace shares; write {numberKind}:{overflow} if you mean it.");
    }

    // ArgumentException adds " (Parameter 'name')" to its message; the selector already says where.
    private static string Reason(Exception e)
        => e is ArgumentException { ParamName: { } name } && e.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
            ? e.Message[..^$" (Parameter '{name}')".Length]
            : e.Message;
}
