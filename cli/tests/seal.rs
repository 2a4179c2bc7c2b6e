//! `edge-idp seal` and `edge-idp keygen-master`, run as a program.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::*;
use edge_idp::seal::{is_sealed, open_secret, MasterKey};

fn master() -> MasterKey {
    MasterKey::from_base64(MASTER_KEY).unwrap()
}

#[test]
fn seal_then_open_round_trip() {
    let mut c = cmd(&["seal", "--tenant", "acme"]);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
    let r = run_with(c, "correct horse battery staple\n");
    assert_eq!(r.code, 0, "{}", r.all());
    let sealed = r.stdout.trim();
    assert!(is_sealed(sealed), "{sealed}");
    assert!(!r.all().contains("correct horse"));
    assert_eq!(
        open_secret(&master(), "acme", sealed).unwrap(),
        "correct horse battery staple"
    );
    assert!(open_secret(&master(), "globex", sealed).is_err());
}

#[test]
fn only_one_trailing_line_break_is_removed_and_nonces_differ() {
    let seal = |input: &str| {
        let mut c = cmd(&["seal", "--tenant", "acme"]);
        c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
        let r = run_with(c, input);
        assert_eq!(r.code, 0, "{}", r.all());
        r.stdout.trim().to_owned()
    };
    let a = seal("two lines\nof secret\r\n");
    assert_eq!(
        open_secret(&master(), "acme", &a).unwrap(),
        "two lines\nof secret"
    );
    let b = seal("no newline");
    let c = seal("no newline");
    assert_ne!(b, c, "every seal draws a fresh nonce");
    assert_eq!(open_secret(&master(), "acme", &c).unwrap(), "no newline");
}

#[test]
fn master_key_can_come_from_a_file() {
    let dir = scratch("keyfile");
    let file = dir.join("master.key");
    std::fs::write(&file, format!("{MASTER_KEY}\n")).unwrap();
    let c = cmd(&[
        "seal",
        "--tenant",
        "globex",
        "--master-key-file",
        file.to_str().unwrap(),
    ]);
    let r = run_with(c, "s3cret");
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        open_secret(&master(), "globex", r.stdout.trim()).unwrap(),
        "s3cret"
    );
}

#[test]
fn seal_refuses_without_a_usable_key_or_secret() {
    let r = run_with(cmd(&["seal", "--tenant", "acme"]), "s3cret");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no master key"), "{}", r.stderr);

    let mut c = cmd(&["seal", "--tenant", "acme"]);
    c.env("EDGE_IDP_MASTER_KEY", "c2hvcnQta2V5");
    let r = run_with(c, "s3cret");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("exactly 32 bytes"), "{}", r.stderr);
    assert!(!r.stderr.contains("c2hvcnQta2V5"), "the key was echoed");

    let mut c = cmd(&["seal", "--tenant", "acme"]);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
    let r = run_with(c, "\n");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no secret on standard input"),
        "{}",
        r.stderr
    );

    let mut c = cmd(&["seal", "--tenant", "Not A Tenant"]);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
    let r = run_with(c, "s3cret");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not a tenant id"), "{}", r.stderr);
}

#[test]
fn the_secret_cannot_be_given_on_the_command_line() {
    let mut c = cmd(&["seal", "--tenant", "acme", "s3cret"]);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.all());
}

#[test]
fn keygen_master_prints_a_fresh_32_byte_key() {
    let a = run(cmd(&["keygen-master"]));
    let b = run(cmd(&["keygen-master"]));
    assert_eq!(a.code, 0, "{}", a.all());
    let key = a.stdout.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap();
    assert_eq!(bytes.len(), 32);
    assert_ne!(key, b.stdout.trim());
    MasterKey::from_base64(key).unwrap();
    // The key it prints seals and opens.
    let mut c = cmd(&["seal", "--tenant", "acme"]);
    c.env("EDGE_IDP_MASTER_KEY", key);
    let r = run_with(c, "x-secret");
    let fresh = MasterKey::from_base64(key).unwrap();
    assert_eq!(
        open_secret(&fresh, "acme", r.stdout.trim()).unwrap(),
        "x-secret"
    );
}
