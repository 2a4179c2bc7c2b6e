//! Constant-time arithmetic modulo an odd number, in Montgomery form, for RSA signing in wasm.
//!
//! Numbers are little-endian vectors of 32-bit limbs (wasm32 multiplies 32 × 32 → 64 bits
//! natively; 64-bit limbs would need emulated 128-bit products). Nothing branches on or indexes
//! by a secret value: the final subtraction is a masked select, exponents are read in fixed
//! windows of four bits whatever their value, and table entries are chosen by scanning the whole
//! table. Only lengths (public: they follow from the modulus) shape the work.

/// A limb.
type Limb = u32;
const LIMB_BITS: usize = 32;
const WINDOW_BITS: usize = 4;

/// An odd modulus with what Montgomery multiplication needs.
#[derive(Clone)]
pub struct Modulus {
    m: Vec<Limb>,
    /// −m⁻¹ mod 2³².
    m0_inv: Limb,
    /// R² mod m, R = 2^(32·len): maps a number into Montgomery form.
    r2: Vec<Limb>,
    /// R mod m: one, in Montgomery form.
    one: Vec<Limb>,
}

impl Modulus {
    /// `m` from big-endian bytes; `None` unless it is odd and greater than one.
    pub fn new(be: &[u8]) -> Option<Self> {
        let m = trim(from_be(be));
        let low = *m.first()?;
        if low & 1 == 0 || (m.len() == 1 && low == 1) {
            return None;
        }
        // Newton's iteration for the inverse modulo 2³²: each step doubles the correct bits.
        let mut inv: Limb = 1;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(low.wrapping_mul(inv)));
        }
        let mut modulus = Self {
            m0_inv: inv.wrapping_neg(),
            r2: Vec::new(),
            one: Vec::new(),
            m,
        };
        modulus.one = modulus.r_mod_m();
        modulus.r2 = modulus.r_squared();
        Some(modulus)
    }

    /// R mod m: R − m when m has its top bit set (every RSA modulus and prime does), else
    /// by doubling from 1.
    fn r_mod_m(&self) -> Vec<Limb> {
        let top_bit_set = self.m.last().is_some_and(|&l| l >> (LIMB_BITS - 1) == 1);
        if top_bit_set {
            let zero = vec![0; self.m.len()];
            return sub(&zero, &self.m).0;
        }
        let mut x = vec![0; self.m.len()];
        if let Some(first) = x.first_mut() {
            *first = 1;
        }
        for _ in 0..self.m.len() * LIMB_BITS {
            self.double(&mut x);
        }
        x
    }

    /// R² mod m, the Montgomery form of R: with 32·len = c·2^k (c odd), the Montgomery form of
    /// 2^c (c doublings of R mod m) squared k times.
    fn r_squared(&self) -> Vec<Limb> {
        let bits = self.m.len() * LIMB_BITS;
        let k = bits.trailing_zeros();
        let c = bits >> k;
        let mut x = self.one.clone();
        for _ in 0..c {
            self.double(&mut x);
        }
        let mut scratch = Scratch::new(self.m.len());
        for _ in 0..k {
            x = self.sqr(&x, &mut scratch);
        }
        x
    }

    /// The modulus's limbs.
    pub fn limbs(&self) -> &[Limb] {
        &self.m
    }

    /// `x ← 2x mod m`, for `x < m`.
    fn double(&self, x: &mut [Limb]) {
        let mut carry = 0;
        for limb in x.iter_mut() {
            let top = *limb >> (LIMB_BITS - 1);
            *limb = (*limb << 1) | carry;
            carry = top;
        }
        self.reduce_once(x, carry);
    }

    /// `x ← x − m` if `carry·2^(32·len) + x ≥ m`, in constant time (for values below 2m).
    fn reduce_once(&self, x: &mut [Limb], carry: Limb) {
        let (diff, borrow) = sub(x, &self.m);
        // Keep the difference when there was a carry out or no borrow.
        let take = carry | (borrow ^ 1);
        select(x, &diff, take);
    }

    /// a · b · R⁻¹ mod m (CIOS), for `a < R` and `b < m` (shorter inputs are zero-extended).
    pub fn mul(&self, a: &[Limb], b: &[Limb]) -> Vec<Limb> {
        let len = self.m.len();
        let b = fit(b, len);
        let mut t = vec![0; len];
        let mut t_hi: Limb = 0;
        for ai in a.iter().copied().chain(std::iter::repeat(0)).take(len) {
            let mut carry: u64 = 0;
            for (tj, &bj) in t.iter_mut().zip(b.iter()) {
                let x = u64::from(*tj) + u64::from(ai) * u64::from(bj) + carry;
                *tj = x as Limb;
                carry = x >> LIMB_BITS;
            }
            let x = u64::from(t_hi) + carry;
            t_hi = x as Limb;
            let t_top = (x >> LIMB_BITS) as Limb;
            // t ← (t + u·m) / 2³²: the low limb becomes zero and is shifted out.
            let u = t.first().copied().unwrap_or(0).wrapping_mul(self.m0_inv);
            let mut limbs = t.iter_mut().zip(&self.m);
            let Some((t0, &m0)) = limbs.next() else {
                return t;
            };
            let mut carry = (u64::from(*t0) + u64::from(u) * u64::from(m0)) >> LIMB_BITS;
            let mut prev = t0;
            for (tj, &mj) in limbs {
                let x = u64::from(*tj) + u64::from(u) * u64::from(mj) + carry;
                *prev = x as Limb;
                carry = x >> LIMB_BITS;
                prev = tj;
            }
            let x = u64::from(t_hi) + carry;
            *prev = x as Limb;
            t_hi = t_top + (x >> LIMB_BITS) as Limb;
        }
        self.reduce_once(&mut t, t_hi);
        t
    }

    /// a² · R⁻¹ mod m, for `a < m`: each cross product once, doubled, plus the diagonal, then a
    /// separate Montgomery reduction (about a quarter fewer multiplications than [`Self::mul`];
    /// squarings are most of an exponentiation).
    pub fn sqr(&self, a: &[Limb], scratch: &mut Scratch) -> Vec<Limb> {
        let len = self.m.len();
        let a = fit(a, len);
        let prod = &mut scratch.prod;
        prod.clear();
        prod.resize(2 * len, 0);
        for (i, &ai) in a.iter().enumerate() {
            let mut carry = 0u64;
            for (p, &aj) in prod.iter_mut().skip(2 * i + 1).zip(a.iter().skip(i + 1)) {
                let x = u64::from(*p) + u64::from(ai) * u64::from(aj) + carry;
                *p = x as Limb;
                carry = x >> LIMB_BITS;
            }
            if let Some(p) = prod.get_mut(i + len) {
                *p = carry as Limb;
            }
        }
        // Double the cross products (a² < R², so nothing leaves the top) and add the squares.
        let mut shifted_out = 0;
        for p in prod.iter_mut() {
            let top = *p >> (LIMB_BITS - 1);
            *p = (*p << 1) | shifted_out;
            shifted_out = top;
        }
        let mut carry = 0u64;
        for (pair, &ai) in prod.chunks_exact_mut(2).zip(a.iter()) {
            if let [lo, hi] = pair {
                let square = u64::from(ai) * u64::from(ai);
                let x = u64::from(*lo) + (square & 0xffff_ffff) + carry;
                *lo = x as Limb;
                let y = u64::from(*hi) + (square >> LIMB_BITS) + (x >> LIMB_BITS);
                *hi = y as Limb;
                carry = y >> LIMB_BITS;
            }
        }
        self.redc(prod)
    }

    /// Montgomery reduction of a 2·len-limb `t < m·R`: t · R⁻¹ mod m.
    fn redc(&self, t: &mut [Limb]) -> Vec<Limb> {
        let len = self.m.len();
        let mut top_carry = 0u64;
        for i in 0..len {
            let u = t.get(i).copied().unwrap_or(0).wrapping_mul(self.m0_inv);
            let mut carry = 0u64;
            for (p, &mj) in t.iter_mut().skip(i).zip(&self.m) {
                let x = u64::from(*p) + u64::from(u) * u64::from(mj) + carry;
                *p = x as Limb;
                carry = x >> LIMB_BITS;
            }
            if let Some(p) = t.get_mut(i + len) {
                let x = u64::from(*p) + carry + top_carry;
                *p = x as Limb;
                top_carry = x >> LIMB_BITS;
            }
        }
        let mut out: Vec<Limb> = t.iter().skip(len).copied().collect();
        self.reduce_once(&mut out, top_carry as Limb);
        out
    }

    /// The Montgomery form of any number `x` (little-endian limbs, any length).
    pub fn to_mont(&self, x: &[Limb]) -> Vec<Limb> {
        // Horner over chunks of `len` limbs from the top: acc ← acc·R + chunk. Each chunk is
        // below R, so chunk·R² < R·m and the Montgomery product brings it into range.
        let len = self.m.len();
        let mut acc = vec![0; len];
        let chunks: Vec<&[Limb]> = x.chunks(len).collect();
        for chunk in chunks.into_iter().rev() {
            let mut c = chunk.to_vec();
            c.resize(len, 0);
            let shifted = self.mul(&acc, &self.r2);
            let term = self.mul(&c, &self.r2);
            acc = self.add(&shifted, &term);
        }
        acc
    }

    /// Back from Montgomery form.
    pub fn out_of_mont(&self, x: &[Limb]) -> Vec<Limb> {
        let mut one = vec![0; self.m.len()];
        if let Some(first) = one.first_mut() {
            *first = 1;
        }
        self.mul(x, &one)
    }

    /// (a + b) mod m, for `a, b < m`.
    pub fn add(&self, a: &[Limb], b: &[Limb]) -> Vec<Limb> {
        let mut sum = Vec::with_capacity(a.len());
        let mut carry = 0u64;
        for (&x, &y) in a.iter().zip(b) {
            let s = u64::from(x) + u64::from(y) + carry;
            sum.push(s as Limb);
            carry = s >> LIMB_BITS;
        }
        self.reduce_once(&mut sum, carry as Limb);
        sum
    }

    /// (a − b) mod m, for `a, b < m`.
    pub fn sub(&self, a: &[Limb], b: &[Limb]) -> Vec<Limb> {
        let (mut diff, borrow) = sub(a, b);
        let (wrapped, _) = add_raw(&diff, &self.m);
        select(&mut diff, &wrapped, borrow);
        diff
    }

    /// base^exp in Montgomery form (`base` in Montgomery form), with the exponent read in fixed
    /// windows over all of its `exp_bits` bits: the work does not depend on its value.
    pub fn pow(&self, base: &[Limb], exp: &[Limb], exp_bits: usize) -> Vec<Limb> {
        let mut table = Vec::with_capacity(1 << WINDOW_BITS);
        table.push(self.one.clone());
        for i in 1..(1 << WINDOW_BITS) {
            let next = match table.get(i - 1) {
                Some(prev) => self.mul(prev, base),
                None => self.one.clone(),
            };
            table.push(next);
        }
        let windows = exp_bits.div_ceil(WINDOW_BITS);
        let mut acc = self.one.clone();
        let mut entry = vec![0; self.m.len()];
        let mut scratch = Scratch::new(self.m.len());
        for w in (0..windows).rev() {
            for _ in 0..WINDOW_BITS {
                acc = self.sqr(&acc, &mut scratch);
            }
            let digit = window(exp, w * WINDOW_BITS);
            for (i, candidate) in table.iter().enumerate() {
                select(&mut entry, candidate, Limb::from(i == digit as usize));
            }
            acc = self.mul(&acc, &entry);
        }
        acc
    }

    /// base^exp for a public exponent (variable time), base in Montgomery form.
    pub fn pow_public(&self, base: &[Limb], exp: &[Limb]) -> Vec<Limb> {
        let mut acc = self.one.clone();
        let mut scratch = Scratch::new(self.m.len());
        for limb in exp.iter().rev() {
            for bit in (0..LIMB_BITS).rev() {
                acc = self.sqr(&acc, &mut scratch);
                if (limb >> bit) & 1 == 1 {
                    acc = self.mul(&acc, base);
                }
            }
        }
        acc
    }
}

