using EchoApi;
using EchoApi.Echo;
using EchoApi.Health;
using EchoApi.Identity;
using EchoApi.LineProtocol;
using EchoApi.OpenApi;
using Microsoft.AspNetCore.Connections;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using PeerCredentials;
using PeerCredentials.Authentication;
using PeerCredentials.Sockets;

// A container health check without shell or curl: EchoApi --health dials the socket and exits 0 or 1.
if (args.Contains(HealthProbe.Switch))
{
    return await HealthProbe.RunAsync(args);
}

// Settings files sit beside the binary, wherever it is started from (systemd starts it in /).
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddCommandLine(args, EchoApiOptions.SwitchMappings.ToDictionary());
builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
builder.Services.AddSystemd(); // under systemd: sd_notify readiness and journal-formatted logs; elsewhere nothing

// Settings: bound from "EchoApi", checked before the socket exists.
builder.Services.AddOptions<EchoApiOptions>().BindConfiguration(EchoApiOptions.Section).ValidateOnStart();
builder.Services.AddSingleton<EchoApiOptionsSetup>();
builder.Services.AddSingleton<IPostConfigureOptions<EchoApiOptions>>(sp => sp.GetRequiredService<EchoApiOptionsSetup>());
builder.Services.AddSingleton<IValidateOptions<EchoApiOptions>>(sp => sp.GetRequiredService<EchoApiOptionsSetup>());

