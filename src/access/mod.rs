//! What a client app receives about a member, and whether the member may use it (the Profile IQA, Role IQA and No Access Mapping of an iMIS client app):
//! the Profile IQA (one parameter, the username; exactly one row; its columns become attributes or
//! claims), the Role IQA (one column; zero or more rows of role names), both run concurrently, and
//! the No Access Mapping applied to the profile's `AccessRestrictionCode` column. SAML apps, OIDC
//! clients and bridge apps all use this one implementation.

pub(crate) mod remembered;

use futures_util::future::join;
use serde_json::Value;

use crate::audit::Outcome;
use crate::http::Response;
use crate::imis::{wire, ImisError, Row};
use crate::platform::Platform;
use crate::Ctx;
pub(crate) use remembered::{Remembered, SessionRef};

/// The column the No Access Mapping looks at.
const ACCESS_COLUMN: &str = "AccessRestrictionCode";

/// The IQA settings of one client app.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AccessSettings<'a> {
    /// Profile IQA path.
    pub(crate) profile_iqa: Option<&'a str>,
    /// Role IQA path.
    pub(crate) role_iqa: Option<&'a str>,
    /// No Access Mapping text (one rule per line).
    pub(crate) no_access_mapping: Option<&'a str>,
}

/// The member's profile row and roles.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Profile {
    /// Columns of the profile row, in order (empty without a Profile IQA).
    pub(crate) columns: Row,
    /// Roles (empty without a Role IQA).
    pub(crate) roles: Vec<String>,
}

/// The decision for one member and app.
#[derive(Debug, Clone, PartialEq)]
enum Access {
    /// The member may use the app.
    Granted(Profile),
    /// Show the built-in No Access page.
    NoAccessPage,
    /// Send the member to this https URL.
    Redirect(String),
}

/// The member asking for an app: what the audit lines and the No Access page name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asking<'a> {
    /// Audit event (`saml.no_access`, `oidc.no_access`, `bridge.no_access`).
    pub(crate) event: &'static str,
    /// App or client id.
    pub(crate) app_id: &'a str,
    /// App name shown on the No Access page.
    pub(crate) app_name: &'a str,
    /// The member's username.
    pub(crate) user: &'a str,
}

/// What one member gets from one app, decided in one place for every protocol, which renders it
/// its own way.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Send the app this profile.
    Granted(Profile),
    /// The No Access Mapping turned the member away: this answer (audited).
    TurnedAway(Response),
    /// iMIS could not say (audited): the protocol's "try again later".
    Unavailable,
}

/// Runs the app's IQAs for `asking.user` (reusing the answers remembered with `session` while
/// they are fresh, or while iMIS is down) and applies its No Access Mapping.
pub(crate) async fn check<P: Platform>(
    ctx: &Ctx<'_, P>,
    settings: AccessSettings<'_>,
    asking: Asking<'_>,
    session: Option<SessionRef<'_>>,
) -> Decision {
    let mut remembered = match session {
        Some(session) => Remembered::load(ctx, session),
        None => Remembered::none(),
    };
    let result = evaluate(ctx, asking.user, settings, &mut remembered).await;
    remembered.save(ctx);
    match result {
        Ok(access) => match admit(ctx, access, asking) {
            Ok(profile) => Decision::Granted(profile),
            Err(answer) => Decision::TurnedAway(answer),
        },
        Err(e) => {
            ctx.audit(
                e.audit_event(),
                Outcome::Failure,
                Some(asking.app_id),
                Some(e.to_string()),
            );
            Decision::Unavailable
        }
    }
}

/// The member's profile when access is granted; otherwise the answer to a member the No Access
/// Mapping turns away — the tenant's No Access page, or the mapped redirect — audited.
fn admit<P: Platform>(
    ctx: &Ctx<'_, P>,
    access: Access,
    who: Asking<'_>,
) -> Result<Profile, Response> {
    let (detail, response) = match access {
        Access::Granted(profile) => return Ok(profile),
        Access::NoAccessPage => (
            format!("user {}", who.user),
            crate::pages::no_access(
                ctx.brand(),
                ctx.tenant.pages.no_access_title.as_deref(),
                ctx.tenant.pages.no_access_message.as_deref(),
                Some(who.app_name),
                &ctx.nonce,
            ),
        ),
        Access::Redirect(url) => (
            format!("user {}, redirected", who.user),
            Response::redirect(&url),
        ),
    };
    ctx.audit(who.event, Outcome::Refused, Some(who.app_id), Some(detail));
    Err(response)
}

