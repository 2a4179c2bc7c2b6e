//! `edge-idp saml …` black-box: import of SP metadata (preview, clear refusals), add with dummy
//! values, keygen, rotate, cert; the written apps validate and their keys open for the tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

fn metadata(name: &str) -> String {
    repo()
        .join("tests/saml/metadata")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn import_previews_writes_and_refuses_bad_metadata_clearly() {
    let dir = scratch("saml-import");
    let tenant = acme_folder(&dir);
    let t = tenant.display().to_string();
    let dry = run_keyed(&[
        "saml",
        "import",
        &metadata("lms-sp.xml"),
        "--tenant-dir",
        &t,
        "--dry-run",
    ]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    for expected in [
        "https://lms.example.org/saml/metadata",
        "https://lms.example.org/saml/acs [HTTP-POST, index 0]",
        "AuthnRequestsSigned      true",
        "skipped ACS https://lms.example.org/saml/artifact",
        "(dry run: nothing written)",
    ] {
        assert!(dry.stdout.contains(expected), "{expected}\n{}", dry.stdout);
    }
    assert!(!tenant.join("saml/lms-example-org.json").exists());
    let no_tty = run_keyed(&[
        "saml",
        "import",
        &metadata("lms-sp.xml"),
        "--tenant-dir",
        &t,
    ]);
    assert_ne!(no_tty.code, 0, "no confirmation without --yes");
    let r = run_keyed(&[
        "saml",
        "import",
        &metadata("lms-sp.xml"),
        "--tenant-dir",
        &t,
        "--id",
        "lms",
        "--name",
        "Acme Learning",
        "--yes",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let app = read_json(&tenant.join("saml/lms.json"));
    assert_eq!(
        app["sp"]["acs"][0]["url"],
        "https://lms.example.org/saml/acs"
    );
    assert_eq!(app["sp"]["acs"][1]["binding"], "redirect");
    assert_eq!(
        app["sp"]["slo"]["response_url"],
        "https://lms.example.org/saml/slo-response"
    );
    assert_eq!(app["sp"]["authn_requests_signed"], true);
    assert_eq!(
        app["sp"]["certificates"].as_array().unwrap().len(),
        1,
        "the encryption key is not a signing key"
    );
    assert!(
        app["sp"]["encryption_certificate"].as_str().is_some(),
        "the encryption key is kept apart: {app}"
    );
    assert!(
        app.get("encrypt_assertion").is_none(),
        "encryption stays off until asked for"
    );
    assert_eq!(app["name_id_format"], "email");
    assert!(app["idp"]["current"]["private_key"]
        .as_str()
        .unwrap()
        .starts_with("sealed:v1:"));
    let valid = run_keyed(&["validate", &t]);
    assert_eq!(valid.code, 0, "{}", valid.all());

    // Re-import keeps the key and the settings.
    let key = app["idp"]["current"].clone();
    let r = run_keyed(&[
        "saml",
        "import",
        &metadata("lms-sp.xml"),
        "--tenant-dir",
        &t,
        "--id",
        "lms",
        "--yes",
        "--profile-iqa",
        "$/EdgeIdP/Profile",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let again = read_json(&tenant.join("saml/lms.json"));
    assert_eq!(again["idp"]["current"], key);
    assert_eq!(again["name"], "Acme Learning");
    assert_eq!(again["profile_iqa"], "$/EdgeIdP/Profile");

    for (file, message) in [
        ("bad-idp-metadata.xml", "there is no SPSSODescriptor"),
        (
            "bad-http-acs.xml",
            "\"http://lms.example.org/saml/acs\" is not an https URL",
        ),
        (
            "bad-certificate.xml",
            "KeyDescriptor #1 is not a base64 DER X.509 certificate",
        ),
        ("bad-doctype.xml", "DOCTYPE"),
    ] {
        let r = run_keyed(&[
            "saml",
            "import",
            &metadata(file),
            "--tenant-dir",
            &t,
            "--id",
            "bad",
            "--yes",
        ]);
        assert_ne!(r.code, 0, "{file}");
        assert!(r.stderr.contains(message), "{file}: {}", r.stderr);
    }
    assert!(!tenant.join("saml/bad.json").exists());
}

#[test]
fn add_dummy_then_rotate_and_promote() {
    let dir = scratch("saml-add");
    let tenant = acme_folder(&dir);
    let t = tenant.display().to_string();
    let file = tenant.join("saml/lms.json");
    let f = file.display().to_string();
    let no_key = cmd(&["saml", "add", &t, "--id", "lms", "--name", "LMS", "--dummy"]);
    assert_ne!(run(no_key).code, 0, "sealing needs the master key");
    let r = run_keyed(&[
        "saml",
        "add",
        &t,
        "--id",
        "lms",
        "--name",
        "LMS",
        "--dummy",
        "--no-access-mapping",
        "A|https://x.org/a|b",
    ]);
    assert!(r.stderr.contains("more than one '|'"), "{}", r.all());
    let r = run_keyed(&[
        "saml",
        "add",
        &t,
        "--id",
        "lms",
        "--name",
        "LMS",
        "--dummy",
        "--no-access-mapping",
        "S\\nI|https://acme.example/renew",
    ]);
    assert!(
        r.stderr.contains("needs a Profile IQA"),
        "a mapping without a Profile IQA would let everyone in: {}",
        r.all()
    );
    let r = run_keyed(&[
        "saml",
        "add",
        &t,
        "--id",
        "lms",
        "--name",
        "LMS",
        "--dummy",
        "--profile-iqa",
        "$/EdgeIdP/Profile",
        "--no-access-mapping",
        "S\\nI|https://acme.example/renew",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let app = read_json(&file);
    assert_eq!(app["sp"]["acs"][0]["url"], "https://sp.invalid/saml/acs");
    assert_eq!(app["no_access_mapping"], "S\nI|https://acme.example/renew");
    let current = app["idp"]["current"]["certificate"].clone();
    assert_ne!(
        run_keyed(&["saml", "add", &t, "--id", "lms", "--name", "LMS", "--dummy"]).code,
        0,
        "no silent overwrite"
    );
    assert_ne!(
        run_keyed(&["saml", "keygen", &f]).code,
        0,
        "keygen does not replace a key without --force"
    );

    assert_eq!(run_keyed(&["saml", "rotate", &f]).code, 0);
    let staged = read_json(&file);
    assert_eq!(
        staged["idp"]["current"]["certificate"], current,
        "the current key still signs"
    );
    let next = staged["idp"]["next"]["certificate"].clone();
    assert!(next.is_string());
    assert_ne!(
        run_keyed(&["saml", "rotate", &f]).code,
        0,
        "one staged key at a time"
    );
    // What a vendor's form asks for, for the tenant's first hostname or a named one.
    let hostnames = read_json(&tenant.join("tenant.json"))["hostnames"].clone();
    let first = hostnames[0].as_str().unwrap().to_ascii_lowercase();
    let shown = run(cmd(&["saml", "show", &f]));
    assert_eq!(shown.code, 0, "{}", shown.all());
    for expected in [
        format!("IdP entity ID (Issuer)      https://{first}/saml/lms/metadata"),
        format!("SSO URL, HTTP-Redirect      https://{first}/saml/lms/sso"),
        format!("IdP-initiated login URL     https://{first}/saml/lms/login"),
        "Next certificate (staged, signs nothing yet)".to_string(),
    ] {
        assert!(
            shown.stdout.contains(&expected),
            "{expected}\n{}",
            shown.stdout
        );
    }
    assert_eq!(
        shown.stdout.matches("-----BEGIN CERTIFICATE-----").count(),
        2
    );
    let fingerprints: Vec<&str> = shown
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("SHA-256 fingerprint"))
        .map(str::trim)
        .collect();
    assert_eq!(fingerprints.len(), 2, "{}", shown.stdout);
    assert!(fingerprints
        .iter()
        .all(|f| f.len() == 95 && f.split(':').count() == 32));
    assert_ne!(fingerprints[0], fingerprints[1]);
    let elsewhere = run(cmd(&[
        "saml",
        "show",
        &f,
        "--host",
        "SSO.Other.Example:8443",
    ]));
    assert!(
        elsewhere
            .stdout
            .contains("SSO URL, HTTP-Redirect      https://sso.other.example:8443/saml/lms/sso"),
        "{}",
        elsewhere.stdout
    );
    assert!(
        elsewhere
            .stdout
            .contains(&format!("https://{first}:8443/saml/lms/metadata")),
        "the entity ID names the first hostname: {}",
        elsewhere.stdout
    );
    let pem = run(cmd(&["saml", "cert", &f, "--next"]));
    assert!(
        pem.stdout.starts_with("-----BEGIN CERTIFICATE-----\n"),
        "{}",
        pem.all()
    );
    assert_eq!(run_keyed(&["saml", "rotate", "--promote", &f]).code, 0);
    let promoted = read_json(&file);
    assert_eq!(promoted["idp"]["current"]["certificate"], next);
    assert!(promoted["idp"].get("next").is_none());
    let valid = run_keyed(&["validate", &t]);
    assert_eq!(valid.code, 0, "{}", valid.all());
}
