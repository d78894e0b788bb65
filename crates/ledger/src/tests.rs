use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use proptest::prelude::*;

use super::*;

struct TestSigner(Ed25519KeyPair);

impl CheckpointSigner for TestSigner {
    fn sign(&self, m: &[u8]) -> Vec<u8> {
        self.0.sign(m).as_ref().to_vec()
    }
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key().as_ref().to_vec()
    }
}

fn signer() -> TestSigner {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    TestSigner(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
}

/// A ledger of `n` records with a checkpoint every `every` records.
fn ledger(n: u64, every: u64, s: &TestSigner) -> (Vec<Record>, Vec<Checkpoint>) {
    let mut head = Head::EMPTY;
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    let mut after = 0;
    for i in 1..=n {
        let r = append(
            &head,
            1000 + i as i64,
            format!(r#"{{"kind":"auth","n":{i}}}"#).into_bytes(),
        )
        .unwrap();
        head = r.head();
        records.push(r);
        if i % every == 0 {
            checkpoints.push(checkpoint(
                &head,
                2000 + i as i64,
                Some(interval_of(&records, after)),
                s,
            ));
            after = i;
        }
    }
    (records, checkpoints)
}

/// The interval of the records after `after` up to the last of `records`.
fn interval_of(records: &[Record], after: u64) -> Interval {
    let hashes: Vec<Hash> = records[after as usize..].iter().map(|r| r.hash).collect();
    Interval {
        after,
        root: merkle::root(&hashes).unwrap(),
        accounts: None,
    }
}

#[test]
fn a_checkpoint_signs_its_intervals_records_and_proves_each_alone() {
    let s = signer();
    let (records, cps) = ledger(40, 10, &s);
    let pk = s.public_key();
    assert!(verify(&records, &cps, &pk).is_ok());
    // Each record of the second interval (11-20) by its proof alone.
    let c = &cps[1];
    assert!(c.verify_signature(&pk));
    let hashes: Vec<Hash> = records[10..20].iter().map(|r| r.hash).collect();
    let proofs = merkle::proofs(&hashes, &(0..10).collect::<Vec<_>>());
    for (r, p) in records[10..20].iter().zip(&proofs) {
        assert!(c.includes(r.seq, &r.hash, p));
        assert!(!cps[0].includes(r.seq, &r.hash, p), "another interval");
        assert!(!c.includes(r.seq + 1, &r.hash, p), "another place");
    }
    assert!(!c.includes(records[0].seq, &records[0].hash, &proofs[0]));
    // A checkpoint whose interval is not the chain's: its signature holds, the chain does not.
    let mut forged = cps.clone();
    let mut other: Vec<Hash> = hashes.clone();
    other.swap(2, 3);
    forged[1] = checkpoint(
        &records[19].head(),
        forged[1].time,
        Some(Interval {
            after: 10,
            root: merkle::root(&other).unwrap(),
            accounts: None,
        }),
        &s,
    );
    assert_eq!(
        verify(&records, &forged, &pk),
        Err(Break::IntervalMismatch { seq: 20 })
    );
    // One that says it starts elsewhere.
    forged[1] = checkpoint(
        &records[19].head(),
        forged[1].time,
        Some(interval_of(&records[..20], 5)),
        &s,
    );
    assert_eq!(
        verify(&records, &forged, &pk),
        Err(Break::IntervalMismatch { seq: 20 })
    );
    // The interval is signed: changed after signing, the signature fails.
    let mut changed = cps.clone();
    changed[1].interval = Some(Interval {
        after: 10,
        root: [0; HASH_LEN],
        accounts: None,
    });
    assert!(!changed[1].verify_signature(&pk));
    // Checkpoints from before intervals (none signed) still verify as they did.
    let old: Vec<Checkpoint> = cps
        .iter()
        .map(|c| {
            checkpoint(
                &Head {
                    seq: c.seq,
                    hash: c.hash,
                },
                c.time,
                None,
                &s,
            )
        })
        .collect();
    assert!(verify(&records, &old, &pk).is_ok());
}

/// Record `seq`'s owner in [`a_checkpoint_signs_which_records_each_account_has`]: accounts a,
/// b and c in turn, every fourth record no one's; tenants t1 and t2.
fn owner_of(seq: u64) -> Owner<'static> {
    Owner {
        account: (!seq.is_multiple_of(4)).then(|| ["a", "b", "c"][seq as usize % 3]),
        tenant: Some(["t1", "t2"][seq as usize % 2]),
    }
}

#[test]
fn a_checkpoint_signs_which_records_each_account_has() {
    let s = signer();
    let pk = s.public_key();
    let (records, _) = ledger(30, 30, &s);
    // Checkpoints at 10, 20 and 30, each signing its interval's account index.
    let mut cps = Vec::new();
    let mut index = account_index::IndexBuilder::default();
    for r in &records {
        let o = owner_of(r.seq);
        if let Some(a) = o.account {
            index.push(r.seq, a, o.tenant);
        }
        if r.seq.is_multiple_of(10) {
            let mut i = interval_of(&records[..r.seq as usize], r.seq - 10);
            i.accounts = Some(index.root());
            cps.push(checkpoint(&r.head(), 5000, Some(i), &s));
            index = account_index::IndexBuilder::default();
        }
    }
    let verify_owned = |cps: &[Checkpoint], owner: &dyn Fn(u64) -> Owner<'static>| {
        let mut v = Verifier::new(cps, &pk);
        for r in &records {
            v.push_owned(r.view(), owner(r.seq))?;
        }
        v.finish()
    };
    assert!(verify_owned(&cps, &owner_of).is_ok());
    // A record given to another account, or to none: the index is not the one signed.
    let moved = |seq: u64| match seq {
        14 => Owner {
            account: Some("a"),
            ..owner_of(seq)
        },
        _ => owner_of(seq),
    };
    assert_eq!(
        verify_owned(&cps, &moved),
        Err(Break::AccountsMismatch { seq: 20 })
    );
    let tenant_changed = |seq: u64| match seq {
        25 => Owner {
            tenant: Some("t9"),
            ..owner_of(seq)
        },
        _ => owner_of(seq),
    };
    assert_eq!(
        verify_owned(&cps, &tenant_changed),
        Err(Break::AccountsMismatch { seq: 30 })
    );
    // The index is signed: changed after signing, the signature fails.
    let mut changed = cps.clone();
    changed[0].interval.as_mut().unwrap().accounts = Some([1; HASH_LEN]);
    assert!(!changed[0].verify_signature(&pk));
    // And it is what a proof of account b's records in the second interval goes up to.
    let mut b = account_index::Records::default();
    for r in &records[10..20] {
        if owner_of(r.seq).account == Some("b") {
            b.push(r.seq);
        }
    }
    let mut index = account_index::IndexBuilder::default();
    for r in &records[10..20] {
        let o = owner_of(r.seq);
        if let Some(a) = o.account {
            index.push(r.seq, a, o.tenant);
        }
    }
    let key = account_index::account_key("b");
    assert!(account_index::verify(
        &cps[1].interval.unwrap().accounts.unwrap(),
        &key,
        &b,
        &index.prove(&key)
    ));
}

