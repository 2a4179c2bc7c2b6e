//! The difference between a tenant's desired documents and what is deployed: keys to add, to
//! change (naming the top-level fields, never a value), to remove; hostnames moved from another
//! tenant; keys rotated. And the order `apply` writes it in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::deployed::Deployed;
use crate::desired::Desired;
use crate::error::CliError;
use crate::kind::Kind;
use crate::push::{check_moves, decide, HostMove};
use crate::store::Entry;
use edge_idp::kv_key::HOST_PREFIX;

/// What happens to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Written where nothing is (`generated`: with keys made for it).
    Add {
        /// Keys were generated for it.
        generated: bool,
    },
    /// Rewritten; these top-level fields differ.
    Change {
        /// The fields that differ.
        fields: Vec<Field>,
    },
    /// A hostname taken from another tenant.
    Move {
        /// The tenant it leaves.
        from: String,
    },
    /// Deleted.
    Remove,
}

/// A top-level field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// A sealed value inside it differs (its value is never shown).
    pub sealed: bool,
}

/// One key's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The KV key.
    pub key: String,
    /// What happens to it.
    pub action: Action,
    /// The compact JSON written (none for a removal).
    pub value: Option<String>,
}

/// A tenant's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The tenant.
    pub tenant: String,
    /// One step per key that changes.
    pub steps: Vec<Step>,
    /// Signing keys replaced, one line each.
    pub rotations: Vec<String>,
    /// Other things worth saying (a tenant disabled or enabled).
    pub notes: Vec<String>,
}

/// A group of writes `apply` makes in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// Keys to write.
    Put(Vec<Entry>),
    /// Keys to delete.
    Delete(Vec<String>),
}

/// The plan that brings `deployed` to `desired`; with no desired state, the plan that deletes
/// every key of the tenant. Refuses hostnames of other tenants not moved by `moves`.
pub fn compute(
    desired: Option<&Desired>,
    deployed: &Deployed,
    moves: &[HostMove],
) -> Result<Plan, CliError> {
    let tenant = deployed.tenant.clone();
    let Some(desired) = desired else {
        return Ok(deletion(deployed));
    };
    let moved = hosts_allowed(desired, deployed, moves)?;

    let mut plan = Plan {
        tenant: tenant.clone(),
        ..Plan::default()
    };
    let tenant_key = Kind::Tenant.kv_key(&tenant, "");
    let mut tenant_doc = None;
    for doc in &desired.docs {
        if doc.key == tenant_key {
            tenant_doc = Some(doc.value.clone());
            continue;
        }
        plan.steps.extend(step(
            &doc.key,
            deployed.get(&doc.key),
            &doc.value,
            doc.generated,
        ));
        rotations(
            &doc.key,
            deployed.get(&doc.key),
            &doc.value,
            &mut plan.rotations,
        );
    }
    plan.steps.extend(host_steps(desired, deployed, &moved));
    let wanted: BTreeSet<&str> = desired.docs.iter().map(|d| d.key.as_str()).collect();
    for key in deployed.tenant_values.keys() {
        if !wanted.contains(key.as_str()) {
            plan.steps.push(removal(key));
        }
    }
    for (host, on_store) in &deployed.hosts {
        if on_store.owner == tenant && !desired.hosts.contains(host) {
            plan.steps.push(removal(&edge_idp::kv_key::host(host)));
        }
    }
    if let Some(mut value) = tenant_doc {
        settle_version(&mut value, &plan, desired, deployed);
        let on_store = deployed.get(&tenant_key);
        notes(&tenant, on_store, &value, &mut plan.notes);
        plan.steps
            .extend(step(&tenant_key, on_store, &value, false));
    }
    Ok(plan)
}

/// Checks the file's hostnames against their deployed owners: another tenant's hostname needs
/// a `--move-host` naming that owner. The moves that happen.
fn hosts_allowed(
    desired: &Desired,
    deployed: &Deployed,
    moves: &[HostMove],
) -> Result<Vec<HostMove>, CliError> {
    let hosts: Vec<&str> = desired.hosts.iter().map(String::as_str).collect();
    check_moves(&desired.tenant, &hosts, moves)?;
    let owners: Vec<(String, Option<String>)> = desired
        .hosts
        .iter()
        .map(|h| (h.clone(), deployed.hosts.get(h).map(|d| d.owner.clone())))
        .collect();
    decide(&desired.tenant, &owners, moves).map_err(|e| match e {
        CliError::HostsRefused { tenant, reasons } => CliError::ApplyRefused { tenant, reasons },
        other => other,
    })
}

