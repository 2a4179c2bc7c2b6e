//! Secrets in a tenant file: references (`env:NAME`, `file:PATH`, `prompt`) or values already
//! sealed (`sealed:v1:…`); clear text is refused.
//!
//! A secret field's reference is resolved to its plaintext, which never leaves memory: it is
//! sealed for the tenant before anything is written, and compared with what is deployed by
//! opening the deployed value. Sealing draws a fresh nonce each time, so keeping the deployed
//! sealed value when it opens to the same plaintext is what makes a second plan show no change.
//! A digest field (`client_secret_hash`, `secret_sha256`) may also take a reference: the digest
//! of the secret is stored, never the secret.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use edge_idp::seal::{open_secret, seal_secret, MasterKey, NONCE_LEN};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::CliError;

/// Whether a field named `name` holds a secret that must be sealed (every field the kv-schema
/// documents as sealed).
pub fn is_secret_field(name: &str) -> bool {
    matches!(
        name,
        "password"
            | "client_secret"
            | "jwt_signing_key"
            | "private_key"
            | "validation_key"
            | "decryption_key"
    )
}

/// Whether a field named `name` holds the digest of a secret.
fn is_digest_field(name: &str) -> bool {
    matches!(name, "client_secret_hash" | "secret_sha256")
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// Already sealed for the tenant (kept as given unless what is deployed opens the same).
    Sealed(String),
    /// An environment variable of the CLI.
    Env(String),
    /// A file, relative to the tenant file (one trailing line break is not part of the secret).
    File(PathBuf),
    /// Typed at the terminal without echo, or one line of standard input when it is not one.
    Prompt,
}

impl SecretRef {
    /// The reference `text` is; `None` for anything else, which is a clear secret.
    pub fn parse(text: &str) -> Option<SecretRef> {
        if text == "prompt" {
            return Some(SecretRef::Prompt);
        }
        if text.starts_with("sealed:") {
            return Some(SecretRef::Sealed(text.to_owned()));
        }
        if let Some(name) = text.strip_prefix("env:") {
            let mut chars = name.chars();
            let first_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            return (first_ok && rest_ok).then(|| SecretRef::Env(name.to_owned()));
        }
        text.strip_prefix("file:")
            .filter(|path| !path.trim().is_empty())
            .map(|path| SecretRef::File(PathBuf::from(path)))
    }
}

/// One secret taken out of a document, to be sealed.
pub struct Secret {
    /// JSON pointer of the field in its document.
    pub pointer: String,
    /// The plaintext.
    plain: String,
    /// The sealed value the file gave, if it gave one.
    given: Option<String>,
}

/// Reads an answer to a prompt for the secret named by the argument.
pub type Prompt<'a> = &'a mut dyn FnMut(&str) -> Result<String, CliError>;

/// What resolving references needs.
pub struct Resolver<'a> {
    /// The folder `file:` references are relative to.
    pub base_dir: PathBuf,
    /// The master key, to open sealed values given in the file.
    pub master: &'a MasterKey,
    /// The tenant the secrets are sealed for.
    pub tenant: String,
    /// Reads an environment variable.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Asks for a `prompt` secret.
    pub prompt: Prompt<'a>,
}

