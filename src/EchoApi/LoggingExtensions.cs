namespace EchoApi;

internal static partial class LoggingExtensions
{
    [LoggerMessage(1, LogLevel.Warning, "Echo on connection {ConnectionId} cut off: the chunked body grew past {Limit} bytes after the answer had started.")]
    public static partial void EchoCutOff(this ILogger logger, long limit, string connectionId);

    [LoggerMessage(15, LogLevel.Warning, "Echo on connection {ConnectionId} cut off at shutdown: it was still running when HostOptions.ShutdownTimeout ({ShutdownTimeout}) ran out.")]
    public static partial void EchoCutOffAtShutdown(this ILogger logger, string connectionId, TimeSpan shutdownTimeout);

    [LoggerMessage(2, LogLevel.Information, "EchoApi listening on {SocketPath} (owner uid {OwnerUid}). Try: curl --unix-socket {SocketPath} -d hello http://localhost/echo")]
    public static partial void Listening(this ILogger logger, string socketPath, uint ownerUid);

    [LoggerMessage(3, LogLevel.Information, "WebSocket on connection {ConnectionId}: message over {MaxMessageBytes} bytes (EchoApi:MaxMessageBytes); closing with 1009.")]
    public static partial void WebSocketMessageTooBig(this ILogger logger, string connectionId, int maxMessageBytes);

    [LoggerMessage(4, LogLevel.Debug, "WebSocket on connection {ConnectionId}: sent close {Status} ({Reason}).")]
    public static partial void WebSocketClosing(this ILogger logger, string connectionId, int status, string reason);

    [LoggerMessage(5, LogLevel.Information, "WebSocket on connection {ConnectionId} ended by a protocol error (close status {CloseStatus}): {Error}")]
    public static partial void WebSocketFailed(this ILogger logger, string connectionId, System.Net.WebSockets.WebSocketCloseStatus? closeStatus, string error);

    [LoggerMessage(14, LogLevel.Information, "WebSocket on connection {ConnectionId}: {Violation}; closing with {Status}.")]
    public static partial void WebSocketProtocolViolation(this ILogger logger, string connectionId, string violation, int status);

    [LoggerMessage(6, LogLevel.Debug, "WebSocket on connection {ConnectionId} aborted.")]
    public static partial void WebSocketAborted(this ILogger logger, string connectionId);

    [LoggerMessage(8, LogLevel.Information, "EchoApi line-echo socket on {LineSocketPath}. Try: nc -U {LineSocketPath}")]
    public static partial void ListeningForLines(this ILogger logger, string lineSocketPath);

    [LoggerMessage(9, LogLevel.Information, "EchoApi serving {Count} socket(s) handed over by systemd ({Names}); owner uid {OwnerUid}.")]
    public static partial void ListeningOnSystemdSockets(this ILogger logger, int count, string names, uint ownerUid);

    [LoggerMessage(12, LogLevel.Information, "EchoApi owner-only socket on {OwnerSocketPath} (mode 0600: no other uid can connect, uid {OwnerUid} only).")]
    public static partial void ListeningForOwner(this ILogger logger, string ownerSocketPath, uint ownerUid);

    [LoggerMessage(13, LogLevel.Warning, "EchoApi:OwnerSocketPath ({OwnerSocketPath}) is not served: under socket activation systemd makes every socket. Give the owner a socket unit of its own instead (SocketMode=0600, FileDescriptorName=owner, Service=echoapi.service).")]
    public static partial void OwnerSocketIgnoredUnderSystemd(this ILogger logger, string ownerSocketPath);

    [LoggerMessage(16, LogLevel.Information, "Descriptor budget: {Soft} open files (soft RLIMIT_NOFILE, {Before} at start; hard limit {Hard}).")]
    private static partial void DescriptorBudget(this ILogger logger, string soft, string before, string hard);

    [LoggerMessage(17, LogLevel.Warning, "Descriptor budget: {Soft} open files; the soft RLIMIT_NOFILE could not be raised to the hard limit {Hard}: {Error}")]
    private static partial void DescriptorLimitNotRaised(this ILogger logger, string soft, string hard, string error);

    /// <summary>Logs how many descriptors the process may have open, and whether raising the limit failed.</summary>
    public static void DescriptorBudget(this ILogger logger, PeerCredentials.Sockets.OpenFileLimit limit)
    {
        if (limit.Error is { } error)
        {
            logger.DescriptorLimitNotRaised(Count(limit.Soft), Count(limit.Hard), error);
        }
        else
        {
            logger.DescriptorBudget(Count(limit.Soft), Count(limit.Before), Count(limit.Hard));
        }

        static string Count(ulong value) => value == ulong.MaxValue ? "unlimited" : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [LoggerMessage(10, LogLevel.Debug, "Echo on connection {ConnectionId} ended early: {Reason}")]
    public static partial void EchoBrokenOff(this ILogger logger, string connectionId, string reason);

    [LoggerMessage(30, LogLevel.Information, "EchoApi listening on abstract socket {SocketPath} (owner uid {OwnerUid}). Try: curl --abstract-unix-socket {Name} -d hello http://localhost/echo")]
    public static partial void ListeningAbstract(this ILogger logger, string socketPath, uint ownerUid, string name);

    [LoggerMessage(31, LogLevel.Information, "EchoApi line-echo socket on abstract socket {LineSocketPath}. Try: socat - ABSTRACT-CONNECT:{Name}")]
    public static partial void ListeningForLinesAbstract(this ILogger logger, string lineSocketPath, string name);

    // Id 32 was the warning that SocketGroup's members could connect but were refused: they are now served.
    [LoggerMessage(33, LogLevel.Information, "Besides the owner (uid {OwnerUid}), these rules admit peers, tried in order: {Rules}")]
    public static partial void AccessRulesInForce(this ILogger logger, uint ownerUid, string rules);
}
