//! XML Encryption of the assertion (SAML 2.0 `EncryptedAssertion`, XML Encryption 1.1), for SPs
//! that ask for it: the signed assertion, in its exclusive canonical form (a document of its own,
//! declaring every namespace it uses), is encrypted with a fresh AES-256-GCM key (AES-128-CBC for
//! SPs too old for GCM, when the app says so), and that key with RSA-OAEP (MGF1 and digest SHA-1,
//! `rsa-oaep-mgf1p`, what every SAML SP library decrypts) to the public key of the SP's
//! encryption certificate.
//!
//! Sign, then encrypt: the SP decrypts and then checks the assertion's signature as usual; a
//! Response signature, made after this, covers the encrypted form.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Oaep, RsaPublicKey};

use super::config::EncryptionMethod;
use super::xml::El;
use crate::platform::{Platform, PlatformError};

/// `EncryptedData` algorithm, the default.
const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
/// `EncryptedData` algorithm for SPs that cannot decrypt GCM (no integrity of its own: the
/// assertion's signature is what protects it).
const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
/// `EncryptedKey` algorithm.
const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
const GCM_NONCE_LEN: usize = 12;

/// The SP's encryption key, from its certificate's SubjectPublicKeyInfo (DER): RSA only.
pub(crate) fn sp_key(spki: &[u8]) -> Result<RsaPublicKey, String> {
    RsaPublicKey::from_public_key_der(spki)
        .map_err(|e| format!("the encryption certificate has no usable RSA key: {e}"))
}

/// Where an app's assertions are encrypted to, and how.
#[derive(Debug, Clone)]
pub struct Encryption {
    /// The SP's key.
    pub(crate) sp: RsaPublicKey,
    /// The data algorithm.
    pub(crate) method: EncryptionMethod,
}

/// `saml:EncryptedAssertion` holding `assertion`, readable only with the private key of the SP.
pub(crate) fn encrypted_assertion<P: Platform>(
    platform: &P,
    assertion: &El,
    to: &Encryption,
) -> Result<El, PlatformError> {
    let fail = |what: &str| PlatformError::Crypto(format!("assertion encryption: {what}"));
    let plaintext = assertion.to_c14n();
    let (algorithm, key, data) = match to.method {
        EncryptionMethod::Aes256Gcm => {
            let mut key = [0u8; 32];
            platform.random(&mut key);
            let mut nonce = [0u8; GCM_NONCE_LEN];
            platform.random(&mut nonce);
            let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| fail("AES key"))?;
            let sealed = cipher
                .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
                .map_err(|_| fail("AES-GCM"))?;
            // XML Encryption 1.1 §5.2.4: the IV, then the ciphertext and its tag.
            (AES256_GCM, key.to_vec(), [&nonce[..], &sealed].concat())
        }
        EncryptionMethod::Aes128Cbc => {
            let mut key = [0u8; 16];
            platform.random(&mut key);
            let mut iv = [0u8; 16];
            platform.random(&mut iv);
            // PKCS#7 padding is one of the paddings XML Encryption's (only the last byte
            // counts) allows, and the one decryptors check most strictly.
            let sealed = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &iv.into())
                .encrypt_padded_vec_mut::<cbc::cipher::block_padding::Pkcs7>(
                plaintext.as_bytes(),
            );
            (AES128_CBC, key.to_vec(), [&iv[..], &sealed].concat())
        }
    };
    let wrapped = to
        .sp
        .encrypt(&mut PlatformRng(platform), Oaep::new::<sha1::Sha1>(), &key)
        .map_err(|e| fail(&format!("RSA-OAEP: {e}")))?;
    let cipher_data = |bytes: &[u8]| {
        El::new("xenc:CipherData").child(El::new("xenc:CipherValue").text(STANDARD.encode(bytes)))
    };
    let encrypted_key = El::new("xenc:EncryptedKey")
        .child(
            El::new("xenc:EncryptionMethod")
                .attr("Algorithm", RSA_OAEP_MGF1P)
                .child(El::new("ds:DigestMethod").attr("Algorithm", SHA1)),
        )
        .child(cipher_data(&wrapped));
    Ok(El::new("saml:EncryptedAssertion").child(
        El::new("xenc:EncryptedData")
            .attr("Type", ELEMENT)
            .child(El::new("xenc:EncryptionMethod").attr("Algorithm", algorithm))
            .child(El::new("ds:KeyInfo").child(encrypted_key))
            .child(cipher_data(&data)),
    ))
}

