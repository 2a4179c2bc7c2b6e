//! Metadata, both ways: the IdP `EntityDescriptor` of one app (`/saml/{app}/metadata`), and the
//! reading of an SP's metadata (used by `edge-idp saml import`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::config::{Acs, Binding, LoadedApp, Slo};
use super::xml::{self, El, Element, NS_DS, NS_MD};
use crate::ids::EntityId;

/// The IdP's URLs for one app on the host the request came to.
#[derive(Debug, Clone)]
pub(crate) struct IdpUrls {
    pub(crate) entity_id: String,
    /// `/saml/{app}/sso`.
    pub(crate) sso: String,
    /// `/saml/{app}/slo`.
    pub(crate) slo: String,
}

/// The IdP metadata document of `app`.
pub(crate) fn idp_metadata(app: &LoadedApp, urls: &IdpUrls) -> String {
    let cfg = &app.cfg;
    let mut idp = El::new("md:IDPSSODescriptor")
        .attr(
            "WantAuthnRequestsSigned",
            if cfg.sp.authn_requests_signed {
                "true"
            } else {
                "false"
            },
        )
        .attr(
            "protocolSupportEnumeration",
            "urn:oasis:names:tc:SAML:2.0:protocol",
        );
    for cert in &app.published {
        idp = idp.child(
            El::new("md:KeyDescriptor").attr("use", "signing").child(
                El::new("ds:KeyInfo").child(
                    El::new("ds:X509Data")
                        .child(El::new("ds:X509Certificate").text(STANDARD.encode(cert))),
                ),
            ),
        );
    }
    if cfg.slo_enabled {
        for b in [Binding::Redirect, Binding::Post] {
            idp = idp.child(
                El::new("md:SingleLogoutService")
                    .attr("Binding", b.uri())
                    .attr("Location", urls.slo.as_str()),
            );
        }
    }
    idp = idp.child(El::new("md:NameIDFormat").text(cfg.name_id_format.uri()));
    for b in [Binding::Redirect, Binding::Post] {
        idp = idp.child(
            El::new("md:SingleSignOnService")
                .attr("Binding", b.uri())
                .attr("Location", urls.sso.as_str()),
        );
    }
    let doc = El::new("md:EntityDescriptor")
        .attr("entityID", urls.entity_id.as_str())
        .child(idp);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        doc.to_c14n()
    )
}

/// What an SP's metadata says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpMetadata {
    /// The `entityID` the SP names itself by.
    pub entity_id: EntityId,
    /// ACS endpoints with a binding we answer with (HTTP-POST, HTTP-Redirect), default first.
    pub acs: Vec<Acs>,
    /// The first Single Logout service with a binding we use.
    pub slo: Option<Slo>,
    /// Signing certificates, base64 DER.
    pub certificates: Vec<String>,
    /// The first encryption certificate (`KeyDescriptor use="encryption"`), base64 DER.
    pub encryption_certificate: Option<String>,
    /// `AuthnRequestsSigned`.
    pub authn_requests_signed: bool,
    /// `WantAssertionsSigned`.
    pub want_assertions_signed: bool,
    /// NameID formats listed.
    pub name_id_formats: Vec<String>,
    /// Things skipped (SOAP/Artifact endpoints, further encryption keys) or to know.
    pub notes: Vec<String>,
}

