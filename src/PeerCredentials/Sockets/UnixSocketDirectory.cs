using System.Globalization;
using Microsoft.Win32.SafeHandles;
using PeerCredentials.Interop;

namespace PeerCredentials.Sockets;

/// <summary>
/// The directory a socket file lives in, and every directory above it. A uid that can change any of
/// them can move the socket's directory aside and put its own in its place (<c>mv echoapi echoapi.old;
/// mkdir echoapi</c>), and the clients then talk to it. So each one must belong to root or to this
/// process's uid and be writable by no one else (a sticky directory such as <c>/tmp</c> excepted: there
/// no one can rename what another uid owns).
/// </summary>
/// <remarks>
/// The path is walked from <c>/</c> one name at a time, each opened relative to the directory before it
/// without following a symbolic link (<c>openat</c>, <c>O_PATH | O_NOFOLLOW</c>), and checked through
/// that handle: what is checked is what is used, with no path lookup in between. A symbolic link on the
/// way is followed by hand, and only when its owner is root or this uid, since it lives in a directory
/// already checked.
/// </remarks>
internal static class UnixSocketDirectory
{
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode WritableByOthers = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
    private const int MaxSymbolicLinks = 40; // the kernel's own limit (ELOOP)

    /// <summary>
    /// Opens the socket directory <paramref name="directory"/> for the service: every directory above it
    /// passes the check above, missing ones are created; the directory itself is a real directory (not a
    /// symbolic link) owned by this process's uid and writable by no one else. When missing it is created
    /// 0700, or 0710 owned by <paramref name="groupId"/> so that the group can reach a socket it is given
    /// (0711 when <paramref name="othersMayConnect"/>). An existing directory of ours that would keep them
    /// from the socket gets the search bits it lacks, or the start is refused saying what to change.
    /// </summary>
    /// <returns>A handle on the directory, for acting on the files in it without a path lookup.</returns>
    /// <exception cref="UnixSocketFileException">A directory on the path is not safe; the message names it.</exception>
    public static SafeFileHandle Open(string directory, uint? groupId, bool othersMayConnect = false)
    {
        // Directories created above the socket directory hold nothing but the way down: a group given the
        // socket needs to pass them (x), no one needs to list them.
        var shared = groupId is not null || othersMayConnect;
        var above = shared ? PrivateDirectory | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute : PrivateDirectory;
        var own = PrivateDirectory
            | (groupId is null ? 0 : UnixFileMode.GroupExecute)
            | (othersMayConnect ? UnixFileMode.GroupExecute | UnixFileMode.OtherExecute : 0);
        var (parent, parentPath) = WalkAncestors(directory, create: above);
        using (parent)
        {
            var name = Path.GetFileName(directory.TrimEnd('/'));
            if (name is "" or "." or "..")
            {
                throw new UnixSocketFileException($"Socket directory '{directory}' does not end in a plain name: give the socket a directory of its own, named plainly.");
            }

            var path = Join(parentPath, name);
            var created = MakeDirectory(parent, name, path);
            using var found = OpenEntry(parent, name, path) ?? throw new UnixSocketFileException($"Socket directory '{path}' vanished while it was being created.");
            var identity = Libc.Stat(found, path);
            var uid = UnixAccounts.EffectiveUserId;

            // Checked before anything is changed: whatever is at the path now (even if someone raced us to
            // it) must be a real directory of ours.
            if (identity.IsSymbolicLink)
            {
                throw new UnixSocketFileException($"Socket directory '{path}' is a symbolic link; refusing to create a socket behind it. Use a real directory owned by uid {uid}.");
            }

            if (!identity.IsDirectory)
            {
                throw new UnixSocketFileException($"Socket directory '{path}' is {identity.Describe()}, not a directory.");
            }

            if (identity.Uid != uid)
            {
                throw new UnixSocketFileException($"Socket directory '{path}' is owned by uid {identity.Uid}, not by this process (uid {uid}); refusing to use it. Use a directory of your own.");
            }

            if (!created && (identity.Permissions & WritableByOthers) != 0)
            {
                // Others could replace our socket file with their own (socket squatting).
                throw new UnixSocketFileException($"Socket directory '{path}' is writable by others (mode {Octal(identity.Permissions)}); they could replace the socket. Use a directory only its owner can write to.");
            }

            var handle = Libc.ReopenDirectory(found, path);
            try
            {
                if (created)
                {
                    if (groupId is { } gid)
                    {
                        Libc.ChangeGroup(handle, gid, path);
                    }

                    Libc.ChangeMode(handle, own, path); // exactly this mode, whatever the umask
                }
                else
                {
                    MatchSocketAccess(handle, path, identity, groupId, othersMayConnect);
                }

                return handle;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
    }

    // An existing directory (say 0700 from an earlier default run) would keep out the group or the others
    // that the socket's mode lets in. Search bits only are added, never read or write; a group is set only
    // on a directory that gives its group nothing yet, so no other group loses access.
    private static void MatchSocketAccess(SafeFileHandle handle, string path, FileIdentity found, uint? groupId, bool othersMayConnect)
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
                throw new UnixSocketFileException($"Socket directory '{path}' (mode {Octal(found.Permissions)}, gid {found.Gid}) keeps gid {gid} from the socket; run 'chgrp {gid} {path} && chmod 0710 {path}', or remove the directory so the service creates it.");
            }

            Libc.ChangeGroup(handle, gid, path);
            mode |= UnixFileMode.GroupExecute;
        }

