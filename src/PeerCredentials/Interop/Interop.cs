using System.Runtime.InteropServices;

namespace PeerCredentials.Interop;

/// <summary>
/// Every native call of the library, source-generated and AOT-safe. Each wrapper turns an errno
/// into an exception that names the call and the object it was about.
/// </summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    // Linux socket option numbers (include/uapi/asm-generic/socket.h).
    internal const int SolSocket = 1;
    internal const int SoPeerCred = 17;
    internal const int SoPeerGroups = 59;
    internal const int SoPeerPidFd = 77;

    internal const int ENOENT = 2;
    internal const int ERANGE = 34;

    [LibraryImport(LibraryName, EntryPoint = "geteuid")]
    internal static partial uint GetEffectiveUserId();

    [LibraryImport(LibraryName, EntryPoint = "getpwuid_r", SetLastError = true)]
    private static partial int GetPwUidR(uint uid, Passwd* pwd, byte* buf, nuint buflen, Passwd** result);

    [LibraryImport(LibraryName, EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int GetPwNamR(string name, Passwd* pwd, byte* buf, nuint buflen, Passwd** result);

    [LibraryImport(LibraryName, EntryPoint = "getgrgid_r", SetLastError = true)]
    private static partial int GetGrGidR(uint gid, Group* grp, byte* buf, nuint buflen, Group** result);

    [LibraryImport(LibraryName, EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int GetGrNamR(string name, Group* grp, byte* buf, nuint buflen, Group** result);

    [LibraryImport(LibraryName, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatX(int dirfd, string path, int flags, uint mask, byte* statxbuf);

    [LibraryImport(LibraryName, EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LChown(string path, uint owner, uint group);

    [LibraryImport(LibraryName, EntryPoint = "socket", SetLastError = true)]
    private static partial int CreateSocket(int domain, int type, int protocol);

    [LibraryImport(LibraryName, EntryPoint = "bind", SetLastError = true)]
    private static partial int BindSocket(int fd, byte* address, uint length);

    [LibraryImport(LibraryName, EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport(LibraryName, EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);

    /// <summary>Whether <paramref name="fd"/> is a Unix stream socket (<c>SO_DOMAIN</c> and <c>SO_TYPE</c>).</summary>
    internal static bool IsUnixStreamSocket(ulong fd)
    {
        const int SoType = 3, SoDomain = 39, AfUnix = 1, SockStream = 1;
        int value;
        uint length = sizeof(int);
        if (fd > int.MaxValue || GetSockOpt((int)fd, SolSocket, SoDomain, &value, &length) != 0 || value != AfUnix)
        {
            return false;
        }

        length = sizeof(int);
        return GetSockOpt((int)fd, SolSocket, SoType, &value, &length) == 0 && value == SockStream;
    }


    /// <summary>
    /// A Unix stream socket bound to <paramref name="path"/>, made with <c>socket</c> and <c>bind</c>
    /// directly: a <see cref="System.Net.Sockets.Socket"/> that binds a path itself deletes that path
    /// when disposed, whoever's socket is there by then; one made from this handle leaves the file to
    /// its owner's checks.
    /// </summary>
    internal static System.Net.Sockets.SafeSocketHandle BindUnixStreamSocket(string path)
    {
        const int AfUnix = 1, SockStream = 1, SockCloexec = 0x80000, SunPathBytes = 108;
        var bytes = System.Text.Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= SunPathBytes)
        {
            throw new ArgumentException($"'{path}' does not fit in sun_path.", nameof(path));
        }

        var fd = CreateSocket(AfUnix, SockStream | SockCloexec, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"socket(AF_UNIX) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }

        byte* address = stackalloc byte[2 + SunPathBytes];
        new Span<byte>(address, 2 + SunPathBytes).Clear();
        *(ushort*)address = AfUnix;
        bytes.CopyTo(new Span<byte>(address + 2, SunPathBytes));
        if (BindSocket(fd, address, (uint)(2 + bytes.Length + 1)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _ = Close(fd); // the bind error is the one worth reporting
            throw new IOException($"Cannot bind '{path}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }

        return new System.Net.Sockets.SafeSocketHandle(fd, ownsHandle: true);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public byte* Name;
        public byte* Password;
        public uint Uid;
        public uint Gid;
        public byte* Gecos;
        public byte* Dir;
        public byte* Shell;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Group
    {
        public byte* Name;
        public byte* Password;
        public uint Gid;
        public byte** Members;
    }

    /// <summary>Looks up a user by uid; <see langword="null"/> when the user database has no entry.</summary>
    internal static (string Name, uint Uid, uint Gid)? GetUserById(uint uid)
        => LookUpUser(uid, null);

    /// <summary>Looks up a user by name; <see langword="null"/> when the user database has no entry.</summary>
    internal static (string Name, uint Uid, uint Gid)? GetUserByName(string name)
        => LookUpUser(0, name);

    /// <summary>Looks up a group by gid; <see langword="null"/> when the group database has no entry.</summary>
    internal static (string Name, uint Gid)? GetGroupById(uint gid)
        => LookUpGroup(gid, null);

    /// <summary>Looks up a group by name; <see langword="null"/> when the group database has no entry.</summary>
    internal static (string Name, uint Gid)? GetGroupByName(string name)
        => LookUpGroup(0, name);

    private static (string Name, uint Uid, uint Gid)? LookUpUser(uint uid, string? name)
    {
        for (var size = 1024; ; size *= 2)
        {
            var buffer = new byte[size];
            Passwd entry;
            Passwd* result = null;
            int error;
            fixed (byte* buf = buffer)
            {
                error = name is null
                    ? GetPwUidR(uid, &entry, buf, (nuint)size, &result)
                    : GetPwNamR(name, &entry, buf, (nuint)size, &result);
                if (error == 0 && result is not null)
                {
                    return (Utf8(entry.Name), entry.Uid, entry.Gid);
                }
            }

            if (error == ERANGE && size < 1 << 20)
            {
                continue;
            }

            // Not found is reported as 0 (or ENOENT and friends by some NSS modules): fall back to the number.
            if (error == 0 || error == ENOENT || error == 3 /* ESRCH */ || error == 9 /* EBADF */ || error == 1 /* EPERM */)
            {
                return null;
            }

            throw new IOException($"getpw{(name is null ? "uid" : "nam")}_r({name ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture)}) failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }
    }

    private static (string Name, uint Gid)? LookUpGroup(uint gid, string? name)
    {
        for (var size = 1024; ; size *= 2)
        {
            var buffer = new byte[size];
            Group entry;
            Group* result = null;
            int error;
            fixed (byte* buf = buffer)
            {
                error = name is null
                    ? GetGrGidR(gid, &entry, buf, (nuint)size, &result)
                    : GetGrNamR(name, &entry, buf, (nuint)size, &result);
                if (error == 0 && result is not null)
                {
                    return (Utf8(entry.Name), entry.Gid);
                }
            }

            if (error == ERANGE && size < 1 << 24)
            {
                continue;
            }

            if (error == 0 || error == ENOENT || error == 3 || error == 9 || error == 1)
            {
                return null;
            }

            throw new IOException($"getgr{(name is null ? "gid" : "nam")}_r({name ?? gid.ToString(System.Globalization.CultureInfo.InvariantCulture)}) failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }
    }

    private static string Utf8(byte* s) => s is null ? string.Empty : Marshal.PtrToStringUTF8((nint)s) ?? string.Empty;

    // struct statx is laid out the same on every Linux architecture, unlike struct stat.
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>
    /// <c>lstat</c> through <c>statx</c>: the file's type, mode, owner and identity, without following a
    /// symbolic link. <see langword="null"/> when nothing is at the path.
    /// </summary>
    internal static FileIdentity? LStat(string path)
    {
        byte* buf = stackalloc byte[256];
        if (StatX(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buf) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENOENT)
            {
                return null;
            }

            throw new IOException($"Cannot inspect '{path}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }

        return new FileIdentity(
            Uid: *(uint*)(buf + 20),
            Gid: *(uint*)(buf + 24),
            Mode: *(ushort*)(buf + 28),
            Inode: *(ulong*)(buf + 32),
            DeviceMajor: *(uint*)(buf + 136),
            DeviceMinor: *(uint*)(buf + 140));
    }

    /// <summary>Changes the group of the file at <paramref name="path"/> (not following a symbolic link).</summary>
    internal static void LChangeGroup(string path, uint gid)
    {
        if (LChown(path, uint.MaxValue, gid) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot give '{path}' to group {gid}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }
    }
}

/// <summary>What <c>lstat</c> says about a path: enough to tell its type and owner and to recognise it later.</summary>
internal readonly record struct FileIdentity(uint Uid, uint Gid, ushort Mode, ulong Inode, uint DeviceMajor, uint DeviceMinor)
{
    private const int TypeMask = 0xF000; // S_IFMT

    public bool IsSocket => (Mode & TypeMask) == 0xC000;
    public bool IsSymbolicLink => (Mode & TypeMask) == 0xA000;
    public bool IsDirectory => (Mode & TypeMask) == 0x4000;
    public UnixFileMode Permissions => (UnixFileMode)(Mode & 0xFFF);

    public bool IsSameFileAs(FileIdentity other)
        => Inode == other.Inode && DeviceMajor == other.DeviceMajor && DeviceMinor == other.DeviceMinor;

    public string Describe() => (Mode & TypeMask) switch
    {
        0x8000 => "a regular file",
        0x4000 => "a directory",
        0xA000 => "a symbolic link",
        0xC000 => "a socket",
        0x1000 => "a FIFO",
        0x2000 => "a character device",
        0x6000 => "a block device",
        _ => "an unknown kind of file",
    };
}
