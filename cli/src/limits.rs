//! The size limits of the store a command writes to, checked before anything is written: a key or
//! value the store would refuse must not leave a tenant half-written.
//!
//! Spin's default key-value store takes keys of at most 256 bytes, values of at most 1 MB and
//! 1,024 keys per store; Workers KV keys of at most 512 bytes and values of at most 25 MiB, with no
//! limit on their number. See docs/spin-limits.md for how many tenants that leaves. On Fermyon
//! Cloud the pairs also travel as command-line arguments (`crate::spin_cloud`).

use std::collections::BTreeSet;

use crate::error::CliError;
use crate::store::{Entry, Target};

/// What a store accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How messages name the store.
    pub store: &'static str,
    /// The longest key, in bytes of UTF-8.
    pub max_key_bytes: usize,
    /// The largest value, in bytes.
    pub max_value_bytes: usize,
    /// The most keys one store holds, if limited.
    pub max_keys: Option<usize>,
    /// What the key count counts, for the warning.
    pub counted: &'static str,
    /// What to do when the store would hold too many keys.
    pub advice: &'static str,
}

/// Spin's documented defaults. "1 megabyte" is read as 10^6 bytes, the smaller reading.
pub const SPIN: Limits = Limits {
    store: "Spin's default key-value store",
    max_key_bytes: 256,
    max_value_bytes: 1_000_000,
    max_keys: Some(1024),
    counted: "the IdP's own codes, tokens and counters included",
    advice: "back it with a runtime-config store without that limit, or split tenants over \
             several stores",
};

/// Spin's defaults, for a store on Fermyon Cloud: only the mirror can be counted.
pub const SPIN_CLOUD: Limits = Limits {
    store: "Spin's key-value store on Fermyon Cloud",
    counted: "as the local mirror knows them; the IdP's own codes, tokens and counters and the \
              tombstones of deleted keys take more",
    // Fermyon Cloud picks the backend itself: no runtime configuration to change.
    advice: "split tenants over several Spin apps, each with its own store",
    ..SPIN
};

/// Workers KV.
pub const WORKERS: Limits = Limits {
    store: "Workers KV",
    max_key_bytes: 512,
    max_value_bytes: 25 * 1024 * 1024,
    max_keys: None,
    counted: "",
    advice: "",
};

/// The limits of `target`.
pub fn of(target: &Target) -> Limits {
    match target {
        Target::Workers { .. } => WORKERS,
        Target::SpinLocal { .. } => SPIN,
        Target::SpinCloud { .. } => SPIN_CLOUD,
    }
}

