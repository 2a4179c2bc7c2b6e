//! The AuthnRequest: what an SP asks for, read from its XML, then checked against the app.
//!
//! A request only becomes a [`VerifiedRequest`] through [`verify`]: its Issuer is the app's SP,
//! its signature (when it has one, and always when the app requires signed requests) verifies
//! with the SP's registered certificates, and the ACS it names is registered. Only a verified
//! request's ACS ever receives anything — even an error Response.

use super::binding::Incoming;
use super::config::{Binding, LoadedApp, FORMAT_UNSPECIFIED};
use super::dsig::{self, DsigError};
use super::time;
use super::xml::{self, Element, XmlError, NS_DS, NS_SAML, NS_SAMLP};
use crate::platform::Platform;

/// How far an IssueInstant may be from our clock.
pub(crate) const MAX_SKEW_SECS: u64 = 300;
/// Longest request ID we accept.
const MAX_ID_LEN: usize = 256;

/// An AuthnRequest as read, not yet trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// `ID`.
    pub id: String,
    /// `IssueInstant`, seconds.
    pub(crate) issue_instant: u64,
    /// `Issuer`.
    pub(crate) issuer: Option<String>,
    /// `Destination`.
    pub(crate) destination: Option<String>,
    /// `AssertionConsumerServiceURL`.
    pub(crate) acs_url: Option<String>,
    /// `AssertionConsumerServiceIndex`.
    acs_index: Option<u16>,
    /// `ProtocolBinding`.
    protocol_binding: Option<String>,
    /// `ForceAuthn`.
    pub(crate) force_authn: bool,
    /// `IsPassive`.
    pub(crate) is_passive: bool,
    /// `NameIDPolicy/@Format`.
    name_id_format: Option<String>,
    /// Whether the XML carries a `ds:Signature` child of the root.
    pub(crate) xml_signed: bool,
}

