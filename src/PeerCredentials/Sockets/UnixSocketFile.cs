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
    /// the group can reach a socket it is given (0711 when <paramref name="othersMayConnect"/>). An existing
    /// directory of ours that would keep them from the socket gets the missing search bits.
    /// </summary>
    public static void PrepareDirectory(string directory, uint? groupId = null, bool othersMayConnect = false)
    {
        var created = false;
        if (Libc.LStat(directory) is null)
        {
            try
            {
                Directory.CreateDirectory(directory, PrivateDirectory);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new UnixSocketFileException($"Cannot create socket directory '{directory}': permission denied for uid {UnixAccounts.EffectiveUserId}. Create it yourself (mkdir -m 0700 '{directory}') or choose a socket path in a directory you can write to.", e);
            }

            created = true;
        }

        // Checked before anything is changed: whatever is at the path now (even if someone raced us to
        // it) must be a real directory of ours.
        var found = Libc.LStat(directory) ?? throw new UnixSocketFileException($"Socket directory '{directory}' vanished while it was being created.");
        var uid = UnixAccounts.EffectiveUserId;
        if (found.IsSymbolicLink)
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' is a symbolic link; refusing to create a socket behind it. Use a real directory owned by uid {uid}.");
        }

        if (!found.IsDirectory)
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' is {found.Describe()}, not a directory.");
        }

        if (found.Uid != uid)
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' is owned by uid {found.Uid}, not by this process (uid {uid}); refusing to use it. Use a directory of your own.");
        }

        if (created)
        {
            var mode = PrivateDirectory | (groupId is null ? 0 : UnixFileMode.GroupExecute) | (othersMayConnect ? UnixFileMode.GroupExecute | UnixFileMode.OtherExecute : 0);
            if (groupId is { } gid)
            {
                Libc.LChangeGroup(directory, gid);
            }

            File.SetUnixFileMode(directory, mode); // exactly this mode, whatever the umask
        }
        else if ((found.Permissions & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            // Others could replace our socket file with their own (socket squatting).
            throw new UnixSocketFileException($"Socket directory '{directory}' is writable by others (mode {Convert.ToString((int)found.Permissions, 8)}); they could replace the socket. Use a directory only its owner can write to.");
        }
        else
        {
            MatchSocketAccess(directory, found, groupId, othersMayConnect);
        }
    }

    // An existing directory (say 0700 from an earlier default run) would keep out the group or the others
    // that the socket's mode lets in. Search bits only are added, never read or write; a group is set only
    // on a directory that gives its group nothing yet, so no other group loses access.
    private static void MatchSocketAccess(string directory, FileIdentity found, uint? groupId, bool othersMayConnect)
    {
        var mode = found.Permissions;
        if (othersMayConnect)
        {
            // Members of the directory's group are judged by its group bits, not the others' bits.
            mode |= UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        }
        else if (groupId is { } gid && (mode & UnixFileMode.OtherExecute) == 0 && !(found.Gid == gid && (mode & UnixFileMode.GroupExecute) != 0))
        {
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute)) != 0)
            {
                throw new UnixSocketFileException($"Socket directory '{directory}' (mode {Convert.ToString((int)found.Permissions, 8)}, gid {found.Gid}) keeps gid {gid} from the socket; run 'chgrp {gid} {directory} && chmod 0710 {directory}', or remove the directory so the service creates it.");
            }

            Libc.LChangeGroup(directory, gid);
            mode |= UnixFileMode.GroupExecute;
        }

        if (mode != found.Permissions)
        {
            File.SetUnixFileMode(directory, mode);
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
