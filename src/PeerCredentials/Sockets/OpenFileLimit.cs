using System.Globalization;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// The process's descriptor budget (<c>RLIMIT_NOFILE</c>). Every connection on a Unix socket costs at
/// least one descriptor, and one more for the peer's pidfd.
/// </summary>
/// <param name="Soft">The soft limit in force: the most descriptors the process can have open.</param>
/// <param name="Hard">The hard limit: the most the soft limit may be raised to without privilege.</param>
/// <param name="Before">The soft limit before <see cref="RaiseToHardLimit"/>; equal to <paramref name="Soft"/> when nothing was raised.</param>
/// <param name="Error">Why the soft limit could not be raised, or <see langword="null"/>.</param>
public readonly record struct OpenFileLimit(ulong Soft, ulong Hard, ulong Before, string? Error)
{
    /// <summary>
    /// Raises the soft descriptor limit to the hard limit, as the .NET runtime does at start when it is
    /// not compiled ahead of time (a native AOT program keeps the soft limit it was started with: 1024
    /// under systemd and most shells, which a few hundred idle connections use up).
    /// </summary>
    /// <remarks>A hard limit of "unlimited" is taken as the kernel's <c>fs.nr_open</c>, the most the kernel lets a process have.</remarks>
    public static OpenFileLimit RaiseToHardLimit()
    {
        var (soft, hard) = Libc.GetOpenFileLimit();
        var target = hard == ulong.MaxValue ? KernelMaximum() : hard;
        if (soft >= target)
        {
            return new OpenFileLimit(soft, hard, soft, null);
        }

        var errno = Libc.TrySetOpenFileLimit(target, hard);
        var (now, _) = Libc.GetOpenFileLimit();
        return new OpenFileLimit(now, hard, soft, errno == 0 ? null : $"setrlimit(RLIMIT_NOFILE, {target}) failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    private static ulong KernelMaximum()
    {
        try
        {
            return ulong.TryParse(File.ReadAllText("/proc/sys/fs/nr_open").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 1 << 20;
        }
        catch (IOException)
        {
            return 1 << 20; // the kernel's default nr_open
        }
        catch (UnauthorizedAccessException)
        {
            return 1 << 20;
        }
    }
}
