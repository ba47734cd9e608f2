//! With the `footprint` feature: `FOOTPRINT_FUNCS` functions of straight-line integer code (about
//! 1.3 KiB of wasm each), which the contract filter runs once per request. `bench/footprint.py`
//! builds several counts to measure what a kilobyte of code run once per request costs in Envoy.
use std::fmt::Write;
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-env-changed=FOOTPRINT_FUNCS");
    let funcs: usize = env::var("FOOTPRINT_FUNCS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut out = String::new();
    let mut seed: u64 = 0x243f_6a88_85a3_08d3;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for f in 0..funcs {
        writeln!(out, "#[inline(never)]\nfn f{f}(mut x: u64) -> u64 {{").unwrap();
        for _ in 0..50 {
            let (a, b, r) = (next() | 1, next(), next() % 62 + 1);
            writeln!(out, "    x = (x ^ {b:#x}).wrapping_mul({a:#x}).rotate_left({r});").unwrap();
        }
        writeln!(out, "    std::hint::black_box(x)\n}}").unwrap();
    }
    writeln!(out, "/// Runs every function once, in order.\n#[allow(unused_mut)]\npub fn run(mut x: u64) -> u64 {{").unwrap();
    for f in 0..funcs {
        writeln!(out, "    x = f{f}(x);").unwrap();
    }
    writeln!(out, "    x\n}}").unwrap();
    fs::write(Path::new(&env::var("OUT_DIR").unwrap()).join("footprint.rs"), out).unwrap();
}
