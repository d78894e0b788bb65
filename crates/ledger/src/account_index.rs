//! The account index of one checkpoint's interval: for every account that has records in the
//! interval (and for every pair of tenant, or none, and account), the list of its records, committed in one
//! root that the checkpoint signs ([`crate::Interval::accounts`]). With it, an incident
//! report's evidence can show that it holds *every* record of an account in an interval, not
//! only that the records it holds are in the chain: the account's leaf lists them, and a proof
//! of the leaf (or of its absence) under the signed root is a few hashes.
//!
//! The shape: a sparse Merkle tree over 256-bit keys ([`account_key`], [`tenant_account_key`]:
//! SHA-256 of the name, so that a checker can compute the key of the account it is shown),
//! each subtree of one leaf collapsed into that leaf, an empty subtree all zeros. A leaf is
//! SHA-256(0x00 ‖ key ‖ digest), its digest the SHA-256 of its records' sequence numbers in
//! order and their count ([`Records`]: the numbers only, since the interval's Merkle root
//! already binds each number to its record's hash); a node is SHA-256(0x01 ‖ left ‖
//! right), the left child holding the keys whose next bit is 0. A proof walks from the root to
//! where the key's path ends: its own leaf (the records are there, and only those), an empty
//! subtree, or another key's leaf (the account has none in the interval: that leaf's key is
//! shown, its digest only as a hash). Other accounts' names, counts and records are never in a
//! proof.
//!
//! Pure: names and numbers in, hashes out.

use std::collections::BTreeMap;

use aws_lc_rs::digest;

use crate::{HASH_LEN, Hash};

/// The hash of an empty subtree (and the root of an interval whose records name no account).
pub const EMPTY: Hash = [0; HASH_LEN];
/// Most siblings on a path (one per bit of a key).
pub const MAX_PATH: usize = 256;

const ACCOUNT_DOMAIN: &[u8] = b"strongroom ledger account v1\0";
const TENANT_ACCOUNT_DOMAIN: &[u8] = b"strongroom ledger tenant account v1\0";
const RECORDS_DOMAIN: &[u8] = b"strongroom ledger account records v1\0";

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The key of an account's leaf: its records whatever their tenant.
pub fn account_key(account: &str) -> Hash {
    sha256(&[ACCOUNT_DOMAIN, account.as_bytes()])
}

/// The key of an account's records in one tenant (a client institution's part of a report), or
/// of those that name no tenant (`None`: a refused login for a name no account had).
pub fn tenant_account_key(tenant: Option<&str>, account: &str) -> Hash {
    match tenant {
        Some(tenant) => sha256(&[
            TENANT_ACCOUNT_DOMAIN,
            &[1],
            &(tenant.len() as u64).to_be_bytes(),
            tenant.as_bytes(),
            account.as_bytes(),
        ]),
        None => sha256(&[TENANT_ACCOUNT_DOMAIN, &[0], account.as_bytes()]),
    }
}

/// One key's records in an interval: how many, and the digest of their sequence numbers in
/// order, streamed (a record adds 8 bytes to one SHA-256, not a hash of its own).
#[derive(Clone)]
pub struct Records {
    pub count: u64,
    records: digest::Context,
}

impl Default for Records {
    fn default() -> Self {
        let mut records = digest::Context::new(&digest::SHA256);
        records.update(RECORDS_DOMAIN);
        Self { count: 0, records }
    }
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Records({}, {:02x?})", self.count, &self.digest()[..4])
    }
}

impl PartialEq for Records {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.digest() == other.digest()
    }
}

impl Records {
    /// The records of these sequence numbers (in order).
    #[cfg(test)]
    fn of(seqs: &[u64]) -> Self {
        let mut r = Self::default();
        for seq in seqs {
            r.push(*seq);
        }
        r
    }

    /// Adds the next record (in sequence order).
    pub fn push(&mut self, seq: u64) {
        self.count += 1;
        self.records.update(&seq.to_be_bytes());
    }

    /// What the leaf commits to: SHA-256 of the domain, each record's sequence number, and their
    /// count.
    pub fn digest(&self) -> Hash {
        let mut ctx = self.records.clone();
        ctx.update(&self.count.to_be_bytes());
        let mut out = [0u8; HASH_LEN];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

fn leaf(key: &Hash, digest: &Hash) -> Hash {
    sha256(&[&[0], key, digest])
}

fn node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[1], left, right])
}

