//! The KV documents a tenant file stands for, given what is deployed: secrets sealed (keeping
//! the deployed seal of an unchanged secret), missing keys kept from what is deployed or
//! generated, every document checked against the embedded kv-schema.
//!
//! Keys are state the file does not hold: a SAML app without `idp.current` and a file without
//! `[keys]` keep the deployed keys, and get fresh ones (as `saml keygen` and `keys init` make
//! them) only when nothing is deployed. So a second plan finds nothing to do.

use std::path::{Path, PathBuf};

use edge_idp::seal::MasterKey;
use serde_json::{Map, Value};

use crate::check::{Problem, Schemas};
use crate::deployed::Deployed;
use crate::error::CliError;
use crate::kind::Kind;
use crate::secret_ref::{self, Prompt, Resolver};
use crate::tenant_file::TenantFile;

/// RSA key size of generated tenant signing keys (as `keys init` defaults to).
const RSA_BITS: usize = 2048;

/// One document to deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredDoc {
    /// Its KV key.
    pub key: String,
    /// Its kind.
    pub kind: Kind,
    /// Its value.
    pub value: Value,
    /// Keys were generated for it in this run.
    pub generated: bool,
    /// How messages name it: its table in the file.
    pub label: String,
}

/// Everything a tenant file stands for.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The tenant id.
    pub tenant: String,
    /// The tenant's documents (the tenant's own first).
    pub docs: Vec<DesiredDoc>,
    /// Its hostnames.
    pub hosts: Vec<String>,
    /// `config_version` as the file gives it: the lowest the tenant may get.
    pub file_config_version: Option<u64>,
}

/// What building the desired state needs besides the file and what is deployed.
pub struct Inputs<'a> {
    /// The master key: seals references, opens sealed values to compare them.
    pub master: &'a MasterKey,
    /// Rotate the tenant's signing keys (next becomes current, a new next is made).
    pub rotate_keys: bool,
    /// Reads an environment variable (`env:` references).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Asks for `prompt` secrets.
    pub prompt: Prompt<'a>,
}

/// The documents `file` stands for, given `deployed`; refuses a file whose documents break
/// their schema (the problems are printed, never with a secret).
pub fn build(
    file: &TenantFile,
    deployed: &Deployed,
    inputs: &mut Inputs<'_>,
) -> Result<Desired, CliError> {
    let tenant = file.tenant.clone();
    let mut resolver = Resolver {
        base_dir: file.base_dir(),
        master: inputs.master,
        tenant: tenant.clone(),
        env: inputs.env,
        prompt: &mut *inputs.prompt,
    };
    let mut docs = Vec::new();
    let mut file_config_version = None;
    for doc in &file.docs {
        let key = doc.kind.kv_key(&tenant, doc.id());
        let mut value = doc.value.clone();
        let secrets = resolver.take_secrets(&doc.label(), &mut value)?;
        let on_store = deployed.get(&key);
        secret_ref::settle(&mut value, secrets, on_store, inputs.master, &tenant)?;
        let mut generated = false;
        match doc.kind {
            Kind::Tenant => {
                file_config_version = value.get("config_version").and_then(Value::as_u64);
                let version = deployed.config_version().or(file_config_version);
                if let Some(map) = value.as_object_mut() {
                    map.insert("config_version".into(), Value::from(version.unwrap_or(1)));
                }
            }
            Kind::SamlApp => {
                generated = saml_keys(&mut value, on_store, inputs.master, &tenant, doc.id())?;
            }
            _ => {}
        }
        docs.push(DesiredDoc {
            key,
            kind: doc.kind,
            value,
            generated,
            label: doc.label(),
        });
    }
    if file.doc(Kind::Keys, "").is_none() {
        docs.push(tenant_keys(deployed, inputs.master, &tenant)?);
    } else if inputs.rotate_keys {
        return Err(CliError::Usage(format!(
            "{}: the file gives [keys]; rotate them in the file, or leave [keys] out to let \
             --rotate-keys rotate the deployed keys",
            file.path.display()
        )));
    }
    if inputs.rotate_keys {
        if let Some(keys) = docs.iter_mut().find(|d| d.kind == Kind::Keys) {
            crate::oidc::rotate_keys(&mut keys.value, inputs.master, &tenant, RSA_BITS)?;
            keys.generated = true;
        }
    }
    check(&file.path, &docs)?;
    Ok(Desired {
        tenant,
        docs,
        hosts: file.hostnames(),
        file_config_version,
    })
}

