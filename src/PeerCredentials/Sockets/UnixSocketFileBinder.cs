using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// Creates Kestrel's listen sockets for registered Unix socket paths: checks the directory, clears a
/// stale socket, binds, sets mode and group, and hands the socket to Kestrel, which then calls
/// <c>listen()</c>. On disposal it removes the files it created, if they are still the same files.
/// </summary>
internal sealed class UnixSocketFileBinder(ILogger<UnixSocketFileBinder> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, UnixSocketFileOptions> _registered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (FileIdentity Socket, FileStream Lock)> _created = new(StringComparer.Ordinal);

    public void Register(string path, UnixSocketFileOptions options) => _registered[path] = options;

    /// <summary>The <see cref="SocketTransportOptions.CreateBoundListenSocket"/> of the Sockets transport.</summary>
    public Socket CreateBoundListenSocket(EndPoint endpoint)
    {
        if (endpoint is UnixDomainSocketEndPoint unix && unix.ToString() is { } path && _registered.TryGetValue(path, out var options))
        {
            return Bind(path, options);
        }

        return SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
    }

    private Socket Bind(string path, UnixSocketFileOptions options)
    {
        uint? gid = null;
        if (options.Group is { } group)
        {
            gid = UnixAccounts.TryResolveGroupId(group, out var id)
                ? id
                : throw new UnixSocketFileException($"Socket group '{group}' does not exist.");
        }

        UnixSocketFile.PrepareDirectory(Path.GetDirectoryName(path)!, gid, (options.Mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0);

        // One instance per path: an advisory lock (FileShare.None is flock on Linux), held for the
        // process's life, so two starting instances cannot both take a socket for stale.
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new UnixSocketFileException($"Socket '{path}' is in use: another process holds '{path}.lock' (is another instance running?).", e);
        }

        try
        {
            if (UnixSocketFile.RemoveIfStale(path))
            {
                logger.StaleSocketRemoved(path);
            }

            var socket = new Socket(Libc.BindUnixStreamSocket(path));
            try
            {
                // Not yet listening: connect() is refused until Kestrel calls listen(), so these take
                // effect before anyone can get in.
                if (gid is { } groupId)
                {
                    Libc.LChangeGroup(path, groupId);
                }

                File.SetUnixFileMode(path, options.Mode);
                _created[path] = (Libc.LStat(path) ?? throw new UnixSocketFileException($"Socket '{path}' vanished right after it was created."), lockFile);
                return socket;
            }
            catch
            {
                socket.Dispose();
                File.Delete(path); // bound by us a moment ago, under our lock
                throw;
            }
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var (path, (identity, lockFile)) in _created)
        {
            try
            {
                var current = Libc.LStat(path);
                if (current is not null && current.Value.IsSameFileAs(identity))
                {
                    File.Delete(path);
                    logger.SocketRemoved(path);
                }
                else if (current is not null)
                {
                    logger.SocketReplaced(path);
                }

                File.Delete(path + ".lock");
            }
            catch (IOException e)
            {
                logger.SocketRemovalFailed(path, e);
            }
            finally
            {
                lockFile.Dispose();
            }
        }

        _created.Clear();
    }
}
