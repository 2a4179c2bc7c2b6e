//! Reading the forms-authentication ticket that iMIS 2017 (ASP.NET forms authentication) keeps in
//! its sign-in cookie, so that a member already signed in to iMIS is not asked for a password
//! again (docs/forms-ticket.md).
//!
//! This works only when the iMIS site was given an explicit `<machineKey>` and shares its cookie
//! with the IdP's hostname (`<forms domain=…>`); the tenant then gives us the machine key, sealed.
//! Both ticket protections of ASP.NET 4.x are read:
//!
//! - `Framework45`: keys derived with SP 800-108 (HMAC-SHA512, label `FormsAuthentication.Ticket`);
//!   `IV ‖ AES-CBC(ticket) ‖ HMAC(IV ‖ ciphertext)`.
//! - `Framework20SP2`: the keys as given; `AES-CBC(zero IV, random prefix ‖ ticket ‖ HMAC(ticket))
//!   ‖ HMAC(ciphertext)`, the random prefix as long as the AES key.
//!
//! Every check fails closed: a value that does not verify, decrypt and parse exactly, or whose
//! ticket expired, is an error, and the caller shows the sign-in form.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use hmac::digest::{core_api::BlockSizeUser, Digest};
use hmac::{Mac, SimpleHmac};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};

pub use crate::tenant::config::{FormsCompatibility, FormsValidation};

/// Longest cookie value read (ASP.NET's own limit on a ticket is 4 KB before hex encoding).
const MAX_COOKIE_CHARS: usize = 8192;
/// .NET ticks (100 ns since 0001-01-01) at the Unix epoch.
const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
const TICKS_PER_SEC: i64 = 10_000_000;
const AES_BLOCK: usize = 16;

impl FormsValidation {
    fn tag_len(self) -> usize {
        match self {
            Self::HmacSha1 => 20,
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    fn mac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::HmacSha1 => hmac::<Sha1>(key, parts),
            Self::HmacSha256 => hmac::<Sha256>(key, parts),
            Self::HmacSha384 => hmac::<Sha384>(key, parts),
            Self::HmacSha512 => hmac::<Sha512>(key, parts),
        }
    }

    /// Whether `tag` is the MAC of `data` (compared in constant time).
    fn verifies(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        crate::seal::constant_time_eq(&self.mac(key, &[data]), tag)
    }
}

fn hmac<D: Digest + BlockSizeUser>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // SimpleHmac takes a key of any length, as .NET's HMAC classes do.
    let Ok(mut mac) = <SimpleHmac<D> as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// An iMIS site's machine key, opened.
#[derive(Clone)]
pub struct MachineKey {
    compatibility: FormsCompatibility,
    validation: FormsValidation,
    validation_key: Vec<u8>,
    decryption_key: Vec<u8>,
}

impl std::fmt::Debug for MachineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineKey")
            .field("compatibility", &self.compatibility)
            .field("validation", &self.validation)
            .finish_non_exhaustive()
    }
}

impl MachineKey {
    /// The key from the hex strings of `<machineKey validationKey=… decryptionKey=…>`.
    /// `decryption` must be AES (a 16, 24 or 32-byte key); the validation key at least 16 bytes.
    pub fn from_hex(
        compatibility: FormsCompatibility,
        validation: FormsValidation,
        validation_key_hex: &str,
        decryption_key_hex: &str,
    ) -> Result<Self, TicketError> {
        let validation_key = validation_key_bytes(validation_key_hex).ok_or(TicketError::BadKey)?;
        let decryption_key = decryption_key_bytes(decryption_key_hex).ok_or(TicketError::BadKey)?;
        let (validation_key, decryption_key) = match compatibility {
            FormsCompatibility::Framework20Sp2 => (validation_key, decryption_key),
            FormsCompatibility::Framework45 => (derive(&validation_key), derive(&decryption_key)),
        };
        Ok(Self {
            compatibility,
            validation,
            validation_key,
            decryption_key,
        })
    }

