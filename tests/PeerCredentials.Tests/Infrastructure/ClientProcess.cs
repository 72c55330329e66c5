using System.Diagnostics;

namespace PeerCredentials.Tests.Infrastructure;

/// <summary>
/// A real client program (curl, python3, socat) started by the test, as the test's own uid. Its input
/// stays open until <see cref="CloseInput"/>, so a client that reads it stays connected meanwhile.
/// Disposing kills it, and only it, if it is still running.
/// </summary>
public sealed class ClientProcess : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    private ClientProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        _stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
    }

    public int Id => _process.Id;

    public static ClientProcess Start(params string[] commandLine)
    {
        var start = new ProcessStartInfo(commandLine[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in commandLine.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        return new ClientProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {commandLine[0]}."));
    }

    /// <summary>Runs a client to its end and returns what it wrote.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] commandLine)
    {
        using var client = Start(commandLine);
        client.CloseInput();
        return await client.WaitAsync();
    }

    public Task WriteLineAsync(string line)
        => _process.StandardInput.WriteLineAsync(line.AsMemory(), TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits for the process to exit (and be reaped), then for its output.</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> WaitAsync()
    {
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        return (_process.ExitCode, await _stdout.WaitAsync(Timeout, TestContext.Current.CancellationToken), await _stderr.WaitAsync(Timeout, TestContext.Current.CancellationToken));
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // It exited in between.
        }

        _process.Dispose();
    }
}
