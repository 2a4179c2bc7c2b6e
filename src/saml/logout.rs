//! Single Logout: LogoutRequest and LogoutResponse, both directions, both bindings, signed.
//!
//! - **SP-initiated** (`/saml/{app}/slo` with a LogoutRequest): the request is verified (Issuer,
//!   signature with the SP's registered certificates, IssueInstant), the IdP session ends, every
//!   other participant is visited through the shared logout chain ([`crate::signin::logout`]),
//!   and the chain ends at `/saml/{app}/slo/done`, which answers the initiating SP with a signed
//!   LogoutResponse.
//! - **IdP-initiated** (`/signout`, or another SP's logout): [`logout_step`] sends a signed
//!   LogoutRequest to an SP with Single Logout; its LogoutResponse comes back to
//!   `/saml/{app}/slo` and the chain continues.

use serde::{Deserialize, Serialize};

use super::binding::{self, Incoming, Outgoing};
use super::config::{Binding, LoadedApp};
use super::dsig;
use super::response::{status_el, Status};
use super::time;
use super::xml::{self, El, Element, NS_DS, NS_SAML, NS_SAMLP};
use super::{app_or_page, new_id, urls, Saml};
use crate::audit::Outcome;
use crate::cookie;
use crate::http::{percent_encode, Response};
use crate::platform::Platform;
use crate::signin::{self, Participant, Reply};
use crate::Ctx;

/// How long a sent LogoutRequest or LogoutResponse is valid.
const MESSAGE_LIFETIME_SECS: u64 = 300;
/// The sealed value in `/saml/{app}/slo/done?t=…` (AAD: this name).
const DONE_TOKEN: &str = "saml-slo-done";

/// A LogoutRequest or LogoutResponse as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutMessage {
    /// From an SP that wants the session ended.
    Request {
        /// ID.
        id: String,
        /// Issuer.
        issuer: Option<String>,
        /// IssueInstant, seconds.
        issue_instant: u64,
        /// NameID value.
        name_id: Option<String>,
        /// `Destination`, when given.
        destination: Option<String>,
        /// Whether the XML is signed.
        xml_signed: bool,
    },
    /// An SP's answer to our LogoutRequest.
    Response {
        /// Issuer.
        issuer: Option<String>,
        /// Top-level status code.
        status: Option<String>,
        /// Whether the XML is signed.
        xml_signed: bool,
    },
}

/// Why a logout message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoutError {
    /// Not XML we accept.
    #[error("{0}")]
    Xml(#[from] xml::XmlError),
    /// Not a logout message.
    #[error("not a SAML 2.0 logout message: {0}")]
    Shape(&'static str),
}

/// Reads a LogoutRequest or LogoutResponse.
pub fn parse(xml_text: &str) -> Result<LogoutMessage, LogoutError> {
    let root: Element = xml::parse(xml_text.as_bytes())?;
    if root.attr("Version") != Some("2.0") {
        return Err(LogoutError::Shape("Version must be 2.0"));
    }
    let issuer = root.child_text(NS_SAML, "Issuer").map(str::to_string);
    let xml_signed = root.child(NS_DS, "Signature").is_some();
    if root.is(NS_SAMLP, "LogoutRequest") {
        Ok(LogoutMessage::Request {
            id: root
                .attr("ID")
                .filter(|id| super::authn_request::is_ncname(id))
                .ok_or(LogoutError::Shape("ID"))?
                .to_string(),
            issuer,
            issue_instant: root
                .attr("IssueInstant")
                .and_then(time::parse)
                .ok_or(LogoutError::Shape("IssueInstant"))?,
            name_id: root.child_text(NS_SAML, "NameID").map(str::to_string),
            destination: root.attr("Destination").map(str::to_string),
            xml_signed,
        })
    } else if root.is(NS_SAMLP, "LogoutResponse") {
        Ok(LogoutMessage::Response {
            issuer,
            status: root
                .child(NS_SAMLP, "Status")
                .and_then(|s| s.child(NS_SAMLP, "StatusCode"))
                .and_then(|c| c.attr("Value"))
                .map(str::to_string),
            xml_signed,
        })
    } else {
        Err(LogoutError::Shape(
            "the root is neither LogoutRequest nor LogoutResponse",
        ))
    }
}

/// Verifies a logout message's signature (Redirect: the query; POST: the XML) with the SP's
/// registered certificates. A LogoutRequest ends the member's session, so it must be signed by
/// an SP with a registered certificate; a LogoutResponse only continues our own chain, so an
/// SP without certificates may send it unsigned.
fn verify_signature(app: &LoadedApp, incoming: &Incoming, xml_signed: bool) -> Result<(), String> {
    let is_request = incoming.kind == "SAMLRequest";
    match (incoming.binding, &incoming.query_signature) {
        (Binding::Redirect, Some(sig)) => dsig::verify_redirect(sig, &app.sp_keys),
        (Binding::Post, _) if xml_signed => dsig::verify_post(&incoming.xml, &app.sp_keys),
        _ if is_request => {
            return Err(if app.sp_keys.is_empty() {
                "unsigned, and the SP has no registered signing certificate".into()
            } else {
                "unsigned".into()
            })
        }
        _ if app.sp_keys.is_empty() => Ok(()),
        _ => return Err("unsigned, but the SP has registered signing certificates".into()),
    }
    .map_err(|e| e.to_string())
}

/// What `/saml/{app}/slo/done` needs to answer the initiating SP.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    app: String,
    irt: String,
    relay: Option<String>,
    exp: u64,
}

