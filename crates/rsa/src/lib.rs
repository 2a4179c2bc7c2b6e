//! RSASSA-PKCS1-v1_5 with SHA-256 on a constant-time Montgomery core, for runtimes that sign in
//! wasm (Spin). Its own crate so that it is built for speed (`opt-level = 3`) while the rest of
//! the IdP is built for size.
//!
//! A runtime that starts a fresh instance per request loads the key every time, so loading is
//! only DER decoding plus two cheap per-prime constants: the key's own CRT values (`dP`, `dQ`,
//! `qInv`) are used as stored. Signing is two half-size exponentiations (CRT) and Garner's
//! recombination. Every signature is checked with the public exponent before it is returned, so a
//! computing fault cannot leak a factor of the modulus. PKCS#1 v1.5 is deterministic: the output
//! is byte for byte what any other correct implementation produces, which the tests check.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod montgomery;

use pkcs1::RsaPrivateKey as Pkcs1Key;
use pkcs8::PrivateKeyInfo;
use sha2::{Digest, Sha256, Sha512};

use montgomery::{add_raw, bit_len, from_be, mul_full, to_be, trim, Limb, Modulus};

/// The DER prefix of a SHA-256 `DigestInfo` (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
/// The DER prefix of a SHA-512 `DigestInfo` (RFC 8017, section 9.2, note 1).
const SHA512_DIGEST_INFO: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];
/// The rsaEncryption algorithm identifier.
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// An RSA private key ready to sign.
pub struct RsaSigner {
    n: Modulus,
    e: Vec<Limb>,
    /// Size of the modulus (and of every signature) in bytes.
    size: usize,
    p: Modulus,
    q: Modulus,
    dp: Vec<Limb>,
    dq: Vec<Limb>,
    /// `qInv` in Montgomery form modulo p.
    q_inv: Vec<Limb>,
    p_bits: usize,
    q_bits: usize,
}

impl RsaSigner {
    /// The key in a PKCS#8 `PrivateKeyInfo` (two-prime RSA); `None` if it is anything else.
    pub fn from_pkcs8(der: &[u8]) -> Option<Self> {
        let info = PrivateKeyInfo::try_from(der).ok()?;
        if info.algorithm.oid.to_string() != RSA_ENCRYPTION {
            return None;
        }
        let key = Pkcs1Key::try_from(info.private_key).ok()?;
        if key.other_prime_infos.is_some() {
            return None;
        }
        let n_bytes = key.modulus.as_bytes();
        let p = Modulus::new(key.prime1.as_bytes())?;
        let q = Modulus::new(key.prime2.as_bytes())?;
        let q_inv = p.to_mont(&from_be(key.coefficient.as_bytes()));
        let signer = Self {
            size: n_bytes.len(),
            n: Modulus::new(n_bytes)?,
            e: trim(from_be(key.public_exponent.as_bytes())),
            p_bits: bit_len(p.limbs()),
            q_bits: bit_len(q.limbs()),
            dp: from_be(key.exponent1.as_bytes()),
            dq: from_be(key.exponent2.as_bytes()),
            q_inv,
            p,
            q,
        };
        // n = p·q, or the key is inconsistent and would sign garbage.
        let product = trim(mul_full(signer.p.limbs(), signer.q.limbs()));
        (product == signer.n.limbs()).then_some(signer)
    }

    /// Size of a signature in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The RS256 signature of `msg`; `None` if the key is too small for the encoding or the
    /// result does not verify.
    pub fn sign_sha256(&self, msg: &[u8]) -> Option<Vec<u8>> {
        let encoded = emsa_pkcs1_v15_sha256(msg, self.size)?;
        let m = from_be(&encoded);
        let sp = self.root(&self.p, &self.dp, self.p_bits, &m);
        let sq = self.root(&self.q, &self.dq, self.q_bits, &m);
        // Garner: s = sq + q · (qInv · (sp − sq) mod p).
        let sq_mod_p = self.p.out_of_mont(&self.p.to_mont(&sq));
        let diff = self.p.sub(&sp, &sq_mod_p);
        let h = self.p.mul(&self.q_inv, &diff);
        let s = add_raw(&mul_full(&h, self.q.limbs()), &sq);
        let signature = to_be(&s, self.size);
        self.verifies(&signature, &m).then_some(signature)
    }

