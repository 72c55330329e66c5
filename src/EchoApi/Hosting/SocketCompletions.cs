namespace EchoApi.Hosting;

/// <summary>Where the runtime runs the completions of socket operations.</summary>
public static class SocketCompletions
{
    private const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Lets socket operations complete on the runtime's epoll thread instead of queueing every completion
    /// to the thread pool first: on a machine of few cores that hop is the largest cost left per request
    /// (bench/experiments/where-a-request-costs.md). Safe here because nothing that completes inline blocks:
    /// for HTTP it is transport code, and Kestrel still hands every request to the thread pool (its default
    /// scheduling is kept); the accept loop's own work is reading the peer's credentials and at most a
    /// throttled refusal log; the line protocol, which receives and sends on its bare socket, goes on inline
    /// after a receive, but only scans and copies bytes and starts socket operations, and the gate has
    /// decided on its connection before, on the thread pool (LineEchoConnectionHandler says more). Must run
    /// before the first socket is made, since the runtime reads the variable once; a value already set in
    /// the environment (0 to turn it off) is kept.
    /// </summary>
    public static void RunInline()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }
}