impl Resolver<'_> {
    /// Resolves every secret and digest field of `doc` (named `label` in messages). Digest
    /// references become digests in place; secrets are returned with their plaintext, their
    /// field left empty until `settle` seals them. Refuses clear secrets, naming the field.
    pub fn take_secrets(&mut self, label: &str, doc: &mut Value) -> Result<Vec<Secret>, CliError> {
        let mut fields = Vec::new();
        collect(doc, String::new(), "", &mut fields);
        let mut secrets = Vec::new();
        for (pointer, field) in fields {
            let Some(slot) = doc.pointer_mut(&pointer) else {
                continue;
            };
            let Some(text) = slot.as_str().map(str::to_owned) else {
                continue;
            };
            let at = format!("{label} {pointer}");
            if is_digest_field(&field) {
                match SecretRef::parse(&text) {
                    Some(SecretRef::Sealed(_)) | None => {}
                    Some(reference) => {
                        let plain = self.plaintext(&at, &reference)?;
                        *slot = Value::String(digest(&field, &plain));
                    }
                }
                continue;
            }
            let reference = SecretRef::parse(&text).ok_or_else(|| CliError::Secret {
                at: at.clone(),
                message: "a clear secret is not allowed in a tenant file; give env:NAME, \
                          file:PATH, prompt, or a value sealed with `edge-idp seal --tenant …` \
                          (the value is not shown)"
                    .to_owned(),
            })?;
            let plain = self.plaintext(&at, &reference)?;
            if let Some(rule) = crate::check::machine_key_rule(&pointer, &plain) {
                return Err(CliError::Secret {
                    at,
                    message: format!("{rule} (the value is not shown)"),
                });
            }
            let given = match reference {
                SecretRef::Sealed(sealed) => Some(sealed),
                _ => None,
            };
            *slot = Value::String(String::new());
            secrets.push(Secret {
                pointer,
                plain,
                given,
            });
        }
        Ok(secrets)
    }

    /// The plaintext `reference` stands for; `at` names the field in messages.
    fn plaintext(&mut self, at: &str, reference: &SecretRef) -> Result<String, CliError> {
        let fail = |message: String| CliError::Secret {
            at: at.to_owned(),
            message,
        };
        let text = match reference {
            SecretRef::Sealed(sealed) => {
                open_secret(self.master, &self.tenant, sealed).map_err(|e| {
                    fail(format!(
                        "the sealed value does not open for tenant {} with this master key: {e}",
                        self.tenant
                    ))
                })?
            }
            SecretRef::Env(name) => (self.env)(name)
                .ok_or_else(|| fail(format!("env:{name}: the variable is not set")))?,
            SecretRef::File(rel) => {
                let path = self.base_dir.join(rel);
                std::fs::read_to_string(&path).map_err(|e| {
                    fail(format!(
                        "file:{}: cannot read {}: {e}",
                        rel.display(),
                        path.display()
                    ))
                })?
            }
            SecretRef::Prompt => (self.prompt)(at)?,
        };
        let text = strip_line_break(text);
        if text.is_empty() {
            return Err(fail("the secret is empty".to_owned()));
        }
        Ok(text)
    }
}

/// `text` less one trailing line break (what `echo` and editors add).
fn strip_line_break(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// The stored digest of `secret` for the digest field `field`: the OIDC client's
/// `sha256:<base64url>`, the bridge app's lowercase hex.
fn digest(field: &str, secret: &str) -> String {
    if field == "client_secret_hash" {
        edge_idp::oidc::client::secret_hash(secret)
    } else {
        hex::encode(Sha256::digest(secret.as_bytes()))
    }
}

/// The pointer and field name of every string under a secret or digest field of `value`.
fn collect(value: &Value, pointer: String, field: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(_) if is_secret_field(field) || is_digest_field(field) => {
            out.push((pointer, field.to_owned()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, format!("{pointer}/{i}"), field, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                collect(item, format!("{pointer}/{escaped}"), key, out);
            }
        }
        _ => {}
    }
}

/// Puts each secret back into `doc`, sealed: the deployed sealed value when it opens to the same
/// plaintext (nothing changes), else the sealed value the file gave, else a fresh seal.
pub fn settle(
    doc: &mut Value,
    secrets: Vec<Secret>,
    deployed: Option<&Value>,
    master: &MasterKey,
    tenant: &str,
) -> Result<(), CliError> {
    for secret in secrets {
        let kept = deployed
            .and_then(|d| d.pointer(&secret.pointer))
            .and_then(Value::as_str)
            .filter(|d| open_secret(master, tenant, d).is_ok_and(|p| p == secret.plain));
        let sealed = match (kept, secret.given) {
            (Some(deployed), _) => deployed.to_owned(),
            (None, Some(given)) => given,
            (None, None) => {
                let mut nonce = [0u8; NONCE_LEN];
                getrandom::fill(&mut nonce).map_err(CliError::Random)?;
                seal_secret(master, tenant, nonce, &secret.plain)
            }
        };
        if let Some(slot) = doc.pointer_mut(&secret.pointer) {
            *slot = Value::String(sealed);
        }
    }
    Ok(())
}

/// Asks for the secret named `at`: on a terminal without echo, else one line of standard input.
pub fn prompt_stdin(at: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("{at}: secret (not shown), then Enter: ");
        // A failed prompt only loses the hint.
        let _ = std::io::stderr().flush();
        let echo_off = set_echo(false);
        let read = stdin.lock().read_line(&mut line);
        if echo_off {
            set_echo(true);
        }
        eprintln!();
        read.map_err(|e| CliError::io("cannot read", "the terminal", e))?;
    } else {
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::io("cannot read", "standard input", e))?;
    }
    Ok(line)
}

/// Turns the terminal's echo off or on with `stty` (it acts on its own standard input, the
/// terminal); whether it worked.
fn set_echo(on: bool) -> bool {
    std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests;
