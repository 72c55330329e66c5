using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PeerCredentials.Sockets;
using PeerCredentials.Tests.Infrastructure;

namespace PeerCredentials.Tests;

/// <summary>
/// <c>UseDirectSocket()</c>: connections handed to the handler as their bare socket, on a real Kestrel and a
/// real (abstract) Unix socket of the test's own, and still under the gate, Kestrel's limits and its shutdown.
/// </summary>
public sealed class DirectSocketTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheHandlerGetsTheBareSocketAfterTheGateDecidedOnTheThreadPool()
    {
        bool? decidedOnThreadPool = null;
        uint? handlerSawUid = null;
        var name = AbstractName();
        await using var app = await StartAsync(name, peer =>
        {
            peer.AuthorizePeer = credential =>
            {
                decidedOnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
                return null;
            };
        }, async connection =>
        {
            handlerSawUid = connection.Features.Get<IPeerCredentialFeature>()?.Credential.UserId;
            var socket = connection.Features.Get<IDirectSocketFeature>()!.Socket;
            var buffer = new byte[64];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            await socket.SendAsync(Encoding.ASCII.GetBytes("ok " + Encoding.ASCII.GetString(buffer, 0, read)), SocketFlags.None);
        });

        using var client = await ConnectAsync(name);
        await client.SendAsync("hi\n"u8.ToArray(), Cancel);

        Assert.Equal("ok hi\n", await ReadToEndAsync(client)); // EOF: the connection ends with its handler
        Assert.True(decidedOnThreadPool);
        Assert.Equal(UnixAccounts.EffectiveUserId, handlerSawUid);
    }

    [Fact]
    public async Task ARefusedPeerHearsOnRefusedThroughATransportMadeOnFirstUse()
    {
        var handled = false;
        var name = AbstractName();
        await using var app = await StartAsync(name, peer =>
        {
            peer.AuthorizePeer = _ => "not you";
            peer.OnRefused = async (connection, refusal) =>
                await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"refused: {refusal.Message}\n"));
        }, connection =>
        {
            handled = true;
            return Task.CompletedTask;
        });

        using var client = await ConnectAsync(name);

        Assert.Equal("refused: not you\n", await ReadToEndAsync(client));
        Assert.False(handled);
    }

    [Fact]
    public async Task KestrelCountsDirectConnectionsAgainstMaxConcurrentConnections()
    {
        var name = AbstractName();
        await using var app = await StartAsync(name, peer => { }, EchoUntilEofAsync, kestrel => kestrel.Limits.MaxConcurrentConnections = 1);

        using var first = await ConnectAsync(name);
        await first.SendAsync("a"u8.ToArray(), Cancel);
        Assert.Equal("a", await ReadAsync(first, 1)); // admitted, and its handler is running

        using (var second = await ConnectAsync(name))
        {
            Assert.Equal(string.Empty, await ReadToEndAsync(second)); // over the limit: closed without a word
        }

        first.Shutdown(SocketShutdown.Send);
        Assert.Equal(string.Empty, await ReadToEndAsync(first));

        // Its place is free again once Kestrel has seen it close.
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            using var next = await ConnectAsync(name);
            await next.SendAsync("b"u8.ToArray(), Cancel);
            next.Shutdown(SocketShutdown.Send);
            if (await ReadToEndAsync(next) == "b")
            {
                break;
            }

            Assert.True(stopwatch.Elapsed < Timeout, "The connection limit was not released after the first connection closed.");
            await Task.Delay(50, Cancel);
        }
    }

    [Fact]
    public async Task ShutdownAbortsAHandlerThatOutlivesTheShutdownTimeout()
    {
        var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var name = AbstractName();
        var app = await StartAsync(name, peer => { }, async connection =>
        {
            // A handler that ignores shutdown: only the abort can end its wait.
            var socket = connection.Features.Get<IDirectSocketFeature>()!.Socket;
            var buffer = new byte[64];
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                }

                ended.SetResult("EOF");
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                ended.SetResult(e.GetType().Name);
            }
        }, configureHost: host => host.ShutdownTimeout = TimeSpan.FromMilliseconds(300));

        using var client = await ConnectAsync(name);
        await client.SendAsync("x"u8.ToArray(), Cancel);
        Assert.Equal("x", await ReadAsync(client, 1));

        var stopwatch = Stopwatch.StartNew();
        await app.DisposeAsync();

        Assert.True(stopwatch.Elapsed < Timeout, $"Stopping took {stopwatch.Elapsed}.");
        Assert.NotNull(await ended.Task.WaitAsync(Timeout, Cancel));
        Assert.Equal(string.Empty, await ReadToEndAsync(client)); // the peer sees the connection end
    }

    [Fact]
    public void UseDirectSocketWithoutTheLibrarysListenerSaysWhatToCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(UnixSocketPaths.ToEndPoint(AbstractName()), listen => listen.UseDirectSocket()));

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());

        Assert.Contains("AddUnixSocketFiles()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheGateHopsToTheThreadPoolWhenAConnectionStartsOnAnotherThread()
    {
        // As a transport with inline scheduling would start it: on the thread that completed the accept.
        var gate = new PeerCredentialGate(Options.Create(new PeerCredentialGateOptions()), new PeerRefusalLog(Options.Create(new PeerCredentialGateOptions()), NullLogger<PeerRefusalLog>.Instance), NullLogger<PeerCredentialGate>.Instance);
        bool? decidedOnThreadPool = null;
        var options = new PeerCredentialConnectionOptions
        {
            AuthorizePeer = _ =>
            {
                decidedOnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
                return null;
            },
        };
        var middleware = new PeerCredentialConnectionMiddleware(_ => Task.CompletedTask, gate, options, NullLogger.Instance);
        var connection = new DefaultConnectionContext();
        connection.Features.Set<IPeerCredentialFeature>(new PeerCredentialFeature(new PeerCredential(4242, 1000, 1000)));

        Task? running = null;
        bool? startedOnThreadPool = null;
        var thread = new Thread(() =>
        {
            startedOnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
            running = middleware.OnConnectionAsync(connection);
        });
        thread.Start();
        thread.Join();
        await running!.WaitAsync(Timeout, Cancel);

        Assert.False(startedOnThreadPool);
        Assert.True(decidedOnThreadPool);
    }

    private static async Task EchoUntilEofAsync(ConnectionContext connection)
    {
        var socket = connection.Features.Get<IDirectSocketFeature>()!.Socket;
        var buffer = new byte[64];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
        {
            await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
        }
    }

    private static string AbstractName() => "@pct-direct-" + Guid.NewGuid().ToString("N");

    private static async Task<WebApplication> StartAsync(
        string name,
        Action<PeerCredentialConnectionOptions> gate,
        Func<ConnectionContext, Task> handler,
        Action<KestrelServerOptions>? configureKestrel = null,
        Action<HostOptions>? configureHost = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddProvider(new LogCollector());
        builder.Services.AddUnixSocketFiles();
        if (configureHost is not null)
        {
            builder.Services.Configure(configureHost);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            configureKestrel?.Invoke(kestrel);
            kestrel.ListenUnixSocketFile(name, new UnixSocketFileOptions(), listen => listen.UseDirectSocket().UsePeerCredentials(gate).Run(handler));
        });
        var app = builder.Build();
        await app.StartAsync(Cancel);
        return app;
    }

    private static async Task<Socket> ConnectAsync(string name)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(UnixSocketPaths.ToEndPoint(name), Cancel).AsTask().WaitAsync(Timeout, Cancel);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<string> ReadAsync(Socket socket, int length)
    {
        var buffer = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), Cancel).AsTask().WaitAsync(Timeout, Cancel);
            Assert.True(n > 0, $"EOF after {read} of {length} bytes.");
            read += n;
        }

        return Encoding.ASCII.GetString(buffer);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[256];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, Cancel).AsTask().WaitAsync(Timeout, Cancel)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
