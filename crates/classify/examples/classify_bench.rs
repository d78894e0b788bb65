//! Classification throughput on the labelled corpus, one core.
//!
//!     cargo run --release -p classify --example classify_bench [MIB]
//!
//! Generates about MIB MiB of corpus (untimed), then classifies every document in 64 KiB
//! chunks, as an upload's writes arrive, and prints bytes per second: over the whole corpus
//! (best of {rounds} passes) and per kind of document.

use std::collections::BTreeMap;
use std::time::Instant;

use classify::Scanner;

fn scan(bytes: &[u8]) -> u64 {
    let mut s = Scanner::new();
    for chunk in bytes.chunks(64 << 10) {
        s.feed(chunk);
    }
    s.finish().counts.present().map(|(_, n)| n).sum()
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let docs = classify::corpus::generate(42, mib << 20);
    let total: usize = docs.iter().map(|d| d.bytes.len()).sum();
    let mut found = 0u64;
    let mut best = f64::MAX;
    // Per kind (the name's extension): bytes and the best time of its documents.
    let mut kinds: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for _ in 0..rounds {
        let mut per_kind: BTreeMap<&str, f64> = BTreeMap::new();
        found = 0;
        let t = Instant::now();
        for d in &docs {
            let k = Instant::now();
            found += scan(&d.bytes);
            let kind = d.name.rsplit('.').next().unwrap_or("");
            *per_kind.entry(kind).or_default() += k.elapsed().as_secs_f64();
        }
        best = best.min(t.elapsed().as_secs_f64());
        for (kind, secs) in per_kind {
            let e = kinds.entry(kind).or_insert((0, f64::MAX));
            e.1 = e.1.min(secs);
        }
    }
    for d in &docs {
        kinds
            .entry(d.name.rsplit('.').next().unwrap_or(""))
            .or_default()
            .0 += d.bytes.len();
    }
    println!(
        "classify: {:.1} MiB in {} documents, best of {rounds}: {:.3} s, {:.0} MB/s on one core ({found} items found)",
        total as f64 / (1 << 20) as f64,
        docs.len(),
        best,
        total as f64 / best / 1e6,
    );
    for (kind, (bytes, secs)) in kinds {
        println!(
            "  {kind:>4}: {:5.1} MiB, {:5.0} MB/s",
            bytes as f64 / (1 << 20) as f64,
            bytes as f64 / secs / 1e6
        );
    }
}