    /// m^d mod one prime, through the prime's CRT exponent.
    fn root(&self, prime: &Modulus, exp: &[Limb], bits: usize, m: &[Limb]) -> Vec<Limb> {
        let base = prime.to_mont(m);
        prime.out_of_mont(&prime.pow(&base, exp, bits))
    }

    fn verifies(&self, signature: &[u8], m: &[Limb]) -> bool {
        let s = self.n.to_mont(&from_be(signature));
        let back = trim(self.n.out_of_mont(&self.n.pow_public(&s, &self.e)));
        back == trim(m.to_vec())
    }
}

/// The hash under an RSASSA-PKCS1-v1_5 signature to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// Whether `signature` is the RSASSA-PKCS1-v1_5 signature of `msg` under `hash` by the public
/// key (`n`, `e`), given as big-endian bytes (RFC 8017, section 8.2.2: the signature is exactly
/// as long as the modulus and below it, and its public-key image is exactly the encoding).
/// Variable time: nothing here is secret. The caller bounds the key's size and exponent.
pub fn verify_pkcs1_v15(n: &[u8], e: &[u8], hash: Hash, msg: &[u8], signature: &[u8]) -> bool {
    let first = n.iter().position(|&b| b != 0).unwrap_or(n.len());
    let n = n.get(first..).unwrap_or_default();
    // Equal lengths: comparing the bytes compares the numbers.
    if signature.len() != n.len() || signature >= n {
        return false;
    }
    let Some(modulus) = Modulus::new(n) else {
        return false;
    };
    let Some(expected) = emsa_pkcs1_v15(hash, msg, n.len()) else {
        return false;
    };
    let s = modulus.to_mont(&from_be(signature));
    let image = modulus.out_of_mont(&modulus.pow_public(&s, &trim(from_be(e))));
    to_be(&image, n.len()) == expected
}

/// EMSA-PKCS1-v1_5 encoding of SHA-256(`msg`) to `len` bytes (RFC 8017, section 9.2).
fn emsa_pkcs1_v15_sha256(msg: &[u8], len: usize) -> Option<Vec<u8>> {
    emsa_pkcs1_v15(Hash::Sha256, msg, len)
}