fn verify(records: &[Record], checkpoints: &[Checkpoint], pk: &[u8]) -> Result<Head, Break> {
    let mut v = Verifier::new(checkpoints, pk);
    for r in records {
        v.push(r.view())?;
    }
    v.finish()
}

#[test]
fn an_intact_ledger_verifies_to_its_head() {
    let s = signer();
    let (records, cps) = ledger(50, 10, &s);
    let head = verify(&records, &cps, &s.public_key()).unwrap();
    assert_eq!(head, records.last().unwrap().head());
    assert_eq!(verify(&[], &[], &s.public_key()).unwrap(), Head::EMPTY);
}

#[test]
fn each_kind_of_tampering_names_the_first_bad_record() {
    let s = signer();
    let pk = s.public_key();
    let (records, cps) = ledger(50, 10, &s);

    let mut modified = records.clone();
    modified[20].body = b"{\"kind\":\"auth\",\"n\":999}".to_vec();
    assert_eq!(verify(&modified, &cps, &pk).unwrap_err().first_bad(), 21);

    let mut deleted = records.clone();
    deleted.remove(30);
    assert_eq!(
        verify(&deleted, &cps, &pk).unwrap_err(),
        Break::Sequence {
            expected_after: 30,
            found: 32
        }
    );

    // Deleted and renumbered to hide it: the link breaks.
    let mut renumbered = records.clone();
    renumbered.remove(30);
    for r in renumbered.iter_mut().skip(30) {
        r.seq -= 1;
    }
    assert_eq!(verify(&renumbered, &cps, &pk).unwrap_err().first_bad(), 31);

    let mut inserted = records.clone();
    let forged = append(&records[9].head(), 5, b"forged".to_vec()).unwrap();
    inserted.insert(10, forged);
    assert!(verify(&inserted, &cps, &pk).is_err());

    let mut reordered = records.clone();
    reordered.swap(40, 41);
    assert_eq!(verify(&reordered, &cps, &pk).unwrap_err().first_bad(), 41);

    // Tail truncated back past the last checkpoint (record 50).
    let truncated = &records[..45];
    assert_eq!(
        verify(truncated, &cps, &pk).unwrap_err(),
        Break::Truncated {
            last: 45,
            checkpoint: 50
        }
    );

    // The whole chain rewritten consistently after record 25: the checkpoint at 30 catches it.
    let mut rewritten = records[..25].to_vec();
    let mut head = rewritten.last().unwrap().head();
    for i in 26..=50 {
        let r = append(&head, 9, format!("rewritten {i}").into_bytes()).unwrap();
        head = r.head();
        rewritten.push(r);
    }
    assert_eq!(
        verify(&rewritten, &cps, &pk).unwrap_err(),
        Break::CheckpointMismatch { seq: 30 }
    );

    // A forged checkpoint (not signed by the ledger key).
    let mut forged_cps = cps.clone();
    forged_cps[2].signature[0] ^= 1;
    assert_eq!(
        verify(&records, &forged_cps, &pk).unwrap_err(),
        Break::CheckpointSignature { seq: 30 }
    );
    let other = signer();
    assert!(verify(&records, &cps, &other.public_key()).is_err());
}

