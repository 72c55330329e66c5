namespace PeerCredentials.Authentication;

/// <summary>Default values for peer-credential authentication.</summary>
public static class PeerCredentialAuthenticationDefaults
{
    /// <summary>The default authentication scheme name: <c>PeerCredential</c>.</summary>
    public const string AuthenticationScheme = "PeerCredential";
}
