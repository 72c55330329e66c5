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
}
