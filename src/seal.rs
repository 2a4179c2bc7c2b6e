//! AES-256-GCM sealing of cookies and of the secrets held in KV.
//!
//! One master key (a Workers secret, a Spin secret variable, an admin's file) never encrypts anything
//! itself: every tenant and every [`Purpose`] gets its own key, derived with HKDF-SHA256
//! (`salt = "edge-idp/v1"`, `info = "edge-idp/v1/{purpose}/{tenant_id}"`). So a value sealed for one
//! tenant never opens for another, and a cookie can never be replayed as a stored secret.
//!
//! This module is sans-IO like the rest of the core: it reads no clock and draws no randomness. The
//! caller supplies every nonce (from `Platform::random` in the runtime, from the OS in the CLI) and
//! must never reuse one with the same key.
//!
//! Wire format of a sealed byte string: `nonce (12 bytes) || ciphertext || tag (16 bytes)`.
//! A secret stored in KV as text: `"sealed:v1:" + base64url-no-pad(sealed bytes)`, AAD `b"secret"`.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;
use std::fmt;

/// Length in bytes of the master key and of every derived key.
pub const KEY_LEN: usize = 32;
/// Length in bytes of an AES-GCM nonce; every sealed value starts with its nonce.
pub const NONCE_LEN: usize = 12;
/// Length in bytes of the AES-GCM authentication tag at the end of every sealed value.
const TAG_LEN: usize = 16;
/// Prefix of a sealed secret stored as text in KV.
pub const SECRET_PREFIX: &str = "sealed:v1:";

/// HKDF salt shared by every derivation; the version lets a future format derive different keys.
const HKDF_SALT: &[u8] = b"edge-idp/v1";
/// Associated data bound to every sealed secret held in KV.
const SECRET_AAD: &[u8] = b"secret";
/// Shortest base64url body a sealed value can have: a nonce and a tag around an empty plaintext.
const MIN_SECRET_BODY_LEN: usize = ((NONCE_LEN + TAG_LEN) * 4).div_ceil(3);

/// Why a key could not be read or a sealed value could not be opened.
///
/// No message ever contains key material, ciphertext or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The master key is not base64 (standard or url-safe, padded or not).
    #[error("master key is not valid base64 (standard or url-safe alphabet expected)")]
    MasterKeyEncoding,
    /// The master key decodes, but not to exactly 32 bytes.
    #[error("master key must decode to exactly {KEY_LEN} bytes, but it decodes to {len} bytes")]
    MasterKeyLength {
        /// How many bytes the key decoded to.
        len: usize,
    },
    /// The text does not start with `sealed:v1:`, so it is not a sealed secret (perhaps plaintext).
    #[error("value is not a sealed secret (it does not start with \"{SECRET_PREFIX}\")")]
    NotSealed,
    /// The text has the prefix, but its body is not a well-formed sealed value.
    #[error("sealed value is malformed: {reason}")]
    Malformed {
        /// What is wrong with the shape of the value.
        reason: &'static str,
    },
    /// Authentication failed: another master key, tenant or purpose sealed it, or it was altered.
    #[error(
        "sealed value does not open: it was sealed with another master key, tenant or purpose, \
         or it was tampered with"
    )]
    OpenFailed,
    /// The value opened, but the plaintext of a text secret is not UTF-8.
    #[error("sealed secret opened, but its plaintext is not valid UTF-8")]
    NotUtf8,
}

/// The master key from which every sealing key is derived. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

impl MasterKey {
    /// Reads a master key from base64: standard or url-safe alphabet, with or without padding;
    /// surrounding whitespace (a trailing newline in a file) is ignored. It must decode to exactly
    /// 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, SealError> {
        const LENIENT: GeneralPurposeConfig =
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
        const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
        const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