        if (mode != found.Permissions)
        {
            Libc.ChangeMode(handle, mode, path);
        }
    }

    // mkdir relative to a checked directory; a directory this uid may not create is the user's to make.
    private static bool MakeDirectory(SafeFileHandle parent, string name, string path)
    {
        try
        {
            return Libc.MakeDirectoryAt(parent, name, PrivateDirectory, path);
        }
        catch (IOException e)
        {
            var uid = UnixAccounts.EffectiveUserId;
            throw new UnixSocketFileException($"Cannot create socket directory '{path}' as uid {uid} ({e.Message.TrimEnd('.')}). Create it yourself (mkdir -m 0700 '{path}') or choose a socket path in a directory you can write to.", e);
        }
    }

    /// <summary>
    /// Why a client should not trust a socket in <paramref name="directory"/>: the first directory on the
    /// path that another uid could change, or <see langword="null"/> when only root and this process's
    /// uid can change any of them. Nothing is created.
    /// </summary>
    public static string? FindProblem(string directory)
    {
        try
        {
            var (parent, parentPath) = WalkAncestors(directory, create: null);
            using (parent)
            {
                var name = Path.GetFileName(directory.TrimEnd('/'));
                if (name.Length == 0)
                {
                    return null; // the root directory, checked on the way
                }

                // The socket's own directory is walked like the ones above it (a link to it is fine when
                // its owner is), then held to the stricter rule: not even a sticky bit lets others write.
                var (resolved, resolvedPath) = Walk(parent, parentPath, [name], create: null);
                using (resolved)
                {
                    var identity = Libc.Stat(resolved, resolvedPath);
                    return (identity.Permissions & WritableByOthers) != 0
                        ? $"Socket directory '{resolvedPath}' is writable by others (mode {Octal(identity.Permissions)}): another uid could have put its own socket there."
                        : null;
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
            return null; // no socket to trust or distrust: dialling it says so
        }
        catch (UnixSocketFileException e)
        {
            return e.Message;
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    /// <summary>Walks to the parent of <paramref name="directory"/>, checking each directory on the way.</summary>
    /// <param name="directory">An absolute path.</param>
    /// <param name="create">The mode for missing directories, or <see langword="null"/> to refuse them.</param>
    private static (SafeFileHandle Handle, string Path) WalkAncestors(string directory, UnixFileMode? create)
    {
        if (!Path.IsPathFullyQualified(directory))
        {
            throw new UnixSocketFileException($"Socket directory '{directory}' is not an absolute path.");
        }

        var root = Libc.OpenRoot();
        try
        {
            CheckAncestor(Libc.Stat(root, "/"), "/");
        }
        catch
        {
            root.Dispose();
            throw;
        }

        var names = directory.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return Walk(root, "/", names.Length == 0 ? [] : names[..^1], create);
    }

    /// <summary>
    /// Follows <paramref name="names"/> from <paramref name="start"/> (which it takes over), checking every
    /// directory reached and every symbolic link passed.
    /// </summary>
    private static (SafeFileHandle Handle, string Path) Walk(SafeFileHandle start, string startPath, IEnumerable<string> names, UnixFileMode? create)
    {
        var current = start;
        var currentPath = startPath;
        var pending = new Stack<string>(Enumerable.Reverse(names));
        var links = 0;
        try
        {
            while (pending.TryPop(out var name))
            {
                if (name is "" or ".")
                {
                    continue;
                }

                var path = name == ".." ? Parent(currentPath) : Join(currentPath, name);
                var next = OpenEntry(current, name, path);
                if (next is null && create is { } mode)
                {
                    if (MakeDirectory(current, name, path))
                    {
                        using var made = OpenEntry(current, name, path) ?? throw new UnixSocketFileException($"Directory '{path}' vanished while it was being created.");
                        using var writable = Libc.ReopenDirectory(made, path);
                        Libc.ChangeMode(writable, mode, path); // exactly this mode, whatever the umask
                    }

                    next = OpenEntry(current, name, path);
                }

                if (next is null)
                {
                    throw new DirectoryNotFoundException($"Directory '{path}' does not exist.");
                }

                var identity = Libc.Stat(next, path);
                if (identity.IsSymbolicLink)
                {
                    try
                    {
                        CheckOwner(identity, path, "Symbolic link");
                        if (++links > MaxSymbolicLinks)
                        {
                            throw new UnixSocketFileException($"Too many symbolic links on the way to '{path}'.");
                        }

                        var target = Libc.ReadLink(next, path);
                        foreach (var part in Enumerable.Reverse(target.Split('/', StringSplitOptions.RemoveEmptyEntries)))
                        {
                            pending.Push(part);
                        }

                        if (target.StartsWith('/'))
                        {
                            current.Dispose();
                            current = Libc.OpenRoot();
                            currentPath = "/";
                        }
                    }
                    finally
                    {
                        next.Dispose();
                    }

                    continue;
                }

                try
                {
                    if (!identity.IsDirectory)
                    {
                        throw new UnixSocketFileException($"'{path}' is {identity.Describe()}, not a directory.");
                    }

                    CheckAncestor(identity, path);
                }
                catch
                {
                    next.Dispose();
                    throw;
                }

                current.Dispose();
                current = next;
                currentPath = path;
            }

            return (current, currentPath);
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    private static SafeFileHandle? OpenEntry(SafeFileHandle directory, string name, string path)
    {
        var errno = Libc.TryOpenNoFollow(directory, name, out var handle);
        return errno switch
        {
            0 => handle,
            Libc.ENOENT => null,
            _ => throw new UnixSocketFileException($"Cannot open '{path}': {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})."),
        };
    }

    private static void CheckAncestor(FileIdentity identity, string path)
    {
        CheckOwner(identity, path, "Directory");
        if ((identity.Permissions & WritableByOthers) != 0 && (identity.Permissions & UnixFileMode.StickyBit) == 0)
        {
            throw new UnixSocketFileException($"Directory '{path}' on the socket's path is writable by {WhoCanWrite(identity.Permissions)} (mode {Octal(identity.Permissions)}) and not sticky: another uid could move the socket directory aside and put its own in its place. {Remedy()}");
        }
    }

    private static void CheckOwner(FileIdentity identity, string path, string what)
    {
        var uid = UnixAccounts.EffectiveUserId;
        if (identity.Uid != 0 && identity.Uid != uid)
        {
            throw new UnixSocketFileException($"{what} '{path}' on the socket's path is owned by uid {identity.Uid}: that uid could move the socket directory aside and put its own in its place. {Remedy()}");
        }
    }

    private static string Remedy()
    {
        var uid = UnixAccounts.EffectiveUserId;
        return uid == 0
            ? "Use a socket path whose every directory only root can change."
            : $"Use a socket path whose every directory only root or uid {uid} can change.";
    }

    private static string WhoCanWrite(UnixFileMode mode) => (mode & WritableByOthers) switch
    {
        UnixFileMode.GroupWrite => "its group",
        UnixFileMode.OtherWrite => "others",
        _ => "its group and others",
    };

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8).PadLeft(3, '0');

    private static string Join(string directory, string name) => directory == "/" ? "/" + name : directory + "/" + name;

    private static string Parent(string path) => path == "/" ? "/" : Path.GetDirectoryName(path) ?? "/";
}
