//! `edge-idp tenant init`: writes a starter tenant.json with clearly named placeholders for the
//! secrets, and says how to fill them in.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::check::Schemas;
use crate::error::CliError;
use crate::kind::Kind;

/// Identity mode of a new tenant (the `identity_mode` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// iMIS EMS / Cloud: sign-in through the RiSE page with the Single Sign On content item.
    #[value(name = "imis_cloud")]
    ImisCloud,
    /// iMIS 2017 legacy: our own sign-in page checks the password at iMIS /token.
    #[value(name = "imis_legacy")]
    ImisLegacy,
}

/// What `tenant init` was asked for.
#[derive(Debug, Clone)]
pub struct Init {
    /// Tenant id.
    pub id: String,
    /// Organisation name.
    pub name: String,
    /// Custom hostnames.
    pub hosts: Vec<String>,
    /// Identity mode.
    pub mode: Mode,
    /// The iMIS web site.
    pub imis_base_url: String,
    /// Output folder (default `tenants/<id>`).
    pub out: Option<PathBuf>,
}

/// One secret placeholder: where it is, what it stands for.
struct Placeholder {
    pointer: &'static str,
    text: &'static str,
    what: &'static str,
}

const BACKGROUND: Placeholder = Placeholder {
    pointer: "/imis/background_account/password",
    text: "REPLACE-WITH-SEALED-BACKGROUND-ACCOUNT-PASSWORD",
    what: "the iMIS background account's password",
};
const SAML_SECRET: Placeholder = Placeholder {
    pointer: "/imis/sso/saml/client_secret",
    text: "REPLACE-WITH-SEALED-SAML-CLIENT-SECRET",
    what: "the secret of RiSE client application EdgeIdP-SAML",
};
const OIDC_SECRET: Placeholder = Placeholder {
    pointer: "/imis/sso/oidc/client_secret",
    text: "REPLACE-WITH-SEALED-OIDC-CLIENT-SECRET",
    what: "the secret of RiSE client application EdgeIdP-OIDC",
};

/// Writes the starter tenant.json and prints the next steps.
pub fn init(args: &Init) -> Result<(), CliError> {
    let base_url = args.imis_base_url.trim_end_matches('/');
    let placeholders: &[&Placeholder] = match args.mode {
        Mode::ImisCloud => &[&BACKGROUND, &SAML_SECRET, &OIDC_SECRET],
        Mode::ImisLegacy => &[&BACKGROUND],
    };
    let text = starter(args, base_url);
    check_starter(&text, placeholders)?;

    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("tenants").join(&args.id));
    std::fs::create_dir_all(&dir).map_err(|e| CliError::io("cannot create", &dir, e))?;
    let path = dir.join("tenant.json");
    let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Exists(path))
        }
        Err(e) => return Err(CliError::io("cannot create", &path, e)),
    };
    file.write_all(text.as_bytes())
        .map_err(|e| CliError::io("cannot write", &path, e))?;

    println!("wrote {}", path.display());
    println!();
    println!("Next steps:");
    println!(
        "  1. Review it: name, hostnames, iMIS URL{}, branding, session.",
        if args.mode == Mode::ImisCloud {
            ", the RiSE SSO page URLs and client application ids"
        } else {
            ""
        }
    );
    println!(
        "     The background account username is a suggestion: use the iMIS account you created."
    );
    println!(
        "  2. Seal each secret with the master key (EDGE_IDP_MASTER_KEY or --master-key-file) and \
         paste the output over its placeholder:"
    );
    for p in placeholders {
        println!("       {} ({})", p.text, p.what);
        println!(
            "         edge-idp seal --tenant {} < file-holding-the-secret",
            args.id
        );
    }
    println!("  3. edge-idp validate {}", dir.display());
    println!(
        "  4. edge-idp push {} --local   (or --remote; add --spin --kv-dir DIR for Spin)",
        dir.display()
    );
    Ok(())
}

