//! Classification throughput on the labelled corpus, one core.
//!
//!     cargo run --release -p classify --example classify_bench [MIB]
//!
//! Generates about MIB MiB of corpus (untimed), then classifies every document in 64 KiB
//! chunks, as an upload's writes arrive, and prints bytes per second.

use std::time::Instant;

use classify::Scanner;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let docs = classify::corpus::generate(42, mib << 20);
    let total: usize = docs.iter().map(|d| d.bytes.len()).sum();
    let mut found = 0u64;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for d in &docs {
            let mut s = Scanner::new();
            for chunk in d.bytes.chunks(64 << 10) {
                s.feed(chunk);
            }
            found += s.finish().counts.present().map(|(_, n)| n).sum::<u64>();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "classify: {:.1} MiB in {} documents, best of 3: {:.3} s, {:.0} MB/s on one core ({} items found per pass)",
        total as f64 / (1 << 20) as f64,
        docs.len(),
        best,
        total as f64 / best / 1e6,
        found / 3
    );
}
