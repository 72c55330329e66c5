using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using PeerCredentials.Authentication;

namespace PeerCredentials.Authorization;

/// <summary>
/// Answers a request refused by a peer-credential policy with a problem-details body that says why, and
/// logs the refusal with the peer's uid, gid, pid and executable (through the one refusal throttle).
/// Policies of other schemes (JWT over TCP, say) keep the default handler's 401 and 403.
/// </summary>
internal sealed class PeerCredentialAuthorizationResultHandler(
    IProblemDetailsService problemDetails,
    IAuthenticationSchemeProvider schemes,
    PeerRefusalLog refusals,
    ILogger<PeerCredentialAuthorizationResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded || !await IsPeerCredentialPolicyAsync(policy))
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var peer = context.User.GetPeerIdentity()?.Credential;
        int status;
        string detail;
        if (peer is null)
        {
            status = StatusCodes.Status401Unauthorized;
            detail = "This endpoint needs the peer credentials of a Unix socket connection, and this connection has none.";
            logger.UnauthenticatedRequest(context.Request.Method, context.Request.Path.Value ?? "/", context.Connection.Id);
        }
        else
        {
            status = StatusCodes.Status403Forbidden;
            var reasons = authorizeResult.AuthorizationFailure?.FailureReasons.Select(r => r.Message).ToArray() ?? [];
            detail = reasons.Length > 0 ? string.Join("; ", reasons) + "." : "The peer does not satisfy this endpoint's policy.";
            if (refusals.ShouldLog(logger, peer.UserId))
            {
                logger.PeerRefused(context.Request.Method, context.Request.Path.Value ?? "/", peer.UserId, peer.GroupId, peer.ProcessId, PeerRefusalLog.Executable(peer), PeerCredentialMetrics.Rule(policy, context), detail);
            }
        }

        context.Response.StatusCode = status;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = status,
                Title = status == StatusCodes.Status403Forbidden ? "Forbidden" : "Unauthorized",
                Detail = detail,
            },
        });
    }

    private async ValueTask<bool> IsPeerCredentialPolicyAsync(AuthorizationPolicy policy)
    {
        foreach (var requirement in policy.Requirements)
        {
            if (requirement is PeerCredentialRequirement)
            {
                return true;
            }
        }

        foreach (var name in policy.AuthenticationSchemes)
        {
            if ((await schemes.GetSchemeAsync(name))?.HandlerType == typeof(PeerCredentialAuthenticationHandler))
            {
                return true;
            }
        }

        return false;
    }
}
