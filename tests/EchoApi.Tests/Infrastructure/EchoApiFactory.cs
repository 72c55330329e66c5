using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// The real service (its Program) on a real Kestrel on a real Unix socket in a directory of its own.
/// Settings are the service's own configuration keys.
/// </summary>
public sealed class EchoApiFactory : WebApplicationFactory<Program>
{
    private readonly TempSocketDirectory _directory = new();
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public EchoApiFactory(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        SocketPath = _directory.File("echo.sock");
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["EchoApi:SocketPath"] = SocketPath,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel();
    }

    public string SocketPath { get; }

    /// <summary>The raw line-echo socket, beside the HTTP socket by default.</summary>
    public string LineSocketPath => _settings.TryGetValue("EchoApi:LineSocketPath", out var path) && path is not null ? path : _directory.File("line.sock");

    public TempSocketDirectory Directory => _directory;

    public LogCollector Logs { get; } = new();

    /// <summary>Builds and starts the service; the socket is listening when this returns.</summary>
    public static EchoApiFactory Start(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var factory = new EchoApiFactory(settings, services);
        try
        {
            factory.StartServer();
            return factory;
        }
        catch
        {
            factory.Dispose();
            throw;
        }
    }

    /// <summary>Starts a service whose socket anyone may reach, so that other uids really connect and the peer-credential gate decides.</summary>
    public static EchoApiFactory StartOpenToAll(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["EchoApi:SocketMode"] = "0666" };
        return Start(all, services);
    }

    public HttpClient CreateUnixClient(bool expectContinue = false) => UnixHttp.CreateClient(SocketPath, expectContinue);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _directory.Dispose();
        }
    }
}