/// The steps of the file's hostnames: added, moved from another tenant, or rewritten.
fn host_steps(desired: &Desired, deployed: &Deployed, moved: &[HostMove]) -> Vec<Step> {
    let value = json!({"schema_version": 1, "tenant": desired.tenant});
    let mut steps = Vec::new();
    for host in &desired.hosts {
        let key = format!("{HOST_PREFIX}{host}");
        match moved.iter().find(|m| &m.host == host) {
            Some(m) => steps.push(Step {
                key,
                action: Action::Move {
                    from: m.from.clone(),
                },
                value: Some(value.to_string()),
            }),
            None => {
                let on_store = deployed.hosts.get(host).map(|h| &h.value);
                steps.extend(step(&key, on_store, &value, false));
            }
        }
    }
    steps
}

/// Bumps the tenant's `config_version` when anything changes, so that `/healthz` and the
/// runtime's caches keyed by it see a new configuration; the file's own `config_version` is the
/// lowest it may get.
fn settle_version(value: &mut Value, plan: &Plan, desired: &Desired, deployed: &Deployed) {
    let Some(on_store) = deployed.config_version() else {
        return;
    };
    let floor = desired.file_config_version.unwrap_or(0);
    let tenant_key = Kind::Tenant.kv_key(&desired.tenant, "");
    let tenant_changed = deployed.get(&tenant_key) != Some(&*value);
    if plan.steps.is_empty() && !tenant_changed && floor <= on_store {
        return;
    }
    if let Some(map) = value.as_object_mut() {
        let bumped = floor.max(on_store.saturating_add(1));
        map.insert("config_version".into(), Value::from(bumped));
    }
}

/// The plan that deletes every deployed key of the tenant and every hostname naming it.
fn deletion(deployed: &Deployed) -> Plan {
    let mut steps: Vec<Step> = deployed.tenant_values.keys().map(|k| removal(k)).collect();
    for (host, on_store) in &deployed.hosts {
        if on_store.owner == deployed.tenant {
            steps.push(removal(&edge_idp::kv_key::host(host)));
        }
    }
    Plan {
        tenant: deployed.tenant.clone(),
        steps,
        ..Plan::default()
    }
}

fn removal(key: &str) -> Step {
    Step {
        key: key.to_owned(),
        action: Action::Remove,
        value: None,
    }
}

/// The step that brings `key` from `on_store` to `value`, if any.
fn step(key: &str, on_store: Option<&Value>, value: &Value, generated: bool) -> Option<Step> {
    let action = match on_store {
        None => Action::Add { generated },
        Some(old) if old == value => return None,
        Some(old) => Action::Change {
            fields: changed_fields(old, value),
        },
    };
    Some(Step {
        key: key.to_owned(),
        action,
        value: Some(value.to_string()),
    })
}

/// The top-level fields that differ between `old` and `new`.
fn changed_fields(old: &Value, new: &Value) -> Vec<Field> {
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else {
        return vec![Field {
            name: "(the whole value)".to_owned(),
            sealed: sealed_values(old) != sealed_values(new),
        }];
    };
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter(|name| a.get(*name) != b.get(*name))
        .map(|name| Field {
            name: name.clone(),
            sealed: a.get(name).map(sealed_values).unwrap_or_default()
                != b.get(name).map(sealed_values).unwrap_or_default(),
        })
        .collect()
}

