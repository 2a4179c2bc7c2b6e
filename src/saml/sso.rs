//! The SSO endpoints: `/saml/{app}/sso` (SP-initiated, an AuthnRequest by HTTP-Redirect or
//! HTTP-POST) and `/saml/{app}/login` (IdP-initiated), then — at once for a member with a
//! session, or after sign-in — the decision: No Access (page or redirect), or a Response to the
//! verified ACS.

use serde::{Deserialize, Serialize};

use super::assertion::{self, AssertionContent, NameId};
use super::authn_request::{self, Refusal, RequestError};
use super::binding::{self, Outgoing, RelayState};
use super::config::{Acs, AppId, Binding, LoadedApp};
use super::response::{self, Envelope, Status};
use super::xml::El;
use super::{app_or_page, new_id, urls};
use crate::access::{self, AccessSettings, Asking, Decision, Profile};
use crate::audit::Outcome;
use crate::http::Response;
use crate::ids::SessionIndex;
use crate::platform::Platform;
use crate::signin::{self, session_ref, Family, Participant, Session, SignInOptions};
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;

/// A SAML request waiting for the member to sign in (kept in the sealed pending cookie, so it
/// holds only what the answer needs: the ACS is a position in the app's registered list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingSso {
    /// SAML app (internal Client ID).
    app: AppId,
    /// The AuthnRequest's ID (`None`: IdP-initiated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    /// Position of the verified ACS in the app's `sp.acs`.
    #[serde(default)]
    acs: usize,
    /// RelayState, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_state: Option<RelayState>,
}

impl crate::signin::Resumable for PendingSso {
    const KIND: &'static str = "saml";
}

fn refuse_page<P: Platform>(ctx: &Ctx<'_, P>, app: &str, status: u16, reason: String) -> Response {
    ctx.audit(
        "saml.sso_refused",
        Outcome::Refused,
        Some(app),
        Some(reason),
    );
    ctx.error_page(
        status,
        ErrorTitle::SignInRequestRefused,
        ErrorMessage::SignInRequestRefused,
        None,
    )
}

/// `/saml/{app}/sso`: an AuthnRequest.
pub(crate) async fn sso<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
    let app = match app_or_page(ctx, app_id).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let incoming = match binding::read(ctx) {
        Ok(i) if i.kind == "SAMLRequest" => i,
        Ok(_) => {
            return refuse_page(
                ctx,
                app_id,
                400,
                "a SAMLResponse sent to the SSO endpoint".into(),
            )
        }
        Err(e) => return refuse_page(ctx, app_id, 400, e.to_string()),
    };
    let verified = match authn_request::parse(&incoming.xml) {
        Ok(req) => authn_request::verify(ctx.platform, &app, req, &incoming).await,
        Err(e) => Err(e),
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            let status = match e {
                RequestError::Signature(_) | RequestError::Unsigned | RequestError::Issuer => 403,
                _ => 400,
            };
            return refuse_page(ctx, app_id, status, e.to_string());
        }
    };
    let pending = PendingSso {
        app: app_id.clone(),
        request_id: Some(verified.req.id.clone()),
        acs: verified.acs,
        relay_state: incoming.relay_state.clone(),
    };
    // From here on the ACS is verified: refusals go to it as SAML error Responses.
    let now = ctx.platform.now().secs();
    let sso_url = urls(ctx, &app).sso;
    if let Err(refusal) = authn_request::check(&verified, &app, now, &[sso_url]) {
        return refuse_to_acs(ctx, &app, &pending, refusal).await;
    }
    match super::first_sighting(ctx, "saml-req", app_id, &verified.req.id).await {
        Ok(true) => {}
        Ok(false) => return refuse_to_acs(ctx, &app, &pending, Refusal::Replayed).await,
        Err(e) => {
            ctx.audit(
                "saml.store_unavailable",
                Outcome::Failure,
                Some(app_id),
                Some(e.to_string()),
            );
            return ctx.error_page(
                503,
                ErrorTitle::SignInTemporarilyUnavailable,
                ErrorMessage::TryAgainSoon,
                None,
            );
        }
    }
    let (force, passive) = (verified.req.force_authn, verified.req.is_passive);
    match signin::current(ctx).await {
        Some(session) if !force => answer_now(ctx, &app, pending, session).await,
        _ if passive => {
            let status = Status::NO_PASSIVE;
            error_to_acs(ctx, &app, &pending, status, "the member is not signed in").await
        }
        _ => start_sign_in(ctx, &app, pending, force).await,
    }
}

