//! The Response: Issuer, Destination, InResponseTo, Status and (on success) the Assertion, signed
//! as the app asks — the Assertion first, then the Response around it (enveloped, exclusive c14n,
//! RSA-SHA256), each Signature right after its Issuer.

use super::config::Binding;
use super::dsig::{self, Signer};
use super::encrypt::Encryption;
use super::time;
use super::xml::El;
use crate::platform::{Platform, PlatformError};

/// A SAML status: the top-level code and an optional second-level one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    /// `…:status:Success`, `…:status:Requester`, `…:status:Responder`.
    code: &'static str,
    /// e.g. `…:status:InvalidNameIDPolicy`, `…:status:NoPassive`.
    sub: Option<&'static str>,
}

macro_rules! status {
    ($name:ident, $code:literal, $sub:expr, $doc:literal) => {
        #[doc = $doc]
        pub(crate) const $name: Status = Status {
            code: concat!("urn:oasis:names:tc:SAML:2.0:status:", $code),
            sub: $sub,
        };
    };
}

impl Status {
    status!(SUCCESS, "Success", None, "The request succeeded.");
    status!(
        REQUEST_DENIED,
        "Requester",
        Some("urn:oasis:names:tc:SAML:2.0:status:RequestDenied"),
        "The request was refused (stale, replayed, wrong destination)."
    );
    status!(
        INVALID_NAME_ID_POLICY,
        "Requester",
        Some("urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"),
        "The requested NameID format cannot be given."
    );
    status!(
        NO_PASSIVE,
        "Requester",
        Some("urn:oasis:names:tc:SAML:2.0:status:NoPassive"),
        "IsPassive was asked but the member must sign in."
    );
    status!(
        RESPONDER,
        "Responder",
        None,
        "We could not answer (the member's data is incomplete)."
    );
    status!(
        UNKNOWN_PRINCIPAL,
        "Requester",
        Some("urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"),
        "The logout names someone who is not signed in here."
    );
}

/// The `samlp:Status` element, with an optional message.
pub(crate) fn status_el(status: Status, message: Option<&str>) -> El {
    let mut code = El::new("samlp:StatusCode").attr("Value", status.code);
    if let Some(sub) = status.sub {
        code = code.child(El::new("samlp:StatusCode").attr("Value", sub));
    }
    El::new("samlp:Status")
        .child(code)
        .child_opt(message.map(|m| El::new("samlp:StatusMessage").text(m)))
}

/// The Response's header fields.
#[derive(Debug, Clone)]
pub(crate) struct Envelope<'a> {
    /// Response ID.
    pub(crate) id: &'a str,
    /// IdP entity ID.
    pub(crate) issuer: &'a str,
    /// Now (seconds).
    pub(crate) now: u64,
    /// ACS URL.
    pub(crate) destination: &'a str,
    /// The AuthnRequest answered, if any.
    pub(crate) in_response_to: Option<&'a str>,
}

/// Builds the Response around `assertion` (`None`: an error Response) and signs what the app asks:
/// the assertion (`sign_assertion`, its ID `assertion_id`), which is then encrypted to
/// `encrypt_to` when given, then the Response (`sign_response`, POST binding only — the Redirect
/// binding signs its query instead).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn build<P: Platform>(
    platform: &P,
    signer: &Signer<'_>,
    env: &Envelope<'_>,
    status: Status,
    message: Option<&str>,
    assertion: Option<(El, &str)>,
    sign_assertion: bool,
    sign_response: bool,
    binding: Binding,
    encrypt_to: Option<&Encryption>,
) -> Result<El, PlatformError> {
    let assertion = match assertion {
        Some((mut a, id)) => {
            if sign_assertion {
                dsig::sign_enveloped(platform, signer, &mut a, id).await?;
            }
            match encrypt_to {
                Some(sp) => Some(super::encrypt::encrypted_assertion(platform, &a, sp)?),
                None => Some(a),
            }
        }
        None => None,
    };
    let mut resp = El::new("samlp:Response")
        .attr("ID", env.id)
        .attr("Version", "2.0")
        .attr("IssueInstant", time::format(env.now))
        .attr("Destination", env.destination)
        .attr_opt("InResponseTo", env.in_response_to)
        .child(El::new("saml:Issuer").text(env.issuer))
        .child(status_el(status, message))
        .child_opt(assertion);
    if sign_response && binding == Binding::Post {
        dsig::sign_enveloped(platform, signer, &mut resp, env.id).await?;
    }
    Ok(resp)
}