/// Working space reused across the squarings of one exponentiation.
pub struct Scratch {
    prod: Vec<Limb>,
}

impl Scratch {
    /// Space for a modulus of `len` limbs.
    pub fn new(len: usize) -> Self {
        Self {
            prod: Vec::with_capacity(2 * len),
        }
    }
}

/// `x` with exactly `len` limbs (zero-extended; only ever shorter by high zero limbs).
fn fit(x: &[Limb], len: usize) -> std::borrow::Cow<'_, [Limb]> {
    if x.len() == len {
        return std::borrow::Cow::Borrowed(x);
    }
    let mut v = x.to_vec();
    v.resize(len, 0);
    std::borrow::Cow::Owned(v)
}

/// The four exponent bits starting at bit `at`.
fn window(exp: &[Limb], at: usize) -> Limb {
    let limb = exp.get(at / LIMB_BITS).copied().unwrap_or(0);
    (limb >> (at % LIMB_BITS)) & ((1 << WINDOW_BITS) - 1)
}

/// `dst ← src` when `take` is 1, unchanged when 0, without branching on it.
fn select(dst: &mut [Limb], src: &[Limb], take: Limb) {
    let mask = take.wrapping_neg();
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = (s & mask) | (*d & !mask);
    }
}

/// a − b over the length of `a`, and the borrow out (0 or 1).
fn sub(a: &[Limb], b: &[Limb]) -> (Vec<Limb>, Limb) {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0u64;
    let mut b = b.iter();
    for &x in a {
        let y = b.next().copied().unwrap_or(0);
        let d = u64::from(x).wrapping_sub(u64::from(y)).wrapping_sub(borrow);
        out.push(d as Limb);
        borrow = (d >> 63) & 1;
    }
    (out, borrow as Limb)
}

