//! Signed logout messages we send: the LogoutResponse to an SP that asked, and the LogoutRequest
//! to each SAML participant of an IdP-initiated logout.

use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::Platform;
use crate::saml::binding::{self, Outgoing};
use crate::saml::config::{Binding, LoadedApp};
use crate::saml::dsig;
use crate::saml::response::{status_el, Status};
use crate::saml::time;
use crate::saml::xml::El;
use crate::saml::{new_id, urls, Saml};
use crate::signin::Participant;
use crate::Ctx;

/// How long a sent LogoutRequest or LogoutResponse is valid.
const MESSAGE_LIFETIME_SECS: u64 = 300;

/// Sends a signed LogoutResponse to the SP.
pub(super) async fn answer<P: Platform>(
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
        return crate::saml::unavailable(ctx, app);
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
            return crate::saml::sign_failed(ctx, &e);
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
        Err(e) => crate::saml::sign_failed(ctx, &e),
    }
}

/// Sends a LogoutRequest to a SAML participant during single logout; `None` when its app has
/// no Single Logout (the chain then skips it).
pub(crate) async fn logout_step<P: Platform>(
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
    let loaded = crate::saml::config::load(ctx, app).await.ok()??;
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