/// EMSA-PKCS1-v1_5 encoding of the `hash` of `msg` to `len` bytes.
fn emsa_pkcs1_v15(hash: Hash, msg: &[u8], len: usize) -> Option<Vec<u8>> {
    let (prefix, digest) = match hash {
        Hash::Sha256 => (&SHA256_DIGEST_INFO, Sha256::digest(msg).to_vec()),
        Hash::Sha512 => (&SHA512_DIGEST_INFO, Sha512::digest(msg).to_vec()),
    };
    let t_len = prefix.len() + digest.len();
    let padding = len.checked_sub(t_len + 3).filter(|&p| p >= 8)?;
    let mut em = Vec::with_capacity(len);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + padding, 0xff);
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(&digest);
    Some(em)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::RsaPrivateKey;
    use sha2::Sha256;

    use super::RsaSigner;

    /// A deterministic generator for making test keys.
    struct TestRng<F: FnMut() -> u8>(F);

    impl<F: FnMut() -> u8> rand_core::RngCore for TestRng<F> {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.iter_mut().for_each(|b| *b = (self.0)());
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl<F: FnMut() -> u8> rand_core::CryptoRng for TestRng<F> {}

    /// The `rsa` crate as the reference: PKCS#1 v1.5 is deterministic, so every signature must be
    /// the same bytes.
    fn same_as_reference(der: &[u8], messages: &[&[u8]]) {
        let ours = RsaSigner::from_pkcs8(der).unwrap();
        let reference = SigningKey::<Sha256>::new(RsaPrivateKey::from_pkcs8_der(der).unwrap());
        for msg in messages {
            let expected = reference.sign(msg).to_vec();
            assert_eq!(ours.sign_sha256(msg).unwrap(), expected, "message {msg:?}");
        }
    }

    #[test]
    fn signatures_match_the_rsa_crate_for_the_test_key() {
        let der = include_bytes!("../../../src/testdata/test-rsa2048.pk8.der");
        same_as_reference(der, &[b"", b"hello", &[0xff; 1000], b"<SignedInfo/>"]);
    }

    #[test]
    fn signatures_match_for_fresh_keys_of_several_sizes() {
        let mut seed = 7u64;
        let mut rng = TestRng(|| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        });
        for bits in [1024, 2048, 2048, 3072] {
            let key = RsaPrivateKey::new(&mut rng, bits).unwrap();
            let der = key.to_pkcs8_der().unwrap();
            same_as_reference(der.as_bytes(), &[b"a", b"the quick brown fox"]);
        }
    }

    /// Our verification agrees with the `rsa` crate's signatures, and refuses every change.
    #[test]
    fn verification_accepts_exactly_the_right_signatures() {
        use super::{verify_pkcs1_v15, Hash};
        use rsa::traits::PublicKeyParts;
        let der = include_bytes!("../../../src/testdata/test-rsa2048.pk8.der");
        let key = RsaPrivateKey::from_pkcs8_der(der).unwrap();
        let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
        let msg = b"SAMLRequest=abc&SigAlg=rsa-sha256";
        let s256 = SigningKey::<Sha256>::new(key.clone()).sign(msg).to_vec();
        let s512 = SigningKey::<sha2::Sha512>::new(key.clone())
            .sign(msg)
            .to_vec();
        assert!(verify_pkcs1_v15(&n, &e, Hash::Sha256, msg, &s256));
        assert!(verify_pkcs1_v15(&n, &e, Hash::Sha512, msg, &s512));
        // A leading zero byte on the modulus (as DER integers carry) changes nothing.
        let n0 = [&[0u8][..], &n].concat();
        assert!(verify_pkcs1_v15(&n0, &e, Hash::Sha256, msg, &s256));
        assert!(
            !verify_pkcs1_v15(&n, &e, Hash::Sha512, msg, &s256),
            "wrong hash"
        );
        assert!(
            !verify_pkcs1_v15(&n, &e, Hash::Sha256, b"SAMLRequest=abd", &s256),
            "other message"
        );
        for i in [0, 100, 255] {
            let mut bad = s256.clone();
            bad[i] ^= 1;
            assert!(
                !verify_pkcs1_v15(&n, &e, Hash::Sha256, msg, &bad),
                "bit flipped at {i}"
            );
        }
        assert!(
            !verify_pkcs1_v15(&n, &e, Hash::Sha256, msg, &s256[1..]),
            "short"
        );
        assert!(
            !verify_pkcs1_v15(&n, &e, Hash::Sha256, msg, &[&s256[..], &[0]].concat()),
            "long"
        );
        // s + n has the same image modulo n, but a signature must be below the modulus.
        assert!(!verify_pkcs1_v15(&n, &e, Hash::Sha256, msg, &n), "s = n");
        assert!(
            !verify_pkcs1_v15(&n, &[3], Hash::Sha256, msg, &s256),
            "other exponent"
        );
        assert!(
            !verify_pkcs1_v15(&[], &e, Hash::Sha256, msg, &[]),
            "no modulus"
        );
        assert!(
            !verify_pkcs1_v15(&[0, 0], &e, Hash::Sha256, msg, &[]),
            "zero modulus"
        );
        let other = SigningKey::<Sha256>::new(
            RsaPrivateKey::from_pkcs8_der(include_bytes!(
                "../../../src/testdata/test-rsa4096.pk8.der"
            ))
            .unwrap(),
        )
        .sign(msg)
        .to_vec();
        assert!(
            !verify_pkcs1_v15(&n, &e, Hash::Sha256, msg, &other),
            "another key's signature"
        );
    }

    #[test]
    fn inconsistent_or_foreign_keys_are_refused() {
        let der = include_bytes!("../../../src/testdata/test-rsa2048.pk8.der").to_vec();
        assert!(RsaSigner::from_pkcs8(&der).is_some());
        assert!(RsaSigner::from_pkcs8(&der[..der.len() - 1]).is_none());
        // A flipped bit in the modulus: n ≠ p·q.
        let mut bad = der.clone();
        let at = der
            .windows(3)
            .position(|w| w == [0x02, 0x82, 0x01])
            .unwrap()
            + 8;
        bad[at] ^= 1;
        assert!(RsaSigner::from_pkcs8(&bad).is_none());
        let ec = p256::SecretKey::from_slice(&[7; 32])
            .unwrap()
            .to_pkcs8_der()
            .unwrap();
        assert!(RsaSigner::from_pkcs8(ec.as_bytes()).is_none());
    }
}