/// a + b over the length of `a`, and the carry out.
pub fn add_raw(a: &[Limb], b: &[Limb]) -> (Vec<Limb>, Limb) {
    let mut out = Vec::with_capacity(a.len());
    let mut carry = 0u64;
    let mut b = b.iter();
    for &x in a {
        let s = u64::from(x) + u64::from(b.next().copied().unwrap_or(0)) + carry;
        out.push(s as Limb);
        carry = s >> LIMB_BITS;
    }
    (out, carry as Limb)
}

/// The full product a · b (schoolbook).
pub fn mul_full(a: &[Limb], b: &[Limb]) -> Vec<Limb> {
    let mut out = vec![0; a.len() + b.len()];
    for (i, &ai) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (o, &bj) in out.iter_mut().skip(i).zip(b) {
            let x = u64::from(*o) + u64::from(ai) * u64::from(bj) + carry;
            *o = x as Limb;
            carry = x >> LIMB_BITS;
        }
        if let Some(o) = out.get_mut(i + b.len()) {
            *o = carry as Limb;
        }
    }
    out
}

/// Limbs of a big-endian byte string.
pub fn from_be(be: &[u8]) -> Vec<Limb> {
    be.rchunks(4)
        .map(|chunk| chunk.iter().fold(0, |acc, &b| (acc << 8) | Limb::from(b)))
        .collect()
}

/// The big-endian bytes of `x`, left-padded (or cut) to `len` bytes.
pub fn to_be(x: &[Limb], len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = x.iter().flat_map(|limb| limb.to_le_bytes()).collect();
    out.resize(len, 0);
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
    let trimmed = x.iter().rposition(|&l| l != 0);
    match trimmed {
        Some(i) => i * LIMB_BITS + (LIMB_BITS - x.get(i).map_or(0, |l| l.leading_zeros() as usize)),
        None => 0,
    }
}