#[test]
fn oversized_bodies_are_refused() {
    assert!(append(&Head::EMPTY, 0, vec![0; MAX_BODY_LEN + 1]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Changing any single byte of any record's body or time is caught at that record.
    #[test]
    fn any_single_change_is_caught(n in 2u64..30, which in any::<prop::sample::Index>(), byte in any::<prop::sample::Index>(), time_instead in any::<bool>()) {
        let s = signer();
        let (mut records, cps) = ledger(n, 7, &s);
        let i = which.index(records.len());
        if time_instead {
            records[i].time += 1;
        } else {
            let b = byte.index(records[i].body.len());
            records[i].body[b] ^= 0x20;
        }
        let err = verify(&records, &cps, &s.public_key()).unwrap_err();
        prop_assert_eq!(err.first_bad(), records[i].seq);
    }
}

/// A part of the chain verifies from the signed checkpoint before it to the one after it, and
/// a change inside it is found; one outside it is not looked at.
#[test]
fn a_range_verifies_between_signed_checkpoints() {
    let s = signer();
    let pk = s.public_key();
    let (mut records, cps) = ledger(50, 10, &s);
    let range = |records: &[Record], start: Option<&Checkpoint>, end: u64| {
        let from = start.map_or(0, |c| c.seq);
        let within: Vec<Checkpoint> = cps
            .iter()
            .filter(|c| c.seq > from && c.seq <= end)
            .cloned()
            .collect();
        let mut v = Verifier::after(start, &within, &pk)?;
        for r in &records[from as usize..end as usize] {
            v.push(r.view())?;
        }
        v.finish_at(end)
    };
    // Records 21-30: from checkpoint 20 to checkpoint 30.
    assert_eq!(
        range(&records, Some(&cps[1]), 30).unwrap(),
        records[29].head()
    );
    // From the chain's start, and to a record no checkpoint covers yet.
    assert_eq!(range(&records, None, 12).unwrap(), records[11].head());
    // A record outside the range changed: the range still verifies.
    records[5].body = b"rewritten".to_vec();
    assert!(range(&records, Some(&cps[1]), 30).is_ok());
    // Inside it: found.
    records[24].body = b"rewritten".to_vec();
    assert_eq!(
        range(&records, Some(&cps[1]), 30).unwrap_err(),
        Break::Modified { seq: 25 }
    );
    // A starting checkpoint whose signature is bad vouches for nothing.
    let mut forged = cps[1].clone();
    forged.hash[0] ^= 1;
    assert_eq!(
        range(&records, Some(&forged), 30).unwrap_err(),
        Break::CheckpointSignature { seq: 20 }
    );
    // Records missing at the range's end.
    let (intact, _) = ledger(50, 10, &s);
    assert_eq!(
        {
            let mut v = Verifier::after(Some(&cps[1]), &[], &pk).unwrap();
            for r in &intact[20..27] {
                v.push(r.view()).unwrap();
            }
            v.finish_at(29).unwrap_err()
        },
        Break::Missing { from: 28, to: 29 }
    );
}
