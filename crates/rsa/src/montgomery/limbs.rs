//! Limb vectors outside Montgomery form: conversion from and to big-endian bytes, and the
//! plain addition and product that CRT recombination needs (all on public lengths only).

use super::{column, dot, Limb, LIMB_BITS, MASK};

/// Propagates carries so that every limb is below 2²⁸ (what leaves the top is dropped).
pub(super) fn carry_normalize(x: &mut [Limb]) {
    let mut carry = 0;
    for limb in x.iter_mut() {
        let v = *limb + carry;
        *limb = v & MASK;
        carry = v >> LIMB_BITS;
    }
}

/// `x` with exactly `len` limbs (zero-extended, or cut).
pub(super) fn fit(x: &[Limb], len: usize) -> Vec<Limb> {
    let mut v = x.to_vec();
    v.resize(len, 0);
    v
}

/// a + b, normalized, one limb longer than the longer of the two.
pub fn add_raw(a: &[Limb], b: &[Limb]) -> Vec<Limb> {
    let mut out = vec![0; a.len().max(b.len()) + 1];
    for (o, &x) in out.iter_mut().zip(a) {
        *o = x;
    }
    for (o, &y) in out.iter_mut().zip(b) {
        *o += y;
    }
    carry_normalize(&mut out);
    out
}

/// The full product a · b (product scanning), normalized.
pub fn mul_full(a: &[Limb], b: &[Limb]) -> Vec<Limb> {
    let mut out = vec![0; a.len() + b.len()];
    let mut carry = 0;
    for (k, slot) in out.iter_mut().enumerate() {
        // Products aᵢ·bₖ₋ᵢ for i from max(0, k + 1 − |b|) to min(k + 1, |a|), exclusive.
        let from = (k + 1).saturating_sub(b.len());
        let to = (k + 1).min(a.len());
        let s = match (a.get(from..to), b.get(k + 1 - to..k + 1 - from)) {
            (Some(x), Some(y)) => dot(x, y),
            _ => 0,
        };
        let (s_lo, s_hi) = column(carry, s, 0);
        *slot = s_lo & MASK;
        carry = (s_lo >> LIMB_BITS) + s_hi;
    }
    out
}

/// Limbs of a big-endian byte string.
pub fn from_be(be: &[u8]) -> Vec<Limb> {
    let mut out = Vec::with_capacity(be.len() * 8 / LIMB_BITS + 1);
    let (mut acc, mut bits) = (0, 0);
    for &byte in be.iter().rev() {
        acc |= Limb::from(byte) << bits;
        bits += 8;
        if bits >= LIMB_BITS {
            out.push(acc & MASK);
            acc >>= LIMB_BITS;
            bits -= LIMB_BITS;
        }
    }
    if bits > 0 || out.is_empty() {
        out.push(acc);
    }
    out
}

/// The big-endian bytes of `x` (normalized), left-padded (or cut) to `len` bytes.
pub fn to_be(x: &[Limb], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let (mut acc, mut bits) = (0u64, 0);
    let mut limbs = x.iter();
    while out.len() < len {
        if bits < 8 {
            acc |= limbs.next().copied().unwrap_or(0) << bits;
            bits += LIMB_BITS;
        }
        out.push(acc as u8);
        acc >>= 8;
        bits -= 8;
    }
    out.reverse();
    out
}

/// Without high zero limbs (at least one limb).
pub fn trim(mut x: Vec<Limb>) -> Vec<Limb> {
    while x.len() > 1 && x.last() == Some(&0) {
        x.pop();
    }
    x
}

/// Bits in `x` up to its highest set bit.
pub fn bit_len(x: &[Limb]) -> usize {
    match x.iter().rposition(|&l| l != 0) {
        Some(i) => i * LIMB_BITS + (64 - x.get(i).map_or(64, |l| l.leading_zeros() as usize)),
        None => 0,
    }
}
