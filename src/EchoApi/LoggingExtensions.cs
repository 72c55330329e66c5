namespace EchoApi;

internal static partial class LoggingExtensions
{
    [LoggerMessage(1, LogLevel.Warning, "Echo on connection {ConnectionId} cut off: the chunked body grew past {Limit} bytes after the answer had started.")]
    public static partial void EchoCutOff(this ILogger logger, long limit, string connectionId);

    [LoggerMessage(2, LogLevel.Information, "EchoApi listening on {SocketPath} (owner uid {OwnerUid}). Try: curl --unix-socket {SocketPath} -d hello http://localhost/echo")]
    public static partial void Listening(this ILogger logger, string socketPath, uint ownerUid);
}