        let s = s.trim();
        let bytes = STANDARD
            .decode(s)
            .or_else(|_| URL_SAFE.decode(s))
            .map_err(|_| SealError::MasterKeyEncoding)?;
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SealError::MasterKeyLength { len: bytes.len() })?;
        Ok(Self(key))
    }

    /// Wraps 32 raw bytes (freshly drawn random bytes, or a fixed key in tests).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA256 of `message` under the raw master key. For values that the runtime and an
    /// admin holding the master key both derive, so that nothing more needs storing; every
    /// caller starts its message with its own label, so that no two uses can collide.
    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        #[allow(
            clippy::expect_used,
            reason = "HMAC takes a key of any length; only fixed-size MACs refuse one"
        )]
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC-SHA256 accepts a 32-byte key");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What a derived key protects. Each purpose has its own key, so a value sealed for one purpose
/// never opens for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Secrets stored in KV: client secrets, private keys, the background-account password.
    Secrets,
    /// Cookies: the IdP session and pending sign-in requests.
    Cookies,
    /// Data sealed inside the tokens the IdP issues and reads back itself (the userinfo claims
    /// of an OIDC access token).
    Tokens,
}

impl Purpose {
    /// The purpose's name inside the HKDF info string.
    fn label(self) -> &'static str {
        match self {
            Purpose::Secrets => "secrets",
            Purpose::Cookies => "cookies",
            Purpose::Tokens => "tokens",
        }
    }
}

/// An AES-256-GCM key derived for one tenant and one purpose. `Debug` never shows it.
#[derive(Clone)]
pub struct SealKey {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey([redacted])")
    }
}

impl SealKey {
    /// Derives the key of `tenant_id` for `purpose`:
    /// HKDF-SHA256(ikm = master, salt = `edge-idp/v1`, info = `edge-idp/v1/{purpose}/{tenant_id}`).
    pub fn derive(master: &MasterKey, tenant_id: &str, purpose: Purpose) -> Self {
        let info = format!("edge-idp/v1/{}/{}", purpose.label(), tenant_id);
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), &master.0);
        let mut okm = [0u8; KEY_LEN];
        #[allow(
            clippy::expect_used,
            reason = "HKDF-Expand fails only above 255 * 32 bytes of output; this asks for 32"
        )]
        hkdf.expand(info.as_bytes(), &mut okm)
            .expect("HKDF-SHA256 can always expand to 32 bytes");
        let cipher = Aes256Gcm::new(&okm.into());
        okm.fill(0);
        Self { cipher }
    }

    /// Encrypts and authenticates `plaintext` together with `aad`; returns
    /// `nonce || ciphertext || tag`.
    ///
    /// The nonce must never be used twice with this key: draw 12 fresh random bytes per call.
    /// (AES-GCM refuses plaintexts over 64 GiB; for such an input the result is the bare nonce,
    /// which never opens, so the failure stays closed.)
    pub fn seal(&self, nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        if let Ok(ciphertext) = self.cipher.encrypt(Nonce::from_slice(&nonce), payload) {
            out.extend_from_slice(&ciphertext);
        }
        out
    }

    /// Checks and decrypts a value made by [`SealKey::seal`] with the same key and `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed {
                reason: "too short to hold a nonce and an authentication tag",
            });
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| SealError::OpenFailed)
    }
}

/// Seals a secret of `tenant_id` for storage in KV as text:
/// `"sealed:v1:" + base64url-no-pad(nonce || ciphertext || tag)`, with AAD `b"secret"`.
pub fn seal_secret(
    master: &MasterKey,
    tenant_id: &str,
    nonce: [u8; NONCE_LEN],
    plaintext: &str,
) -> String {
    let key = SealKey::derive(master, tenant_id, Purpose::Secrets);
    let sealed = key.seal(nonce, SECRET_AAD, plaintext.as_bytes());
    let mut out = String::with_capacity(SECRET_PREFIX.len() + sealed.len().div_ceil(3) * 4);
    out.push_str(SECRET_PREFIX);
    URL_SAFE_NO_PAD.encode_string(&sealed, &mut out);
    out
}

/// Opens a secret of `tenant_id` sealed by [`seal_secret`].
pub fn open_secret(master: &MasterKey, tenant_id: &str, sealed: &str) -> Result<String, SealError> {
    let body = sealed
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SealError::NotSealed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| SealError::Malformed {
            reason: "the part after \"sealed:v1:\" is not unpadded base64url",
        })?;
    let key = SealKey::derive(master, tenant_id, Purpose::Secrets);
    let plaintext = key.open(SECRET_AAD, &bytes)?;
    String::from_utf8(plaintext).map_err(|_| SealError::NotUtf8)
}

