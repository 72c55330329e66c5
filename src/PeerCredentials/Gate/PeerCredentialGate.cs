using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Interop;

namespace PeerCredentials;

/// <summary>
/// The one place where the library reads a peer's credentials and decides on its connection: the
/// connect rate right after <c>accept()</c>, then the per-uid and untrusted-peer limits and the
/// endpoint's connect-time policy; and the one place that logs those refusals, throttled per uid.
/// Shared by every endpoint of the process, so its limits are service-wide.
/// </summary>
internal sealed class PeerCredentialGate
{
    // Descriptors kept out of the untrusted peers' reach for everything else the process opens.
    private const int ReservedDescriptors = 256;

    private readonly ILogger _logger;
    private readonly HashSet<uint> _trusted;
    private readonly PeerRateLimiter? _rate;
    private readonly PeerConnectionCounter? _perUser;
    private readonly PeerRefusalLog _refusals;
    private readonly PeerCredentialMetrics _metrics;
    private readonly FrozenSet<string>? _relayNames;
    private readonly PerUserLogThrottle _relayLog;
    private int _untrusted;

    public PeerCredentialGate(IOptions<PeerCredentialGateOptions> options, PeerRefusalLog refusals, ILogger<PeerCredentialGate> logger, PeerCredentialMetrics? metrics = null)
    {
        var settings = options.Value;
        _logger = logger;
        _metrics = metrics ?? PeerCredentialMetrics.Process;
        _trusted = [.. settings.TrustedUserIds];
        _rate = settings.ConnectionsPerSecondPerUser > 0 ? new PeerRateLimiter(settings.ConnectionsPerSecondPerUser, _trusted) : null;
        _perUser = settings.MaxConnectionsPerUser is { } limit ? new PeerConnectionCounter(limit) : null;
        _refusals = refusals;
        _relayNames = settings.RelayExecutableNames.Count > 0 ? settings.RelayExecutableNames.ToFrozenSet(StringComparer.Ordinal) : null;
        _relayLog = new PerUserLogThrottle(settings.RefusalLogInterval);
        // Never more than the descriptors allow, whatever was asked: the owner must always find room.
        var descriptors = DescriptorLimit();
        MaxUntrustedConnections = Math.Min(settings.MaxUntrustedConnections ?? int.MaxValue, DefaultUntrustedBudget(descriptors));
        _logger.UntrustedBudget(MaxUntrustedConnections, descriptors);
        RefusalsBeforePause = settings.RefusalsBeforePause;
        FloodPause = settings.FloodPause;
    }

    /// <summary>How many connections the untrusted uids may hold together.</summary>
    public int MaxUntrustedConnections { get; }

    public int RefusalsBeforePause { get; }

    public TimeSpan FloodPause { get; }

    /// <summary>
    /// The first decision, right after <c>accept()</c> and before Kestrel spends anything on the
    /// connection: reads the credentials (once; they travel with the connection from here) and applies
    /// the connect rate. The caller closes the socket unless the answer is <see cref="AcceptDecision.Admit"/>.
    /// </summary>
    public AcceptDecision Accept(Socket accepted, out PeerCredential? credential)
    {
        credential = null;
        if (PeerCredential.ReadUcred(accepted) is not { } ucred)
        {
            _metrics.ConnectionRefused(PeerCredentialMetrics.UnreadableCredentials);
            _logger.CredentialsUnreadable();
            return AcceptDecision.Unreadable;
        }

        if (_rate is not null && !_rate.TryTake(ucred.UserId))
        {
            _metrics.ConnectionRefused(PeerCredentialMetrics.ConnectRate);

            // At most one report a second per uid, counting this refusal and those left out before it.
            if (_refusals.ShouldLog(_logger, ucred.UserId, out var count))
            {
                LogConnectRateExceeded(accepted, ucred, count, _rate.Rate);
            }

            return AcceptDecision.RateLimited;
        }

        try
        {
            credential = PeerCredential.Read(accepted, ucred.ProcessId, ucred.UserId, ucred.GroupId);
            return AcceptDecision.Admit;
        }
        catch (SocketException)
        {
            _metrics.ConnectionRefused(PeerCredentialMetrics.UnreadableCredentials);
            _logger.CredentialsUnreadable();
            return AcceptDecision.Unreadable;
        }
    }

