//! The command-line flags that pick the store `push`, `plan` and `apply` work on.

use std::path::PathBuf;

use clap::ArgGroup;

use crate::error::CliError;
use crate::store::Target;

/// Where to read and write: Workers KV (local or remote, through wrangler) or the local Spin
/// store.
#[derive(Debug, Clone, clap::Args)]
#[command(group(ArgGroup::new("where").required(true).args(["local", "remote"])))]
pub struct TargetArgs {
    /// Use the local development store.
    #[arg(long)]
    pub local: bool,
    /// Use the deployed store.
    #[arg(long)]
    pub remote: bool,
    /// Use Fermyon Spin instead of Cloudflare Workers.
    #[arg(long)]
    pub spin: bool,
    /// Workers, local: wrangler's persistence folder (as given to `wrangler dev --persist-to`).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["spin", "remote"])]
    pub persist_to: Option<PathBuf>,
    /// Spin, local: the key-value folder the local runtime serves (values go to DIR/default/).
    #[arg(long, value_name = "DIR", requires = "spin")]
    pub kv_dir: Option<PathBuf>,
    /// Workers: wrangler configuration file (default: the one wrangler finds).
    #[arg(long, value_name = "PATH", conflicts_with = "spin")]
    pub wrangler_config: Option<PathBuf>,
    /// Workers: KV namespace binding holding tenant config.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "TENANTS",
        conflicts_with = "spin"
    )]
    pub binding: String,
    /// Workers: the wrangler program.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "wrangler",
        conflicts_with = "spin"
    )]
    pub wrangler_bin: PathBuf,
}

impl TargetArgs {
    /// The store the flags name.
    pub fn target(&self) -> Result<Target, CliError> {
        match (self.spin, self.local) {
            (true, false) => Err(spin_remote_unsupported()),
            (true, true) => Ok(Target::SpinLocal {
                kv_dir: self.kv_dir.clone().ok_or_else(|| {
                    CliError::Usage(
                        "--spin --local needs --kv-dir DIR (the folder the local Spin runtime's \
                         key-value store reads)"
                            .to_owned(),
                    )
                })?,
            }),
            (false, local) => Ok(Target::Workers {
                wrangler: self.wrangler_bin.clone(),
                binding: self.binding.clone(),
                local: local.then(|| self.persist_to.clone()),
                config: self.wrangler_config.clone(),
            }),
        }
    }
}

/// The message for `--spin --remote`, which is not implemented.
fn spin_remote_unsupported() -> CliError {
    CliError::SpinRemoteUnsupported(
        "writing to a remote Spin app is not supported yet.\n\
         Spin's own tooling can write the same keys: `spin up --key-value KEY=VALUE` (repeatable) \
         sets pairs in the application's default store when it starts, and on Fermyon Cloud the \
         cloud plugin has `spin cloud kv set` (check `spin cloud kv set --help` for its flags; \
         not verified here).\n\
         To see the exact keys, run `edge-idp push <tenant-dir> --spin --local --kv-dir <dir>`: it \
         prints every key, and <dir>/default/<hex of the key> holds each value."
            .to_owned(),
    )
}