/// One line of a No Access Mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAccessRule {
    /// The `AccessRestrictionCode` value it matches (exactly).
    code: String,
    /// Where to send the member; `None` shows the No Access page.
    redirect: Option<String>,
}

/// Why a No Access Mapping cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// More than one `|` on a line.
    #[error("line {0}: more than one '|' (URL-encode it in the destination)")]
    TooManyPipes(usize),
    /// The destination is not https.
    #[error("line {0}: the destination must be a fully-qualified https:// URL")]
    NotHttps(usize),
    /// Empty code before a pipe.
    #[error("line {0}: the code before '|' is empty")]
    EmptyCode(usize),
    /// Rules, but no Profile IQA to read the member's code from: everyone would pass.
    #[error("a No Access Mapping needs a Profile IQA with an AccessRestrictionCode column")]
    NoProfileIqa,
}

impl AccessSettings<'_> {
    /// Checks the settings as a whole, at validation time: the mapping parses, and a mapping
    /// with rules has a Profile IQA to apply them to.
    pub(crate) fn check(&self) -> Result<(), MappingError> {
        let rules = self.no_access_mapping.map(parse_mapping).transpose()?;
        let has_rules = rules.is_some_and(|r| !r.is_empty());
        if has_rules && self.profile_iqa.is_none_or(str::is_empty) {
            return Err(MappingError::NoProfileIqa);
        }
        Ok(())
    }
}

/// Parses a No Access Mapping: lines `CODE` or `CODE|https://…`; blank lines are ignored.
pub fn parse_mapping(text: &str) -> Result<Vec<NoAccessRule>, MappingError> {
    let mut rules = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').collect();
        match parts.as_slice() {
            [code] => rules.push(NoAccessRule {
                code: code.trim().to_string(),
                redirect: None,
            }),
            [code, url] => {
                let (code, url) = (code.trim(), url.trim());
                if code.is_empty() {
                    return Err(MappingError::EmptyCode(n));
                }
                let valid = url.strip_prefix("https://").is_some_and(|rest| {
                    !rest.is_empty()
                        && !rest.starts_with('/')
                        && !url
                            .bytes()
                            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
                });
                if !valid {
                    return Err(MappingError::NotHttps(n));
                }
                rules.push(NoAccessRule {
                    code: code.to_string(),
                    redirect: Some(url.to_string()),
                });
            }
            _ => return Err(MappingError::TooManyPipes(n)),
        }
    }
    Ok(rules)
}

/// The decision for a profile row under a mapping. Fails closed: a mapping that does not parse,
/// or rules with no `AccessRestrictionCode` column in the profile to apply them to, refuse
/// everyone. A column that is present but empty is a member without a code.
fn decide(rules: Result<Vec<NoAccessRule>, MappingError>, profile: Profile) -> Access {
    let Ok(rules) = rules else {
        return Access::NoAccessPage;
    };
    let column = profile
        .columns
        .iter()
        .find(|(name, _)| name == ACCESS_COLUMN);
    if column.is_none() && !rules.is_empty() {
        return Access::NoAccessPage;
    }
    let code = column.and_then(|(_, v)| wire::as_text(v));
    match code.and_then(|c| rules.iter().find(|r| r.code == c)) {
        Some(NoAccessRule {
            redirect: Some(url),
            ..
        }) => Access::Redirect(url.clone()),
        Some(NoAccessRule { redirect: None, .. }) => Access::NoAccessPage,
        None => Access::Granted(profile),
    }
}

