//! Runs every target on pseudo-random inputs (a quick check of the harness without libFuzzer):
//! `cargo run --no-default-features --example smoke -- [N] [TARGET]`.
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let only = std::env::args().nth(2);
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for (name, harness) in edge_idp_fuzz::TARGETS {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let start = std::time::Instant::now();
        for _ in 0..n {
            let len = (next() % 600) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            harness(&data);
        }
        println!("{name:20} {n} inputs in {:?}", start.elapsed());
    }
}
