using PeerCredentials;

namespace EchoApi.Tests.Infrastructure;

public static class Privileges
{
    /// <summary>The uid another-user tests connect as (nobody).</summary>
    public const uint Nobody = 65534;

    /// <summary>An unassigned uid for tests that need a real, non-overflow user other than the caller.</summary>
    public const uint Stranger = 12345;

    public static uint EffectiveUserId => UnixAccounts.EffectiveUserId;

    public static bool IsRoot => EffectiveUserId == 0;

    /// <summary>Skips a test that must connect as another uid, saying so plainly, when the tests do not run as root.</summary>
    public static void RequireRoot(string what)
    {
        if (!IsRoot)
        {
            Assert.Skip($"Skipped: {what} needs root to connect as another uid through setpriv; this run is uid {EffectiveUserId}.");
        }
    }
}