/// Runs the app's IQAs for `username` (concurrently; those `remembered` has fresh are not asked
/// again) and applies its No Access Mapping. When iMIS is down or slow, the last remembered
/// answers stand in (audited); without them the failure is returned.
async fn evaluate<P: Platform>(
    ctx: &Ctx<'_, P>,
    username: &str,
    settings: AccessSettings<'_>,
    remembered: &mut Remembered,
) -> Result<Access, ImisError> {
    let now = ctx.platform.now().secs();
    let fresh_for = ctx.tenant.imis.profile_cache_secs();
    let profile_iqa = settings.profile_iqa.filter(|q| !q.is_empty());
    let role_iqa = settings.role_iqa.filter(|q| !q.is_empty());
    let known = |q: Option<&str>| q.and_then(|q| remembered.fresh(q, username, now, fresh_for));
    let (known_profile, known_roles) = (known(profile_iqa), known(role_iqa));
    let ask_profile = profile_iqa.filter(|_| known_profile.is_none());
    let ask_roles = role_iqa.filter(|_| known_roles.is_none());
    let (profile, roles) = match ask(ctx, username, ask_profile, ask_roles).await {
        Ok((profile, roles)) => {
            for (iqa, rows) in [(ask_profile, &profile), (ask_roles, &roles)] {
                if let (Some(iqa), Some(rows)) = (iqa, rows) {
                    remembered.put(iqa, username, rows.clone(), now);
                }
            }
            (known_profile.or(profile), known_roles.or(roles))
        }
        Err(e) if e.is_outage() => {
            let last = |q: Option<&str>| -> Result<Option<Vec<Row>>, ImisError> {
                match q {
                    Some(q) => match remembered.last(q, username, now) {
                        Some((rows, _)) => Ok(Some(rows)),
                        None => Err(e.clone()),
                    },
                    None => Ok(None),
                }
            };
            let (profile, roles) = (last(ask_profile)?, last(ask_roles)?);
            ctx.audit(
                "imis.remembered_answer_used",
                Outcome::Failure,
                None,
                Some(format!("{e} (user {username})")),
            );
            (known_profile.or(profile), known_roles.or(roles))
        }
        Err(e) => return Err(e),
    };
    let columns = profile.map(profile_row).transpose()?.unwrap_or_default();
    let roles = roles.map(roles_of).transpose()?.unwrap_or_default();
    let mapping = settings
        .no_access_mapping
        .map(parse_mapping)
        .unwrap_or(Ok(Vec::new()));
    Ok(decide(mapping, Profile { columns, roles }))
}

/// The rows of the IQAs given (concurrently); `None` for those not asked.
async fn ask<P: Platform>(
    ctx: &Ctx<'_, P>,
    username: &str,
    profile_iqa: Option<&str>,
    role_iqa: Option<&str>,
) -> Result<(Option<Vec<Row>>, Option<Vec<Row>>), ImisError> {
    if profile_iqa.is_none() && role_iqa.is_none() {
        return Ok((None, None));
    }
    let imis = ctx.imis();
    let cache = ctx.imis_tokens();
    // Fetch the background token first, so the two queries don't both fetch it.
    imis.background_token(cache).await?;
    let run = |q: Option<&str>| {
        let imis = &imis;
        let q = q.map(str::to_string);
        async move {
            match q {
                Some(q) => imis.iqa(cache, &q, &[username]).await.map(Some),
                None => Ok(None),
            }
        }
    };
    let (profile, roles) = join(run(profile_iqa), run(role_iqa)).await;
    Ok((profile?, roles?))
}

/// The member's row of a Profile IQA, which must return exactly one row of at least one column.
fn profile_row(rows: Vec<Row>) -> Result<Row, ImisError> {
    let count = rows.len();
    match rows.into_iter().next() {
        Some(row) if count == 1 && !row.is_empty() => Ok(row),
        Some(_) if count == 1 => Err(ImisError::QueryShape(
            "the Profile IQA returned a row without columns (it must return at least one)".into(),
        )),
        _ => Err(ImisError::QueryShape(format!(
            "the Profile IQA returned {count} rows for the member (it must return exactly one)"
        ))),
    }
}

/// The roles of a Role IQA: zero or more rows of exactly one column, each a role. Empty values
/// are not roles; a row of another shape means the query is set up wrong, and nothing is sent.
fn roles_of(rows: Vec<Row>) -> Result<Vec<String>, ImisError> {
    let mut roles = Vec::with_capacity(rows.len());
    for row in rows {
        let [(_, value)] = row.as_slice() else {
            let names: Vec<&str> = row.iter().map(|(name, _)| name.as_str()).collect();
            return Err(ImisError::QueryShape(format!(
                "the Role IQA returned {} columns ({}); it must return exactly one, the role",
                names.len(),
                names.join(", ")
            )));
        };
        if let Some(role) = wire::as_text(value).filter(|r| !r.is_empty()) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// A profile value as text for an attribute (`null` → `None`).
pub fn value_text(v: &Value) -> Option<String> {
    wire::as_text(v)
}

#[cfg(test)]
mod tests;
