//! `edge-idp status HOST`: which tenant serves a hostname, whether its deployed configuration is
//! the tenant file's, whether iMIS answers it (the runtime's `/healthz?deep=1`, opened with the
//! admin token derived from the master key), and how its signing keys stand.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::apply::plan_file;
use crate::deployed;
use crate::error::CliError;
use crate::health::Probe;
use crate::push::owner_of;
use crate::secrets::master_key;
use crate::status_report::{keys_of, FileState, Report};
use crate::target_args::TargetArgs;
use crate::tenant_file;
use edge_idp::kv_key;

/// What `status` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The hostname, as in the tenant's `hostnames`.
    #[arg(value_name = "HOST")]
    pub host: String,
    /// The tenant's file: also say whether what is deployed is what it says.
    #[arg(long, value_name = "TENANT.toml")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Ask the health check at BASE (scheme, host, port) instead of https://HOST, still with
    /// HOST as the Host header, e.g. https://127.0.0.1:8787 for a local stack. Plain http is
    /// accepted only to a loopback address (tests, local stacks): the admin token must never
    /// cross a network in clear.
    #[arg(long, value_name = "BASE")]
    pub url: Option<String>,
    /// Accept any TLS certificate (a local stack's self-signed one).
    #[arg(long)]
    pub insecure: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

/// `edge-idp status`: prints the report; exit 0 when healthy, 1 when anything needs attention.
pub fn status_command(args: &StatusArgs) -> Result<ExitCode, CliError> {
    let report = report(args)?;
    print!("{}", report.render());
    Ok(if report.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reads the store, plans the file (if any) and asks the runtime.
fn report(args: &StatusArgs) -> Result<Report, CliError> {
    let host = args.host.trim().trim_end_matches('.').to_ascii_lowercase();
    let probe = Probe::new(&host, args.url.as_deref(), args.insecure)?;
    let target = args.target.target()?;
    let master = master_key(args.master_key_file.as_deref())?.ok_or(CliError::NoMasterKey)?;

    let key = kv_key::host(&host);
    let Some(bytes) = target.get(&key)? else {
        return Err(CliError::Usage(format!(
            "{key} is not in {}: no tenant serves {host} there",
            target.describe()
        )));
    };
    let tenant = owner_of(&key, &bytes)?;
    let on_store = deployed::read(&target, &tenant, &[], false)?;
    let file = match &args.file {
        Some(path) => {
            // Before planning: another tenant's file would only be refused for taking HOST.
            let file_tenant = tenant_file::load(path)?.tenant;
            if file_tenant != tenant {
                return Err(CliError::Usage(format!(
                    "{} is tenant {file_tenant}'s file, but {host} belongs to tenant {tenant}",
                    path.display(),
                )));
            }
            let made = plan_file(path, &target, &master, &[], false)?;
            Some(FileState {
                path: path.display().to_string(),
                config_version: made.file_config_version,
                changes: made.plan.steps.len(),
            })
        }
        None => None,
    };
    let token = edge_idp::healthz::admin_token(&master, &tenant);
    let health = probe.check(&token);
    let (saml, oidc) = keys_of(&on_store);
    let disabled = on_store
        .get(&kv_key::tenant(&tenant))
        .and_then(|t| t.get("disabled"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Ok(Report {
        host,
        tenant,
        store: target.describe(),
        deployed_version: on_store.config_version(),
        from_mirror: matches!(target, crate::store::Target::SpinCloud { .. }),
        disabled,
        file,
        health,
        saml,
        oidc,
        now: now(),
    })
}

/// Now, in seconds since the epoch.
fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}
