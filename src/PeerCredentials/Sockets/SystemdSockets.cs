using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>
/// Sockets handed over by systemd socket activation (<c>LISTEN_PID</c>, <c>LISTEN_FDS</c>,
/// <c>LISTEN_FDNAMES</c>). systemd created them, with the mode of the socket unit; the service only
/// serves them and never creates, chmods or deletes their files.
/// </summary>
public static class SystemdSockets
{
    private const int FirstDescriptor = 3; // SD_LISTEN_FDS_START

    /// <summary>The inherited listening sockets, each with its <c>FileDescriptorName=</c> (or <c>unknown</c>).</summary>
    public static IReadOnlyList<(ulong Descriptor, string Name)> Inherited()
    {
        if (Environment.GetEnvironmentVariable("LISTEN_PID") != Environment.ProcessId.ToString(CultureInfo.InvariantCulture)
            || !int.TryParse(Environment.GetEnvironmentVariable("LISTEN_FDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return [];
        }

        var names = (Environment.GetEnvironmentVariable("LISTEN_FDNAMES") ?? string.Empty).Split(':');
        return [.. Enumerable.Range(0, count).Select(i => ((ulong)(FirstDescriptor + i), i < names.Length && names[i].Length > 0 ? names[i] : "unknown"))];
    }

    /// <summary>
    /// Listens on every socket systemd handed over, configured by name; returns how many there were
    /// (0 when the process was not socket-activated).
    /// </summary>
    public static int ListenOnSystemdSockets(this KestrelServerOptions options, Action<string, ListenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configure);
        var inherited = Inherited();
        foreach (var (descriptor, name) in inherited)
        {
            options.ListenHandle(descriptor, listen => configure(name, listen));
        }

        return inherited.Count;
    }
}
