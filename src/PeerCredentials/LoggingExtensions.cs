using System.Globalization;
using Microsoft.Extensions.Logging;

namespace PeerCredentials;

internal static partial class LoggingExtensions
{
    [LoggerMessage(1, LogLevel.Debug, "Connection {ConnectionId} is not on a Unix socket; it carries no peer credentials.")]
    public static partial void NotAUnixSocket(this ILogger logger, string connectionId);

    [LoggerMessage(2, LogLevel.Warning, "A Unix socket connection was closed at accept: its peer credentials could not be read.")]
    public static partial void CredentialsUnreadable(this ILogger logger);

    public static void PeerConnected(this ILogger logger, string connectionId, string endPoint, uint uid, uint gid, int pid, string executable)
        => LogPeerConnected(logger, connectionId, endPoint, uid, gid, pid, LogText.Escape(executable));

    [LoggerMessage(3, LogLevel.Debug, "Connection {ConnectionId} on {EndPoint} from uid {Uid} gid {Gid} pid {Pid} ({Executable}) accepted.")]
    private static partial void LogPeerConnected(ILogger logger, string connectionId, string endPoint, uint uid, uint gid, int pid, string executable);

    public static void PeerIsRelay(this ILogger logger, string connectionId, uint uid, uint gid, int pid, string executable)
        => LogPeerIsRelay(logger, connectionId, uid, gid, pid, LogText.Escape(executable));

    [LoggerMessage(17, LogLevel.Information, "Connection {ConnectionId} from uid {Uid} gid {Gid} pid {Pid} comes through a relay ({Executable}): these peer credentials describe the relay, not its client.")]
    private static partial void LogPeerIsRelay(ILogger logger, string connectionId, uint uid, uint gid, int pid, string executable);

    [LoggerMessage(4, LogLevel.Debug, "Request on connection {ConnectionId} carries no peer credentials; no identity.")]
    public static partial void NoPeerCredentials(this ILogger logger, string connectionId);

    // What a peer controls (the request line, headers, the name of its executable) is escaped here, in
    // the one place every caller passes through, so that it cannot fake or hide log lines (LogText).
    // Every refusal (5, 12, 13, 30, 31) carries Uid, Gid, Pid, Executable and Rule as fields of its own: Rule
    // is the word the refusal is counted under (a policy, or a reason such as user_connection_limit).
    public static void PeerRefused(this ILogger logger, string method, string path, uint uid, uint gid, int pid, string executable, string rule, string reason)
        => LogPeerRefused(logger, LogText.Escape(method), LogText.Escape(path), uid, gid, pid, LogText.Escape(executable), rule, reason);

    [LoggerMessage(5, LogLevel.Warning, "Refused {Method} {Path} for uid {Uid} gid {Gid} pid {Pid} ({Executable}) by rule {Rule}: {Reason}")]
    private static partial void LogPeerRefused(ILogger logger, string method, string path, uint uid, uint gid, int pid, string executable, string rule, string reason);

    public static void UnauthenticatedRequest(this ILogger logger, string method, string path, string connectionId)
        => LogUnauthenticatedRequest(logger, LogText.Escape(method), LogText.Escape(path), connectionId);

    [LoggerMessage(6, LogLevel.Warning, "Refused {Method} {Path} on connection {ConnectionId}: no peer credentials (not a Unix socket connection).")]
    private static partial void LogUnauthenticatedRequest(ILogger logger, string method, string path, string connectionId);

    [LoggerMessage(7, LogLevel.Information, "Removed stale socket {Path}: nothing was listening on it.")]
    public static partial void StaleSocketRemoved(this ILogger logger, string path);

    [LoggerMessage(8, LogLevel.Debug, "Removed socket {Path} on shutdown.")]
    public static partial void SocketRemoved(this ILogger logger, string path);

    [LoggerMessage(9, LogLevel.Warning, "Left {Path} in place on shutdown: it is no longer the socket this process created.")]
    public static partial void SocketReplaced(this ILogger logger, string path);

    [LoggerMessage(10, LogLevel.Warning, "Could not remove socket {Path} on shutdown.")]
    public static partial void SocketRemovalFailed(this ILogger logger, string path, Exception exception);

    public static void RefusedAtConnect(this ILogger logger, string connectionId, uint uid, uint gid, int pid, string executable, string rule, string reason)
        => LogRefusedAtConnect(logger, connectionId, uid, gid, pid, LogText.Escape(executable), rule, reason);

