namespace EchoApi.Hosting;

/// <summary>A setting or argument stops the start; the message is the one line that says which, its value and what to use.</summary>
public sealed class StartupFailureException : Exception
{
    /// <summary>Creates the failure.</summary>
    public StartupFailureException()
    {
    }

    /// <summary>Creates the failure with its one line.</summary>
    public StartupFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the failure with its one line and its cause.</summary>
    public StartupFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
