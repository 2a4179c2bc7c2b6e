//! Times RSA-2048 signing the way the Spin route signs, inside wasm: `scripts/bench` builds this
//! for wasm32-wasip2 and runs it under wasmtime (the engine `spin up` and `wasmtime serve` use).
//! A Spin instance lives for one request, so "load + sign" is what one signature costs there.
//! Prints one line per measurement: `name milliseconds-per-operation`.

use std::time::Instant;

use edge_idp::crypto::{FillRng, RsaSigner};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};

const KEY: &[u8] = include_bytes!("../src/testdata/test-rsa2048.pk8.der");
const MESSAGE: &[u8] =
    b"<ds:SignedInfo>a typical SAML SignedInfo of a few hundred bytes</ds:SignedInfo>";

fn per_op(name: &str, runs: u32, mut f: impl FnMut() -> usize) {
    let mut sink = f(); // warm up
    let started = Instant::now();
    for _ in 0..runs {
        sink = sink.wrapping_add(f());
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    println!("{name} {ms:.3} (sink {})", sink % 10);
}

fn main() {
    let runs = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    per_op("ours_load", runs, || {
        RsaSigner::from_pkcs8(KEY).map_or(0, |k| k.size())
    });
    let ours = RsaSigner::from_pkcs8(KEY);
    per_op("ours_sign", runs, || {
        ours.as_ref()
            .and_then(|k| k.sign_sha256(MESSAGE))
            .map_or(0, |s| s.len())
    });
    per_op("ours_load_and_sign", runs, || {
        RsaSigner::from_pkcs8(KEY)
            .and_then(|k| k.sign_sha256(MESSAGE))
            .map_or(0, |s| s.len())
    });
    let mut seed = 1u64;
    let mut rng = FillRng(|b: &mut [u8]| {
        for x in b.iter_mut() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            *x = (seed >> 33) as u8;
        }
    });
    per_op("rsa_crate_load", runs, || {
        rsa::RsaPrivateKey::from_pkcs8_der(KEY).map_or(0, |_| 1)
    });
    let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_der(KEY) else {
        return;
    };
    let reference = SigningKey::<sha2::Sha256>::new(key);
    per_op("rsa_crate_sign", runs, || {
        reference
            .try_sign_with_rng(&mut rng, MESSAGE)
            .map_or(0, |s| s.to_vec().len())
    });
}
