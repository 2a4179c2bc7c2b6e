//! Constant-time arithmetic modulo an odd number, in Montgomery form, for RSA signing in wasm.
//!
//! Numbers are little-endian vectors of 28-bit limbs, each held in a `u64`. wasm multiplies
//! 64 × 64 → 64 bits natively but has no wider product, so a product of two limbs must fit in 64
//! bits; with 28-bit limbs it takes 56, and a column of up to 255 such products adds up without
//! any carry handling. A Montgomery product is therefore computed as unnormalized columns: the
//! product, four rows per pass over the columns (each limb loaded once for four
//! multiplications), then the reduction, whose factors uᵢ come in blocks of four the same way
//! (separated operand scanning). The inner loops are only loads, multiplications, additions
//! and stores, instead of a carry chain through every limb; carries are propagated once, at
//! the end.
//!
//! The Montgomery radix R = 2^(28·len) is chosen with 4m < R, so that products of values below
//! 2m stay below 2m without a final subtraction ("lazy" reduction); values are brought below m
//! only when they leave Montgomery form.
//!
//! Nothing branches on or indexes by a secret value: conditional subtractions are masked,
//! exponents are read in fixed windows whatever their value, and table entries are chosen by
//! scanning the whole table. Only lengths (public: they follow from the modulus) shape the work.

/// A limb: 28 bits used.
pub type Limb = u64;
const LIMB_BITS: usize = 28;
const MASK: Limb = (1 << LIMB_BITS) - 1;
/// Bits of the exponent read at a time.
const WINDOW_BITS: usize = 5;
/// Most limbs a modulus may have (about 7100 bits): a column sum of this many limb products,
/// doubled in squaring, must stay below 2⁶⁴.
const MAX_LIMBS: usize = 254;
/// Most limbs for which product columns (up to 2·127 products of 56 bits, plus carries) are
/// reduced without normalizing them first.
const MAX_LAZY_LIMBS: usize = 127;

mod limbs;
pub use limbs::{add_raw, bit_len, from_be, mul_full, to_be, trim};
use limbs::{carry_normalize, fit};

/// An odd modulus with what Montgomery multiplication needs.
#[derive(Clone)]
pub struct Modulus {
    /// The modulus, `len` limbs (with high zero limbs when 28·len is well above its size).
    m: Vec<Limb>,
    /// −m⁻¹ mod 2²⁸.
    m0_inv: Limb,
    /// R² mod m, R = 2^(28·len): maps a number into Montgomery form.
    r2: Vec<Limb>,
    /// R mod m: one, in Montgomery form.
    one: Vec<Limb>,
}

