//! Helpers shared by the CLI's black-box tests: run the real binary, make scratch folders, build a
//! tenant folder from kv-schema's examples.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The master key the kv-schema examples are sealed with (bytes 0..31). Never use it for real.
pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A path under kv-schema/examples.
pub fn example(rel: &str) -> PathBuf {
    repo().join("kv-schema/examples").join(rel)
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A command for the binary, with no master key in its environment, and a value cache of the
/// test process's own (never the user's).
pub fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edge-idp"));
    c.args(args)
        .env_remove("EDGE_IDP_MASTER_KEY")
        .env("EDGE_IDP_CACHE_DIR", cache_base());
    c
}

fn cache_base() -> PathBuf {
    std::env::temp_dir().join(format!("edge-idp-cli-tests-{}", std::process::id()))
}

/// The folder of the value cache every run of this test process shares.
pub fn cache_dir() -> PathBuf {
    cache_base().join("kv-values")
}

/// Runs the binary with `stdin` as standard input.
pub fn run_with(mut c: Command, stdin: &str) -> Run {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The program may exit before reading its input (a refused command): ignore a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap().into()
}

/// Runs the binary with empty standard input.
pub fn run(c: Command) -> Run {
    run_with(c, "")
}

/// Runs the binary with the examples' master key in EDGE_IDP_MASTER_KEY.
pub fn run_keyed(args: &[&str]) -> Run {
    let mut c = cmd(args);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
    run(c)
}

/// A fresh empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a complete tenant folder `parent/acme` from the examples (sealed with MASTER_KEY for
/// tenant acme): tenant.json, keys.json, saml/moodle.json, oidc/community-portal.json,
/// bridge/events.json. Returns the folder.
pub fn acme_folder(parent: &Path) -> PathBuf {
    let dir = parent.join("acme");
    for (from, to) in [
        ("tenant/valid-acme-cloud.json", "tenant.json"),
        ("keys/valid-rotation.json", "keys.json"),
        ("saml-app/valid-with-more-fields.json", "saml/moodle.json"),
        (
            "oidc-client/valid-minimal.json",
            "oidc/community-portal.json",
        ),
        ("bridge-app/valid-minimal.json", "bridge/events.json"),
    ] {
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(example(from), to).unwrap();
    }
    dir
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Writes a JSON value to a file, pretty.
pub fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}