/// Bit `i` of `key`, the most significant bit of its first byte first.
fn bit(key: &Hash, i: usize) -> bool {
    key[i / 8] & (0x80 >> (i % 8)) != 0
}

/// An account's leaf, and its leaves in the tenants (or none) its records named (places in
/// [`IndexBuilder::leaves`]).
type AccountLeaves = (usize, Vec<(Option<String>, usize)>);

/// The index of an interval being built: records are added as they come, each under its
/// account's key and its tenant and account's key.
#[derive(Debug, Clone, Default)]
pub struct IndexBuilder {
    /// Each key and its records so far (streamed: memory does not grow with the interval).
    leaves: Vec<(Hash, Records)>,
    /// Where each account's leaves are, so that a busy account's keys are hashed once per
    /// interval and found by one lookup.
    named: std::collections::HashMap<String, AccountLeaves>,
    /// The sequence numbers of the records of these keys (to write a proof's records).
    kept: BTreeMap<Hash, Vec<u64>>,
}

impl IndexBuilder {
    /// An index that also keeps the sequence numbers of the records of `keys`
    /// ([`IndexBuilder::kept`]).
    pub fn keeping(keys: impl IntoIterator<Item = Hash>) -> Self {
        Self {
            kept: keys.into_iter().map(|k| (k, Vec::new())).collect(),
            ..Self::default()
        }
    }

    /// The sequence numbers of `key`'s records, if it is one of those kept.
    pub fn kept(&self, key: &Hash) -> Option<&[u64]> {
        self.kept.get(key).map(Vec::as_slice)
    }

    fn leaf_of(&mut self, key: Hash) -> usize {
        self.leaves.push((key, Records::default()));
        self.leaves.len() - 1
    }

    /// Adds record `seq` of `account` (in `tenant`, or in none), records in sequence order.
    /// Records that name no account are in no leaf.
    pub fn push(&mut self, seq: u64, account: &str, tenant: Option<&str>) {
        if !self.named.contains_key(account) {
            let at = self.leaf_of(account_key(account));
            self.named.insert(account.to_owned(), (at, Vec::new()));
        }
        let Some((a, tenants)) = self.named.get(account) else {
            return;
        };
        let a = *a;
        let t = match tenants.iter().find(|(name, _)| name.as_deref() == tenant) {
            Some((_, at)) => *at,
            None => {
                let at = self.leaf_of(tenant_account_key(tenant, account));
                if let Some((_, tenants)) = self.named.get_mut(account) {
                    tenants.push((tenant.map(str::to_owned), at));
                }
                at
            }
        };
        for at in [a, t] {
            let (key, records) = &mut self.leaves[at];
            records.push(seq);
            if !self.kept.is_empty()
                && let Some(seqs) = self.kept.get_mut(key)
            {
                seqs.push(seq);
            }
        }
    }

    /// Every key's (key, digest), sorted by key.
    fn sorted(&self) -> Vec<(Hash, Hash)> {
        let mut leaves: Vec<(Hash, Hash)> =
            self.leaves.iter().map(|(k, r)| (*k, r.digest())).collect();
        leaves.sort_unstable_by_key(|a| a.0);
        leaves
    }

    /// The root of the keys added so far.
    pub fn root(&self) -> Hash {
        subtree(&self.sorted(), 0, &mut |_, _| {})
    }

    /// The proof of `key`'s leaf or of its absence.
    pub fn prove(&self, key: &Hash) -> Proof {
        prove(&self.sorted(), key)
    }

    /// The records of `key` (none: a default).
    #[cfg(test)]
    fn records(&self, key: &Hash) -> Records {
        self.leaves
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }
}

