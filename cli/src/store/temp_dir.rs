//! Private temporary folders for what wrangler reads from a file rather than its command line.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// A private temporary folder, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn new() -> Result<Self, CliError> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(CliError::Random)?;
        let name = format!(
            "edge-idp-push-{}-{}",
            std::process::id(),
            hex::encode(suffix)
        );
        let path = std::env::temp_dir().join(name);
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|e| CliError::io("cannot create", &path, e))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: the folder only holds the sealed config that was just written.
        let _ = fs::remove_dir_all(&self.0);
    }
}
