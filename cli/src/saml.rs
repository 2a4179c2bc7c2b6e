//! `edge-idp saml …`: SAML client apps in a tenant folder (`saml/{app}.json`).
//!
//! - `add`: a new app from settings given on the command line (dummy SP values allowed, so the
//!   IdP metadata can be produced before the SP's is known), with a fresh key.
//! - `import <file|url>`: an app from the SP's metadata (a preview first); an existing app keeps
//!   its keys and settings and only takes the SP's information.
//! - `keygen`: a new RSA-2048 key and self-signed certificate for the app.
//! - `rotate`: stage the next key (published in metadata, signs nothing), then `--promote` it.
//! - `cert`: print the app's certificate (PEM) for SPs that want it by hand.
//! - `show`: every value a vendor's SAML form asks for (entity ID, SSO/SLO/login URLs,
//!   certificates with their SHA-256 fingerprints and expiry), ready to paste.
//!
//! Private keys are sealed for the tenant with the master key at once and never printed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edge_idp::crypto::FillRng;
use edge_idp::saml::config::{
    decode_certificate, is_app_id, is_https_url, Acs, Binding, IdpKey, IdpSettings, NameIdFormat,
    RoleFormat, SamlApp, Slo, SpSettings,
};
use edge_idp::saml::metadata::{parse_sp_metadata, SpMetadata};
use edge_idp::seal::{self, MasterKey, NONCE_LEN};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::RsaPrivateKey;
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use crate::error::CliError;
use crate::secrets;

/// How long a generated certificate is valid.
const CERT_YEARS: u64 = 10;
/// Dummy SP values of `saml add --dummy` (`.invalid` never resolves).
const DUMMY_ENTITY_ID: &str = "urn:edge-idp:dummy-sp";
const DUMMY_ACS: &str = "https://sp.invalid/saml/acs";

/// `saml` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SamlCommand {
    /// Create saml/<id>.json from settings (dummy SP values allowed), with a fresh key.
    Add(Box<AddArgs>),
    /// Create or update an app from SP metadata (a file or an https URL), after a preview.
    Import(Box<ImportArgs>),
    /// Give an app a new RSA-2048 key and self-signed certificate (replaces the current one).
    Keygen(KeyArgs),
    /// Stage a next key (published in metadata, signs nothing); --promote makes it the current one.
    Rotate(RotateArgs),
    /// Print what a vendor asks for: entity ID, SSO/SLO/login/metadata URLs, certificates.
    Show {
        /// The app file (TENANT_DIR/saml/<id>.json).
        file: PathBuf,
        /// The hostname (and port) members use, when not the tenant's first hostname.
        #[arg(long)]
        host: Option<String>,
    },
    /// Print an app's signing certificate as PEM (--next: the staged one).
    Cert {
        /// The app file (TENANT_DIR/saml/<id>.json).
        file: PathBuf,
        /// The staged next certificate instead of the current one.
        #[arg(long)]
        next: bool,
    },
}

/// `saml add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The tenant folder (its name is the tenant id).
    #[arg(value_name = "TENANT_DIR")]
    pub dir: PathBuf,
    /// Internal Client ID: the {app} of /saml/{app}/… (letters, digits, '.', '_', '-').
    #[arg(long)]
    pub id: String,
    /// App Name, shown to members ("Sign in to continue to: …").
    #[arg(long)]
    pub name: String,
    /// SP Entity ID.
    #[arg(long, required_unless_present = "dummy")]
    pub sp_entity_id: Option<String>,
    /// ACS URL (https).
    #[arg(long, required_unless_present = "dummy")]
    pub acs_url: Option<String>,
    /// Use dummy SP values (replace them later with `saml import` or by editing the file).
    #[arg(long, conflicts_with_all = ["sp_entity_id", "acs_url"])]
    pub dummy: bool,
    #[command(flatten)]
    pub settings: Settings,
    /// Overwrite an existing app file.
    #[arg(long)]
    pub force: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

