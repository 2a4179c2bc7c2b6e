//! The HTTP-Redirect and HTTP-POST bindings: getting a SAML message out of a request (with size
//! limits before and after inflating), and sending one (auto-submitting form, or a redirect
//! whose query carries the DEFLATEd message and, when signed, its signature).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::config::Binding;
use super::dsig::{self, Signer};
use super::xml::MAX_XML_BYTES;
use crate::http::{percent_encode, Response};
use crate::platform::{HttpMethod, Platform, PlatformError};
use crate::Ctx;

/// Longest encoded message parameter we read.
const MAX_PARAM_LEN: usize = 96 * 1024;
/// Longest RelayState we carry (the spec asks SPs for 80 bytes at most).
pub const MAX_RELAY_STATE: usize = 400;

/// Whether `relay` can be carried as RelayState.
fn is_relay_state(relay: &str) -> bool {
    relay.len() <= MAX_RELAY_STATE
}

crate::ids::identifier!(
    /// RelayState: opaque to the IdP and given back verbatim, at most [`MAX_RELAY_STATE`] bytes.
    RelayState,
    is_relay_state,
    "a RelayState (at most 400 bytes)"
);

/// A message as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// How it came.
    pub binding: Binding,
    /// `SAMLRequest` or `SAMLResponse`.
    pub kind: &'static str,
    /// The XML.
    pub xml: String,
    /// RelayState, verbatim.
    pub relay_state: Option<RelayState>,
    /// The query signature of a Redirect-binding message, when it carries one.
    pub query_signature: Option<QuerySignature>,
}

/// A Redirect-binding signature exactly as received. Taken from the same parse of the query as
/// the message itself, so what is verified is what is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySignature {
    /// The signed octets: `SAMLRequest=…[&RelayState=…]&SigAlg=…`, still percent-encoded.
    pub signed: String,
    /// `SigAlg`, decoded.
    pub(crate) sig_alg: String,
    /// `Signature`, decoded (base64 text).
    pub(crate) signature: String,
}

/// Why a message could not be read from the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// No SAMLRequest / SAMLResponse.
    #[error("the request carries no SAML message")]
    Missing,
    /// Too large, before or after inflating.
    #[error("the SAML message is too large")]
    TooLarge,
    /// Not base64, not DEFLATE, not UTF-8.
    #[error("the SAML message is not encoded as its binding requires")]
    Encoding,
    /// RelayState too long.
    #[error("RelayState is longer than {MAX_RELAY_STATE} bytes")]
    RelayState,
    /// A protocol parameter is repeated or its name is percent-encoded: two readers could
    /// disagree on which value counts.
    #[error("the SAML parameter {0} is repeated or its name is encoded")]
    Ambiguous(&'static str),
    /// Only one of `SigAlg` and `Signature`.
    #[error("the query signature lacks SigAlg or Signature")]
    IncompleteSignature,
}

/// The parameters the bindings define; each may appear once, under its plain name.
const PROTOCOL_PARAMS: [&str; 5] = [
    "SAMLRequest",
    "SAMLResponse",
    "RelayState",
    "SigAlg",
    "Signature",
];

/// The protocol parameters of a query or form body, raw (still percent-encoded), each at most
/// once. Other parameters are ignored.
#[derive(Debug, Default)]
struct RawParams<'a> {
    values: [Option<&'a str>; 5],
}

impl<'a> RawParams<'a> {
    fn parse(encoded: &'a str) -> Result<Self, BindingError> {
        let mut params = Self::default();
        for part in encoded.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = part.split_once('=').unwrap_or((part, ""));
            let name = crate::http::percent_decode(raw_name, true);
            let Some(i) = PROTOCOL_PARAMS.iter().position(|p| *p == name) else {
                continue;
            };
            let (Some(slot), Some(&canonical)) = (params.values.get_mut(i), PROTOCOL_PARAMS.get(i))
            else {
                continue;
            };
            if raw_name != canonical || slot.is_some() {
                return Err(BindingError::Ambiguous(canonical));
            }
            *slot = Some(raw_value);
        }
        Ok(params)
    }

    fn raw(&self, name: &str) -> Option<&'a str> {
        let i = PROTOCOL_PARAMS.iter().position(|p| *p == name)?;
        self.values.get(i).copied().flatten()
    }

    fn decoded(&self, name: &str) -> Option<String> {
        self.raw(name).map(|v| crate::http::percent_decode(v, true))
    }
}

