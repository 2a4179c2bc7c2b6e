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
//!
//! This file holds the arguments and the dispatch; each command has its own file, beside the
//! tenant folder's files ([`folder`]), the settings both `add` and `import` take ([`settings`]),
//! certificates ([`x509`]) and the metadata download ([`fetch`]).

mod add;
mod fetch;
mod folder;
mod import;
mod keys;
mod preview;
mod settings;
mod show;
pub(crate) mod x509;

use std::path::{Path, PathBuf};

use edge_idp::saml::config::SamlApp;
use edge_idp::seal::MasterKey;

pub(crate) use self::settings::Settings;
pub(crate) use self::x509::new_key;
use crate::error::CliError;
use crate::secrets;

/// `saml` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SamlCommand {
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
pub(crate) struct AddArgs {
    /// The tenant folder (its name is the tenant id).
    #[arg(value_name = "TENANT_DIR")]
    pub(crate) dir: PathBuf,
    /// Internal Client ID: the {app} of /saml/{app}/… (letters, digits, '.', '_', '-').
    #[arg(long)]
    pub(crate) id: String,
    /// App Name, shown to members ("Sign in to continue to: …").
    #[arg(long)]
    pub(crate) name: String,
    /// SP Entity ID.
    #[arg(long, required_unless_present = "dummy")]
    pub(crate) sp_entity_id: Option<String>,
    /// ACS URL (https).
    #[arg(long, required_unless_present = "dummy")]
    pub(crate) acs_url: Option<String>,
    /// Use dummy SP values (replace them later with `saml import` or by editing the file).
    #[arg(long, conflicts_with_all = ["sp_entity_id", "acs_url"])]
    pub(crate) dummy: bool,
    #[command(flatten)]
    pub(crate) settings: Settings,
    /// Overwrite an existing app file.
    #[arg(long)]
    pub(crate) force: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub(crate) master_key_file: Option<PathBuf>,
}

/// `saml import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// SP metadata: a file, or an https:// URL.
    #[arg(value_name = "FILE_OR_URL")]
    pub(crate) source: String,
    /// The tenant folder to write saml/<id>.json in.
    #[arg(long, value_name = "DIR")]
    pub(crate) tenant_dir: PathBuf,
    /// Client ID of the app (default: from the SP's entity ID).
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// App Name (default: the Client ID).
    #[arg(long)]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) settings: Settings,
    /// Show the preview only; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Write without asking (asking needs a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub(crate) master_key_file: Option<PathBuf>,
}

/// `saml keygen`.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyArgs {
    /// The app file (TENANT_DIR/saml/<id>.json).
    pub(crate) file: PathBuf,
    /// Replace an existing key (SPs must then be given the new certificate at once; prefer rotate).
    #[arg(long)]
    pub(crate) force: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub(crate) master_key_file: Option<PathBuf>,
}

/// `saml rotate`.
#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    /// The app file (TENANT_DIR/saml/<id>.json).
    pub(crate) file: PathBuf,
    /// Make the staged next key the current one (after every SP has the new metadata).
    #[arg(long)]
    pub(crate) promote: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub(crate) master_key_file: Option<PathBuf>,
}

/// Runs a `saml` subcommand.
pub(crate) fn run(command: SamlCommand) -> Result<(), CliError> {
    match command {
        SamlCommand::Add(args) => add::add(*args),
        SamlCommand::Import(args) => import::import(*args),
        SamlCommand::Keygen(args) => keys::keygen(args),
        SamlCommand::Rotate(args) => keys::rotate(args),
        SamlCommand::Show { file, host } => show::show(&file, host.as_deref()),
        SamlCommand::Cert { file, next } => show::cert(&file, next),
    }
}

pub(super) fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

pub(super) fn master(file: Option<&Path>) -> Result<MasterKey, CliError> {
    secrets::master_key(file)?.ok_or(CliError::NoMasterKey)
}

/// What to do after an app file is written: push, then hand the SP the IdP metadata.
pub(super) fn next_steps(tenant: &str, app: &SamlApp, dir: &Path) {
    println!(
        "Next: edge-idp push {} --remote, then give the SP the IdP metadata:\n  https://<{tenant} host>/saml/{}/metadata   (?download=1 for a file)\nIdP-initiated login: https://<{tenant} host>/saml/{}/login",
        dir.display(),
        app.id,
        app.id
    );
}
