using PeerCredentials.Sockets;

namespace PeerCredentials.Tests;

/// <summary>Socket file modes as people write them: octal read/write bits that include the owner's.</summary>
public sealed class SocketModeTests
{
    [Theory]
    [InlineData("0600", 0b110_000_000)]
    [InlineData("600", 0b110_000_000)]
    [InlineData(" 0660 ", 0b110_110_000)]
    [InlineData("0666", 0b110_110_110)]
    [InlineData("0640", 0b110_100_000)]
    public void ValidModesParse(string text, int expected)
    {
        Assert.True(UnixSocketFileOptions.TryParseMode(text, out var mode));
        Assert.Equal((UnixFileMode)expected, mode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("rw-------")]
    [InlineData("0700")] // execute means nothing on a socket
    [InlineData("4600")] // nor do special bits
    [InlineData("0060")] // the owner must keep read and write
    [InlineData("0400")]
    [InlineData("0800")]
    [InlineData("-600")]
    [InlineData("00600")]
    [InlineData("0x180")]
    public void AnythingElseIsRefused(string? text)
    {
        Assert.False(UnixSocketFileOptions.TryParseMode(text, out _));
    }
}