    /// <summary>
    /// Counts the connection against the per-uid and untrusted limits, then asks the endpoint's policy.
    /// <see langword="null"/> admits it, and the caller must <see cref="Leave"/> when it closes; otherwise
    /// the refusal, already logged and not counted.
    /// </summary>
    public PeerRefusal? Enter(PeerCredential peer, Func<PeerCredential, string?>? authorizePeer, string connectionId, EndPoint? endPoint = null)
    {
        var refusal = Count(peer);
        if (refusal is null && authorizePeer?.Invoke(peer) is { } reason)
        {
            Leave(peer);
            refusal = new PeerRefusal(peer, PeerRefusalReason.NotAuthorized, reason);
        }

        if (refusal is not null)
        {
            _metrics.ConnectionRefused(refusal.Reason);
            LogRefusal(connectionId, refusal);
        }
        else
        {
            _metrics.ConnectionAccepted();

            // Nothing is formatted, and the executable not read, unless someone reads debug logs.
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                _logger.PeerConnected(connectionId, endPoint?.ToString() ?? "unknown", peer.UserId, peer.GroupId, peer.ProcessId, PeerRefusalLog.Executable(peer));
            }

            // Here, on the thread pool where Kestrel runs a new connection's middleware, not at accept() on
            // the I/O thread: a relay costs a confirmed read of its executable.
            if (_relayNames is not null && _logger.IsEnabled(LogLevel.Information) && peer.IsRelay(_relayNames)
                && _relayLog.ShouldLog(peer.UserId, out _))
            {
                _logger.PeerIsRelay(connectionId, peer.UserId, peer.GroupId, peer.ProcessId, PeerRefusalLog.Executable(peer));
            }
        }

        return refusal;
    }

    public void Leave(PeerCredential peer)
    {
        _perUser?.Release(peer.UserId);
        if (!_trusted.Contains(peer.UserId))
        {
            Interlocked.Decrement(ref _untrusted);
        }
    }

    private PeerRefusal? Count(PeerCredential peer)
    {
        if (_perUser is not null && !_perUser.TryAcquire(peer.UserId, out _))
        {
            return new PeerRefusal(peer, PeerRefusalReason.UserConnectionLimit, $"uid {peer.UserId} already holds {_perUser.Limit} connections");
        }

        if (!_trusted.Contains(peer.UserId) && Interlocked.Increment(ref _untrusted) > MaxUntrustedConnections)
        {
            Interlocked.Decrement(ref _untrusted);
            _perUser?.Release(peer.UserId);
            return new PeerRefusal(peer, PeerRefusalReason.UntrustedConnectionLimit, $"the peers other than the owner already hold {MaxUntrustedConnections} connections together");
        }

        return null;
    }

    private void LogRefusal(string connectionId, PeerRefusal refusal)
    {
        var peer = refusal.Credential;
        if (_refusals.ShouldLog(_logger, peer.UserId))
        {
            _logger.RefusedAtConnect(connectionId, peer.UserId, peer.GroupId, peer.ProcessId, PeerRefusalLog.Executable(peer), PeerCredentialMetrics.Tag(refusal.Reason), refusal.Message);
        }
    }

    // Only for the report that is logged (the refused connections carry no pidfd): one is opened to read
    // the executable, so that a pid reused since the connect cannot lend its name, and closed at once.
    private void LogConnectRateExceeded(Socket accepted, (int ProcessId, uint UserId, uint GroupId) ucred, long count, double rate)
    {
        string executable;
        try
        {
            using var peer = PeerCredential.Read(accepted, ucred.ProcessId, ucred.UserId, ucred.GroupId);
            executable = PeerRefusalLog.Executable(peer);
        }
        catch (SocketException)
        {
            executable = "unknown";
        }

        _logger.ConnectRateExceeded(ucred.UserId, ucred.GroupId, ucred.ProcessId, executable, count, rate, PeerCredentialMetrics.ConnectRate);
    }

    private static int DefaultUntrustedBudget(long descriptors)
        => (int)Math.Clamp((descriptors - ReservedDescriptors) / 4, 16, int.MaxValue);

    // The soft RLIMIT_NOFILE (raised to the hard limit at start where the app asks OpenFileLimit to).
    private static long DescriptorLimit() => (long)Math.Min(Libc.GetOpenFileLimit().Soft, int.MaxValue);
}
