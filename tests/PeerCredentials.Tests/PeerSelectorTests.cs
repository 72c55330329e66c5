using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using PeerCredentials.Authorization;

namespace PeerCredentials.Tests;

/// <summary>Selector strings in SPIRE's spelling: each kind, names resolved at parse time, and every bad one refused by name.</summary>
public sealed class PeerSelectorTests
{
    private static readonly string Overflow = UnixAccounts.OverflowUserId.ToString(CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("uid:1000", "uid:1000", 1000u)]
    [InlineData("user:root", "user:root", 0u)]
    [InlineData("user:daemon", "user:daemon", 1u)]
    [InlineData("  uid:0 ", "uid:0", 0u)]
    public void UserSelectorsBecomeAUserRequirementThatRendersAsWritten(string selector, string rendered, uint uid)
    {
        var requirement = Assert.IsType<PeerUserRequirement>(PeerSelector.Parse(selector));

        Assert.Equal([uid], requirement.UserIds);
        Assert.Equal(rendered, requirement.ToString());
        Assert.Null(requirement.Check(new PeerCredential(1, uid, 100)));
        Assert.Equal($"uid {uid + 1} is not among the allowed users ({uid})", requirement.Check(new PeerCredential(1, uid + 1, 100)));
    }

    [Fact]
    public void ProcessSelectorsBecomeTheirRequirementsAndRenderAsWritten()
    {
        const string Hash = "58824a0c3a5b4ed4e8e1e5dd8f6b8b9a5f0b3a8e5e1d2c3b4a5968778695a4b3";

        Assert.Equal("path:/usr/bin/curl", Assert.IsType<PeerExecutableRequirement>(PeerSelector.Parse("path:/usr/bin/curl")).ToString());
        Assert.Equal("sha256:" + Hash, Assert.IsType<PeerExecutableHashRequirement>(PeerSelector.Parse("sha256:" + Hash.ToUpperInvariant())).ToString());
        Assert.Equal("label:unconfined", Assert.IsType<PeerLabelRequirement>(PeerSelector.Parse("label:unconfined")).ToString());

        // A peer known only by its numbers has no process facts: the selector refuses, saying why.
        Assert.NotNull(PeerSelector.Parse("path:/usr/bin/curl").Check(new PeerCredential(0, 1000, 1000)));
    }

    [Theory]
    [InlineData("path:usr/bin/curl", "Selector 'path:usr/bin/curl': ")]
    [InlineData("sha256:abc", "Selector 'sha256:abc': ")]
    public void ABadProcessSelectorIsRefusedByName(string selector, string start)
    {
        var error = Assert.Throws<PeerSelectorException>(() => PeerSelector.Parse(selector));

        Assert.StartsWith(start, error.Message, StringComparison.Ordinal);
        Assert.Equal(selector, error.Selector);
    }

    [Theory]
    [InlineData("gid:27", "gid:27", 27u)]
    [InlineData("group:root", "group:root", 0u)]
    [InlineData("group:daemon", "group:daemon", 1u)]
    public void GroupSelectorsBecomeAGroupRequirementOnTheKernelsGroups(string selector, string rendered, uint gid)
    {
        var requirement = Assert.IsType<PeerGroupRequirement>(PeerSelector.Parse(selector));

        Assert.Equal([gid], requirement.GroupIds);
        Assert.Equal(rendered, requirement.ToString());
        Assert.Null(requirement.Check(new PeerCredential(1, 1000, gid)));
        Assert.Null(requirement.Check(new PeerCredential(1, 1000, 100, [4, gid])));
        Assert.NotNull(requirement.Check(new PeerCredential(1, 1000, 100, [4])));
    }