/// Reads the SAML message (`SAMLRequest` or `SAMLResponse`) of a Redirect (GET) or POST request.
pub fn read<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Incoming, BindingError> {
    match ctx.req.method {
        HttpMethod::Post => read_encoded(Binding::Post, &String::from_utf8_lossy(&ctx.req.body)),
        _ => read_encoded(Binding::Redirect, &ctx.req.query),
    }
}

/// Reads a message from a query string (Redirect) or a form body (POST), as received.
pub fn read_encoded(binding: Binding, encoded: &str) -> Result<Incoming, BindingError> {
    let params = RawParams::parse(encoded)?;
    let (kind, raw_message) = match (params.raw("SAMLRequest"), params.raw("SAMLResponse")) {
        (Some(v), None) => ("SAMLRequest", v),
        (None, Some(v)) => ("SAMLResponse", v),
        _ => return Err(BindingError::Missing),
    };
    if raw_message.len() > MAX_PARAM_LEN {
        return Err(BindingError::TooLarge);
    }
    let value = crate::http::percent_decode(raw_message, true);
    let relay_state = params
        .decoded("RelayState")
        .map(|r| RelayState::parse(&r).ok_or(BindingError::RelayState))
        .transpose()?;
    let query_signature = match (binding, params.raw("SigAlg"), params.raw("Signature")) {
        (Binding::Post, _, _) | (Binding::Redirect, None, None) => None,
        (Binding::Redirect, Some(sig_alg), Some(signature)) => {
            let mut signed = format!("{kind}={raw_message}");
            if let Some(relay) = params.raw("RelayState") {
                signed.push_str("&RelayState=");
                signed.push_str(relay);
            }
            signed.push_str("&SigAlg=");
            signed.push_str(sig_alg);
            Some(QuerySignature {
                signed,
                sig_alg: crate::http::percent_decode(sig_alg, true),
                signature: crate::http::percent_decode(signature, true),
            })
        }
        (Binding::Redirect, _, _) => return Err(BindingError::IncompleteSignature),
    };
    let raw = STANDARD
        .decode(
            value
                .bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .collect::<Vec<_>>(),
        )
        .map_err(|_| BindingError::Encoding)?;
    let xml = match binding {
        Binding::Post => raw,
        Binding::Redirect => {
            miniz_oxide::inflate::decompress_to_vec_with_limit(&raw, MAX_XML_BYTES).map_err(
                |e| match e.status {
                    miniz_oxide::inflate::TINFLStatus::HasMoreOutput => BindingError::TooLarge,
                    _ => BindingError::Encoding,
                },
            )?
        }
    };
    if xml.len() > MAX_XML_BYTES {
        return Err(BindingError::TooLarge);
    }
    let xml = String::from_utf8(xml).map_err(|_| BindingError::Encoding)?;
    Ok(Incoming {
        binding,
        kind,
        xml,
        relay_state,
        query_signature,
    })
}

/// What to send: the message (already signed inside when the POST binding needs it).
pub(crate) struct Outgoing<'a> {
    /// `SAMLRequest` or `SAMLResponse`.
    pub(crate) kind: &'static str,
    /// The message, canonical bytes.
    pub(crate) xml: String,
    /// RelayState to carry back, verbatim.
    pub(crate) relay_state: Option<&'a str>,
    /// Where to.
    pub(crate) url: &'a str,
    /// How.
    pub(crate) binding: Binding,
    /// For the Redirect binding: sign the query with this key.
    pub(crate) query_signer: Option<Signer<'a>>,
}

