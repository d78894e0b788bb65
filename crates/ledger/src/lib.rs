//! The audit ledger's chain, pure: records in a canonical binary form, each carrying a sequence
//! number and SHA-256(previous hash | its own canonical encoding); checkpoints that sign a
//! (sequence, hash, time) with Ed25519; and verification that names the first bad record.
//!
//! No I/O, no clock, no keys of its own: times are given, signing goes through
//! [`CheckpointSigner`] (the vault holds the key), and records come from whatever stores them.
//!
//! What verification catches, given the records in storage order and the checkpoints:
//! a modified record (its hash no longer matches), a deleted or inserted record (the sequence
//! breaks, or the next record's previous hash no longer links), records out of order (the same),
//! and a tail truncated back past the latest checkpoint (the checkpoint names a sequence number
//! or hash the chain no longer reaches). A checkpoint with a bad signature is itself a break.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};

pub mod account_index;
pub mod merkle;

/// Length of a record hash.
pub const HASH_LEN: usize = 32;
/// The hash a first record links to.
pub const GENESIS: [u8; HASH_LEN] = [0; HASH_LEN];
/// Largest record body accepted (an event is a few hundred bytes).
pub const MAX_BODY_LEN: usize = 64 * 1024;

const DOMAIN: &[u8] = b"strongroom ledger record v1";
const CHECKPOINT_DOMAIN: &[u8] = b"strongroom ledger checkpoint v1";
/// Checkpoints that also sign their interval's Merkle root ([`Interval`]).
const CHECKPOINT_DOMAIN_V2: &[u8] = b"strongroom ledger checkpoint v2";
/// Checkpoints that sign their interval's account index too ([`Interval::accounts`]).
const CHECKPOINT_DOMAIN_V3: &[u8] = b"strongroom ledger checkpoint v3";

pub type Hash = [u8; HASH_LEN];

/// One ledger record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    /// Unix seconds.
    pub time: i64,
    pub prev_hash: Hash,
    /// The event, canonically encoded by the caller (JSON without whitespace).
    pub body: Vec<u8>,
    pub hash: Hash,
}

/// Where the chain ends: what the next record links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last record's sequence number (0 for an empty ledger; records start at 1).
    pub seq: u64,
    pub hash: Hash,
}

impl Head {
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: GENESIS,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("record body of {0} bytes exceeds {MAX_BODY_LEN}")]
    BodyTooLarge(usize),
}

/// The canonical bytes a record's hash covers.
fn hash_of(prev: &Hash, seq: u64, time: i64, body: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(DOMAIN);
    ctx.update(prev);
    ctx.update(&seq.to_be_bytes());
    ctx.update(&time.to_be_bytes());
    ctx.update(&(body.len() as u64).to_be_bytes());
    ctx.update(body);
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Appends a record after `head`; returns it (the new head is its seq and hash).
pub fn append(head: &Head, time: i64, body: Vec<u8>) -> Result<Record, LedgerError> {
    if body.len() > MAX_BODY_LEN {
        return Err(LedgerError::BodyTooLarge(body.len()));
    }
    let seq = head.seq + 1;
    let hash = hash_of(&head.hash, seq, time, &body);
    Ok(Record {
        seq,
        time,
        prev_hash: head.hash,
        body,
        hash,
    })
}

impl Record {
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash,
        }
    }

    pub fn view(&self) -> RecordView<'_> {
        RecordView {
            seq: self.seq,
            time: self.time,
            prev_hash: &self.prev_hash,
            body: &self.body,
            hash: &self.hash,
        }
    }
}

/// A stored record borrowed from wherever it is being read (verification copies nothing).
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    pub seq: u64,
    pub time: i64,
    pub prev_hash: &'a Hash,
    pub body: &'a [u8],
    pub hash: &'a Hash,
}

/// A signed statement that the chain had reached `seq` with `hash` at `time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: Hash,
    pub time: i64,
    /// Ed25519 signature over the checkpoint's canonical bytes.
    pub signature: Vec<u8>,
    /// The records since the checkpoint before it and their Merkle root, signed with the rest
    /// (checkpoints since 2026-12-06; `None` before).
    pub interval: Option<Interval>,
}

/// The records a checkpoint is the first after: those after `after` (the checkpoint before it,
/// 0 for the chain's start) up to its own, and the root of their hashes' tree
/// ([`merkle`]): one record is shown to be in the chain by its inclusion proof under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub after: u64,
    pub root: Hash,
    /// The root of the interval's account index ([`account_index`]): which records each
    /// account has in it (checkpoints since 2026-12-06's second form; `None` before).
    pub accounts: Option<Hash>,
}

/// Whose a record is, as its indexed fields say: its account and tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owner<'a> {
    pub account: Option<&'a str>,
    pub tenant: Option<&'a str>,
}

