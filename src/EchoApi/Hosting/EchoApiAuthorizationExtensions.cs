using EchoApi.Settings;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using PeerCredentials.Authentication;

namespace EchoApi.Hosting;

/// <summary>Who may use the service: identity from the socket, "socket owner only" unless an endpoint says otherwise.</summary>
public static class EchoApiAuthorizationExtensions
{
    /// <summary>
    /// Adds peer-credential authentication, the access policy (the owner, and whoever <c>EchoApi:SocketGroup</c>
    /// and <c>EchoApi:Allow</c> admit; also the default and the fallback policy, so an endpoint that says
    /// nothing is guarded by it), problem-details answers for refused peers, and the evaluator that decides
    /// the policy once per connection.
    /// </summary>
    public static IServiceCollection AddEchoApiAuthorization(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        // No default scheme (EchoApi.csproj sets Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme,
        // or the only scheme would become the default): the peer-credential scheme is named by the
        // access policy, which is every endpoint's but /healthz's, and the policy evaluator below puts the
        // connection's identity on the request as it authorizes it. Authenticating every request up front
        // as well would only repeat that.
        // AddAuthenticationCore, not AddAuthentication: the latter also brings data protection (for cookie
        // and remote sign-in handlers), whose hosted service makes a key ring at start, loading OpenSSL
        // (about 30 ms of the start) and keeping keys in ~/.aspnet. Nothing here protects data.
        new AuthenticationBuilder(services.AddAuthenticationCore()).AddPeerCredential();
        services.AddAuthorization();
        services.AddSingleton(services => AccessRules.Build(
            services.GetRequiredService<IOptions<AccessSettings>>().Value,
            services.GetRequiredService<IOptions<SocketSettings>>().Value,
            failures: [])); // the settings' validation has reported what cannot be used
        services.AddOptions<AuthorizationOptions>().Configure<AccessRules>((authorization, access) =>
        {
            var policy = new AuthorizationPolicyBuilder()
                .AddAuthenticationSchemes(PeerCredentialAuthenticationDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements([.. access.Requirements])
                .Build();
            authorization.AddPolicy(EchoPolicies.Access, policy);
            authorization.DefaultPolicy = policy;
            authorization.FallbackPolicy = policy;
        });
        services.AddPeerCredentialProblemDetails();
        // The access policy depends on the peer alone: decided once per connection, then looked up.
        services.AddPeerCredentialPolicyEvaluator();
        return services;
    }
}