/// Gives a SAML app without `idp.current` the deployed app's current and next keys, or a fresh
/// key when none is deployed; whether one was generated.
fn saml_keys(
    app: &mut Value,
    deployed: Option<&Value>,
    master: &MasterKey,
    tenant: &str,
    id: &str,
) -> Result<bool, CliError> {
    let Some(map) = app.as_object_mut() else {
        return Ok(false);
    };
    let idp = map
        .entry("idp")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(idp) = idp.as_object_mut() else {
        return Ok(false);
    };
    if idp.contains_key("current") {
        return Ok(false);
    }
    let deployed_idp = deployed.and_then(|d| d.get("idp"));
    if let Some(current) = deployed_idp.and_then(|i| i.get("current")) {
        idp.insert("current".into(), current.clone());
        if let Some(next) = deployed_idp.and_then(|i| i.get("next")) {
            idp.entry("next").or_insert_with(|| next.clone());
        }
        return Ok(false);
    }
    let key = crate::saml::new_key(master, tenant, id)?;
    let key = serde_json::to_value(key)
        .map_err(|e| CliError::Usage(format!("cannot encode the new SAML key: {e}")))?;
    idp.insert("current".into(), key);
    Ok(true)
}

/// The deployed signing keys of the tenant, or fresh ones when none are deployed.
fn tenant_keys(
    deployed: &Deployed,
    master: &MasterKey,
    tenant: &str,
) -> Result<DesiredDoc, CliError> {
    let key = Kind::Keys.kv_key(tenant, "");
    let (value, generated) = match deployed.get(&key).filter(|v| v.is_object()) {
        Some(value) => (value.clone(), false),
        None => (crate::oidc::new_keys(master, tenant, RSA_BITS)?, true),
    };
    Ok(DesiredDoc {
        key,
        kind: Kind::Keys,
        value,
        generated,
        label: "the signing keys (no [keys] in the file)".to_owned(),
    })
}

/// Checks every document against its embedded schema and the rules beyond it; prints the
/// problems, named by the file and table, with no value of a secret or digest field.
fn check(path: &Path, docs: &[DesiredDoc]) -> Result<(), CliError> {
    let schemas = Schemas::shared()?;
    let mut problems: Vec<Problem> = Vec::new();
    for doc in docs {
        let place = PathBuf::from(format!("{} {}", path.display(), doc.label));
        let mut found = schemas.check(doc.kind, &place, &doc.value);
        found.extend(crate::check::beyond_schema(doc.kind, &place, &doc.value));
        problems.extend(found.into_iter().map(redact));
    }
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    Err(CliError::Invalid {
        count: problems.len(),
        suffix: "; nothing was planned or written",
    })
}