/// Signs checkpoints (implemented by the vault, which holds the ledger key).
pub trait CheckpointSigner {
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    fn public_key(&self) -> Vec<u8>;
}

fn checkpoint_message(seq: u64, hash: &Hash, time: i64, interval: Option<&Interval>) -> Vec<u8> {
    let mut m = match interval {
        None => CHECKPOINT_DOMAIN.to_vec(),
        Some(Interval { accounts: None, .. }) => CHECKPOINT_DOMAIN_V2.to_vec(),
        Some(Interval {
            accounts: Some(_), ..
        }) => CHECKPOINT_DOMAIN_V3.to_vec(),
    };
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&time.to_be_bytes());
    if let Some(i) = interval {
        m.extend_from_slice(&i.after.to_be_bytes());
        m.extend_from_slice(&i.root);
        if let Some(accounts) = &i.accounts {
            m.extend_from_slice(accounts);
        }
    }
    m
}

/// A checkpoint of `head` signed at `time`; with `interval`, its records' root signed too.
pub fn checkpoint(
    head: &Head,
    time: i64,
    interval: Option<Interval>,
    signer: &dyn CheckpointSigner,
) -> Checkpoint {
    Checkpoint {
        seq: head.seq,
        hash: head.hash,
        time,
        signature: signer.sign(&checkpoint_message(
            head.seq,
            &head.hash,
            time,
            interval.as_ref(),
        )),
        interval,
    }
}

impl Checkpoint {
    /// Whether the signature is good for `public_key` (Ed25519, 32 bytes).
    pub fn verify_signature(&self, public_key: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, public_key)
            .verify(
                &checkpoint_message(self.seq, &self.hash, self.time, self.interval.as_ref()),
                &self.signature,
            )
            .is_ok()
    }

    /// Whether `proof` shows a record with hash `record_hash` and sequence number `seq` among
    /// the records this checkpoint's interval signs (check the signature apart).
    pub fn includes(&self, seq: u64, record_hash: &Hash, proof: &[Hash]) -> bool {
        let Some(i) = &self.interval else {
            return false;
        };
        seq > i.after
            && seq <= self.seq
            && merkle::verify(
                record_hash,
                seq - i.after - 1,
                self.seq - i.after,
                proof,
                &i.root,
            )
    }
}

/// Where and why verification stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Break {
    #[error("record {seq}: its contents do not match its hash (modified)")]
    Modified { seq: u64 },
    #[error(
        "record {found} follows record {expected_after}: a record is missing, inserted or out of order"
    )]
    Sequence { expected_after: u64, found: u64 },
    #[error(
        "record {seq}: it does not link to the record before it (deleted, inserted or reordered)"
    )]
    Link { seq: u64 },
    #[error("checkpoint at record {seq}: bad signature")]
    CheckpointSignature { seq: u64 },
    #[error("checkpoint at record {seq}: the chain has a different record there (rewritten)")]
    CheckpointMismatch { seq: u64 },
    #[error(
        "checkpoint at record {seq}: the records since the checkpoint before it are not those it signed (rewritten)"
    )]
    IntervalMismatch { seq: u64 },
    #[error(
        "checkpoint at record {seq}: the accounts of the records since the checkpoint before it are not those it signed (rewritten)"
    )]
    AccountsMismatch { seq: u64 },
    #[error(
        "the ledger ends at record {last} but a checkpoint vouches for record {checkpoint}: the tail was truncated"
    )]
    Truncated { last: u64, checkpoint: u64 },
    #[error("records {from} to {to} are missing")]
    Missing { from: u64, to: u64 },
}

impl Break {
    /// The first sequence number that is not trustworthy.
    pub fn first_bad(&self) -> u64 {
        match self {
            Break::Modified { seq } | Break::Link { seq } | Break::CheckpointSignature { seq } => {
                *seq
            }
            Break::CheckpointMismatch { seq }
            | Break::IntervalMismatch { seq }
            | Break::AccountsMismatch { seq } => *seq,
            Break::Sequence { expected_after, .. } => expected_after + 1,
            Break::Truncated { last, .. } => last + 1,
            Break::Missing { from, .. } => *from,
        }
    }
}

/// The chain's head once `r` follows `head`: `r` has the next sequence number, links to
/// `head`'s hash, and its own hash is its bytes'. Else where it breaks.
pub fn link(head: &Head, r: RecordView<'_>) -> Result<Head, Break> {
    if r.seq != head.seq.wrapping_add(1) {
        return Err(Break::Sequence {
            expected_after: head.seq,
            found: r.seq,
        });
    }
    if *r.prev_hash != head.hash {
        return Err(Break::Link { seq: r.seq });
    }
    if hash_of(r.prev_hash, r.seq, r.time, r.body) != *r.hash {
        return Err(Break::Modified { seq: r.seq });
    }
    Ok(Head {
        seq: r.seq,
        hash: *r.hash,
    })
}

