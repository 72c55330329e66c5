using System.Diagnostics;

namespace EchoApi.Tests.Infrastructure;

/// <summary>Runs a real program (curl, nc, id…), optionally as another uid through setpriv.</summary>
public static class Command
{
    public sealed record Result(int ExitCode, byte[] Stdout, string Stderr)
    {
        public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);
    }

    /// <summary>The setpriv prefix that runs a program as <paramref name="uid"/> with only <paramref name="groups"/>.</summary>
    public static string[] AsUser(uint uid, params uint[] groups)
    {
        var groupArgument = groups.Length == 0 ? "--clear-groups" : $"--groups={string.Join(',', groups)}";
        return ["setpriv", $"--reuid={uid}", $"--regid={uid}", groupArgument, "--"];
    }

    /// <summary>Starts a program with its standard input, output and error redirected; the caller reads them and disposes it.</summary>
    public static Process Start(params string[] commandLine)
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

        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {commandLine[0]}.");
    }

    public static async Task<Result> RunAsync(IEnumerable<string> commandLine, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        string[] arguments = [.. commandLine];
        using var process = Start(arguments);
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var stdout = new MemoryStream();
        var readOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, cancel.Token);
        var readErr = process.StandardError.ReadToEndAsync(cancel.Token);
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin, cancel.Token);
        }

        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(cancel.Token);
            await readOut;
            return new Result(process.ExitCode, stdout.ToArray(), await readErr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{string.Join(' ', arguments)}' did not finish in time.");
        }
    }

    /// <summary>
    /// <c>curl --unix-socket</c>, returning the status code and body. Extra arguments go before the URL.
    /// </summary>
    public static async Task<(int Status, byte[] Body, string Headers)> CurlAsync(string socketPath, string path, IEnumerable<string>? prefix = null, IEnumerable<string>? curlArguments = null, byte[]? stdin = null)
    {
        var headerFile = Path.GetTempFileName();
        File.SetUnixFileMode(headerFile, (UnixFileMode)0b110_110_110); // writable by a curl that runs as another uid
        try
        {
            var result = await RunAsync(
                [.. prefix ?? [], "curl", "--silent", "--show-error", "--max-time", "60", "--unix-socket", socketPath, "--dump-header", headerFile, .. curlArguments ?? [], $"http://localhost{path}"],
                stdin);
            Assert.True(result.ExitCode == 0, $"curl failed ({result.ExitCode}): {result.Stderr}");
            var headers = await File.ReadAllTextAsync(headerFile);
            var statusLine = headers.Split('\n').Last(l => l.StartsWith("HTTP/", StringComparison.Ordinal));
            return (int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), result.Stdout, headers);
        }
        finally
        {
            File.Delete(headerFile);
        }
    }
}
