//! SP metadata from a file or an https URL.

use std::path::Path;

use super::usage;
use crate::error::CliError;

/// Reads SP metadata from a file or an https URL (through curl).
pub(super) fn fetch_metadata(source: &str) -> Result<Vec<u8>, CliError> {
    if source.starts_with("http://") {
        return Err(usage("metadata URLs must be https://"));
    }
    if source.starts_with("https://") {
        let out = std::process::Command::new("curl")
            .args([
                "--silent",
                "--show-error",
                "--fail",
                "--location",
                "--proto",
                "=https",
            ])
            .args([
                "--max-time",
                "20",
                "--max-filesize",
                "1048576",
                "--",
                source,
            ])
            .output()
            .map_err(|e| usage(format!("cannot run curl to fetch {source}: {e}")))?;
        if !out.status.success() {
            return Err(usage(format!(
                "cannot fetch {source}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        return Ok(out.stdout);
    }
    let path = Path::new(source);
    std::fs::read(path).map_err(|e| CliError::io("cannot read", path, e))
}
