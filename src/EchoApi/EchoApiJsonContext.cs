using System.Text.Json;
using System.Text.Json.Serialization;
using EchoApi.Identity;

namespace EchoApi;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WhoAmIResponse))]
internal sealed partial class EchoApiJsonContext : JsonSerializerContext;
