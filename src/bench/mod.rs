//! In-runtime CPU per operation (built only with the `bench` feature, never deployed).
//!
//! `GET /__bench/cpu?op=OP&n=N` runs, inside one request, one warm-up and then N complete
//! operations through [`Idp::handle`] against in-memory stores and canned iMIS answers, with the
//! runtime's own signer, clock and randomness. A runtime that freezes its clock while code runs
//! (workerd) cannot time itself, so the caller times the request from outside: the cost of one
//! operation is (time(N) − time(0)) / N, everything else in the request being the same for both.
//! Each operation starts from the same stored state, so a single-use value (an AuthnRequest ID,
//! an authorization code, a bridge token) is accepted every time, and its answer is checked.
//!
//! The operations (`op`): `saml` (a Redirect-binding AuthnRequest signed by the SP, verified,
//! answered with a signed Response for a signed-in member whose IQA answers the IdP remembers),
//! `saml-iqa` (the same, with the Profile and Role IQA asked of iMIS), `saml-two` (Response and
//! Assertion signed), `oidc-rs256` and `oidc-es256` (authorization code to id_token and access token),
//! `bridge` (a one-time token redeemed at the user service), `discovery`, `jwks`, and one bare
//! signature through the platform, `rsa` (RSA-2048) or `ecdsa` (P-256), and `rsa-verify` (a
//! detached RSA-2048 signature checked through the platform, as in the Redirect binding); and,
//! whatever the runtime's signer, `rsa-wasm` (an RSA-2048 signature by our wasm signer).

mod fixtures;
mod member;
mod platform;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use crate::access::remembered::ANSWERS_COOKIE;
use crate::crypto::{self, KeyRef, SignAlg, SoftKey};
use crate::http::{encode_form, parse_urlencoded, percent_encode, Request, Response};
use crate::platform::Platform;
use crate::Idp;
use fixtures::{CLIENT_SECRET, HOST, RP_REDIRECT, SP_ENTITY_ID, VENDOR_SECRET};
use member::Member;
use platform::{MemPlatform, Stored};

/// The path of the measurement route.
pub const PATH: &str = "/__bench/cpu";
/// What the bare signatures sign.
const MESSAGE: &[u8] = b"an in-runtime measurement of one signature";
/// Operations per request at most.
const MAX_N: u32 = 20_000;

#[derive(Debug, Clone, Copy)]
enum Op {
    Saml,
    SamlAskingIqa,
    SamlTwoSignatures,
    CodeRs256,
    CodeEs256,
    Bridge,
    Discovery,
    Jwks,
    Rsa,
    Ecdsa,
    RsaInWasm,
    RsaVerify,
}

impl Op {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "saml" => Self::Saml,
            "saml-iqa" => Self::SamlAskingIqa,
            "saml-two" => Self::SamlTwoSignatures,
            "oidc-rs256" => Self::CodeRs256,
            "oidc-es256" => Self::CodeEs256,
            "bridge" => Self::Bridge,
            "discovery" => Self::Discovery,
            "jwks" => Self::Jwks,
            "rsa" => Self::Rsa,
            "ecdsa" => Self::Ecdsa,
            "rsa-wasm" => Self::RsaInWasm,
            "rsa-verify" => Self::RsaVerify,
            _ => return None,
        })
    }
}

/// Answers the measurement route.
pub async fn serve(req: &Request, runtime: &impl Platform) -> Response {
    let query = parse_urlencoded(&req.query);
    let field = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(op) = field("op").and_then(Op::parse) else {
        return Response::json(400, &json!({"error": "unknown or missing op"}));
    };
    let Some(n) = field("n")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n <= MAX_N)
    else {
        return Response::json(400, &json!({"error": format!("n must be 0..={MAX_N}")}));
    };
    match measure(op, n, runtime).await {
        Ok(answer) => Response::json(200, &answer),
        Err(e) => Response::json(500, &json!({"error": e})),
    }
}

