using System.Collections.Frozen;

namespace PeerCredentials;

/// <summary>
/// Programs that connect on behalf of others: through one, every client of the relay (a TCP client of
/// <c>socat</c>, a user logged in over <c>ssh</c>) reaches the socket with the relay's credentials, so
/// they describe the relay, not the client.
/// </summary>
/// <remarks>
/// A relay is recognised by the file name of its executable, so this makes honest setups visible: it is
/// not a defence. A copy of <c>socat</c> under another name, or a relay of one's own, is not recognised,
/// and a peer whose executable cannot be known is not known to be a relay. To admit only some programs,
/// allow them by <c>path:</c> or <c>sha256:</c> instead.
/// </remarks>
public static class PeerRelays
{
    // What /proc/PID/exe shows for a file removed or replaced since the process started (an upgrade).
    private const string DeletedSuffix = " (deleted)";

    /// <summary>
    /// The relays known by default: <c>socat</c>, <c>nc</c>, <c>ncat</c>, <c>netcat</c>, <c>nc.openbsd</c>,
    /// <c>nc.traditional</c>, <c>websocat</c>, <c>ssh</c>, <c>sshd</c> and <c>systemd-socket-proxyd</c>.
    /// </summary>
    public static IReadOnlySet<string> DefaultNames { get; } = new[]
    {
        "socat", "nc", "ncat", "netcat", "nc.openbsd", "nc.traditional", "websocat", "ssh", "sshd", "systemd-socket-proxyd",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Whether the executable at <paramref name="executablePath"/> has the file name of a relay.</summary>
    /// <param name="executablePath">The executable's path, as <see cref="PeerCredential.GetExecutablePath"/> gives it.</param>
    /// <param name="relayNames">File names that count as relays (exact, case-sensitive); <see langword="null"/> for <see cref="DefaultNames"/>.</param>
    public static bool IsRelay(string executablePath, IReadOnlySet<string>? relayNames = null)
    {
        ArgumentNullException.ThrowIfNull(executablePath);
        var path = executablePath.EndsWith(DeletedSuffix, StringComparison.Ordinal) ? executablePath[..^DeletedSuffix.Length] : executablePath;
        var name = Path.GetFileName(path);
        return name.Length > 0 && (relayNames ?? DefaultNames).Contains(name);
    }
}
