//! The claims a member gives a client: the standard claims of the scopes asked for (OpenID
//! Connect Core §5.4) from the member record, the Profile IQA's columns (aliases become claim
//! names; an alias with a `.` nests, e.g. `address.locality`) under `profile`, and the Role IQA's
//! rows as `roles` under the `roles` scope.

use serde_json::{Map, Value};

use super::client::{Client, SubjectSource};
use crate::access::Profile;
use crate::signin::SessionUser;

/// The scope that asks for a refresh token (OpenID Connect Core §11).
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// Scopes this provider knows; others are ignored (RFC 6749 §3.3 lets the server narrow them).
pub(crate) const SCOPES: [&str; 5] = ["openid", "profile", "email", "roles", OFFLINE_ACCESS];

/// The scopes of a request this provider grants, `openid` first; `None` without `openid`.
/// `offline_access` is granted only to a client that may refresh (`may_refresh`), so a token
/// response's `scope` says whether a refresh token comes with it.
pub fn granted_scopes(requested: &str, may_refresh: bool) -> Option<String> {
    let asked: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return None;
    }
    Some(
        SCOPES
            .iter()
            .filter(|s| asked.contains(s))
            .filter(|s| may_refresh || **s != OFFLINE_ACCESS)
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Whether a space-separated scope list holds `scope`.
pub(crate) fn has_scope(scopes: &str, scope: &str) -> bool {
    scopes.split(' ').any(|s| s == scope)
}

/// The member's `sub` for this client (stable per client): contact key by default, or iMIS ID.
pub(crate) fn subject(client: &Client, user: &SessionUser) -> String {
    match client.subject {
        SubjectSource::ContactKey => user
            .contact_key
            .clone()
            .unwrap_or_else(|| user.imis_id.clone()),
        SubjectSource::ImisId => user.imis_id.clone(),
    }
}

fn insert_path(out: &mut Map<String, Value>, alias: &str, value: Value) {
    let mut parts = alias.split('.').filter(|p| !p.is_empty()).peekable();
    let mut map = out;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        let entry = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(m) => map = m,
            _ => return,
        }
    }
}

/// Claim names that only this provider sets; a profile column may not overwrite them.
const RESERVED: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "sid",
];

/// The userinfo claims (without `sub`) for `scopes`.
pub(crate) fn for_scopes(
    scopes: &str,
    user: &SessionUser,
    profile: &Profile,
) -> Map<String, Value> {
    let mut out = Map::new();
    let text = |v: &Option<String>| v.clone().map(Value::String);
    if has_scope(scopes, "profile") {
        out.insert("name".into(), Value::String(user.display_name()));
        if let Some(v) = text(&user.first_name) {
            out.insert("given_name".into(), v);
        }
        if let Some(v) = text(&user.last_name) {
            out.insert("family_name".into(), v);
        }
        out.insert(
            "preferred_username".into(),
            Value::String(user.username.clone()),
        );
        for (alias, value) in &profile.columns {
            if alias.is_empty() || RESERVED.contains(&alias.as_str()) || value.is_null() {
                continue;
            }
            insert_path(&mut out, alias, value.clone());
        }
    }
    if has_scope(scopes, "email") {
        if let Some(v) = text(&user.email) {
            out.insert("email".into(), v);
        }
    }
    if has_scope(scopes, "roles") {
        out.insert(
            "roles".into(),
            Value::Array(profile.roles.iter().cloned().map(Value::String).collect()),
        );
    }
    out
}
