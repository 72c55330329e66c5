using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// The service as its own process, started the way a user starts it: for exit codes, signals, umask
/// and file-descriptor counts. <c>ECHOAPI_EXECUTABLE</c> points it at another build (a native AOT binary).
/// </summary>
public sealed class EchoApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private EchoApiProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { lock (_stdout) { _stdout.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Stdout { get { lock (_stdout) { return _stdout.ToString(); } } }

    public string Stderr { get { lock (_stderr) { return _stderr.ToString(); } } }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the service with <paramref name="arguments"/> under <c>umask</c>, without waiting for its socket.</summary>
    public static EchoApiProcess Start(IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string umask = "022", IEnumerable<string>? launcher = null)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in (string[])["-c", $"umask {umask} && exec \"$@\"", "sh", .. launcher ?? [], .. CommandLine(), .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("XDG_RUNTIME_DIR");
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return new EchoApiProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start EchoApi."));
    }

    /// <summary>Starts the service and waits until <paramref name="socketPath"/> accepts connections.</summary>
    public static async Task<EchoApiProcess> StartListeningAsync(string socketPath, IEnumerable<string>? arguments = null, IDictionary<string, string>? environment = null, string umask = "022")
    {
        var process = Start(["--socket", socketPath, .. arguments ?? []], environment, umask);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"EchoApi exited with {process._process.ExitCode} before listening: {process.Stderr}{process.Stdout}");
            }

            try
            {
                using var probe = await UnixHttp.ConnectAsync(socketPath);
                await process.WaitForOutputAsync("EchoApi listening"); // every endpoint is bound by then
                return process;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        await process.DisposeAsync();
        throw new TimeoutException($"EchoApi did not listen on {socketPath} in time.");
    }

    /// <summary>Waits until the service has printed <paramref name="text"/> on stdout; fails, saying what it did print, if it does not in time.</summary>
    public async Task<string> WaitForOutputAsync(string text)
    {
        var waited = Stopwatch.StartNew();
        while (!Stdout.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(HasExited, $"EchoApi exited: {Stderr}");
            Assert.True(waited.Elapsed < UnixHttp.Timeout, $"EchoApi did not print '{text}' in {UnixHttp.Timeout}: {Stdout}{Stderr}");
            await Task.Delay(100);
        }

        return Stdout;
    }

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as systemd or docker stop would.</summary>
    public async Task TerminateAsync()
    {
        var result = await Command.RunAsync(["kill", "-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Equal(0, result.ExitCode);
    }

    /// <summary>The process's open file descriptors, by what they point at.</summary>
    public IReadOnlyList<string> OpenFiles()
        => [.. Directory.GetFiles($"/proc/{Id}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "?")];

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static string[] CommandLine()
    {
        var executable = Environment.GetEnvironmentVariable("ECHOAPI_EXECUTABLE");
        return string.IsNullOrEmpty(executable)
            ? ["dotnet", Path.Combine(AppContext.BaseDirectory, "EchoApi.dll")]
            : [executable];
    }
}
