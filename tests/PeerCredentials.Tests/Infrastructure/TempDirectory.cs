namespace PeerCredentials.Tests.Infrastructure;

/// <summary>A private directory of the test's own, removed with everything in it.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("pct-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