/// The starter file, written by hand so that its fields keep a readable order.
fn starter(args: &Init, base_url: &str) -> String {
    let q = |s: &str| Value::String(s.to_owned()).to_string();
    let hosts = args
        .hosts
        .iter()
        .map(|h| q(h))
        .collect::<Vec<_>>()
        .join(", ");
    let (mode, sso) = match args.mode {
        Mode::ImisCloud => (
            "imis_cloud",
            format!(
                r#",
    "sso": {{
      "saml": {{
        "page_url": {saml_page},
        "client_id": "EdgeIdP-SAML",
        "client_secret": "{saml_secret}"
      }},
      "oidc": {{
        "page_url": {oidc_page},
        "client_id": "EdgeIdP-OIDC",
        "client_secret": "{oidc_secret}"
      }}
    }}"#,
                saml_page = q(&format!("{base_url}/SSO-SAML")),
                oidc_page = q(&format!("{base_url}/SSO-OIDC")),
                saml_secret = SAML_SECRET.text,
                oidc_secret = OIDC_SECRET.text,
            ),
        ),
        Mode::ImisLegacy => ("imis_legacy", String::new()),
    };
    format!(
        r#"{{
  "schema_version": 1,
  "id": {id},
  "config_version": 1,
  "name": {name},
  "hostnames": [{hosts}],
  "identity_mode": "{mode}",
  "imis": {{
    "base_url": {base},
    "background_account": {{
      "username": "edgeidp-service",
      "password": "{password}"
    }}{sso}
  }},
  "session": {{ "absolute_minutes": 480, "idle_minutes": 60 }}
}}
"#,
        id = q(&args.id),
        name = q(&args.name),
        base = q(base_url),
        password = BACKGROUND.text,
    )
}

/// The starter must break no rule but the placeholders': otherwise an option was wrong.
fn check_starter(text: &str, placeholders: &[&Placeholder]) -> Result<(), CliError> {
    let mut value: Value = serde_json::from_str(text)
        .map_err(|e| CliError::Usage(format!("starter tenant.json is not JSON (a bug): {e}")))?;
    for p in placeholders {
        if let Some(slot) = value.pointer_mut(p.pointer) {
            *slot = Value::String(format!("sealed:v1:{}", "A".repeat(60)));
        }
    }
    let problems = Schemas::compile()?.check(Kind::Tenant, Path::new("tenant.json"), &value);
    if problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = problems
        .iter()
        .map(|p| format!("  {}: {}", p.pointer, p.message))
        .collect();
    Err(CliError::Usage(format!(
        "the options give an invalid tenant.json, nothing was written:\n{}",
        list.join("\n")
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn args(mode: Mode) -> Init {
        Init {
            id: "acme".into(),
            name: "Acme \"Pro\" Association".into(),
            hosts: vec!["acme.localhost".into(), "sso.acme.example".into()],
            mode,
            imis_base_url: "https://members.acme.example/".into(),
            out: None,
        }
    }

    #[test]
    fn starters_are_valid_but_for_their_placeholders() {
        let a = args(Mode::ImisCloud);
        let text = starter(&a, "https://members.acme.example");
        check_starter(&text, &[&BACKGROUND, &SAML_SECRET, &OIDC_SECRET]).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["name"], "Acme \"Pro\" Association");
        assert_eq!(
            v["imis"]["sso"]["oidc"]["page_url"],
            "https://members.acme.example/SSO-OIDC"
        );

        let text = starter(&args(Mode::ImisLegacy), "https://members.acme.example");
        check_starter(&text, &[&BACKGROUND]).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["imis"].get("sso").is_none());
    }

    #[test]
    fn bad_options_are_refused() {
        let mut a = args(Mode::ImisLegacy);
        a.hosts = vec!["Acme.Example:8443".into()];
        let text = starter(&a, "https://members.acme.example");
        let err = check_starter(&text, &[&BACKGROUND])
            .unwrap_err()
            .to_string();
        assert!(err.contains("/hostnames/0"), "{err}");
    }
}
