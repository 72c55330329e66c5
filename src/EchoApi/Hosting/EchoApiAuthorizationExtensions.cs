using EchoApi.Settings;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EchoApi.Hosting;

/// <summary>Who may use the service: identity from the socket, "socket owner only" unless an endpoint says otherwise.</summary>
public static class EchoApiAuthorizationExtensions
{
    /// <summary>
    /// Adds peer-credential authentication, the owner policy (also the default and the fallback policy,
    /// so an endpoint that says nothing is the owner's), problem-details answers for refused peers, and
    /// the evaluator that decides the owner policy once per connection.
    /// </summary>
    public static IServiceCollection AddEchoApiAuthorization(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        // No default scheme (EchoApi.csproj sets Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme,
        // or the only scheme would become the default): the peer-credential scheme is named by the owner
        // policy, which is every endpoint's but /healthz's, and the policy evaluator below puts the
        // connection's identity on the request as it authorizes it. Authenticating every request up front
        // as well would only repeat that.
        // AddAuthenticationCore, not AddAuthentication: the latter also brings data protection (for cookie
        // and remote sign-in handlers), whose hosted service makes a key ring at start, loading OpenSSL
        // (about 30 ms of the start) and keeping keys in ~/.aspnet. Nothing here protects data.
        new AuthenticationBuilder(services.AddAuthenticationCore()).AddPeerCredential();
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<AccessSettings>>((authorization, access) =>
        {
            var owner = new AuthorizationPolicyBuilder().RequireSocketOwner(access.Value.OwnerUserId, access.Value.AllowRoot).Build();
            authorization.AddPolicy(EchoPolicies.Owner, owner);
            authorization.DefaultPolicy = owner;
            authorization.FallbackPolicy = owner;
        });
        services.AddPeerCredentialProblemDetails();
        // The owner policy depends on the peer alone: decided once per connection, then looked up.
        services.AddPeerCredentialPolicyEvaluator();
        return services;
    }
}
