namespace EchoApi.Hosting;

/// <summary>Where the runtime runs the completions of socket operations.</summary>
public static class SocketCompletions
{
    private const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Lets socket operations complete on the runtime's epoll thread instead of queueing every completion
    /// to the thread pool first: on a machine of few cores that hop is the largest cost left per request
    /// (bench/experiments/where-a-request-costs.md). Safe here because what completes inline is transport
    /// code: Kestrel still hands every request, and the line protocol, to the thread pool (its default
    /// scheduling is kept), and the accept loop's own work (reading the peer's credentials, at most a
    /// throttled refusal log) does not block. Must run before the first socket is made, since the runtime
    /// reads the variable once; a value already set in the environment (0 to turn it off) is kept.
    /// </summary>
    public static void RunInline()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }
}
