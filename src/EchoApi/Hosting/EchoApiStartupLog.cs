using EchoApi.Settings;
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
            var sockets = app.Services.GetRequiredService<IOptions<SocketSettings>>().Value;
            var owner = app.Services.GetRequiredService<IOptions<AccessSettings>>().Value.OwnerUserId;
            if (SystemdSockets.Inherited() is { Count: > 0 } inherited)
            {
                app.Logger.ListeningOnSystemdSockets(inherited.Count, string.Join(", ", inherited.Select(s => s.Name)), owner);
                if (!string.IsNullOrEmpty(sockets.OwnerSocketPath))
                {
                    app.Logger.OwnerSocketIgnoredUnderSystemd(sockets.OwnerSocketPath);
                }

                return;
            }

            // curl spells an abstract name without its '@' (--unix-socket @name dials a file named "@name").
            if (PeerCredentials.Sockets.UnixSocketPaths.IsAbstract(sockets.SocketPath))
            {
                app.Logger.ListeningAbstract(sockets.SocketPath, owner, sockets.SocketPath[1..]);
            }
            else
            {
                app.Logger.Listening(sockets.SocketPath, owner);
            }

            if (app.Services.GetRequiredService<AccessRules>().Rules is { } rules)
            {
                app.Logger.AccessRulesInForce(owner, string.Join("; ", rules.Rules.Skip(1).Select(r => r.Name)));
            }

            if (!string.IsNullOrEmpty(sockets.OwnerSocketPath))
            {
                app.Logger.ListeningForOwner(sockets.OwnerSocketPath, owner);
            }

            if (!string.IsNullOrEmpty(sockets.LineSocketPath))
            {
                if (PeerCredentials.Sockets.UnixSocketPaths.IsAbstract(sockets.LineSocketPath))
                {
                    app.Logger.ListeningForLinesAbstract(sockets.LineSocketPath, sockets.LineSocketPath[1..]);
                }
                else
                {
                    app.Logger.ListeningForLines(sockets.LineSocketPath);
                }
            }
        });
        return app;
    }
}
