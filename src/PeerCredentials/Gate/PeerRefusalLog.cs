using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerCredentials;

/// <summary>
/// The one throttle for refusal warnings, whoever refuses (the gate at connect, authorization per
/// request): at most one per uid per <see cref="PeerCredentialGateOptions.RefusalLogInterval"/>, and the
/// next one says how many were left out, so a uid refused again and again cannot flood the log.
/// </summary>
internal sealed class PeerRefusalLog(IOptions<PeerCredentialGateOptions> options, ILogger<PeerRefusalLog> logger)
{
    private readonly PerUserLogThrottle _throttle = new(options.Value.RefusalLogInterval);

    /// <summary>Whether a refusal of <paramref name="uid"/> may be logged now; if so, first logs how many were not.</summary>
    public bool ShouldLog(uint uid)
    {
        if (!_throttle.ShouldLog(uid, out var leftOut))
        {
            return false;
        }

        if (leftOut > 0)
        {
            logger.RefusalsNotLogged(uid, leftOut);
        }

        return true;
    }

    /// <summary>Like <see cref="ShouldLog(uint)"/>, for a report that counts the refusals itself (this one and those left out).</summary>
    public bool ShouldLog(uint uid, out long count)
    {
        var should = _throttle.ShouldLog(uid, out var leftOut);
        count = leftOut + 1;
        return should;
    }

    /// <summary>
    /// Whether <paramref name="refuser"/> is to log a refusal of <paramref name="uid"/> now: its warnings
    /// are on, and the throttle lets this one through. Only then is anything more read about the peer.
    /// </summary>
    public bool ShouldLog(ILogger refuser, uint uid) => refuser.IsEnabled(LogLevel.Warning) && ShouldLog(uid);

    /// <summary>Like <see cref="ShouldLog(ILogger, uint)"/>, for a report that counts the refusals itself.</summary>
    public bool ShouldLog(ILogger refuser, uint uid, out long count)
    {
        count = 0;
        return refuser.IsEnabled(LogLevel.Warning) && ShouldLog(uid, out count);
    }

    /// <summary>
    /// The executable a refusal warning names: read through the peer's pidfd (once per connection), so
    /// ask only for a refusal that <see cref="ShouldLog(ILogger, uint)"/> let through.
    /// </summary>
    public static string Executable(PeerCredential peer) => peer.GetExecutablePath() ?? "unknown";
}
