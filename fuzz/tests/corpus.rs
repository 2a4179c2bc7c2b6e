//! Corpus regression: every file of `fuzz/corpus/{target}/` replayed through its target's harness
//! on the stable toolchain (no libFuzzer), plus the reproducers of the known core bugs.
//!
//!     cargo test --manifest-path fuzz/Cargo.toml --no-default-features
//!
//! `EDGE_IDP_FUZZ_TARGET=name` replays one target only.

use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

#[test]
fn every_corpus_file_replays_without_a_crash() {
    let only = std::env::var("EDGE_IDP_FUZZ_TARGET").ok();
    let mut replayed = 0usize;
    let mut failures = Vec::new();
    for (name, harness) in edge_idp_fuzz::TARGETS {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let dir = corpus_dir().join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        files.sort();
        for file in files {
            let Ok(data) = std::fs::read(&file) else {
                continue;
            };
            let result = std::panic::catch_unwind(|| harness(&data));
            if result.is_err() {
                failures.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus files crash:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("replayed {replayed} corpus files");
    if only.is_none() {
        assert!(
            replayed > 0,
            "no corpus files under {}",
            corpus_dir().display()
        );
    }
}

#[test]
fn every_target_has_a_corpus_directory() {
    for (name, _) in edge_idp_fuzz::TARGETS {
        assert!(
            corpus_dir().join(name).is_dir(),
            "fuzz/corpus/{name}/ is missing"
        );
    }
}

/// The known core bugs (skipped by the targets) still crash exactly where the list says; when
/// one is fixed, this test says which entry of `fuzz/src/known.rs` to delete.
#[test]
fn known_bugs_still_reproduce() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("known-bugs");
    let mut fixed = Vec::new();
    for bug in edge_idp_fuzz::known::KNOWN_BUGS {
        let (target, file) = bug
            .reproducer
            .split_once('/')
            .unwrap_or(("", bug.reproducer));
        let data = std::fs::read(dir.join(bug.reproducer))
            .unwrap_or_else(|e| panic!("reproducer {}: {e}", bug.reproducer));
        let Some((_, harness)) = edge_idp_fuzz::TARGETS.iter().find(|(n, _)| *n == target) else {
            panic!("reproducer {file}: no target {target}");
        };
        // Without the skip list: the raw panic.
        let at = edge_idp_fuzz::known::panic_location(|| harness(&data));
        match at {
            Some((f, line, _)) if f.ends_with(bug.file) && line == bug.line => {}
            other => fixed.push(format!(
                "{}:{} ({}) now gives {other:?}",
                bug.file, bug.line, bug.what
            )),
        }
    }
    assert!(
        fixed.is_empty(),
        "known bugs no longer reproduce (fixed? delete them from fuzz/src/known.rs):\n{}",
        fixed.join("\n")
    );
}