    /// The ticket in the cookie value `cookie`, verified and decrypted. Expiry is not checked
    /// here: see [`Ticket::is_current`].
    pub fn open(&self, cookie: &str) -> Result<Ticket, TicketError> {
        if cookie.len() > MAX_COOKIE_CHARS {
            return Err(TicketError::Malformed);
        }
        let blob = hex::decode(cookie).map_err(|_| TicketError::Malformed)?;
        let tag_len = self.validation.tag_len();
        let Some(body_len) = blob.len().checked_sub(tag_len) else {
            return Err(TicketError::Malformed);
        };
        let (body, tag) = blob.split_at(body_len);
        if !self.validation.verifies(&self.validation_key, body, tag) {
            return Err(TicketError::BadSignature);
        }
        let serialized = match self.compatibility {
            FormsCompatibility::Framework45 => {
                if body.len() < 2 * AES_BLOCK {
                    return Err(TicketError::Malformed);
                }
                let (iv, ciphertext) = body.split_at(AES_BLOCK);
                aes_cbc_decrypt(&self.decryption_key, iv, ciphertext)?
            }
            FormsCompatibility::Framework20Sp2 => {
                let plain = aes_cbc_decrypt(&self.decryption_key, &[0; AES_BLOCK], body)?;
                let prefix = self.decryption_key.len();
                let rest = plain.get(prefix..).ok_or(TicketError::Malformed)?;
                let inner = rest
                    .len()
                    .checked_sub(tag_len)
                    .ok_or(TicketError::Malformed)?;
                let (ticket, inner_tag) = rest.split_at(inner);
                if !self
                    .validation
                    .verifies(&self.validation_key, ticket, inner_tag)
                {
                    return Err(TicketError::BadSignature);
                }
                ticket.to_vec()
            }
        };
        Ticket::parse(&serialized)
    }
}

/// Why a cookie gave no ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// The configured machine key is not usable.
    #[error("the machine key is not valid hex of a usable length")]
    BadKey,
    /// The value is not a hex ticket of a possible length, or does not parse.
    #[error("the value is not a forms-authentication ticket")]
    Malformed,
    /// A MAC did not verify: another key, or a changed value.
    #[error("the ticket's signature does not verify")]
    BadSignature,
    /// The MAC verified but the padding did not: the decryption key is wrong.
    #[error("the ticket does not decrypt with this key")]
    BadDecryption,
}

/// A forms-authentication ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The member's iMIS username.
    pub name: String,
    /// Issued at, in seconds since the Unix epoch.
    issued: i64,
    /// Expires at, in seconds since the Unix epoch.
    expires: i64,
    /// Whether the cookie outlives the browser session.
    persistent: bool,
    /// The application's own data.
    user_data: String,
    /// The cookie path it was issued for.
    cookie_path: String,
}

impl Ticket {
    /// Whether the ticket is valid at `now` (seconds since the epoch): not expired, not issued
    /// more than `skew` seconds in the future, and (when `max_age` is set) issued at most
    /// `max_age` seconds ago.
    pub(crate) fn is_current(&self, now: i64, skew: i64, max_age: Option<i64>) -> bool {
        self.expires > now
            && self.issued <= now.saturating_add(skew)
            && max_age.is_none_or(|age| now.saturating_sub(self.issued) <= age)
    }

    /// Parses ASP.NET's ticket serialization (format 1), once decrypted and verified: version,
    /// issue and expiry ticks, the persistence flag, then name, user data and path as UTF-16
    /// strings, between fixed markers, with nothing after.
    pub fn parse(bytes: &[u8]) -> Result<Self, TicketError> {
        let mut r = Reader(bytes);
        if r.byte()? != 0x01 {
            return Err(TicketError::Malformed);
        }
        let _ticket_version = r.byte()?;
        let issued = r.ticks()?;
        if r.byte()? != 0xfe {
            return Err(TicketError::Malformed);
        }
        let expires = r.ticks()?;
        let persistent = match r.byte()? {
            0 => false,
            1 => true,
            _ => return Err(TicketError::Malformed),
        };
        let name = r.string()?;
        let user_data = r.string()?;
        let cookie_path = r.string()?;
        if r.byte()? != 0xff || !r.0.is_empty() || name.is_empty() {
            return Err(TicketError::Malformed);
        }
        Ok(Self {
            name,
            issued,
            expires,
            persistent,
            user_data,
            cookie_path,
        })
    }
}

