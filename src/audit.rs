//! The audit trail: one structured JSON line per security-relevant event.
//!
//! Events name the tenant, the event, the app, the outcome and the request id. They never carry a
//! secret, token, password or assertion: the type only has room for short identifiers and a reason.

use serde::Serialize;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action succeeded.
    Success,
    /// The action was refused (bad input, policy).
    Refused,
    /// The action failed because something we depend on failed.
    Failure,
}

/// One audit event.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// Always `"audit"`, so log processors can pick these lines out.
    pub kind: &'static str,
    /// Event name, e.g. `tenant.config_invalid`, `signin.success`, `imis.unavailable`.
    pub event: &'static str,
    /// Outcome.
    pub outcome: Outcome,
    /// Tenant id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Client app (SAML app, OIDC client or bridge app id), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The signed-in or signing-in user's iMIS username, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Request id (also sent back as `x-request-id`).
    pub request_id: String,
    /// Short, non-secret explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Event time, milliseconds since the epoch.
    pub ts: u64,
}

impl AuditEvent {
    /// Renders the event as one JSON line.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"kind\":\"audit\"}"))
    }
}
