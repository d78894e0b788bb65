//! A Merkle tree over the record hashes of one checkpoint's interval (the records after the
//! checkpoint before it), in the shape and with the hashing of RFC 9162 §2.1 (Certificate
//! Transparency v2): a leaf is SHA-256(0x00 ‖ record hash), a node SHA-256(0x01 ‖ left ‖
//! right), and a tree of n leaves splits after the largest power of two below n. A signed
//! checkpoint carries the root ([`crate::Checkpoint::interval`]), so that one record can be shown
//! to be in the chain by its inclusion proof (about log2 n hashes) instead of by every record of
//! its interval: whoever checks learns nothing of the others.
//!
//! Pure: hashes in, hashes out.

use aws_lc_rs::digest;

use crate::{HASH_LEN, Hash};

/// Most hashes in an inclusion proof (a tree of up to 2^64 leaves).
pub const MAX_PROOF: usize = 64;

fn leaf(record_hash: &Hash) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0]);
    ctx.update(record_hash);
    finish(ctx)
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[1]);
    ctx.update(left);
    ctx.update(right);
    finish(ctx)
}

fn finish(ctx: digest::Context) -> Hash {
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The largest power of two below `n` (n ≥ 2): where a tree of n leaves splits.
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root of record hashes fed one at a time, in O(log n) memory: the roots of the perfect
/// subtrees the leaves so far make (their sizes the bits of the count), joined right to left
/// at the end.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    /// (size, root) of each perfect subtree, largest first.
    frontier: Vec<(u64, Hash)>,
    leaves: u64,
}

impl RootBuilder {
    pub fn push(&mut self, record_hash: &Hash) {
        self.leaves += 1;
        let mut size = 1u64;
        let mut hash = leaf(record_hash);
        while let Some(&(s, left)) = self.frontier.last() {
            if s != size {
                break;
            }
            self.frontier.pop();
            hash = node(&left, &hash);
            size *= 2;
        }
        self.frontier.push((size, hash));
    }

    /// How many record hashes were pushed.
    pub fn leaves(&self) -> u64 {
        self.leaves
    }

    /// The root (`None` for no leaves: an empty interval has no tree).
    pub fn root(&self) -> Option<Hash> {
        let mut subtrees = self.frontier.iter().rev();
        let (_, mut root) = *subtrees.next()?;
        for (_, left) in subtrees {
            root = node(left, &root);
        }
        Some(root)
    }
}

/// The root of `record_hashes` (`None` if there are none).
pub fn root(record_hashes: &[Hash]) -> Option<Hash> {
    let mut b = RootBuilder::default();
    for h in record_hashes {
        b.push(h);
    }
    b.root()
}

/// The inclusion proofs of the leaves at `indices` (sorted, distinct, each below the number of
/// leaves), in one pass over the tree: each node is hashed once whatever the number of proofs.
/// Each proof lists the siblings from the leaf up.
pub fn proofs(record_hashes: &[Hash], indices: &[usize]) -> Vec<Vec<Hash>> {
    let mut out = vec![Vec::new(); indices.len()];
    if !record_hashes.is_empty() {
        subtree(record_hashes, indices, &mut out);
    }
    out
}

fn subtree(leaves: &[Hash], wanted: &[usize], paths: &mut [Vec<Hash>]) -> Hash {
    if leaves.len() == 1 {
        return leaf(&leaves[0]);
    }
    let k = split(leaves.len());
    let at = wanted.partition_point(|&i| i < k);
    let right_wanted: Vec<usize> = wanted[at..].iter().map(|i| i - k).collect();
    let (left_paths, right_paths) = paths.split_at_mut(at);
    let left = subtree(&leaves[..k], &wanted[..at], left_paths);
    let right = subtree(&leaves[k..], &right_wanted, right_paths);
    for p in left_paths {
        p.push(right);
    }
    for p in right_paths {
        p.push(left);
    }
    node(&left, &right)
}

/// Whether `proof` shows the record hash `record_hash` at `index` among `size` leaves under
/// `root` (RFC 9162 §2.1.3.2).
pub fn verify(record_hash: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size || proof.len() > MAX_PROOF {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf(record_hash);
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hashes(n: usize) -> Vec<Hash> {
        (0..n).map(|i| [i as u8 ^ 0x5a; HASH_LEN]).collect()
    }

    /// RFC 9162's definition, written as it reads, to check the streaming root against.
    fn defined(d: &[Hash]) -> Hash {
        if d.len() == 1 {
            return leaf(&d[0]);
        }
        let k = split(d.len());
        node(&defined(&d[..k]), &defined(&d[k..]))
    }

    #[test]
    fn the_root_is_the_rfcs_and_every_leaf_proves_in_place_only() {
        assert_eq!(root(&[]), None);
        for n in 1..=40 {
            let d = hashes(n);
            let r = root(&d).unwrap();
            assert_eq!(r, defined(&d), "{n} leaves");
            let all: Vec<usize> = (0..n).collect();
            let proofs = proofs(&d, &all);
            for (i, p) in proofs.iter().enumerate() {
                assert!(verify(&d[i], i as u64, n as u64, p, &r), "{i} of {n}");
                // Elsewhere, past the end, another record, another root: no. (The number of
                // leaves is signed with the root: a proof is only asked about the tree it was
                // made in.)
                assert!(!verify(&d[i], (i as u64 + 1) % n as u64, n as u64, p, &r) || n == 1);
                assert!(!verify(&d[i], n as u64, n as u64, p, &r));
                assert!(!verify(&[0xff; HASH_LEN], i as u64, n as u64, p, &r));
                assert!(!verify(&d[i], i as u64, n as u64, p, &[0; HASH_LEN]));
            }
        }
        assert_eq!(split(2), 1);
        assert_eq!(split(5), 4);
        assert_eq!(split(8), 4);
        assert_eq!(split(9), 8);
    }

    proptest! {
        #[test]
        fn some_proofs_are_the_proofs_of_all(n in 1usize..300, picks in proptest::collection::btree_set(0usize..300, 0..10)) {
            let d = hashes(n);
            let r = root(&d).unwrap();
            let wanted: Vec<usize> = picks.into_iter().filter(|&i| i < n).collect();
            let all = proofs(&d, &(0..n).collect::<Vec<_>>());
            for (i, p) in wanted.iter().zip(proofs(&d, &wanted)) {
                prop_assert_eq!(&p, &all[*i]);
                prop_assert!(verify(&d[*i], *i as u64, n as u64, &p, &r));
                prop_assert!(p.len() <= 9);
            }
        }

        #[test]
        fn any_proof_is_an_answer(index in any::<u64>(), size in any::<u64>(),
                                  proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70)) {
            let _ = verify(&[1; HASH_LEN], index, size, &proof, &[2; HASH_LEN]);
        }
    }
}