// The Unix socket: created safely, every connection's peer credentials read by the kernel.
builder.Services.AddUnixSocketFiles();
builder.Services.AddOptions<UnixSocketAcceptOptions>().Configure<IOptions<EchoApiOptions>>((accept, echo) =>
{
    // The connect rate guards the owner against the others: the users the owner policy admits are not limited by it.
    accept.ConnectionsPerSecondPerUser = echo.Value.MaxConnectsPerSecondPerUser;
    accept.FloodPause = echo.Value.FloodPause;
    accept.UnlimitedUserIds.Add(echo.Value.OwnerUserId!.Value);
    if (echo.Value.AllowRoot)
    {
        accept.UnlimitedUserIds.Add(0);
    }
});
builder.WebHost.ConfigureKestrel(kestrel =>
{
    var options = kestrel.ApplicationServices.GetRequiredService<IOptions<EchoApiOptions>>().Value;
    ApplyLimits(kestrel.Limits, options);
    var file = new UnixSocketFileOptions { Mode = options.SocketFileMode!.Value, Group = options.SocketGroup };
    void Gate(PeerCredentialConnectionOptions gate)
    {
        gate.MaxConnectionsPerUser = options.MaxConnectionsPerUser;
        gate.ConnectionPolicy = options.RefuseAtConnect ? EchoPolicies.Owner : null;
    }

    // Socket activation: systemd made the sockets (FileDescriptorName=line for the line socket); this
    // process serves them and never creates, chmods or deletes their files.
    var inherited = kestrel.ListenOnSystemdSockets((name, listen) =>
    {
        listen.UsePeerCredentials(Gate);
        if (name == "line")
        {
            listen.UseConnectionHandler<LineEchoConnectionHandler>();
        }
    });
    if (inherited > 0)
    {
        return;
    }

    kestrel.ListenUnixSocketFile(options.SocketPath!, file, listen => listen.UsePeerCredentials(Gate));
    if (!string.IsNullOrEmpty(options.OwnerSocketPath))
    {
        // Only the owner can open it: no other uid can flood it, or wait in its listen queue.
        var ownerOnly = new UnixSocketFileOptions { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        kestrel.ListenUnixSocketFile(options.OwnerSocketPath, ownerOnly, listen => listen.UsePeerCredentials(Gate));
    }

    if (!string.IsNullOrEmpty(options.LineSocketPath))
    {
        kestrel.ListenUnixSocketFile(options.LineSocketPath, file, listen => listen.UsePeerCredentials(Gate).UseConnectionHandler<LineEchoConnectionHandler>());
    }
});
builder.Services.AddOptions<HostOptions>().Configure<IOptions<EchoApiOptions>>((host, echo) => host.ShutdownTimeout = echo.Value.ShutdownTimeout);

// Identity from the socket, and "socket owner only" for everything not marked otherwise.
builder.Services.AddAuthentication(PeerCredentialAuthenticationDefaults.AuthenticationScheme).AddPeerCredential();
builder.Services.AddAuthorization();
// These three are stateless but registered transient, so every request would build them anew, by reflection
// (there is no dynamic code in the AOT build, nor in the JIT build of an app that sets PublishAot): about a
// tenth of the CPU time of an echo. The authorization handlers here hold no per-request state (the owner
// handler is a singleton, the framework's pass-through one is stateless), so one of each serves every request.
// The framework's own implementation types are kept (DefaultAuthorizationServiceImpl records metrics).
SingletonInstead<IPolicyEvaluator>(builder.Services);
SingletonInstead<IAuthorizationService>(builder.Services);
SingletonInstead<IAuthorizationHandlerProvider>(builder.Services);
builder.Services.AddOptions<AuthorizationOptions>().Configure<IOptions<EchoApiOptions>>((authorization, echo) =>
{
    var owner = new AuthorizationPolicyBuilder().RequireSocketOwner(echo.Value.OwnerUserId!.Value, echo.Value.AllowRoot).Build();
    authorization.AddPolicy(EchoPolicies.Owner, owner);
    authorization.DefaultPolicy = owner;
    authorization.FallbackPolicy = owner;
});

// The OpenAPI document and Swagger UI, guarded like the rest.
builder.Services.AddEchoApiOpenApi();

builder.Services.AddProblemDetails();
// Nothing here protects data; keep authentication's key ring in memory instead of on disk.
builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
builder.Services.ConfigureHttpJsonOptions(json =>
{
    json.SerializerOptions.TypeInfoResolverChain.Insert(0, EchoApiJsonContext.Default);
    json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict; // numbers are numbers, in answers and in the OpenAPI schema
});

// Settings and socket problems surface while building (Kestrel's endpoints) or starting: each is
// reported as one clear line and a non-zero exit, before any socket exists.
try
{
    var app = builder.Build();

    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseAuthentication();
    app.UseAuthorization();

    app.MapEchoApiDocs();
    app.MapHealth();
    app.MapGroup("").RequireAuthorization(EchoPolicies.Owner)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .MapEcho()
        .MapWebSocketEcho()
        .MapWhoAmI();

    app.Lifetime.ApplicationStarted.Register(() =>
    {
        var options = app.Services.GetRequiredService<IOptions<EchoApiOptions>>().Value;
        if (SystemdSockets.Inherited() is { Count: > 0 } inherited)
        {
            app.Logger.ListeningOnSystemdSockets(inherited.Count, string.Join(", ", inherited.Select(s => s.Name)), options.OwnerUserId!.Value);
            if (!string.IsNullOrEmpty(options.OwnerSocketPath))
            {
                app.Logger.OwnerSocketIgnoredUnderSystemd(options.OwnerSocketPath);
            }

            return;
        }

        app.Logger.Listening(options.SocketPath!, options.OwnerUserId!.Value);
        if (!string.IsNullOrEmpty(options.OwnerSocketPath))
        {
            app.Logger.ListeningForOwner(options.OwnerSocketPath, options.OwnerUserId!.Value);
        }

        if (!string.IsNullOrEmpty(options.LineSocketPath))
        {
            app.Logger.ListeningForLines(options.LineSocketPath);
        }
    });

    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException or UnixSocketFileException or PlatformNotSupportedException or IOException)
{
    await Console.Error.WriteLineAsync($"echoapi: {e.Message}");
    return 1;
}

// Slow or idle peers are timed out, and nothing a peer sends is held without a bound.
static void ApplyLimits(KestrelServerLimits limits, EchoApiOptions options)
{
    limits.MaxConcurrentConnections = options.MaxConnections;
    limits.MaxConcurrentUpgradedConnections = options.MaxConnections;
    limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
    limits.KeepAliveTimeout = options.KeepAliveTimeout;
    limits.MaxRequestHeadersTotalSize = options.MaxRequestHeadersBytes;
    limits.MinRequestBodyDataRate = options.MinRequestBodyBytesPerSecond > 0
        ? new MinDataRate(options.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5))
        : null;
}

// Keeps the registered implementation of TService, as a singleton instead of whatever lifetime it had.
static void SingletonInstead<TService>(IServiceCollection services)
{
    var registered = services.Last(d => d.ServiceType == typeof(TService));
    var type = registered.ImplementationType
        ?? throw new InvalidOperationException($"{typeof(TService).Name} is registered without an implementation type.");
    services.RemoveAll<TService>();
    services.Add(ServiceDescriptor.Singleton(typeof(TService), type));
}

/// <summary>The service's entry point; public so tests can host it.</summary>
public partial class Program;
