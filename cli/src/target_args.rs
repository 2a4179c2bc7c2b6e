//! The command-line flags that pick the store `push`, `plan` and `apply` work on.

use std::path::PathBuf;

use clap::ArgGroup;

use crate::error::CliError;
use crate::spin_cloud::CloudStore;
use crate::store::Target;

/// Where to read and write: Workers KV (local or remote, through wrangler), the local Spin
/// store, or a Spin app's store on Fermyon Cloud (written with `spin cloud kv set`, read from a
/// local mirror).
#[derive(Debug, Clone, clap::Args)]
#[command(group(ArgGroup::new("where").required(true).args(["local", "remote"])))]
#[command(group(ArgGroup::new("cloud_store").args(["store", "app"])))]
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
    #[arg(long, value_name = "DIR", requires = "spin", conflicts_with = "remote")]
    pub kv_dir: Option<PathBuf>,
    /// Spin, remote (Fermyon Cloud): the key-value store, by name.
    #[arg(long, value_name = "NAME", requires = "spin", conflicts_with = "local")]
    pub store: Option<String>,
    /// Spin, remote (Fermyon Cloud): the app whose store to use, with --label.
    #[arg(
        long,
        value_name = "APP",
        requires_all = ["spin", "label"],
        conflicts_with = "local"
    )]
    pub app: Option<String>,
    /// Spin, remote (Fermyon Cloud): the store label the app links (this project's spin.toml
    /// uses `default`), with --app.
    #[arg(long, value_name = "LABEL", requires = "app")]
    pub label: Option<String>,
    /// Spin, remote (Fermyon Cloud): the local mirror of what was written there, which every
    /// read uses (default: .edge-idp/spin-cloud/store/NAME or .edge-idp/spin-cloud/app/APP/LABEL
    /// under the current folder). Keep it in version control or on shared storage.
    #[arg(long, value_name = "DIR", requires = "spin", conflicts_with = "local")]
    pub mirror: Option<PathBuf>,
    /// Spin, remote (Fermyon Cloud): the spin program, with its cloud plugin (default: spin).
    #[arg(long, value_name = "PATH", requires = "spin", conflicts_with = "local")]
    pub spin_bin: Option<PathBuf>,
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
            (true, false) => {
                let store = self.cloud_store()?;
                let mirror = match &self.mirror {
                    Some(dir) => dir.clone(),
                    None => store.default_mirror()?,
                };
                Ok(Target::SpinCloud {
                    spin: self.spin_bin.clone().unwrap_or_else(|| "spin".into()),
                    store,
                    mirror,
                })
            }
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

    /// The Fermyon Cloud store of `--store`, or of `--app` and `--label`.
    fn cloud_store(&self) -> Result<CloudStore, CliError> {
        match (&self.store, &self.app, &self.label) {
            (Some(name), None, None) => Ok(CloudStore::Named(name.clone())),
            (None, Some(app), Some(label)) => Ok(CloudStore::Linked {
                app: app.clone(),
                label: label.clone(),
            }),
            _ => Err(CliError::Usage(
                "--spin --remote writes to a key-value store on Fermyon Cloud: name it with \
                 --store NAME, or with --app APP --label LABEL (see `spin cloud kv list`). Other \
                 self-hosted Spin setups are not written by this CLI: `push --spin --local \
                 --kv-dir DIR` shows the keys to write with their backend's own tools"
                    .to_owned(),
            )),
        }
    }
}