/// Checks records fed in storage order, one at a time, against each other and the
/// checkpoints (sorted by seq). Streaming: memory does not grow with the ledger.
pub struct Verifier<'a> {
    head: Head,
    checkpoints: &'a [Checkpoint],
    next_checkpoint: usize,
    public_key: &'a [u8],
    /// The records since the last checkpoint passed (or the start): their tree's root, for
    /// the next checkpoint's interval.
    interval_after: u64,
    interval: merkle::RootBuilder,
    /// Their account index, for the next checkpoint's [`Interval::accounts`].
    accounts: account_index::IndexBuilder,
}

impl<'a> Verifier<'a> {
    pub fn new(checkpoints: &'a [Checkpoint], public_key: &'a [u8]) -> Self {
        Self {
            head: Head::EMPTY,
            checkpoints,
            next_checkpoint: 0,
            public_key,
            interval_after: 0,
            interval: merkle::RootBuilder::default(),
            accounts: account_index::IndexBuilder::default(),
        }
    }

    /// A verifier of the records after `start`, a signed checkpoint (its signature is checked
    /// here: it vouches for the chain up to it), or after the chain's start (`None`);
    /// `checkpoints` are those it will pass, sorted by seq, all after `start`.
    pub fn after(
        start: Option<&Checkpoint>,
        checkpoints: &'a [Checkpoint],
        public_key: &'a [u8],
    ) -> Result<Self, Break> {
        let head = match start {
            None => Head::EMPTY,
            Some(c) if c.verify_signature(public_key) => Head {
                seq: c.seq,
                hash: c.hash,
            },
            Some(c) => return Err(Break::CheckpointSignature { seq: c.seq }),
        };
        debug_assert!(checkpoints.iter().all(|c| c.seq > head.seq));
        Ok(Self {
            head,
            checkpoints,
            next_checkpoint: 0,
            public_key,
            interval_after: head.seq,
            interval: merkle::RootBuilder::default(),
            accounts: account_index::IndexBuilder::default(),
        })
    }

    /// Ends the verification of a part of the chain that must reach record `end`.
    pub fn finish_at(self, end: u64) -> Result<Head, Break> {
        let reached = self.head.seq;
        let head = self.finish()?;
        if reached < end {
            return Err(Break::Missing {
                from: reached + 1,
                to: end,
            });
        }
        Ok(head)
    }

    /// The next record, whose owner is not known (a checkpoint that signs an account index
    /// will not match unless the records name no account).
    pub fn push(&mut self, r: RecordView<'_>) -> Result<(), Break> {
        self.push_owned(r, Owner::default())
    }

    /// The next record and whose it is (its indexed account and tenant).
    pub fn push_owned(&mut self, r: RecordView<'_>, owner: Owner<'_>) -> Result<(), Break> {
        self.head = link(&self.head, r)?;
        self.interval.push(r.hash);
        if let Some(account) = owner.account {
            self.accounts.push(r.seq, account, owner.tenant);
        }
        while let Some(c) = self.checkpoints.get(self.next_checkpoint) {
            if c.seq > r.seq {
                break;
            }
            if !c.verify_signature(self.public_key) {
                return Err(Break::CheckpointSignature { seq: c.seq });
            }
            if c.seq == r.seq && c.hash != *r.hash {
                return Err(Break::CheckpointMismatch { seq: c.seq });
            }
            if c.seq == r.seq {
                if let Some(i) = &c.interval
                    && (i.after != self.interval_after || self.interval.root() != Some(i.root))
                {
                    return Err(Break::IntervalMismatch { seq: c.seq });
                }
                if let Some(accounts) = c.interval.and_then(|i| i.accounts)
                    && self.accounts.root() != accounts
                {
                    return Err(Break::AccountsMismatch { seq: c.seq });
                }
                self.interval_after = c.seq;
                self.interval = merkle::RootBuilder::default();
                self.accounts = account_index::IndexBuilder::default();
            }
            self.next_checkpoint += 1;
        }
        Ok(())
    }

    /// Ends verification: every checkpoint must have been reached.
    pub fn finish(self) -> Result<Head, Break> {
        if let Some(c) = self.checkpoints.get(self.next_checkpoint) {
            if !c.verify_signature(self.public_key) {
                return Err(Break::CheckpointSignature { seq: c.seq });
            }
            return Err(Break::Truncated {
                last: self.head.seq,
                checkpoint: c.seq,
            });
        }
        Ok(self.head)
    }
}

#[cfg(test)]
mod tests;