/// The seed-004 settings `add` and `import` both take.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// ACS binding.
    #[arg(long, value_parser = ["post", "redirect"])]
    pub acs_binding: Option<String>,
    /// NameID format.
    #[arg(long, value_parser = ["username", "imis_id", "email", "persistent", "transient"])]
    pub name_id_format: Option<String>,
    /// Profile IQA path (one parameter: the username; exactly one row).
    #[arg(long, value_name = "PATH")]
    pub profile_iqa: Option<String>,
    /// Role IQA path (one column: the roles).
    #[arg(long, value_name = "PATH")]
    pub role_iqa: Option<String>,
    /// Role Assertion Format.
    #[arg(long, value_parser = ["separate", "comma_separated"])]
    pub role_format: Option<String>,
    /// No Access Mapping: lines `CODE` or `CODE|https://…` (use \n between lines).
    #[arg(long, value_name = "TEXT")]
    pub no_access_mapping: Option<String>,
    /// Audience Restriction.
    #[arg(long)]
    pub audience: Option<String>,
    /// Sign the Response.
    #[arg(long, value_name = "BOOL")]
    pub sign_response: Option<bool>,
    /// Sign the Assertion.
    #[arg(long, value_name = "BOOL")]
    pub sign_assertion: Option<bool>,
    /// Enable the Single Logout endpoint.
    #[arg(long, value_name = "BOOL")]
    pub slo: Option<bool>,
    /// The SP's Single Logout URL (https).
    #[arg(long, value_name = "URL")]
    pub sp_slo_url: Option<String>,
    /// Binding of the SP's Single Logout URL.
    #[arg(long, value_parser = ["post", "redirect"])]
    pub sp_slo_binding: Option<String>,
    /// The SP's signing certificate (PEM or DER file; repeatable).
    #[arg(long, value_name = "FILE")]
    pub sp_cert: Vec<PathBuf>,
    /// The SP signs its AuthnRequests, and unsigned ones are refused.
    #[arg(long, value_name = "BOOL")]
    pub authn_requests_signed: Option<bool>,
    /// IdP entity ID (default: https://<first hostname>/saml/<id>/metadata).
    #[arg(long)]
    pub idp_entity_id: Option<String>,
}

/// `saml import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// SP metadata: a file, or an https:// URL.
    #[arg(value_name = "FILE_OR_URL")]
    pub source: String,
    /// The tenant folder to write saml/<id>.json in.
    #[arg(long, value_name = "DIR")]
    pub tenant_dir: PathBuf,
    /// Client ID of the app (default: from the SP's entity ID).
    #[arg(long)]
    pub id: Option<String>,
    /// App Name (default: the Client ID).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub settings: Settings,
    /// Show the preview only; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write without asking (asking needs a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

/// `saml keygen`.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The app file (TENANT_DIR/saml/<id>.json).
    pub file: PathBuf,
    /// Replace an existing key (SPs must then be given the new certificate at once; prefer rotate).
    #[arg(long)]
    pub force: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

/// `saml rotate`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// The app file (TENANT_DIR/saml/<id>.json).
    pub file: PathBuf,
    /// Make the staged next key the current one (after every SP has the new metadata).
    #[arg(long)]
    pub promote: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

/// Runs a `saml` subcommand.
pub fn run(command: SamlCommand) -> Result<(), CliError> {
    match command {
        SamlCommand::Add(args) => add(*args),
        SamlCommand::Import(args) => import(*args),
        SamlCommand::Keygen(args) => keygen(args),
        SamlCommand::Rotate(args) => rotate(args),
        SamlCommand::Show { file, host } => show(&file, host.as_deref()),
        SamlCommand::Cert { file, next } => cert(&file, next),
    }
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

fn master(file: Option<&Path>) -> Result<MasterKey, CliError> {
    secrets::master_key(file)?.ok_or(CliError::NoMasterKey)
}

/// The tenant id of a tenant folder (its name).
fn tenant_of_dir(dir: &Path) -> Result<String, CliError> {
    let abs = std::path::absolute(dir).map_err(|e| CliError::io("cannot resolve", dir, e))?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !secrets::is_tenant_id(&name) {
        return Err(usage(format!(
            "{} is not a tenant folder: its name must be the tenant id",
            dir.display()
        )));
    }
    Ok(name)
}

/// The tenant id of an app file `TENANT_DIR/saml/<id>.json`.
fn tenant_of_app_file(file: &Path) -> Result<String, CliError> {
    let abs = std::path::absolute(file).map_err(|e| CliError::io("cannot resolve", file, e))?;
    let saml = abs
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "saml"));
    match saml.and_then(Path::parent) {
        Some(dir) => tenant_of_dir(dir),
        None => Err(usage(format!(
            "{} is not an app file of a tenant folder (TENANT_DIR/saml/<id>.json)",
            file.display()
        ))),
    }
}

