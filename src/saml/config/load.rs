//! Loading an app through the per-isolate cache and deriving, once per load, what requests need
//! (the SP's keys, the published certificates, the encryption target, the opened signing key).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{decode_certificate, AppError, AppId, SamlApp, SigningKey};
use crate::platform::{Platform, PlatformError, MASTER_KEY_SECRET};
use crate::seal::{self, MasterKey};
use crate::Ctx;

/// An app, checked, with what the requests need derived once.
#[derive(Debug)]
pub struct LoadedApp {
    /// The stored settings.
    pub cfg: SamlApp,
    /// The SP's public keys (SubjectPublicKeyInfo DER), from its certificates.
    pub sp_keys: Vec<Vec<u8>>,
    /// Certificates published in metadata (current, then next), DER.
    pub published: Vec<Vec<u8>>,
    /// Where and how assertions are encrypted, when the app encrypts them.
    pub encrypt_to: Option<crate::saml::encrypt::Encryption>,
    /// The key that signs, or why it cannot be opened.
    pub signing: Result<SigningKey, String>,
}

fn derive(tenant: &str, cfg: SamlApp, master: Option<&MasterKey>) -> LoadedApp {
    let sp_keys = cfg
        .sp
        .certificates
        .iter()
        .filter_map(|c| decode_certificate(c).map(|(_, spki)| spki))
        .collect();
    let published = std::iter::once(&cfg.idp.current)
        .chain(cfg.idp.next.as_ref())
        .filter_map(|k| decode_certificate(&k.certificate).map(|(der, _)| der))
        .collect();
    let signing = (|| {
        let master = master.ok_or("the runtime has no usable master key")?;
        let current = &cfg.idp.current;
        let (cert, _) = decode_certificate(&current.certificate).ok_or("bad certificate")?;
        let b64 = seal::open_secret(master, tenant, &current.private_key)
            .map_err(|e| format!("private key: {e}"))?;
        let pkcs8 = STANDARD
            .decode(b64.trim())
            .map_err(|_| "private key is not base64 PKCS#8")?;
        let id = format!(
            "{tenant}:saml:{}:{}",
            cfg.id,
            hex::encode(Sha256::digest(&cert).get(..6).unwrap_or_default())
        );
        Ok::<_, String>(SigningKey { id, pkcs8, cert })
    })();
    // `check` made sure the certificate holds an RSA key whenever the app encrypts.
    let encrypt_to = cfg
        .sp
        .encryption_certificate
        .as_deref()
        .filter(|_| cfg.encrypt_assertion)
        .and_then(decode_certificate)
        .and_then(|(_, spki)| crate::saml::encrypt::sp_key(&spki).ok())
        .map(|sp| crate::saml::encrypt::Encryption {
            sp,
            method: cfg.encryption_method,
        });
    LoadedApp {
        cfg,
        sp_keys,
        published,
        encrypt_to,
        signing,
    }
}

/// What loading an app found.
type Loaded = Result<Arc<LoadedApp>, AppError>;

/// Loads app `app` of the request's tenant through the per-isolate cache. `Ok(None)`: no such app.
pub(crate) async fn load<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &AppId,
) -> Result<Option<Arc<Loaded>>, PlatformError> {
    let tenant = ctx.tenant.id.as_str().to_string();
    let key = crate::kv_key::saml_app(&tenant, app);
    let master = ctx
        .platform
        .secret(MASTER_KEY_SECRET)
        .and_then(|m| MasterKey::from_base64(&m).ok());
    ctx.idp
        .configs
        .load(ctx.platform, &key, |bytes| {
            let cfg = SamlApp::parse(bytes)?;
            if cfg.id != *app {
                return Err(AppError::Field {
                    field: "id",
                    rule: "must equal the app named by the key".into(),
                });
            }
            Ok(Arc::new(derive(&tenant, cfg, master.as_ref())))
        })
        .await
}
