using EchoApi.Hosting;
using Microsoft.Extensions.Options;

namespace EchoApi.Settings;

/// <summary>
/// The service's settings: one flat configuration section, <c>EchoApi</c> (environment: <c>EchoApi__Name</c>),
/// bound into one class per concern: <see cref="SocketSettings"/>, <see cref="AccessSettings"/>,
/// <see cref="LimitSettings"/>, <see cref="WebSocketSettings"/> and <see cref="LineSocketSettings"/>.
/// Each class takes the keys it has and the binder leaves the others alone.
/// </summary>
public static class EchoApiSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "EchoApi";

    /// <summary>The command-line switches that are short for a setting.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--socket"] = $"{Section}:{nameof(SocketSettings.SocketPath)}",
    };

    /// <summary>
    /// Binds every settings class from <see cref="Section"/>, after <see cref="SettingsReader"/> has
    /// read the section as typed, and checks each at start, before any socket exists.
    /// </summary>
    internal static IServiceCollection AddEchoApiSettings(this IServiceCollection services)
    {
        // Written out per class, not in a generic helper: the configuration binding generator (AOT) only
        // replaces BindConfiguration calls whose type it can see. Whichever class is built first reads the
        // section as typed, before the binder can throw on a value that does not convert.
        services.AddOptions<SocketSettings>().Configure<IConfiguration>((_, configuration) => SettingsReader.Check(configuration));
        services.AddOptions<SocketSettings>().BindConfiguration(Section).ValidateOnStart();
        services.AddOptions<AccessSettings>().Configure<IConfiguration>((_, configuration) => SettingsReader.Check(configuration));
        services.AddOptions<AccessSettings>().BindConfiguration(Section).ValidateOnStart();
        services.AddOptions<LimitSettings>().Configure<IConfiguration>((_, configuration) => SettingsReader.Check(configuration));
        services.AddOptions<LimitSettings>().BindConfiguration(Section).ValidateOnStart();
        services.AddOptions<WebSocketSettings>().Configure<IConfiguration>((_, configuration) => SettingsReader.Check(configuration));
        services.AddOptions<WebSocketSettings>().BindConfiguration(Section).ValidateOnStart();
        services.AddOptions<LineSocketSettings>().Configure<IConfiguration>((_, configuration) => SettingsReader.Check(configuration));
        services.AddOptions<LineSocketSettings>().BindConfiguration(Section).ValidateOnStart();

        services.AddSingleton<IPostConfigureOptions<SocketSettings>, SocketSettingsSetup>();
        services.AddSingleton<IPostConfigureOptions<AccessSettings>, AccessSettingsSetup>();
        services.AddSingleton<EchoApiSettingsValidator>();
        services.AddSingleton<IValidateOptions<SocketSettings>>(sp => sp.GetRequiredService<EchoApiSettingsValidator>());
        services.AddSingleton<IValidateOptions<AccessSettings>>(sp => sp.GetRequiredService<EchoApiSettingsValidator>());
        services.AddSingleton<IValidateOptions<LimitSettings>>(sp => sp.GetRequiredService<EchoApiSettingsValidator>());
        services.AddSingleton<IValidateOptions<WebSocketSettings>>(sp => sp.GetRequiredService<EchoApiSettingsValidator>());
        services.AddSingleton<IValidateOptions<LineSocketSettings>>(sp => sp.GetRequiredService<EchoApiSettingsValidator>());
        return services;
    }

    /// <summary>The full key of a setting, as messages name it: <c>EchoApi:Name</c>.</summary>
    internal static string Key(string setting) => $"{Section}:{setting}";

    // Values that bind but break the service later: a 2 GiB WebSocket buffer fails every socket after
    // the 101, a time span past 24 days overflows the timers. Each bound is far beyond any real use.
    internal static void CheckAtMost(List<string> failures, string setting, double value, double max, string unit)
    {
        if (double.IsFinite(value) && value > max)
        {
            failures.Add($"{Key(setting)} must be at most {max:0} {unit}, not {value:0}.");
        }
    }

    /// <summary>A positive time span of at most a day; <paramref name="example"/> is a good value to suggest.</summary>
    internal static void CheckTimeSpan(List<string> failures, string setting, TimeSpan value, string example)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Key(setting)} must be a positive time span (such as {example}), not {value}.");
        }
    }

    /// <summary>The upper bound on every time span, reported after the other checks.</summary>
    internal static void CheckAtMostADay(List<string> failures, string setting, TimeSpan value)
    {
        if (value > TimeSpan.FromDays(1))
        {
            failures.Add($"{Key(setting)} must be at most 1.00:00:00 (a day), not {value:c}.");
        }
    }
}
