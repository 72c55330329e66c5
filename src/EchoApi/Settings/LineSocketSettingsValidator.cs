using Microsoft.Extensions.Options;

namespace EchoApi.Settings;

/// <summary>Checks the line socket's settings before any socket exists.</summary>
internal sealed class LineSocketSettingsValidator : IValidateOptions<LineSocketSettings>
{
    public ValidateOptionsResult Validate(string? name, LineSocketSettings options)
    {
        var failures = new List<string>();
        if (options.MaxLineBytes <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LineSocketSettings.MaxLineBytes))} must be a positive number of bytes, not {options.MaxLineBytes}.");
        }

        EchoApiSettings.CheckAtMost(failures, nameof(LineSocketSettings.MaxLineBytes), options.MaxLineBytes, 16 * 1024 * 1024, "bytes");
        return EchoApiSettings.Result(failures);
    }
}
