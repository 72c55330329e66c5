namespace EchoApi.Tests.Infrastructure;

/// <summary>
/// Tests that turn on the OpenAPI generator (a process-wide AppContext switch the service reads as it builds)
/// run alone, so no other test's service is built with it by accident.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OpenApiGeneratorTests
{
    public const string Name = "OpenAPI generator switched on";
}
