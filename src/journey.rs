//! The one module that names every protocol. Sign-in and the protocols decide a [`Reply`]; when
//! the decision is "signed in" or "signed out", what follows depends on which protocols take
//! part, and it happens here:
//!
//! - after sign-in, the request that waited (a SAML AuthnRequest, an OIDC authorization request,
//!   a token-bridge sign-in, or a plain `/signin`) is resumed for the new session;
//! - after sign-out, OIDC clients with a back-channel logout URI are told server to server at
//!   once, then every participant of the ended session is visited in turn (SAML Single Logout on
//!   the front channel, OIDC and bridge front-channel logout frames), and the browser goes where
//!   the handler decided.

use serde::Deserialize;

use crate::http::{is_local_path, Response};
use crate::ids::ClientId;
use crate::platform::Platform;
use crate::signin::logout::{self, LogoutState, CONTINUE_PATH};
use crate::signin::pending::DirectReturn;
use crate::signin::{Continuation, Participant, Reply, Session, SignedIn, SignedOut};
use crate::{bridge, oidc, saml, Ctx};

/// A waiting request, decoded from the continuation its protocol stored. Each variant's tag is
/// its type's [`crate::signin::Resumable::KIND`] (a test holds them together).
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Resume {
    Direct(DirectReturn),
    Saml(saml::PendingSso),
    Oidc(oidc::PendingAuthorize),
    Bridge(bridge::PendingSignin),
}

/// The response for a handler's decision.
pub(crate) async fn render<P: Platform>(ctx: &Ctx<'_, P>, reply: Reply) -> Response {
    match reply {
        Reply::Respond(resp) => resp,
        Reply::SignedIn(signed_in) => finish_sign_in(ctx, *signed_in).await,
        Reply::SignedOut(signed_out) => start_logout(ctx, *signed_out).await,
    }
}

/// Resumes the waiting request (which may add its protocol to the session's participants), then
/// stores the session.
async fn finish_sign_in<P: Platform>(ctx: &Ctx<'_, P>, mut signed_in: SignedIn) -> Response {
    let resp = match signed_in.continuation.take() {
        Some(continuation) => resume(ctx, continuation, &mut signed_in.session).await,
        None => Response::redirect("/"),
    };
    signed_in.finish(ctx, resp)
}

async fn resume<P: Platform>(
    ctx: &Ctx<'_, P>,
    continuation: Continuation,
    session: &mut Session,
) -> Response {
    // The cookie is sealed, so a continuation that does not decode was written by an older
    // release: going home is the honest answer.
    match serde_json::from_value::<Resume>(continuation.into_value()) {
        Ok(Resume::Direct(DirectReturn { return_to })) if is_local_path(&return_to) => {
            Response::redirect(&return_to)
        }
        Ok(Resume::Saml(p)) => saml::resume(ctx, p, session).await,
        Ok(Resume::Oidc(p)) => oidc::resume(ctx, p, session).await,
        Ok(Resume::Bridge(p)) => bridge::resume(ctx, p, session).await,
        Ok(Resume::Direct(_)) | Err(_) => Response::redirect("/"),
    }
}

async fn start_logout<P: Platform>(ctx: &Ctx<'_, P>, signed_out: SignedOut) -> Response {
    let SignedOut { ended, done } = signed_out;
    // The back channel first and at once: it needs no browser, so it cannot be cut short.
    let oidc_clients: Vec<ClientId> = ended
        .participants
        .iter()
        .filter_map(|p| match p {
            Participant::Oidc { client } => Some(client.clone()),
            _ => None,
        })
        .collect();
    oidc::backchannel::notify(ctx, &ended.sid, &oidc_clients).await;
    let state = LogoutState {
        sid: ended.sid,
        remaining: ended.participants,
        frames: Vec::new(),
        done,
    };
    step(ctx, state)
        .await
        .with_header("set-cookie", ended.clear_cookie)
}

/// `GET /signout/continue`: the next participant, or the end.
pub(crate) async fn continue_logout<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    match logout::load(ctx) {
        Some(state) => step(ctx, state).await,
        None => Response::redirect("/signed-out"),
    }
}

/// Visits participants until one needs the browser (a SAML LogoutRequest), collecting the
/// front-channel frames of the others; the last page loads the frames and goes on to `done`.
async fn step<P: Platform>(ctx: &Ctx<'_, P>, mut state: LogoutState) -> Response {
    while !state.remaining.is_empty() {
        let participant = state.remaining.remove(0);
        match &participant {
            Participant::Saml { .. } => {
                if let Some(resp) = saml::logout_step(ctx, &participant, CONTINUE_PATH).await {
                    return match logout::save(ctx, &state) {
                        Some(c) => resp.with_header("set-cookie", c),
                        None => resp,
                    };
                }
            }
            Participant::Oidc { client } => {
                if let Some(uri) = oidc::frontchannel_logout_uri(ctx, client, &state.sid).await {
                    state.frames.push(uri);
                }
            }
            Participant::Bridge { app } => {
                if let Some(uri) = bridge::frontchannel_logout_uri(ctx, app).await {
                    state.frames.push(uri);
                }
            }
        }
    }
    logout::finish(ctx, &state)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::Resume;
    use crate::signin::pending::DirectReturn;
    use crate::signin::{Continuation, Resumable};

    /// A continuation decodes as the variant of its own type: the protocols' `KIND` tags and the
    /// variant names here cannot drift apart unnoticed.
    #[test]
    fn every_kind_decodes_to_its_own_variant() {
        fn decode<T: Resumable>(request: &T) -> Option<Resume> {
            let continuation = Continuation::of(request)?;
            serde_json::from_value(continuation.into_value()).ok()
        }
        let direct = DirectReturn {
            return_to: "/x".into(),
        };
        assert!(matches!(decode(&direct), Some(Resume::Direct(d)) if d == direct));
        let saml: crate::saml::PendingSso =
            serde_json::from_value(json!({"app": "lms", "request_id": "_r1", "acs": 1})).unwrap();
        assert!(matches!(decode(&saml), Some(Resume::Saml(p)) if p == saml));
        let oidc: crate::oidc::PendingAuthorize = serde_json::from_value(json!({
            "client_id": "c", "redirect_uri": "https://rp.example/cb", "scope": "openid",
            "state": "s", "prompt_consent": true
        }))
        .unwrap();
        assert!(matches!(decode(&oidc), Some(Resume::Oidc(p)) if p == oidc));
        let bridge: crate::bridge::PendingSignin =
            serde_json::from_value(json!({"app": "events", "delivery": "query"})).unwrap();
        assert!(matches!(decode(&bridge), Some(Resume::Bridge(p)) if p == bridge));
    }
}
