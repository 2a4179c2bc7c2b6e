//! `edge-idp bridge add` / `bridge rotate-secret`, run as a program on scratch tenant folders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sha2::{Digest, Sha256};

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[test]
fn add_prints_the_secret_once_and_stores_only_its_hash() {
    let dir = acme_folder(&scratch("bridge-add"));
    let d = dir.to_str().unwrap();
    let r = run(cmd(&[
        "bridge",
        "add",
        d,
        "--id",
        "lms",
        "--name",
        "Acme Learning",
        "--delivery",
        "query",
        "--delivery",
        "post",
        "--return-domain",
        "learn.acme.example",
        "--callback-url",
        "https://learn.acme.example/sso",
        "--allowed-origin",
        "https://learn.acme.example",
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    let secret = r.stdout.trim().to_string();
    assert_eq!(secret.len(), 43, "{}", r.all());
    assert!(
        !r.stderr.contains(&secret),
        "the secret goes to stdout only"
    );
    let path = dir.join("bridge/lms.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&secret), "only the hash is stored");
    let app = read_json(&path);
    assert_eq!(app["secret_sha256"], digest(&secret));
    assert_eq!(app["deliveries"], serde_json::json!(["query", "post"]));
    let v = run(cmd(&["validate", path.to_str().unwrap()]));
    assert_eq!(v.code, 0, "{}", v.all());

    // Rotation: a new secret, a new hash, the rest kept.
    let r = run(cmd(&["bridge", "rotate-secret", d, "--id", "lms"]));
    assert_eq!(r.code, 0, "{}", r.all());
    let second = r.stdout.trim().to_string();
    assert_ne!(second, secret);
    let rotated = read_json(&path);
    assert_eq!(rotated["secret_sha256"], digest(&second));
    assert_eq!(rotated["callback_url"], app["callback_url"]);
    // The old secret keeps working for the overlap (24 hours unless told otherwise).
    assert_eq!(rotated["previous_secret"]["secret_sha256"], digest(&secret));
    let until = rotated["previous_secret"]["valid_until"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((now + 24 * 3600 - 60..=now + 24 * 3600 + 60).contains(&until));
    assert!(r.stderr.contains("keeps working until"), "{}", r.all());
    let v = run(cmd(&["validate", path.to_str().unwrap()]));
    assert_eq!(v.code, 0, "{}", v.all());
    let r = run(cmd(&[
        "bridge",
        "rotate-secret",
        d,
        "--id",
        "lms",
        "--overlap-hours",
        "0",
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    let third = read_json(&path);
    assert!(
        third.get("previous_secret").is_none(),
        "no overlap asked for"
    );
    assert!(
        r.stderr.contains("stops working at the next push"),
        "{}",
        r.all()
    );

    // No overwrite, and nothing written for an invalid app.
    let again = run(cmd(&[
        "bridge",
        "add",
        d,
        "--id",
        "lms",
        "--name",
        "X",
        "--delivery",
        "query",
        "--return-domain",
        "learn.acme.example",
    ]));
    assert_ne!(again.code, 0);
    let bad = run(cmd(&[
        "bridge",
        "add",
        d,
        "--id",
        "shop",
        "--name",
        "Shop",
        "--delivery",
        "post",
        "--return-domain",
        "shop.acme.example",
    ]));
    assert_ne!(bad.code, 0, "post delivery without a callback URL");
    assert!(bad.stderr.contains("callback_url"), "{}", bad.all());
    assert!(!dir.join("bridge/shop.json").exists());
}
