//! `edge-idp keys init` and `keys rotate`, run as a program: RSA-2048 by default, RSA-4096 with
//! `--bits 4096`, other sizes refused; the result validates and the core opens it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::*;
use edge_idp::seal::{open_secret, MasterKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::Value;

/// The modulus size in bits of a keys.json entry, after checking that its sealed private key
/// opens and is the private half of its public JWK.
fn rsa_bits(entry: &Value) -> usize {
    let n = URL_SAFE_NO_PAD
        .decode(entry["public_jwk"]["n"].as_str().unwrap())
        .unwrap();
    let master = MasterKey::from_base64(MASTER_KEY).unwrap();
    let b64 = open_secret(&master, "acme", entry["private_key"].as_str().unwrap()).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&STANDARD.decode(b64.trim()).unwrap()).unwrap();
    assert_eq!(key.n().to_bytes_be(), n, "the private key matches the JWK");
    n.len() * 8
}

fn keys(dir: &Path) -> Value {
    read_json(&dir.join("keys.json"))
}

/// The core's own parser opens the file (private parts of current and ec included).
fn core_opens(dir: &Path) {
    let bytes = std::fs::read(dir.join("keys.json")).unwrap();
    let master = MasterKey::from_base64(MASTER_KEY).unwrap();
    let set = edge_idp::oidc::keys::parse("acme", &bytes, Some(&master)).unwrap();
    assert!(set.current.unwrap().pkcs8.is_some());
    assert!(set.ec.unwrap().pkcs8.is_some());
}

#[test]
fn keys_init_bits_4096_makes_4096_bit_keys() {
    let dir = acme_folder(&scratch("keys-4096"));
    let d = dir.to_str().unwrap();
    let r = run_keyed(&["keys", "init", d, "--force", "--bits", "4096"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stderr.contains("RSA-4096"), "{}", r.stderr);
    let k = keys(&dir);
    assert_eq!(rsa_bits(&k["current"]), 4096);
    assert_eq!(rsa_bits(&k["next"]), 4096);
    assert_eq!(k["current"]["alg"], "RS256");
    assert_eq!(k["ec"]["alg"], "ES256");
    let r = run(cmd(&["validate", d]));
    assert_eq!(r.code, 0, "{}", r.all());
    core_opens(&dir);
}

#[test]
fn keys_default_to_2048_and_rotate_can_change_the_size() {
    let dir = acme_folder(&scratch("keys-rotate"));
    let d = dir.to_str().unwrap();
    let r = run_keyed(&["keys", "init", d, "--force"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let before = keys(&dir);
    assert_eq!(rsa_bits(&before["current"]), 2048);
    assert_eq!(rsa_bits(&before["next"]), 2048);
    let r = run_keyed(&["keys", "rotate", d, "--bits", "4096"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let after = keys(&dir);
    assert_eq!(after["current"], before["next"], "next now signs");
    assert_eq!(after["previous"]["kid"], before["current"]["kid"]);
    assert!(
        after["previous"].get("private_key").is_none(),
        "previous keeps no private part"
    );
    assert_eq!(rsa_bits(&after["next"]), 4096);
    let r = run(cmd(&["validate", d]));
    assert_eq!(r.code, 0, "{}", r.all());
    core_opens(&dir);
}

#[test]
fn other_rsa_sizes_are_refused_with_the_allowed_ones_named() {
    let dir = acme_folder(&scratch("keys-bad-bits"));
    let d = dir.to_str().unwrap();
    let before = std::fs::read(dir.join("keys.json")).unwrap();
    for bits in ["1024", "3072", "8192", "big"] {
        for args in [
            vec!["keys", "init", d, "--force", "--bits", bits],
            vec!["keys", "rotate", d, "--bits", bits],
        ] {
            let r = run_keyed(&args);
            assert_eq!(r.code, 2, "{args:?}: {}", r.all());
            assert!(
                r.stderr
                    .contains(&format!("invalid value '{bits}' for '--bits <BITS>'"))
                    && r.stderr.contains("[possible values: 2048, 4096]"),
                "{}",
                r.stderr
            );
        }
    }
    assert_eq!(
        std::fs::read(dir.join("keys.json")).unwrap(),
        before,
        "nothing written"
    );
}
