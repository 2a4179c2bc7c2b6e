//! Master key, nonces and the `seal` / `keygen-master` commands.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edge_idp::seal::{self, MasterKey, KEY_LEN, NONCE_LEN};

use crate::error::CliError;

/// The environment variable that holds the admin's copy of the master key (base64, 32 bytes).
pub const MASTER_KEY_ENV: &str = "EDGE_IDP_MASTER_KEY";

/// Reads the master key from `--master-key-file` when given, else from `EDGE_IDP_MASTER_KEY`;
/// `Ok(None)` when neither is set.
pub fn master_key(file: Option<&Path>) -> Result<Option<MasterKey>, CliError> {
    if let Some(path) = file {
        let text =
            std::fs::read_to_string(path).map_err(|e| CliError::io("cannot read", path, e))?;
        return MasterKey::from_base64(&text)
            .map(Some)
            .map_err(|source| CliError::MasterKey {
                origin: path.display().to_string(),
                source,
            });
    }
    match std::env::var(MASTER_KEY_ENV) {
        Ok(text) if !text.trim().is_empty() => {
            MasterKey::from_base64(&text)
                .map(Some)
                .map_err(|source| CliError::MasterKey {
                    origin: MASTER_KEY_ENV.to_owned(),
                    source,
                })
        }
        _ => Ok(None),
    }
}

/// Fills `buf` from the operating system's random generator.
fn random(buf: &mut [u8]) -> Result<(), CliError> {
    getrandom::fill(buf).map_err(CliError::Random)
}

/// Whether `id` has the shape of a tenant id (`^[a-z0-9][a-z0-9-]{0,62}$`, as in kv-schema).
pub fn is_tenant_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=63).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// `edge-idp seal --tenant <id>`: reads the secret from standard input (never from the command
/// line), prints its sealed form.
pub fn seal_command(tenant: &str, master_key_file: Option<&Path>) -> Result<(), CliError> {
    if !is_tenant_id(tenant) {
        return Err(CliError::Usage(format!(
            "--tenant {tenant:?} is not a tenant id (lowercase letters, digits and '-', at most 63)"
        )));
    }
    let master = master_key(master_key_file)?.ok_or(CliError::NoMasterKey)?;
    let secret = read_secret()?;
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    let sealed = seal::seal_secret(&master, tenant, nonce, &secret);
    println!("{sealed}");
    Ok(())
}

/// Reads the secret from standard input: one line when typed at a terminal, else everything, less
/// one trailing line break (what `echo` and editors add).
fn read_secret() -> Result<String, CliError> {
    let stdin = std::io::stdin();
    let mut text = String::new();
    let read = if stdin.is_terminal() {
        eprint!("Secret (typed input is visible; piping it in is better), then Enter: ");
        // A failed prompt only loses the hint.
        let _ = std::io::stderr().flush();
        stdin.read_line(&mut text)
    } else {
        stdin.lock().read_to_string(&mut text)
    };
    read.map_err(|e| CliError::io("cannot read", "standard input", e))?;
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(CliError::EmptySecret);
    }
    Ok(trimmed.to_owned())
}

/// `edge-idp keygen-master`: prints a fresh random master key (base64 of 32 bytes).
pub fn keygen_command() -> Result<(), CliError> {
    let mut key = [0u8; KEY_LEN];
    random(&mut key)?;
    println!("{}", STANDARD.encode(key));
    eprintln!(
        "Keep this key secret. The CLI reads it from {MASTER_KEY_ENV} (or --master-key-file); \
         the runtime from its MASTER_KEY secret (`wrangler secret put MASTER_KEY`, a Spin secret \
         variable). Losing it means re-sealing every secret."
    );
    Ok(())
}

/// Which fields of an app or client value hold its secret's digest and the one it replaces.
pub struct SecretFields {
    /// The current digest (`secret_sha256`, `client_secret_hash`).
    pub current: &'static str,
    /// The replaced one with its `valid_until` (`previous_secret`, `previous_client_secret`).
    pub previous: &'static str,
}

/// Puts `new_digest` in place of the value's current secret digest. For `overlap_hours` the old
/// digest stays under `fields.previous`, with the time it stops working; with no overlap (or no
/// old digest) any previous one is dropped. The admin's line about it.
pub fn replace_secret(
    value: &mut serde_json::Map<String, serde_json::Value>,
    fields: &SecretFields,
    new_digest: &str,
    overlap_hours: u64,
) -> String {
    let (until, says) = overlap_until(overlap_hours);
    match (value.get(fields.current).cloned(), until) {
        (Some(old), Some(until)) => {
            value.insert(
                fields.previous.into(),
                serde_json::json!({fields.current: old, "valid_until": until}),
            );
        }
        _ => {
            value.remove(fields.previous);
        }
    }
    value.insert(fields.current.into(), serde_json::json!(new_digest));
    says
}

/// Until when (seconds since the epoch) a replaced secret keeps working, `hours` from now; `None`
/// for no overlap. Also a line for the admin saying so.
fn overlap_until(hours: u64) -> (Option<u64>, String) {
    if hours == 0 {
        return (None, "the old secret stops working at the next push".into());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let until = now.saturating_add(hours.saturating_mul(3600));
    (
        Some(until),
        format!(
            "the old secret keeps working until {} (UTC), then only the new one",
            edge_idp::saml::time::format(until)
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        for ok in ["acme", "a", "0", "acme-2", &"a".repeat(63)] {
            assert!(is_tenant_id(ok), "{ok}");
        }
        for bad in [
            "",
            "-acme",
            "Acme",
            "acme:x",
            "acme_x",
            "acmé",
            &"a".repeat(64),
        ] {
            assert!(!is_tenant_id(bad), "{bad}");
        }
    }
}