/// Whether `value` has the shape of a sealed secret: the `sealed:v1:` prefix followed by a base64url
/// body long enough to hold a nonce and a tag. It does not prove that the value opens.
pub fn is_sealed(value: &str) -> bool {
    value.strip_prefix(SECRET_PREFIX).is_some_and(|body| {
        body.len() >= MIN_SECRET_BODY_LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Which secret a client or vendor presented, while one replaces another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretMatch {
    /// The current secret.
    Current,
    /// The secret being replaced, within its overlap: accepted, and worth an audit line (the
    /// client has not switched yet).
    Previous,
    /// Neither.
    No,
}

impl SecretMatch {
    /// Matches a presented secret's digest against the current digest and, until its time is
    /// up, the previous one (all compared in constant time).
    pub(crate) fn of(presented: &[u8], current: &[u8], previous: Option<(&[u8], bool)>) -> Self {
        if constant_time_eq(presented, current) {
            return Self::Current;
        }
        match previous {
            Some((digest, in_overlap)) if constant_time_eq(presented, digest) && in_overlap => {
                Self::Previous
            }
            _ => Self::No,
        }
    }

    /// Whether the secret is accepted.
    pub(crate) fn accepted(self) -> bool {
        self != Self::No
    }
}

/// Compares two byte strings in time that depends only on their lengths (`subtle` keeps the
/// optimiser from turning the comparison into an early exit).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];

    fn master() -> MasterKey {
        let mut bytes = [0u8; KEY_LEN];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        MasterKey::from_bytes(bytes)
    }

    #[test]
    fn secret_round_trip() {
        let sealed = seal_secret(&master(), "acme", NONCE, "s3cr3t pässword");
        assert!(sealed.starts_with(SECRET_PREFIX));
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("s3cr3t"));
        assert_eq!(
            open_secret(&master(), "acme", &sealed).unwrap(),
            "s3cr3t pässword"
        );
    }

    #[test]
    fn bytes_round_trip_with_aad() {
        let key = SealKey::derive(&master(), "acme", Purpose::Cookies);
        let sealed = key.seal(NONCE, b"session", b"\x00\x01binary");
        assert_eq!(sealed.len(), NONCE_LEN + 8 + TAG_LEN);
        assert_eq!(&sealed[..NONCE_LEN], &NONCE);
        assert_eq!(key.open(b"session", &sealed).unwrap(), b"\x00\x01binary");
        assert_eq!(key.open(b"pending", &sealed), Err(SealError::OpenFailed));
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let sealed = seal_secret(&master(), "acme", NONCE, "");
        assert!(is_sealed(&sealed));
        assert_eq!(open_secret(&master(), "acme", &sealed).unwrap(), "");
    }

    #[test]
    fn every_tampered_byte_is_detected() {
        let key = SealKey::derive(&master(), "acme", Purpose::Secrets);
        let sealed = key.seal(NONCE, b"secret", b"hello world");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                key.open(b"secret", &bad),
                Err(SealError::OpenFailed),
                "byte {i}"
            );
        }
        assert!(key.open(b"secret", &sealed[..sealed.len() - 1]).is_err());
        assert!(matches!(
            key.open(b"secret", &sealed[..NONCE_LEN + TAG_LEN - 1]),
            Err(SealError::Malformed { .. })
        ));
    }

    #[test]
    fn tampered_text_secret_is_detected() {
        let sealed = seal_secret(&master(), "acme", NONCE, "hello");
        let last = sealed.chars().last().unwrap();
        let swapped = if last == 'A' { 'B' } else { 'A' };
        let bad = format!("{}{}", &sealed[..sealed.len() - 1], swapped);
        assert_eq!(
            open_secret(&master(), "acme", &bad),
            Err(SealError::OpenFailed)
        );
    }

    #[test]
    fn sealed_for_one_tenant_does_not_open_for_another() {
        let sealed = seal_secret(&master(), "tenant-a", NONCE, "hello");
        assert_eq!(
            open_secret(&master(), "tenant-b", &sealed),
            Err(SealError::OpenFailed)
        );
    }

    #[test]
    fn another_master_key_does_not_open() {
        let sealed = seal_secret(&master(), "acme", NONCE, "hello");
        let other = MasterKey::from_bytes([9; KEY_LEN]);
        assert_eq!(
            open_secret(&other, "acme", &sealed),
            Err(SealError::OpenFailed)
        );
    }

    #[test]
    fn cookie_seal_does_not_open_as_secret() {
        let cookies = SealKey::derive(&master(), "acme", Purpose::Cookies);
        let secrets = SealKey::derive(&master(), "acme", Purpose::Secrets);
        let sealed = cookies.seal(NONCE, SECRET_AAD, b"hello");
        assert_eq!(
            secrets.open(SECRET_AAD, &sealed),
            Err(SealError::OpenFailed)
        );
        let text = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(&sealed));
        assert_eq!(
            open_secret(&master(), "acme", &text),
            Err(SealError::OpenFailed)
        );
    }

    /// Pins the derivation and the text format. The expected string was computed independently with
    /// Python's `cryptography` (HKDF-SHA256 + AESGCM) from the same inputs.
    #[test]
    fn known_answer_vector() {
        let sealed = seal_secret(&master(), "acme", [0x42; NONCE_LEN], "correct horse");
        assert_eq!(sealed, KNOWN_ANSWER);
        assert_eq!(
            open_secret(&master(), "acme", KNOWN_ANSWER).unwrap(),
            "correct horse"
        );
    }

    const KNOWN_ANSWER: &str = "sealed:v1:QkJCQkJCQkJCQkJCFdr5-GkUG7Qp32Vb4B3pl6_lXWBIE-zwXWbTlmI";

    #[test]
    fn not_sealed_and_malformed_values_are_named() {
        assert_eq!(
            open_secret(&master(), "acme", "plain"),
            Err(SealError::NotSealed)
        );
        assert!(matches!(
            open_secret(&master(), "acme", "sealed:v1:not*base64"),
            Err(SealError::Malformed { .. })
        ));
        assert!(matches!(
            open_secret(&master(), "acme", "sealed:v1:AAAA"),
            Err(SealError::Malformed { .. })
        ));
        assert!(!is_sealed("plain"));
        assert!(!is_sealed("sealed:v1:"));
        assert!(!is_sealed("sealed:v1:AAAA"));
        assert!(!is_sealed(&format!("sealed:v1:{}", "*".repeat(60))));
    }

    #[test]
    fn non_utf8_secret_is_reported() {
        let key = SealKey::derive(&master(), "acme", Purpose::Secrets);
        let sealed = key.seal(NONCE, SECRET_AAD, &[0xff, 0xfe]);
        let text = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(&sealed));
        assert_eq!(
            open_secret(&master(), "acme", &text),
            Err(SealError::NotUtf8)
        );
    }

    #[test]
    fn master_key_accepts_both_alphabets_with_or_without_padding() {
        // 32 bytes chosen so that the encodings contain '+' / '/' (standard) vs '-' / '_' (url-safe).
        let bytes = [0xfb; KEY_LEN];
        let std_padded = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(std_padded.contains('+') || std_padded.contains('/'));
        assert!(std_padded.ends_with('='));
        let forms = [
            std_padded.clone(),
            std_padded.trim_end_matches('=').to_owned(),
            base64::engine::general_purpose::URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
            format!("{std_padded}\n"),
        ];
        for form in forms {
            let key = MasterKey::from_base64(&form).unwrap();
            assert_eq!(key.0, bytes, "{form}");
        }
    }

    #[test]
    fn master_key_rejects_bad_input_without_echoing_it() {
        let err = MasterKey::from_base64("not base64 at all!").unwrap_err();
        assert_eq!(err, SealError::MasterKeyEncoding);
        assert!(!err.to_string().contains("not base64 at all"));
        let short = URL_SAFE_NO_PAD.encode([1u8; 16]);
        assert_eq!(
            MasterKey::from_base64(&short).unwrap_err(),
            SealError::MasterKeyLength { len: 16 }
        );
        assert_eq!(
            MasterKey::from_base64("").unwrap_err(),
            SealError::MasterKeyLength { len: 0 }
        );
    }

    #[test]
    fn debug_output_is_redacted() {
        assert_eq!(format!("{:?}", master()), "[redacted]");
        let key = SealKey::derive(&master(), "acme", Purpose::Secrets);
        assert_eq!(format!("{key:?}"), "SealKey([redacted])");
    }
}
