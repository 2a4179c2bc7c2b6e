//! `edge-idp` — the admin CLI of the edge identity provider for iMIS.
//!
//! It starts a tenant folder (`tenant init`), seals its secrets with the master key (`seal`,
//! `keygen-master`), validates folders and files against the JSON Schemas of `kv-schema/`
//! (embedded in the binary) and pushes a valid folder to Workers KV through wrangler, to the
//! local Spin key-value store, or to a Spin app's store on Fermyon Cloud through `spin cloud kv
//! set` (`push`). `plan` and `apply` do the same from one declarative
//! tenant file, deleting what the file no longer has; `status` shows how a deployed hostname
//! stands. Secrets are read from standard input or files, never from
//! the command line, and are never printed.

mod apply;
mod bridge;
mod check;
mod deployed;
mod desired;
mod error;
mod health;
mod init;
mod kind;
mod limits;
mod oidc;
mod plan;
mod push;
mod saml;
mod secret_ref;
mod secrets;
mod snapshot;
mod spin_cloud;
mod status;
mod status_report;
mod store;
mod target_args;
mod tenant_file;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;
use crate::kind::Kind;

/// Admin CLI of the edge identity provider for iMIS.
#[derive(Debug, Parser)]
#[command(name = "edge-idp", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate tenant folders or single files against kv-schema (exit 1 on any problem).
    ///
    /// A folder is read as a tenant folder: tenant.json, keys.json, saml/*.json, oidc/*.json,
    /// bridge/*.json. A single file's kind comes from its place (tenant.json, keys.json, a file in
    /// saml/, oidc/ or bridge/, or in a folder named after a kind) or from --kind. Sealed values
    /// are opened when a master key is given (EDGE_IDP_MASTER_KEY or --master-key-file).
    Validate {
        /// Tenant folders or files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Kind of every file given (instead of guessing it from the file's place).
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Tenant of files outside a tenant folder, to open their sealed values.
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
        #[arg(long, value_name = "PATH")]
        master_key_file: Option<PathBuf>,
    },
    /// Seal a secret for a tenant: reads it from standard input, prints "sealed:v1:…".
    Seal {
        /// The tenant the secret belongs to (it opens for this tenant only).
        #[arg(long, value_name = "ID")]
        tenant: String,
        /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
        #[arg(long, value_name = "PATH")]
        master_key_file: Option<PathBuf>,
    },
    /// Print a fresh random master key (base64 of 32 bytes).
    KeygenMaster,
    /// Validate a tenant folder, then write its keys to Workers KV or a Spin store.
    ///
    /// Each hostname of tenant.json becomes a key host:<hostname> naming the tenant. Before writing
    /// anything, push reads the current owner of each of them from the store it writes to (wrangler
    /// kv key get for Workers, the store's files for local Spin, the local mirror for Fermyon
    /// Cloud) and refuses the whole push when
    /// one belongs to another tenant, unless it is moved with --move-host HOST=FROM_TENANT. A
    /// hostname the tenant already owns, or that nobody owns, needs nothing.
    Push(PushArgs),
    /// Compare a tenant file with what is deployed and print the difference (writes nothing).
    ///
    /// Lists the keys to add, to change (with the top-level fields that differ; a sealed value
    /// is never shown, only "(sealed value changed)"), and to remove (keys of the tenant and
    /// host:<name> keys naming it that the file no longer has); hostnames moved from another
    /// tenant; signing keys rotated. Workers KV is read through wrangler (kv key list --prefix,
    /// kv key get), the local Spin store from its files, a store on Fermyon Cloud (--spin
    /// --remote) from the local mirror of what the CLI wrote there (--mirror). Needs the master
    /// key
    /// (EDGE_IDP_MASTER_KEY or --master-key-file), except with --delete-tenant.
    ///
    /// Exit status: 0 when there is nothing to do, 2 when there are changes, 1 on error.
    Plan(apply::PlanArgs),
    /// Make what is deployed match a tenant file: print the plan, ask, write it.
    ///
    /// Asks for confirmation at the terminal unless --yes (and refuses to run without --yes
    /// when standard input is not a terminal). Writes apps and keys, then the tenant, then its
    /// hostnames; deletes the hostnames it no longer has first and its other removed keys last;
    /// bumps config_version whenever anything changes. --delete-tenant removes every key of a
    /// tenant and of its hostnames instead.
    Apply(apply::ApplyArgs),
    /// Show how a deployed hostname stands: its tenant and config_version (and, with --file,
    /// whether the file is applied), whether iMIS answers, and its signing keys.
    ///
    /// Reads host:HOST and the tenant's keys from the store (the same flags as plan), then asks
    /// https://HOST/healthz?deep=1 with the tenant's admin token, derived from the master key
    /// (EDGE_IDP_MASTER_KEY or --master-key-file); the token is never printed. Lists each SAML
    /// app's certificate end (a warning under 30 days) and staged next key, and the OIDC keys.
    ///
    /// Exit status: 0 when healthy; 1 when iMIS is offline or cannot be checked, a SAML
    /// certificate ends within 30 days, the file is not applied, or on error.
    Status(Box<status::StatusArgs>),
    /// Token-bridge apps of a tenant folder (bridge/{app}.json).
    Bridge {
        #[command(subcommand)]
        command: BridgeCommand,
    },
    /// OIDC clients of a tenant folder.
    Oidc {
        #[command(subcommand)]
        command: OidcCommand,
    },
    /// OIDC signing keys of a tenant folder (keys.json).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Tenant folders.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// SAML client apps: add, import SP metadata, keygen, rotate, cert.
    Saml {
        #[command(subcommand)]
        command: saml::SamlCommand,
    },
}

