//! OIDC clients and signing keys of a tenant folder: `oidc add`, `oidc rotate-secret`,
//! `keys init`, `keys rotate`. Secrets are printed once and stored only as a hash (client
//! secrets) or sealed with the master key (JWT signing keys, private keys).

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use edge_idp::crypto::FillRng;
use edge_idp::ids::is_client_id;
use edge_idp::oidc::client::secret_hash;
use edge_idp::seal::{seal_secret, MasterKey, NONCE_LEN};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Map, Value};

use crate::error::CliError;

/// Options of `oidc add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The tenant folder (holds tenant.json).
    #[arg(value_name = "TENANT_DIR")]
    pub dir: PathBuf,
    /// The client_id.
    #[arg(long)]
    pub id: String,
    /// Name shown on the sign-in and consent pages.
    #[arg(long)]
    pub name: String,
    /// Redirect URI (repeatable; matched exactly). Needed unless the client only gets tokens
    /// for itself (--client-credentials).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URI (repeatable; matched exactly).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Back-channel logout URI: told server to server when the member's session ends.
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// A public client (browser or native app): no secret, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// Token endpoint authentication of a confidential client (private_key_jwt needs --jwks).
    #[arg(long, default_value = "client_secret_basic", value_parser = ["client_secret_basic", "client_secret_post", "private_key_jwt"])]
    pub auth_method: String,
    /// The client's public keys (a JWK Set file) for private_key_jwt.
    #[arg(long, value_name = "PATH")]
    pub jwks: Option<PathBuf>,
    /// id_token algorithm.
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256", "HS256", "HS512"])]
    pub alg: String,
    /// Allow refresh tokens (issued when the authorization request asks for `offline_access`).
    #[arg(long)]
    pub refresh: bool,
    /// Allow client_credentials: access tokens for the client itself (confidential clients).
    #[arg(long)]
    pub client_credentials: bool,
    /// A scope its client_credentials tokens may carry (repeatable; the organisation's API scopes).
    #[arg(long = "api-scope", requires = "client_credentials")]
    pub api_scopes: Vec<String>,
    /// Profile IQA path.
    #[arg(long)]
    pub profile_iqa: Option<String>,
    /// Role IQA path.
    #[arg(long)]
    pub role_iqa: Option<String>,
    /// File holding the base64 master key (instead of EDGE_IDP_MASTER_KEY).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
}

fn random(buf: &mut [u8]) -> Result<(), CliError> {
    getrandom::fill(buf).map_err(CliError::Random)
}

fn random_secret() -> Result<String, CliError> {
    let mut b = [0u8; 32];
    random(&mut b)?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

fn tenant_id(dir: &Path) -> Result<String, CliError> {
    let path = dir.join("tenant.json");
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::io("cannot read", &path, e))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", path.display())))?;
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| CliError::Usage(format!("{}: no \"id\"", path.display())))
}

fn master(file: Option<&Path>) -> Result<MasterKey, CliError> {
    crate::secrets::master_key(file)?.ok_or(CliError::NoMasterKey)
}

fn seal(master: &MasterKey, tenant: &str, plain: &str) -> Result<String, CliError> {
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    Ok(seal_secret(master, tenant, nonce, plain))
}

fn write_json(path: &Path, value: &Value) -> Result<(), CliError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CliError::io("cannot create", parent, e))?;
    }
    let text = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    std::fs::write(path, text).map_err(|e| CliError::io("cannot write", path, e))
}

fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io("cannot read", path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", path.display())))
}

/// `edge-idp oidc add`: writes `oidc/<id>.json`, prints the client secret (and the JWT signing
/// key of an HS256/HS512 client) once.
pub fn add(args: &AddArgs) -> Result<(), CliError> {
    let jwks = checked_jwks(args)?;
    let tenant = tenant_id(&args.dir)?;
    let path = args.dir.join("oidc").join(format!("{}.json", args.id));
    if path.exists() {
        return Err(CliError::Exists(path));
    }
    let hs = args.alg.starts_with("HS");
    let master = if hs {
        Some(master(args.master_key_file.as_deref())?)
    } else {
        None
    };
    let key_jwt = !args.public && args.auth_method == "private_key_jwt";
    let secret = if args.public || key_jwt {
        None
    } else {
        Some(random_secret()?)
    };
    let signing_key = if hs { Some(random_secret()?) } else { None };
    let sealed_key = match (&signing_key, &master) {
        (Some(k), Some(m)) => Some(seal(m, &tenant, k)?),
        _ => None,
    };
    let client = client_document(args, secret.as_deref(), jwks, sealed_key);
    // The provider's own parser checks the keys, so a JWKS it would refuse is never written.
    edge_idp::oidc::client::parse(&args.id, client.to_string().as_bytes())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    write_json(&path, &client)?;
    eprintln!(
        "wrote {} (push the tenant folder to publish it)",
        path.display()
    );
    println!("client_id={}", args.id);
    if let Some(s) = secret {
        println!("client_secret={s}");
    }
    if let Some(k) = signing_key {
        println!("jwt_signing_key={k}");
    }
    eprintln!("The secrets above are shown once; only a hash (client secret) or a sealed copy (JWT signing key) is stored.");
    Ok(())
}