impl Modulus {
    /// `m` from big-endian bytes; `None` unless it is odd, greater than one and at most about
    /// 7100 bits.
    pub fn new(be: &[u8]) -> Option<Self> {
        let mut m = trim(from_be(be));
        let low = *m.first()?;
        if low & 1 == 0 || (m.len() == 1 && low == 1) {
            return None;
        }
        let bits = bit_len(&m);
        // 4m < R.
        let len = (bits + 2).div_ceil(LIMB_BITS);
        if len > MAX_LIMBS {
            return None;
        }
        m.resize(len, 0);
        // Newton's iteration for the inverse modulo 2⁶⁴: m·m ≡ 1 mod 8, and each step doubles
        // the correct bits (3, 6, 12, 24, 48).
        let mut inv = low;
        for _ in 0..4 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(low.wrapping_mul(inv)));
        }
        let mut modulus = Self {
            m0_inv: inv.wrapping_neg() & MASK,
            r2: Vec::new(),
            one: Vec::new(),
            m,
        };
        modulus.one = modulus.r_mod_m(bits);
        modulus.r2 = modulus.r_squared();
        Some(modulus)
    }

    fn len(&self) -> usize {
        self.m.len()
    }

    /// R mod m: 2^(bits−1) (below m) doubled up to R.
    fn r_mod_m(&self, bits: usize) -> Vec<Limb> {
        let mut x = vec![0; self.len()];
        let top = bits - 1;
        if let Some(limb) = x.get_mut(top / LIMB_BITS) {
            *limb = 1 << (top % LIMB_BITS);
        }
        for _ in top..self.len() * LIMB_BITS {
            self.double(&mut x);
        }
        x
    }

    /// R² mod m, the Montgomery form of R: with 28·len = c·2^k (c odd), the Montgomery form of
    /// 2^c (c doublings of R mod m) squared k times.
    fn r_squared(&self) -> Vec<Limb> {
        let bits = self.len() * LIMB_BITS;
        let k = bits.trailing_zeros();
        let c = bits >> k;
        let mut x = self.one.clone();
        for _ in 0..c {
            self.double(&mut x);
        }
        let mut t = vec![0; self.len()];
        let mut work = self.work();
        for _ in 0..k {
            self.sqr_into(&x, &mut t, &mut work);
            std::mem::swap(&mut x, &mut t);
        }
        self.reduce_once(&mut x);
        x
    }

    /// The modulus's limbs, without high zero limbs.
    pub fn limbs(&self) -> &[Limb] {
        let used = self.m.iter().rposition(|&l| l != 0).map_or(1, |i| i + 1);
        self.m.get(..used).unwrap_or(&self.m)
    }

    /// `x ← 2x mod m`, for `x < m`.
    fn double(&self, x: &mut [Limb]) {
        for limb in x.iter_mut() {
            *limb <<= 1;
        }
        carry_normalize(x);
        self.reduce_once(x);
    }

    /// `x ← x − m` if `x ≥ m`, in constant time (for `x < R` normalized).
    fn reduce_once(&self, x: &mut [Limb]) {
        // First the borrow of x − m, then the subtraction of m or of zero.
        let mut borrow = 0;
        for (&xi, &mi) in x.iter().zip(&self.m) {
            borrow = xi.wrapping_sub(mi).wrapping_sub(borrow) >> 63;
        }
        let mask = borrow.wrapping_sub(1);
        let mut borrow = 0;
        for (xi, &mi) in x.iter_mut().zip(&self.m) {
            let d = xi.wrapping_sub(mi & mask).wrapping_sub(borrow);
            *xi = d & MASK;
            borrow = d >> 63;
        }
    }

    /// Working space for [`Self::mul_into`] and [`Self::sqr_into`].
    pub fn work(&self) -> Work {
        Work(vec![0; 2 * self.len() + 4])
    }

    /// `out ← a · b · R⁻¹ mod m`, below 2m, for `a, b < 2m` (or `a < R`, `b < m`); all three
    /// `len` limbs.
    pub fn mul_into(&self, a: &[Limb], b: &[Limb], out: &mut [Limb], work: &mut Work) {
        let cols = &mut work.0;
        cols.fill(0);
        let mut rows = a.chunks_exact(4);
        for (i, block) in rows.by_ref().enumerate() {
            if let (Some(cols), [a0, a1, a2, a3]) = (cols.get_mut(4 * i..), block) {
                rows4(cols, [*a0, *a1, *a2, *a3], [0; 3], b);
            }
        }
        let done = a.len() - rows.remainder().len();
        for (i, &ai) in rows.remainder().iter().enumerate() {
            if let Some(cols) = cols.get_mut(done + i..) {
                row1(cols, ai, b);
            }
        }
        self.redc(cols, out);
    }

    /// `out ← a² · R⁻¹ mod m`, below 2m, for `a < 2m`: as [`Self::mul_into`], but each cross
    /// product once, doubled (a quarter fewer multiplications; squarings are most of an
    /// exponentiation).
    pub fn sqr_into(&self, a: &[Limb], out: &mut [Limb], work: &mut Work) {
        let cols = &mut work.0;
        cols.fill(0);
        // Cross products aᵢ·aⱼ, i < j: rows in blocks of four, each block's own pairs first.
        let mut rows = a.chunks_exact(4);
        for (i, block) in rows.by_ref().enumerate() {
            let at = 4 * i;
            if let ([a0, a1, a2, a3], Some(c)) = (block, cols.get_mut(2 * at + 1..2 * at + 6)) {
                if let [c1, c2, c3, c4, c5] = c {
                    *c1 += a0 * a1;
                    *c2 += a0 * a2;
                    *c3 += a0 * a3 + a1 * a2;
                    *c4 += a1 * a3;
                    *c5 += a2 * a3;
                }
                if let (Some(cols), Some(rest)) = (cols.get_mut(2 * at + 4..), a.get(at + 4..)) {
                    rows4(cols, [*a0, *a1, *a2, *a3], [0; 3], rest);
                }
            }
        }
        let done = a.len() - rows.remainder().len();
        for (i, &ai) in rows.remainder().iter().enumerate() {
            let at = done + i;
            if let (Some(cols), Some(rest)) = (cols.get_mut(2 * at + 1..), a.get(at + 1..)) {
                row1(cols, ai, rest);
            }
        }
        // Doubled, plus the squares.
        for (pair, &ai) in cols.chunks_exact_mut(2).zip(a) {
            if let [even, odd] = pair {
                *even = 2 * *even + ai * ai;
                *odd *= 2;
            }
        }
        self.redc(cols, out);
    }

    /// Montgomery reduction of the unnormalized product columns: `out ← t · R⁻¹ mod m` for
    /// t = Σ colsₖ·2^(28k) below 2m·R. The uᵢ that clear the low columns go in blocks of four:
    /// within a block each one changes the next three columns, which the next uᵢ needs (kept
    /// in registers), and then the block's uᵢ·m are added to the rest of the columns in one
    /// pass.
    fn redc(&self, cols: &mut [Limb], out: &mut [Limb]) {
        let len = self.len();
        if len > MAX_LAZY_LIMBS {
            // Column sums of more than 127 products (each side) could overflow with the
            // reduction's on top: normalize the product first.
            carry_normalize(cols);
        }
        let m = &self.m;
        let m0_inv = self.m0_inv;
        let mut carry = 0;
        // uᵢ for column t (with the carry in), and the carry out of t + uᵢ·m₀.
        let step = |t: Limb, m0: Limb| {
            let u = t.wrapping_mul(m0_inv) & MASK;
            (u, (t >> LIMB_BITS) + (((t & MASK) + u * m0) >> LIMB_BITS))
        };
        let blocks = if let [m0, m1, m2, m3, rest @ ..] = m.as_slice() {
            let (m0, m1, m2, m3) = (*m0, *m1, *m2, *m3);
            for i in 0..len / 4 {
                let Some(&[c0, c1, c2, c3]) = cols.get(4 * i..4 * i + 4) else {
                    break;
                };
                let (u0, c) = step(c0.wrapping_add(carry), m0);
                let (u1, c) = step(c1.wrapping_add(c + u0 * m1), m0);
                let (u2, c) = step(c2.wrapping_add(c + u0 * m2 + u1 * m1), m0);
                let (u3, c) = step(c3.wrapping_add(c + u0 * m3 + u1 * m2 + u2 * m1), m0);
                carry = c;
                // Column 4i+4+j gains u₀·m₄₊ⱼ + u₁·m₃₊ⱼ + u₂·m₂₊ⱼ + u₃·m₁₊ⱼ.
                if let Some(cols) = cols.get_mut(4 * i + 4..) {
                    rows4(cols, [u0, u1, u2, u3], [m3, m2, m1], rest);
                }
            }
            len / 4
        } else {
            0
        };
        // The last len mod 4 columns one by one.
        let m0 = m.first().copied().unwrap_or(0);
        for k in 4 * blocks..len {
            let Some(&col) = cols.get(k) else {
                break;
            };
            let (u, c) = step(col.wrapping_add(carry), m0);
            carry = c;
            if let (Some(cols), Some(rest)) = (cols.get_mut(k + 1..), m.get(1..)) {
                row1(cols, u, rest);
            }
        }
        // The upper half, with the carry: below 2m < R, so it fits `len` limbs.
        for (o, &c) in out.iter_mut().zip(cols.get(len..).unwrap_or_default()) {
            let t = c.wrapping_add(carry);
            *o = t & MASK;
            carry = t >> LIMB_BITS;
        }
    }

    /// The Montgomery form of any number `x` (limbs, any length), below 2m.
    pub fn to_mont(&self, x: &[Limb]) -> Vec<Limb> {
        // Horner over chunks of `len` limbs from the top: acc ← acc·R + chunk. Each chunk is
        // below R, so chunk·R² < R·m and the Montgomery product brings it below 2m.
        let len = self.len();
        let mut acc = vec![0; len];
        let mut shifted = vec![0; len];
        let mut term = vec![0; len];
        let mut chunk = vec![0; len];
        let mut work = self.work();
        for c in x.chunks(len).rev() {
            chunk.fill(0);
            for (d, &s) in chunk.iter_mut().zip(c) {
                *d = s;
            }
            self.mul_into(&acc, &self.r2, &mut shifted, &mut work);
            self.mul_into(&chunk, &self.r2, &mut term, &mut work);
            for ((a, &s), &t) in acc.iter_mut().zip(&shifted).zip(&term) {
                *a = s + t;
            }
            carry_normalize(&mut acc);
            // Below 4m: twice at most m to take off.
            self.reduce_once(&mut acc);
            self.reduce_once(&mut acc);
        }
        acc
    }

    /// Back from Montgomery form, below m.
    pub fn out_of_mont(&self, x: &[Limb]) -> Vec<Limb> {
        let mut one = vec![0; self.len()];
        if let Some(first) = one.first_mut() {
            *first = 1;
        }
        let mut out = vec![0; self.len()];
        // (x + u·m) / R < m + 1: one subtraction at most.
        self.mul_into(x, &one, &mut out, &mut self.work());
        self.reduce_once(&mut out);
        out
    }

    /// a · b · R⁻¹ mod m, below m, for `a, b < 2m`.
    pub fn mul(&self, a: &[Limb], b: &[Limb]) -> Vec<Limb> {
        let mut out = vec![0; self.len()];
        self.mul_into(
            &fit(a, self.len()),
            &fit(b, self.len()),
            &mut out,
            &mut self.work(),
        );
        self.reduce_once(&mut out);
        out
    }

    /// (a − b) mod m, for `a, b < m`.
    pub fn sub(&self, a: &[Limb], b: &[Limb]) -> Vec<Limb> {
        let mut diff = fit(a, self.len());
        let mut borrow = 0;
        let mut b = b.iter();
        for d in diff.iter_mut() {
            let x = d
                .wrapping_sub(b.next().copied().unwrap_or(0))
                .wrapping_sub(borrow);
            *d = x & MASK;
            borrow = x >> 63;
        }
        // Add m back when it went below zero.
        let mask = borrow.wrapping_neg();
        for (d, &mi) in diff.iter_mut().zip(&self.m) {
            *d += mi & mask;
        }
        carry_normalize(&mut diff);
        diff
    }

    /// base^exp in Montgomery form, below 2m (`base` in Montgomery form, below 2m), with the
    /// exponent read in fixed windows over all of its `exp_bits` bits: the work does not depend
    /// on its value.
    pub fn pow(&self, base: &[Limb], exp: &[Limb], exp_bits: usize) -> Vec<Limb> {
        let len = self.len();
        let base = fit(base, len);
        let mut work = self.work();
        // table[i] = base^i, in one block.
        let entries = 1 << WINDOW_BITS;
        let mut table = vec![0; entries * len];
        for (i, entry) in table.chunks_exact_mut(len).enumerate().take(2) {
            let value = if i == 0 { &self.one } else { &base };
            for (d, &s) in entry.iter_mut().zip(value) {
                *d = s;
            }
        }
        for i in 2..entries {
            let Some((done, rest)) = table.split_at_mut_checked(i * len) else {
                break;
            };
            let Some(entry) = rest.get_mut(..len) else {
                break;
            };
            if i % 2 == 0 {
                if let Some(half) = done.get(i / 2 * len..(i / 2 + 1) * len) {
                    self.sqr_into(half, entry, &mut work);
                }
            } else if let Some(prev) = done.get((i - 1) * len..) {
                self.mul_into(prev, &base, entry, &mut work);
            }
        }
        let windows = exp_bits.div_ceil(WINDOW_BITS).max(1);
        let mut acc = vec![0; len];
        let mut tmp = vec![0; len];
        let mut entry = vec![0; len];
        lookup(&table, window(exp, (windows - 1) * WINDOW_BITS), &mut acc);
        for w in (0..windows - 1).rev() {
            for _ in 0..WINDOW_BITS {
                self.sqr_into(&acc, &mut tmp, &mut work);
                std::mem::swap(&mut acc, &mut tmp);
            }
            lookup(&table, window(exp, w * WINDOW_BITS), &mut entry);
            self.mul_into(&acc, &entry, &mut tmp, &mut work);
            std::mem::swap(&mut acc, &mut tmp);
        }
        acc
    }

    /// base^exp for a public exponent (variable time), base in Montgomery form below 2m.
    pub fn pow_public(&self, base: &[Limb], exp: &[Limb]) -> Vec<Limb> {
        let len = self.len();
        let base = fit(base, len);
        let bits = bit_len(exp);
        if bits == 0 {
            return self.one.clone();
        }
        // Left to right from below the top bit, which is `base` itself.
        let mut work = self.work();
        let mut acc = base.to_vec();
        let mut tmp = vec![0; len];
        for bit in (0..bits - 1).rev() {
            self.sqr_into(&acc, &mut tmp, &mut work);
            std::mem::swap(&mut acc, &mut tmp);
            let limb = exp.get(bit / LIMB_BITS).copied().unwrap_or(0);
            if (limb >> (bit % LIMB_BITS)) & 1 == 1 {
                self.mul_into(&acc, &base, &mut tmp, &mut work);
                std::mem::swap(&mut acc, &mut tmp);
            }
        }
        acc
    }
}

