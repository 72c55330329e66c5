namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// A fresh directory for one test's sockets, short enough for sun_path, removed afterwards. Mode 0755
/// so that a client running as another uid can reach a socket in it; the socket's own mode decides.
/// </summary>
public sealed class TempSocketDirectory : IDisposable
{
    public TempSocketDirectory()
    {
        Path = Directory.CreateTempSubdirectory("eat-").FullName;
        System.IO.File.SetUnixFileMode(Path, (UnixFileMode)0b111_101_101);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
