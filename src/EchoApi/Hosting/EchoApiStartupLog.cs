using Microsoft.Extensions.Options;

namespace EchoApi.Hosting;

/// <summary>The service's "listening" lines, each with a command to try.</summary>
public static class EchoApiStartupLog
{
    private const string LifetimeCategory = "Microsoft.Hosting.Lifetime";

    /// <summary>
    /// Keeps the host's own start-up lines ("Now listening on: http://unix:…", "Application started",
    /// the content root) out of the log: the service's listening lines say the same, with a command to
    /// try. Its warnings stay, and <c>Logging:LogLevel:Microsoft.Hosting.Lifetime</c> brings the rest back.
    /// </summary>
    public static void QuietFrameworkStartupLines(ILoggingBuilder logging, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(logging);
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration[$"Logging:LogLevel:{LifetimeCategory}"] is null)
        {
            logging.AddFilter(LifetimeCategory, LogLevel.Warning);
        }
    }

    /// <summary>Logs where the service listens once it does.</summary>
    public static WebApplication LogListeningOnStart(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var options = app.Services.GetRequiredService<IOptions<EchoApiOptions>>().Value;
            if (SystemdSockets.Inherited() is { Count: > 0 } inherited)
            {
                app.Logger.ListeningOnSystemdSockets(inherited.Count, string.Join(", ", inherited.Select(s => s.Name)), options.OwnerUserId!.Value);
                if (!string.IsNullOrEmpty(options.OwnerSocketPath))
                {
                    app.Logger.OwnerSocketIgnoredUnderSystemd(options.OwnerSocketPath);
                }

                return;
            }

            // curl spells an abstract name without its '@' (--unix-socket @name dials a file named "@name").
            if (PeerCredentials.Sockets.UnixSocketPaths.IsAbstract(options.SocketPath!))
            {
                app.Logger.ListeningAbstract(options.SocketPath!, options.OwnerUserId!.Value, options.SocketPath![1..]);
            }
            else
            {
                app.Logger.Listening(options.SocketPath!, options.OwnerUserId!.Value);
            }

            if (!string.IsNullOrWhiteSpace(options.SocketGroup))
            {
                app.Logger.GroupCanConnectButIsRefused(options.SocketGroup, options.OwnerUserId!.Value);
            }

            if (!string.IsNullOrEmpty(options.OwnerSocketPath))
            {
                app.Logger.ListeningForOwner(options.OwnerSocketPath, options.OwnerUserId!.Value);
            }

            if (!string.IsNullOrEmpty(options.LineSocketPath))
            {
                if (PeerCredentials.Sockets.UnixSocketPaths.IsAbstract(options.LineSocketPath))
                {
                    app.Logger.ListeningForLinesAbstract(options.LineSocketPath, options.LineSocketPath[1..]);
                }
                else
                {
                    app.Logger.ListeningForLines(options.LineSocketPath);
                }
            }
        });
        return app;
    }
}