/// Checks what `oidc add` was given that the client document's parser does not see (the id,
/// the URIs' schemes, which grant needs what); the client's JWKS when it authenticates with
/// `private_key_jwt`.
fn checked_jwks(args: &AddArgs) -> Result<Option<Value>, CliError> {
    if !is_client_id(&args.id) {
        return Err(CliError::Usage(format!(
            "--id {:?}: letters, digits, '.', '_' and '-', at most 128",
            args.id
        )));
    }
    for uri in args
        .redirect_uris
        .iter()
        .chain(&args.post_logout_redirect_uris)
    {
        if !(uri.starts_with("https://") || uri.starts_with("http://127.0.0.1:"))
            || uri.contains('#')
        {
            return Err(CliError::Usage(format!(
                "{uri:?}: redirect URIs are https:// (or http://127.0.0.1:<port> for native apps) and have no fragment"
            )));
        }
    }
    if args.redirect_uris.is_empty() && !args.client_credentials {
        return Err(CliError::Usage(
            "--redirect-uri is required (or --client-credentials for a client that only gets tokens for itself)".into(),
        ));
    }
    let key_jwt = !args.public && args.auth_method == "private_key_jwt";
    match (&args.jwks, key_jwt) {
        (Some(file), true) => Ok(Some(read_json(file)?)),
        (None, true) => Err(CliError::Usage(
            "--auth-method private_key_jwt needs --jwks <file> (the client's public keys)".into(),
        )),
        (Some(_), false) => Err(CliError::Usage(
            "--jwks is only used with --auth-method private_key_jwt".into(),
        )),
        (None, false) => Ok(None),
    }
}

/// The client document of `oidc add`: its `secret` stored as a hash, its JWT signing key sealed.
fn client_document(
    args: &AddArgs,
    secret: Option<&str>,
    jwks: Option<Value>,
    sealed_signing_key: Option<String>,
) -> Value {
    let mut client = Map::new();
    client.insert("schema_version".into(), json!(1));
    client.insert("id".into(), json!(args.id));
    client.insert("name".into(), json!(args.name));
    client.insert(
        "type".into(),
        json!(if args.public {
            "public"
        } else {
            "confidential"
        }),
    );
    client.insert(
        "token_endpoint_auth_method".into(),
        json!(if args.public {
            "none"
        } else {
            args.auth_method.as_str()
        }),
    );
    if let Some(s) = secret {
        client.insert("client_secret_hash".into(), json!(secret_hash(s)));
    }
    if let Some(jwks) = jwks {
        client.insert("jwks".into(), jwks);
    }
    client.insert("redirect_uris".into(), json!(args.redirect_uris));
    client.insert(
        "post_logout_redirect_uris".into(),
        json!(args.post_logout_redirect_uris),
    );
    if let Some(uri) = &args.backchannel_logout_uri {
        client.insert("backchannel_logout_uri".into(), json!(uri));
    }
    client.insert("id_token_signed_response_alg".into(), json!(args.alg));
    if let Some(k) = sealed_signing_key {
        client.insert("jwt_signing_key".into(), json!(k));
    }
    let mut grants = Vec::new();
    if !args.redirect_uris.is_empty() {
        grants.push("authorization_code");
        if args.refresh {
            grants.push("refresh_token");
        }
    }
    if args.client_credentials {
        grants.push("client_credentials");
        client.insert("api_scopes".into(), json!(args.api_scopes));
    }
    client.insert("grant_types".into(), json!(grants));
    if let Some(q) = &args.profile_iqa {
        client.insert("profile_iqa".into(), json!(q));
    }
    if let Some(q) = &args.role_iqa {
        client.insert("role_iqa".into(), json!(q));
    }
    Value::Object(client)
}

/// `edge-idp oidc rotate-secret`: a new client secret, printed once; the old one stops working
/// when the folder is pushed.
pub fn rotate_secret(dir: &Path, id: &str, overlap_hours: u64) -> Result<(), CliError> {
    let path = dir.join("oidc").join(format!("{id}.json"));
    let mut client = read_json(&path)?;
    if client["type"] == json!("public") {
        return Err(CliError::Usage(format!(
            "{id} is a public client: it has no secret"
        )));
    }
    let Some(obj) = client.as_object_mut() else {
        return Err(CliError::Usage(format!(
            "{} is not a JSON object",
            path.display()
        )));
    };
    let secret = random_secret()?;
    let fields = crate::secrets::SecretFields {
        current: "client_secret_hash",
        previous: "previous_client_secret",
    };
    let says = crate::secrets::replace_secret(obj, &fields, &secret_hash(&secret), overlap_hours);
    edge_idp::oidc::client::parse(id, client.to_string().as_bytes())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    write_json(&path, &client)?;
    println!("client_secret={secret}");
    eprintln!(
        "wrote {}; the new secret is shown once; {says}.",
        path.display()
    );
    Ok(())
}

