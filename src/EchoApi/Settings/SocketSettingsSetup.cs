using Microsoft.Extensions.Options;
using PeerCredentials;
using PeerCredentials.Sockets;

namespace EchoApi.Settings;

/// <summary>Fills in the socket paths and mode that depend on the machine, and checks them before any socket exists.</summary>
internal sealed class SocketSettingsSetup : IPostConfigureOptions<SocketSettings>
{
    public void PostConfigure(string? name, SocketSettings options) => Resolve(options);

    /// <summary>The defaults and parsed values, also for reporting a failed start after the host's services are gone.</summary>
    internal static void Resolve(SocketSettings options)
    {
        if (string.IsNullOrWhiteSpace(options.SocketPath))
        {
            options.SocketPath = SocketSettings.DefaultSocketPath();
        }

        // null: beside the HTTP socket; empty: no line socket. Beside a SocketPath that is itself wrong
        // there is no place to put it, and the one error to report is SocketPath's.
        if (options.LineSocketPath is null && UnixSocketPaths.Validate(options.SocketPath) is null)
        {
            options.LineSocketPath = UnixSocketPaths.IsAbstract(options.SocketPath)
                ? options.SocketPath + ".line"
                : Path.Combine(Path.GetDirectoryName(options.SocketPath) ?? "/", "line.sock");
        }

        options.SocketModeIsValid = UnixSocketFileOptions.TryParseMode(options.SocketMode, out var mode);
        options.SocketFileMode = mode;
    }

    /// <summary>Adds what is wrong with <paramref name="options"/> to <paramref name="failures"/>; the owner's socket is checked against <paramref name="access"/>.</summary>
    internal static void Validate(SocketSettings options, AccessSettings access, List<string> failures)
    {
        if (UnixSocketPaths.Validate(options.SocketPath) is { } pathProblem)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(SocketSettings.SocketPath))} {pathProblem}.");
        }

        if (!string.IsNullOrEmpty(options.LineSocketPath))
        {
            if (UnixSocketPaths.Validate(options.LineSocketPath) is { } lineProblem)
            {
                failures.Add($"{EchoApiSettings.Key(nameof(SocketSettings.LineSocketPath))} {lineProblem}.");
            }
            else if (options.LineSocketPath == options.SocketPath)
            {
                failures.Add($"{EchoApiSettings.Key(nameof(SocketSettings.LineSocketPath))} is the same path as {EchoApiSettings.Key(nameof(SocketSettings.SocketPath))}; give it its own path, or an empty one to turn it off.");
            }
        }

        if (!string.IsNullOrEmpty(options.OwnerSocketPath))
        {
            var setting = EchoApiSettings.Key(nameof(SocketSettings.OwnerSocketPath));
            if (UnixSocketPaths.Validate(options.OwnerSocketPath) is { } ownerProblem)
            {
                failures.Add($"{setting} {ownerProblem}.");
            }
            else if (UnixSocketPaths.IsAbstract(options.OwnerSocketPath))
            {
                failures.Add($"{setting} must be a file path: an abstract socket has no file permissions, so any uid could connect to it.");
            }
            else if (SamePath(options.OwnerSocketPath, options.SocketPath) || SamePath(options.OwnerSocketPath, options.LineSocketPath))
            {
                failures.Add($"{setting} must be a path of its own, not that of {EchoApiSettings.Key(nameof(SocketSettings.SocketPath))} or {EchoApiSettings.Key(nameof(SocketSettings.LineSocketPath))}.");
            }

            // An Owner that does not resolve is its own failure, and no second one here.
            if (access.OwnerResolves && access.OwnerUserId is var owner && owner != UnixAccounts.EffectiveUserId)
            {
                failures.Add($"{setting} needs the service to run as the owner: the socket file is the service's with mode 0600, so uid {owner} could not open it (the service runs as uid {UnixAccounts.EffectiveUserId}).");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.SocketGroup) && !UnixAccounts.TryResolveGroupId(options.SocketGroup.Trim(), out _))
        {
            failures.Add($"{EchoApiSettings.Key(nameof(SocketSettings.SocketGroup))} '{options.SocketGroup}' is neither a gid nor a group in the group database.");
        }

        if (!options.SocketModeIsValid)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(SocketSettings.SocketMode))} '{options.SocketMode}' is not a socket mode: give octal read/write bits that include the owner's, such as 0600 or 0660.");
        }
    }

    // The same socket, however the path is spelled (abstract names compare as they are).
    private static bool SamePath(string path, string? other)
        => !string.IsNullOrEmpty(other)
            && (UnixSocketPaths.IsAbstract(path) || UnixSocketPaths.IsAbstract(other)
                ? path == other
                : Path.GetFullPath(path) == Path.GetFullPath(other));
}
