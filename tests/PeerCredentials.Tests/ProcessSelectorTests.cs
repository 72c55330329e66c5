using System.Security.Cryptography;
using Microsoft.AspNetCore.Authorization;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>
/// Rules on the peer's program, decided on real clients of the same uid through real Kestrel: only the
/// executable tells them apart.
/// </summary>
public sealed class ProcessSelectorTests
{
    [Fact]
    public async Task RequirePeerExecutableAdmitsCurlAndRefusesPython3OfTheSameUid()
    {
        await PeerListener.RequirePidFdAsync();
        await using var host = await UnixSocketHost.StartAsync(p => p.RequirePeerExecutable("/usr/bin/curl"));

        var curl = await host.CurlAsync();
        var python = await host.Python3Async();

        Assert.Equal((200, "ok"), curl);
        Assert.Equal(403, python.Status);
        var python3 = new FileInfo("/usr/bin/python3").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "/usr/bin/python3";
        Assert.Contains($"executable {python3} is not /usr/bin/curl", python.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHashRuleAdmitsTheRightBinaryAndRefusesACopyThatDiffersByOneByte()
    {
        await PeerListener.RequirePidFdAsync();
        using var directory = new TempDirectory();
        var same = Path.Combine(directory.Path, "curl-copy");
        var changed = Path.Combine(directory.Path, "curl-changed");
        File.Copy("/usr/bin/curl", same);
        File.Copy("/usr/bin/curl", changed);
        await File.AppendAllTextAsync(changed, "\n", TestContext.Current.CancellationToken); // past the ELF's last section: it still runs
        var curlHash = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync("/usr/bin/curl", TestContext.Current.CancellationToken)));
        var changedHash = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(changed, TestContext.Current.CancellationToken)));
        Assert.NotEqual(curlHash, changedHash);

        // Upper case, as some tools print it: the rule does not care.
        await using var host = await UnixSocketHost.StartAsync(p => p.RequirePeerExecutableHash(curlHash.ToUpperInvariant()));

        Assert.Equal((200, "ok"), await host.CurlAsync("/usr/bin/curl"));
        Assert.Equal((200, "ok"), await host.CurlAsync(same)); // same bytes, another path
        var refused = await host.CurlAsync(changed);
        Assert.Equal(403, refused.Status);
        Assert.Contains($"executable {changed} has sha256 {changedHash}, which is not {curlHash}", refused.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARuleOnTheExecutableRefusesARelayByItsOwnName()
    {
        await PeerListener.RequirePidFdAsync();
        await using var host = await UnixSocketHost.StartAsync(p => p.RequirePeerNotRelay());

        Assert.Equal((200, "ok"), await host.CurlAsync());

        // socat relays a request written on its input: the server sees socat, not whoever wrote it. At the
        // input's end it keeps the connection whole (shut-none), as Kestrel drops a request whose client
        // has half-closed before the answer.
        using var socat = ClientProcess.Start("socat", "-t", "30", "STDIO", $"UNIX-CONNECT:{host.SocketPath},shut-none");
        await socat.WriteLineAsync("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r");
        await socat.WriteLineAsync("\r");
        socat.CloseInput();
        var (_, answer, _) = await socat.WaitAsync();
        Assert.StartsWith("HTTP/1.1 403", answer, StringComparison.Ordinal);
        Assert.Contains("the peer is a relay (/usr/bin/socat): its credentials describe the relay, not its client", answer, StringComparison.Ordinal);
    }
}