#[derive(Debug, clap::Args)]
struct PushArgs {
    /// The tenant folder.
    #[arg(value_name = "TENANT_DIR")]
    dir: PathBuf,
    #[command(flatten)]
    target: target_args::TargetArgs,
    /// File holding the base64 master key, to check that sealed values open.
    #[arg(long, value_name = "PATH")]
    master_key_file: Option<PathBuf>,
    /// Move HOST, one of the folder's hostnames, from another tenant to this one (repeatable).
    ///
    /// Without it, a hostname that belongs to another tenant is refused and nothing is pushed.
    /// FROM_TENANT must be the tenant that owns HOST now (the one it leaves): a move naming any
    /// other tenant, or a hostname nobody else owns, is refused too. The move is printed.
    #[arg(long = "move-host", value_name = "HOST=FROM_TENANT")]
    move_hosts: Vec<push::HostMove>,
}

#[derive(Debug, Subcommand)]
enum BridgeCommand {
    /// Write bridge/<id>.json with a fresh vendor API secret; prints the secret once (stdout).
    Add(Box<bridge::Add>),
    /// Replace an app's vendor API secret; prints the new secret once (stdout). The old one
    /// keeps working for --overlap-hours, so the vendor can switch without an outage.
    RotateSecret {
        /// The tenant folder.
        #[arg(value_name = "TENANT_DIR")]
        dir: PathBuf,
        /// App id.
        #[arg(long)]
        id: String,
        /// How long the old secret keeps working after the push (0: not at all).
        #[arg(long, default_value_t = 24)]
        overlap_hours: u64,
    },
}

