//! Incoming LogoutRequests and LogoutResponses: what they say, and whether the SP signed them.

use crate::platform::Platform;
use crate::saml::binding::Incoming;
use crate::saml::config::{Binding, LoadedApp};
use crate::saml::dsig;
use crate::saml::time;
use crate::saml::xml::{self, Element, NS_DS, NS_SAML, NS_SAMLP};

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
                .filter(|id| crate::saml::authn_request::is_ncname(id))
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
pub(super) async fn verify_signature(
    platform: &impl Platform,
    app: &LoadedApp,
    incoming: &Incoming,
    xml_signed: bool,
) -> Result<(), String> {
    let is_request = incoming.kind == "SAMLRequest";
    match (incoming.binding, &incoming.query_signature) {
        (Binding::Redirect, Some(sig)) => dsig::verify_redirect(platform, sig, &app.sp_keys).await,
        (Binding::Post, _) if xml_signed => {
            dsig::verify_post(platform, &incoming.xml, &app.sp_keys).await
        }
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
