using PeerCredentials.Interop;

namespace PeerCredentials.Authorization;

/// <summary>
/// The peer's executable must be one of <see cref="Paths"/>, exactly as the kernel names it
/// (<see cref="PeerCredential.GetExecutablePath"/>, read through the pidfd). A peer whose executable
/// cannot be known (pid 0, no pidfd, exited) is refused. SPIRE's <c>path:</c> selector.
/// </summary>
/// <remarks>
/// The path says which program the peer's process runs, not what it does: another process of the same
/// uid can ptrace it or preload code into it. Combine it with a uid or group rule; it narrows trust, it
/// does not grant it on its own.
/// </remarks>
public sealed class PeerExecutableRequirement : PeerCredentialRequirement
{
    /// <summary>Creates the requirement.</summary>
    /// <param name="paths">The executables allowed: absolute paths, as the kernel names them (symbolic links resolved).</param>
    /// <exception cref="ArgumentException">No path; a path that is not absolute or not canonical; or one that
    /// exists but is reached through a symbolic link, so the kernel would report another name and it could never match.</exception>
    public PeerExecutableRequirement(params IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            set.Add(Validate(path));
        }

        if (set.Count == 0)
        {
            throw new ArgumentException("Name at least one executable path.", nameof(paths));
        }

        Paths = set;
    }

    /// <summary>The executables allowed.</summary>
    public IReadOnlySet<string> Paths { get; }

    /// <inheritdoc />
    public override string? Check(PeerCredential peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var executable = peer.ExecutablePath;
        if (executable.Value is not { } path)
        {
            return $"the peer's executable cannot be known: {executable.Unknown}";
        }

        return Paths.Contains(path) ? null : $"executable {path} is not {string.Join(" or ", Paths.Order(StringComparer.Ordinal))}";
    }

    /// <summary>The selector in SPIRE's spelling: <c>path:/usr/bin/curl</c> (several joined by <c> or </c>).</summary>
    public override string ToString() => string.Join(" or ", Paths.Order(StringComparer.Ordinal).Select(p => "path:" + p));

    private static string Validate(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' is not an absolute path; an executable rule names the file as the kernel does, from /.", nameof(path));
        }

        var full = Path.GetFullPath(path);
        if (full != path)
        {
            throw new ArgumentException($"'{path}' is not in the form the kernel reports executables in; write {full}.", nameof(path));
        }

        // What the kernel would call the file now: its path with every symbolic link resolved.
        if (Libc.TryOpenPath(path, out var file) == 0)
        {
            using (file)
            {
                var fd = file!.DangerousGetHandle().ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (Libc.TryReadLink("/proc/self/fd/" + fd, out var actual) == 0 && actual is not null && actual != path)
                {
                    throw new ArgumentException($"'{path}' leads through a symbolic link to {actual}, which is the name the kernel reports for the peer's executable; write {actual}.", nameof(path));
                }
            }
        }

        return path;
    }
}
