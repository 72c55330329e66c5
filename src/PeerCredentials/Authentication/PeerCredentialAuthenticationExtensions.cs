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
        // What AddScheme<TOptions, THandler> does, for a handler that is not an AuthenticationHandler<TOptions>
        // (see PeerCredentialAuthenticationHandler for why): the scheme, its named options, and the handler
        // made for each request by a delegate, not by reflection, which is slow without dynamic code
        // (Native AOT, and the JIT build of an app that sets PublishAot).
        builder.Services.Configure<AuthenticationOptions>(o => o.AddScheme(authenticationScheme, scheme => scheme.HandlerType = typeof(PeerCredentialAuthenticationHandler)));
        var options = builder.Services.AddOptions<PeerCredentialAuthenticationOptions>(authenticationScheme)
            .Validate(o =>
            {
                o.Validate(authenticationScheme);
                return true;
            });
        if (configureOptions is not null)
        {
            options.Configure(configureOptions);
        }

        builder.Services.TryAddTransient(services => new PeerCredentialAuthenticationHandler(
            services.GetRequiredService<IOptionsMonitor<PeerCredentialAuthenticationOptions>>(),
            services.GetRequiredService<ILogger<PeerCredentialAuthenticationHandler>>()));
        return builder;
    }
}