/// Why SP metadata cannot be used; each message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not XML we accept.
    #[error("not usable XML: {0}")]
    Xml(#[from] xml::XmlError),
    /// A required part is missing or wrong.
    #[error("{0}")]
    Invalid(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, MetadataError> {
    Err(MetadataError::Invalid(msg.into()))
}

fn flag(e: &Element, name: &str) -> bool {
    matches!(e.attr(name), Some("true") | Some("1"))
}

/// Reads SP metadata: an `EntityDescriptor`, or an `EntitiesDescriptor` holding exactly one SP.
pub fn parse_sp_metadata(bytes: &[u8]) -> Result<SpMetadata, MetadataError> {
    let entity = sp_entity(xml::parse(bytes)?)?;
    let Some(entity_id) = entity
        .attr("entityID")
        .map(str::trim)
        .and_then(EntityId::parse)
    else {
        return invalid("the EntityDescriptor has no entityID");
    };
    let Some(sp) = entity.child(NS_MD, "SPSSODescriptor") else {
        return invalid(
            "there is no SPSSODescriptor: this is not service-provider metadata (IdP metadata?)",
        );
    };
    if !sp
        .attr("protocolSupportEnumeration")
        .is_some_and(|p| p.split_whitespace().any(|p| p == xml::NS_SAMLP))
    {
        return invalid(
            "the SPSSODescriptor does not support SAML 2.0 (protocolSupportEnumeration)",
        );
    }
    let mut notes = Vec::new();
    let acs = sp_acs(sp, &mut notes)?;
    let slo = sp_slo(sp, &mut notes)?;
    let certificates = sp_certificates(sp)?;
    let authn_requests_signed = flag(sp, "AuthnRequestsSigned");
    if authn_requests_signed && certificates.is_empty() {
        return invalid("AuthnRequestsSigned is true but there is no signing certificate");
    }
    Ok(SpMetadata {
        entity_id,
        acs,
        slo,
        certificates,
        encryption_certificate: sp_encryption_certificate(sp, &mut notes),
        authn_requests_signed,
        want_assertions_signed: flag(sp, "WantAssertionsSigned"),
        name_id_formats: sp
            .children_named(NS_MD, "NameIDFormat")
            .map(|f| f.text.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect(),
        notes,
    })
}

/// The one SP's `EntityDescriptor` of a metadata document.
fn sp_entity(root: Element) -> Result<Element, MetadataError> {
    if root.is(NS_MD, "EntityDescriptor") {
        return Ok(root);
    }
    if !root.is(NS_MD, "EntitiesDescriptor") {
        return invalid(format!(
            "the document element is {{{}}}{}, not md:EntityDescriptor (namespace {NS_MD})",
            root.ns, root.local
        ));
    }
    let mut sps: Vec<Element> = root
        .children
        .into_iter()
        .filter(|e| e.is(NS_MD, "EntityDescriptor") && e.child(NS_MD, "SPSSODescriptor").is_some())
        .collect();
    if sps.len() != 1 {
        return invalid(format!(
            "the EntitiesDescriptor holds {} service providers; import a file with exactly one",
            sps.len()
        ));
    }
    Ok(sps.remove(0))
}

/// The ACS endpoints with a binding we answer with, the default first.
fn sp_acs(sp: &Element, notes: &mut Vec<String>) -> Result<Vec<Acs>, MetadataError> {
    let mut acs: Vec<(bool, Acs)> = Vec::new();
    for e in sp.children_named(NS_MD, "AssertionConsumerService") {
        let location = e.attr("Location").unwrap_or_default().trim().to_string();
        let binding_uri = e.attr("Binding").unwrap_or_default();
        let Some(binding) = Binding::from_uri(binding_uri) else {
            notes.push(format!("skipped ACS {location} with binding {binding_uri}"));
            continue;
        };
        if !super::config::is_https_url(&location) {
            return invalid(format!(
                "AssertionConsumerService Location {location:?} is not an https URL"
            ));
        }
        let index = match e.attr("index") {
            Some(i) => match i.trim().parse::<u16>() {
                Ok(i) => Some(i),
                Err(_) => {
                    return invalid(format!(
                        "AssertionConsumerService index {i:?} is not a number"
                    ))
                }
            },
            None => None,
        };
        acs.push((
            flag(e, "isDefault"),
            Acs {
                url: location,
                binding,
                index,
            },
        ));
    }
    if acs.is_empty() {
        return invalid(
            "there is no AssertionConsumerService with the HTTP-POST or HTTP-Redirect binding",
        );
    }
    // The default ACS first: isDefault="true", else the lowest index, else document order.
    let default = acs
        .iter()
        .position(|(d, _)| *d)
        .or_else(|| {
            acs.iter()
                .enumerate()
                .filter_map(|(i, (_, a))| a.index.map(|x| (x, i)))
                .min()
                .map(|(_, i)| i)
        })
        .unwrap_or(0);
    let first = acs.remove(default);
    Ok(std::iter::once(first).chain(acs).map(|(_, a)| a).collect())
}

/// The first Single Logout service with a binding we use.
fn sp_slo(sp: &Element, notes: &mut Vec<String>) -> Result<Option<Slo>, MetadataError> {
    let mut slo = None;
    for e in sp.children_named(NS_MD, "SingleLogoutService") {
        let location = e.attr("Location").unwrap_or_default().trim().to_string();
        let binding_uri = e.attr("Binding").unwrap_or_default();
        match Binding::from_uri(binding_uri) {
            Some(binding) if slo.is_none() => {
                if !super::config::is_https_url(&location) {
                    return invalid(format!(
                        "SingleLogoutService Location {location:?} is not an https URL"
                    ));
                }
                let response_url = e
                    .attr("ResponseLocation")
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty() && *r != location);
                if let Some(r) = &response_url {
                    if !super::config::is_https_url(r) {
                        return invalid(format!(
                            "SingleLogoutService ResponseLocation {r:?} is not an https URL"
                        ));
                    }
                }
                slo = Some(Slo {
                    url: location,
                    binding,
                    response_url,
                });
            }
            Some(_) => {}
            None => notes.push(format!("skipped SLO {location} with binding {binding_uri}")),
        }
    }
    Ok(slo)
}

/// The SP's first encryption certificate, if it lists one.
fn sp_encryption_certificate(sp: &Element, notes: &mut Vec<String>) -> Option<String> {
    let certs: Vec<String> = sp
        .children_named(NS_MD, "KeyDescriptor")
        .filter(|kd| kd.attr("use") == Some("encryption"))
        .filter_map(|kd| kd.child(NS_DS, "KeyInfo"))
        .flat_map(|ki| ki.children_named(NS_DS, "X509Data"))
        .flat_map(|d| d.children_named(NS_DS, "X509Certificate"))
        .map(|c| c.text.chars().filter(|c| !c.is_whitespace()).collect())
        .filter(|b64: &String| super::config::decode_certificate(b64).is_some())
        .collect();
    if certs.len() > 1 {
        notes.push(format!(
            "kept the first of {} encryption certificates",
            certs.len()
        ));
    }
    let first = certs.into_iter().next();
    if first.is_some() {
        notes.push(
            "kept the encryption certificate: set encrypt_assertion to encrypt assertions".into(),
        );
    }
    first
}

/// The SP's signing certificates (base64 DER, each once); encryption keys are kept apart.
fn sp_certificates(sp: &Element) -> Result<Vec<String>, MetadataError> {
    let mut certificates = Vec::new();
    for (n, kd) in sp.children_named(NS_MD, "KeyDescriptor").enumerate() {
        let usage = kd.attr("use").unwrap_or("signing");
        if usage == "encryption" {
            continue;
        }
        let certs: Vec<&str> = kd
            .child(NS_DS, "KeyInfo")
            .map(|ki| {
                ki.children_named(NS_DS, "X509Data")
                    .flat_map(|d| d.children_named(NS_DS, "X509Certificate"))
                    .map(|c| c.text.as_str())
                    .collect()
            })
            .unwrap_or_default();
        if certs.is_empty() {
            return invalid(format!(
                "KeyDescriptor #{} has no ds:KeyInfo/ds:X509Data/ds:X509Certificate",
                n + 1
            ));
        }
        for c in certs {
            let b64: String = c.chars().filter(|c| !c.is_whitespace()).collect();
            if super::config::decode_certificate(&b64).is_none() {
                return invalid(format!(
                    "the certificate in KeyDescriptor #{} is not a base64 DER X.509 certificate",
                    n + 1
                ));
            }
            if !certificates.contains(&b64) {
                certificates.push(b64);
            }
        }
    }
    Ok(certificates)
}