/// `/saml/{app}/login?RelayState=…`: IdP-initiated login to the app's default ACS.
pub(crate) async fn login<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
    let app = match app_or_page(ctx, app_id).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let relay_state = match ctx.req.query_param("RelayState").filter(|r| !r.is_empty()) {
        Some(relay) => match RelayState::parse(&relay) {
            Some(relay) => Some(relay),
            None => return refuse_page(ctx, app_id, 400, "RelayState too long".into()),
        },
        None => None,
    };
    let pending = PendingSso {
        app: app_id.clone(),
        request_id: None,
        acs: 0,
        relay_state,
    };
    match signin::current(ctx).await {
        Some(session) => answer_now(ctx, &app, pending, session).await,
        None => start_sign_in(ctx, &app, pending, false).await,
    }
}

async fn start_sign_in<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    pending: PendingSso,
    force: bool,
) -> Response {
    signin::begin(
        ctx,
        Family::Saml,
        &pending,
        SignInOptions {
            force,
            app_name: Some(app.cfg.name.clone()),
        },
    )
    .await
}

/// Silent sign-in: the member has a session; answer and store the session's new participant.
async fn answer_now<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    pending: PendingSso,
    mut session: Session,
) -> Response {
    let resp = answer(ctx, app, &pending, &mut session).await;
    signin::with_session(ctx, &mut session, resp)
}

/// Finishes a SAML request after sign-in.
pub(crate) async fn resume<P: Platform>(
    ctx: &Ctx<'_, P>,
    pending: PendingSso,
    session: &mut Session,
) -> Response {
    let app = match app_or_page(ctx, &pending.app).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    answer(ctx, &app, &pending, session).await
}

/// The decision for a signed-in member: No Access, or a Response to the ACS.
async fn answer<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    pending: &PendingSso,
    session: &mut Session,
) -> Response {
    let cfg = &app.cfg;
    let user = session.user.username.clone();
    let profile = match access_profile(ctx, app, pending, session).await {
        Ok(profile) => profile,
        Err(refusal) => return refusal,
    };
    let name_id = match assertion::name_id(ctx.platform, &session.user, cfg.name_id_format) {
        Ok(n) => n,
        Err(e) => {
            ctx.audit(
                "saml.sso_failed",
                Outcome::Failure,
                Some(&cfg.id),
                Some(format!("{e} (user {user})")),
            );
            return error_to_acs(ctx, app, pending, Status::RESPONDER, &e.to_string()).await;
        }
    };
    let acs = match verified_acs(ctx, app, pending) {
        Ok(acs) => acs,
        Err(page) => return page,
    };
    let now = ctx.platform.now().secs();
    let session_index = SessionIndex::fresh(&assertion::random_alnum(ctx.platform, 24));
    let assertion_id = new_id(ctx.platform);
    let idp = urls(ctx, app);
    let attributes = assertion::attributes(&profile, cfg.role_format);
    let assertion = assertion::build(&AssertionContent {
        id: &assertion_id,
        issuer: &idp.entity_id,
        now,
        name_id: &name_id,
        sp_entity_id: &cfg.sp.entity_id,
        recipient: &acs.url,
        in_response_to: pending.request_id.as_deref(),
        audience: cfg.audience.as_deref().unwrap_or(&cfg.sp.entity_id),
        authn_instant: session.auth_time,
        session_index: &session_index,
        session_not_on_or_after: session.expires,
        attributes: &attributes,
    });
    let content = Content {
        status: Status::SUCCESS,
        message: None,
        assertion: Some((assertion, &assertion_id)),
        sign_assertion: cfg.sign_assertion,
        sign_response: cfg.sign_response,
    };
    let sent = match send_to_acs(ctx, app, pending, acs, content).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    set_participant(session, &cfg.id, name_id, session_index);
    ctx.audit(
        "saml.sso",
        Outcome::Success,
        Some(&cfg.id),
        Some(format!(
            "user {user}{}",
            if pending.request_id.is_some() {
                ""
            } else {
                ", IdP-initiated"
            }
        )),
    );
    sent
}

/// Records the app as a participant of the session with the NameID and SessionIndex just sent:
/// one entry per app, as the latest ones are what Single Logout needs.
fn set_participant(
    session: &mut Session,
    app_id: &AppId,
    name_id: NameId,
    session_index: SessionIndex,
) {
    session
        .participants
        .retain(|p| !matches!(p, Participant::Saml { app, .. } if app == app_id));
    session.add_participant(Participant::Saml {
        app: app_id.clone(),
        name_id: name_id.value,
        name_id_format: name_id.format.to_string(),
        session_index,
    });
}

