using System.Reflection;
using EchoApi.Health;
using EchoApi.Settings;

namespace EchoApi.Hosting;

/// <summary>
/// The command line before the host sees it: <c>--help</c>, <c>--version</c> and <c>--health</c> answer
/// and exit; a switch the service does not know, or one without its value, stops it with one line.
/// Settings themselves (<c>--EchoApi:Name=value</c>) go on to configuration, where unknown ones are caught.
/// </summary>
public static class CommandLine
{
    private static readonly string[] Flags = ["--help", "-h", "--version", HealthProbe.Switch];

    // Switches that take a value: the short forms of settings.
    private static readonly string[] ValueSwitches = [.. EchoApiSettings.SwitchMappings.Keys, "--environment"];

    // The host's own settings, which test hosts (WebApplicationFactory) pass to Program as --key=value.
    private static readonly string[] HostSettings = ["--environment", "--contentRoot", "--applicationName", "--webroot", "--preventHostingStartup", "--hostingStartupAssemblies", "--hostingStartupExcludeAssemblies", "--detailedErrors", "--captureStartupErrors", "--shutdownTimeoutSeconds", "--suppressStatusMessages", "--startupAssembly", "--preferHostingUrls"];

    /// <summary>Answers the switches that end the run; <see langword="null"/> when the service should start.</summary>
    public static async Task<int?> HandleAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Contains("--help") || args.Contains("-h"))
        {
            await Console.Out.WriteAsync(Usage());
            return 0;
        }

        if (args.Contains("--version"))
        {
            await Console.Out.WriteLineAsync($"EchoApi {Version()}");
            return 0;
        }

        if (Problem(args) is { } problem)
        {
            await Console.Error.WriteLineAsync($"echoapi: {problem}");
            return 1;
        }

        return args.Contains(HealthProbe.Switch) ? await HealthProbe.RunAsync(args) : null;
    }

    /// <summary>What is wrong with <paramref name="args"/>, or <see langword="null"/> when nothing is.</summary>
    internal static string? Problem(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var argument = args[i];
            if (Flags.Contains(argument))
            {
                continue;
            }

            if (!argument.StartsWith('-'))
            {
                // The configuration provider's "Key=value" form; a bare word is a mistake.
                if (argument.Contains('=', StringComparison.Ordinal) && !argument.StartsWith('='))
                {
                    continue;
                }

                return $"unexpected argument '{argument}'; settings are given as --EchoApi:Name=value (see --help)";
            }

            var name = argument.Split('=', 2)[0];
            var hasValue = argument.Contains('=', StringComparison.Ordinal);
            if (hasValue && argument.Length == name.Length + 1 && args.Any(a => a.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)))
            {
                continue; // a section's own empty entry, as test hosts pass every configuration key (--EchoApi= beside --EchoApi:SocketPath=…)
            }

            var isKey = name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal) || HostSettings.Contains(name, StringComparer.OrdinalIgnoreCase);
            if (isKey || ValueSwitches.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                // --Key= is an empty value (EchoApi:LineSocketPath= turns the line socket off); --socket= is not a path.
                if (hasValue ? argument.Length == name.Length + 1 && !isKey : i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    return $"{name} needs a value ({name} VALUE or {name}=VALUE)";
                }

                i += hasValue ? 0 : 1;
                continue;
            }

            var setting = SettingsReader.KnownSettings.FirstOrDefault(s => string.Equals(s, name.TrimStart('-'), StringComparison.OrdinalIgnoreCase));
            var meant = setting is not null
                ? $"--{EchoApiSettings.Key(setting)}"
                : SettingsReader.Closest(name, [.. Flags.Where(f => f.StartsWith("--", StringComparison.Ordinal)), .. ValueSwitches]);
            return $"unknown switch {name}" + (meant is null ? "; see --help" : $"; did you mean {meant}?");
        }

        return null;
    }

    private static string Version()
        => typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(CommandLine).Assembly.GetName().Version?.ToString()
            ?? "unknown";

    private static string Usage()
    {
        var (sockets, access, limits, webSockets) = (new SocketSettings(), new AccessSettings(), new LimitSettings(), new WebSocketSettings());
        var socket = SocketSettings.DefaultSocketPath();
        return $"""
            EchoApi {Version()}: an echo service on a Unix socket; the kernel's peer credentials decide who gets in.

            Usage: EchoApi [--socket PATH] [--EchoApi:Name=value ...]
                   EchoApi --health [--socket PATH]

              --socket PATH          the HTTP socket (same as --EchoApi:SocketPath=PATH); @name for an abstract socket
              --health               ask the running service's /healthz; exit 0 when healthy, 1 otherwise
              --version              print the version and exit
              -h, --help             print this help and exit

            The socket goes to $XDG_RUNTIME_DIR/echoapi/echo.sock; without XDG_RUNTIME_DIR to
            /run/echoapi/echo.sock for root and /tmp/echoapi-UID/echo.sock for others.
            Here and now: {socket}

            Most used settings (--EchoApi:Name=value, environment EchoApi__Name, or appsettings.json):
              SocketMode             {sockets.SocketMode}     octal; 0660 with SocketGroup lets a group connect
              SocketGroup            (none)   the socket files' group, name or gid; its members may use the service
              Owner                  (you)    the user, uid or name, whose processes may use the service
              AllowRoot              {access.AllowRoot.ToString().ToLowerInvariant()}    whether root may when it is not the owner
              Allow:N                (none)   more rules: Allow:0=user:alice, Allow:1:0=group:docker Allow:1:1=uid:1001
              LineSocketPath         line.sock beside the socket; empty turns the line socket off
              OwnerSocketPath        (none)   a second socket for the owner alone
              MaxEchoBytes           {limits.MaxEchoBytes}
              MaxMessageBytes        {webSockets.MaxMessageBytes}
              IdleTimeout            {limits.IdleTimeout:c}
              Logging:LogLevel:Default  Information (Debug adds stack traces to start-up errors)

            Try: curl --unix-socket {socket} -d hello http://localhost/echo
            Every setting: docs/configuration.md; the security model: docs/security.md (in the source tree, and README.md).

            """;
    }
}