/// `/saml/{app}/slo` (GET: Redirect binding; POST: POST binding).
pub async fn slo<P: Platform>(ctx: &Ctx<'_, P>, app_id: &str) -> Reply {
    let app = match app_or_page(ctx, app_id).await {
        Ok(a) => a,
        Err(resp) => return resp.into(),
    };
    if !app.cfg.slo_enabled {
        return refuse(
            ctx,
            app_id,
            "Single Logout is not enabled for this app".into(),
        );
    }
    let incoming = match binding::read(ctx) {
        Ok(i) => i,
        Err(e) => return refuse(ctx, app_id, e.to_string()),
    };
    let message = match parse(&incoming.xml) {
        Ok(m) => m,
        Err(e) => return refuse(ctx, app_id, e.to_string()),
    };
    match message {
        LogoutMessage::Response {
            issuer,
            status,
            xml_signed,
        } => {
            // Our own chain continues whatever the SP says; a bad answer is only audited.
            let verdict = if !issuer_is_sp(&app, &issuer) {
                Err("Issuer is not this app's SP".to_string())
            } else {
                verify_signature(&app, &incoming, xml_signed)
            };
            match verdict {
                Ok(()) => ctx.audit(
                    "saml.slo_response",
                    Outcome::Success,
                    Some(app_id),
                    status.map(|s| s.rsplit(':').next().unwrap_or_default().to_string()),
                ),
                Err(e) => ctx.audit("saml.slo_response", Outcome::Refused, Some(app_id), Some(e)),
            }
            Response::redirect(signin::logout::CONTINUE_PATH).into()
        }
        LogoutMessage::Request {
            id,
            issuer,
            issue_instant,
            name_id,
            destination,
            xml_signed,
        } => {
            let request = SpRequest {
                id,
                issuer,
                issue_instant,
                name_id,
                destination,
                xml_signed,
            };
            sp_request(ctx, &app, app_id, incoming, request).await
        }
    }
}

/// The fields of an SP's LogoutRequest.
struct SpRequest {
    id: String,
    issuer: Option<String>,
    issue_instant: u64,
    name_id: Option<String>,
    destination: Option<String>,
    xml_signed: bool,
}

fn issuer_is_sp(app: &LoadedApp, issuer: &Option<String>) -> bool {
    issuer.as_deref() == Some(app.cfg.sp.entity_id.as_str())
}

/// Audits a refused logout message; the page the member sees.
fn refuse<P: Platform>(ctx: &Ctx<'_, P>, app_id: &str, reason: String) -> Reply {
    ctx.audit(
        "saml.slo_refused",
        Outcome::Refused,
        Some(app_id),
        Some(reason),
    );
    ctx.error_page(
        400,
        "Sign-out request not accepted",
        "The sign-out request from this application could not be accepted.",
        Some("/signout"),
    )
    .into()
}

