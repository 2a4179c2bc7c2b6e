#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use super::*;
use serde_json::json;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn master() -> MasterKey {
    MasterKey::from_base64(KEY).unwrap()
}

fn seal(plain: &str) -> String {
    seal_secret(&master(), "acme", [7u8; NONCE_LEN], plain)
}

/// Resolves `doc` with `SECRET_PW=from-env` set and "typed" answering every prompt.
fn take(doc: &mut Value, base: &Path) -> Result<Vec<Secret>, CliError> {
    let master = master();
    let env = |name: &str| (name == "SECRET_PW").then(|| "from-env".to_owned());
    let mut prompt = |_: &str| Ok("typed\n".to_owned());
    let mut r = Resolver {
        base_dir: base.to_path_buf(),
        master: &master,
        tenant: "acme".into(),
        env: &env,
        prompt: &mut prompt,
    };
    r.take_secrets("[tenant]", doc)
}

#[test]
fn references_parse_and_anything_else_is_clear_text() {
    assert_eq!(SecretRef::parse("prompt"), Some(SecretRef::Prompt));
    assert_eq!(
        SecretRef::parse("env:ACME_PW_2"),
        Some(SecretRef::Env("ACME_PW_2".into()))
    );
    assert_eq!(
        SecretRef::parse("file:secrets/pw.txt"),
        Some(SecretRef::File("secrets/pw.txt".into()))
    );
    assert!(matches!(
        SecretRef::parse("sealed:v1:abc"),
        Some(SecretRef::Sealed(_))
    ));
    for clear in [
        "hunter2", "env:", "env:1X", "env:A-B", "file:", "Prompt", "",
    ] {
        assert_eq!(SecretRef::parse(clear), None, "{clear}");
    }
}

#[test]
fn the_secret_fields_are_those_the_schemas_seal() {
    // Every property whose schema demands a sealed value, in every embedded schema.
    fn sealed_props(schema: &Value, name: &str, out: &mut Vec<String>) {
        let sealed = schema
            .get("pattern")
            .and_then(Value::as_str)
            .is_some_and(|p| p.contains("sealed:v1:"))
            || schema.get("$ref").and_then(Value::as_str) == Some("#/$defs/sealed");
        if sealed && !name.is_empty() {
            out.push(name.to_owned());
        }
        if let Some(map) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in map {
                sealed_props(v, k, out);
            }
        }
        for key in ["$defs", "items"] {
            match schema.get(key) {
                Some(Value::Object(map)) if key == "$defs" => {
                    map.values().for_each(|v| sealed_props(v, "", out));
                }
                Some(v) => sealed_props(v, "", out),
                None => {}
            }
        }
    }
    let mut names = Vec::new();
    for kind in crate::kind::Kind::ALL {
        let schema: Value = serde_json::from_str(kind.schema_text()).unwrap();
        sealed_props(&schema, "", &mut names);
    }
    assert!(names.len() >= 4, "{names:?}");
    for name in names {
        assert!(is_secret_field(&name), "{name} is sealed by a schema");
    }
}

#[test]
fn references_resolve_and_clear_secrets_are_refused_by_field() {
    let dir = std::env::temp_dir().join(format!("edge-idp-secret-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("saml.txt"), "from-file\r\n").unwrap();
    let mut doc = json!({"imis": {
        "background_account": {"username": "svc", "password": "env:SECRET_PW"},
        "sso": {"saml": {"client_secret": "file:saml.txt"},
                "oidc": {"client_secret": "prompt"}}}});
    let secrets = take(&mut doc, &dir).unwrap();
    let mut got: Vec<(&str, &str)> = secrets
        .iter()
        .map(|s| (s.pointer.as_str(), s.plain.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("/imis/background_account/password", "from-env"),
            ("/imis/sso/oidc/client_secret", "typed"),
            ("/imis/sso/saml/client_secret", "from-file"),
        ]
    );
    assert_eq!(doc["imis"]["background_account"]["password"], "");
    assert_eq!(doc["imis"]["background_account"]["username"], "svc");

    let mut clear = json!({"imis": {"background_account": {"password": "hunter2"}}});
    let e = take(&mut clear, &dir).err().unwrap().to_string();
    assert!(
        e.starts_with("[tenant] /imis/background_account/password: a clear secret"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");

    for (value, want) in [
        ("env:UNSET_X", "env:UNSET_X: the variable is not set"),
        ("file:missing.txt", "file:missing.txt: cannot read"),
        (
            "sealed:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "does not open",
        ),
    ] {
        let mut doc = json!({"jwt_signing_key": value});
        let e = take(&mut doc, &dir).err().unwrap().to_string();
        assert!(e.contains(want), "{value}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn digest_fields_take_references_and_keep_digests() {
    let mut doc = json!({
        "client_secret_hash": "env:SECRET_PW",
        "previous_secret": {"secret_sha256": "prompt"},
        "secret_sha256": "ab12"
    });
    assert!(take(&mut doc, Path::new(".")).unwrap().is_empty());
    assert_eq!(
        doc["client_secret_hash"],
        edge_idp::oidc::client::secret_hash("from-env")
    );
    assert_eq!(
        doc["previous_secret"]["secret_sha256"],
        hex::encode(Sha256::digest(b"typed"))
    );
    assert_eq!(doc["secret_sha256"], "ab12");
}

#[test]
fn settle_keeps_a_deployed_seal_of_the_same_plaintext() {
    let master = master();
    let deployed = json!({"k": {"password": seal("same")}, "o": {"password": seal("old")}});
    let given = seal("given");
    let mut doc = json!({"k": {"password": ""}, "o": {"password": ""}, "g": {"password": ""}});
    let secrets = vec![
        Secret {
            pointer: "/k/password".into(),
            plain: "same".into(),
            given: None,
        },
        Secret {
            pointer: "/o/password".into(),
            plain: "new".into(),
            given: None,
        },
        Secret {
            pointer: "/g/password".into(),
            plain: "given".into(),
            given: Some(given.clone()),
        },
    ];
    settle(&mut doc, secrets, Some(&deployed), &master, "acme").unwrap();
    assert_eq!(doc["k"]["password"], deployed["k"]["password"]);
    let fresh = doc["o"]["password"].as_str().unwrap();
    assert_ne!(fresh, deployed["o"]["password"].as_str().unwrap());
    assert_eq!(open_secret(&master, "acme", fresh).unwrap(), "new");
    assert_eq!(doc["g"]["password"], given.as_str());
    // Sealed for another tenant, the same plaintext does not count as deployed.
    let other = json!({"k": {"password": seal_secret(&master, "globex", [1; NONCE_LEN], "same")}});
    let mut doc = json!({"k": {"password": ""}});
    let secrets = vec![Secret {
        pointer: "/k/password".into(),
        plain: "same".into(),
        given: None,
    }];
    settle(&mut doc, secrets, Some(&other), &master, "acme").unwrap();
    assert_ne!(doc["k"]["password"], other["k"]["password"]);
}

#[test]
fn a_machine_key_that_is_not_usable_hex_is_refused_without_showing_it() {
    let mut doc = json!({"imis": {"forms_ticket": {
        "validation_key": "env:SECRET_PW", "decryption_key": "env:SECRET_PW"}}});
    let Err(err) = take(&mut doc, Path::new(".")) else {
        panic!("a machine key of \"from-env\" was taken");
    };
    let err = err.to_string();
    assert!(err.contains("/imis/forms_ticket/"), "{err}");
    assert!(err.contains("hex"), "{err}");
    assert!(!err.contains("from-env"), "{err}");
}
