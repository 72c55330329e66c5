namespace PeerCredentials.Authorization;

/// <summary>
/// A selector that cannot be used: malformed, of an unknown kind, or naming a user or group the system
/// does not know. The message names the selector and says what to write instead.
/// </summary>
public sealed class PeerSelectorException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public PeerSelectorException()
        : this(string.Empty, "The selector cannot be used.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the selector.</param>
    public PeerSelectorException(string message)
        : this(string.Empty, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the selector.</param>
    /// <param name="innerException">The error of the selector's kind.</param>
    public PeerSelectorException(string message, Exception innerException)
        : this(string.Empty, message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="selector">The selector as it was given.</param>
    /// <param name="message">What is wrong, naming the selector.</param>
    /// <param name="innerException">The error of the selector's kind, if any.</param>
    public PeerSelectorException(string selector, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Selector = selector;
    }

    /// <summary>The selector as it was given.</summary>
    public string Selector { get; }
}