/// Every sealed string inside `value`, by its pointer.
fn sealed_values(value: &Value) -> BTreeMap<String, String> {
    fn walk(value: &Value, pointer: String, out: &mut BTreeMap<String, String>) {
        match value {
            Value::String(s) if s.starts_with("sealed:") => {
                out.insert(pointer, s.clone());
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{pointer}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    walk(item, format!("{pointer}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(value, String::new(), &mut out);
    out
}

/// Lines for signing keys that a step replaces: tenant keys by kid, SAML keys by slot.
fn rotations(key: &str, on_store: Option<&Value>, value: &Value, out: &mut Vec<String>) {
    let Some(old) = on_store else { return };
    if key.ends_with(":keys") {
        for slot in ["current", "next", "previous", "ec"] {
            let kid = |v: &Value| {
                v.get(slot)
                    .and_then(|k| k.get("kid"))
                    .and_then(Value::as_str)
                    .unwrap_or("none")
                    .to_owned()
            };
            let (was, now) = (kid(old), kid(value));
            if was != now {
                out.push(format!("{key}: {slot} key {was} -> {now}"));
            }
        }
    } else if key.contains(":saml:") {
        for slot in ["current", "next"] {
            let cert = |v: &Value| v.pointer(&format!("/idp/{slot}/certificate")).cloned();
            match (cert(old), cert(value)) {
                (a, b) if a == b => {}
                (None, Some(_)) => out.push(format!("{key}: {slot} signing key added")),
                (Some(_), None) => out.push(format!("{key}: {slot} signing key dropped")),
                _ => out.push(format!("{key}: {slot} signing key replaced")),
            }
        }
    }
}

/// A line when the tenant is disabled or enabled again.
fn notes(tenant: &str, on_store: Option<&Value>, value: &Value, out: &mut Vec<String>) {
    let disabled = |v: Option<&Value>| {
        v.and_then(|v| v.get("disabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    match (disabled(on_store), disabled(Some(value))) {
        (false, true) => out.push(format!(
            "tenant {tenant} will be DISABLED: its hostnames answer a 'Sign-in unavailable' \
             page, with no sign-in, token or iMIS call"
        )),
        (true, false) => out.push(format!("tenant {tenant} will be enabled again")),
        _ => {}
    }
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The writes in six phases (some may be empty), in an order that never leaves a hostname
    /// pointing at a tenant without its
    /// tenant value, even when a run stops half-way: hostnames that go away first, then apps
    /// and keys, the tenant value, the hostnames it gains, and the other removals last (the
    /// tenant value after its apps).
    pub fn phases(&self) -> [Batch; 6] {
        let is_host = |s: &&Step| s.key.starts_with(HOST_PREFIX);
        let is_tenant = |s: &&Step| s.key == Kind::Tenant.kv_key(&self.tenant, "");
        let removed = |s: &&Step| s.action == Action::Remove;
        let put = |steps: Vec<&Step>| {
            Batch::Put(
                steps
                    .into_iter()
                    .filter_map(|s| {
                        s.value.as_ref().map(|v| Entry {
                            key: s.key.clone(),
                            value: v.clone(),
                        })
                    })
                    .collect(),
            )
        };
        let delete =
            |steps: Vec<&Step>| Batch::Delete(steps.into_iter().map(|s| s.key.clone()).collect());
        let steps = &self.steps;
        let select = |f: &dyn Fn(&&Step) -> bool| steps.iter().filter(|s| f(s)).collect::<Vec<_>>();
        [
            delete(select(&|s| is_host(s) && removed(s))),
            put(select(&|s| !is_host(s) && !is_tenant(s) && !removed(s))),
            put(select(&|s| is_tenant(s) && !removed(s))),
            put(select(&|s| is_host(s) && !removed(s))),
            delete(select(&|s| !is_host(s) && !is_tenant(s) && removed(s))),
            delete(select(&|s| is_tenant(s) && removed(s))),
        ]
    }

    /// The non-empty batches of [`Plan::phases`], in order.
    pub fn batches(&self) -> Vec<Batch> {
        let batches = self.phases();
        batches
            .into_iter()
            .filter(|b| match b {
                Batch::Put(e) => !e.is_empty(),
                Batch::Delete(k) => !k.is_empty(),
            })
            .collect()
    }

    /// The plan for people: one line per key in write order, then rotations, notes and a count.
    /// Never a value.
    pub fn render(&self, source: &str, target: &str) -> String {
        let mut out = String::new();
        if self.is_empty() {
            let _ = writeln!(
                out,
                "No changes: tenant {} on {target} matches {source}.",
                self.tenant
            );
            return out;
        }
        let _ = writeln!(
            out,
            "Plan for tenant {} on {target} (from {source}):",
            self.tenant
        );
        let order: Vec<&Step> = self
            .batches()
            .iter()
            .flat_map(|b| match b {
                Batch::Put(entries) => entries.iter().map(|e| e.key.clone()).collect::<Vec<_>>(),
                Batch::Delete(keys) => keys.clone(),
            })
            .filter_map(|k| self.steps.iter().find(|s| s.key == k))
            .collect();
        for s in order {
            let _ = writeln!(out, "  {}", describe(s));
        }
        for line in &self.rotations {
            let _ = writeln!(out, "  rotated: {line}");
        }
        for line in &self.notes {
            let _ = writeln!(out, "  note: {line}");
        }
        let count =
            |f: &dyn Fn(&Action) -> bool| self.steps.iter().filter(|s| f(&s.action)).count();
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to remove, {} hostname(s) moved.",
            count(&|a| matches!(a, Action::Add { .. })),
            count(&|a| matches!(a, Action::Change { .. })),
            count(&|a| matches!(a, Action::Remove)),
            count(&|a| matches!(a, Action::Move { .. })),
        );
        out
    }
}

/// One step as a line: `+ key`, `~ key: fields`, `- key`, `> key moved from tenant …`.
fn describe(step: &Step) -> String {
    match &step.action {
        Action::Add { generated: false } => format!("+ {}", step.key),
        Action::Add { generated: true } => format!("+ {} (keys generated)", step.key),
        Action::Change { fields } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| {
                    if f.sealed {
                        format!("{} (sealed value changed)", f.name)
                    } else {
                        f.name.clone()
                    }
                })
                .collect();
            format!("~ {}: {}", step.key, fields.join(", "))
        }
        Action::Move { from } => format!("> {} moved from tenant {from}", step.key),
        Action::Remove => format!("- {}", step.key),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
