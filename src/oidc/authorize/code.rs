//! The end of an authorization request for a signed-in member: the No Access Mapping, consent,
//! and the authorization code sent back to the client.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::{error_page, error_to_client, store_key, to_client, CodeRecord, Grant};
use crate::access::{self, AccessSettings, Asking, Decision};
use crate::audit::Outcome;
use crate::http::Response;
use crate::oidc::client::{self, Client};
use crate::oidc::error::{ErrorCode, OidcError};
use crate::oidc::{claims, PendingAuthorize};
use crate::platform::Platform;
use crate::signin::{session_ref, Participant, Session};
use crate::Ctx;

/// Issues the code for a signed-in member (after the No Access Mapping) and sends it back.
pub(crate) async fn finish<P: Platform>(
    ctx: &Ctx<'_, P>,
    p: PendingAuthorize,
    session: &mut Session,
) -> Response {
    let client = match client::load(ctx, &p.client_id).await {
        Ok(Some(c)) if c.has_redirect_uri(&p.redirect_uri) => c,
        _ => {
            return error_page(
                ctx,
                Some(&p.client_id),
                "the client is no longer registered",
            )
        }
    };
    let settings = AccessSettings {
        profile_iqa: client.profile_iqa.as_deref(),
        role_iqa: client.role_iqa.as_deref(),
        no_access_mapping: client.no_access_mapping.as_deref(),
    };
    let asking = Asking {
        event: "oidc.no_access",
        app_id: &client.id,
        app_name: &client.name,
        user: &session.user.username,
    };
    let profile = match access::check(ctx, settings, asking, Some(session_ref(session))).await {
        Decision::Granted(profile) => profile,
        Decision::TurnedAway(answer) => return answer,
        Decision::Unavailable => {
            return error_to_client(
                ctx,
                &p,
                OidcError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the membership system is unavailable",
                ),
            )
        }
    };
    let claims = claims::for_scopes(&p.scope, &session.user, &profile);
    if !p.consented
        && (p.prompt_consent
            || (client.consent.required
                && !crate::oidc::consent::remembered(ctx, &client, &session.user).await))
    {
        if p.prompt_none {
            return error_to_client(
                ctx,
                &p,
                OidcError::new(
                    ErrorCode::ConsentRequired,
                    "the member has not consented yet",
                ),
            );
        }
        return crate::oidc::consent::page(ctx, &client, &p, session, &claims);
    }
    let code = match store_code(ctx, &client, &p, session, claims).await {
        Ok(code) => code,
        Err(resp) => return resp,
    };
    session.add_participant(Participant::Oidc {
        client: client.id.clone(),
    });
    ctx.audit(
        "oidc.code_issued",
        Outcome::Success,
        Some(&client.id),
        Some(format!("user {}", session.user.username)),
    );
    to_client(
        ctx,
        &p.redirect_uri,
        p.form_post,
        p.state.as_deref(),
        vec![("code", code)],
    )
}

/// Stores a new authorization code for `p`, signed-in `session` and the `claims` it releases;
/// the code, or the answer to the client when it cannot be stored.
async fn store_code<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    p: &PendingAuthorize,
    session: &Session,
    claims: Map<String, Value>,
) -> Result<String, Response> {
    let now = ctx.platform.now().secs();
    let record = CodeRecord {
        client_id: client.id.clone(),
        redirect_uri: p.redirect_uri.to_string(),
        code_challenge: p.code_challenge.clone(),
        grant: Grant {
            sub: claims::subject(client, &session.user),
            auth_time: session.auth_time,
            sid: session.sid.clone(),
            nonce: p.nonce.clone(),
            amr: Some(match session.via.as_str() {
                "imis_legacy" => "pwd".into(),
                _ => "ext".into(),
            }),
            claims,
            scope: p.scope.clone(),
        },
        exp: now + u64::from(client.lifetimes.code),
    };
    let mut raw = [0u8; 32];
    ctx.platform.random(&mut raw);
    let code = URL_SAFE_NO_PAD.encode(raw);
    let Ok(value) = serde_json::to_vec(&record) else {
        return Err(error_to_client(
            ctx,
            p,
            OidcError::new(ErrorCode::ServerError, "the code could not be stored"),
        ));
    };
    let key = store_key(ctx.tenant.id.as_str(), "code", &code);
    if let Err(e) = ctx
        .platform
        .put_once(&key, &value, client.lifetimes.code)
        .await
    {
        ctx.audit(
            "oidc.store_failed",
            Outcome::Failure,
            Some(&client.id),
            Some(e.to_string()),
        );
        return Err(error_to_client(
            ctx,
            p,
            OidcError::new(
                ErrorCode::TemporarilyUnavailable,
                "the code could not be stored",
            ),
        ));
    }
    Ok(code)
}
