using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Authentication;
using PeerCredentials.Authorization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers peer-credential authentication.</summary>
public static class PeerCredentialAuthenticationExtensions
{
    /// <summary>Adds peer-credential authentication under <see cref="PeerCredentialAuthenticationDefaults.AuthenticationScheme"/>.</summary>
    public static AuthenticationBuilder AddPeerCredential(this AuthenticationBuilder builder)
        => builder.AddPeerCredential(PeerCredentialAuthenticationDefaults.AuthenticationScheme, configureOptions: null);

    /// <summary>Adds peer-credential authentication under <see cref="PeerCredentialAuthenticationDefaults.AuthenticationScheme"/>.</summary>
    public static AuthenticationBuilder AddPeerCredential(this AuthenticationBuilder builder, Action<PeerCredentialAuthenticationOptions>? configureOptions)
        => builder.AddPeerCredential(PeerCredentialAuthenticationDefaults.AuthenticationScheme, configureOptions);

    /// <summary>
    /// Adds peer-credential authentication under <paramref name="authenticationScheme"/>, the authorization
    /// handlers of its requirements, and problem-details answers for refused peers.
    /// </summary>
    public static AuthenticationBuilder AddPeerCredential(this AuthenticationBuilder builder, string authenticationScheme, Action<PeerCredentialAuthenticationOptions>? configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<PeerCredentialPrincipalFactory>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, SocketOwnerAuthorizationHandler>());
        builder.Services.AddProblemDetails();
        // Replaces the default result handler (registered with TryAdd) so refusals say why.
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, PeerCredentialAuthorizationResultHandler>();
        builder.AddScheme<PeerCredentialAuthenticationOptions, PeerCredentialAuthenticationHandler>(authenticationScheme, configureOptions);
        // A handler is made for every request. AddScheme registers it to be built by reflection, which is slow
        // without dynamic code (Native AOT, and the JIT build of an app that sets PublishAot); a delegate is not.
        builder.Services.RemoveAll<PeerCredentialAuthenticationHandler>();
        builder.Services.AddTransient(services => new PeerCredentialAuthenticationHandler(
            services.GetRequiredService<IOptionsMonitor<PeerCredentialAuthenticationOptions>>(),
            services.GetRequiredService<ILoggerFactory>(),
            services.GetRequiredService<UrlEncoder>(),
            services.GetRequiredService<PeerCredentialPrincipalFactory>()));
        return builder;
    }
}
