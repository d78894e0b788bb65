//! What the account index adds to `audit verify` and to signing a checkpoint, per record: a
//! million records of 1,000 accounts (each in one of 50 tenants) pushed into an
//! `IndexBuilder`, then its root; best of 5. Prints numbers; asserts nothing. Run:
//! `cargo run --release -p ledger --example account_index_bench`.

use std::time::Instant;

use ledger::account_index::IndexBuilder;

fn main() {
    let n = 1_000_000u64;
    let accounts: Vec<String> = (0..1000).map(|i| format!("user{i:04}")).collect();
    let tenants: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        let mut index = IndexBuilder::default();
        for seq in 1..=n {
            let a = (seq % 1000) as usize;
            index.push(seq, &accounts[a], Some(&tenants[a % 50]));
        }
        let pushed = t.elapsed().as_secs_f64();
        let t = Instant::now();
        std::hint::black_box(index.root());
        best = (best.0.min(pushed), best.1.min(t.elapsed().as_secs_f64()));
    }
    println!(
        "account index: {n} records of 1,000 accounts pushed in {:.3} s ({:.0} ns a record), root in {:.4} s",
        best.0,
        best.0 * 1e9 / n as f64,
        best.1
    );
}