    [Fact]
    public void AnUnknownKindIsRefusedNamingTheSelectorAndTheKnownKinds()
    {
        var error = Assert.Throws<PeerSelectorException>(() => PeerSelector.Parse("usr:alice"));

        Assert.Equal("usr:alice", error.Selector);
        Assert.Equal("Selector 'usr:alice' has an unknown kind 'usr'; the kinds are " + string.Join(", ", PeerSelector.Kinds) + ".", error.Message);
        Assert.Contains("uid, user, gid, group", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user:no-such-user-echoapi", "Selector 'user:no-such-user-echoapi': there is no user 'no-such-user-echoapi' in the user database.")]
    [InlineData("group:no-such-group-echoapi", "Selector 'group:no-such-group-echoapi': there is no group 'no-such-group-echoapi' in the group database.")]
    public void AnUnknownNameIsRefusedWhenParsed(string selector, string message)
    {
        var error = Assert.Throws<PeerSelectorException>(() => PeerSelector.Parse(selector));

        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("", "A selector is empty")]
    [InlineData("   ", "A selector is empty")]
    [InlineData("alice", "Selector 'alice' has no kind; write kind:value")]
    [InlineData("user:", "Selector 'user:' has no value after 'user:'.")]
    [InlineData("group:", "Selector 'group:' has no value after 'group:'.")]
    [InlineData(":1000", "Selector ':1000' has an unknown kind ''")]
    [InlineData("UID:1000", "Selector 'UID:1000' has an unknown kind 'UID'")]
    [InlineData("uid:alice", "Selector 'uid:alice': 'alice' is not a uid (a decimal number); write user:alice to name a user.")]
    [InlineData("uid:-1", "Selector 'uid:-1': '-1' is not a uid")]
    [InlineData("uid: 1000", "Selector 'uid: 1000' has spaces around its value; write uid:1000.")]
    [InlineData("gid:99999999999", "Selector 'gid:99999999999': '99999999999' is not a gid")]
    [InlineData("user:1000", "Selector 'user:1000': '1000' is a number, and user: takes a name; write uid:1000.")]
    [InlineData("group:27", "Selector 'group:27': '27' is a number, and group: takes a name; write gid:27.")]
    public void AMalformedSelectorIsRefusedSayingWhatToWrite(string selector, string message)
    {
        var error = Assert.Throws<PeerSelectorException>(() => PeerSelector.Parse(selector));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(selector, error.Selector);
    }

    [Theory]
    [InlineData("user", "uid")]
    [InlineData("group", "gid")]
    public void TheOverflowIdIsRefusedByNameAndAllowedByNumber(string nameKind, string numberKind)
    {
        var name = nameKind == "user" ? UnixAccounts.GetUserName(UnixAccounts.OverflowUserId) : UnixAccounts.GetGroupName(UnixAccounts.OverflowGroupId);
        if (name == Overflow)
        {
            Assert.Skip($"Skipped: the {nameKind} database has no name for the overflow id {Overflow} here.");
        }

        var byName = Assert.Throws<PeerSelectorException>(() => PeerSelector.Parse($"{nameKind}:{name}"));
        Assert.Equal(
            $"Selector '{nameKind}:{name}': {nameKind} '{name}' is the overflow {numberKind} {Overflow}, which every unmapped peer of another user namespace shares; write {numberKind}:{Overflow} if you mean it.",
            byName.Message);

        // Given as a number, it is meant.
        var byNumber = PeerSelector.Parse($"{numberKind}:{Overflow}");
        Assert.Equal($"{numberKind}:{Overflow}", byNumber.ToString());
        Assert.Null(byNumber.Check(new PeerCredential(1, UnixAccounts.OverflowUserId, UnixAccounts.OverflowGroupId)));
    }

    [Fact]
    public void RequirementsBuiltInCodeRenderAsSelectorsToo()
    {
        Assert.Equal("uid:0 | uid:1000", new PeerUserRequirement([1000, 0]).ToString());
        Assert.Equal("gid:27", new PeerGroupRequirement([27]).ToString());
        Assert.Equal("owner (uid 1000)", new SocketOwnerRequirement(1000, allowRoot: false).ToString());
        Assert.Equal("owner (uid 1000) or root", new SocketOwnerRequirement(1000, allowRoot: true).ToString());

        // The builders keep what they were given: a number as uid:, a name as user:.
        var users = new AuthorizationPolicyBuilder().RequirePeerUser("1000", " root").Build().Requirements.OfType<PeerUserRequirement>().Single();
        Assert.Equal("uid:1000 | user:root", users.ToString());
        var groups = new AuthorizationPolicyBuilder().RequirePeerGroup("daemon").Build().Requirements.OfType<PeerGroupRequirement>().Single();
        Assert.Equal("group:daemon", groups.ToString());
    }
}