async fn measure(op: Op, n: u32, runtime: &impl Platform) -> Result<serde_json::Value, String> {
    let p = MemPlatform::new(runtime, fixtures::store()?);
    let idp = Idp::new();
    let work = prepare(op, &idp, &p).await?;
    // The warm-up: parsed keys and configuration cached, as in a serving isolate.
    work.run(&idp, &p)
        .await
        .map_err(|e| format!("{op:?}: the warm-up operation failed: {e}"))?;
    p.reset_counts();
    let mut ok = 0u32;
    for _ in 0..n {
        if work.run(&idp, &p).await.is_ok() {
            ok += 1;
        }
    }
    let per_op = |count: u32| {
        if n == 0 {
            0.0
        } else {
            f64::from(count) / f64::from(n)
        }
    };
    Ok(json!({
        "op": format!("{op:?}"), "n": n, "ok": ok,
        "imis_calls_per_op": per_op(p.fetches.get()),
        "signatures_per_op": per_op(p.signatures.get()),
    }))
}

/// A request to send again and again, from the same stored state, and the check of its answer.
struct Repeat {
    req: Request,
    start: Stored,
    expect: fn(&Response) -> bool,
}

/// One operation, ready to repeat: a request to the IdP and the stored state it starts from, or
/// a bare signature (or its check).
enum Work {
    Request(Box<Repeat>),
    Sign {
        alg: SignAlg,
        pkcs8: Vec<u8>,
    },
    /// An RSA-2048 signature by our wasm signer, whatever the runtime's own signer is.
    SignInWasm(Box<SoftKey>),
    /// A detached RSA-2048 SHA-256 signature checked, as the Redirect binding's.
    Verify {
        spki: Vec<u8>,
        signature: Vec<u8>,
    },
}