fn read_app(file: &Path) -> Result<SamlApp, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| CliError::io("cannot read", file, e))?;
    serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not a SAML app file: {e}", file.display())))
}

fn write_app(file: &Path, app: &SamlApp) -> Result<(), CliError> {
    app.check()
        .map_err(|e| usage(format!("the app would be invalid: {e}")))?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("cannot create", dir, e))?;
    }
    let mut text = serde_json::to_string_pretty(app).map_err(|e| usage(e.to_string()))?;
    text.push('\n');
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| CliError::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| CliError::io("cannot write", file, e))
}

fn rng() -> FillRng<impl FnMut(&mut [u8])> {
    FillRng(|b: &mut [u8]| {
        // The OS generator does not fail on the platforms the CLI runs on; if it ever did, a
        // key must not come out of zeroes.
        if getrandom::fill(b).is_err() {
            std::process::abort();
        }
    })
}

fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    edge_idp::saml::time::format(secs)[..10].to_string()
}

/// A fresh RSA-2048 key and self-signed certificate, the key sealed for `tenant`.
pub fn new_key(master: &MasterKey, tenant: &str, app: &str) -> Result<IdpKey, CliError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        usage(format!("key generation failed ({what}): {e}"))
    };
    let mut rng = rng();
    let key = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| fail("RSA", &e))?;
    let pkcs8 = key.to_pkcs8_der().map_err(|e| fail("PKCS#8", &e))?;
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| fail("public key", &e))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes())
        .map_err(|e| fail("public key", &e))?;
    let cn: String = format!("{app} ({tenant}) SAML signing")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " .-_()".contains(*c))
        .collect();
    let subject = Name::from_str(&format!("CN={cn}")).map_err(|e| fail("name", &e))?;
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(CliError::Random)?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(|e| fail("serial", &e))?;
    let validity = Validity::from_now(Duration::from_secs(CERT_YEARS * 365 * 86_400))
        .map_err(|e| fail("validity", &e))?;
    let signer = SigningKey::<Sha256>::new(key);
    let builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        serial,
        validity,
        subject,
        spki,
        &signer,
    )
    .map_err(|e| fail("certificate", &e))?;
    let cert = builder
        .build_with_rng::<rsa::pkcs1v15::Signature>(&mut rng)
        .map_err(|e| fail("certificate", &e))?;
    let cert_der = cert.to_der().map_err(|e| fail("certificate", &e))?;
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(CliError::Random)?;
    Ok(IdpKey {
        certificate: STANDARD.encode(cert_der),
        private_key: seal::seal_secret(master, tenant, nonce, &STANDARD.encode(pkcs8.as_bytes())),
        created: Some(today()),
    })
}

fn parse_binding(b: &str) -> Binding {
    if b == "redirect" {
        Binding::Redirect
    } else {
        Binding::Post
    }
}

