//! The kinds of KV value, their embedded JSON Schemas, and which kind a file holds.

use std::path::Path;

use edge_idp::kv_key;

/// One kind of value held in KV; each has a schema in `kv-schema/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Kind {
    /// `host:{hostname}`: which tenant a hostname belongs to.
    Host,
    /// `tenant:{id}`: the tenant's settings (tenant.json).
    Tenant,
    /// `tenant:{id}:saml:{app}`: a SAML client app (saml/{app}.json).
    SamlApp,
    /// `tenant:{id}:oidc:{client_id}`: an OIDC client (oidc/{client}.json).
    OidcClient,
    /// `tenant:{id}:bridge:{app}`: a token-bridge app (bridge/{app}.json).
    BridgeApp,
    /// `tenant:{id}:keys`: the OIDC signing keys (keys.json).
    Keys,
}

impl Kind {
    /// Every kind, in the order of `kv-schema/README.md`.
    pub const ALL: [Kind; 6] = [
        Kind::Host,
        Kind::Tenant,
        Kind::SamlApp,
        Kind::OidcClient,
        Kind::BridgeApp,
        Kind::Keys,
    ];

    /// The kind's name: its schema is `kv-schema/{name}.schema.json`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::Tenant => "tenant",
            Kind::SamlApp => "saml-app",
            Kind::OidcClient => "oidc-client",
            Kind::BridgeApp => "bridge-app",
            Kind::Keys => "keys",
        }
    }

    /// The kind's JSON Schema, embedded at build time so that the binary works anywhere.
    pub fn schema_text(self) -> &'static str {
        match self {
            Kind::Host => include_str!("../../kv-schema/host.schema.json"),
            Kind::Tenant => include_str!("../../kv-schema/tenant.schema.json"),
            Kind::SamlApp => include_str!("../../kv-schema/saml-app.schema.json"),
            Kind::OidcClient => include_str!("../../kv-schema/oidc-client.schema.json"),
            Kind::BridgeApp => include_str!("../../kv-schema/bridge-app.schema.json"),
            Kind::Keys => include_str!("../../kv-schema/keys.schema.json"),
        }
    }

    /// The folder of a tenant folder that holds values of this kind, one file per app.
    pub fn app_folder(self) -> Option<&'static str> {
        match self {
            Kind::SamlApp => Some("saml"),
            Kind::OidcClient => Some("oidc"),
            Kind::BridgeApp => Some("bridge"),
            Kind::Host | Kind::Tenant | Kind::Keys => None,
        }
    }

    /// The kind whose apps live in `folder` of a tenant folder (`saml`, `oidc`, `bridge`).
    pub fn from_app_folder(folder: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.app_folder() == Some(folder))
    }

    /// The kind named `name` (`tenant`, `saml-app`, …).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The KV key under which a value of this kind is stored.
    ///
    /// `tenant` is the tenant id; `id` is the value's own id (hostname for `host`, app or client id
    /// for apps; unused for `tenant` and `keys`).
    pub fn kv_key(self, tenant: &str, id: &str) -> String {
        match self {
            Kind::Host => kv_key::host(id),
            Kind::Tenant => kv_key::tenant(tenant),
            Kind::SamlApp => kv_key::saml_app(tenant, id),
            Kind::OidcClient => kv_key::oidc_client(tenant, id),
            Kind::BridgeApp => kv_key::bridge_app(tenant, id),
            Kind::Keys => kv_key::oidc_keys(tenant),
        }
    }
}

/// Where a file sits, as far as its kind and its checks are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A file of a tenant folder: `tenant.json`, `keys.json` or `{saml,oidc,bridge}/{app}.json`.
    /// `tenant_folder` is the folder's name, which must equal the tenant id.
    TenantFolder {
        /// What the file holds.
        kind: Kind,
        /// Name of the tenant folder.
        tenant_folder: String,
    },
    /// A loose file whose kind comes from `--kind` or from a parent folder named after a kind
    /// (as in `kv-schema/examples/{kind}/`). No folder-name checks apply.
    Loose {
        /// What the file holds.
        kind: Kind,
    },
}

impl Placement {
    /// The kind of value the file holds.
    pub fn kind(&self) -> Kind {
        match self {
            Placement::TenantFolder { kind, .. } | Placement::Loose { kind } => *kind,
        }
    }
}