impl Work {
    async fn run<P: Platform>(&self, idp: &Idp, p: &MemPlatform<'_, P>) -> Result<(), String> {
        match self {
            Self::Request(repeat) => {
                p.restore(&repeat.start);
                let resp = idp.handle(repeat.req.clone(), p).await;
                if (repeat.expect)(&resp) {
                    return Ok(());
                }
                let body = String::from_utf8_lossy(&resp.body);
                Err(format!(
                    "{} {}",
                    resp.status,
                    body.chars().take(300).collect::<String>()
                ))
            }
            Self::Sign { alg, pkcs8 } => {
                // The id names the key material: a runtime caches the imported key under it.
                let key = KeyRef {
                    id: match alg {
                        SignAlg::Rs256 => "bench:rsa",
                        SignAlg::Es256 => "bench:ecdsa",
                    },
                    alg: *alg,
                    pkcs8_der: pkcs8,
                };
                match p.sign(&key, MESSAGE).await {
                    Ok(sig) if !sig.is_empty() => Ok(()),
                    Ok(_) => Err("an empty signature".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
            Self::SignInWasm(key) => key.sign(MESSAGE).map(|_| ()).map_err(|e| e.to_string()),
            Self::Verify { spki, signature } => {
                // Parsed per check, as a Redirect-binding message's SP key is.
                let key = crypto::RsaPublicKeyRef::parse(spki).ok_or("not an RSA key")?;
                p.rsa_verify(&key, crypto::RsaHash::Sha256, MESSAGE, signature)
                    .await
                    .then_some(())
                    .ok_or_else(|| "the signature does not verify".into())
            }
        }
    }
}

async fn prepare<P: Platform>(op: Op, idp: &Idp, p: &MemPlatform<'_, P>) -> Result<Work, String> {
    let mut member = Member::default();
    let req = match op {
        Op::Rsa | Op::RsaInWasm | Op::RsaVerify | Op::Ecdsa => return bare_work(op),
        Op::Saml | Op::SamlAskingIqa | Op::SamlTwoSignatures => {
            saml_request(op, &mut member, idp, p).await?
        }
        Op::CodeRs256 | Op::CodeEs256 => token_request(op, &mut member, idp, p).await?,
        Op::Bridge => bridge_request(&mut member, idp, p).await?,
        Op::Discovery => member.get("/.well-known/openid-configuration"),
        Op::Jwks => member.get("/.well-known/jwks.json"),
    };
    Ok(Work::Request(Box::new(Repeat {
        req,
        start: p.snapshot(),
        expect: match op {
            Op::Saml | Op::SamlAskingIqa | Op::SamlTwoSignatures => {
                |r| r.status == 200 && contains(r, "SAMLResponse")
            }
            Op::CodeRs256 | Op::CodeEs256 => |r| r.status == 200 && contains(r, "\"id_token\""),
            Op::Bridge => |r| r.status == 200 && contains(r, "\"imis_id\""),
            _ => |r| r.status == 200,
        },
    })))
}

/// The work of the operations that are one signature or one check, with no request around it.
fn bare_work(op: Op) -> Result<Work, String> {
    Ok(match op {
        Op::Rsa => Work::Sign {
            alg: SignAlg::Rs256,
            pkcs8: fixtures::RSA_PK8.to_vec(),
        },
        Op::RsaInWasm => Work::SignInWasm(Box::new(
            SoftKey::parse(SignAlg::Rs256, fixtures::RSA_PK8).map_err(|e| e.to_string())?,
        )),
        Op::RsaVerify => Work::Verify {
            spki: fixtures::RSA_SPKI.to_vec(),
            signature: fixtures::rsa_signature(fixtures::RSA_PK8, MESSAGE)?,
        },
        Op::Ecdsa => Work::Sign {
            alg: SignAlg::Es256,
            pkcs8: fixtures::ec_key()?.pkcs8,
        },
        _ => return Err(format!("{op:?} is not a bare operation")),
    })
}

/// A signed-in member's Redirect-binding AuthnRequest, signed by the SP; for `saml-iqa` the
/// member's remembered IQA answers are dropped so that iMIS is asked.
async fn saml_request<P: Platform>(
    op: Op,
    member: &mut Member,
    idp: &Idp,
    p: &MemPlatform<'_, P>,
) -> Result<Request, String> {
    let app = if matches!(op, Op::SamlTwoSignatures) {
        "two-sig"
    } else {
        "one-sig"
    };
    member
        .sign_in(idp, p, &format!("/saml/{app}/login"))
        .await?;
    if matches!(op, Op::SamlAskingIqa) {
        member.cookies.retain(|(k, _)| k != ANSWERS_COOKIE);
    }
    Ok(member.get(&format!(
        "/saml/{app}/sso?{}",
        signed_authn_request(app, p.now().secs())?
    )))
}

/// The token request for a code just issued to the RS256 or the ES256 client.
async fn token_request<P: Platform>(
    op: Op,
    member: &mut Member,
    idp: &Idp,
    p: &MemPlatform<'_, P>,
) -> Result<Request, String> {
    let client = if matches!(op, Op::CodeRs256) {
        "rp"
    } else {
        "es"
    };
    let authorize = format!(
        "/oidc/authorize?{}",
        encode_form(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", RP_REDIRECT),
            ("scope", "openid profile email"),
            ("state", "s"),
            ("nonce", "n"),
        ])
    );
    let code = member.sign_in(idp, p, &authorize).await?;
    let code = query_value(&code, "code").ok_or("the authorization gave no code")?;
    let mut req = member.post(
        "/oidc/token",
        &encode_form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP_REDIRECT),
        ]),
    );
    let basic = STANDARD.encode(format!("{client}:{CLIENT_SECRET}"));
    req.headers
        .push(("authorization".into(), format!("Basic {basic}")));
    Ok(req)
}

