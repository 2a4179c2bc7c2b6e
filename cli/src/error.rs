//! The CLI's errors: what went wrong, in words an admin can act on. No message ever holds a secret.

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Reading or writing a file or folder failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`cannot read`, `cannot write`, …).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// No master key was given.
    #[error(
        "no master key: set EDGE_IDP_MASTER_KEY (base64, 32 bytes) or pass --master-key-file \
         (make one with `edge-idp keygen-master`)"
    )]
    NoMasterKey,
    /// The master key could not be read.
    #[error("master key from {origin} is unusable: {source}")]
    MasterKey {
        /// Where the key came from (the variable or the file).
        origin: String,
        /// Why it cannot be used.
        source: edge_idp::seal::SealError,
    },
    /// The operating system's random generator failed.
    #[error("cannot draw random bytes from the operating system: {0}")]
    Random(getrandom::Error),
    /// The secret to seal was empty.
    #[error(
        "no secret on standard input (pipe it in, e.g. `edge-idp seal --tenant acme < secret.txt`)"
    )]
    EmptySecret,
    /// An argument has the wrong shape.
    #[error("{0}")]
    Usage(String),
    /// Validation found problems (they have been printed).
    #[error("{count} problem(s) found{suffix}")]
    Invalid {
        /// How many problems.
        count: usize,
        /// What this means for the command (`; nothing was pushed`).
        suffix: &'static str,
    },
    /// An embedded schema does not compile: a bug in kv-schema/.
    #[error("embedded schema {kind}.schema.json is broken: {message}")]
    Schema {
        /// The kind whose schema failed.
        kind: &'static str,
        /// The compiler's message.
        message: String,
    },
    /// wrangler could not be started.
    #[error("cannot run {program}: {source} (run scripts/setup, or pass --wrangler-bin)")]
    WranglerStart {
        /// The program tried.
        program: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// wrangler ran and failed.
    #[error(
        "`{command}` failed ({status}); see its output above. Some keys may have been written: fix \
         the cause and run the command again (it writes the same keys again)"
    )]
    WranglerFailed {
        /// The command line, without any value.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// `wrangler kv key get` failed for another reason than a missing key.
    #[error(
        "`{command}` failed ({status}); see its output above. Without the current owner of {key} \
         nothing may be written, so nothing was pushed"
    )]
    WranglerReadFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The key it read.
        key: String,
    },
    /// Some of the pushed tenant's hostnames belong to other tenants (and are not moved), or a
    /// `--move-host` does not name the current owner.
    #[error(
        "refusing to push tenant {tenant}; nothing was pushed:\n  {}",
        reasons.join("\n  ")
    )]
    HostsRefused {
        /// The tenant pushed.
        tenant: String,
        /// One line per hostname.
        reasons: Vec<String>,
    },
    /// Reading the store failed for another reason than a missing key.
    #[error(
        "`{command}` failed ({status}); see its output above. Cannot read {what}, so nothing was \
         written"
    )]
    StoreReadFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The key or keys it read.
        what: String,
    },
    /// A tenant file cannot be read as one.
    #[error("{}: {message}", path.display())]
    TenantFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (never a secret).
        message: String,
    },
    /// A secret field of a tenant file cannot be used.
    #[error("{at}: {message}")]
    Secret {
        /// The document and field (`[tenant] /imis/background_account/password`).
        at: String,
        /// What is wrong (never the value).
        message: String,
    },
    /// Some of the tenant's hostnames belong to other tenants (and are not moved), or a
    /// `--move-host` does not name the current owner: nothing is applied.
    #[error(
        "refusing to apply tenant {tenant}; nothing was written:\n  {}",
        reasons.join("\n  ")
    )]
    ApplyRefused {
        /// The tenant applied.
        tenant: String,
        /// One line per hostname.
        reasons: Vec<String>,
    },
    /// A `host:` key holds something else than a host mapping: its owner is unknown.
    #[error(
        "{key} holds a value that is not a host mapping ({{\"schema_version\":1,\"tenant\":…}}), so \
         its owner is unknown; look at it with `wrangler kv key get` (Workers) or in the Spin store \
         (for Fermyon Cloud, its local mirror), and delete it if it is stale; nothing was pushed"
    )]
    HostUnreadable {
        /// The key.
        key: String,
    },
    /// A key or value is larger than the store takes: nothing is written.
    #[error(
        "refusing to write; nothing was written:\n  {}",
        reasons.join("\n  ")
    )]
    LimitsExceeded {
        /// One line per key or value, naming the key and the limit.
        reasons: Vec<String>,
    },
    /// `spin` could not be started.
    #[error(
        "cannot run {program}: {source} (install Spin and its cloud plugin, `spin plugins install \
         cloud`, log in with `spin cloud login`, or pass --spin-bin)"
    )]
    SpinStart {
        /// The program tried.
        program: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// `spin cloud kv set` ran and failed.
    #[error(
        "`{command}` failed ({status}); see its output above. The keys of earlier calls were \
         written, and only those are in the mirror {}; fix the cause and run the command again",
        mirror.display()
    )]
    SpinFailed {
        /// The command line, with each key and no value.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The local mirror of the store.
        mirror: PathBuf,
    },
    /// `tenant init` would overwrite a file.
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
}

impl CliError {
    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CliError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