fn read_cert_file(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io("cannot read", path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let b64 = if let Some(start) = text.find("-----BEGIN CERTIFICATE-----") {
        let body = &text[start + 27..];
        let end = body
            .find("-----END CERTIFICATE-----")
            .ok_or_else(|| usage(format!("{}: unterminated PEM certificate", path.display())))?;
        body[..end].chars().filter(|c| !c.is_whitespace()).collect()
    } else if bytes.first() == Some(&0x30) {
        STANDARD.encode(&bytes)
    } else {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    };
    if decode_certificate(&b64).is_none() {
        return Err(usage(format!(
            "{}: not an X.509 certificate (PEM, DER or base64 DER)",
            path.display()
        )));
    }
    Ok(b64)
}

/// Applies the command-line settings to an app.
fn apply(app: &mut SamlApp, s: &Settings) -> Result<(), CliError> {
    if let Some(b) = &s.acs_binding {
        if let Some(first) = app.sp.acs.first_mut() {
            first.binding = parse_binding(b);
        }
    }
    if let Some(f) = &s.name_id_format {
        app.name_id_format = serde_json::from_value(serde_json::Value::String(f.clone()))
            .map_err(|e| usage(e.to_string()))?;
    }
    if let Some(p) = &s.profile_iqa {
        app.profile_iqa = Some(p.clone()).filter(|p| !p.is_empty());
    }
    if let Some(p) = &s.role_iqa {
        app.role_iqa = Some(p.clone()).filter(|p| !p.is_empty());
    }
    if let Some(f) = &s.role_format {
        app.role_format = if f == "comma_separated" {
            RoleFormat::CommaSeparated
        } else {
            RoleFormat::Separate
        };
    }
    if let Some(m) = &s.no_access_mapping {
        let m = m.replace("\\n", "\n");
        edge_idp::access::parse_mapping(&m)
            .map_err(|e| usage(format!("--no-access-mapping: {e}")))?;
        app.no_access_mapping = Some(m).filter(|m| !m.trim().is_empty());
    }
    if let Some(a) = &s.audience {
        app.audience = Some(a.clone()).filter(|a| !a.is_empty());
    }
    if let Some(v) = s.sign_response {
        app.sign_response = v;
    }
    if let Some(v) = s.sign_assertion {
        app.sign_assertion = v;
    }
    if let Some(v) = s.slo {
        app.slo_enabled = v;
    }
    if let Some(url) = &s.sp_slo_url {
        if !is_https_url(url) {
            return Err(usage("--sp-slo-url must be an https URL"));
        }
        app.sp.slo = Some(Slo {
            url: url.clone(),
            binding: s
                .sp_slo_binding
                .as_deref()
                .map_or(Binding::Redirect, parse_binding),
            response_url: None,
        });
    }
    for path in &s.sp_cert {
        let c = read_cert_file(path)?;
        if !app.sp.certificates.contains(&c) {
            app.sp.certificates.push(c);
        }
    }
    if let Some(v) = s.authn_requests_signed {
        app.sp.authn_requests_signed = v;
    }
    if let Some(e) = &s.idp_entity_id {
        app.idp.entity_id = Some(e.clone()).filter(|e| !e.is_empty());
    }
    Ok(())
}

fn add(args: AddArgs) -> Result<(), CliError> {
    let tenant = tenant_of_dir(&args.dir)?;
    if !is_app_id(&args.id) {
        return Err(usage(
            "--id: letters, digits, '.', '_' and '-' (at most 128)",
        ));
    }
    let file = args.dir.join("saml").join(format!("{}.json", args.id));
    if file.exists() && !args.force {
        return Err(usage(format!(
            "{} exists (use --force to overwrite it, or edit it)",
            file.display()
        )));
    }
    let (entity_id, acs_url) = if args.dummy {
        (DUMMY_ENTITY_ID.to_string(), DUMMY_ACS.to_string())
    } else {
        (
            args.sp_entity_id.clone().unwrap_or_default(),
            args.acs_url.clone().unwrap_or_default(),
        )
    };
    if !is_https_url(&acs_url) {
        return Err(usage("--acs-url must be an https URL"));
    }
    let master = master(args.master_key_file.as_deref())?;
    let mut app = SamlApp {
        schema_version: 1,
        id: args.id.clone(),
        name: args.name.clone(),
        profile_iqa: None,
        role_iqa: None,
        role_format: RoleFormat::Separate,
        no_access_mapping: None,
        sp: SpSettings {
            entity_id,
            acs: vec![Acs {
                url: acs_url,
                binding: Binding::Post,
                index: None,
            }],
            slo: None,
            certificates: Vec::new(),
            authn_requests_signed: false,
            name_id_formats: Vec::new(),
        },
        name_id_format: NameIdFormat::Username,
        audience: None,
        sign_response: true,
        sign_assertion: true,
        slo_enabled: false,
        idp: IdpSettings {
            entity_id: None,
            current: new_key(&master, &tenant, &args.id)?,
            next: None,
        },
    };
    apply(&mut app, &args.settings)?;
    write_app(&file, &app)?;
    println!("wrote {}", file.display());
    next_steps(&tenant, &app, &args.dir);
    if args.dummy {
        println!(
            "The SP settings are dummies: once the SP's metadata is known, run\n  edge-idp saml import <metadata.xml|https://…> --tenant-dir {} --id {}",
            args.dir.display(),
            app.id
        );
    }
    Ok(())
}

fn next_steps(tenant: &str, app: &SamlApp, dir: &Path) {
    println!(
        "Next: edge-idp push {} --remote, then give the SP the IdP metadata:\n  https://<{tenant} host>/saml/{}/metadata   (?download=1 for a file)\nIdP-initiated login: https://<{tenant} host>/saml/{}/login",
        dir.display(),
        app.id,
        app.id
    );
}

/// Reads SP metadata from a file or an https URL (through curl).
fn fetch_metadata(source: &str) -> Result<Vec<u8>, CliError> {
    if source.starts_with("http://") {
        return Err(usage("metadata URLs must be https://"));
    }
    if source.starts_with("https://") {
        let out = std::process::Command::new("curl")
            .args([
                "--silent",
                "--show-error",
                "--fail",
                "--location",
                "--proto",
                "=https",
            ])
            .args([
                "--max-time",
                "20",
                "--max-filesize",
                "1048576",
                "--",
                source,
            ])
            .output()
            .map_err(|e| usage(format!("cannot run curl to fetch {source}: {e}")))?;
        if !out.status.success() {
            return Err(usage(format!(
                "cannot fetch {source}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        return Ok(out.stdout);
    }
    let path = Path::new(source);
    std::fs::read(path).map_err(|e| CliError::io("cannot read", path, e))
}

/// A Client ID from an entity ID: its host (or last path part), in the allowed characters.
fn id_from_entity(entity_id: &str) -> String {
    let rest = entity_id.split_once("://").map_or(entity_id, |(_, r)| r);
    let host = rest.split(['/', ':', '?']).next().unwrap_or(rest);
    let mut id: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .chars()
        .take(64)
        .collect();
    if id.is_empty() || !id.as_bytes()[0].is_ascii_alphanumeric() {
        id = format!("sp-{id}");
    }
    id
}

fn preview(md: &SpMetadata, id: &str, name: &str, existing: bool) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: &str| s.push_str(&format!("  {k:<24} {v}\n"));
    line("Client ID", id);
    line("App Name", name);
    line(
        if existing {
            "(existing app)"
        } else {
            "(new app)"
        },
        if existing {
            "SP information replaced; keys and settings kept"
        } else {
            "a new signing key is made"
        },
    );
    line("SP Entity ID", &md.entity_id);
    for (i, a) in md.acs.iter().enumerate() {
        line(
            if i == 0 { "ACS (default)" } else { "ACS" },
            &format!(
                "{} [{}{}]",
                a.url,
                if a.binding == Binding::Post {
                    "HTTP-POST"
                } else {
                    "HTTP-Redirect"
                },
                a.index.map(|i| format!(", index {i}")).unwrap_or_default()
            ),
        );
    }
    match &md.slo {
        Some(slo) => line(
            "SP Single Logout",
            &format!(
                "{} [{}]",
                slo.url,
                if slo.binding == Binding::Post {
                    "HTTP-POST"
                } else {
                    "HTTP-Redirect"
                }
            ),
        ),
        None => line("SP Single Logout", "(none)"),
    }
    line("Signing certificates", &md.certificates.len().to_string());
    line("AuthnRequestsSigned", &md.authn_requests_signed.to_string());
    line(
        "WantAssertionsSigned",
        &md.want_assertions_signed.to_string(),
    );
    line(
        "NameID formats",
        &if md.name_id_formats.is_empty() {
            "(none listed)".to_string()
        } else {
            md.name_id_formats.join(", ")
        },
    );
    for n in &md.notes {
        line("note", n);
    }
    s
}

/// The seed's NameID format closest to the first format the SP lists.
fn format_from_metadata(formats: &[String]) -> Option<NameIdFormat> {
    formats
        .iter()
        .find_map(|f| match f.rsplit(':').next().unwrap_or_default() {
            "emailAddress" => Some(NameIdFormat::Email),
            "persistent" => Some(NameIdFormat::Persistent),
            "transient" => Some(NameIdFormat::Transient),
            "unspecified" => Some(NameIdFormat::Username),
            _ => None,
        })
}

fn import(args: ImportArgs) -> Result<(), CliError> {
    let tenant = tenant_of_dir(&args.tenant_dir)?;
    let bytes = fetch_metadata(&args.source)?;
    let md = parse_sp_metadata(&bytes).map_err(|e| {
        usage(format!(
            "{}: the SP metadata cannot be used: {e}",
            args.source
        ))
    })?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| id_from_entity(&md.entity_id));
    if !is_app_id(&id) {
        return Err(usage(format!(
            "Client ID {id:?}: letters, digits, '.', '_' and '-' (pass --id)"
        )));
    }
    let file = args.tenant_dir.join("saml").join(format!("{id}.json"));
    let existing = if file.exists() {
        Some(read_app(&file)?)
    } else {
        None
    };
    let name = args
        .name
        .clone()
        .or_else(|| existing.as_ref().map(|a| a.name.clone()))
        .unwrap_or_else(|| id.clone());
    print!(
        "SP metadata from {}:\n{}",
        args.source,
        preview(&md, &id, &name, existing.is_some())
    );
    if args.dry_run {
        println!("(dry run: nothing written)");
        return Ok(());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "not writing without confirmation: pass --yes (or --dry-run)",
            ));
        }
        print!("Write {}? [y/N] ", file.display());
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| CliError::io("cannot read", "standard input", e))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing written");
            return Ok(());
        }
    }
    let sp = SpSettings {
        entity_id: md.entity_id.clone(),
        acs: md.acs.clone(),
        slo: md.slo.clone(),
        certificates: md.certificates.clone(),
        authn_requests_signed: md.authn_requests_signed,
        name_id_formats: md.name_id_formats.clone(),
    };
    let mut app = match existing {
        Some(mut app) => {
            app.sp = sp;
            app.name = name;
            app
        }
        None => {
            let master = master(args.master_key_file.as_deref())?;
            SamlApp {
                schema_version: 1,
                id: id.clone(),
                name,
                profile_iqa: None,
                role_iqa: None,
                role_format: RoleFormat::Separate,
                no_access_mapping: None,
                slo_enabled: md.slo.is_some(),
                sp,
                name_id_format: format_from_metadata(&md.name_id_formats).unwrap_or_default(),
                audience: None,
                sign_response: true,
                sign_assertion: true,
                idp: IdpSettings {
                    entity_id: None,
                    current: new_key(&master, &tenant, &id)?,
                    next: None,
                },
            }
        }
    };
    apply(&mut app, &args.settings)?;
    write_app(&file, &app)?;
    println!("wrote {}", file.display());
    next_steps(&tenant, &app, &args.tenant_dir);
    Ok(())
}

