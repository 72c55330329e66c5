using System.Diagnostics.Tracing;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using EchoApi.Tests.Infrastructure;

namespace EchoApi.Tests;

/// <summary>
/// The dependency-injection container makes the closed generic types of open-generic registrations
/// (<c>OptionsFactory&lt;T&gt;</c>, <c>Logger&lt;T&gt;</c>, <c>IConfigureOptions&lt;T&gt;[]</c>, ...) with
/// <c>MakeGenericType</c>. In the native AOT build each one the compiler did not make is built at run time by
/// the type loader, which was half of the service's start (bench/experiments/idle-memory-and-start.md);
/// <c>src/EchoApi/StartupTypes.rd.xml</c> has the compiler make them. This test starts the service, asks what
/// a client asks first, and checks that every such type the container made is in that file: a new service or
/// option type that is not would only start slower, so the test says which lines to add.
/// </summary>
public sealed partial class StartupTypesTests
{
    private const string FileName = "src/EchoApi/StartupTypes.rd.xml";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryGenericTypeTheContainerMakesAtStartIsCompiledIn()
    {
        using var callSites = new CallSiteListener();
        int provider;
        using (var server = EchoApiFactory.Start())
        {
            provider = server.Services.GetHashCode();
            using var client = server.CreateUnixClient();
            foreach (var path in (string[])["/healthz", "/whoami", "/", "/openapi/v1.json", "/swagger/index.html", "/nothing"])
            {
                using var answer = await client.GetAsync(path, Cancel);
            }

            using (var echo = await client.PostAsync("/echo", new StringContent("hello"), Cancel))
            {
                Assert.Equal("hello", await echo.Content.ReadAsStringAsync(Cancel));
            }

            using var webSocket = await UnixHttp.ConnectWebSocketAsync(server.SocketPath, cancellationToken: Cancel);
            await webSocket.SendAsync("line\n"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, endOfMessage: true, Cancel);
            var received = await webSocket.ReceiveAsync(new byte[64], Cancel);
            Assert.True(received.Count > 0);

            using var lines = await UnixHttp.ConnectAsync(server.LineSocketPath, Cancel);
            await lines.SendAsync("line\n"u8.ToArray(), SocketFlags.None, Cancel);
            Assert.True(await lines.ReceiveAsync(new byte[64], SocketFlags.None, Cancel) > 0);
        }

        var made = callSites.GenericTypesMadeBy(provider);
        Assert.NotEmpty(made); // the listener heard the service's container
        var listed = Listed();
        var missing = made.Where(type => !listed.Contains(type) && !FromTests(type)).ToList();

        Assert.True(missing.Count == 0, $"Add to {FileName}:\n" + string.Join('\n', missing.Select(Entry).Order(StringComparer.Ordinal)));
    }

    // The test host's own services (its logger provider, the factory) are not the service's.
    private static bool FromTests(Type type)
        => type.IsArray ? FromTests(type.GetElementType()!)
            : type.Assembly.GetName().Name is "EchoApi.Tests" or "Microsoft.AspNetCore.Mvc.Testing" or "Microsoft.AspNetCore.TestHost"
              || type.GenericTypeArguments.Any(FromTests);

    /// <summary>The types the file names; each must name a type that exists.</summary>
    private static HashSet<Type> Listed()
    {
        var file = XDocument.Load(Path.Combine(CurlExamplesTests.RepositoryRoot(), FileName));
        XNamespace ns = "http://schemas.microsoft.com/netfx/2013/01/metadata";
        var types = new HashSet<Type>();
        foreach (var assembly in file.Root!.Element(ns + "Application")!.Elements(ns + "Assembly"))
        {
            foreach (var type in assembly.Elements(ns + "Type"))
            {
                var name = $"{type.Attribute("Name")!.Value}, {assembly.Attribute("Name")!.Value}";
                types.Add(Type.GetType(name) ?? throw new InvalidOperationException($"{FileName} names {name}, which is no type."));
            }
        }

        return types;
    }

    /// <summary>The file's line for <paramref name="type"/>.</summary>
    private static string Entry(Type type)
    {
        var assembly = (type.IsArray ? type.GetElementType()! : type).Assembly.GetName().Name;
        return $"""<Assembly Name="{assembly}"> <Type Name="{RdXmlName(type)}" Dynamic="Required All" />""";
    }

