using System.Text.Json.Serialization;
using EchoApi;
using EchoApi.Echo;
using EchoApi.Health;
using EchoApi.Hosting;
using EchoApi.Identity;
using EchoApi.OpenApi;
using EchoApi.Settings;
using PeerCredentials.Sockets;

// Socket completions on the epoll thread: set before any socket exists (bench/README.md, "Choices for speed").
SocketCompletions.RunInline();

// Linux only: anywhere else, one line that says so, before anything calls into libc.
if (await ServicePlatform.RefuseUnsupportedAsync() is { } unsupported)
{
    return unsupported;
}

// --help, --version, and --health (a container health check without shell or curl); a switch it does not know stops it.
if (await CommandLine.HandleAsync(args) is { } exitCode)
{
    return exitCode;
}

// A native AOT binary keeps the soft descriptor limit it was started with (1024 under systemd).
var descriptors = OpenFileLimit.RaiseToHardLimit();

// Settings files sit beside the binary, wherever it is started from (systemd starts it in /).
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddCommandLine(args, EchoApiSettings.SwitchMappings.ToDictionary());
builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
builder.Services.AddSystemd(); // under systemd: sd_notify readiness and journal-formatted logs; elsewhere nothing

// The Unix sockets, each behind the peer-credential gate; the settings, checked before they exist.
builder.AddEchoApiSockets();

// Identity from the socket, and the owner's (or an allowed peer's) for everything not marked otherwise; through a TCP
// bridge, no other host names and no cross-site browser requests.
builder.Services.AddEchoApiAuthorization();
builder.Services.AddEchoApiRequestGuard();

// The OpenAPI document and Swagger UI, guarded like the rest.
builder.Services.AddEchoApiOpenApi();
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
    app.Logger.DescriptorBudget(descriptors);

    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseLocalRequestGuard();
    app.UseAuthentication();
    app.UseAuthorization();

    app.MapEchoApiDocs();
    app.MapHealth();
    app.MapGroup("").RequireAuthorization(EchoPolicies.Access)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .MapEcho()
        .MapWebSocketEcho()
        .MapWhoAmI()
        .MapIndex();

    app.LogListeningOnStart();
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is not HostAbortedException) // that one is how test hosts take the built app
{
    return await StartupFailure.ReportAsync(e, builder.Configuration);
}

/// <summary>The service's entry point; public so tests can host it.</summary>
public partial class Program;
