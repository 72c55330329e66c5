using System.Runtime.InteropServices;

namespace PeerCredentials.Tests;

/// <summary>
/// macOS and FreeBSD answer <c>LOCAL_PEERCRED</c> with a <c>struct xucred</c>. These machines run Linux, so
/// the parser is fed the bytes those kernels write, laid out by hand from their headers (xnu
/// <c>bsd/sys/ucred.h</c>, FreeBSD <c>sys/sys/ucred.h</c>; see <see cref="XucredParser"/>):
/// <code>
/// offset  0  u_int cr_version   (0)
///         4  uid_t cr_uid
///         8  short cr_ngroups   (the effective gid included)
///        10  2 bytes of padding
///        12  gid_t cr_groups[16] (cr_groups[0] is the effective gid)
///        76  end of the macOS struct
///        76  FreeBSD: 4 bytes of padding, then union { void *; pid_t cr_pid; } at 80 (8 bytes on 64-bit)
///        88  end of the FreeBSD struct
/// </code>
/// Padding and unused group slots are filled with 0xAA, as a kernel's stack might leave them, so that a
/// parser reading them would be caught.
/// </summary>
public sealed class XucredParserTests
{
    [Fact]
    public void AMacOSAnswerGivesTheUidTheEffectiveGidFirstAndTheOtherGroupsAfter()
    {
        Assert.SkipUnless(BitConverter.IsLittleEndian, "Skipped: the bytes below are a little-endian (x86-64, arm64) macOS answer.");

        // uid 501 in staff (20), with everyone (12), localaccounts (61) and admin (80): the first account
        // of a Mac, as `id` shows it.
        var raw = Convert.FromHexString(
            "00000000" +                 // cr_version 0
            "F5010000" +                 // cr_uid 501
            "0400" + "AAAA" +            // cr_ngroups 4, padding
            "14000000" + "0C000000" + "3D000000" + "50000000" + // cr_groups[0..3]: 20, 12, 61, 80
            string.Concat(Enumerable.Repeat("AAAAAAAA", 12)));  // cr_groups[4..15]: unused

        var xucred = XucredParser.Parse(raw, XucredLayout.MacOS);

        Assert.Equal(76, raw.Length);
        Assert.Equal(501u, xucred.UserId);
        Assert.Equal(20u, xucred.GroupId);
        Assert.Equal([12u, 61u, 80u], xucred.SupplementaryGroups);
        Assert.Equal(0, xucred.ProcessId); // macOS has none here: LOCAL_PEERPID gives it
    }

    [Fact]
    public void AFreeBsdAnswerAlsoCarriesThePidAfterItsPadding()
    {
        var raw = Build(XucredLayout.FreeBsd, uid: 1001, groups: [1001, 0, 5], pid: 4242);

        var xucred = XucredParser.Parse(raw, XucredLayout.FreeBsd);

        Assert.Equal(88, raw.Length);
        Assert.Equal(1001u, xucred.UserId);
        Assert.Equal(1001u, xucred.GroupId);
        Assert.Equal([0u, 5u], xucred.SupplementaryGroups);
        Assert.Equal(4242, xucred.ProcessId);
    }

    [Fact]
    public void AFreeBsdKernelBefore13LeavesThePidZeroWhichMeansUnknown()
    {
        // FreeBSD 12 zeroed the struct and had only the unused pointer where cr_pid is now.
        var raw = Build(XucredLayout.FreeBsd, uid: 0, groups: [0], pid: 0);

        var xucred = XucredParser.Parse(raw, XucredLayout.FreeBsd);

        Assert.Equal(0u, xucred.UserId);
        Assert.Equal(0u, xucred.GroupId);
        Assert.Empty(xucred.SupplementaryGroups);
        Assert.Equal(0, xucred.ProcessId);
    }

    [Fact]
    public void AllSixteenGroupsAreRead()
    {
        var groups = Enumerable.Range(100, 16).Select(g => (uint)g).ToArray();

        var xucred = XucredParser.Parse(Build(XucredLayout.MacOS, uid: 501, groups: groups), XucredLayout.MacOS);

        Assert.Equal(100u, xucred.GroupId);
        Assert.Equal(groups[1..], xucred.SupplementaryGroups);
    }

    [Fact]
    public void AnUnknownVersionIsRefusedRatherThanGuessedAt()
    {
        var raw = Build(XucredLayout.MacOS, uid: 501, groups: [20]);
        MemoryMarshal.Write(raw, 1u);

        var error = Assert.Throws<InvalidDataException>(() => XucredParser.Parse(raw, XucredLayout.MacOS));

        Assert.Equal("LOCAL_PEERCRED returned a struct xucred of version 1; only version 0 (XUCRED_VERSION) is known, so its fields cannot be trusted.", error.Message);
    }

    [Theory]
    [InlineData(false, 0, "LOCAL_PEERCRED returned 0 bytes; a macOS struct xucred has 76.")]
    [InlineData(false, 12, "LOCAL_PEERCRED returned 12 bytes; a macOS struct xucred has 76.")] // a Linux ucred's size
    [InlineData(false, 75, "LOCAL_PEERCRED returned 75 bytes; a macOS struct xucred has 76.")]
    [InlineData(false, 88, "LOCAL_PEERCRED returned 88 bytes; a macOS struct xucred has 76.")]
    [InlineData(true, 76, "LOCAL_PEERCRED returned 76 bytes; a FreeBSD (64-bit) struct xucred has 88.")] // macOS-sized: no pid
    [InlineData(true, 80, "LOCAL_PEERCRED returned 80 bytes; a FreeBSD (64-bit) struct xucred has 88.")] // a 32-bit ABI's
    public void AnAnswerOfTheWrongSizeIsRefusedWithItsSize(bool freeBsd, int length, string message)
    {
        var layout = freeBsd ? XucredLayout.FreeBsd : XucredLayout.MacOS;
        var raw = Build(layout, uid: 501, groups: [20]).AsSpan(0, Math.Min(length, XucredParser.Size(layout))).ToArray();
        Array.Resize(ref raw, length);

        var error = Assert.Throws<InvalidDataException>(() => XucredParser.Parse(raw, layout));

        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    [InlineData(-1)]
    public void AGroupCountOutsideOneToSixteenIsRefused(short count)
    {
        var raw = Build(XucredLayout.FreeBsd, uid: 1001, groups: [1001]);
        MemoryMarshal.Write(raw.AsSpan(8), count);

        var error = Assert.Throws<InvalidDataException>(() => XucredParser.Parse(raw, XucredLayout.FreeBsd));

        Assert.Equal($"LOCAL_PEERCRED returned a struct xucred with cr_ngroups {count}; it holds 1 to 16 groups, the effective gid first.", error.Message);
    }

    /// <summary>A struct xucred in this machine's byte order, its padding and unused slots filled with 0xAA.</summary>
    private static byte[] Build(XucredLayout layout, uint uid, uint[] groups, int pid = 0)
    {
        var raw = new byte[XucredParser.Size(layout)];
        raw.AsSpan().Fill(0xAA);
        MemoryMarshal.Write(raw, XucredParser.Version);
        MemoryMarshal.Write(raw.AsSpan(4), uid);
        MemoryMarshal.Write(raw.AsSpan(8), (short)groups.Length);
        MemoryMarshal.AsBytes(groups.AsSpan()).CopyTo(raw.AsSpan(12));
        if (layout == XucredLayout.FreeBsd)
        {
            MemoryMarshal.Write(raw.AsSpan(80), pid);
        }

        return raw;
    }
}
