//! What is deployed for one tenant, read from the store a plan compares with: `tenant:{id}`,
//! every key under `tenant:{id}:`, and the `host:` keys that may concern it.
//!
//! The `host:` keys read are the file's hostnames and those the deployed `tenant:{id}` lists
//! (plan and apply always write them together), so a plan costs a few reads whatever the number
//! of tenants. Deleting a tenant reads every `host:` key instead, so that none is left naming it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::CliError;
use crate::push::owner_of;
use crate::snapshot::Source;
use edge_idp::kv_key::{self, HOST_PREFIX};

/// The deployed values that concern one tenant, by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deployed {
    /// The tenant id.
    pub tenant: String,
    /// `tenant:{id}` and every key under `tenant:{id}:` (a value that is not JSON reads as
    /// `null`, so that any plan replaces it).
    pub tenant_values: BTreeMap<String, Value>,
    /// Each `host:` key read that exists, with the tenant it names.
    pub hosts: BTreeMap<String, Host>,
}

/// A deployed `host:` key.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The tenant it names.
    pub owner: String,
    /// Its value.
    pub value: Value,
}

impl Deployed {
    /// The deployed value of `key`, if it concerns the tenant.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.tenant_values.get(key)
    }

    /// The hostnames the deployed `tenant:{id}` lists.
    pub fn tenant_hostnames(&self) -> Vec<String> {
        self.tenant_values
            .get(&kv_key::tenant(&self.tenant))
            .map(crate::tenant_file::hostnames_of)
            .unwrap_or_default()
    }

    /// The deployed `config_version` of the tenant, if it is deployed.
    pub fn config_version(&self) -> Option<u64> {
        self.tenant_values
            .get(&kv_key::tenant(&self.tenant))
            .and_then(|t| t.get("config_version"))
            .and_then(Value::as_u64)
    }
}

/// Reads what is deployed for `tenant` from `target`: its own keys, and the `host:` keys of
/// `hosts`, of the hostnames its deployed tenant value lists, and, with `every_host`, of every
/// hostname in the store.
pub fn read(
    target: &impl Source,
    tenant: &str,
    hosts: &[String],
    every_host: bool,
) -> Result<Deployed, CliError> {
    let mut deployed = Deployed {
        tenant: tenant.to_owned(),
        ..Deployed::default()
    };
    let tenant_key = kv_key::tenant(tenant);
    let mut keys = vec![tenant_key.clone()];
    keys.extend(target.list(&format!("{tenant_key}:"))?);
    for key in keys {
        if let Some(bytes) = target.get(&key)? {
            let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            deployed.tenant_values.insert(key, value);
        }
    }
    let mut names: BTreeSet<String> = hosts.iter().cloned().collect();
    names.extend(deployed.tenant_hostnames());
    if every_host {
        for key in target.list(HOST_PREFIX)? {
            if let Some(host) = key.strip_prefix(HOST_PREFIX) {
                names.insert(host.to_owned());
            }
        }
    }
    for host in names {
        let key = kv_key::host(&host);
        let Some(bytes) = target.get(&key)? else {
            continue;
        };
        let owner = owner_of(&key, &bytes)?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        deployed.hosts.insert(host, Host { owner, value });
    }
    Ok(deployed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::store::{Entry, Target};
    use serde_json::json;

    fn put(target: &Target, key: &str, value: &Value) {
        target
            .put(&[Entry {
                key: key.into(),
                value: value.to_string(),
            }])
            .unwrap();
    }

    #[test]
    fn reads_the_tenant_its_listed_hosts_and_no_other_tenant() {
        let dir =
            std::env::temp_dir().join(format!("edge-idp-deployed-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let target = Target::SpinLocal {
            kv_dir: dir.clone(),
        };
        let host = |t: &str| json!({"schema_version": 1, "tenant": t});
        put(
            &target,
            "tenant:acme",
            &json!({"id": "acme", "config_version": 4, "hostnames": ["a.example"]}),
        );
        put(&target, "tenant:acme:keys", &json!({"schema_version": 1}));
        put(&target, "tenant:acme-2", &json!({"id": "acme-2"}));
        put(&target, "tenant:acme-2:keys", &json!({}));
        put(&target, "host:a.example", &host("acme"));
        put(&target, "host:b.example", &host("globex"));
        put(&target, "host:stale.example", &host("acme"));

        let d = read(
            &target,
            "acme",
            &["b.example".into(), "new.example".into()],
            false,
        )
        .unwrap();
        assert_eq!(
            d.tenant_values.keys().collect::<Vec<_>>(),
            ["tenant:acme", "tenant:acme:keys"]
        );
        assert_eq!(d.config_version(), Some(4));
        assert_eq!(d.tenant_hostnames(), ["a.example"]);
        let owners: Vec<(&str, &str)> = d
            .hosts
            .iter()
            .map(|(h, o)| (h.as_str(), o.owner.as_str()))
            .collect();
        assert_eq!(owners, [("a.example", "acme"), ("b.example", "globex")]);

        // Every host: the stale one naming acme is found too.
        let d = read(&target, "acme", &[], true).unwrap();
        assert!(d.hosts.contains_key("stale.example"), "{:?}", d.hosts);

        // A host key that is not a host mapping fails closed.
        std::fs::write(
            dir.join("default").join(hex::encode("host:a.example")),
            "garbage",
        )
        .unwrap();
        assert!(matches!(
            read(&target, "acme", &[], false),
            Err(CliError::HostUnreadable { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
