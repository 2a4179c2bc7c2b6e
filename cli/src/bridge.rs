//! `edge-idp bridge add` / `bridge rotate-secret`: token-bridge apps of a tenant folder
//! (`bridge/{app}.json`, kv-schema/bridge-app.schema.json).
//!
//! The vendor's API secret is drawn here (256 random bits), printed once on standard output for
//! the admin to hand to the vendor, and only its SHA-256 is written to the file.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::check::Schemas;
use crate::error::CliError;
use crate::kind::Kind;

/// How the one-time token reaches the vendor (`deliveries` in the app file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Delivery {
    /// POST the token to the callback URL (ISG Enhanced SSO).
    Post,
    /// Append the token to the ReturnURL (ATS gatekeeper).
    Query,
    /// Set the token in a cookie on a shared parent domain (ATS cookie SSO).
    Cookie,
}

impl Delivery {
    fn name(self) -> &'static str {
        match self {
            Delivery::Post => "post",
            Delivery::Query => "query",
            Delivery::Cookie => "cookie",
        }
    }
}

/// Options of `bridge add` (what it writes).
#[derive(Debug, Clone, clap::Args)]
pub struct Add {
    /// The tenant folder.
    #[arg(value_name = "TENANT_DIR")]
    pub dir: PathBuf,
    /// App id (the {app} of /bridge/{app}/…).
    #[arg(long)]
    pub id: String,
    /// App name shown on pages.
    #[arg(long)]
    pub name: String,
    /// Token delivery (repeatable; the first is the default).
    #[arg(long = "delivery", value_enum, required = true)]
    pub deliveries: Vec<Delivery>,
    /// Registered primary domain of ReturnURL (repeatable).
    #[arg(long = "return-domain", value_name = "HOST", required = true)]
    pub return_domains: Vec<String>,
    /// Allow subdomains of the registered domains too.
    #[arg(long)]
    pub allow_subdomains: bool,
    /// https URL the token is POSTed to (post delivery).
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// Landing page when the vendor passes no ReturnURL.
    #[arg(long, value_name = "URL")]
    pub home_url: Option<String>,
    /// Shared parent domain of the token cookie (cookie delivery).
    #[arg(long, value_name = "DOMAIN")]
    pub cookie_domain: Option<String>,
    /// Origin allowed to call the CORS ping (repeatable).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Profile IQA whose columns extend the user data.
    #[arg(long, value_name = "IQA")]
    pub profile_iqa: Option<String>,
    /// Role IQA (one column) whose rows go to the vendor as `roles`.
    #[arg(long, value_name = "IQA")]
    pub role_iqa: Option<String>,
    /// An IQA whose every row goes to the vendor under `data.NAME` (repeatable, at most 4).
    #[arg(long = "data-iqa", value_name = "NAME=IQA")]
    pub data_iqas: Vec<String>,
    /// No Access Mapping (lines `CODE` or `CODE|https://…`).
    #[arg(long, value_name = "TEXT")]
    pub no_access_mapping: Option<String>,
}

/// A fresh vendor secret and its stored digest.
fn new_secret() -> Result<(String, String), CliError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(CliError::Random)?;
    let secret = URL_SAFE_NO_PAD.encode(buf);
    let digest = hex::encode(Sha256::digest(secret.as_bytes()));
    Ok((secret, digest))
}

fn app_path(dir: &Path, id: &str) -> Result<PathBuf, CliError> {
    if !edge_idp::bridge::app::is_app_id(id) {
        return Err(CliError::Usage(format!(
            "--id {id:?} is not an app id (letters, digits, '.', '_', '-'; at most 128)"
        )));
    }
    if !dir.join("tenant.json").is_file() {
        return Err(CliError::Usage(format!(
            "{} is not a tenant folder (no tenant.json)",
            dir.display()
        )));
    }
    Ok(dir.join("bridge").join(format!("{id}.json")))
}

