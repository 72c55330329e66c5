using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerCredentials.Authentication;

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

    /// <summary>Adds peer-credential authentication under <paramref name="authenticationScheme"/>; nothing else.</summary>
    public static AuthenticationBuilder AddPeerCredential(this AuthenticationBuilder builder, string authenticationScheme, Action<PeerCredentialAuthenticationOptions>? configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddScheme<PeerCredentialAuthenticationOptions, PeerCredentialAuthenticationHandler>(authenticationScheme, configureOptions);

        // A handler is made for every request. AddScheme registers it to be built by reflection, which is
        // slow without dynamic code (Native AOT, and the JIT build of an app that sets PublishAot), and the
        // handler's base class asks the logger factory for its logger each time, under a global lock; a
        // delegate and a factory that hands out one logger are neither.
        builder.Services.RemoveAll<PeerCredentialAuthenticationHandler>();
        builder.Services.TryAddSingleton<PeerCredentialHandlerLoggerFactory>();
        builder.Services.AddTransient(services => new PeerCredentialAuthenticationHandler(
            services.GetRequiredService<IOptionsMonitor<PeerCredentialAuthenticationOptions>>(),
            services.GetRequiredService<PeerCredentialHandlerLoggerFactory>(),
            services.GetRequiredService<UrlEncoder>()));
        return builder;
    }
}