#[derive(Debug, Subcommand)]
enum OidcCommand {
    /// Register a client: writes oidc/<id>.json and prints its secret once.
    Add(Box<oidc::AddArgs>),
    /// Give a confidential client a new secret (printed once). The old one keeps working for
    /// --overlap-hours, so the client can switch without an outage.
    RotateSecret {
        /// The tenant folder.
        #[arg(value_name = "TENANT_DIR")]
        dir: PathBuf,
        /// The client_id.
        #[arg(long)]
        id: String,
        /// How long the old secret keeps working after the push (0: not at all).
        #[arg(long, default_value_t = 24)]
        overlap_hours: u64,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Write keys.json: current and next RSA keys and an ES256 key (private parts sealed).
    Init {
        /// The tenant folder.
        #[arg(value_name = "TENANT_DIR")]
        dir: PathBuf,
        /// RSA key size (2048 or 4096).
        #[arg(long, default_value_t = 2048, value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["2048", "4096"]), |s: String| s.parse::<usize>().unwrap_or(2048)))]
        bits: usize,
        /// Replace an existing keys.json.
        #[arg(long)]
        force: bool,
        /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
        #[arg(long, value_name = "PATH")]
        master_key_file: Option<PathBuf>,
    },
    /// Rotate: next signs, current stays published as previous, a new next is made.
    Rotate {
        /// The tenant folder.
        #[arg(value_name = "TENANT_DIR")]
        dir: PathBuf,
        /// RSA key size of the new next key (2048 or 4096).
        #[arg(long, default_value_t = 2048, value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["2048", "4096"]), |s: String| s.parse::<usize>().unwrap_or(2048)))]
        bits: usize,
        /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
        #[arg(long, value_name = "PATH")]
        master_key_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Write a starter tenant.json (secrets as named placeholders) and print the next steps.
    Init {
        /// Tenant id (lowercase letters, digits and '-').
        #[arg(long)]
        id: String,
        /// Organisation name.
        #[arg(long)]
        name: String,
        /// Custom hostname (repeatable).
        #[arg(long = "host", value_name = "HOSTNAME", required = true)]
        hosts: Vec<String>,
        /// Identity mode.
        #[arg(long, value_enum)]
        mode: init::Mode,
        /// The iMIS web site, e.g. https://members.example.org.
        #[arg(long, value_name = "URL")]
        imis_base_url: String,
        /// Output folder (default: tenants/<id>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints clap's message. Its usage errors exit 2, except for `plan`, whose 2 means "changes
/// to make": a script must never read a mistyped flag as a plan.
fn usage_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    let plan = std::env::args_os().nth(1).is_some_and(|a| a == "plan");
    if plan && e.use_stderr() {
        ExitCode::FAILURE
    } else {
        ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
    }
}

fn run(command: Command) -> Result<ExitCode, CliError> {
    let done = match command {
        Command::Plan(args) => return apply::plan_command(&args),
        Command::Apply(args) => apply::apply_command(&args),
        Command::Status(args) => return status::status_command(&args),
        Command::Validate {
            paths,
            kind,
            tenant,
            master_key_file,
        } => validate(paths, kind, tenant, master_key_file),
        Command::Seal {
            tenant,
            master_key_file,
        } => secrets::seal_command(&tenant, master_key_file.as_deref()),
        Command::KeygenMaster => secrets::keygen_command(),
        Command::Push(args) => push(args),
        Command::Bridge {
            command: BridgeCommand::Add(args),
        } => bridge::add(&args),
        Command::Bridge {
            command:
                BridgeCommand::RotateSecret {
                    dir,
                    id,
                    overlap_hours,
                },
        } => bridge::rotate_secret(&dir, &id, overlap_hours),
        Command::Oidc {
            command: OidcCommand::Add(args),
        } => oidc::add(&args),
        Command::Oidc {
            command:
                OidcCommand::RotateSecret {
                    dir,
                    id,
                    overlap_hours,
                },
        } => oidc::rotate_secret(&dir, &id, overlap_hours),
        Command::Keys {
            command:
                KeysCommand::Init {
                    dir,
                    bits,
                    force,
                    master_key_file,
                },
        } => oidc::keys_init(&dir, bits, force, master_key_file.as_deref()),
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    dir,
                    bits,
                    master_key_file,
                },
        } => oidc::keys_rotate(&dir, bits, master_key_file.as_deref()),
        Command::Saml { command } => saml::run(command),
        Command::Tenant {
            command:
                TenantCommand::Init {
                    id,
                    name,
                    hosts,
                    mode,
                    imis_base_url,
                    out,
                },
        } => init::init(&init::Init {
            id,
            name,
            hosts,
            mode,
            imis_base_url,
            out,
        }),
    };
    done.map(|()| ExitCode::SUCCESS)
}

fn validate(
    paths: Vec<PathBuf>,
    kind: Option<Kind>,
    tenant: Option<String>,
    master_key_file: Option<PathBuf>,
) -> Result<(), CliError> {
    let options = check::Options {
        kind,
        tenant,
        master: secrets::master_key(master_key_file.as_deref())?,
    };
    let report = check::validate(&paths, &options)?;
    let failed: HashSet<&PathBuf> = report.problems.iter().map(|p| &p.file).collect();
    for doc in &report.documents {
        if !failed.contains(&doc.path) {
            println!("ok {} ({})", doc.path.display(), doc.kind().name());
        }
    }
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Invalid {
            count: report.problems.len(),
            suffix: "",
        })
    }
}

fn push(args: PushArgs) -> Result<(), CliError> {
    let target = args.target.target()?;
    let options = check::Options {
        master: secrets::master_key(args.master_key_file.as_deref())?,
        ..check::Options::default()
    };
    push::push(&args.dir, &target, &options, &args.move_hosts)
}
