using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// The files in a socket directory: the one-instance lock, the socket's mode and group, and never
/// deleting anything that is not a stale socket. Each acts through a handle on the directory that
/// <see cref="UnixSocketDirectory.Open"/> checked, never through a path that a symbolic link could redirect.
/// </summary>
internal static class UnixSocketFile
{
    private const UnixFileMode LockFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Opens <c>name.lock</c> in <paramref name="directory"/> (created 0600, never through a symbolic
    /// link) and takes its <c>flock</c> for the process's life: two starting instances cannot both take a
    /// socket for stale. Only the owner can open it, so no one else can hold the lock and block a restart.
    /// </summary>
    /// <exception cref="UnixSocketFileException">The lock is held, or something other than a lock file of ours is at its path.</exception>
    public static SafeFileHandle Lock(SafeFileHandle directory, string socketPath)
    {
        var name = Path.GetFileName(socketPath) + ".lock";
        var path = socketPath + ".lock";
        var errno = Libc.TryOpenLockFile(directory, name, out var handle);
        if (handle is null)
        {
            throw errno switch
            {
                Libc.ELOOP => new UnixSocketFileException($"Lock file '{path}' is a symbolic link; refusing to follow it. Remove it yourself."),
                Libc.EISDIR => new UnixSocketFileException($"Lock file '{path}' is a directory, not a lock file. Remove it yourself or choose another socket path."),
                _ => new UnixSocketFileException($"Cannot open lock file '{path}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})."),
            };
        }

        try
        {
            var found = Libc.Stat(handle, path);
            if ((found.Mode & 0xF000) != 0x8000)
            {
                throw new UnixSocketFileException($"Lock file '{path}' is {found.Describe()}, not a regular file. Remove it yourself or choose another socket path.");
            }

            var uid = UnixAccounts.EffectiveUserId;
            if (found.Uid != uid)
            {
                throw new UnixSocketFileException($"Lock file '{path}' is owned by uid {found.Uid}, not by this process (uid {uid}). Remove it yourself.");
            }

            if (!Libc.TryLockExclusive(handle, path))
            {
                throw new UnixSocketFileException($"Socket '{socketPath}' is in use: another process holds '{path}' (is another instance running?).");
            }

            if (found.Permissions != LockFileMode)
            {
                Libc.ChangeMode(handle, LockFileMode, path); // left 0644 by an older version
            }

            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Clears the way for a new socket at <paramref name="path"/>: nothing there is fine; a socket that
    /// refuses connections is stale and removed; anything else is left untouched and refused.
    /// </summary>
    /// <returns><see langword="true"/> when a stale socket was removed.</returns>
    public static bool RemoveIfStale(SafeFileHandle directory, string path)
    {
        var name = Path.GetFileName(path);
        var found = Libc.StatAt(directory, name, path);
        if (found is null)
        {
            return false;
        }

        if (!found.Value.IsSocket)
        {
            throw new UnixSocketFileException($"'{path}' exists and is {found.Value.Describe()}, not a socket; refusing to touch it. Remove it yourself or choose another socket path.");
        }

        if (IsListening(path))
        {
            throw new UnixSocketFileException($"Socket '{path}' is in use: another process is listening on it (is another instance running?). Stop it or choose another socket path.");
        }

        // Nothing listens: a leftover of a process that did not clean up (killed, crashed).
        Libc.UnlinkFrom(directory, name, path);
        return true;
    }

    /// <summary>
    /// Sets the mode and group of the socket just bound at <paramref name="path"/>, before <c>listen()</c>,
    /// and makes sure the file the path names is the one in the checked <paramref name="directory"/>.
    /// </summary>
    /// <returns>The socket file's identity, to recognise it at shutdown.</returns>
    public static FileIdentity SetModeAndGroup(SafeFileHandle directory, string path, UnixFileMode mode, uint? groupId)
    {
        // bind() takes a path and creates the file with the umask's mode; from here on only handles are
        // used. The socket is opened O_PATH|O_NOFOLLOW (a link at its name would be opened as a link and
        // refused), its group set through that handle, its mode set without following a link (fchmodat
        // with AT_SYMLINK_NOFOLLOW), and the result read back through the handle: if a rename had put
        // another file at the name in between, the socket we hold would not show the mode, and we refuse.
        // A umask around bind() would do without the chmod, but the umask is the whole process's, and
        // other threads may create files meanwhile.
        var name = Path.GetFileName(path);
        var errno = Libc.TryOpenNoFollow(directory, name, out var handle);
        using var socketFile = handle ?? throw new UnixSocketFileException($"Socket '{path}' cannot be opened right after it was bound: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        var bound = Libc.Stat(socketFile, path);
        var uid = UnixAccounts.EffectiveUserId;
        if (!bound.IsSocket || bound.Uid != uid)
        {
            throw new UnixSocketFileException($"'{path}' is {bound.Describe()} of uid {bound.Uid} right after this process (uid {uid}) bound a socket there; refusing to listen.");
        }

        // The path bind() resolved and the checked directory must name the same file.
        if (Libc.LStat(path) is not { } byPath || !byPath.IsSameFileAs(bound))
        {
            throw new UnixSocketFileException($"Socket '{path}' is not in the directory that was checked: a directory on its path changed during the start. Refusing to listen.");
        }

        if (groupId is { } gid)
        {
            Libc.ChangeGroup(socketFile, gid, path);
        }

        Libc.ChangeModeNoFollow(directory, name, socketFile, mode, path);
        var result = Libc.Stat(socketFile, path);
        if (result.Permissions != mode || (groupId is { } group && result.Gid != group))
        {
            throw new UnixSocketFileException($"Socket '{path}' did not take mode {Convert.ToString((int)mode, 8)}: the file at its name changed during the start. Refusing to listen.");
        }

        return result;
    }

    private static bool IsListening(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

        // Non-blocking, so a live server with a full backlog answers "would block" instead of hanging us.
        probe.Blocking = false;
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress or SocketError.TryAgain)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
        catch (SocketException e)
        {
            throw new UnixSocketFileException($"Cannot tell whether socket '{path}' is in use ({e.SocketErrorCode}: {e.Message}); refusing to remove it.", e);
        }
    }
}
