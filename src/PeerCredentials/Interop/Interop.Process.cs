using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PeerCredentials.Interop;

// The native calls behind what the library learns about a peer's process and its security label. A part
// of Libc of its own, so that it stays apart from the socket-file calls.
internal static unsafe partial class Libc
{
    internal const int SoPeerSec = 31;

    internal const int ESRCH = 3;
    internal const int EACCES = 13;
    internal const int ENOPROTOOPT = 92;

    // Labels are short (an SELinux context, an AppArmor profile); the kernel caps them at a page or so.
    private const int InitialLabelBytes = 256;
    private const int MaxLabelBytes = 65536;

    [LibraryImport(LibraryName, EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetSockOpt(SafeSocketHandle socket, int level, int name, void* value, uint* length);

    [LibraryImport(LibraryName, EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint ReadLinkPath(string path, byte* buf, nuint size);

    /// <summary>
    /// The raw <c>SO_PEERSEC</c> bytes of a connected socket: the peer's security label as the LSM reports
    /// it. <see langword="null"/> when there is none (<c>ENOPROTOOPT</c>: no LSM labels this socket) or it
    /// cannot be read. One <c>getsockopt</c>, and no exception on the common "none" answer, which
    /// <see cref="Socket.GetRawSocketOption"/> would throw (a dozen times the cost of the call itself).
    /// </summary>
    internal static byte[]? GetPeerSecurityLabel(SafeSocketHandle socket)
    {
        byte* small = stackalloc byte[InitialLabelBytes];
        uint length = InitialLabelBytes;
        if (GetSockOpt(socket, SolSocket, SoPeerSec, small, &length) == 0)
        {
            return new ReadOnlySpan<byte>(small, (int)Math.Min(length, InitialLabelBytes)).ToArray();
        }

        // ERANGE: the kernel has put the length it needs in `length`.
        if (Marshal.GetLastPInvokeError() != ERANGE || length <= InitialLabelBytes || length > MaxLabelBytes)
        {
            return null;
        }

        var large = new byte[length];
        fixed (byte* buf = large)
        {
            return GetSockOpt(socket, SolSocket, SoPeerSec, buf, &length) == 0 ? large.AsSpan(0, (int)Math.Min(length, (uint)large.Length)).ToArray() : null;
        }
    }

    /// <summary>The target of the symbolic link at <paramref name="path"/> (a <c>/proc</c> magic link, say).</summary>
    /// <returns>0 and the target, or the errno.</returns>
    internal static int TryReadLink(string path, out string? target)
    {
        const int PathMax = 4096;
        byte* buf = stackalloc byte[PathMax];
        var length = ReadLinkPath(path, buf, PathMax);
        if (length < 0)
        {
            target = null;
            return Marshal.GetLastPInvokeError();
        }

        target = length < PathMax ? System.Text.Encoding.UTF8.GetString(buf, (int)length) : null;
        return target is null ? ERANGE : 0;
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading, following links, a <c>/proc/PID/exe</c> magic link
    /// included: the handle is then on the very file that process runs, whatever name it has by now.
    /// </summary>
    /// <returns>0 and the handle, or the errno.</returns>
    internal static int TryOpenForReading(string path, out SafeFileHandle? handle)
    {
        const int ONoCtty = 0x100;
        var fd = OpenAt(AtFdCwd, path, ORdOnly | OCloExec | ONoCtty, 0);
        if (fd < 0)
        {
            handle = null;
            return Marshal.GetLastPInvokeError();
        }

        handle = new SafeFileHandle(fd, ownsHandle: true);
        return 0;
    }

    /// <summary>An <c>O_PATH</c> handle on <paramref name="path"/>, links followed: to ask the kernel its name for the file, without read permission.</summary>
    /// <returns>0 and the handle, or the errno.</returns>
    internal static int TryOpenPath(string path, out SafeFileHandle? handle)
    {
        var fd = OpenAt(AtFdCwd, path, OPath | OCloExec, 0);
        if (fd < 0)
        {
            handle = null;
            return Marshal.GetLastPInvokeError();
        }

        handle = new SafeFileHandle(fd, ownsHandle: true);
        return 0;
    }
}
