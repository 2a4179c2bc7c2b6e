//! Where a plan reads what is deployed: the store itself (one tenant file), or a snapshot of it
//! read in a few calls (many tenant files at once).
//!
//! On Workers every read is a wrangler process of about a second, so planning ten thousand
//! tenants key by key would take hours. A snapshot lists the `host:` and `tenant:` keys once,
//! keeps the tenants the files name, takes every value whose listed digest is in the local
//! value cache (`crate::store::ValueCache`), and fetches the others with `wrangler kv bulk get`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use serde_json::Value;

use crate::error::CliError;
use crate::store::{Listed, Target, TempDir, ValueCache};
use edge_idp::kv_key::{HOST_PREFIX, TENANT_PREFIX};

/// The reads a plan makes.
pub trait Source {
    /// The value of `key`, if any (an empty value is no value).
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CliError>;
    /// Every key that starts with `prefix`, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, CliError>;
}

impl Source for Target {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CliError> {
        Target::get(self, key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, CliError> {
        Target::list(self, prefix)
    }
}

/// Every `host:` key of a store, and every key of some of its tenants, as they were read.
#[derive(Debug, Default)]
pub struct Snapshot {
    values: BTreeMap<String, Vec<u8>>,
}

/// How many keys one `wrangler kv bulk get` asks for.
const BULK_GET_KEYS: usize = 1000;

impl Snapshot {
    /// Reads the `host:` keys of `target` and the keys of `tenants`.
    pub fn read(target: &Target, tenants: &BTreeSet<String>) -> Result<Self, CliError> {
        let mut keys = target.list_with_digests(HOST_PREFIX)?;
        keys.extend(
            target
                .list_with_digests(TENANT_PREFIX)?
                .into_iter()
                .filter(|key| tenant_of(&key.name).is_some_and(|t| tenants.contains(t))),
        );
        let mut values = BTreeMap::new();
        if matches!(target, Target::Workers { .. }) {
            let cache = ValueCache::from_env();
            let missing = from_cache(cache.as_ref(), keys, &mut values);
            let cached = values.len();
            for chunk in missing.chunks(BULK_GET_KEYS) {
                let fetched = bulk_get(target, chunk)?;
                if let Some(cache) = &cache {
                    fetched.values().for_each(|value| cache.keep(value));
                }
                values.extend(fetched);
            }
            eprintln!(
                "read {} values: {cached} from the local cache, {} fetched",
                cached + missing.len(),
                missing.len()
            );
            if let Some(cache) = &cache {
                cache.prune();
            }
        } else {
            for key in keys {
                if let Some(value) = target.get(&key.name)? {
                    values.insert(key.name, value);
                }
            }
        }
        Ok(Self { values })
    }
}

/// Moves into `values` each listed key whose digest names a cached value; the names of the
/// others, which must be fetched.
fn from_cache(
    cache: Option<&ValueCache>,
    keys: Vec<Listed>,
    values: &mut BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    let mut missing = Vec::new();
    for key in keys {
        let hit = cache
            .zip(key.sha256.as_deref())
            .and_then(|(cache, sha256)| cache.get(sha256))
            .filter(|value| !value.is_empty());
        match hit {
            Some(value) => {
                values.insert(key.name, value);
            }
            None => missing.push(key.name),
        }
    }
    missing
}

impl Source for Snapshot {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CliError> {
        Ok(self.values.get(key).cloned())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, CliError> {
        Ok(self
            .values
            .range(prefix.to_owned()..)
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }
}

/// The tenant id of `tenant:{id}` or `tenant:{id}:…`.
fn tenant_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(TENANT_PREFIX)?;
    rest.split(':').next()
}

/// The values of `keys` that exist, through `wrangler kv bulk get`.
fn bulk_get(target: &Target, keys: &[String]) -> Result<BTreeMap<String, Vec<u8>>, CliError> {
    let tmp = TempDir::new()?;
    let file = tmp.path().join("keys.json");
    let names = Value::from(keys.to_vec()).to_string();
    fs::write(&file, names).map_err(|e| CliError::io("cannot write", &file, e))?;
    let (command, out) = target.wrangler(vec![
        "kv".into(),
        "bulk".into(),
        "get".into(),
        file.display().to_string(),
    ])?;
    if !out.status.success() {
        // wrangler's own words say why (never a value: it failed before printing any).
        let _ = std::io::Write::write_all(&mut std::io::stderr(), &out.stderr);
        return Err(CliError::WranglerFailed {
            command,
            status: out.status,
        });
    }
    parse_bulk_get(&out.stdout).ok_or_else(|| {
        CliError::Usage(format!(
            "{command} printed no JSON object of values; run it yourself to see why"
        ))
    })
}

/// `{"key": {"value": "…" | null}, …}` as wrangler prints it (after any banner), without the
/// keys that have no value or an empty one.
fn parse_bulk_get(stdout: &[u8]) -> Option<BTreeMap<String, Vec<u8>>> {
    let start = stdout.iter().position(|b| *b == b'{')?;
    let object: BTreeMap<String, Value> = serde_json::from_slice(stdout.get(start..)?).ok()?;
    Some(
        object
            .into_iter()
            .filter_map(|(key, item)| {
                let value = item.get("value")?.as_str()?;
                (!value.is_empty()).then(|| (key, value.as_bytes().to_vec()))
            })
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::store::Entry;

    #[test]
    fn bulk_get_output_keeps_only_keys_with_values() {
        let out = br#"
 wrangler 4.x
{
  "host:a.example": { "value": "{\"tenant\":\"a\"}" },
  "tenant:gone": { "value": null },
  "tenant:tomb": { "value": "" }
}"#;
        let parsed = parse_bulk_get(out).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed["host:a.example"], br#"{"tenant":"a"}"#.to_vec());
        assert_eq!(parse_bulk_get(b"Value not found"), None);
    }

    #[test]
    fn a_snapshot_holds_every_host_and_only_the_named_tenants() {
        let dir = std::env::temp_dir().join(format!("edge-idp-snapshot-{}", std::process::id()));
        let target = Target::SpinLocal {
            kv_dir: dir.clone(),
        };
        let entry = |key: &str, value: &str| Entry {
            key: key.into(),
            value: value.into(),
        };
        target
            .put(&[
                entry("host:a.example", r#"{"tenant":"a"}"#),
                entry("host:b.example", r#"{"tenant":"b"}"#),
                entry("tenant:a", "{}"),
                entry("tenant:a:saml:lms", "{}"),
                entry("tenant:ab", "{}"),
                entry("tenant:b", "{}"),
            ])
            .unwrap();
        let snap = Snapshot::read(&target, &BTreeSet::from(["a".to_owned()])).unwrap();
        assert_eq!(
            snap.list("tenant:a").unwrap(),
            ["tenant:a", "tenant:a:saml:lms"]
        );
        assert_eq!(snap.list("tenant:a:").unwrap(), ["tenant:a:saml:lms"]);
        assert_eq!(snap.get("tenant:b").unwrap(), None, "not a named tenant");
        assert_eq!(
            snap.list(HOST_PREFIX).unwrap(),
            ["host:a.example", "host:b.example"]
        );
        assert_eq!(snap.get("tenant:a").unwrap(), Some(b"{}".to_vec()));
        fs::remove_dir_all(dir).unwrap();
    }
}
