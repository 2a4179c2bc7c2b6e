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
    pub relay_state: Option<String>,
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
}

/// Reads the SAML message (`SAMLRequest` or `SAMLResponse`) of a Redirect (GET) or POST request.
pub fn read<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Incoming, BindingError> {
    let (binding, params) = match ctx.req.method {
        HttpMethod::Post => (Binding::Post, ctx.req.form()),
        _ => (
            Binding::Redirect,
            crate::http::parse_urlencoded(&ctx.req.query),
        ),
    };
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (kind, value) = match (get("SAMLRequest"), get("SAMLResponse")) {
        (Some(v), None) => ("SAMLRequest", v),
        (None, Some(v)) => ("SAMLResponse", v),
        _ => return Err(BindingError::Missing),
    };
    if value.len() > MAX_PARAM_LEN {
        return Err(BindingError::TooLarge);
    }
    let relay_state = get("RelayState").map(str::to_string);
    if relay_state
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RELAY_STATE)
    {
        return Err(BindingError::RelayState);
    }
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
    })
}

/// What to send: the message (already signed inside when the POST binding needs it).
pub struct Outgoing<'a> {
    /// `SAMLRequest` or `SAMLResponse`.
    pub kind: &'static str,
    /// The message, canonical bytes.
    pub xml: String,
    /// RelayState to carry back, verbatim.
    pub relay_state: Option<&'a str>,
    /// Where to.
    pub url: &'a str,
    /// How.
    pub binding: Binding,
    /// For the Redirect binding: sign the query with this key.
    pub query_signer: Option<Signer<'a>>,
}

/// Sends a message: an auto-submitting form (POST) or a 303 redirect (Redirect).
pub async fn send<P: Platform>(
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

    #[test]
    fn inflate_limits_hold() {
        // A DEFLATE bomb: a few hundred bytes that inflate past the limit.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b'a'; MAX_XML_BYTES + 10], 9);
        assert!(bomb.len() < 2000);
        let r = miniz_oxide::inflate::decompress_to_vec_with_limit(&bomb, MAX_XML_BYTES);
        assert!(r.is_err());
    }
}
