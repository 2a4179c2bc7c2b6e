//! Certificate decoding and the opened signing key: the one place a stored base64 certificate
//! becomes DER + public key, shared by the app's checks, its loading, metadata and the CLI.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The DER of a base64 certificate whose public key can be found.
pub fn decode_certificate(b64: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let der = STANDARD
        .decode(
            b64.bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .collect::<Vec<_>>(),
        )
        .ok()?;
    let spki = crate::saml::dsig::spki_of_certificate(&der)?;
    Some((der, spki))
}

/// The app's private key, opened and ready to sign.
#[derive(Clone)]
pub struct SigningKey {
    /// Cache id for the platform signer (tenant, app and certificate).
    pub(crate) id: String,
    /// PKCS#8 DER.
    pub(crate) pkcs8: Vec<u8>,
    /// Certificate DER.
    pub(crate) cert: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The signer to hand to [`crate::saml::dsig`].
    pub(crate) fn signer(&self) -> crate::saml::dsig::Signer<'_> {
        crate::saml::dsig::Signer {
            key: crate::crypto::KeyRef {
                id: &self.id,
                alg: crate::crypto::SignAlg::Rs256,
                pkcs8_der: &self.pkcs8,
            },
            cert_der: &self.cert,
        }
    }
}