/// `cols[j] += a₀·bⱼ + a₁·bⱼ₋₁ + a₂·bⱼ₋₂ + a₃·bⱼ₋₃` for j up to |b| + 2, where b₋₁, b₋₂, b₋₃
/// are `before` and bⱼ is zero past the end: four rows of a product in one pass, each bⱼ
/// loaded once and each column loaded and stored once for four multiplications. Eight columns
/// a step, so that the bⱼ stay where they are loaded and the loop test is paid once for 32
/// multiplications.
#[inline(always)]
fn rows4(cols: &mut [Limb], a: [Limb; 4], before: [Limb; 3], b: &[Limb]) {
    let [a0, a1, a2, a3] = a;
    let [mut p1, mut p2, mut p3] = before;
    let Some((body, tail)) = cols.split_at_mut_checked(b.len()) else {
        return;
    };
    let (bs, mut cs) = (b.chunks_exact(8), body.chunks_exact_mut(8));
    let b_rest = bs.remainder();
    for (bc, cc) in bs.zip(cs.by_ref()) {
        if let ([b0, b1, b2, b3, b4, b5, b6, b7], [c0, c1, c2, c3, c4, c5, c6, c7]) = (bc, cc) {
            *c0 = c0.wrapping_add(a0 * b0 + a1 * p1 + a2 * p2 + a3 * p3);
            *c1 = c1.wrapping_add(a0 * b1 + a1 * b0 + a2 * p1 + a3 * p2);
            *c2 = c2.wrapping_add(a0 * b2 + a1 * b1 + a2 * b0 + a3 * p1);
            *c3 = c3.wrapping_add(a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0);
            *c4 = c4.wrapping_add(a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1);
            *c5 = c5.wrapping_add(a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2);
            *c6 = c6.wrapping_add(a0 * b6 + a1 * b5 + a2 * b4 + a3 * b3);
            *c7 = c7.wrapping_add(a0 * b7 + a1 * b6 + a2 * b5 + a3 * b4);
            (p1, p2, p3) = (*b7, *b6, *b5);
        }
    }
    for (&bj, c) in b_rest.iter().zip(cs.into_remainder()) {
        *c = c.wrapping_add(a0 * bj + a1 * p1 + a2 * p2 + a3 * p3);
        (p3, p2, p1) = (p2, p1, bj);
    }
    for (c, add) in tail
        .iter_mut()
        .zip([a1 * p1 + a2 * p2 + a3 * p3, a2 * p1 + a3 * p2, a3 * p1])
    {
        *c = c.wrapping_add(add);
    }
}

