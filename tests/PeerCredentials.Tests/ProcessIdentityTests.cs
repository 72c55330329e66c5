using System.Net.Sockets;
using System.Security.Cryptography;
using PeerCredentials.Authentication;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>
/// What the library learns about a real peer's process: through the pidfd, of that process or of none,
/// never of another.
/// </summary>
public sealed class ProcessIdentityTests
{
    [Fact]
    public async Task ThePathAndHashAreThoseOfTheFileThePeerRuns()
    {
        await PeerListener.RequirePidFdAsync();
        using var listener = new PeerListener();
        using var curl = ClientProcess.Start("/usr/bin/curl", "--silent", "--max-time", "30", "--unix-socket", listener.Path, "http://localhost/");
        var (connection, peer) = await listener.AcceptPeerAsync();
        using (connection)
        using (peer)
        {
            Assert.Equal(curl.Id, peer.ProcessId);
            Assert.Equal("/usr/bin/curl", peer.GetExecutablePath());
            var expected = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync("/usr/bin/curl", TestContext.Current.CancellationToken)));
            Assert.Equal(expected, peer.GetExecutableSha256());
            Assert.False(peer.IsRelay());
        }
    }

    [Fact]
    public async Task APeerThatExitsWhileItsConnectionIsHeldOpenGetsNoExecutableAndNoWrongOne()
    {
        await PeerListener.RequirePidFdAsync();
        using var listener = new PeerListener();

        // The process that connects hands the connection to a child of its own, then exits when told.
        // The child keeps it open until the server closes it.
        const string Script = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(60)
            s.connect(sys.argv[1])
            if os.fork() == 0:
                for fd in (0, 1, 2):
                    os.close(fd)
                try:
                    s.recv(1)
                finally:
                    os._exit(0)
            sys.stdin.readline()
            os._exit(0)
            """;
        using var python = ClientProcess.Start("/usr/bin/python3", "-c", Script, listener.Path);
        var (connection, peer) = await listener.AcceptPeerAsync();
        using (connection)
        using (peer)
        {
            Assert.Equal(python.Id, peer.ProcessId);
            Assert.True(peer.HasProcessHandle); // pinned while it was alive

            await python.WriteLineAsync("exit");
            await python.WaitAsync(); // exited and reaped: its pid is free for anyone
            Assert.False(connection.Poll(0, SelectMode.SelectRead)); // the child still holds the connection open

            Assert.Null(peer.GetExecutablePath());
            Assert.Null(peer.GetExecutableSha256());
            Assert.Equal($"the peer's process (pid {python.Id}) has exited", peer.ExecutablePath.Unknown);
            Assert.False(peer.IsRelay());

            var identity = new PeerCredentialIdentity(peer, "Test", new PeerCredentialAuthenticationOptions { IncludeExecutablePath = true, ResolveNames = false });
            Assert.Null(identity.FindFirst(PeerCredentialClaimTypes.ExecutablePath));
            Assert.Equal(python.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), identity.FindFirst(PeerCredentialClaimTypes.ProcessId)?.Value); // the pid is informational
        }
    }

    [Fact]
    public async Task AHashIsNeverOfAnotherFileThanThePathReportedEvenAfterExecve()
    {
        await PeerListener.RequirePidFdAsync();
        using var listener = new PeerListener();
        const string Script = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(sys.argv[1])
            sys.stdin.readline()
            os.execv("/usr/bin/sleep", ["sleep", "60"])
            """;
        using var python = ClientProcess.Start("/usr/bin/python3", "-c", Script, listener.Path);
        var (connection, peer) = await listener.AcceptPeerAsync();
        using (connection)
        using (peer)
        {
            var python3 = peer.GetExecutablePath(); // read, and kept for the connection
            Assert.StartsWith("/usr/bin/python3", python3, StringComparison.Ordinal);

            // The same process, now running another program.
            await python.WriteLineAsync("exec");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (new FileInfo($"/proc/{python.Id}/exe").LinkTarget != "/usr/bin/sleep")
            {
                Assert.True(DateTime.UtcNow < deadline, "python3 did not exec sleep in time.");
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            Assert.Null(peer.GetExecutableSha256());
            Assert.Equal($"the peer's process (pid {python.Id}) runs /usr/bin/sleep now, not {python3} (an execve, or the file was replaced, since its path was read)", peer.ExecutableSha256.Unknown);
        }
    }

    [Fact]
    public async Task SocatIsRecognisedAsARelayByDefaultAndNotWhenTheListLeavesItOut()
    {
        await PeerListener.RequirePidFdAsync();
        using var listener = new PeerListener();
        using var socat = ClientProcess.Start("socat", "STDIO", $"UNIX-CONNECT:{listener.Path}");
        var (connection, peer) = await listener.AcceptPeerAsync();
        using (connection)
        using (peer)
        {
            Assert.Equal(socat.Id, peer.ProcessId);
            Assert.True(peer.IsRelay());
            Assert.True(peer.IsRelay(new HashSet<string> { "socat" }));
            Assert.False(peer.IsRelay(new HashSet<string> { "nc", "ssh" }));
        }
    }

    [Fact]
    public async Task TheSecurityLabelIsWhatTheKernelSaysAndAbsentNotEmptyWithoutOne()
    {
        using var listener = new PeerListener();
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(listener.Path), TestContext.Current.CancellationToken);
        var (connection, peer) = await listener.AcceptPeerAsync();
        using (connection)
        using (peer)
        {
            // The kernel's own answer, read the framework's way: ENOPROTOOPT when no LSM labels the socket.
            string? kernel;
            try
            {
                var raw = new byte[4096];
                kernel = System.Text.Encoding.UTF8.GetString(raw, 0, connection.GetRawSocketOption(1, 31, raw)).TrimEnd('\0');
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ProtocolOption)
            {
                kernel = null;
            }

            var identity = new PeerCredentialIdentity(peer, "Test", new PeerCredentialAuthenticationOptions { ResolveNames = false });
            if (string.IsNullOrEmpty(kernel))
            {
                Assert.Null(peer.SecurityLabel);
                Assert.Null(identity.FindFirst(PeerCredentialClaimTypes.SecurityLabel));
            }
            else
            {
                Assert.Equal(kernel, peer.SecurityLabel);
                Assert.Equal(kernel, identity.FindFirst(PeerCredentialClaimTypes.SecurityLabel)?.Value);
            }
        }
    }
}
