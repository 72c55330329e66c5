namespace PeerCredentials.Sockets;

/// <summary>How a Unix socket file is created.</summary>
public sealed class UnixSocketFileOptions
{
    /// <summary>
    /// The socket file's permissions, set after <c>bind()</c> and before <c>listen()</c>, so that no one
    /// else can connect in between. Only read and write bits have a meaning for a socket.
    /// </summary>
    /// <value>Defaults to 0600: the owner only.</value>
    public UnixFileMode Mode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// The group (name or gid) to give the socket file, also before <c>listen()</c>, for access through
    /// group permission bits in <see cref="Mode"/>.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: the process's group.</value>
    public string? Group { get; set; }

    /// <summary>
    /// Parses a socket file mode written in octal (<c>0600</c>, <c>660</c>): read and write bits only
    /// (execute and special bits mean nothing on a socket), and the owner's read and write among them.
    /// </summary>
    /// <returns><see langword="false"/> when <paramref name="text"/> is not such a mode.</returns>
    public static bool TryParseMode(string? text, out UnixFileMode mode)
    {
        const int ReadWriteBits = 0b110_110_110;
        const int OwnerReadWrite = 0b110_000_000;
        mode = default;
        var digits = text?.Trim();
        if (string.IsNullOrEmpty(digits) || digits.Length > 4 || digits.Any(c => c is < '0' or > '7'))
        {
            return false;
        }

        var value = Convert.ToInt32(digits, 8);
        if ((value & ~ReadWriteBits) != 0 || (value & OwnerReadWrite) != OwnerReadWrite)
        {
            return false;
        }

        mode = (UnixFileMode)value;
        return true;
    }
}
