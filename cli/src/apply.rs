//! `edge-idp plan` and `edge-idp apply`: bring one tenant's keys in a store to what its tenant
//! file says (or delete them all), showing the difference first. Given several files, the
//! store is read once for all of them and each phase of the writes is one call for all tenants.

use std::collections::BTreeMap;
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
use crate::snapshot::{Snapshot, Source};
use crate::spin_cloud;
use crate::store::Target;
use crate::target_args::TargetArgs;
use crate::tenant_file::{self, TenantFile};

/// The exit code of `plan` when there is something to do (0: nothing, 1: an error).
const CHANGES_PENDING: u8 = 2;

/// What `plan` takes (and `apply`, with `--yes`).
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// The tenant file (TOML; see docs/tenant-file.md); several files plan or apply several
    /// tenants at once.
    #[arg(
        value_name = "FILE",
        required_unless_present = "delete_tenant",
        conflicts_with = "delete_tenant"
    )]
    pub files: Vec<PathBuf>,
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

/// The plans, each with what it was made from, and the store they are for.
struct Made {
    plans: Vec<(String, Plan)>,
    target: Target,
}

/// Reads what is deployed and what the files (or `--delete-tenant`) want, and compares them.
fn make(args: &PlanArgs) -> Result<Made, CliError> {
    let target = args.target.target()?;
    if let Some(tenant) = &args.delete_tenant {
        warn_empty_mirror(&target, tenant)?;
        let on_store = deployed::read(&target, tenant, &[], true)?;
        return Ok(Made {
            plans: vec![(
                "--delete-tenant".to_owned(),
                plan::compute(None, &on_store, &[])?,
            )],
            target,
        });
    }
    let master = master_key(args.master_key_file.as_deref())?.ok_or(CliError::NoMasterKey)?;
    let files = load_all(&args.files)?;
    let plans = if let [(path, file)] = files.as_slice() {
        // One tenant: a few reads of the store itself.
        let made = plan_loaded(file, &target, &master, &args.move_hosts, args.rotate_keys)?;
        vec![(path.display().to_string(), made.plan)]
    } else {
        let tenants = files.iter().map(|(_, f)| f.tenant.clone()).collect();
        let snapshot = Snapshot::read(&target, &tenants)?;
        let mut plans = Vec::with_capacity(files.len());
        for (path, file) in &files {
            let hosts = file.hostnames();
            let moves: Vec<HostMove> = (args.move_hosts.iter())
                .filter(|m| hosts.contains(&m.host))
                .cloned()
                .collect();
            let made = plan_loaded(file, &snapshot, &master, &moves, args.rotate_keys)?;
            plans.push((path.display().to_string(), made.plan));
        }
        plans
    };
    for (_, plan) in &plans {
        warn_empty_mirror(&target, &plan.tenant)?;
    }
    within_limits(plans.iter().map(|(_, p)| p), &target)?;
    Ok(Made { plans, target })
}