fn kid(prefix: &str) -> Result<String, CliError> {
    let mut b = [0u8; 6];
    random(&mut b)?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(format!("{prefix}-{secs}-{}", URL_SAFE_NO_PAD.encode(b)))
}

fn rng() -> FillRng<impl FnMut(&mut [u8])> {
    FillRng(|b: &mut [u8]| {
        // The OS generator does not fail on supported platforms; a failure leaves zeros, which
        // key generation then rejects as a degenerate key rather than panicking.
        let _ = getrandom::fill(b);
    })
}

/// A fresh RSA key as a keys.json entry (private part sealed).
pub fn rsa_entry(master: &MasterKey, tenant: &str, bits: usize) -> Result<Value, CliError> {
    let key = rsa::RsaPrivateKey::new(&mut rng(), bits)
        .map_err(|e| CliError::Usage(format!("RSA key generation failed: {e}")))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| CliError::Usage(format!("PKCS#8 encoding failed: {e}")))?;
    Ok(json!({
        "kid": kid("rsa")?,
        "alg": "RS256",
        "public_jwk": {
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        },
        "private_key": seal(master, tenant, &STANDARD.encode(der.as_bytes()))?,
    }))
}

/// A fresh P-256 key as a keys.json entry (private part sealed).
pub fn ec_entry(master: &MasterKey, tenant: &str) -> Result<Value, CliError> {
    let key = p256::SecretKey::random(&mut rng());
    let der = key
        .to_pkcs8_der()
        .map_err(|e| CliError::Usage(format!("PKCS#8 encoding failed: {e}")))?;
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(CliError::Usage("EC key generation failed".into()));
    };
    Ok(json!({
        "kid": kid("ec")?,
        "alg": "ES256",
        "public_jwk": {
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        },
        "private_key": seal(master, tenant, &STANDARD.encode(der.as_bytes()))?,
    }))
}

/// A keys.json value: a current and a next RSA key and an ES256 key, private parts sealed.
pub fn new_keys(master: &MasterKey, tenant: &str, bits: usize) -> Result<Value, CliError> {
    Ok(json!({
        "schema_version": 1,
        "current": rsa_entry(master, tenant, bits)?,
        "next": rsa_entry(master, tenant, bits)?,
        "ec": ec_entry(master, tenant)?,
    }))
}

/// Rotates a keys.json value: next becomes current (it has been published since the last
/// rotation), current becomes previous (public part only: published until its tokens expire),
/// and a new next key is made.
pub fn rotate_keys(
    keys: &mut Value,
    master: &MasterKey,
    tenant: &str,
    bits: usize,
) -> Result<(), CliError> {
    let Some(next) = keys.get("next").cloned().filter(Value::is_object) else {
        return Err(CliError::Usage("no next key to promote".to_owned()));
    };
    if let Some(mut current) = keys.get("current").cloned().filter(Value::is_object) {
        if let Some(o) = current.as_object_mut() {
            o.remove("private_key");
        }
        keys["previous"] = current;
    }
    keys["current"] = next;
    keys["next"] = rsa_entry(master, tenant, bits)?;
    Ok(())
}

/// `edge-idp keys init`: keys.json with a current and a next RSA key and an ES256 key.
pub fn keys_init(
    dir: &Path,
    bits: usize,
    force: bool,
    master_file: Option<&Path>,
) -> Result<(), CliError> {
    let path = dir.join("keys.json");
    if path.exists() && !force {
        return Err(CliError::Exists(path));
    }
    let tenant = tenant_id(dir)?;
    let master = master(master_file)?;
    let keys = new_keys(&master, &tenant, bits)?;
    write_json(&path, &keys)?;
    eprintln!(
        "wrote {}: current and next RSA-{bits} keys and an ES256 key",
        path.display()
    );
    Ok(())
}

/// `edge-idp keys rotate`: `rotate_keys` on the tenant folder's keys.json.
pub fn keys_rotate(dir: &Path, bits: usize, master_file: Option<&Path>) -> Result<(), CliError> {
    let path = dir.join("keys.json");
    let mut keys = read_json(&path)?;
    let tenant = tenant_id(dir)?;
    let master = master(master_file)?;
    rotate_keys(&mut keys, &master, &tenant, bits).map_err(|e| {
        CliError::Usage(format!(
            "{}: {e} (run `edge-idp keys init --force`)",
            path.display()
        ))
    })?;
    write_json(&path, &keys)?;
    eprintln!(
        "wrote {}: the next key now signs, the old one stays published as previous",
        path.display()
    );
    Ok(())
}