/// An SP-initiated logout: the member's session ends (when the SP names this browser's member)
/// and the logout chain runs; the SP is answered at its end.
async fn sp_request<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    app_id: &str,
    incoming: Incoming,
    request: SpRequest,
) -> Reply {
    let now = match check_request(ctx, app, app_id, &incoming, &request).await {
        Ok(now) => now,
        Err(reply) => return reply,
    };
    let session = signin::current(ctx).await;
    let ours = session.as_ref().is_some_and(|s| {
        s.participants.iter().any(|p| matches!(p,
            Participant::Saml { app: a, name_id: n, .. } if a == app_id && Some(n) == request.name_id.as_ref()))
    });
    if session.is_some() && !ours {
        // The SP names someone else than this browser's member: leave the session alone.
        ctx.audit(
            "saml.slo_refused",
            Outcome::Refused,
            Some(app_id),
            Some("NameID does not match the session".into()),
        );
        return answer(
            ctx,
            app,
            &request.id,
            incoming.relay_state.as_deref(),
            Status::UNKNOWN_PRINCIPAL,
        )
        .await
        .into();
    }
    let Some(session) = session else {
        return answer(
            ctx,
            app,
            &request.id,
            incoming.relay_state.as_deref(),
            Status::SUCCESS,
        )
        .await
        .into();
    };
    ctx.audit(
        "saml.slo",
        Outcome::Success,
        Some(app_id),
        Some(format!("user {}", session.user.username)),
    );
    let done = Done {
        app: app_id.to_string(),
        irt: request.id,
        relay: incoming.relay_state,
        exp: now + 600,
    };
    let token = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())
        .and_then(|k| cookie::seal(ctx.platform, &k, DONE_TOKEN, &done));
    let Some(token) = token else {
        return ctx
            .error_page(
                503,
                "Sign-out unavailable",
                "Sign-out is not available right now.",
                None,
            )
            .into();
    };
    let mut ended = signin::end_session(ctx, session).await;
    // The SP that asked is answered at the end, not sent a LogoutRequest of its own.
    ended
        .participants
        .retain(|p| !matches!(p, Participant::Saml { app: a, .. } if a == app_id));
    let done_path = format!("/saml/{}/slo/done?t={}", percent_encode(app_id), token);
    // Through iMIS's logout first (per tenant setting), then answer the SP.
    let done = signin::after_sign_out_then(ctx, &done_path);
    ended.then(done)
}

/// Checks an SP's LogoutRequest (issuer, signature, destination, time, replay, somewhere to
/// answer); the current time when it passes, else the page to show.
async fn check_request<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    app_id: &str,
    incoming: &Incoming,
    request: &SpRequest,
) -> Result<u64, Reply> {
    if !issuer_is_sp(app, &request.issuer) {
        return Err(refuse(ctx, app_id, "Issuer is not this app's SP".into()));
    }
    if let Err(e) = verify_signature(app, incoming, request.xml_signed) {
        return Err(refuse(ctx, app_id, format!("signature: {e}")));
    }
    if request
        .destination
        .as_ref()
        .is_some_and(|d| *d != urls(ctx, app).slo)
    {
        return Err(refuse(
            ctx,
            app_id,
            "Destination is not this Single Logout endpoint".into(),
        ));
    }
    let now = ctx.platform.now().secs();
    if request.issue_instant.abs_diff(now) > super::authn_request::MAX_SKEW_SECS {
        return Err(refuse(
            ctx,
            app_id,
            "IssueInstant is too far from the current time".into(),
        ));
    }
    match super::first_sighting(ctx, "saml-logout-req", app_id, &request.id).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(refuse(
                ctx,
                app_id,
                "the LogoutRequest ID was seen before".into(),
            ))
        }
        Err(e) => {
            ctx.audit(
                "saml.store_unavailable",
                Outcome::Failure,
                Some(app_id),
                Some(e.to_string()),
            );
            return Err(ctx
                .error_page(
                    503,
                    "Sign-out temporarily unavailable",
                    "Please try again in a moment.",
                    Some("/signout"),
                )
                .into());
        }
    }
    if app.cfg.sp.slo.is_none() {
        return Err(refuse(
            ctx,
            app_id,
            "the SP has no Single Logout endpoint to answer".into(),
        ));
    }
    Ok(now)
}

/// `/saml/{app}/slo/done?t=…`: the end of an SP-initiated logout — answer that SP.
pub async fn done<P: Platform>(ctx: &Ctx<'_, P>, app_id: &str) -> Response {
    let done: Option<Done> = ctx.req.query_param("t").and_then(|t| {
        let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
        cookie::open(&key, DONE_TOKEN, &t)
    });
    let Some(done) = done.filter(|d| d.app == app_id && ctx.platform.now().secs() < d.exp) else {
        return Response::redirect("/signed-out");
    };
    let app = match app_or_page(ctx, app_id).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    answer(ctx, &app, &done.irt, done.relay.as_deref(), Status::SUCCESS).await
}