    private static string RdXmlName(Type type) => type switch
    {
        { IsArray: true } => RdXmlName(type.GetElementType()!) + "[]",
        { IsConstructedGenericType: true } => type.GetGenericTypeDefinition().FullName + "["
            + string.Join(',', type.GenericTypeArguments.Select(a => $"[{RdXmlName(a)},{a.Assembly.GetName().Name}]")) + "]",
        _ => type.FullName!,
    };

    /// <summary>The container's own account of what it builds (its EventSource), per container.</summary>
    private sealed partial class CallSiteListener : EventListener
    {
        private readonly List<(int Provider, string ServiceType, int Chunk, string Text)> _chunks = [];

        public HashSet<Type> GenericTypesMadeBy(int provider)
        {
            List<string> callSites;
            lock (_chunks)
            {
                callSites = _chunks.Where(c => c.Provider == provider)
                    .GroupBy(c => c.ServiceType)
                    .SelectMany(g => SplitByStart(g))
                    .ToList();
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var json in callSites)
            {
                foreach (Match match in ImplementationType().Matches(json))
                {
                    names.Add(match.Groups[1].Value);
                }

                foreach (Match match in EnumerableItemType().Matches(json))
                {
                    names.Add(match.Groups[1].Value + "[]");
                }
            }

            return names.Select(name => Resolve(name) ?? throw new InvalidOperationException($"No loaded type is {name}.")).ToHashSet();
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Extensions-DependencyInjection")
            {
                EnableEvents(eventSource, EventLevel.Verbose, EventKeywords.All);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName != "CallSiteBuilt" || eventData.Payload is null || eventData.PayloadNames is null)
            {
                return;
            }

            var payload = eventData.PayloadNames.Zip(eventData.Payload).ToDictionary(p => p.First, p => p.Second);
            lock (_chunks)
            {
                _chunks.Add(((int)payload["serviceProviderHashCode"]!, (string)payload["serviceType"]!, (int)payload["chunkIndex"]!, (string)payload["callSite"]!));
            }
        }

        // A long call site comes in chunks (0, 1, ...); the same service type may be built more than once.
        private static IEnumerable<string> SplitByStart(IEnumerable<(int Provider, string ServiceType, int Chunk, string Text)> chunks)
        {
            var current = new StringBuilder();
            foreach (var chunk in chunks)
            {
                if (chunk.Chunk == 0 && current.Length > 0)
                {
                    yield return current.ToString();
                    current.Clear();
                }

                current.Append(chunk.Text);
            }

            yield return current.ToString();
        }

        // Type.ToString() names, as the event writes them: Namespace.Name`1[Argument,Other`1[Inner]], and [] for an array.
        private static Type? Resolve(string name)
        {
            if (name.EndsWith("[]", StringComparison.Ordinal))
            {
                return Resolve(name[..^2])?.MakeArrayType();
            }

            var open = name.IndexOf('[', StringComparison.Ordinal);
            if (open < 0)
            {
                return AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(name)).FirstOrDefault(t => t is not null);
            }

            var arguments = new List<string>();
            var depth = 0;
            var start = open + 1;
            for (var i = start; i < name.Length - 1; i++)
            {
                depth += name[i] switch { '[' => 1, ']' => -1, _ => 0 };
                if (name[i] == ',' && depth == 0)
                {
                    arguments.Add(name[start..i]);
                    start = i + 1;
                }
            }

            arguments.Add(name[start..^1]);
            var definition = Resolve(name[..open]);
            var resolved = arguments.Select(Resolve).ToArray();
            return definition is null || resolved.Any(a => a is null) ? null : definition.MakeGenericType(resolved!);
        }

        [GeneratedRegex("\"implementationType\": \"([^\"]*`[^\"]*)\"")]
        private static partial Regex ImplementationType();

        [GeneratedRegex("\"kind\": \"IEnumerable\",\"cache\": \"[A-Za-z]+\",\"itemType\": \"([^\"]*`[^\"]*)\"")]
        private static partial Regex EnumerableItemType();
    }
}
