using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using EchoApi.Tests.Infrastructure;
using PeerCredentials;

namespace EchoApi.Tests;

/// <summary>
/// The library's promise that a recycled pid never lends its identity, tested the only way it can be:
/// the peer exits, its pid is given to a new process that runs another file under the same path, and
/// the connection's process facts are asked for afterwards. Here, not in the library's tests, because
/// handing out a chosen pid (<c>/proc/sys/kernel/ns_last_pid</c>) needs root, and CI runs these as root.
/// </summary>
public sealed class PeerPidReuseTests
{
    private const string LastPid = "/proc/sys/kernel/ns_last_pid";

    // Connects three times, hands the connections to a child that holds them, and exits when told.
    private const string Peer = """
        import os, socket, sys
        held = []
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(60)
            s.connect(sys.argv[1])
            held.append(s)
        if os.fork() == 0:
            for fd in (0, 1, 2):
                os.close(fd)
            try:
                held[0].recv(1)
            finally:
                os._exit(0)
        sys.stdin.readline()
        os._exit(0)
        """;

    // Starts argv[2:] as pid argv[1] (the kernel hands out the pid after ns_last_pid), says so, and waits for it.
    private const string Recycler = """
        import os, sys
        target = int(sys.argv[1])
        for _ in range(200):
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(target - 1))
            pid = os.fork()
            if pid == 0:
                if os.getpid() == target:
                    os.execv(sys.argv[2], sys.argv[2:])
                os._exit(0)
            if pid == target:
                print(pid, flush=True)
                os.waitpid(pid, 0)
                sys.exit(0)
            os.waitpid(pid, 0)
        print("lost", flush=True)
        """;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ARecycledPidNeverLendsItsExecutableOrHashToAConnectionWhosePeerHasExited()
    {
        Privileges.RequireRoot($"handing a chosen pid to a new process ({LastPid})");
        using var directory = new TempSocketDirectory();
        var tool = directory.File("tool");
        File.Copy("/usr/bin/python3", tool);
        var socketPath = directory.File("peer.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(4);

        var peer = Command.Start(tool, "-c", Peer, socketPath);
        try
        {
            using var first = await AcceptAsync(listener);
            using var second = await AcceptAsync(listener);
            using var third = await AcceptAsync(listener);
            using var untouched = PeerCredential.Read(first);
            using var pathRead = PeerCredential.Read(second);
            using var askedLate = PeerCredential.Read(third); // its pidfd is not taken before the peer is gone
            if (!untouched.HasProcessHandle) // takes the pidfd, while the peer lives
            {
                Assert.Skip("Skipped: this kernel gives no pidfd for a peer (SO_PEERPIDFD needs Linux 6.5).");
            }

            Assert.Equal(peer.Id, untouched.ProcessId);
            Assert.Equal(tool, pathRead.GetExecutablePath()); // read while the peer lives: right, and kept

            // The peer exits and is reaped; the child keeps both connections open.
            var pid = peer.Id;
            await peer.StandardInput.WriteLineAsync("exit".AsMemory(), Cancel);
            await peer.WaitForExitAsync(Cancel).WaitAsync(TimeSpan.FromSeconds(30), Cancel);
            Assert.False(first.Poll(0, SelectMode.SelectRead));

            // Another file under the same path, run by a new process that gets the peer's pid.
            File.Delete(tool);
            File.Copy("/usr/bin/python3", tool);
            await File.AppendAllTextAsync(tool, "\n", Cancel);
            var impostorHash = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(tool, Cancel)));
            using var recycler = Command.Start("/usr/bin/python3", "-c", Recycler, pid.ToString(CultureInfo.InvariantCulture), tool, "-c", "import sys; sys.stdin.readline()");
            try
            {
                var line = await recycler.StandardOutput.ReadLineAsync(Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(60), Cancel);
                if (line != pid.ToString(CultureInfo.InvariantCulture))
                {
                    var error = await recycler.StandardError.ReadToEndAsync(Cancel).WaitAsync(TimeSpan.FromSeconds(10), Cancel);
                    if (error.Contains("PermissionError", StringComparison.Ordinal) || error.Contains("Read-only file system", StringComparison.Ordinal))
                    {
                        Assert.Skip($"Skipped: {LastPid} cannot be written here (no CAP_SYS_ADMIN over this pid namespace): {error.Trim()}");
                    }

                    Assert.Fail($"Could not hand pid {pid} to a new process ({line}): {error}");
                }

                // Looked up by pid, the answer now would be the impostor's: the same path, another file. The
                // recycler says so as fork() returns, maybe before its child's execv is done: wait for it.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (new FileInfo($"/proc/{pid}/exe").LinkTarget != tool && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(5, Cancel);
                }

                Assert.Equal(tool, new FileInfo($"/proc/{pid}/exe").LinkTarget);

                Assert.Null(untouched.GetExecutablePath());
                Assert.Equal($"the peer's process (pid {pid}) has exited", untouched.ExecutablePath.Unknown);
                Assert.Null(untouched.GetExecutableSha256());

                // The path was known; the hash was not read yet. The file that opening /proc/PID/exe gives
                // has that very path, so only the pidfd can tell that it is not the peer's.
                Assert.Null(pathRead.GetExecutableSha256());
                Assert.Equal($"the peer's process (pid {pid}) has exited", pathRead.ExecutableSha256.Unknown);
                Assert.NotEqual(impostorHash, pathRead.GetExecutableSha256());

                // A pidfd first asked for now still names the peer's struct pid (the socket has held it
                // since connect()), never the impostor's: the kernel refuses it or it reads as reaped.
                Assert.Null(askedLate.GetExecutablePath());
                Assert.Equal($"the peer's process (pid {pid}) has exited", askedLate.ExecutablePath.Unknown);
            }
            finally
            {
                recycler.StandardInput.Close(); // the impostor reads its end of input and exits, then the recycler
                await recycler.WaitForExitAsync(Cancel).WaitAsync(TimeSpan.FromSeconds(30), Cancel);
            }
        }
        finally
        {
            if (!peer.HasExited)
            {
                peer.Kill();
            }

            peer.Dispose();
        }
    }

    private static async Task<Socket> AcceptAsync(Socket listener)
        => await listener.AcceptAsync(Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Cancel);
}