/// Sends a message: an auto-submitting form (POST) or a 303 redirect (Redirect).
pub(crate) async fn send<P: Platform>(
    ctx: &Ctx<'_, P>,
    out: Outgoing<'_>,
) -> Result<Response, PlatformError> {
    match out.binding {
        Binding::Post => {
            let encoded = STANDARD.encode(out.xml.as_bytes());
            let mut fields = vec![(out.kind, encoded.as_str())];
            if let Some(rs) = out.relay_state {
                fields.push(("RelayState", rs));
            }
            Ok(crate::pages::auto_post(
                ctx.brand(),
                out.url,
                &fields,
                &ctx.nonce,
            ))
        }
        Binding::Redirect => {
            let deflated = miniz_oxide::deflate::compress_to_vec(out.xml.as_bytes(), 6);
            let mut query = format!(
                "{}={}",
                out.kind,
                percent_encode(&STANDARD.encode(deflated))
            );
            if let Some(rs) = out.relay_state {
                query.push_str("&RelayState=");
                query.push_str(&percent_encode(rs));
            }
            if let Some(signer) = &out.query_signer {
                query = dsig::sign_redirect(ctx.platform, signer, &query).await?;
            }
            let sep = if out.url.contains('?') { '&' } else { '?' };
            Ok(Response::empty(303).with_header("location", format!("{}{sep}{query}", out.url)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn deflated(xml: &str) -> String {
        percent_encode(&STANDARD.encode(miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6)))
    }

    #[test]
    fn reads_a_signed_redirect_query_from_one_parse() {
        let m = deflated("<x/>");
        let q =
            format!("SAMLRequest={m}&RelayState=a%2Fb&SigAlg=alg%3A1&Signature=c2ln%2B&other=1");
        let got = read_encoded(Binding::Redirect, &q).unwrap();
        assert_eq!(got.xml, "<x/>");
        assert_eq!(got.relay_state.as_deref(), Some("a/b"));
        let sig = got.query_signature.unwrap();
        assert_eq!(
            sig.signed,
            format!("SAMLRequest={m}&RelayState=a%2Fb&SigAlg=alg%3A1")
        );
        assert_eq!(
            (sig.sig_alg.as_str(), sig.signature.as_str()),
            ("alg:1", "c2ln+")
        );
    }

    #[test]
    fn a_relay_state_over_the_limit_is_refused_at_the_limit_it_is_kept() {
        let m = deflated("<x/>");
        let at_limit = "r".repeat(MAX_RELAY_STATE);
        let got = read_encoded(
            Binding::Redirect,
            &format!("SAMLRequest={m}&RelayState={at_limit}"),
        );
        assert_eq!(got.unwrap().relay_state.as_deref(), Some(at_limit.as_str()));
        // 401 bytes once decoded (the escape counts as one byte).
        let over = format!("SAMLRequest={m}&RelayState=%2F{at_limit}");
        assert!(matches!(
            read_encoded(Binding::Redirect, &over),
            Err(BindingError::RelayState)
        ));
        assert!(RelayState::parse(&at_limit).is_some());
        assert!(serde_json::from_str::<RelayState>(&format!("\"/{at_limit}\"")).is_err());
    }

    #[test]
    fn refuses_repeated_or_encoded_protocol_parameters() {
        let signed = deflated("<signed/>");
        let forged = deflated("<forged/>");
        for q in [
            // The probe: a reader by decoded name and a verifier by raw name would disagree.
            format!("SAML%52equest={forged}&SAMLRequest={signed}&SigAlg=a&Signature=b"),
            format!("SAMLRequest={signed}&SAMLRequest={forged}"),
            format!("SAMLRequest={signed}&RelayState=a&RelayState=b"),
            format!("SAMLRequest={signed}&SigAlg=a&SigAlg=b&Signature=c"),
            format!("SAMLRequest={signed}&SigAlg=a&Signature=c&Signature=d"),
            format!("SAMLRequest={signed}&Sig%41lg=a&Signature=c"),
            format!("SAMLRequest={signed}&SAMLResponse={forged}&SAMLResponse={signed}"),
        ] {
            assert!(
                matches!(
                    read_encoded(Binding::Redirect, &q),
                    Err(BindingError::Ambiguous(_))
                ),
                "{q}"
            );
            assert!(read_encoded(Binding::Post, &q).is_err(), "{q}");
        }
    }

    #[test]
    fn a_half_signature_is_refused_not_ignored() {
        let m = deflated("<x/>");
        for q in [
            format!("SAMLRequest={m}&SigAlg=a"),
            format!("SAMLRequest={m}&Signature=a"),
        ] {
            assert_eq!(
                read_encoded(Binding::Redirect, &q),
                Err(BindingError::IncompleteSignature)
            );
        }
    }

    #[test]
    fn inflate_limits_hold() {
        // A DEFLATE bomb: a few hundred bytes that inflate past the limit.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b'a'; MAX_XML_BYTES + 10], 9);
        assert!(bomb.len() < 2000);
        let r = miniz_oxide::inflate::decompress_to_vec_with_limit(&bomb, MAX_XML_BYTES);
        assert!(r.is_err());
    }
}
