namespace PeerCredentials.Sockets;

/// <summary>A Unix socket file cannot be set up safely; the message says what was found and what to do.</summary>
public sealed class UnixSocketFileException : IOException
{
    /// <summary>Creates the exception.</summary>
    public UnixSocketFileException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public UnixSocketFileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public UnixSocketFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