/// Sends a signed LogoutResponse to the SP.
async fn answer<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    in_response_to: &str,
    relay_state: Option<&str>,
    status: Status,
) -> Response {
    let Some(slo) = &app.cfg.sp.slo else {
        return Response::redirect("/signed-out");
    };
    let Ok(signing) = &app.signing else {
        return super::unavailable(ctx, app);
    };
    let signer = signing.signer();
    let destination = slo.response_url.as_deref().unwrap_or(&slo.url);
    let id = new_id(ctx.platform);
    let now = ctx.platform.now().secs();
    let Saml { entity_id, .. } = urls(ctx, app);
    let mut msg = El::new("samlp:LogoutResponse")
        .attr("ID", id.as_str())
        .attr("Version", "2.0")
        .attr("IssueInstant", time::format(now))
        .attr("Destination", destination)
        .attr("InResponseTo", in_response_to)
        .child(El::new("saml:Issuer").text(entity_id.as_str()))
        .child(status_el(status, None));
    send_signed(
        ctx,
        &mut msg,
        &id,
        &signer,
        "SAMLResponse",
        destination,
        slo.binding,
        relay_state,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn send_signed<P: Platform>(
    ctx: &Ctx<'_, P>,
    msg: &mut El,
    id: &str,
    signer: &dsig::Signer<'_>,
    kind: &'static str,
    url: &str,
    binding: Binding,
    relay_state: Option<&str>,
) -> Response {
    if binding == Binding::Post {
        if let Err(e) = dsig::sign_enveloped(ctx.platform, signer, msg, id).await {
            return super::sign_failed(ctx, &e);
        }
    }
    let out = Outgoing {
        kind,
        xml: msg.to_c14n(),
        relay_state,
        url,
        binding,
        query_signer: (binding == Binding::Redirect).then(|| signer.clone()),
    };
    match binding::send(ctx, out).await {
        Ok(r) => r,
        Err(e) => super::sign_failed(ctx, &e),
    }
}

/// Sends a LogoutRequest to a SAML participant during single logout; `None` when its app has
/// no Single Logout (the chain then skips it).
pub async fn logout_step<P: Platform>(
    ctx: &Ctx<'_, P>,
    participant: &Participant,
    continue_to: &str,
) -> Option<Response> {
    let Participant::Saml {
        app,
        name_id,
        name_id_format,
        session_index,
    } = participant
    else {
        return None;
    };
    let loaded = super::config::load(ctx, app).await.ok()??;
    let app_cfg: &LoadedApp = loaded.as_ref().as_ref().ok()?;
    let slo = app_cfg
        .cfg
        .sp
        .slo
        .as_ref()
        .filter(|_| app_cfg.cfg.slo_enabled)?;
    let signing = app_cfg.signing.as_ref().ok()?;
    let signer = signing.signer();
    let id = new_id(ctx.platform);
    let now = ctx.platform.now().secs();
    let Saml { entity_id, .. } = urls(ctx, app_cfg);
    let qualified =
        name_id_format.ends_with(":persistent") || name_id_format.ends_with(":transient");
    let mut msg = El::new("samlp:LogoutRequest")
        .attr("ID", id.as_str())
        .attr("Version", "2.0")
        .attr("IssueInstant", time::format(now))
        .attr("Destination", slo.url.as_str())
        .attr("NotOnOrAfter", time::format(now + MESSAGE_LIFETIME_SECS))
        .child(El::new("saml:Issuer").text(entity_id.as_str()))
        .child(
            El::new("saml:NameID")
                .attr("Format", name_id_format.as_str())
                .attr_opt(
                    "SPNameQualifier",
                    qualified.then_some(app_cfg.cfg.sp.entity_id.as_str()),
                )
                .text(name_id.as_str()),
        )
        .child(El::new("samlp:SessionIndex").text(session_index.as_str()));
    ctx.audit("saml.slo_request_sent", Outcome::Success, Some(app), None);
    Some(
        send_signed(
            ctx,
            &mut msg,
            &id,
            &signer,
            "SAMLRequest",
            &slo.url,
            slo.binding,
            Some(continue_to),
        )
        .await,
    )
}
