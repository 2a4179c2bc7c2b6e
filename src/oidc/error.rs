//! OAuth 2.0 / OpenID Connect errors in the specifications' vocabulary, and the one place that
//! turns them into JSON responses (token endpoint, RFC 6749 §5.2) or bearer challenges
//! (userinfo, RFC 6750 §3).

use serde_json::json;

use crate::http::Response;

/// An error code of RFC 6749, RFC 6750 or OpenID Connect Core §3.1.2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`
    AccessDenied,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// `login_required`
    LoginRequired,
    /// `consent_required`
    ConsentRequired,
    /// `request_not_supported`
    RequestNotSupported,
    /// `request_uri_not_supported`
    RequestUriNotSupported,
    /// `invalid_token` (RFC 6750)
    InvalidToken,
}

impl ErrorCode {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
        }
    }
}

/// An error with its human-readable description (never holding a secret or token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub(crate) struct OidcError {
    pub(crate) code: ErrorCode,
    /// `error_description`.
    pub(crate) description: String,
}

impl OidcError {
    /// An error with a description.
    pub(crate) fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// The token endpoint's JSON error response (401 with a challenge for `invalid_client` when
    /// the client tried HTTP Basic authentication).
    pub(crate) fn token_response(&self, basic: bool) -> Response {
        let status = match self.code {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        };
        let resp = Response::json(
            status,
            &json!({"error": self.code.as_str(), "error_description": self.description}),
        )
        .with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache");
        if status == 401 && basic {
            resp.with_header("www-authenticate", "Basic realm=\"token\"")
        } else {
            resp
        }
    }

    /// A bearer-token error response (RFC 6750 §3).
    pub(crate) fn bearer_response(&self) -> Response {
        let status = match self.code {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::ServerError => 500,
            _ => 401,
        };
        let desc = self.description.replace(['"', '\\'], "'");
        Response::json(
            status,
            &json!({"error": self.code.as_str(), "error_description": self.description}),
        )
        .with_header(
            "www-authenticate",
            format!(
                "Bearer error=\"{}\", error_description=\"{desc}\"",
                self.code.as_str()
            ),
        )
        .with_header("cache-control", "no-store")
        .with_header("access-control-allow-origin", "*")
    }
}