/// The vendor's redemption of a bridge token just issued to the member.
async fn bridge_request<P: Platform>(
    member: &mut Member,
    idp: &Idp,
    p: &MemPlatform<'_, P>,
) -> Result<Request, String> {
    let to = member
        .sign_in(idp, p, "/bridge/vendor/signin?delivery=query")
        .await?;
    let token = query_value(&to, "token").ok_or("the bridge sign-in gave no token")?;
    let mut req = member.get(&format!("/bridge/vendor/user?token={token}"));
    req.headers
        .push(("authorization".into(), format!("Bearer {VENDOR_SECRET}")));
    Ok(req)
}

fn contains(r: &Response, needle: &str) -> bool {
    r.body.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The value of `name` in the query of a URL.
fn query_value(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    let query = query.split('#').next().unwrap_or(query);
    parse_urlencoded(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// An AuthnRequest of the test SP to `app`, deflated and signed for the Redirect binding.
fn signed_authn_request(app: &str, now_secs: u64) -> Result<String, String> {
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_bench-request\" Version=\"2.0\" \
IssueInstant=\"{}\" Destination=\"https://{HOST}/saml/{app}/sso\">\
<saml:Issuer>{SP_ENTITY_ID}</saml:Issuer><samlp:NameIDPolicy AllowCreate=\"true\"/></samlp:AuthnRequest>",
        crate::saml::time::format(now_secs)
    );
    let deflated = miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6);
    let signed = format!(
        "SAMLRequest={}&SigAlg={}",
        percent_encode(&STANDARD.encode(deflated)),
        percent_encode(crate::saml::dsig::RSA_SHA256)
    );
    let sp_key = STANDARD
        .decode(fixtures::SP_PK8.trim())
        .map_err(|e| e.to_string())?;
    let signature = fixtures::rsa_signature(&sp_key, signed.as_bytes())?;
    Ok(format!(
        "{signed}&Signature={}",
        percent_encode(&STANDARD.encode(signature))
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::platform::HttpMethod;
    use crate::testing::{block_on, FakePlatform};

    fn run(query: &str) -> (u16, serde_json::Value) {
        let runtime = FakePlatform::default();
        let req = Request::new(
            HttpMethod::Get,
            "bench.localhost",
            &format!("{PATH}?{query}"),
        );
        let resp = block_on(serve(&req, &runtime));
        (resp.status, serde_json::from_slice(&resp.body).unwrap())
    }

    #[test]
    fn every_operation_succeeds_every_time_with_the_calls_it_needs() {
        // (op, signatures, iMIS calls) per operation.
        let expected = [
            ("saml", 1.0, 0.0),
            ("saml-iqa", 1.0, 2.0),
            ("saml-two", 2.0, 0.0),
            ("oidc-rs256", 2.0, 0.0),
            ("oidc-es256", 2.0, 0.0),
            ("bridge", 0.0, 1.0),
            ("discovery", 0.0, 0.0),
            ("jwks", 0.0, 0.0),
            ("rsa", 1.0, 0.0),
            ("ecdsa", 1.0, 0.0),
            ("rsa-wasm", 0.0, 0.0),
            ("rsa-verify", 0.0, 0.0),
        ];
        for (op, signatures, calls) in expected {
            let (status, answer) = run(&format!("op={op}&n=3"));
            assert_eq!(status, 200, "{op}: {answer}");
            assert_eq!(answer["ok"], 3, "{op}: {answer}");
            assert_eq!(answer["signatures_per_op"], signatures, "{op}: {answer}");
            assert_eq!(answer["imis_calls_per_op"], calls, "{op}: {answer}");
        }
        let (status, answer) = run("op=saml&n=0");
        assert_eq!(
            (status, &answer["ok"]),
            (200, &json!(0)),
            "n=0 still sets up and warms up"
        );
    }

    #[test]
    fn a_bad_query_is_refused() {
        for query in [
            "op=nope&n=1",
            "n=1",
            "op=rsa",
            "op=rsa&n=-1",
            "op=rsa&n=20001",
        ] {
            assert_eq!(run(query).0, 400, "{query}");
        }
    }
}