/// The platform's random generator, for RSA-OAEP's seed.
struct PlatformRng<'a, P>(&'a P);

impl<P: Platform> rand_core::RngCore for PlatformRng<'_, P> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.random(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.random(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.random(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.random(dest);
        Ok(())
    }
}

impl<P: Platform> rand_core::CryptoRng for PlatformRng<'_, P> {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::RsaPrivateKey;

    use super::*;
    use crate::saml::config::decode_certificate;
    use crate::testing::FakePlatform;

    fn test_key(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/saml/keys/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// The text of each `xenc:CipherValue`, decoded: the wrapped key, then the data.
    fn cipher_values(xml: &str) -> Vec<Vec<u8>> {
        xml.split("<xenc:CipherValue>")
            .skip(1)
            .map(|part| STANDARD.decode(part.split('<').next().unwrap()).unwrap())
            .collect()
    }

    fn private_key(name: &str) -> RsaPrivateKey {
        let der = STANDARD.decode(test_key(name).trim()).unwrap();
        RsaPrivateKey::from_pkcs8_der(&der).unwrap()
    }

    /// The assertion encrypted with `method` to the test SP as sent, the SP's reading of it, and
    /// the wrapped key.
    fn round_trip(method: EncryptionMethod, assertion: &El) -> (String, String, Vec<u8>) {
        let (_, spki) = decode_certificate(test_key("sp.crt.b64").trim()).unwrap();
        let to = Encryption {
            sp: sp_key(&spki).unwrap(),
            method,
        };
        let xml = encrypted_assertion(&FakePlatform::default(), assertion, &to)
            .unwrap()
            .to_c14n();
        let [wrapped, data] = <[Vec<u8>; 2]>::try_from(cipher_values(&xml)).unwrap();
        let key = private_key("sp.pk8.b64")
            .decrypt(Oaep::new::<sha1::Sha1>(), &wrapped)
            .unwrap();
        let plain = match method {
            EncryptionMethod::Aes256Gcm => {
                assert_eq!(key.len(), 32);
                let (nonce, sealed) = data.split_at(GCM_NONCE_LEN);
                Aes256Gcm::new_from_slice(&key)
                    .unwrap()
                    .decrypt(Nonce::from_slice(nonce), sealed)
                    .unwrap()
            }
            EncryptionMethod::Aes128Cbc => {
                use cbc::cipher::BlockDecryptMut;
                assert_eq!(key.len(), 16);
                let (iv, sealed) = data.split_at(16);
                cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, iv)
                    .unwrap()
                    .decrypt_padded_vec_mut::<cbc::cipher::block_padding::Pkcs7>(sealed)
                    .unwrap()
            }
        };
        (xml, String::from_utf8(plain).unwrap(), wrapped)
    }

    #[test]
    fn the_sp_private_key_opens_the_assertion_and_nothing_else_shows_it() {
        let assertion = El::new("saml:Assertion")
            .attr("ID", "_a1")
            .child(El::new("saml:Subject").text("jane@example.org"));
        for (method, uri) in [
            (EncryptionMethod::Aes256Gcm, AES256_GCM),
            (EncryptionMethod::Aes128Cbc, AES128_CBC),
        ] {
            let (xml, plain, wrapped) = round_trip(method, &assertion);
            assert!(!xml.contains("jane@example.org"), "{xml}");
            assert!(xml.contains(uri) && xml.contains(RSA_OAEP_MGF1P), "{xml}");
            assert!(xml.starts_with("<saml:EncryptedAssertion xmlns:saml="));
            assert_eq!(plain, assertion.to_c14n());
            let other = private_key("sp2.pk8.b64");
            assert!(other.decrypt(Oaep::new::<sha1::Sha1>(), &wrapped).is_err());
        }
    }

    #[test]
    fn only_rsa_certificates_can_be_encrypted_to() {
        assert!(sp_key(b"not a key").is_err());
    }
}
