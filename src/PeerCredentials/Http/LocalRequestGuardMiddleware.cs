using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace PeerCredentials.Http;

/// <summary>
/// Refuses what a web page can make a browser send through a TCP bridge to a local API: a request under
/// another site's name (DNS rebinding) and a cross-site request (CSRF), as Tailscale's LocalAPI learnt
/// to (CVE-2022-41924, CVE-2022-41925). Clients that are not browsers send neither <c>Origin</c> nor
/// <c>Sec-Fetch-Site</c>, and a loopback <c>Host</c>, so they pass.
/// </summary>
internal sealed class LocalRequestGuardMiddleware(RequestDelegate next, IOptions<LocalRequestGuardOptions> options, PeerRefusalLog refusals, PeerCredentialMetrics metrics, ILogger<LocalRequestGuardMiddleware> logger)
{
    // The rules its refusals are counted and logged under, beside the policies'.
    internal const string HostRule = "LocalRequestGuard.Host";
    internal const string OriginRule = "LocalRequestGuard.Origin";

    private readonly HashSet<string> _hosts = new([.. LocalRequestGuardOptions.LoopbackHosts, .. options.Value.AllowedHosts.Select(h => h.Trim())], StringComparer.OrdinalIgnoreCase);

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;

        // A page whose name was made to resolve to 127.0.0.1 is same-origin with the bridge as far as the
        // browser knows, so it can read every answer; only its own name in Host gives it away. A request
        // without Host (HTTP/1.0, by hand) cannot come from a browser.
        if (request.Host.HasValue && !_hosts.Contains(request.Host.Host))
        {
            metrics.RequestDenied(HostRule);
            if (ShouldLog(context, out var peer))
            {
                logger.RequestForOtherHost(request.Method, request.Path.Value ?? "/", peer, HostRule, context.Connection.Id, request.Host.Value);
            }

            return RefuseAsync(context, StatusCodes.Status421MisdirectedRequest, "Misdirected Request",
                $"This service answers to localhost, 127.0.0.1, [::1] and the names its settings allow (any port), not to '{request.Host.Host}'. A web page whose own name was made to resolve to this machine (DNS rebinding) sends that name.");
        }

        // A browser says where a request comes from: Sec-Fetch-Site (sent to http://localhost and
        // http://127.0.0.1, which it deems trustworthy) or Origin (sent with every POST and WebSocket
        // handshake). "same-site" is refused too: another port of the same host is another origin.
        var site = request.Headers["Sec-Fetch-Site"];
        var origin = request.Headers.Origin;
        if (IsCrossSite(site) || (!StringValues.IsNullOrEmpty(origin) && !IsSameOrigin(origin, request.Host)))
        {
            metrics.RequestDenied(OriginRule);
            if (ShouldLog(context, out var peer))
            {
                logger.CrossSiteRequest(request.Method, request.Path.Value ?? "/", peer, OriginRule, context.Connection.Id, origin.ToString(), site.ToString());
            }

            var from = StringValues.IsNullOrEmpty(origin) ? "another site" : $"a page at {origin}";
            return RefuseAsync(context, StatusCodes.Status403Forbidden, "Forbidden",
                $"Cross-site browser requests are refused: this one came from {from}. Open the page this service serves itself, or use a client that is not a browser (curl, wscat).");
        }

        return next(context);
    }

    private static bool IsCrossSite(StringValues site)
    {
        foreach (var value in site)
        {
            if (string.Equals(value, "cross-site", StringComparison.OrdinalIgnoreCase) || string.Equals(value, "same-site", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // The origin a browser sends is scheme://host[:port] of the page; same-origin with this request when
    // it names the host and port the request was sent to. Its scheme is not compared: the bridge speaks
    // plain HTTP, and a TLS proxy in front of it would make the page's scheme https without changing the
    // request's. "null" (a sandboxed or opaque origin), several values, or anything else is not the same.
    private static bool IsSameOrigin(StringValues origin, HostString host)
    {
        if (origin.Count != 1 || !host.HasValue
            || !Uri.TryCreate(origin.ToString(), UriKind.Absolute, out var page)
            || page.Scheme is not ("http" or "https")
            || page.PathAndQuery != "/" || !string.IsNullOrEmpty(page.UserInfo) || !string.IsNullOrEmpty(page.Fragment))
        {
            return false;
        }

        var port = host.Port ?? (page.Scheme == "https" ? 443 : 80);
        return string.Equals(page.Host, host.Host, StringComparison.OrdinalIgnoreCase) && page.Port == port;
    }

    // Through the one refusal throttle: at most one a second per uid; connections without credentials share one count.
    private bool ShouldLog(HttpContext context, out PeerCredential? peer)
    {
        peer = context.Features.Get<IPeerCredentialFeature>()?.Credential;
        return refusals.ShouldLog(logger, peer?.UserId ?? uint.MaxValue);
    }

    private static Task RefuseAsync(HttpContext context, int status, string title, string detail)
        => TypedResults.Problem(detail, statusCode: status, title: title).ExecuteAsync(context);
}