fn keygen(args: KeyArgs) -> Result<(), CliError> {
    let tenant = tenant_of_app_file(&args.file)?;
    // An app file may come without keys (a template): read it loosely, add them, then check it.
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::io("cannot read", &args.file, e))?;
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not JSON: {e}", args.file.display())))?;
    if value.pointer("/idp/current").is_some() && !args.force {
        return Err(usage(format!(
            "{} already has a key: use `saml rotate` for a zero-downtime change, or --force",
            args.file.display()
        )));
    }
    let id = value
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    let master = master(args.master_key_file.as_deref())?;
    let key =
        serde_json::to_value(new_key(&master, &tenant, &id)?).map_err(|e| usage(e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| usage("the app file is not a JSON object"))?;
    let idp = obj.entry("idp").or_insert_with(|| serde_json::json!({}));
    if let Some(idp) = idp.as_object_mut() {
        idp.insert("current".into(), key);
        idp.remove("next");
    }
    let app: SamlApp = serde_json::from_value(value)
        .map_err(|e| usage(format!("{}: not a SAML app file: {e}", args.file.display())))?;
    write_app(&args.file, &app)?;
    println!(
        "new key and certificate for {} written to {}",
        app.id,
        args.file.display()
    );
    Ok(())
}

fn rotate(args: RotateArgs) -> Result<(), CliError> {
    let tenant = tenant_of_app_file(&args.file)?;
    let mut app = read_app(&args.file)?;
    if args.promote {
        let Some(next) = app.idp.next.take() else {
            return Err(usage(
                "there is no staged next key: run `saml rotate` first",
            ));
        };
        app.idp.current = next;
        write_app(&args.file, &app)?;
        println!(
            "the next key of {} is now the current one (it signs from the next push on); the old \
             certificate is no longer published",
            app.id
        );
        return Ok(());
    }
    if app.idp.next.is_some() {
        return Err(usage(
            "a next key is already staged: push, let SPs refresh the metadata, then `saml rotate --promote`",
        ));
    }
    let master = master(args.master_key_file.as_deref())?;
    app.idp.next = Some(new_key(&master, &tenant, &app.id)?);
    write_app(&args.file, &app)?;
    println!(
        "staged a next key for {}: push it (the metadata then lists both certificates), let every \
         SP refresh its copy, then run `edge-idp saml rotate --promote {}` and push again",
        app.id,
        args.file.display()
    );
    Ok(())
}