/// The root of `leaves` (sorted by key, keys distinct) below depth `depth`; `visit` is told of
/// each node's children's hashes as (depth, (left, right)), for proofs.
fn subtree(
    leaves: &[(Hash, Hash)],
    depth: usize,
    visit: &mut dyn FnMut(usize, (&Hash, &Hash)),
) -> Hash {
    match leaves {
        [] => EMPTY,
        [(key, digest)] => leaf(key, digest),
        _ if depth >= MAX_PATH => EMPTY, // distinct keys part before their last bit
        _ => {
            let at = leaves.partition_point(|(k, _)| !bit(k, depth));
            let left = subtree(&leaves[..at], depth + 1, visit);
            let right = subtree(&leaves[at..], depth + 1, visit);
            visit(depth, (&left, &right));
            node(&left, &right)
        }
    }
}

/// Where a key's path ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The key's own leaf: its records' count and digest are what the checker recomputes.
    Leaf,
    /// An empty subtree: no record of the key.
    Empty,
    /// Another key's leaf (its digest as a hash): no record of the key.
    Other { key: Hash, digest: Hash },
}

/// A key's path from the root: the siblings, the root's child first, and its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub siblings: Vec<Hash>,
    pub end: End,
}

fn prove(leaves: &[(Hash, Hash)], key: &Hash) -> Proof {
    let mut siblings = Vec::new();
    let mut part = leaves;
    let mut depth = 0;
    loop {
        match part {
            [] => {
                return Proof {
                    siblings,
                    end: End::Empty,
                };
            }
            [(k, digest)] => {
                let end = if k == key {
                    End::Leaf
                } else {
                    End::Other {
                        key: *k,
                        digest: *digest,
                    }
                };
                return Proof { siblings, end };
            }
            _ if depth >= MAX_PATH => {
                return Proof {
                    siblings,
                    end: End::Empty,
                };
            }
            _ => {
                let at = part.partition_point(|(k, _)| !bit(k, depth));
                let (left, right) = part.split_at(at);
                let (ours, other) = if bit(key, depth) {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(subtree(other, depth + 1, &mut |_, _| {}));
                part = ours;
                depth += 1;
            }
        }
    }
}

/// Whether `proof` shows, under `root`, that `key` has exactly the records `records` (a count
/// of 0: none) in the interval.
pub fn verify(root: &Hash, key: &Hash, records: &Records, proof: &Proof) -> bool {
    if proof.siblings.len() > MAX_PATH {
        return false;
    }
    let depth = proof.siblings.len();
    let mut at = match &proof.end {
        End::Leaf if records.count > 0 => leaf(key, &records.digest()),
        End::Leaf => return false,
        End::Empty if records.count == 0 => EMPTY,
        End::Other { key: other, digest }
            if records.count == 0
                && other != key
                && (0..depth).all(|i| bit(other, i) == bit(key, i)) =>
        {
            leaf(other, digest)
        }
        _ => return false,
    };
    for (i, sibling) in proof.siblings.iter().enumerate().rev() {
        at = if bit(key, i) {
            node(sibling, &at)
        } else {
            node(&at, sibling)
        };
    }
    at == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index(records: &[(u64, &str, Option<&str>)]) -> IndexBuilder {
        let mut b = IndexBuilder::default();
        for (seq, account, tenant) in records {
            b.push(*seq, account, *tenant);
        }
        b
    }

    #[test]
    fn each_account_is_shown_with_its_records_and_no_other_set() {
        let b = index(&[
            (1, "mallory", Some("acme")),
            (2, "bob", Some("acme")),
            (3, "mallory", Some("zeta")),
            (4, "carol", None),
            (5, "mallory", Some("acme")),
        ]);
        let root = b.root();
        let mallory = Records::of(&[1, 3, 5]);
        let key = account_key("mallory");
        let p = b.prove(&key);
        assert_eq!(p.end, End::Leaf);
        assert!(verify(&root, &key, &mallory, &p));
        assert_eq!(b.records(&key), mallory);
        // One record left out, one added, or none: not shown.
        let fewer = Records::of(&[1, 5]);
        assert!(!verify(&root, &key, &fewer, &p));
        assert!(!verify(&root, &key, &Records::default(), &p));
        // The tenant's part: mallory's records in acme only.
        let acme = tenant_account_key(Some("acme"), "mallory");
        let in_acme = Records::of(&[1, 5]);
        assert!(verify(&root, &acme, &in_acme, &b.prove(&acme)));
        // An account with no record: its absence, and nothing can show records of it.
        let dave = account_key("dave");
        let p = b.prove(&dave);
        assert_ne!(p.end, End::Leaf);
        assert!(verify(&root, &dave, &Records::default(), &p));
        assert!(!verify(&root, &dave, &fewer, &p));
        // Another root, another key: no.
        assert!(!verify(&[9; HASH_LEN], &key, &mallory, &b.prove(&key)));
        assert!(!verify(
            &root,
            &account_key("bob"),
            &mallory,
            &b.prove(&key)
        ));
    }

    #[test]
    fn an_empty_index_and_one_of_a_single_key() {
        let b = IndexBuilder::default();
        assert_eq!(b.root(), EMPTY);
        let k = account_key("x");
        assert!(verify(&EMPTY, &k, &Records::default(), &b.prove(&k)));
        let b = index(&[(7, "x", None)]);
        let r = Records::of(&[7]);
        let p = b.prove(&k);
        assert!(verify(&b.root(), &k, &r, &p));
        assert!(verify(
            &b.root(),
            &tenant_account_key(None, "x"),
            &r,
            &b.prove(&tenant_account_key(None, "x"))
        ));
        // Another key's absence (at an empty subtree or another key's leaf).
        let y = account_key("y");
        let p = b.prove(&y);
        assert_ne!(p.end, End::Leaf);
        assert!(verify(&b.root(), &y, &Records::default(), &p));
    }

    /// The tree as defined, written as it reads: the root of the keys with a given prefix.
    fn defined(leaves: &[(Hash, Hash)], depth: usize) -> Hash {
        match leaves.len() {
            0 => EMPTY,
            1 => leaf(&leaves[0].0, &leaves[0].1),
            _ => {
                let left: Vec<_> = leaves
                    .iter()
                    .filter(|l| !bit(&l.0, depth))
                    .copied()
                    .collect();
                let right: Vec<_> = leaves
                    .iter()
                    .filter(|l| bit(&l.0, depth))
                    .copied()
                    .collect();
                node(&defined(&left, depth + 1), &defined(&right, depth + 1))
            }
        }
    }

    proptest! {
        #[test]
        fn every_key_proves_its_own_records_only(
            records in proptest::collection::vec((0usize..12, proptest::option::of(0usize..3)), 0..60),
            asked in 0usize..16,
        ) {
            let names: Vec<String> = (0..16).map(|i| format!("account{i}")).collect();
            let tenants = ["acme", "zeta", "omni"];
            let mut b = IndexBuilder::default();
            let mut truth: BTreeMap<Hash, Records> = BTreeMap::new();
            for (seq, (a, t)) in records.iter().enumerate() {
                let seq = seq as u64 + 1;
                b.push(seq, &names[*a], t.map(|t| tenants[t]));
                truth.entry(account_key(&names[*a])).or_default().push(seq);
                truth.entry(tenant_account_key(t.map(|t| tenants[t]), &names[*a])).or_default().push(seq);
            }
            let root = b.root();
            let leaves: Vec<(Hash, Hash)> = truth.iter().map(|(k, r)| (*k, r.digest())).collect();
            prop_assert_eq!(root, defined(&leaves, 0));
            let key = account_key(&names[asked]);
            let ours = truth.get(&key).cloned().unwrap_or_default();
            let p = b.prove(&key);
            prop_assert!(verify(&root, &key, &ours, &p));
            // One record more: refused.
            let mut more = ours.clone();
            more.push(999);
            prop_assert!(!verify(&root, &key, &more, &p));
            // Every other key's proof does not show this key.
            for (other, r) in &truth {
                if other != &key {
                    prop_assert!(!verify(&root, &key, r, &b.prove(other)) || r.count == 0);
                }
            }
        }

        #[test]
        fn any_proof_is_an_answer(siblings in proptest::collection::vec(any::<[u8; 32]>(), 0..300),
                                  other in proptest::option::of((any::<[u8; 32]>(), any::<[u8; 32]>())),
                                  count in 0u64..3) {
            let end = match other {
                Some((key, digest)) => End::Other { key, digest },
                None => End::Empty,
            };
            let mut records = Records::default();
            for seq in 0..count {
                records.push(seq);
            }
            let _ = verify(&[1; HASH_LEN], &[2; HASH_LEN], &records, &Proof { siblings, end });
        }
    }
}
