using System.Runtime.InteropServices;

namespace EchoApi.Hosting;

/// <summary>
/// Where the service runs: Linux only. The library reads peer credentials on macOS and FreeBSD too, but
/// the service makes its socket files with Linux system calls (statx, O_PATH), offers abstract names,
/// and raises its descriptor limit from <c>/proc</c>; elsewhere it stops before touching any of them.
/// </summary>
public static class ServicePlatform
{
    /// <summary>
    /// On a platform the service does not support, writes the one start-up line (through
    /// <see cref="StartupFailure"/>) and returns exit code 1; <see langword="null"/> on Linux.
    /// </summary>
    public static async Task<int?> RefuseUnsupportedAsync()
        => Refusal(OperatingSystem.IsLinux(), RuntimeInformation.OSDescription) is { } refusal
            ? await StartupFailure.ReportAsync(refusal, new ConfigurationBuilder().Build())
            : null;

    /// <summary>Why the service does not start on <paramref name="osDescription"/>; <see langword="null"/> on Linux.</summary>
    internal static PlatformNotSupportedException? Refusal(bool isLinux, string osDescription)
        => isLinux
            ? null
            : new PlatformNotSupportedException(
                $"EchoApi runs on Linux only (peer credentials with SO_PEERCRED and SO_PEERGROUPS, socket files made with statx and O_PATH, abstract socket names); refusing to start on {osDescription}.");
}