/// The hostnames of the tenant folder an app file is in (`TENANT_DIR/tenant.json`).
fn tenant_hostnames(file: &Path) -> Result<Vec<String>, CliError> {
    let abs = std::path::absolute(file).map_err(|e| CliError::io("cannot resolve", file, e))?;
    let Some(tenant_json) = abs
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("tenant.json"))
    else {
        return Ok(Vec::new());
    };
    let text = match std::fs::read_to_string(&tenant_json) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CliError::io("cannot read", &tenant_json, e)),
    };
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not JSON: {e}", tenant_json.display())))?;
    Ok(doc
        .get("hostnames")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect())
}

/// `AB:CD:…`, the SHA-256 fingerprint of a certificate as vendors' forms show it.
fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The `notAfter` date of a certificate, `YYYY-MM-DD`.
fn expiry(der: &[u8]) -> Option<String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let secs = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs();
    edge_idp::saml::time::format(secs)
        .split('T')
        .next()
        .map(str::to_string)
}

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----");
    out
}

fn show(file: &Path, host: Option<&str>) -> Result<(), CliError> {
    let app = read_app(file)?;
    let hostnames = tenant_hostnames(file)?;
    let (host, port) = match host.or(hostnames.first().map(String::as_str)) {
        Some(h) => edge_idp::http::split_authority(h),
        None => {
            return Err(usage(
                "the tenant folder has no hostnames in tenant.json: name one with --host",
            ))
        }
    };
    let primary = hostnames.first().map_or(host.as_str(), String::as_str);
    let urls = edge_idp::saml::app_urls(&app, &host, port, primary);
    let base = urls.sso.trim_end_matches("/sso");
    let slo = if app.slo_enabled {
        urls.slo.clone()
    } else {
        "(none: slo_enabled is false)".to_string()
    };
    let rows = [
        ("App", format!("{} ({})", app.name, app.id)),
        ("IdP entity ID (Issuer)", urls.entity_id.clone()),
        ("SSO URL, HTTP-Redirect", urls.sso.clone()),
        ("SSO URL, HTTP-POST", urls.sso.clone()),
        ("SLO URL, Redirect and POST", slo),
        ("IdP-initiated login URL", format!("{base}/login")),
        ("Metadata URL", format!("{base}/metadata")),
        ("NameID format", app.name_id_format.uri().to_string()),
    ];
    for (label, value) in rows {
        println!("{label:<27} {value}");
    }
    let keys = std::iter::once(("Signing certificate", &app.idp.current)).chain(
        app.idp
            .next
            .as_ref()
            .map(|k| ("Next certificate (staged, signs nothing yet)", k)),
    );
    for (label, key) in keys {
        let der = decode_certificate(&key.certificate)
            .ok_or_else(|| usage("the stored certificate is not valid"))?
            .0;
        println!();
        println!("{label}");
        println!("  SHA-256 fingerprint      {}", fingerprint(&der));
        println!(
            "  valid until              {}",
            expiry(&der).unwrap_or_else(|| "(unreadable)".into())
        );
        println!("{}", pem(&der));
    }
    Ok(())
}

