namespace PeerCredentials.Client;

/// <summary>The process serving a Unix socket is not the one the client expected: nothing was sent to it.</summary>
public sealed class UntrustedServerException : IOException
{
    /// <summary>Creates the exception.</summary>
    public UntrustedServerException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public UntrustedServerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public UntrustedServerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
