using System.IO.Compression;
using System.Xml.Linq;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// The library works outside this repository, as a NuGet package: an app that only references the
/// packed <c>.nupkg</c> (from a folder feed) serves members of a group and refuses everyone else, the
/// kernel deciding who is who. Slow (a pack and a whole app build, about half a minute).
/// </summary>
[Trait("Category", "Package")]
public sealed class PackageTests(PackagedApp app) : IClassFixture<PackagedApp>
{
    [Fact]
    public async Task AMemberOfTheGroupIsServedByTheAppBuiltFromThePackage()
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{app.Timings}; group {app.Group}");

        var (status, body, _) = await Command.CurlAsync(app.SocketPath, "/whoami");

        Assert.True(status == 200, $"curl as uid {Privileges.EffectiveUserId} got {status}: {System.Text.Encoding.UTF8.GetString(body)}\n{app.AppOutput}");
        Assert.StartsWith($"uid {Privileges.EffectiveUserId} (", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APeerOutsideTheGroupIsRefusedWith403SayingWhy()
    {
        Privileges.RequireRoot("the package app's refusal of a peer outside its group (uid 65534, no groups)");

        var (status, body, headers) = await Command.CurlAsync(app.SocketPath, "/whoami", prefix: Command.AsUser(Privileges.Nobody));

        var text = System.Text.Encoding.UTF8.GetString(body);
        Assert.True(status == 403, $"curl as uid {Privileges.Nobody} got {status}: {text}\n{app.AppOutput}");
        Assert.Contains("application/problem+json", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"uid {Privileges.Nobody}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePackageHasItsReadmeDocsLicenseAndNoDependencyButTheSharedFramework()
    {
        using var package = ZipFile.OpenRead(app.PackagePath);
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();

        Assert.Contains("lib/net10.0/PeerCredentials.dll", entries);
        Assert.Contains("lib/net10.0/PeerCredentials.xml", entries); // IntelliSense for every public API
        Assert.Contains("README.md", entries);

        using var nuspecStream = package.GetEntry("PeerCredentials.nuspec")!.Open();
        var nuspec = XDocument.Load(nuspecStream);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("PeerCredentials", metadata.Element(ns + "id")?.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
        Assert.Empty(metadata.Descendants(ns + "dependency"));
        Assert.Equal(["Microsoft.AspNetCore.App"], metadata.Descendants(ns + "frameworkReference").Select(f => f.Attribute("name")?.Value));
    }
}