/// The member's profile for the app's attributes, after the No Access Mapping; or the page that
/// turns them away.
async fn access_profile<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    pending: &PendingSso,
    session: &Session,
) -> Result<Profile, Response> {
    let cfg = &app.cfg;
    let settings = AccessSettings {
        profile_iqa: cfg.profile_iqa.as_deref(),
        role_iqa: cfg.role_iqa.as_deref(),
        no_access_mapping: cfg.no_access_mapping.as_deref(),
    };
    let asking = Asking {
        event: "saml.no_access",
        app_id: &cfg.id,
        app_name: &cfg.name,
        user: &session.user.username,
    };
    match access::check(ctx, settings, asking, Some(session_ref(session))).await {
        Decision::Granted(profile) => Ok(profile),
        Decision::TurnedAway(answer) => Err(answer),
        Decision::Unavailable => Err(ctx.error_page(
            502,
            ErrorTitle::ImisUnavailable,
            ErrorMessage::ImisUnexpected,
            Some(&retry_url(pending)),
        )),
    }
}

/// Where "Try again" leads after iMIS failed: IdP-initiated logins can start over; an SP's
/// request cannot be replayed, so the member goes home.
fn retry_url(pending: &PendingSso) -> String {
    match &pending.relay_state {
        Some(rs) if pending.request_id.is_none() => format!(
            "/saml/{}/login?RelayState={}",
            pending.app,
            crate::http::percent_encode(rs)
        ),
        _ if pending.request_id.is_none() => format!("/saml/{}/login", pending.app),
        _ => "/".into(),
    }
}

async fn refuse_to_acs<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    pending: &PendingSso,
    refusal: Refusal,
) -> Response {
    let status = match refusal {
        Refusal::NameIdPolicy => Status::INVALID_NAME_ID_POLICY,
        Refusal::Destination | Refusal::Stale | Refusal::Replayed => Status::REQUEST_DENIED,
    };
    ctx.audit(
        "saml.sso_refused",
        Outcome::Refused,
        Some(&app.cfg.id),
        Some(refusal.message().into()),
    );
    error_to_acs(ctx, app, pending, status, refusal.message()).await
}

/// The ACS the request named (checked when it arrived), or the page that says it is gone.
fn verified_acs<'a, P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &'a LoadedApp,
    pending: &PendingSso,
) -> Result<&'a Acs, Response> {
    app.cfg.sp.acs.get(pending.acs).ok_or_else(|| {
        refuse_page(
            ctx,
            &app.cfg.id,
            400,
            "the ACS is no longer registered".into(),
        )
    })
}

/// What a Response to the ACS carries.
struct Content<'a> {
    status: Status,
    /// The StatusMessage of an error.
    message: Option<&'a str>,
    /// The assertion and its ID (success only).
    assertion: Option<(El, &'a str)>,
    sign_assertion: bool,
    sign_response: bool,
}

/// Builds a Response, signs it (and/or its assertion) and delivers it to `acs` with the ACS's
/// binding; `Err` is the page to show when it cannot be signed.
async fn send_to_acs<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    pending: &PendingSso,
    acs: &Acs,
    content: Content<'_>,
) -> Result<Response, Response> {
    let Ok(signing) = &app.signing else {
        return Err(super::unavailable(ctx, app));
    };
    let signer = signing.signer();
    let id = new_id(ctx.platform);
    let idp = urls(ctx, app);
    let env = Envelope {
        id: &id,
        issuer: &idp.entity_id,
        now: ctx.platform.now().secs(),
        destination: &acs.url,
        in_response_to: pending.request_id.as_deref(),
    };
    let built = response::build(
        ctx.platform,
        &signer,
        &env,
        content.status,
        content.message,
        content.assertion,
        content.sign_assertion,
        content.sign_response,
        acs.binding,
        app.encrypt_to.as_ref(),
    )
    .await
    .map_err(|e| super::sign_failed(ctx, &e))?;
    let out = Outgoing {
        kind: "SAMLResponse",
        xml: built.to_c14n(),
        relay_state: pending.relay_state.as_deref(),
        url: &acs.url,
        binding: acs.binding,
        query_signer: (acs.binding == Binding::Redirect && content.sign_response)
            .then(|| signer.clone()),
    };
    binding::send(ctx, out)
        .await
        .map_err(|e| super::sign_failed(ctx, &e))
}

/// A signed SAML error Response to the request's (verified) ACS.
async fn error_to_acs<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    pending: &PendingSso,
    status: Status,
    message: &str,
) -> Response {
    let content = Content {
        status,
        message: Some(message),
        assertion: None,
        sign_assertion: false,
        sign_response: true,
    };
    match verified_acs(ctx, app, pending) {
        Ok(acs) => send_to_acs(ctx, app, pending, acs, content)
            .await
            .unwrap_or_else(|page| page),
        Err(page) => page,
    }
}
