using Microsoft.Extensions.Options;

namespace EchoApi.Settings;

/// <summary>
/// Checks every settings class together, whichever of them is built first, before any socket exists: a bad
/// start lists every problem in the section on its one line, not only those of the class needed first.
/// </summary>
internal sealed class EchoApiSettingsValidator(IConfiguration configuration) :
    IValidateOptions<SocketSettings>,
    IValidateOptions<AccessSettings>,
    IValidateOptions<LimitSettings>,
    IValidateOptions<WebSocketSettings>,
    IValidateOptions<LineSocketSettings>
{
    // The whole section, checked once: every class is bound from it and post-configured the same way as
    // here, so the one answer holds for whichever class is built first, and for the others after it.
    private readonly Lazy<ValidateOptionsResult> _result = new(() => ValidateAll(configuration.GetSection(EchoApiSettings.Section)));

    public ValidateOptionsResult Validate(string? name, SocketSettings options) => _result.Value;

    public ValidateOptionsResult Validate(string? name, AccessSettings options) => _result.Value;

    public ValidateOptionsResult Validate(string? name, LimitSettings options) => _result.Value;

    public ValidateOptionsResult Validate(string? name, WebSocketSettings options) => _result.Value;

    public ValidateOptionsResult Validate(string? name, LineSocketSettings options) => _result.Value;

    private static ValidateOptionsResult ValidateAll(IConfigurationSection section)
    {
        var sockets = new SocketSettings();
        section.Bind(sockets);
        SocketSettingsSetup.Resolve(sockets);
        var access = new AccessSettings();
        section.Bind(access);
        AccessSettingsSetup.Resolve(access, section);
        var limits = new LimitSettings();
        section.Bind(limits);
        var webSockets = new WebSocketSettings();
        section.Bind(webSockets);
        var lines = new LineSocketSettings();
        section.Bind(lines);

        var failures = new List<string>();
        SocketSettingsSetup.Validate(sockets, access, failures);
        AccessSettingsSetup.Validate(access, failures);
        if (access.OwnerResolves)
        {
            AccessRules.Build(access, sockets, failures);
        }
        LimitSettingsValidator.Validate(limits, failures);
        WebSocketSettingsValidator.Validate(webSockets, failures);
        LineSocketSettingsValidator.Validate(lines, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