/// Refuses every key or value of `puts` that `limits` do not allow, naming each; nothing of
/// the value is shown, only its size.
pub fn check_sizes(limits: &Limits, puts: &[Entry]) -> Result<(), CliError> {
    let mut reasons = Vec::new();
    for entry in puts {
        let key = entry.key.len();
        if key > limits.max_key_bytes {
            reasons.push(format!(
                "key {} is {key} bytes; {} takes keys of at most {} bytes",
                entry.key, limits.store, limits.max_key_bytes
            ));
        }
        let value = entry.value.len();
        if value > limits.max_value_bytes {
            reasons.push(format!(
                "the value of {} is {value} bytes; {} takes values of at most {} bytes",
                entry.key, limits.store, limits.max_value_bytes
            ));
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(CliError::LimitsExceeded { reasons })
    }
}

/// A warning when the store would hold more keys than `limits` allow once `puts` are written
/// and `deletes` removed, given the keys it holds now.
pub fn count_warning(
    limits: &Limits,
    existing: &[String],
    puts: &[Entry],
    deletes: &[String],
) -> Option<String> {
    let max = limits.max_keys?;
    let mut keys: BTreeSet<&str> = existing.iter().map(String::as_str).collect();
    keys.extend(puts.iter().map(|e| e.key.as_str()));
    for key in deletes {
        keys.remove(key.as_str());
    }
    (keys.len() > max).then(|| {
        format!(
            "the store would hold {} keys ({}); {} holds at most {max}: {} (docs/spin-limits.md)",
            keys.len(),
            limits.counted,
            limits.store,
            limits.advice
        )
    })
}

/// Checks `puts` and `deletes` against `target`'s limits before anything is written: refuses
/// what the store would refuse, and warns (on stderr) when its key count would pass its limit.
pub fn check(target: &Target, puts: &[Entry], deletes: &[String]) -> Result<(), CliError> {
    let limits = of(target);
    check_sizes(&limits, puts)?;
    if let Target::SpinCloud { .. } = target {
        let reasons = crate::spin_cloud::argument_problems(puts, deletes);
        if !reasons.is_empty() {
            return Err(CliError::LimitsExceeded { reasons });
        }
    }
    if limits.max_keys.is_some() {
        let existing = target.list("")?;
        if let Some(warning) = count_warning(&limits, &existing, puts, deletes) {
            eprintln!("warning: {warning}");
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn entry(key: &str, value_len: usize) -> Entry {
        Entry {
            key: key.to_owned(),
            value: "x".repeat(value_len),
        }
    }

    fn reasons(limits: &Limits, puts: &[Entry]) -> Vec<String> {
        match check_sizes(limits, puts) {
            Ok(()) => Vec::new(),
            Err(CliError::LimitsExceeded { reasons }) => reasons,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn spin_refuses_keys_over_256_bytes() {
        let at = format!("host:{}", "a".repeat(251));
        assert_eq!(at.len(), 256);
        assert!(reasons(&SPIN, &[entry(&at, 10)]).is_empty());
        let over = format!("{at}b");
        let r = reasons(&SPIN, &[entry(&at, 10), entry(&over, 10)]);
        assert_eq!(
            r,
            [format!(
                "key {over} is 257 bytes; Spin's default key-value store takes keys of at most \
                 256 bytes"
            )]
        );
        // Bytes, not characters.
        let wide = format!("host:{}", "é".repeat(126));
        assert_eq!(reasons(&SPIN, &[entry(&wide, 1)]).len(), 1);
    }

    #[test]
    fn spin_refuses_values_over_1_mb() {
        assert!(reasons(&SPIN, &[entry("tenant:acme", 1_000_000)]).is_empty());
        let r = reasons(&SPIN, &[entry("tenant:acme", 1_000_001)]);
        assert_eq!(
            r,
            [
                "the value of tenant:acme is 1000001 bytes; Spin's default key-value store takes \
              values of at most 1000000 bytes"
            ]
        );
    }

    #[test]
    fn workers_refuses_keys_over_512_bytes_and_values_over_25_mib() {
        let key = format!("host:{}", "a".repeat(300));
        assert!(reasons(&WORKERS, &[entry(&key, 2_000_000)]).is_empty());
        let long = format!("host:{}", "a".repeat(508));
        let r = reasons(&WORKERS, &[entry(&long, 25 * 1024 * 1024 + 1)]);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(
            r[0].contains("is 513 bytes; Workers KV takes keys of at most 512"),
            "{}",
            r[0]
        );
        assert!(
            r[1].contains("values of at most 26214400 bytes"),
            "{}",
            r[1]
        );
    }

    #[test]
    fn the_refusal_says_nothing_is_written() {
        let e = check_sizes(&SPIN, &[entry("tenant:acme", 2_000_000)]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("nothing was written"), "{text}");
        assert!(!text.contains("xxxx"), "no value is shown: {text}");
    }

    #[test]
    fn the_key_count_after_writing_is_warned_above_1024() {
        let existing: Vec<String> = (0..1020).map(|i| format!("k{i}")).collect();
        let puts: Vec<Entry> = (1015..1025).map(|i| entry(&format!("k{i}"), 1)).collect();
        // 1020 existing + 5 new = 1025.
        let w = count_warning(&SPIN, &existing, &puts, &[]).unwrap();
        assert!(w.starts_with("the store would hold 1025 keys"), "{w}");
        assert!(w.contains("holds at most 1024"), "{w}");
        // Deleting two brings it to 1023.
        let deletes = vec!["k0".to_owned(), "k1".to_owned()];
        assert_eq!(count_warning(&SPIN, &existing, &puts, &deletes), None);
        // Workers KV has no such limit.
        assert_eq!(count_warning(&WORKERS, &existing, &puts, &[]), None);
        // On Fermyon Cloud only the mirror is counted, and there is no backend to change.
        let w = count_warning(&SPIN_CLOUD, &existing, &puts, &[]).unwrap();
        assert!(
            w.starts_with("the store would hold 1025 keys (as the local mirror knows them;"),
            "{w}"
        );
        assert!(w.contains("split tenants over several Spin apps"), "{w}");
        assert!(!w.contains("runtime-config"), "{w}");
    }
}