fn cert(file: &Path, next: bool) -> Result<(), CliError> {
    let app = read_app(file)?;
    let key = if next {
        app.idp
            .next
            .as_ref()
            .ok_or_else(|| usage("no next key is staged"))?
    } else {
        &app.idp.current
    };
    let der = decode_certificate(&key.certificate)
        .ok_or_else(|| usage("the stored certificate is not valid"))?
        .0;
    println!("{}", pem(&der));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_entity_ids() {
        assert_eq!(
            id_from_entity("https://lms.example.org/sp/metadata"),
            "lms-example-org"
        );
        assert_eq!(id_from_entity("urn:acme:sp"), "urn");
        assert_eq!(id_from_entity("https://"), "sp-");
    }

    #[test]
    fn made_keys_sign_and_their_certificates_carry_them() {
        let master = MasterKey::from_bytes([7u8; 32]);
        let key = new_key(&master, "acme", "demo-sp").unwrap();
        let (_, spki) = decode_certificate(&key.certificate).unwrap();
        let pkcs8 = STANDARD
            .decode(seal::open_secret(&master, "acme", &key.private_key).unwrap())
            .unwrap();
        let soft =
            edge_idp::crypto::SoftKey::parse(edge_idp::crypto::SignAlg::Rs256, &pkcs8).unwrap();
        let sig = soft.sign(b"msg").unwrap();
        assert!(edge_idp::crypto::rsa_verify(
            &spki,
            edge_idp::crypto::RsaHash::Sha256,
            b"msg",
            &sig
        ));
        assert!(seal::open_secret(&master, "globex", &key.private_key).is_err());
    }
}
