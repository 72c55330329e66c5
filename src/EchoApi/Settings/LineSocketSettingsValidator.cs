namespace EchoApi.Settings;

/// <summary>Checks the line socket's settings before any socket exists.</summary>
internal static class LineSocketSettingsValidator
{
    /// <summary>Adds what is wrong with <paramref name="options"/> to <paramref name="failures"/>.</summary>
    public static void Validate(LineSocketSettings options, List<string> failures)
    {
        if (options.MaxLineBytes <= 0)
        {
            failures.Add($"{EchoApiSettings.Key(nameof(LineSocketSettings.MaxLineBytes))} must be a positive number of bytes, not {options.MaxLineBytes}.");
        }

        EchoApiSettings.CheckAtMost(failures, nameof(LineSocketSettings.MaxLineBytes), options.MaxLineBytes, 16 * 1024 * 1024, "bytes");
    }
}
