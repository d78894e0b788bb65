//! Classification throughput on the labelled corpus, one core.
//!
//!     cargo run --release -p classify --example classify_bench [MIB]
//!
//! Generates about MIB MiB of corpus (untimed), then classifies every document in 64 KiB
//! chunks, as an upload's writes arrive, and prints bytes per second: over the whole corpus
//! and per kind of document, each document timed at its best of `ROUNDS` passes (5). `KIND=csv`
//! (an extension) or `KIND=vendors.csv` (a document's name) times those documents alone.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Instant;

use classify::Scanner;

// Not inlined: `valgrind --tool=callgrind --toggle-collect=classify_bench::scan` counts the
// scanning alone, not the corpus's generation.
#[inline(never)]
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
    let mut docs = classify::corpus::generate(42, mib << 20);
    // `KIND=csv` (a name's extension, or a whole name such as `customers.csv`): those alone.
    if let Ok(kind) = std::env::var("KIND") {
        docs.retain(|d| {
            d.name.split_once('-').map(|n| n.1) == Some(kind.as_str())
                || d.name.rsplit('.').next() == Some(kind.as_str())
        });
    }
    let total: usize = docs.iter().map(|d| d.bytes.len()).sum();
    let mut found = 0u64;
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    // Per document, its best time over the rounds: a pass that the machine interrupted counts
    // only where it was interrupted.
    let mut best_of_doc = vec![f64::MAX; docs.len()];
    for _ in 0..rounds {
        found = 0;
        for (d, best) in docs.iter().zip(&mut best_of_doc) {
            let k = Instant::now();
            found += scan(&d.bytes);
            *best = best.min(k.elapsed().as_secs_f64());
        }
    }
    let best: f64 = best_of_doc.iter().sum();
    // Per kind (the name's extension): bytes and time.
    let mut kinds: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for (d, secs) in docs.iter().zip(&best_of_doc) {
        let e = kinds
            .entry(d.name.rsplit('.').next().unwrap_or(""))
            .or_default();
        e.0 += d.bytes.len();
        e.1 += secs;
    }
    // Written, not printed: a reader that stops early (`| head`) ends the output, not in a panic.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "classify: {:.1} MiB in {} documents, each at its best of {rounds}: {:.3} s, {:.0} MB/s on one core ({found} items found)",
        total as f64 / (1 << 20) as f64,
        docs.len(),
        best,
        total as f64 / best / 1e6,
    );
    for (kind, (bytes, secs)) in kinds {
        let _ = writeln!(
            out,
            "  {kind:>4}: {:5.1} MiB, {:5.0} MB/s",
            bytes as f64 / (1 << 20) as f64,
            bytes as f64 / secs / 1e6
        );
    }
}
