using Microsoft.Extensions.Options;
using PeerCredentials;

namespace EchoApi.Settings;

/// <summary>Resolves the owner to a uid, and checks who may use the service before any socket exists.</summary>
internal sealed class AccessSettingsSetup(IConfiguration configuration) : IPostConfigureOptions<AccessSettings>
{
    public void PostConfigure(string? name, AccessSettings options) => Resolve(options, configuration.GetSection(EchoApiSettings.Section));

    internal static void Resolve(AccessSettings options, IConfigurationSection section)
    {
        // Each item of EchoApi:Allow is a selector (EchoApi:Allow:0) or a list of them (EchoApi:Allow:1:0, ...);
        // SettingsReader has checked that shape. The keys come in index order.
        options.Allow.Clear();
        foreach (var rule in section.GetSection(nameof(AccessSettings.Allow)).GetChildren())
        {
            options.Allow.Add(rule.Value is { } selector ? [selector] : [.. rule.GetChildren().Select(s => s.Value ?? string.Empty)]);
        }

        if (string.IsNullOrWhiteSpace(options.Owner))
        {
            (options.OwnerUserId, options.OwnerResolves) = (UnixAccounts.EffectiveUserId, true);
        }
        else
        {
            options.OwnerResolves = UnixAccounts.TryResolveUserId(options.Owner.Trim(), out var uid);
            options.OwnerUserId = uid;
        }
    }

    /// <summary>Adds what is wrong with <paramref name="options"/> to <paramref name="failures"/>.</summary>
    internal static void Validate(AccessSettings options, List<string> failures)
    {
        foreach (var host in options.AllowedHostNames.Where(h => Uri.CheckHostName(h) switch { UriHostNameType.Dns or UriHostNameType.IPv4 => false, UriHostNameType.IPv6 => !h.StartsWith('['), _ => true }))
        {
            failures.Add($"{EchoApiSettings.Key(nameof(AccessSettings.AllowedHostNames))} '{host}' is not a host name: give a name or an IP address without scheme or port (IPv6 in brackets), such as echo.internal.");
        }

        foreach (var name in options.RelayExecutables.Where(n => string.IsNullOrWhiteSpace(n) || n.Contains('/', StringComparison.Ordinal) || n.Trim() != n))
        {
            failures.Add($"{EchoApiSettings.Key(nameof(AccessSettings.RelayExecutables))} '{name}' is not an executable's file name: give names such as socat, without a directory.");
        }

        if (!options.OwnerResolves)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(AccessSettings.Owner))} '{options.Owner}' is neither a uid nor a user in the user database.");
        }
        else if (options.OwnerUserId == UnixAccounts.OverflowUserId)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(AccessSettings.Owner))} is uid {options.OwnerUserId}, the kernel's overflow uid, which unmapped users of other user namespaces share; it cannot own the socket.");
        }
    }
}
