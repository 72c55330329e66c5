using System.Net.Sockets;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// The checks around a socket file: a private directory, and never deleting anything that is not a
/// stale socket.
/// </summary>
internal static class UnixSocketFile
{
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Makes sure the directory exists, is a real directory (not a symbolic link) and belongs to this
    /// process's uid; creates it 0700 when missing, or 0710 owned by <paramref name="groupId"/> so that
    /// the group can reach a socket it is given.
    /// </summary>
    public static void PrepareDirectory(string directory, uint? groupId = null)
    {
        var found = Libc.LStat(directory);
        if (found is null)
        {
            var mode = groupId is null ? PrivateDirectory : PrivateDirectory | UnixFileMode.GroupExecute;
            Directory.CreateDirectory(directory, mode);
            if (groupId is { } gid)
            {
                Libc.LChangeGroup(directory, gid);
            }

            File.SetUnixFileMode(directory, mode); // exactly this mode, whatever the umask
            found = Libc.LStat(directory);
        }

        var uid = UnixAccounts.EffectiveUserId;
        if (found is not { } directoryInfo)
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' vanished while it was being created.");
        }

        if (directoryInfo.IsSymbolicLink)
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' is a symbolic link; refusing to create a socket behind it. Use a real directory owned by uid {uid}.");
        }

        if (!directoryInfo.IsDirectory)
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' is {directoryInfo.Describe()}, not a directory.");
        }

        if (directoryInfo.Uid != uid)
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' is owned by uid {directoryInfo.Uid}, not by this process (uid {uid}); refusing to use it. Use a directory of your own.");
        }
    }

    /// <summary>
    /// Clears the way for a new socket at <paramref name="path"/>: nothing there is fine; a socket that
    /// refuses connections is stale and removed; anything else is left untouched and refused.
    /// </summary>
    /// <returns><see langword="true"/> when a stale socket was removed.</returns>
    public static bool RemoveIfStale(string path)
    {
        var found = Libc.LStat(path);
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
        File.Delete(path);
        return true;
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
