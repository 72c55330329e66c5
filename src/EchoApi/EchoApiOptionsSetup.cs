using Microsoft.Extensions.Options;
using PeerCredentials;
using PeerCredentials.Sockets;

namespace EchoApi;

/// <summary>Fills in the defaults that depend on the machine, and checks every setting before the socket exists.</summary>
internal sealed class EchoApiOptionsSetup : IPostConfigureOptions<EchoApiOptions>, IValidateOptions<EchoApiOptions>
{
    public void PostConfigure(string? name, EchoApiOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.SocketPath))
        {
            options.SocketPath = UnixSocketPaths.GetDefault("echoapi", "echo.sock");
        }

        options.SocketFileMode = EchoApiOptions.ParseSocketMode(options.SocketMode);
        if (string.IsNullOrWhiteSpace(options.Owner))
        {
            options.OwnerUserId = UnixAccounts.EffectiveUserId;
        }
        else
        {
            options.OwnerUserId = UnixAccounts.TryResolveUserId(options.Owner.Trim(), out var uid) ? uid : null;
        }
    }

    public ValidateOptionsResult Validate(string? name, EchoApiOptions options)
    {
        const string Prefix = EchoApiOptions.Section + ":";
        var failures = new List<string>();
        if (UnixSocketPaths.Validate(options.SocketPath) is { } pathProblem)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.SocketPath)} {pathProblem}.");
        }

        if (options.SocketFileMode is null)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.SocketMode)} '{options.SocketMode}' is not a socket mode: give octal read/write bits that include the owner's, such as 0600 or 0660.");
        }

        if (options.OwnerUserId is null)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.Owner)} '{options.Owner}' is neither a uid nor a user in the user database.");
        }
        else if (options.OwnerUserId == UnixAccounts.OverflowUserId)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.Owner)} is uid {options.OwnerUserId}, the kernel's overflow uid, which unmapped users of other user namespaces share; it cannot own the socket.");
        }

        if (options.MaxEchoBytes <= 0)
        {
            failures.Add($"{Prefix}{nameof(EchoApiOptions.MaxEchoBytes)} must be a positive number of bytes, not {options.MaxEchoBytes}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