    [LoggerMessage(12, LogLevel.Warning, "Connection {ConnectionId} (rule {Rule}) from uid {Uid} gid {Gid} pid {Pid} ({Executable}) closed at connect: {Reason}")]
    private static partial void LogRefusedAtConnect(ILogger logger, string connectionId, uint uid, uint gid, int pid, string executable, string rule, string reason);

    // Gid, Pid and Executable are those of the connection that made the report; Refused counts the ones left out before it too.
    public static void ConnectRateExceeded(this ILogger logger, uint uid, uint gid, int pid, string executable, long refused, double rate, string rule)
        => LogConnectRateExceeded(logger, uid, gid, pid, LogText.Escape(executable), refused, rate, rule);

    [LoggerMessage(13, LogLevel.Warning, "Closed {Refused} connection(s) of uid {Uid} gid {Gid} pid {Pid} ({Executable}) at accept: over {Rate} new connections per second (rule {Rule}).")]
    private static partial void LogConnectRateExceeded(ILogger logger, uint uid, uint gid, int pid, string executable, long refused, double rate, string rule);

    [LoggerMessage(14, LogLevel.Error, "accept() on a Unix socket failed {Count} time(s) since the last report: {Error} (errno {Errno}); retrying in {BackOffMs} ms.")]
    public static partial void AcceptFailed(this ILogger logger, string error, int errno, long count, double backOffMs);

    // Refusals (5, 11, 12) are logged at most once a second per uid; this line, just before the next
    // one that is, counts those left out.
    [LoggerMessage(15, LogLevel.Warning, "{LeftOut} more refusal(s) of uid {Uid} were not logged: at most one a second per uid is.")]
    public static partial void RefusalsNotLogged(this ILogger logger, uint uid, long leftOut);

    [LoggerMessage(16, LogLevel.Information, "Peers other than the trusted uids may hold {Budget} connections together (the process may open {Descriptors} descriptors; each connection takes two).")]
    public static partial void UntrustedBudget(this ILogger logger, int budget, long descriptors);

    // Event ids from 30 on: the local request guard. Uid, Gid and Pid are text here: "unknown" on a
    // connection without peer credentials (TCP).
    public static void RequestForOtherHost(this ILogger logger, string method, string path, PeerCredential? peer, string rule, string connectionId, string host)
        => LogRequestForOtherHost(logger, LogText.Escape(method), LogText.Escape(path), Uid(peer), Gid(peer), Pid(peer), LogText.Escape(Executable(peer)), rule, connectionId, LogText.Escape(host));

    [LoggerMessage(30, LogLevel.Warning, "Refused {Method} {Path} of uid {Uid} gid {Gid} pid {Pid} ({Executable}) by rule {Rule} on connection {ConnectionId} with 421: Host '{Host}' is not a name this service answers to (a web page that rebinds its name to this machine sends its own).")]
    private static partial void LogRequestForOtherHost(ILogger logger, string method, string path, string uid, string gid, string pid, string executable, string rule, string connectionId, string host);

    public static void CrossSiteRequest(this ILogger logger, string method, string path, PeerCredential? peer, string rule, string connectionId, string origin, string fetchSite)
        => LogCrossSiteRequest(logger, LogText.Escape(method), LogText.Escape(path), Uid(peer), Gid(peer), Pid(peer), LogText.Escape(Executable(peer)), rule, connectionId, LogText.Escape(origin), LogText.Escape(fetchSite));

    [LoggerMessage(31, LogLevel.Warning, "Refused {Method} {Path} of uid {Uid} gid {Gid} pid {Pid} ({Executable}) by rule {Rule} on connection {ConnectionId} with 403: a cross-site browser request (Origin '{Origin}', Sec-Fetch-Site '{FetchSite}').")]
    private static partial void LogCrossSiteRequest(ILogger logger, string method, string path, string uid, string gid, string pid, string executable, string rule, string connectionId, string origin, string fetchSite);

    private static string Uid(PeerCredential? peer) => peer?.UserId.ToString(CultureInfo.InvariantCulture) ?? "unknown";

    private static string Gid(PeerCredential? peer) => peer?.GroupId.ToString(CultureInfo.InvariantCulture) ?? "unknown";

    private static string Pid(PeerCredential? peer) => peer?.ProcessId.ToString(CultureInfo.InvariantCulture) ?? "unknown";

    private static string Executable(PeerCredential? peer) => peer is null ? "unknown" : PeerRefusalLog.Executable(peer);
}
