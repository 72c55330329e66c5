using PeerCredentials.Sockets;

namespace EchoApi.Settings;

/// <summary>The socket files: where the service listens, and who the files let connect.</summary>
public sealed class SocketSettings
{
    /// <summary>The HTTP socket's path.</summary>
    /// <value>Defaults to <c>$XDG_RUNTIME_DIR/echoapi/echo.sock</c> (when that directory is the process's own); without it <c>/run/echoapi/echo.sock</c> for root, <c>/tmp/echoapi-UID/echo.sock</c> otherwise. Empty means the default, filled in at start.</value>
    public string SocketPath { get; set; } = "";

    /// <summary>The socket file's mode, in octal.</summary>
    /// <value>Defaults to <c>0600</c>, <see cref="UnixSocketFileOptions.Mode"/>'s default: only the owner can connect. <c>0660</c> lets the file's group connect too.</value>
    public string SocketMode { get; set; } = "0" + Convert.ToString((int)new UnixSocketFileOptions().Mode, 8);

    /// <summary>The group (name or gid) the socket files are given, before <c>listen()</c>; use with <c>SocketMode=0660</c>.</summary>
    /// <value>Defaults to <see langword="null"/>: the service's own group.</value>
    public string? SocketGroup { get; set; }

    /// <summary>
    /// A second HTTP socket for the owner alone: mode 0600 whatever <see cref="SocketMode"/> says, so no
    /// other uid can even connect to it, and a flood on the shared socket leaves it alone. For when the
    /// main socket is open to others (<see cref="SocketMode"/> 0660 or 0666, or an abstract socket).
    /// The service must run as the owner.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: none.</value>
    public string? OwnerSocketPath { get; set; }

    /// <summary>The raw line-echo socket's path (the classic <c>nc -U</c> protocol); empty turns it off.</summary>
    /// <value>Defaults to <c>line.sock</c> beside <see cref="SocketPath"/>.</value>
    public string? LineSocketPath { get; set; }

    /// <summary>The parsed <see cref="SocketMode"/>, set at start; <see cref="SocketModeIsValid"/> says whether it parsed.</summary>
    internal UnixFileMode SocketFileMode { get; set; }

    /// <summary>Whether <see cref="SocketMode"/> is a socket mode; validation stops the start when it is not.</summary>
    internal bool SocketModeIsValid { get; set; }

    /// <summary>Where <see cref="SocketPath"/> goes when it is not set, here and now.</summary>
    internal static string DefaultSocketPath() => UnixSocketPaths.GetDefault("echoapi", "echo.sock");
}