/// Validates `value` and writes it to `path` (pretty JSON).
fn write_valid(path: &Path, value: &Value) -> Result<(), CliError> {
    let problems = Schemas::compile()?.check(Kind::BridgeApp, path, value);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        return Err(CliError::Invalid {
            count: problems.len(),
            suffix: "; nothing was written",
        });
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CliError::io("cannot create", parent, e))?;
    }
    let text = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    std::fs::write(path, text).map_err(|e| CliError::io("cannot write", path, e))
}

fn announce(path: &Path, secret: &str, what: &str) {
    eprintln!(
        "{what} {}. The vendor's API secret follows on standard output; it is shown only this \
         once (only its SHA-256 is stored). Give it to the vendor over a secure channel, then run \
         `edge-idp push` for the tenant folder.",
        path.display()
    );
    println!("{secret}");
}

/// `--data-iqa NAME=IQA` values as the app's `data_iqas` list.
fn data_iqas(args: &[String]) -> Result<Value, CliError> {
    let mut list = Vec::new();
    for arg in args {
        let Some((name, path)) = arg.split_once('=') else {
            return Err(CliError::Usage(format!(
                "--data-iqa {arg:?} is not NAME=IQA (for example committees=$/Acme/Committees)"
            )));
        };
        list.push(json!({"name": name.trim(), "path": path.trim()}));
    }
    Ok(Value::Array(list))
}

/// `edge-idp bridge add`.
pub fn add(a: &Add) -> Result<(), CliError> {
    let path = app_path(&a.dir, &a.id)?;
    if path.exists() {
        return Err(CliError::Exists(path));
    }
    let (secret, digest) = new_secret()?;
    let mut deliveries: Vec<&str> = Vec::new();
    for d in &a.deliveries {
        if !deliveries.contains(&d.name()) {
            deliveries.push(d.name());
        }
    }
    let mut app = Map::new();
    app.insert("schema_version".into(), json!(1));
    app.insert("id".into(), json!(a.id));
    app.insert("name".into(), json!(a.name));
    app.insert("deliveries".into(), json!(deliveries));
    let optional = [
        ("callback_url", &a.callback_url),
        ("home_url", &a.home_url),
        ("cookie_domain", &a.cookie_domain),
        ("profile_iqa", &a.profile_iqa),
        ("role_iqa", &a.role_iqa),
        ("no_access_mapping", &a.no_access_mapping),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            app.insert(k.into(), json!(v));
        }
    }
    if !a.data_iqas.is_empty() {
        app.insert("data_iqas".into(), data_iqas(&a.data_iqas)?);
    }
    app.insert("return_domains".into(), json!(a.return_domains));
    if a.allow_subdomains {
        app.insert("allow_subdomains".into(), json!(true));
    }
    if !a.allowed_origins.is_empty() {
        app.insert("allowed_origins".into(), json!(a.allowed_origins));
    }
    app.insert("secret_sha256".into(), json!(digest));
    write_valid(&path, &Value::Object(app))?;
    announce(&path, &secret, "Wrote");
    Ok(())
}

/// `edge-idp bridge rotate-secret`: a new secret replaces the old one at the next push.
pub fn rotate_secret(dir: &Path, id: &str, overlap_hours: u64) -> Result<(), CliError> {
    let path = app_path(dir, id)?;
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::io("cannot read", &path, e))?;
    let mut value: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{} is not JSON: {e}", path.display())))?;
    let (secret, digest) = new_secret()?;
    let Some(obj) = value.as_object_mut() else {
        return Err(CliError::Usage(format!(
            "{} is not a JSON object",
            path.display()
        )));
    };
    let fields = crate::secrets::SecretFields {
        current: "secret_sha256",
        previous: "previous_secret",
    };
    let says = crate::secrets::replace_secret(obj, &fields, &digest, overlap_hours);
    write_valid(&path, &value)?;
    announce(&path, &secret, &format!("Rotated the secret ({says}) in"));
    Ok(())
}