/// Why a request cannot be answered at all (a branded page, never a message to the SP).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not XML we accept.
    #[error("{0}")]
    Xml(#[from] XmlError),
    /// Not an AuthnRequest, or missing a required part.
    #[error("not a SAML 2.0 AuthnRequest: {0}")]
    Shape(&'static str),
    /// Issuer missing or not the app's SP.
    #[error("the request's Issuer is not this app's SP")]
    Issuer,
    /// The app requires signed requests and this one is not.
    #[error("the app requires signed AuthnRequests and this one is not signed")]
    Unsigned,
    /// The signature does not verify.
    #[error("the request's signature is not valid: {0}")]
    Signature(#[from] DsigError),
    /// The ACS it names is not registered.
    #[error("the AssertionConsumerService the request names is not registered for this app")]
    Acs,
}

fn flag(e: &Element, name: &str) -> Result<bool, RequestError> {
    match e.attr(name) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(RequestError::Shape("boolean attribute")),
    }
}

/// Whether `id` is an acceptable xs:ID (an NCName, bounded).
pub fn is_ncname(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= MAX_ID_LEN
        && chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Reads an AuthnRequest from XML.
pub fn parse(xml_text: &str) -> Result<AuthnRequest, RequestError> {
    let root = xml::parse(xml_text.as_bytes())?;
    if !root.is(NS_SAMLP, "AuthnRequest") {
        return Err(RequestError::Shape("the root is not samlp:AuthnRequest"));
    }
    if root.attr("Version") != Some("2.0") {
        return Err(RequestError::Shape("Version must be 2.0"));
    }
    let id = root
        .attr("ID")
        .filter(|id| is_ncname(id))
        .ok_or(RequestError::Shape("ID"))?
        .to_string();
    let issue_instant = root
        .attr("IssueInstant")
        .and_then(time::parse)
        .ok_or(RequestError::Shape("IssueInstant"))?;
    let acs_index = match root.attr("AssertionConsumerServiceIndex") {
        Some(i) => Some(
            i.parse::<u16>()
                .map_err(|_| RequestError::Shape("AssertionConsumerServiceIndex"))?,
        ),
        None => None,
    };
    Ok(AuthnRequest {
        id,
        issue_instant,
        issuer: root.child_text(NS_SAML, "Issuer").map(str::to_string),
        destination: root.attr("Destination").map(str::to_string),
        acs_url: root.attr("AssertionConsumerServiceURL").map(str::to_string),
        acs_index,
        protocol_binding: root.attr("ProtocolBinding").map(str::to_string),
        force_authn: flag(&root, "ForceAuthn")?,
        is_passive: flag(&root, "IsPassive")?,
        name_id_format: root
            .child(NS_SAMLP, "NameIDPolicy")
            .and_then(|p| p.attr("Format"))
            .map(str::to_string),
        xml_signed: root.child(NS_DS, "Signature").is_some(),
    })
}

/// A request from the app's SP, whose ACS is registered: safe to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The request.
    pub(crate) req: AuthnRequest,
    /// Position of the ACS to answer in the app's `sp.acs`.
    pub acs: usize,
    /// Binding to answer with.
    binding: Binding,
}

/// Checks who sent the request and where the answer goes: the Issuer is the app's SP, the
/// signature verifies (required when the app says so; a present signature is always checked),
/// and the ACS (by URL, index or the default) is registered.
pub async fn verify(
    platform: &impl Platform,
    app: &LoadedApp,
    req: AuthnRequest,
    incoming: &Incoming,
) -> Result<VerifiedRequest, RequestError> {
    let cfg = &app.cfg;
    if req.issuer.as_deref() != Some(cfg.sp.entity_id.as_str()) {
        return Err(RequestError::Issuer);
    }
    match (incoming.binding, &incoming.query_signature) {
        (Binding::Redirect, Some(sig)) => {
            dsig::verify_redirect(platform, sig, &app.sp_keys).await?
        }
        (Binding::Post, _) if req.xml_signed => {
            dsig::verify_post(platform, &incoming.xml, &app.sp_keys).await?
        }
        _ if cfg.sp.authn_requests_signed => return Err(RequestError::Unsigned),
        _ => {}
    }
    let wanted = req.protocol_binding.as_deref().map(Binding::from_uri);
    if wanted == Some(None) {
        // SOAP, Artifact, PAOS: not offered.
        return Err(RequestError::Acs);
    }
    let wanted = wanted.flatten();
    let acs = match (&req.acs_url, req.acs_index) {
        (Some(_), Some(_)) => return Err(RequestError::Acs),
        (Some(url), None) => cfg
            .sp
            .acs
            .iter()
            .position(|a| &a.url == url && wanted.is_none_or(|b| a.binding == b)),
        (None, Some(i)) => cfg.sp.acs.iter().position(|a| a.index == Some(i)),
        (None, None) => match wanted {
            Some(b) => cfg.sp.acs.iter().position(|a| a.binding == b),
            None => (!cfg.sp.acs.is_empty()).then_some(0),
        },
    }
    .ok_or(RequestError::Acs)?;
    let binding = cfg.sp.acs.get(acs).ok_or(RequestError::Acs)?.binding;
    Ok(VerifiedRequest { req, acs, binding })
}

/// What a verified request still gets wrong; answered to its ACS with this status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Destination is not our SSO endpoint.
    Destination,
    /// IssueInstant too far from now.
    Stale,
    /// The ID was seen before.
    Replayed,
    /// NameIDPolicy asks for a format the app does not send.
    NameIdPolicy,
}

impl Refusal {
    /// Short reason for the audit log and StatusMessage.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Destination => "Destination is not this SSO endpoint",
            Self::Stale => "IssueInstant is too far from the current time",
            Self::Replayed => "this request was already used",
            Self::NameIdPolicy => {
                "the requested NameID format is not the one configured for this app"
            }
        }
    }
}

/// The checks of a verified request that do not need state: Destination (when present) is one
/// of `sso_urls`, IssueInstant is within [`MAX_SKEW_SECS`] of `now`, NameIDPolicy is compatible.
pub fn check(
    v: &VerifiedRequest,
    app: &LoadedApp,
    now: u64,
    sso_urls: &[String],
) -> Result<(), Refusal> {
    if v.req
        .destination
        .as_deref()
        .is_some_and(|d| !sso_urls.iter().any(|u| u == d))
    {
        return Err(Refusal::Destination);
    }
    if v.req.issue_instant.abs_diff(now) > MAX_SKEW_SECS {
        return Err(Refusal::Stale);
    }
    if let Some(f) = v.req.name_id_format.as_deref() {
        if f != FORMAT_UNSPECIFIED && f != app.cfg.name_id_format.uri() {
            return Err(Refusal::NameIdPolicy);
        }
    }
    Ok(())
}
