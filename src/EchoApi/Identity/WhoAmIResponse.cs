namespace EchoApi.Identity;

/// <summary>Who the kernel says the caller is.</summary>
/// <param name="Uid">The caller's uid.</param>
/// <param name="Gid">The caller's primary gid.</param>
/// <param name="Pid">The caller's pid, or null when its process is not visible in the service's pid namespace.</param>
/// <param name="User">The caller's user name (the uid when the user database has none).</param>
/// <param name="Group">The name of the caller's primary group.</param>
/// <param name="Groups">The caller's supplementary groups, as the kernel reports them.</param>
/// <param name="IsOwner">Whether the caller is the socket's owner.</param>
/// <param name="Rule">The rule that let the caller in: <c>owner</c>, <c>root (EchoApi:AllowRoot)</c>,
/// <c>EchoApi:SocketGroup (group:…)</c>, or a rule of <c>EchoApi:Allow</c> by its selectors (<c>user:alice</c>).</param>
/// <param name="Executable">The caller's executable as the kernel names it, or null when the service cannot know it for
/// sure (the process has exited, is in another pid namespace, or belongs to another uid and the service is not root).</param>
/// <param name="Relayed">Whether the caller is a known relay (<c>socat</c>, <c>ssh</c>, …, <c>EchoApi:RelayExecutables</c>):
/// then these credentials are the relay's, not those of the client behind it.</param>
public sealed record WhoAmIResponse(uint Uid, uint Gid, int? Pid, string User, string Group, IReadOnlyList<GroupEntry> Groups, bool IsOwner, string Rule, string? Executable, bool Relayed);

/// <summary>A group of the caller.</summary>
/// <param name="Gid">The gid.</param>
/// <param name="Name">The group's name (the gid when the group database has none).</param>
public sealed record GroupEntry(uint Gid, string Name);
