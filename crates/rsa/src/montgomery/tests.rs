#![allow(clippy::unwrap_used)]
use rsa::BigUint;

use super::{from_be, mul_full, to_be, Limb, Modulus, LIMB_BITS};

/// Deterministic pseudo-random bytes.
struct Bytes(u64);

impl Bytes {
    fn take(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (self.0 >> 33) as u8
            })
            .collect()
    }

    /// An odd modulus of exactly `bits` bits.
    fn modulus(&mut self, bits: usize) -> Vec<u8> {
        let mut be = self.take(bits.div_ceil(8));
        let extra = be.len() * 8 - bits;
        be[0] &= 0xff >> extra;
        be[0] |= 0x80 >> extra;
        *be.last_mut().unwrap() |= 1;
        be
    }
}

fn big(x: &[Limb]) -> BigUint {
    BigUint::from_bytes_be(&to_be(x, x.len() * LIMB_BITS / 8 + 1))
}

fn limbs(x: &BigUint, len: usize) -> Vec<Limb> {
    let mut v = from_be(&x.to_bytes_be());
    assert!(v.iter().skip(len).all(|&l| l == 0));
    v.resize(len, 0);
    v
}

/// Moduli of several sizes, including sizes just under and over a multiple of 28 bits and
/// the largest accepted.
fn moduli(rng: &mut Bytes) -> Vec<(Vec<u8>, Modulus)> {
    [
        3, 30, 54, 55, 56, 57, 255, 512, 1024, 1536, 2048, 4096, 7000,
    ]
    .into_iter()
    .map(|bits| {
        let be = rng.modulus(bits);
        let m = Modulus::new(&be).unwrap();
        (be, m)
    })
    .collect()
}

/// Values below 2m (what the exponentiation works with), with the extremes.
fn values(rng: &mut Bytes, m: &BigUint, len: usize) -> Vec<Vec<Limb>> {
    let two_m = m * 2u32;
    let mut out = vec![
        limbs(&BigUint::from(0u32), len),
        limbs(&(m - 1u32), len),
        limbs(&(&two_m - 1u32), len),
    ];
    for _ in 0..6 {
        let x = BigUint::from_bytes_be(&rng.take(len * 4)) % &two_m;
        out.push(limbs(&x, len));
    }
    out
}

#[test]
fn montgomery_products_and_squares_agree_with_big_integers() {
    let mut rng = Bytes(1);
    for (be, modulus) in moduli(&mut rng) {
        let m = BigUint::from_bytes_be(&be);
        let len = modulus.len();
        let r = BigUint::from(1u32) << (LIMB_BITS * len);
        assert!(&m * 4u32 < r);
        let xs = values(&mut rng, &m, len);
        let mut out = vec![0; len];
        let mut sq = vec![0; len];
        let mut work = modulus.work();
        for a in &xs {
            for b in &xs {
                modulus.mul_into(a, b, &mut out, &mut work);
                let got = big(&out);
                assert!(got < &m * 2u32, "{} bits", m.bits());
                assert!(out.iter().all(|&l| l >> LIMB_BITS == 0));
                assert_eq!((&got * &r) % &m, (big(a) * big(b)) % &m);
            }
            // The dedicated squaring gives the same limbs as the general product.
            modulus.mul_into(a, a, &mut out, &mut work);
            modulus.sqr_into(a, &mut sq, &mut work);
            assert_eq!(sq, out, "{} bits", m.bits());
        }
    }
}

#[test]
fn conversions_and_exponentiation_agree_with_big_integers() {
    let mut rng = Bytes(2);
    for (be, modulus) in moduli(&mut rng) {
        let m = BigUint::from_bytes_be(&be);
        let len = modulus.len();
        let r = BigUint::from(1u32) << (LIMB_BITS * len);
        assert_eq!(big(&modulus.one), &r % &m);
        assert_eq!(big(&modulus.r2), (&r * &r) % &m);
        // A number twice the modulus's size, into Montgomery form and back.
        let x_be = rng.take(be.len() * 2);
        let x = BigUint::from_bytes_be(&x_be);
        let xm = modulus.to_mont(&from_be(&x_be));
        assert!(big(&xm) < &m * 2u32);
        assert_eq!(big(&xm) % &m, (&x * &r) % &m);
        assert_eq!(big(&modulus.out_of_mont(&xm)), &x % &m);
        for exp_bytes in [0, 1, 3, be.len()] {
            let e_be = rng.take(exp_bytes);
            let e = BigUint::from_bytes_be(&e_be);
            let e_limbs = from_be(&e_be);
            let expected = x.modpow(&e, &m);
            let secret = modulus.pow(&xm, &e_limbs, exp_bytes * 8);
            assert_eq!(big(&modulus.out_of_mont(&secret)), expected);
            let public = modulus.pow_public(&xm, &e_limbs);
            assert_eq!(big(&modulus.out_of_mont(&public)), expected);
        }
    }
}

#[test]
fn limb_conversions_and_full_products_agree_with_big_integers() {
    let mut rng = Bytes(3);
    for (la, lb) in [(0, 0), (1, 1), (3, 1), (7, 13), (64, 128), (300, 257)] {
        let a_be = rng.take(la);
        let b_be = rng.take(lb);
        let (a, b) = (from_be(&a_be), from_be(&b_be));
        assert_eq!(to_be(&a, la), a_be);
        let expected = BigUint::from_bytes_be(&a_be) * BigUint::from_bytes_be(&b_be);
        assert_eq!(big(&mul_full(&a, &b)), expected);
    }
    assert!(Modulus::new(&[0x02]).is_none());
    assert!(Modulus::new(&[0x01]).is_none());
    assert!(Modulus::new(&[]).is_none());
    assert!(Modulus::new(&Bytes(4).modulus(7200)).is_none());
}
