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
    public ValidateOptionsResult Validate(string? name, SocketSettings options) => ValidateAll(sockets: options);

    public ValidateOptionsResult Validate(string? name, AccessSettings options) => ValidateAll(access: options);

    public ValidateOptionsResult Validate(string? name, LimitSettings options) => ValidateAll(limits: options);

    public ValidateOptionsResult Validate(string? name, WebSocketSettings options) => ValidateAll(webSockets: options);

    public ValidateOptionsResult Validate(string? name, LineSocketSettings options) => ValidateAll(lines: options);

    // The class being built is checked as it was built; the others as the section binds them, with the same
    // defaults filled in. Cheap enough to repeat: it runs once per class at start.
    private ValidateOptionsResult ValidateAll(
        SocketSettings? sockets = null, AccessSettings? access = null, LimitSettings? limits = null, WebSocketSettings? webSockets = null, LineSocketSettings? lines = null)
    {
        var section = configuration.GetSection(EchoApiSettings.Section);
        if (sockets is null)
        {
            sockets = new SocketSettings();
            section.Bind(sockets);
            SocketSettingsSetup.Resolve(sockets);
        }

        if (access is null)
        {
            access = new AccessSettings();
            section.Bind(access);
            AccessSettingsSetup.Resolve(access);
        }

        if (limits is null)
        {
            limits = new LimitSettings();
            section.Bind(limits);
        }

        if (webSockets is null)
        {
            webSockets = new WebSocketSettings();
            section.Bind(webSockets);
        }

        if (lines is null)
        {
            lines = new LineSocketSettings();
            section.Bind(lines);
        }

        var failures = new List<string>();
        SocketSettingsSetup.Validate(sockets, access, failures);
        AccessSettingsSetup.Validate(access, failures);
        LimitSettingsValidator.Validate(limits, failures);
        WebSocketSettingsValidator.Validate(webSockets, failures);
        LineSocketSettingsValidator.Validate(lines, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
