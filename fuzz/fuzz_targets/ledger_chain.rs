//! Ledger records as storage could hand them back after tampering: any sequence of records
//! and checkpoints verifies or names a break, never panics; and a valid chain with any one
//! byte changed (sequence, time, link, body or hash) never verifies.
#![no_main]

use ledger::{Checkpoint, Head, Record, RecordView, Verifier, append};
use libfuzzer_sys::fuzz_target;

fn view(r: &Record) -> RecordView<'_> {
    RecordView {
        seq: r.seq,
        time: r.time,
        prev_hash: &r.prev_hash,
        body: &r.body,
        hash: &r.hash,
    }
}

fuzz_target!(|data: &[u8]| {
    // Half one: records straight from the input (8 seq | 8 time | 32 prev | 32 hash | 1 len | body).
    let mut records = Vec::new();
    let mut rest = data;
    while rest.len() >= 81 {
        let len = rest[80] as usize;
        if rest.len() < 81 + len {
            break;
        }
        records.push(Record {
            seq: u64::from_be_bytes(rest[0..8].try_into().unwrap()),
            time: i64::from_be_bytes(rest[8..16].try_into().unwrap()),
            prev_hash: rest[16..48].try_into().unwrap(),
            hash: rest[48..80].try_into().unwrap(),
            body: rest[81..81 + len].to_vec(),
        });
        rest = &rest[81 + len..];
    }
    let checkpoints: Vec<Checkpoint> = rest
        .chunks(48)
        .map(|c| Checkpoint {
            seq: c.first().map_or(0, |b| u64::from(*b)),
            hash: [c.len() as u8; 32],
            time: 0,
            signature: c.to_vec(),
            interval: (c.len() > 40).then(|| ledger::Interval {
                after: u64::from(c[1]),
                root: [c[2]; 32],
                accounts: (c.len() > 44).then(|| [c[3]; 32]),
            }),
        })
        .collect();
    // Each record's owner from its body's first bytes (an account of one letter, a tenant of
    // one letter or none), as storage's indexed columns would give them.
    let names = ["a", "b", "c", "d"];
    let mut v = Verifier::new(&checkpoints, &[7u8; 32]);
    for r in &records {
        let owner = ledger::Owner {
            account: r.body.first().map(|b| names[usize::from(*b) % 4]),
            tenant: r.body.get(1).map(|b| names[usize::from(*b) % 4]),
        };
        if v.push_owned(view(r), owner).is_err() {
            break;
        }
    }
    let _ = v.finish();

    // Half two: a valid chain of bodies taken from the input, then one byte changed.
    let mut head = Head::EMPTY;
    let mut chain = Vec::new();
    for (i, body) in data.chunks(16).take(64).enumerate() {
        let r = append(&head, i as i64, body.to_vec()).unwrap();
        head = Head {
            seq: r.seq,
            hash: r.hash,
        };
        chain.push(r);
    }
    if chain.is_empty() {
        return;
    }
    let mut v = Verifier::new(&[], &[]);
    for r in &chain {
        v.push(view(r)).unwrap();
    }
    assert_eq!(v.finish().unwrap().seq, chain.len() as u64);
    let pick = data[0] as usize % chain.len();
    let which = data.get(1).copied().unwrap_or(0);
    let r = &mut chain[pick];
    match which % 5 {
        0 => r.seq ^= 1 << (which % 64),
        1 => r.time ^= 1,
        2 => r.prev_hash[which as usize % 32] ^= 1,
        3 => r.hash[which as usize % 32] ^= 1,
        _ => r.body.push(which),
    }
    let mut v = Verifier::new(&[], &[]);
    let mut broke = false;
    for r in &chain {
        if v.push(view(r)).is_err() {
            broke = true;
            break;
        }
    }
    assert!(broke, "a changed record verified");
});
