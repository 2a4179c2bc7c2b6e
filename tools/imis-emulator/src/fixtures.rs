//! Fixture file: parsing, `${NAME}` substitution, validation, and the compiled model.
//! The format is documented in README.md.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------
// File format (serde)
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFx {
    #[serde(default, rename = "description")]
    _description: Option<String>,
    sites: Vec<SiteFx>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFx {
    name: String,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default = "default_style")]
    style: String,
    web_prefix: String,
    api_prefix: String,
    #[serde(default = "default_access_lifetime")]
    access_token_lifetime_seconds: u64,
    #[serde(default = "default_lockout")]
    lockout_threshold: u32,
    #[serde(default)]
    background_account: Option<String>,
    #[serde(default)]
    client_apps: Vec<ClientAppFx>,
    #[serde(default)]
    users: Vec<UserFx>,
    #[serde(default)]
    queries: Vec<QueryFx>,
}

fn default_style() -> String {
    "cloud".into()
}
fn default_access_lifetime() -> u64 {
    1199
}
fn default_lockout() -> u32 {
    5
}
fn default_refresh_minutes() -> u64 {
    1
}
fn default_status() -> String {
    "A".into()
}
fn default_true() -> bool {
    true
}
fn default_entity_type() -> String {
    "9".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientAppFx {
    client_id: String,
    client_secret: String,
    login_redirect_url: String,
    #[serde(default = "default_refresh_minutes")]
    refresh_token_lifetime_minutes: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFx {
    username: String,
    password: String,
    imis_id: String,
    contact_key: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    member_type: String,
    #[serde(default = "default_status")]
    status: String,
    #[serde(default)]
    is_disabled: bool,
    #[serde(default)]
    staff: bool,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    effective_date: Option<String>,
    #[serde(default)]
    expiration_date: Option<String>,
    #[serde(default)]
    join_date: Option<String>,
    #[serde(default)]
    paid_through: Option<String>,
    #[serde(default)]
    chapter: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    cs_contact: Map<String, Value>,
    #[serde(default)]
    iqa: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PromptFx {
    Name(String),
    Full(PromptFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFull {
    name: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    column: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryFx {
    path: String,
    #[serde(default = "default_true")]
    rest_enabled: bool,
    #[serde(default)]
    staff_only: bool,
    #[serde(default = "default_entity_type")]
    entity_type_name: String,
    #[serde(default)]
    prompts: Vec<PromptFx>,
    columns: Vec<String>,
    #[serde(default)]
    rows: Vec<Map<String, Value>>,
    #[serde(default)]
    generate: Option<GenerateFx>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateFx {
    count: usize,
    row: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------
// Compiled model
// ---------------------------------------------------------------------------------------

/// All sites.
#[derive(Debug)]
pub struct Model {
    /// Sites in fixture order.
    pub sites: Vec<Site>,
}

/// One emulated iMIS site.
#[derive(Debug)]
pub struct Site {
    /// Short name (`acme`).
    pub name: String,
    /// `cloud` or `2017` (informational).
    pub style: String,
    /// Prefix of RiSE pages, no trailing slash (may be empty).
    pub web_prefix: String,
    /// Prefix of `/token` and `/api`, no trailing slash (may be empty).
    pub api_prefix: String,
    /// `expires_in` of access tokens.
    pub access_token_lifetime_seconds: u64,
    /// Consecutive bad passwords before the account locks.
    pub lockout_threshold: u32,
    /// Registered client applications.
    pub client_apps: Vec<ClientApp>,
    /// Users (contacts with logins).
    pub users: Vec<User>,
    /// IQA queries.
    pub queries: Vec<Query>,
}

/// RiSE client application.
#[derive(Debug)]
pub struct ClientApp {
    /// Client ID.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Login redirect URL (receives the hand-off POST).
    pub login_redirect_url: String,
    /// Refresh token lifetime in minutes.
    pub refresh_token_lifetime_minutes: u64,
}

/// A contact with a login.
#[derive(Debug)]
pub struct User {
    /// Login name.
    pub username: String,
    /// Password (plain, it is a fixture).
    pub password: String,
    /// iMIS ID.
    pub imis_id: String,
    /// Contact key GUID.
    pub contact_key: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Primary email.
    pub email: Option<String>,
    /// Member type code (CustomerTypeCode).
    pub member_type: String,
    /// Status code (A, S, I, ...).
    pub status: String,
    /// UserData.IsDisable.
    pub is_disabled: bool,
    /// Staff / background account: may read every record.
    pub staff: bool,
    /// Role names.
    pub roles: Vec<String>,
    /// UserData.EffectiveDate.
    pub effective_date: Option<String>,
    /// UserData.ExpirationDate.
    pub expiration_date: Option<String>,
    /// Join date.
    pub join_date: Option<String>,
    /// Paid-through date.
    pub paid_through: Option<String>,
    /// Chapter code.
    pub chapter: Option<String>,
    /// Company / organization name.
    pub company: Option<String>,
    /// Extra CsContact properties (sorted by name).
    pub cs_contact: BTreeMap<String, Value>,
}

impl User {
    /// `First Last`.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// An IQA prompt (filter).
#[derive(Debug)]
pub struct Prompt {
    /// Prompt name.
    pub name: String,
    /// An empty value is rejected when required.
    pub required: bool,
    /// Filter on this output column instead of the row's `@match` entry.
    pub column: Option<String>,
}

/// An IQA query.
#[derive(Debug)]
pub struct Query {
    /// Document path, `$/...`.
    pub path: String,
    /// "Available via the REST API".
    pub rest_enabled: bool,
    /// Only staff tokens may run it.
    pub staff_only: bool,
    /// EntityTypeName of the result rows.
    pub entity_type_name: String,
    /// Prompts, in IQA order.
    pub prompts: Vec<Prompt>,
    /// Output columns, in order.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// One IQA row.
#[derive(Debug)]
pub struct Row {
    /// Column values (natural JSON).
    pub values: Map<String, Value>,
    /// Prompt name (lowercase) → value this row answers to.
    pub matches: HashMap<String, String>,
}

impl Site {
    /// User by login name (case-insensitive).
    pub fn user_by_name(&self, username: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// User by iMIS ID.
    pub fn user_by_id(&self, id: &str) -> Option<usize> {
        self.users.iter().position(|u| u.imis_id == id)
    }

    /// Client application by ID.
    pub fn client(&self, client_id: &str) -> Option<usize> {
        self.client_apps
            .iter()
            .position(|c| c.client_id == client_id)
    }

    /// Query by path (case-insensitive).
    pub fn query(&self, path: &str) -> Option<&Query> {
        self.queries
            .iter()
            .find(|q| q.path.eq_ignore_ascii_case(path))
    }
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/// Parse fixture text, substitute `${NAME}` from `vars` (then the environment), validate.
pub fn load(text: &str, vars: &HashMap<String, String>) -> Result<Model, String> {
    let raw: Value =
        serde_json::from_str(text).map_err(|e| format!("fixture file is not JSON: {e}"))?;
    let lookup = |name: &str| -> Option<String> {
        vars.get(name).cloned().or_else(|| std::env::var(name).ok())
    };
    let substituted = substitute_value(raw, &lookup)?;
    let file: FileFx =
        serde_json::from_value(substituted).map_err(|e| format!("fixture file: {e}"))?;
    compile(file)
}

fn substitute_value(v: Value, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(&s, lookup)?),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| substitute_value(i, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, val) in map {
                out.insert(substitute(&k, lookup)?, substitute_value(val, lookup)?);
            }
            Value::Object(out)
        }
        other => other,
    })
}

/// Replace every `${NAME}` in `s`.
pub fn substitute(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unterminated placeholder in {s:?}"));
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("bad placeholder name ${{{name}}} in {s:?}"));
        }
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "unknown placeholder ${{{name}}} (pass --var {name}=VALUE or set the environment variable {name})"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn normalize_prefix(p: &str, what: &str, site: &str) -> Result<String, String> {
    let t = p.trim_end_matches('/');
    if !t.is_empty() && !t.starts_with('/') {
        return Err(format!(
            "site {site}: {what} must start with '/' (got {p:?})"
        ));
    }
    if t.contains('?') || t.contains('#') || t.contains(' ') {
        return Err(format!(
            "site {site}: {what} is not a plain path (got {p:?})"
        ));
    }
    Ok(t.to_string())
}

fn check_cell(site: &str, query: &str, col: &str, v: &Value) -> Result<(), String> {
    match v {
        Value::Array(_) => Err(format!(
            "site {site}: query {query}: column {col}: arrays are not IQA values"
        )),
        Value::Object(o) if !(o.contains_key("$type") && o.contains_key("$value")) => {
            Err(format!(
                "site {site}: query {query}: column {col}: objects must be {{\"$type\",\"$value\"}} wrappers"
            ))
        }
        _ => Ok(()),
    }
}

fn compile_row(
    site: &str,
    q: &QueryFx,
    prompts: &[Prompt],
    mut row: Map<String, Value>,
    extra_match: Option<(&str, &str)>,
) -> Result<Row, String> {
    let mut matches = HashMap::new();
    if let Some(m) = row.remove("@match") {
        let Value::Object(m) = m else {
            return Err(format!(
                "site {site}: query {}: @match must be an object",
                q.path
            ));
        };
        for (k, v) in m {
            if !prompts.iter().any(|p| p.name.eq_ignore_ascii_case(&k)) {
                return Err(format!(
                    "site {site}: query {}: @match names unknown prompt {k:?}",
                    q.path
                ));
            }
            matches.insert(k.to_ascii_lowercase(), value_to_text(&v));
        }
    }
    if let Some((k, v)) = extra_match {
        matches
            .entry(k.to_ascii_lowercase())
            .or_insert_with(|| v.to_string());
    }
    for (k, v) in &row {
        if !q.columns.iter().any(|c| c == k) {
            return Err(format!(
                "site {site}: query {}: row has column {k:?} that is not in \"columns\"",
                q.path
            ));
        }
        check_cell(site, &q.path, k, v)?;
    }
    Ok(Row {
        values: row,
        matches,
    })
}

/// Text form of a JSON value, for matching prompts.
pub fn value_to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) => o.get("$value").map(value_to_text).unwrap_or_default(),
        Value::Array(_) => String::new(),
    }
}

fn expand_template(v: &Value, n: usize) -> Value {
    match v {
        Value::String(s) => Value::String(expand_n(s, n)),
        other => other.clone(),
    }
}

/// `{n}` → n, `{n:W}` → n zero-padded to width W.
fn expand_n(s: &str, n: usize) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{n") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(stripped) = after.strip_prefix('}') {
            out.push_str(&n.to_string());
            rest = stripped;
            continue;
        }
        if let Some(spec) = after.strip_prefix(':') {
            if let Some(end) = spec.find('}') {
                if let Ok(width) = spec[..end].parse::<usize>() {
                    out.push_str(&format!("{n:0width$}"));
                    rest = &spec[end + 1..];
                    continue;
                }
            }
        }
        out.push_str("{n");
        rest = after;
    }
    out.push_str(rest);
    out
}

fn compile(file: FileFx) -> Result<Model, String> {
    if file.sites.is_empty() {
        return Err("fixture file defines no sites".into());
    }
    let mut names = HashSet::new();
    let mut sites = Vec::new();
    for s in file.sites {
        let name = s.name.clone();
        if !names.insert(name.to_ascii_lowercase()) {
            return Err(format!("duplicate site name {name}"));
        }
        let web_prefix = normalize_prefix(&s.web_prefix, "web_prefix", &name)?;
        let api_prefix = normalize_prefix(&s.api_prefix, "api_prefix", &name)?;
        if s.lockout_threshold == 0 {
            return Err(format!("site {name}: lockout_threshold must be >= 1"));
        }

        let mut client_apps = Vec::new();
        for c in s.client_apps {
            if client_apps
                .iter()
                .any(|x: &ClientApp| x.client_id.eq_ignore_ascii_case(&c.client_id))
            {
                return Err(format!("site {name}: duplicate client app {}", c.client_id));
            }
            if !(c.login_redirect_url.starts_with("https://")
                || c.login_redirect_url.starts_with("http://"))
            {
                return Err(format!(
                    "site {name}: client app {}: login_redirect_url must be an absolute http(s) URL",
                    c.client_id
                ));
            }
            client_apps.push(ClientApp {
                client_id: c.client_id,
                client_secret: c.client_secret,
                login_redirect_url: c.login_redirect_url,
                refresh_token_lifetime_minutes: c.refresh_token_lifetime_minutes,
            });
        }

        // Queries first (users may attach rows to them).
        let mut queries: Vec<Query> = Vec::new();
        let mut query_fx: Vec<QueryFx> = Vec::new();
        for q in s.queries {
            if !q.path.starts_with("$/") {
                return Err(format!(
                    "site {name}: query path {:?} must start with \"$/\"",
                    q.path
                ));
            }
            if queries.iter().any(|x| x.path.eq_ignore_ascii_case(&q.path)) {
                return Err(format!("site {name}: duplicate query {}", q.path));
            }
            let mut seen_cols = HashSet::new();
            for c in &q.columns {
                if c.eq_ignore_ascii_case("ResultRow") || !seen_cols.insert(c.to_ascii_lowercase())
                {
                    return Err(format!(
                        "site {name}: query {}: bad or duplicate column {c:?}",
                        q.path
                    ));
                }
            }
            let prompts: Vec<Prompt> = q
                .prompts
                .iter()
                .map(|p| match p {
                    PromptFx::Name(n) => Prompt {
                        name: n.clone(),
                        required: false,
                        column: None,
                    },
                    PromptFx::Full(f) => Prompt {
                        name: f.name.clone(),
                        required: f.required,
                        column: f.column.clone(),
                    },
                })
                .collect();
            for p in &prompts {
                if let Some(c) = &p.column {
                    if !q.columns.iter().any(|x| x == c) {
                        return Err(format!(
                            "site {name}: query {}: prompt {} filters on unknown column {c}",
                            q.path, p.name
                        ));
                    }
                }
            }
            let mut rows = Vec::new();
            for r in &q.rows {
                rows.push(compile_row(&name, &q, &prompts, r.clone(), None)?);
            }
            if let Some(g) = &q.generate {
                for n in 1..=g.count {
                    let row: Map<String, Value> = g
                        .row
                        .iter()
                        .map(|(k, v)| (expand_n(k, n), expand_template(v, n)))
                        .collect();
                    rows.push(compile_row(&name, &q, &prompts, row, None)?);
                }
            }
            queries.push(Query {
                path: q.path.clone(),
                rest_enabled: q.rest_enabled,
                staff_only: q.staff_only,
                entity_type_name: q.entity_type_name.clone(),
                prompts,
                columns: q.columns.clone(),
                rows,
            });
            query_fx.push(q);
        }

        let mut users: Vec<User> = Vec::new();
        for u in s.users {
            if users
                .iter()
                .any(|x| x.username.eq_ignore_ascii_case(&u.username))
            {
                return Err(format!("site {name}: duplicate username {}", u.username));
            }
            if users.iter().any(|x| x.imis_id == u.imis_id) {
                return Err(format!("site {name}: duplicate imis_id {}", u.imis_id));
            }
            if users
                .iter()
                .any(|x| x.contact_key.eq_ignore_ascii_case(&u.contact_key))
            {
                return Err(format!(
                    "site {name}: duplicate contact_key {}",
                    u.contact_key
                ));
            }
            for (qpath, rows) in &u.iqa {
                let Some(qi) = queries
                    .iter()
                    .position(|q| q.path.eq_ignore_ascii_case(qpath))
                else {
                    return Err(format!(
                        "site {name}: user {}: iqa names unknown query {qpath}",
                        u.username
                    ));
                };
                let list: Vec<Value> = match rows {
                    Value::Array(a) => a.clone(),
                    Value::Object(_) => vec![rows.clone()],
                    _ => {
                        return Err(format!(
                            "site {name}: user {}: iqa rows for {qpath} must be an object or an array of objects",
                            u.username
                        ))
                    }
                };
                let first_prompt = queries[qi].prompts.first().map(|p| p.name.clone());
                for r in list {
                    let Value::Object(r) = r else {
                        return Err(format!(
                            "site {name}: user {}: iqa rows for {qpath} must be objects",
                            u.username
                        ));
                    };
                    let extra = first_prompt.as_deref().map(|p| (p, u.username.as_str()));
                    let row = compile_row(&name, &query_fx[qi], &queries[qi].prompts, r, extra)?;
                    queries[qi].rows.push(row);
                }
            }
            for (k, v) in &u.cs_contact {
                check_cell(&name, "CsContact", k, v)?;
            }
            users.push(User {
                username: u.username,
                password: u.password,
                imis_id: u.imis_id,
                contact_key: u.contact_key,
                first_name: u.first_name,
                last_name: u.last_name,
                email: u.email,
                member_type: u.member_type,
                status: u.status,
                is_disabled: u.is_disabled,
                staff: u.staff,
                roles: u.roles,
                effective_date: u.effective_date,
                expiration_date: u.expiration_date,
                join_date: u.join_date,
                paid_through: u.paid_through,
                chapter: u.chapter,
                company: u.company,
                cs_contact: u.cs_contact.into_iter().collect(),
            });
        }
        if let Some(bg) = &s.background_account {
            match users
                .iter_mut()
                .find(|u| u.username.eq_ignore_ascii_case(bg))
            {
                Some(u) => u.staff = true,
                None => {
                    return Err(format!(
                        "site {name}: background_account {bg} is not one of the users"
                    ))
                }
            }
        }
        sites.push(Site {
            name,
            style: s.style,
            web_prefix,
            api_prefix,
            access_token_lifetime_seconds: s.access_token_lifetime_seconds,
            lockout_threshold: s.lockout_threshold,
            client_apps,
            users,
            queries,
        });
    }
    Ok(Model { sites })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitution() {
        let v = vars(&[("A", "1"), ("B_2", "two")]);
        let lookup = |n: &str| v.get(n).cloned();
        assert_eq!(substitute("x${A}y${B_2}", &lookup).unwrap(), "x1ytwo");
        assert_eq!(substitute("$/Path/${A}", &lookup).unwrap(), "$/Path/1");
        assert!(substitute("${NOPE_NOT_SET_ANYWHERE_42}", &lookup)
            .unwrap_err()
            .contains("unknown placeholder"));
        assert!(substitute("${A", &lookup).is_err());
        assert!(substitute("${1A}", &lookup).is_err());
    }

    #[test]
    fn expand_row_numbers() {
        assert_eq!(expand_n("C{n}", 7), "C7");
        assert_eq!(expand_n("2{n:04}", 7), "20007");
        assert_eq!(expand_n("{nope}", 7), "{nope}");
    }

    #[test]
    fn demo_fixture_loads() {
        let text = include_str!("../fixtures/demo.json");
        let model = load(text, &vars(&[("IDP_PORT", "8443")])).unwrap();
        assert_eq!(model.sites.len(), 2);
        let acme = &model.sites[0];
        assert_eq!(acme.api_prefix, "/acme");
        let q = acme.query("$/edgeidp/allcontacts").unwrap();
        assert!(q.rows.len() > 500);
        assert!(acme.users.iter().any(|u| u.staff));
        let err = load(text, &HashMap::new()).err().unwrap_or_default();
        if std::env::var("IDP_PORT").is_err() {
            assert!(err.contains("IDP_PORT"), "{err}");
        }
    }

    #[test]
    fn rejects_unknown_columns_and_fields() {
        let bad = r#"{"sites":[{"name":"x","web_prefix":"/x","api_prefix":"/x",
            "queries":[{"path":"$/Q","columns":["A"],"rows":[{"B":1}]}]}]}"#;
        assert!(load(bad, &HashMap::new()).unwrap_err().contains("\"B\""));
        let bad = r#"{"sites":[{"name":"x","web_prefix":"/x","api_prefix":"/x","typo":1}]}"#;
        assert!(load(bad, &HashMap::new()).unwrap_err().contains("typo"));
    }
}