/// `cols[j] += a·bⱼ`: one row of a product.
#[inline(always)]
fn row1(cols: &mut [Limb], a: Limb, b: &[Limb]) {
    for (c, &bj) in cols.iter_mut().zip(b) {
        *c = c.wrapping_add(a * bj);
    }
}

/// Σ xᵢ·yₙ₋₁₋ᵢ for slices of the same length n (the column of a product), for at most 255
/// terms.
fn dot(x: &[Limb], y: &[Limb]) -> Limb {
    x.iter()
        .zip(y.iter().rev())
        .fold(0, |s, (&a, &b)| s.wrapping_add(a * b))
}

/// A column's total, the carry in plus two column sums, as `low + high·2²⁸`: split so that
/// nothing overflows.
fn column(carry: Limb, s: Limb, t: Limb) -> (Limb, Limb) {
    let low = (carry & MASK) + (s & MASK) + (t & MASK);
    let high = (carry >> LIMB_BITS) + (s >> LIMB_BITS) + (t >> LIMB_BITS);
    (low, high)
}

/// Working space for one product: its columns before reduction.
pub struct Work(Vec<Limb>);

/// `out ← table[digit]`, reading every entry.
fn lookup(table: &[Limb], digit: Limb, out: &mut [Limb]) {
    out.fill(0);
    for (i, entry) in table.chunks_exact(out.len()).enumerate() {
        // All ones when i = digit: (i ^ digit) − 1 borrows only from zero.
        let mask = ((i as Limb ^ digit).wrapping_sub(1) >> 63).wrapping_neg();
        for (o, &e) in out.iter_mut().zip(entry) {
            *o |= e & mask;
        }
    }
}

/// The [`WINDOW_BITS`] exponent bits starting at bit `at`.
fn window(exp: &[Limb], at: usize) -> Limb {
    let i = at / LIMB_BITS;
    let shift = at % LIMB_BITS;
    let low = exp.get(i).copied().unwrap_or(0) >> shift;
    let high = exp.get(i + 1).copied().unwrap_or(0) << (LIMB_BITS - shift);
    (low | high) & ((1 << WINDOW_BITS) - 1)
}

#[cfg(test)]
mod tests;
