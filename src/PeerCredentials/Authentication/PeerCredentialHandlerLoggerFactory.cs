using Microsoft.Extensions.Logging;

namespace PeerCredentials.Authentication;

/// <summary>The authentication handler's logger factory: hands out its one logger, created once.</summary>
internal sealed class PeerCredentialHandlerLoggerFactory(ILoggerFactory loggers) : ILoggerFactory
{
    private readonly ILogger _logger = loggers.CreateLogger(typeof(PeerCredentialAuthenticationHandler).FullName!);

    public ILogger CreateLogger(string categoryName) => _logger;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Add logger providers to the application's logger factory.");

    public void Dispose()
    {
    }
}
