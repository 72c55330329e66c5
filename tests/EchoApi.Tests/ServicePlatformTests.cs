using EchoApi.Hosting;
using Microsoft.Extensions.Configuration;

namespace EchoApi.Tests;

/// <summary>
/// Off Linux the service refuses to start with one line. No other platform runs here, so the line is
/// checked as the start-up path builds it, and the check itself on this Linux machine.
/// </summary>
public sealed class ServicePlatformTests
{
    [Fact]
    public void OffLinuxTheServiceStopsWithOneLineThatNamesThePlatform()
    {
        var refusal = ServicePlatform.Refusal(isLinux: false, "Microsoft Windows 10.0.26100");

        var line = StartupFailure.Line(Assert.IsType<PlatformNotSupportedException>(refusal), new ConfigurationBuilder().Build());

        Assert.Equal(
            "echoapi: EchoApi runs on Linux only (peer credentials with SO_PEERCRED and SO_PEERGROUPS, socket files made with statx and O_PATH, abstract socket names); refusing to start on Microsoft Windows 10.0.26100.",
            line);
    }

    [Fact]
    public async Task OnLinuxTheServiceGoesOn()
    {
        Assert.Null(ServicePlatform.Refusal(isLinux: true, "Linux 6.8.0"));
        Assert.Null(await ServicePlatform.RefuseUnsupportedAsync());
    }
}
