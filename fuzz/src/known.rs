//! KNOWN CORE BUGS, TEMPORARILY SKIPPED so that a campaign can go on past them.
//!
//! Each entry is a panic that fuzzing found in `src/` (not fixed here: the fuzz branch never
//! touches the core). A harness call wrapped in [`guard`] that panics at exactly one of these
//! source locations is treated as "input rejected" instead of a crash; any other panic is still a
//! crash. The reproducers are in `fuzz/known-bugs/` and in the report; when a bug is fixed,
//! delete its entry here (the `known_bugs_still_reproduce` test then tells which to delete).
//!
//! `EDGE_IDP_FUZZ_NO_SKIP=1` turns the skipping off (to reproduce a known bug under the fuzzer).

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// A known panic of the core, by the source location the panic reports.
#[derive(Debug, Clone, Copy)]
pub struct KnownBug {
    /// Path suffix of the file (`src/saml/time.rs`).
    pub file: &'static str,
    /// Line of the panic.
    pub line: u32,
    /// One line: what is wrong.
    pub what: &'static str,
    /// The reproducer (file under `fuzz/known-bugs/`) and the target it crashes.
    pub reproducer: &'static str,
}

/// The list. KEEP IN SYNC with `fuzz/known-bugs/README.md` and the report.
pub const KNOWN_BUGS: &[KnownBug] = &[];

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<(String, u32, String)>> = const { RefCell::new(None) };
    static NO_SKIP: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

fn skipping() -> bool {
    !NO_SKIP.with(Cell::get) && std::env::var_os("EDGE_IDP_FUZZ_NO_SKIP").is_none()
}

/// The known bug at `file:line`, if any.
pub fn known_at(file: &str, line: u32) -> Option<&'static KnownBug> {
    KNOWN_BUGS
        .iter()
        .find(|b| b.line == line && file.ends_with(b.file))
}

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| (l.file().to_string(), l.line()))
                .unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let known = known_at(&location.0, location.1).is_some();
            LAST.with(|l| *l.borrow_mut() = Some((location.0, location.1, message)));
            if GUARDED.with(Cell::get) && known && skipping() {
                return; // unwinds to `guard`, which swallows it
            }
            previous(info); // libFuzzer's hook aborts: a crash
        }));
    });
}

/// Runs `f`; a panic at a known bug's location gives `None`, any other panic goes on.
pub fn guard<R>(f: impl FnOnce() -> R) -> Option<R> {
    install_hook();
    let outer = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    match result {
        Ok(v) => Some(v),
        Err(payload) => {
            let known = LAST.with(|l| {
                l.borrow()
                    .as_ref()
                    .is_some_and(|(file, line, _)| known_at(file, *line).is_some())
            });
            if known && skipping() {
                None
            } else {
                panic::resume_unwind(payload)
            }
        }
    }
}

/// Runs `f` and reports where it panicked (file, line, message), without the skip list.
pub fn panic_location(f: impl FnOnce()) -> Option<(String, u32, String)> {
    install_hook();
    LAST.with(|l| *l.borrow_mut() = None);
    let outer = GUARDED.with(|g| g.replace(true));
    let no_skip = NO_SKIP.with(|n| n.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    NO_SKIP.with(|n| n.set(no_skip));
    GUARDED.with(|g| g.set(outer));
    match result {
        Ok(()) => None,
        Err(_) => LAST.with(|l| l.borrow().clone()),
    }
}
