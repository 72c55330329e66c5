using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

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

    // macOS and FreeBSD: the local domain's own level and options (sys/un.h on both).
    internal const int SolLocal = 0;
    internal const int LocalPeerCred = 1;
    internal const int LocalPeerPid = 2; // macOS only

    internal const int ENOENT = 2;
    internal const int ERANGE = 34;
    internal const int ENOSYS = 38;

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

        return ReadStatx(buf);
    }

    private static FileIdentity ReadStatx(byte* buf)
    {
        return new FileIdentity(
            Uid: *(uint*)(buf + 20),
            Gid: *(uint*)(buf + 24),
            Mode: *(ushort*)(buf + 28),
            Inode: *(ulong*)(buf + 32),
            DeviceMajor: *(uint*)(buf + 136),
            DeviceMinor: *(uint*)(buf + 140));
    }

    // Directory handles: a path is checked one directory at a time, each opened relative to the one
    // before, and then acted on through the handles that were checked (openat, statx, fchmod, ...),
    // so that nothing is ever decided about one file and done to another that a rename put there.

    internal const int EAGAIN = 11; // EWOULDBLOCK on Linux
    internal const int EEXIST = 17;
    internal const int EISDIR = 21;
    internal const int ELOOP = 40;
    private const int EOPNOTSUPP = 95;

    private const int ORdOnly = 0;
    private const int ORdWr = 2;
    private const int OCreat = 0x40;
    private const int OCloExec = 0x80000;
    private const int OPath = 0x200000;
    private const int AtEmptyPath = 0x1000;
    private const int LockExclusive = 2, LockNonBlocking = 4;
    private static readonly int RLimitNoFile = OperatingSystem.IsLinux() ? 7 : 8; // 8 on macOS and FreeBSD

    // O_DIRECTORY and O_NOFOLLOW are the open flags whose values differ between Linux architectures.
    private static readonly bool ArmOpenFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Armv6 or Architecture.Arm64 or Architecture.Ppc64le;
    private static readonly int ODirectory = ArmOpenFlags ? 0x4000 : 0x10000;
    private static readonly int ONoFollow = ArmOpenFlags ? 0x8000 : 0x20000;

    // openat(2) is variadic in C (its mode is "..."). On the Linux ABIs .NET runs on (x86-64 System V,
    // AAPCS64, ...) a variadic integer is passed exactly like a fixed one, so it is declared fixed here.
    [LibraryImport(LibraryName, EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenAt(SafeFileHandle dirfd, string path, int flags, uint mode);

    [LibraryImport(LibraryName, EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenAt(int dirfd, string path, int flags, uint mode);

    [LibraryImport(LibraryName, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatX(SafeFileHandle dirfd, string path, int flags, uint mask, byte* statxbuf);

    [LibraryImport(LibraryName, EntryPoint = "mkdirat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MkDirAt(SafeFileHandle dirfd, string path, uint mode);

    [LibraryImport(LibraryName, EntryPoint = "readlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint ReadLinkAt(SafeFileHandle dirfd, string path, byte* buf, nuint size);

    [LibraryImport(LibraryName, EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FChMod(SafeFileHandle fd, uint mode);

    [LibraryImport(LibraryName, EntryPoint = "fchmodat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int FChModAt(SafeFileHandle dirfd, string path, uint mode, int flags);

    [LibraryImport(LibraryName, EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int ChMod(string path, uint mode);

    [LibraryImport(LibraryName, EntryPoint = "fchownat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int FChOwnAt(SafeFileHandle dirfd, string path, uint owner, uint group, int flags);

    [LibraryImport(LibraryName, EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UnlinkAt(SafeFileHandle dirfd, string path, int flags);

    [LibraryImport(LibraryName, EntryPoint = "flock", SetLastError = true)]
    private static partial int FLock(SafeFileHandle fd, int operation);

    [LibraryImport(LibraryName, EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport(LibraryName, EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, RLimit* limit);

    // rlim_t is unsigned long on Linux, in glibc and musl alike.
    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public nuint Current;
        public nuint Maximum;
    }

    /// <summary>A handle on the root directory, where every checked walk starts.</summary>
    internal static SafeFileHandle OpenRoot()
    {
        var fd = OpenAt(AtFdCwd, "/", OPath | ODirectory | OCloExec, 0);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Failure("open", "/", Marshal.GetLastPInvokeError());
    }

    /// <summary>
    /// Opens <paramref name="name"/> in <paramref name="directory"/> as it is, a symbolic link included
    /// (<c>O_PATH | O_NOFOLLOW</c>): a handle to inspect it through, that grants no access to its content.
    /// </summary>
    /// <returns>0 and the handle, or the errno (ENOENT: nothing there).</returns>
    internal static int TryOpenNoFollow(SafeFileHandle directory, string name, out SafeFileHandle? handle)
        => TryOpen(directory, name, OPath | ONoFollow | OCloExec, 0, out handle);

    /// <summary>A readable handle on the directory that <paramref name="pathHandle"/> (an <c>O_PATH</c> handle) is, for <c>fchmod</c> and friends.</summary>
    internal static SafeFileHandle ReopenDirectory(SafeFileHandle pathHandle, string path)
    {
        var errno = TryOpen(pathHandle, ".", ORdOnly | ODirectory | OCloExec, 0, out var handle);
        return handle ?? throw Failure("open", path, errno);
    }

    /// <summary>
    /// Opens or creates the lock file <paramref name="name"/> in <paramref name="directory"/>, mode 0600
    /// when created, never through a symbolic link (<c>O_NOFOLLOW</c>: ELOOP instead).
    /// </summary>
    /// <returns>0 and the handle, or the errno.</returns>
    internal static int TryOpenLockFile(SafeFileHandle directory, string name, out SafeFileHandle? handle)
        => TryOpen(directory, name, ORdWr | OCreat | ONoFollow | OCloExec, 0b110_000_000, out handle);

    private static int TryOpen(SafeFileHandle directory, string name, int flags, uint mode, out SafeFileHandle? handle)
    {
        var fd = OpenAt(directory, name, flags, mode);
        if (fd < 0)
        {
            handle = null;
            return Marshal.GetLastPInvokeError();
        }

        handle = new SafeFileHandle(fd, ownsHandle: true);
        return 0;
    }

    /// <summary>What <paramref name="handle"/> is (for a symbolic link opened with <c>O_PATH</c>: the link itself).</summary>
    internal static FileIdentity Stat(SafeFileHandle handle, string path)
    {
        byte* buf = stackalloc byte[256];
        return StatX(handle, string.Empty, AtEmptyPath | AtSymlinkNoFollow, StatxBasicStats, buf) == 0
            ? ReadStatx(buf)
            : throw Failure("statx", path, Marshal.GetLastPInvokeError());
    }

    /// <summary>What is at <paramref name="name"/> in <paramref name="directory"/>, not following a link; <see langword="null"/> when nothing is.</summary>
    internal static FileIdentity? StatAt(SafeFileHandle directory, string name, string path)
    {
        byte* buf = stackalloc byte[256];
        if (StatX(directory, name, AtSymlinkNoFollow, StatxBasicStats, buf) == 0)
        {
            return ReadStatx(buf);
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == ENOENT ? null : throw Failure("statx", path, errno);
    }

    /// <summary>The target of the symbolic link that <paramref name="link"/> (an <c>O_PATH</c> handle) is.</summary>
    internal static string ReadLink(SafeFileHandle link, string path)
    {
        const int PathMax = 4096;
        byte* buf = stackalloc byte[PathMax];
        var length = ReadLinkAt(link, string.Empty, buf, PathMax);
        return length >= 0 && length < PathMax
            ? System.Text.Encoding.UTF8.GetString(buf, (int)length)
            : throw Failure("readlink", path, length < 0 ? Marshal.GetLastPInvokeError() : ERANGE);
    }

    /// <summary>Creates the directory <paramref name="name"/> in <paramref name="directory"/>; <see langword="false"/> when something is already there.</summary>
    internal static bool MakeDirectoryAt(SafeFileHandle directory, string name, UnixFileMode mode, string path)
    {
        if (MkDirAt(directory, name, (uint)mode) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EEXIST ? false : throw Failure("mkdir", path, errno);
    }

    /// <summary>Sets the mode of the open file <paramref name="handle"/>, whatever the umask.</summary>
    internal static void ChangeMode(SafeFileHandle handle, UnixFileMode mode, string path)
    {
        if (FChMod(handle, (uint)mode) != 0)
        {
            throw Failure("fchmod", path, Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// Sets the mode of <paramref name="name"/> in <paramref name="directory"/>, never through a symbolic
    /// link. <paramref name="file"/> is an <c>O_PATH</c> handle on it: the C libraries' own way, for C
    /// libraries that do not have one (glibc before 2.32), is a chmod of its <c>/proc/self/fd</c> entry,
    /// which names that very inode.
    /// </summary>
    internal static void ChangeModeNoFollow(SafeFileHandle directory, string name, SafeFileHandle file, UnixFileMode mode, string path)
    {
        if (FChModAt(directory, name, (uint)mode, AtSymlinkNoFollow) == 0)
        {
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno is not (EOPNOTSUPP or ENOSYS))
        {
            throw Failure("fchmodat", path, errno);
        }

        var added = false;
        try
        {
            file.DangerousAddRef(ref added);
            var viaProc = "/proc/self/fd/" + file.DangerousGetHandle().ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (ChMod(viaProc, (uint)mode) != 0)
            {
                throw Failure("chmod", path, Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>Gives the file <paramref name="handle"/> (any handle, <c>O_PATH</c> included) to group <paramref name="gid"/>.</summary>
    internal static void ChangeGroup(SafeFileHandle handle, uint gid, string path)
    {
        if (FChOwnAt(handle, string.Empty, uint.MaxValue, gid, AtEmptyPath) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot give '{path}' to group {gid}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }
    }

    /// <summary>Removes <paramref name="name"/> from <paramref name="directory"/> (a link is removed, never followed); <see langword="false"/> when nothing was there.</summary>
    internal static bool UnlinkFrom(SafeFileHandle directory, string name, string path)
    {
        if (UnlinkAt(directory, name, 0) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == ENOENT ? false : throw Failure("unlink", path, errno);
    }

    /// <summary>Takes an exclusive <c>flock</c> on <paramref name="handle"/> without waiting; <see langword="false"/> when another holds it.</summary>
    internal static bool TryLockExclusive(SafeFileHandle handle, string path)
    {
        if (FLock(handle, LockExclusive | LockNonBlocking) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EAGAIN ? false : throw Failure("flock", path, errno);
    }

    /// <summary>The soft and hard <c>RLIMIT_NOFILE</c>; <see cref="ulong.MaxValue"/> for no limit.</summary>
    internal static (ulong Soft, ulong Hard) GetOpenFileLimit()
    {
        RLimit limit;
        return GetRLimit(RLimitNoFile, &limit) == 0
            ? (Widen(limit.Current), Widen(limit.Maximum))
            : throw Failure("getrlimit", "RLIMIT_NOFILE", Marshal.GetLastPInvokeError());
    }

    /// <summary>Sets the soft <c>RLIMIT_NOFILE</c>, keeping the hard one; 0 or the errno.</summary>
    internal static int TrySetOpenFileLimit(ulong soft, ulong hard)
    {
        var limit = new RLimit { Current = Narrow(soft), Maximum = Narrow(hard) };
        return SetRLimit(RLimitNoFile, &limit) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    // RLIM_INFINITY is all ones in rlim_t's width.
    private static ulong Widen(nuint value) => value == nuint.MaxValue ? ulong.MaxValue : value;

    private static nuint Narrow(ulong value) => value >= nuint.MaxValue ? nuint.MaxValue : (nuint)value;

    private static IOException Failure(string call, string path, int errno)
        => new($"{call}('{path}') failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
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