/// A cursor over the serialized ticket; every read fails rather than run past the end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], TicketError> {
        if n > self.0.len() {
            return Err(TicketError::Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, TicketError> {
        self.take(1)?.first().copied().ok_or(TicketError::Malformed)
    }

    /// .NET ticks (little-endian i64) as seconds since the Unix epoch.
    fn ticks(&mut self) -> Result<i64, TicketError> {
        let raw: [u8; 8] = self
            .take(8)?
            .try_into()
            .map_err(|_| TicketError::Malformed)?;
        let ticks = i64::from_le_bytes(raw);
        Ok(ticks.saturating_sub(UNIX_EPOCH_TICKS) / TICKS_PER_SEC)
    }

    /// A .NET `BinaryWriter` 7-bit encoded length: at most five bytes.
    fn length(&mut self) -> Result<usize, TicketError> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return usize::try_from(value).map_err(|_| TicketError::Malformed);
            }
        }
        Err(TicketError::Malformed)
    }

    /// A string as a character count and UTF-16LE code units; unpaired surrogates are refused.
    fn string(&mut self) -> Result<String, TicketError> {
        let chars = self.length()?;
        let bytes = self.take(chars.checked_mul(2).ok_or(TicketError::Malformed)?)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .filter_map(|p| p.try_into().ok().map(u16::from_le_bytes))
            .collect();
        String::from_utf16(&units).map_err(|_| TicketError::Malformed)
    }
}

fn aes_cbc_decrypt(key: &[u8], iv: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, TicketError> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(AES_BLOCK) {
        return Err(TicketError::Malformed);
    }
    let mut buf = ciphertext.to_vec();
    let len = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| TicketError::BadKey)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(<[u8]>::len),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(|_| TicketError::BadKey)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(<[u8]>::len),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| TicketError::BadKey)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(<[u8]>::len),
        _ => return Err(TicketError::BadKey),
    }
    .map_err(|_| TicketError::BadDecryption)?;
    buf.truncate(len);
    Ok(buf)
}

/// SP 800-108 counter-mode KDF with HMAC-SHA512, as ASP.NET 4.5 derives its per-purpose keys:
/// label `FormsAuthentication.Ticket`, no context, output as long as the key.
fn derive(master: &[u8]) -> Vec<u8> {
    const LABEL: &[u8] = b"FormsAuthentication.Ticket";
    let bits = u32::try_from(master.len() * 8).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(master.len());
    let mut counter: u32 = 1;
    while out.len() < master.len() {
        let block = hmac::<Sha512>(
            master,
            &[&counter.to_be_bytes(), LABEL, &[0], &bits.to_be_bytes()],
        );
        let want = (master.len() - out.len()).min(block.len());
        out.extend(block.iter().take(want));
        counter = counter.wrapping_add(1);
    }
    out
}

/// The bytes of a `<machineKey validationKey>`: hex of at least 16 bytes.
pub fn validation_key_bytes(key_hex: &str) -> Option<Vec<u8>> {
    hex::decode(key_hex.trim()).ok().filter(|k| k.len() >= 16)
}

/// The bytes of a `<machineKey decryptionKey>`: hex of an AES key (16, 24 or 32 bytes).
pub fn decryption_key_bytes(key_hex: &str) -> Option<Vec<u8>> {
    hex::decode(key_hex.trim())
        .ok()
        .filter(|k| [16, 24, 32].contains(&k.len()))
}

#[cfg(test)]
pub(crate) mod tests;
