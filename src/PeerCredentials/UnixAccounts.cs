using System.Collections.Concurrent;
using System.Globalization;
using PeerCredentials.Interop;

namespace PeerCredentials;

/// <summary>
/// The system's user and group database (<c>getpwuid_r</c>, <c>getgrgid_r</c>, and by name), with
/// bounded caches so that the per-request path never waits on NSS twice for the same id.
/// </summary>
/// <remarks>
/// Names are looked up once per process and id; a user renamed while the service runs keeps its old
/// name until restart. Ids with no entry resolve to their number. Authorization never depends on a
/// name: decisions are made on the kernel's numbers.
/// </remarks>
public static class UnixAccounts
{
    // Enough for every account of a real machine; ids beyond it are looked up without being cached,
    // so a peer cycling through user-namespace ids cannot grow memory.
    private const int MaxCachedEntries = 4096;

    private static readonly ConcurrentDictionary<uint, string> UserNames = new();
    private static readonly ConcurrentDictionary<uint, string> GroupNames = new();
    private static readonly Lazy<uint> OverflowUid = new(() => ReadKernelNumber("/proc/sys/kernel/overflowuid", 65534));
    private static readonly Lazy<uint> OverflowGid = new(() => ReadKernelNumber("/proc/sys/kernel/overflowgid", 65534));

    /// <summary>The effective uid of this process.</summary>
    public static uint EffectiveUserId => Libc.GetEffectiveUserId();

    /// <summary>
    /// The uid the kernel reports for a user it cannot map into this user namespace
    /// (<c>/proc/sys/kernel/overflowuid</c>, usually 65534). It never names a real user.
    /// </summary>
    public static uint OverflowUserId => OverflowUid.Value;

    /// <summary>
    /// The gid the kernel reports for a group it cannot map into this user namespace
    /// (<c>/proc/sys/kernel/overflowgid</c>, usually 65534). It never names a real group.
    /// </summary>
    public static uint OverflowGroupId => OverflowGid.Value;

    /// <summary>The user name of <paramref name="uid"/>, or the number as text when the database has none.</summary>
    public static string GetUserName(uint uid)
        => Cached(UserNames, uid, static id => Libc.GetUserById(id)?.Name);

    /// <summary>The group name of <paramref name="gid"/>, or the number as text when the database has none.</summary>
    public static string GetGroupName(uint gid)
        => Cached(GroupNames, gid, static id => Libc.GetGroupById(id)?.Name);

    /// <summary>
    /// Resolves a user given as a number or a name. Numbers are taken as they are, names are looked up.
    /// </summary>
    /// <returns><see langword="false"/> when <paramref name="userNameOrId"/> is a name the database does not know.</returns>
    public static bool TryResolveUserId(string userNameOrId, out uint uid)
    {
        ArgumentNullException.ThrowIfNull(userNameOrId);
        if (uint.TryParse(userNameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            return true;
        }

        var entry = Libc.GetUserByName(userNameOrId);
        uid = entry?.Uid ?? 0;
        return entry is not null;
    }

    /// <summary>
    /// Resolves a group given as a number or a name. Numbers are taken as they are, names are looked up.
    /// </summary>
    /// <returns><see langword="false"/> when <paramref name="groupNameOrId"/> is a name the database does not know.</returns>
    public static bool TryResolveGroupId(string groupNameOrId, out uint gid)
    {
        ArgumentNullException.ThrowIfNull(groupNameOrId);
        if (uint.TryParse(groupNameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out gid))
        {
            return true;
        }

        var entry = Libc.GetGroupByName(groupNameOrId);
        gid = entry?.Gid ?? 0;
        return entry is not null;
    }

    private static string Cached(ConcurrentDictionary<uint, string> cache, uint id, Func<uint, string?> lookUp)
    {
        if (cache.TryGetValue(id, out var name))
        {
            return name;
        }

        name = lookUp(id) ?? id.ToString(CultureInfo.InvariantCulture);
        if (cache.Count < MaxCachedEntries)
        {
            cache.TryAdd(id, name);
        }

        return name;
    }

    private static uint ReadKernelNumber(string path, uint fallback)
    {
        try
        {
            return uint.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : fallback;
        }
        catch (IOException)
        {
            return fallback;
        }
        catch (UnauthorizedAccessException)
        {
            return fallback;
        }
    }
}