/// A problem at a secret or digest field says nothing of the value.
fn redact(mut problem: Problem) -> Problem {
    let field = problem.pointer.rsplit('/').next().unwrap_or("");
    let digest = matches!(field, "client_secret_hash" | "secret_sha256");
    if digest || secret_ref::is_secret_field(field) {
        problem.message = "breaks its schema rule; the value is not shown because this field \
                           holds a secret or its digest"
            .to_owned();
    }
    problem
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::deployed::Deployed;
    use crate::tenant_file::parse;
    use edge_idp::seal::open_secret;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    const FILE: &str = r#"
[tenant]
id = "acme"
name = "Acme"
hostnames = ["a.example"]
identity_mode = "imis_legacy"
[tenant.imis]
base_url = "https://members.acme.example"
background_account = { username = "svc", password = "env:ACME_PW" }

[[bridge]]
id = "events"
name = "Events"
deliveries = ["query"]
return_domains = ["events.example"]
secret_sha256 = "env:ACME_VENDOR"
"#;

    fn build_with(text: &str, deployed: &Deployed, rotate: bool) -> Result<Desired, CliError> {
        let master = MasterKey::from_base64(KEY).unwrap();
        let file = parse(Path::new("acme.toml"), text).unwrap();
        let env = |name: &str| match name {
            "ACME_PW" => Some("pw-1".to_owned()),
            "ACME_VENDOR" => Some("vendor-1".to_owned()),
            _ => None,
        };
        let mut prompt = |_: &str| Ok(String::new());
        let mut inputs = Inputs {
            master: &master,
            rotate_keys: rotate,
            env: &env,
            prompt: &mut prompt,
        };
        build(&file, deployed, &mut inputs)
    }

    fn as_deployed(desired: &Desired) -> Deployed {
        Deployed {
            tenant: desired.tenant.clone(),
            tenant_values: desired
                .docs
                .iter()
                .map(|d| (d.key.clone(), d.value.clone()))
                .collect(),
            ..Deployed::default()
        }
    }

    #[test]
    fn a_new_tenant_gets_sealed_secrets_keys_and_version_1() {
        let d = build_with(FILE, &Deployed::default(), false).unwrap();
        let keys: Vec<&str> = d.docs.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "tenant:acme",
                "tenant:acme:bridge:events",
                "tenant:acme:keys"
            ]
        );
        let tenant = &d.docs[0].value;
        assert_eq!(tenant["config_version"], 1);
        let sealed = tenant["imis"]["background_account"]["password"]
            .as_str()
            .unwrap();
        let master = MasterKey::from_base64(KEY).unwrap();
        assert_eq!(open_secret(&master, "acme", sealed).unwrap(), "pw-1");
        assert_eq!(d.docs[1].value["secret_sha256"].as_str().unwrap().len(), 64);
        assert!(d.docs[2].generated);
        assert!(d.docs[2].value["current"]["private_key"]
            .as_str()
            .unwrap()
            .starts_with("sealed:v1:"));
        assert_eq!(d.hosts, ["a.example"]);
    }

    #[test]
    fn against_its_own_deployment_nothing_differs() {
        let first = build_with(FILE, &Deployed::default(), false).unwrap();
        let deployed = as_deployed(&first);
        let second = build_with(FILE, &deployed, false).unwrap();
        assert_eq!(first.docs.len(), second.docs.len());
        for (a, b) in first.docs.iter().zip(&second.docs) {
            assert_eq!(a.value, b.value, "{}", a.key);
            assert!(!b.generated, "{}", b.key);
        }
        // Rotation promotes the deployed next key.
        let rotated = build_with(FILE, &deployed, true).unwrap();
        let keys = rotated.docs.iter().find(|d| d.kind == Kind::Keys).unwrap();
        assert_eq!(keys.value["current"], first.docs[2].value["next"]);
        assert!(keys.value["previous"].get("private_key").is_none());
    }

    #[test]
    fn schema_problems_refuse_the_file() {
        let broken = FILE.replace("deliveries = [\"query\"]", "deliveries = [\"fax\"]");
        let e = build_with(&broken, &Deployed::default(), false).unwrap_err();
        assert!(matches!(e, CliError::Invalid { count: 1, .. }), "{e}");
        let p = redact(Problem {
            file: "x".into(),
            pointer: "/secret_sha256".into(),
            message: "\"my-secret\" does not match".into(),
            rule: "pattern".into(),
        });
        assert!(!p.to_string().contains("my-secret"), "{p}");
    }
}