/// Loads every file; refuses two files for one tenant or one hostname in two files.
fn load_all(paths: &[PathBuf]) -> Result<Vec<(PathBuf, TenantFile)>, CliError> {
    let mut tenants = BTreeMap::new();
    let mut hosts = BTreeMap::new();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let file = tenant_file::load(path)?;
        let shown = path.display().to_string();
        if let Some(other) = tenants.insert(file.tenant.clone(), shown.clone()) {
            return Err(CliError::Usage(format!(
                "{other} and {shown} both describe tenant {}; nothing was read or written",
                file.tenant
            )));
        }
        for host in file.hostnames() {
            if let Some(other) = hosts.insert(host.clone(), shown.clone()) {
                return Err(CliError::Usage(format!(
                    "{other} and {shown} both list the hostname {host}; nothing was read or written"
                )));
            }
        }
        files.push((path.clone(), file));
    }
    Ok(files)
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
fn within_limits<'a>(
    plans: impl Iterator<Item = &'a Plan>,
    target: &Target,
) -> Result<(), CliError> {
    let mut puts = Vec::new();
    let mut deletes = Vec::new();
    for plan in plans {
        for batch in plan.batches() {
            match batch {
                Batch::Put(entries) => puts.extend(entries),
                Batch::Delete(keys) => deletes.extend(keys),
            }
        }
        if !plan.is_empty() {
            puts.extend(spin_cloud::manifest_to_check(target, &plan.tenant));
        }
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
    plan_loaded(&file, target, master, moves, rotate_keys)
}

/// The plan that brings the tenant's keys, as `source` has them, to what `file` says.
fn plan_loaded(
    file: &TenantFile,
    source: &impl Source,
    master: &MasterKey,
    moves: &[HostMove],
    rotate_keys: bool,
) -> Result<FilePlan, CliError> {
    let on_store = deployed::read(source, &file.tenant, &file.hostnames(), false)?;
    let env = |name: &str| std::env::var(name).ok();
    let mut prompt = secret_ref::prompt_stdin;
    let mut inputs = Inputs {
        master,
        rotate_keys,
        env: &env,
        prompt: &mut prompt,
    };
    let wanted = desired::build(file, &on_store, &mut inputs)?;
    Ok(FilePlan {
        plan: plan::compute(Some(&wanted), &on_store, moves)?,
        file_config_version: wanted.file_config_version,
    })
}

/// `edge-idp plan`: prints the plans; exit 0 when there is nothing to do, 2 when there is.
pub fn plan_command(args: &PlanArgs) -> Result<ExitCode, CliError> {
    let made = make(args)?;
    print_plans(&made);
    Ok(if made.plans.iter().all(|(_, plan)| plan.is_empty()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHANGES_PENDING)
    })
}

fn print_plans(made: &Made) {
    let target_name = made.target.describe();
    for (source, plan) in &made.plans {
        print!("{}", plan.render(source, &target_name));
    }
    if made.plans.len() > 1 {
        let pending = made.plans.iter().filter(|(_, p)| !p.is_empty()).count();
        println!(
            "{pending} of {} tenants have changes to apply.",
            made.plans.len()
        );
    }
}

/// `edge-idp apply`: prints the plans, asks (unless `--yes`), then writes them phase by phase:
/// each phase of every plan together, so that each tenant's writes keep their order.
pub fn apply_command(args: &ApplyArgs) -> Result<(), CliError> {
    let made = make(&args.plan)?;
    let target_name = made.target.describe();
    print_plans(&made);
    if made.plans.iter().all(|(_, plan)| plan.is_empty()) {
        return Ok(());
    }
    confirm(args.yes, &target_name)?;
    let mut phases: [Vec<Batch>; 6] = Default::default();
    for (_, plan) in &made.plans {
        for (phase, batch) in phases.iter_mut().zip(plan.phases()) {
            phase.push(batch);
        }
    }
    for phase in phases {
        write_phase(&made.target, phase)?;
    }
    // Last, so that each records what the whole apply left.
    for (_, plan) in made.plans.iter().filter(|(_, p)| !p.is_empty()) {
        spin_cloud::write_manifest(&made.target, &plan.tenant)?;
    }
    println!("Applied to {target_name}.");
    Ok(())
}

/// Writes one phase's batches (all puts or all deletes) in one call to the store.
fn write_phase(target: &Target, batches: Vec<Batch>) -> Result<(), CliError> {
    let mut entries = Vec::new();
    let mut keys = Vec::new();
    for batch in batches {
        match batch {
            Batch::Put(e) => entries.extend(e),
            Batch::Delete(k) => keys.extend(k),
        }
    }
    if !entries.is_empty() {
        target.put(&entries)?;
        for entry in &entries {
            println!("put {}", entry.key);
        }
    }
    if !keys.is_empty() {
        target.delete(&keys)?;
        for key in &keys {
            println!("deleted {key}");
        }
    }
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