/// Tells what a single file holds from its place:
///
/// 1. `tenant.json` → tenant, `keys.json` → keys, in the tenant folder that contains them;
/// 2. a file in `saml/`, `oidc/` or `bridge/` → saml-app, oidc-client, bridge-app, in the tenant
///    folder above;
/// 3. a file in a folder named after a kind (`host/`, `tenant/`, `saml-app/`, …) → that kind, loose.
///
/// The file name wins over the folder, so an app file named `tenant.json` or `keys.json` needs
/// `--kind` when validated on its own (validating the whole tenant folder never guesses).
/// `path` should be absolute, so that its folders are known.
pub fn placement_of(path: &Path) -> Option<Placement> {
    let name = path.file_name()?.to_str()?;
    let parent = path.parent();
    let parent_name = parent.and_then(|p| p.file_name()).and_then(|n| n.to_str());
    let grandparent_name = parent
        .and_then(Path::parent)
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());

    let in_folder = |kind: Kind, folder: Option<&str>| {
        folder.map(|f| Placement::TenantFolder {
            kind,
            tenant_folder: f.to_owned(),
        })
    };
    match name {
        "tenant.json" => return in_folder(Kind::Tenant, parent_name),
        "keys.json" => return in_folder(Kind::Keys, parent_name),
        _ => {}
    }
    if !name.ends_with(".json") {
        return None;
    }
    let parent_name = parent_name?;
    if let Some(kind) = Kind::from_app_folder(parent_name) {
        return in_folder(kind, grandparent_name);
    }
    Kind::from_name(parent_name).map(|kind| Placement::Loose { kind })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn folder(kind: Kind, tenant: &str) -> Option<Placement> {
        Some(Placement::TenantFolder {
            kind,
            tenant_folder: tenant.to_owned(),
        })
    }

    #[test]
    fn tenant_folder_files() {
        let p = |s: &str| placement_of(Path::new(s));
        assert_eq!(p("/t/acme/tenant.json"), folder(Kind::Tenant, "acme"));
        assert_eq!(p("/t/acme/keys.json"), folder(Kind::Keys, "acme"));
        assert_eq!(p("/t/acme/saml/moodle.json"), folder(Kind::SamlApp, "acme"));
        assert_eq!(
            p("/t/acme/oidc/portal.json"),
            folder(Kind::OidcClient, "acme")
        );
        assert_eq!(
            p("/t/acme/bridge/events.json"),
            folder(Kind::BridgeApp, "acme")
        );
    }

    #[test]
    fn file_name_wins_over_folder() {
        // A tenant whose id is "saml" still has its tenant.json recognised.
        let p = placement_of(Path::new("/t/saml/tenant.json"));
        assert_eq!(p, folder(Kind::Tenant, "saml"));
        let p = placement_of(Path::new("/t/acme/oidc/keys.json"));
        assert_eq!(p, folder(Kind::Keys, "oidc"));
    }

    #[test]
    fn example_folders_name_the_kind() {
        for kind in Kind::ALL {
            let path = format!("/repo/kv-schema/examples/{}/valid-x.json", kind.name());
            assert_eq!(
                placement_of(Path::new(&path)),
                Some(Placement::Loose { kind }),
                "{path}"
            );
        }
    }

    #[test]
    fn unknown_places_have_no_kind() {
        for path in [
            "/t/acme/notes.json",
            "/t/acme/saml/moodle.xml",
            "/t/acme/README.md",
            "/samples/x.json",
            "x.json",
        ] {
            assert_eq!(placement_of(Path::new(path)), None, "{path}");
        }
    }

    #[test]
    fn names_round_trip_and_schemas_parse() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
            let schema: serde_json::Value = serde_json::from_str(kind.schema_text()).unwrap();
            assert_eq!(
                schema["properties"]["schema_version"]["const"], 1,
                "{kind:?}"
            );
        }
        assert_eq!(Kind::from_app_folder("oidc"), Some(Kind::OidcClient));
        assert_eq!(Kind::from_app_folder("keys"), None);
    }

    #[test]
    fn kv_keys() {
        assert_eq!(
            Kind::Host.kv_key("acme", "sso.acme.example"),
            "host:sso.acme.example"
        );
        assert_eq!(Kind::Tenant.kv_key("acme", ""), "tenant:acme");
        assert_eq!(
            Kind::SamlApp.kv_key("acme", "moodle"),
            "tenant:acme:saml:moodle"
        );
        assert_eq!(
            Kind::OidcClient.kv_key("acme", "portal"),
            "tenant:acme:oidc:portal"
        );
        assert_eq!(
            Kind::BridgeApp.kv_key("acme", "events"),
            "tenant:acme:bridge:events"
        );
        assert_eq!(Kind::Keys.kv_key("acme", ""), "tenant:acme:keys");
    }
}
