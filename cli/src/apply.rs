//! `edge-idp plan` and `edge-idp apply`: bring one tenant's keys in a store to what its tenant
//! file says (or delete them all), showing the difference first.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use edge_idp::seal::MasterKey;

use crate::deployed;
use crate::desired::{self, Inputs};
use crate::error::CliError;
use crate::limits;
use crate::plan::{self, Batch, Plan};
use crate::push::HostMove;
use crate::secret_ref;
use crate::secrets::{is_tenant_id, master_key};
use crate::spin_cloud;
use crate::store::Target;
use crate::target_args::TargetArgs;
use crate::tenant_file;

/// The exit code of `plan` when there is something to do (0: nothing, 1: an error).
const CHANGES_PENDING: u8 = 2;

/// What `plan` takes (and `apply`, with `--yes`).
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// The tenant file (TOML; see docs/tenant-file.md).
    #[arg(
        value_name = "FILE",
        required_unless_present = "delete_tenant",
        conflicts_with = "delete_tenant"
    )]
    pub file: Option<PathBuf>,
    /// Instead of a file: every key of this tenant and every hostname naming it, removed.
    #[arg(long, value_name = "TENANT_ID", value_parser = tenant_id)]
    pub delete_tenant: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Move HOST, one of the file's hostnames, from the tenant that owns it now (repeatable).
    ///
    /// Without it, a hostname that belongs to another tenant is refused and nothing is written.
    /// FROM_TENANT must be its current owner.
    #[arg(
        long = "move-host",
        value_name = "HOST=FROM_TENANT",
        conflicts_with = "delete_tenant"
    )]
    pub move_hosts: Vec<HostMove>,
    /// Rotate the tenant's signing keys: next signs, current stays published as previous, a new
    /// next is made (only when the file has no [keys]).
    #[arg(long, conflicts_with = "delete_tenant")]
    pub rotate_keys: bool,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

/// What `apply` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Apply without asking (needed when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

fn tenant_id(s: &str) -> Result<String, String> {
    if is_tenant_id(s) {
        Ok(s.to_owned())
    } else {
        Err("a tenant id: lowercase letters, digits and '-'".to_owned())
    }
}

/// A plan, and what it was made from and for.
struct Made {
    plan: Plan,
    source: String,
    target: Target,
}

/// Reads what is deployed and what the file (or `--delete-tenant`) wants, and compares them.
fn make(args: &PlanArgs) -> Result<Made, CliError> {
    let target = args.target.target()?;
    if let Some(tenant) = &args.delete_tenant {
        warn_empty_mirror(&target, tenant)?;
        let on_store = deployed::read(&target, tenant, &[], true)?;
        return Ok(Made {
            plan: plan::compute(None, &on_store, &[])?,
            source: "--delete-tenant".to_owned(),
            target,
        });
    }
    let Some(path) = &args.file else {
        return Err(CliError::Usage(
            "give a tenant file, or --delete-tenant TENANT_ID".to_owned(),
        ));
    };
    let master = master_key(args.master_key_file.as_deref())?.ok_or(CliError::NoMasterKey)?;
    let made = plan_file(path, &target, &master, &args.move_hosts, args.rotate_keys)?;
    warn_empty_mirror(&target, &made.plan.tenant)?;
    within_limits(&made.plan, &target)?;
    Ok(Made {
        plan: made.plan,
        source: path.display().to_string(),
        target,
    })
}

/// Says on stderr when the plan is made from an empty Fermyon Cloud mirror.
fn warn_empty_mirror(target: &Target, tenant: &str) -> Result<(), CliError> {
    if let Some(warning) = spin_cloud::empty_mirror_warning(target, tenant)? {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// Refuses a plan whose keys or values the store would refuse (so `plan` shows what `apply`
/// would refuse), and warns when the store would hold too many keys.
fn within_limits(plan: &Plan, target: &Target) -> Result<(), CliError> {
    let mut puts = Vec::new();
    let mut deletes = Vec::new();
    for batch in plan.batches() {
        match batch {
            Batch::Put(entries) => puts.extend(entries),
            Batch::Delete(keys) => deletes.extend(keys),
        }
    }
    if !plan.is_empty() {
        puts.extend(spin_cloud::manifest_to_check(target, &plan.tenant));
    }
    limits::check(target, &puts, &deletes)
}

/// The plan of a tenant file, and what the file itself says.
pub struct FilePlan {
    /// What `apply` would do.
    pub plan: Plan,
    /// The file's own `config_version`, if it gives one.
    pub file_config_version: Option<u64>,
}

/// The plan that brings the tenant's keys in `target` to what the file at `path` says.
pub fn plan_file(
    path: &Path,
    target: &Target,
    master: &MasterKey,
    moves: &[HostMove],
    rotate_keys: bool,
) -> Result<FilePlan, CliError> {
    let file = tenant_file::load(path)?;
    let on_store = deployed::read(target, &file.tenant, &file.hostnames(), false)?;
    let env = |name: &str| std::env::var(name).ok();
    let mut prompt = secret_ref::prompt_stdin;
    let mut inputs = Inputs {
        master,
        rotate_keys,
        env: &env,
        prompt: &mut prompt,
    };
    let wanted = desired::build(&file, &on_store, &mut inputs)?;
    Ok(FilePlan {
        plan: plan::compute(Some(&wanted), &on_store, moves)?,
        file_config_version: wanted.file_config_version,
    })
}

/// `edge-idp plan`: prints the plan; exit 0 when there is nothing to do, 2 when there is.
pub fn plan_command(args: &PlanArgs) -> Result<ExitCode, CliError> {
    let made = make(args)?;
    print!(
        "{}",
        made.plan.render(&made.source, &made.target.describe())
    );
    Ok(if made.plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHANGES_PENDING)
    })
}

/// `edge-idp apply`: prints the plan, asks (unless `--yes`), then writes it in order.
pub fn apply_command(args: &ApplyArgs) -> Result<(), CliError> {
    let made = make(&args.plan)?;
    let target_name = made.target.describe();
    print!("{}", made.plan.render(&made.source, &target_name));
    if made.plan.is_empty() {
        return Ok(());
    }
    confirm(args.yes, &target_name)?;
    for batch in made.plan.batches() {
        match batch {
            Batch::Put(entries) => {
                made.target.put(&entries)?;
                for entry in &entries {
                    println!("put {}", entry.key);
                }
            }
            Batch::Delete(keys) => {
                made.target.delete(&keys)?;
                for key in &keys {
                    println!("deleted {key}");
                }
            }
        }
    }
    // Last, so that it records what the whole apply left.
    spin_cloud::write_manifest(&made.target, &made.plan.tenant)?;
    println!("Applied to {target_name}.");
    Ok(())
}

/// Goes ahead with `--yes`, else asks at the terminal; never without a terminal to ask at.
fn confirm(yes: bool, target: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(
            "standard input is not a terminal, so apply cannot ask: review the plan above and \
             run again with --yes; nothing was written"
                .to_owned(),
        ));
    }
    eprint!("Apply this plan to {target}? Only 'yes' applies it: ");
    // A failed prompt only loses the question; the answer is still read.
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::io("cannot read", "the terminal", e))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CliError::Usage(
            "not confirmed; nothing was written".to_owned(),
        ))
    }
}
