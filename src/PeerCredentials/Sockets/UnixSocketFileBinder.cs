using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// Creates Kestrel's listen sockets for registered Unix socket paths: checks the directory and every
/// directory above it, takes the lock, clears a stale socket, binds, sets mode and group, and hands the
/// socket to Kestrel, which then calls <c>listen()</c>. On disposal it removes the files it created, if
/// they are still the same files. An abstract name that is taken is reported as such.
/// </summary>
internal sealed class UnixSocketFileBinder(ILogger<UnixSocketFileBinder> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, UnixSocketFileOptions> _registered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (SafeFileHandle Directory, FileIdentity Socket, SafeFileHandle Lock)> _created = new(StringComparer.Ordinal);

    public void Register(string path, UnixSocketFileOptions options) => _registered[path] = options;

    /// <summary>The <see cref="SocketTransportOptions.CreateBoundListenSocket"/> of the Sockets transport.</summary>
    public Socket CreateBoundListenSocket(EndPoint endpoint)
    {
        if (endpoint is UnixDomainSocketEndPoint unix && unix.ToString() is { } path)
        {
            if (_registered.TryGetValue(path, out var options))
            {
                return Bind(path, options);
            }

            if (UnixSocketPaths.IsAbstract(path))
            {
                return BindAbstract(endpoint, path);
            }
        }

        return SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
    }

    private static Socket BindAbstract(EndPoint endpoint, string name)
    {
        try
        {
            return SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            // An abstract name belongs to whoever binds it first: any local process can hold it.
            throw new UnixSocketFileException($"Abstract socket '{name}' is already taken by another process (another instance, or anyone: an abstract name has no owner and no permissions). Stop that process or choose another name.", e);
        }
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

        var othersMayConnect = (options.Mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0;
        var directory = UnixSocketDirectory.Open(Path.GetDirectoryName(path)!, gid, othersMayConnect);
        SafeFileHandle? lockFile = null;
        try
        {
            // One instance per path, for the process's life.
            lockFile = UnixSocketFile.Lock(directory, path);
            if (UnixSocketFile.RemoveIfStale(directory, path))
            {
                logger.StaleSocketRemoved(path);
            }

            var socket = new Socket(Libc.BindUnixStreamSocket(path));
            try
            {
                // Not yet listening: connect() is refused until Kestrel calls listen(), so these take
                // effect before anyone can get in.
                var identity = UnixSocketFile.SetModeAndGroup(directory, path, options.Mode, gid);
                _created[path] = (directory, identity, lockFile);
                return socket;
            }
            catch
            {
                socket.Dispose();
                Libc.UnlinkFrom(directory, Path.GetFileName(path), path); // bound by us a moment ago, under our lock
                throw;
            }
        }
        catch
        {
            lockFile?.Dispose();
            directory.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var (path, (directory, identity, lockFile)) in _created)
        {
            var name = Path.GetFileName(path);
            try
            {
                var current = Libc.StatAt(directory, name, path);
                if (current is not null && current.Value.IsSameFileAs(identity))
                {
                    Libc.UnlinkFrom(directory, name, path);
                    logger.SocketRemoved(path);
                }
                else if (current is not null)
                {
                    logger.SocketReplaced(path);
                }

                Libc.UnlinkFrom(directory, name + ".lock", path + ".lock");
            }
            catch (IOException e)
            {
                logger.SocketRemovalFailed(path, e);
            }
            finally
            {
                lockFile.Dispose();
                directory.Dispose();
            }
        }

        _created.Clear();
    }
}
