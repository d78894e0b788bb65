//! The audit ledger's storage: its own SQLite file (`<data-dir>/ledger.db`), apart from the
//! catalog. Appends are batched in one transaction that reads the head and chains every record
//! (crates/ledger), so several writers (the server, admin commands) keep one chain. Export
//! filters use indexed copies of the events' fields; those copies are also encoded at the front
//! of each record's hashed body, so changing one breaks the chain like any other edit.
//!
//! Records are appended to `recent`, a table without secondary indexes (a durable append then
//! writes one or two pages, not six or seven: the record of an open for write is awaited by the
//! client), and folded into `records`, the indexed table, in batches ([`LedgerStore::fold`]).
//! The two tables are one chain: every sequence number in `recent` is above those in
//! `records`; verification and export read `records` and then `recent`.
//!
//! Unlike the rest of the catalog this file is spoken to through rusqlite, synchronously, on the
//! caller's thread: the server's ledger writer is one dedicated thread and `audit verify` streams
//! millions of rows; sqlx's per-statement and per-row hop to its worker thread cost more than
//! the work itself (see BENCHMARKS.md). Async callers run these calls on a blocking thread.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ledger::{Break, Checkpoint, Hash, Head, RecordView, Verifier};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter, types::Value};

use crate::{CatalogError, Result, migrate};

/// The indexed fields of an event (copied from its body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerMeta {
    pub kind: String,
    pub account: Option<String>,
    pub tenant: Option<String>,
    /// The source IP address (without port).
    pub source: Option<String>,
    pub session: Option<String>,
    /// The key fingerprint or certificate key id of a session or authentication record.
    pub credential: Option<String>,
    /// The file a file record (or a retention deletion) is about.
    pub file_id: Option<i64>,
    /// The tag of the path a file record names, and of a rename's `to`
    /// (`vault::LedgerBodyKey::path_tag`: a keyed hash, not the path).
    pub path_tag: Option<String>,
    pub to_tag: Option<String>,
}

/// A stored record with its indexed fields.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub seq: u64,
    pub time: i64,
    pub hash: Hash,
    pub meta: LedgerMeta,
    /// The event as sealed with the ledger body key.
    pub sealed_event: Vec<u8>,
}

/// Export filters; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub account: Option<String>,
    pub tenant: Option<String>,
    pub source: Option<String>,
    pub session: Option<String>,
    /// The record's kind (`session`, `file`, `auth`, ...; `Event::kind_name`).
    pub kind: Option<String>,
    /// Records carrying this credential (those from before ledger migration 0004 carry none:
    /// see [`LedgerStore::credential_from`]).
    pub credential: Option<String>,
    /// Records about this file (those from before ledger migration 0005 carry no file id in
    /// their indexed fields: see [`LedgerStore::file_id_from`]).
    pub file_id: Option<i64>,
    /// Records naming a path with this tag, as their path or as a rename's `to` (those from
    /// before ledger migration 0006 carry no tags: see [`LedgerStore::path_tag_from`]).
    pub path_tag: Option<String>,
    pub to_tag: Option<String>,
    /// Records before this sequence number only.
    pub before_seq: Option<u64>,
}

/// What a verification that found nothing wrong saw.
#[derive(Debug, Clone)]
pub struct Verified {
    pub records: u64,
    pub head: Head,
    pub checkpoints: usize,
}

/// What [`LedgerStore::verify_range`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeVerified {
    /// The records verified: `from..=to`.
    pub from: u64,
    pub to: u64,
    /// The signed checkpoint it started from (`None`: the chain's start).
    pub start_checkpoint: Option<u64>,
    /// The signed checkpoint that vouches for its end (`None`: none signed after it yet).
    pub end_checkpoint: Option<u64>,
}

/// The ledger database; cheap to clone (one connection, used by one caller at a time).
#[derive(Clone)]
pub struct LedgerStore {
    conn: Arc<Mutex<Connection>>,
}

/// First byte of a stored body: the layout of the indexed fields in front of the sealed event.
/// Layout 1 (before ledger migration 0004): kind, account, tenant, source, session; layout 2
/// adds the credential; layout 3 (ledger migration 0005) the file id, in decimal; layout 4
/// (ledger migration 0006) the path tag and the `to` tag.
const BODY_FORMAT: u8 = 4;
/// Indexed fields of a body (layout 1 has the first five, layout 2 the first six, layout 3
/// the first seven).
const FIELDS: usize = 9;

/// The stored body: format byte, the indexed fields (each absent, or a 16-bit length and the
/// bytes), then the sealed event. The chain's hash covers all of it.
fn encode_body(meta: &LedgerMeta, sealed_event: &[u8]) -> Result<Vec<u8>> {
    let file_id = meta.file_id.map(|id| id.to_string());
    let fields = [
        Some(meta.kind.as_str()),
        meta.account.as_deref(),
        meta.tenant.as_deref(),
        meta.source.as_deref(),
        meta.session.as_deref(),
        meta.credential.as_deref(),
        file_id.as_deref(),
        meta.path_tag.as_deref(),
        meta.to_tag.as_deref(),
    ];
    let mut out = Vec::with_capacity(1 + FIELDS * 3 + 64 + sealed_event.len());
    out.push(BODY_FORMAT);
    for f in fields {
        match f {
            None => out.push(0),
            Some(v) => {
                let len = u16::try_from(v.len()).map_err(|_| CatalogError::Invalid {
                    what: "ledger field",
                    why: format!("{} bytes is too long", v.len()),
                })?;
                out.push(1);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
    out.extend_from_slice(sealed_event);
    Ok(out)
}

/// The indexed fields encoded in a stored body, and where the sealed event starts.
fn decode_body(body: &[u8]) -> Option<([Option<&[u8]>; FIELDS], usize)> {
    let (&format, mut rest) = body.split_first()?;
    let present = match format {
        1 => 5,
        2 => 6,
        3 => 7,
        BODY_FORMAT => FIELDS,
        _ => return None,
    };
    let mut fields = [None; FIELDS];
    for f in &mut fields[..present] {
        let (&present, after) = rest.split_first()?;
        rest = after;
        match present {
            0 => {}
            1 => {
                let (len, after) = rest.split_first_chunk::<2>()?;
                let len = usize::from(u16::from_be_bytes(*len));
                if after.len() < len {
                    return None;
                }
                let (v, after) = after.split_at(len);
                *f = Some(v);
                rest = after;
            }
            _ => return None,
        }
    }
    Some((fields, body.len() - rest.len()))
}

/// Columns of `records` read by verification and export, in this order.
const RECORD_COLUMNS: &str = "seq, time, prev_hash, hash, kind, account, tenant, source, session, \
     credential, file_id, path_tag, to_tag, body";

/// One row of [`RECORD_COLUMNS`], borrowed; `None` if a column has the wrong type or size
/// (tampering).
struct RowView<'r> {
    record: RecordView<'r>,
    columns: [Option<&'r [u8]>; FIELDS],
    /// Where the sealed event starts in the body, if the indexed columns match the body (if
    /// not, that is tampering too).
    event_at: Option<usize>,
}

fn row_view<'r>(row: &'r Row<'_>) -> Option<RowView<'r>> {
    let blob = |i| row.get_ref(i).ok()?.as_blob().ok();
    let hash = |i| -> Option<&'r Hash> { blob(i)?.try_into().ok() };
    let text = |i| -> Option<Option<&'r [u8]>> {
        let v = row.get_ref(i).ok()?;
        match v {
            rusqlite::types::ValueRef::Null => Some(None),
            rusqlite::types::ValueRef::Text(t) => Some(Some(t)),
            _ => None,
        }
    };
    let body = blob(13)?;
    let columns = [
        text(4)?,
        text(5)?,
        text(6)?,
        text(7)?,
        text(8)?,
        text(9)?,
        text(10)?,
        text(11)?,
        text(12)?,
    ];
    let event_at = decode_body(body).and_then(|(fields, at)| (fields == columns).then_some(at));
    Some(RowView {
        record: RecordView {
            seq: u64::try_from(row.get_ref(0).ok()?.as_i64().ok()?).ok()?,
            time: row.get_ref(1).ok()?.as_i64().ok()?,
            prev_hash: hash(2)?,
            body,
            hash: hash(3)?,
        },
        columns,
        event_at,
    })
}

/// The sealed event inside a record's body as the chain holds it (after its indexed fields),
/// or `None` if the body does not read as a record's: what a record key opens
/// (`vault::open_disclosed`), for whoever checks an evidence file without the ledger.
pub fn sealed_event_of(body: &[u8]) -> Option<&[u8]> {
    decode_body(body).map(|(_, at)| &body[at..])
}

/// Whose a record is as its body's indexed fields say: for whoever checks an evidence file's
/// account index and what it withholds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordOwner<'a> {
    pub account: Option<&'a str>,
    pub tenant: Option<&'a str>,
    /// The source address.
    pub source: Option<&'a str>,
    pub session: Option<&'a str>,
}

/// A record's [`RecordOwner`] from its body, or `None` if the body does not read as a record's.
pub fn owner_of(body: &[u8]) -> Option<RecordOwner<'_>> {
    fn text(f: Option<&[u8]>) -> Option<Option<&str>> {
        match f {
            None => Some(None),
            Some(b) => std::str::from_utf8(b).ok().map(Some),
        }
    }
    let (fields, _) = decode_body(body)?;
    Some(RecordOwner {
        account: text(fields[1])?,
        tenant: text(fields[2])?,
        source: text(fields[3])?,
        session: text(fields[4])?,
    })
}

fn lossy(v: Option<&[u8]>) -> Option<String> {
    v.map(|b| String::from_utf8_lossy(b).into_owned())
}

impl LedgerStore {
    /// Opens (creating 0600 if missing) the ledger database at `path` and applies migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let open_err = |source: rusqlite::Error| CatalogError::Open {
            path: path.display().to_string(),
            source: source.into(),
        };
        crate::create_private(path);
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // Durable before acknowledged, as the catalog: WAL, every commit reaches the disk.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        crate::restrict_permissions(path);
        migrate::run_ledger(&mut conn, migrate::LEDGER)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Opens the ledger database at `path` to read it only (`audit verify`): not created if
    /// missing, not migrated, nothing of its files changed, so that verifying a copy kept as
    /// evidence leaves its bytes as they were (`migrate::open_read_only`).
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let conn = migrate::open_read_only(path, "the ledger", migrate::LEDGER)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Chains and stores a batch of (time, indexed fields, sealed event) in one durable
    /// transaction, in `recent` (see [`LedgerStore::fold`]). Returns the new head.
    pub fn append(&self, batch: &[(i64, LedgerMeta, Vec<u8>)]) -> Result<Head> {
        let mut conn = self.lock();
        // IMMEDIATE: take the write lock before reading the head, so that two writers (the
        // server and an admin command) never chain onto the same record.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let head = append_in(&tx, batch.iter().map(|(t, m, s)| (*t, m, &s[..])))?;
        tx.commit()?;
        Ok(head)
    }

    /// Appends, in one durable transaction, those of `records` (left in the catalog's outbox
    /// by a crash) that the ledger does not hold yet: a record already appended is one whose
    /// sealed event is stored byte for byte, with the same time (an appended record keeps the
    /// time it was made with). Returns the appended records' sequence numbers, with each one's
    /// index in `records`.
    pub fn append_missing(&self, records: &[crate::OutboxRecord]) -> Result<Vec<(u64, usize)>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // The sealed events stored at the seconds the records were made (the time index).
        let mut held = std::collections::HashSet::new();
        let times: std::collections::BTreeSet<i64> = records.iter().map(|r| r.time).collect();
        {
            let mut stmt = tx.prepare(
                "SELECT body FROM records WHERE time = ?1 UNION ALL SELECT body FROM recent WHERE time = ?1",
            )?;
            for time in times {
                let mut rows = stmt.query([time])?;
                while let Some(row) = rows.next()? {
                    if let Ok(body) = row.get_ref(0)?.as_blob()
                        && let Some((_, at)) = decode_body(body)
                    {
                        held.insert(body[at..].to_vec());
                    }
                }
            }
        }
        let missing: Vec<usize> = (0..records.len())
            .filter(|&i| !held.contains(&records[i].sealed_event))
            .collect();
        let head = append_in(
            &tx,
            missing.iter().map(|&i| {
                let r = &records[i];
                (r.time, &r.meta, &r.sealed_event[..])
            }),
        )?;
        tx.commit()?;
        let first = head.seq + 1 - missing.len() as u64;
        Ok((first..).zip(missing).collect())
    }

    /// The first sequence number whose record can carry a credential (ledger migration 0004):
    /// records before it were written without that field.
    pub fn credential_from(&self) -> Result<u64> {
        self.first_seq_of("credential_from")
    }

    /// The first sequence number whose record can carry a file id in its indexed fields
    /// (ledger migration 0005): records before it were written without that field.
    pub fn file_id_from(&self) -> Result<u64> {
        self.first_seq_of("file_id_from")
    }

    /// The first sequence number whose record can carry path tags in its indexed fields
    /// (ledger migration 0006): records before it were written without them.
    pub fn path_tag_from(&self) -> Result<u64> {
        self.first_seq_of("path_tag_from")
    }

    /// Every source address the ledger's records carry, each once, in no particular order
    /// (read from the source index: for selecting a wide network's addresses).
    pub fn sources(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT DISTINCT source FROM records WHERE source IS NOT NULL
             UNION SELECT DISTINCT source FROM recent WHERE source IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A sequence number a migration recorded in `ledger_facts` (where an indexed field begins).
    fn first_seq_of(&self, fact: &str) -> Result<u64> {
        let v: i64 = self.lock().query_row(
            "SELECT value FROM ledger_facts WHERE name = ?",
            [fact],
            |r| r.get(0),
        )?;
        Ok(v.max(1) as u64)
    }

    /// Moves every record from `recent` into `records` (the indexed table) in one durable
    /// transaction; returns how many. The server's ledger writer does this once a second, at
    /// checkpoints, at start and at shutdown; an admin command after its own append.
    pub fn fold(&self) -> Result<usize> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let moved = tx.execute(
            &format!(
                "INSERT INTO records ({RECORD_COLUMNS}) SELECT {RECORD_COLUMNS} FROM recent ORDER BY seq"
            ),
            [],
        )?;
        tx.execute("DELETE FROM recent", [])?;
        tx.commit()?;
        Ok(moved)
    }

    /// The wrapped body key: (master key id, wrapped), if one was made.
    pub fn body_key(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .lock()
            .query_row(
                "SELECT master_key_id, wrapped FROM body_key WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Stores the wrapped body key if there is none yet, and returns the one stored: another
    /// process's (a server starting beside a master key rotation) if it stored one first.
    pub fn add_body_key(&self, master_key_id: &[u8], wrapped: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let db = self.lock();
        db.execute(
            "INSERT INTO body_key (id, master_key_id, wrapped) VALUES (1, ?, ?)
             ON CONFLICT (id) DO NOTHING",
            (master_key_id, wrapped),
        )?;
        Ok(db.query_row(
            "SELECT master_key_id, wrapped FROM body_key WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Replaces the body key wrapped under master key `from` with its re-wrap under `to`
    /// (master rotation); false, changing nothing, if it is no longer wrapped under `from`.
    pub fn rewrap_body_key(&self, from: &[u8], to: &[u8], wrapped: &[u8]) -> Result<bool> {
        let changed = self.lock().execute(
            "UPDATE body_key SET master_key_id = ?, wrapped = ? WHERE id = 1 AND master_key_id = ?",
            (to, wrapped, from),
        )?;
        Ok(changed == 1)
    }

    pub fn head(&self) -> Result<Head> {
        head_of(&self.lock())
    }

    pub fn add_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        insert_checkpoint(&self.lock(), c)
    }

    /// Signs a checkpoint of the chain's head at `time` and stores it, in one transaction (no
    /// record can be appended between what it reads and what it signs): the head, and its
    /// interval, the records since the last checkpoint and the Merkle root of their hashes.
    /// `None` when no record has been appended since the last checkpoint.
    pub fn sign_checkpoint(
        &self,
        time: i64,
        signer: &dyn ledger::CheckpointSigner,
    ) -> Result<Option<Checkpoint>> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let head = head_of(&tx)?;
        let after = last_checkpoint_of(&tx)?;
        if head.seq <= after {
            return Ok(None);
        }
        let mut root = ledger::merkle::RootBuilder::default();
        let mut accounts = ledger::account_index::IndexBuilder::default();
        for_each_owned(&tx, after, head.seq, |seq, h, owner| {
            root.push(&h);
            if let Some(account) = owner.account {
                accounts.push(seq, account, owner.tenant);
            }
        })?;
        let (Some(r), true) = (root.root(), root.leaves() == head.seq - after) else {
            return Err(CatalogError::Invalid {
                what: "ledger",
                why: format!(
                    "records {}-{} are not all there (tampering?): run audit verify",
                    after + 1,
                    head.seq
                ),
            });
        };
        let c = ledger::checkpoint(
            &head,
            time,
            Some(ledger::Interval {
                after,
                root: r,
                accounts: Some(accounts.root()),
            }),
            signer,
        );
        insert_checkpoint(&tx, &c)?;
        tx.commit()?;
        Ok(Some(c))
    }

    /// The account index of the records with seq in `after+1..=to` (`ledger::account_index`),
    /// keeping the sequence numbers of the records of `keep`'s keys: to prove which records an
    /// account has in a checkpoint's interval.
    pub fn account_index(
        &self,
        after: u64,
        to: u64,
        keep: impl IntoIterator<Item = Hash>,
    ) -> Result<ledger::account_index::IndexBuilder> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut index = ledger::account_index::IndexBuilder::keeping(keep);
        for_each_owned(&tx, after, to, |seq, _, owner| {
            if let Some(account) = owner.account {
                index.push(seq, account, owner.tenant);
            }
        })?;
        Ok(index)
    }

    /// The hashes of the records with seq in `after+1..=to`, in order: the leaves of an
    /// interval's tree, to prove records of it (`ledger::merkle::proofs`).
    pub fn record_hashes(&self, after: u64, to: u64) -> Result<Vec<Hash>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut out = Vec::new();
        for_each_hash(&tx, after, to, |h| out.push(h))?;
        Ok(out)
    }

    /// The sequence number the last signed checkpoint vouches for (0: none yet), without
    /// reading every checkpoint.
    pub fn last_checkpoint(&self) -> Result<u64> {
        last_checkpoint_of(&self.lock())
    }

    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        checkpoints_of(&self.lock())
    }

    /// The last signed checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        Ok(checkpoints_in(&self.lock(), "ORDER BY seq DESC LIMIT 1", [])?.pop())
    }

    /// The signed checkpoint at record `seq`, if there is one.
    pub fn checkpoint_at(&self, seq: u64) -> Result<Option<Checkpoint>> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        Ok(checkpoints_in(&self.lock(), "WHERE seq = ?", [seq])?.pop())
    }

    /// Checks the whole chain, every record's indexed fields against its body, and every
    /// checkpoint (signed by `public_key`). Streams the records in storage order (by row id,
    /// which is the sequence number as stored, so that a record renumbered or swapped shows),
    /// `records` and then `recent`; nothing is copied per record. `Ok(Err(_))` names the first
    /// bad record.
    pub fn verify(&self, public_key: &[u8]) -> Result<std::result::Result<Verified, Break>> {
        self.verify_telling(public_key, u64::MAX, |_, _| {})
    }

    /// [`LedgerStore::verify`], telling `progress` every `every` records how many have been
    /// checked and how many the ledger holds (its head when the check began).
    pub fn verify_telling(
        &self,
        public_key: &[u8],
        every: u64,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<std::result::Result<Verified, Break>> {
        let mut conn = self.lock();
        // One snapshot for both tables and the checkpoints: a fold by a running server between
        // the two reads would otherwise hide the records it moved.
        let conn = conn.transaction()?;
        let checkpoints = checkpoints_of(&conn)?;
        let mut v = Verifier::new(&checkpoints, public_key);
        let total = head_of(&conn)?.seq;
        let mut told = |n| progress(n, total);
        let records = match push_records(&conn, &mut v, None, u64::MAX, every, &mut told)? {
            Ok(n) => n,
            Err(b) => return Ok(Err(b)),
        };
        Ok(v.finish().map(|head| Verified {
            records,
            head,
            checkpoints: checkpoints.len(),
        }))
    }

    /// Checks the part of the chain that holds records `first..=last`: from the last signed
    /// checkpoint before `first` (its signature vouches for everything up to it) to the first
    /// one at or after `last` (or to `last` itself when none is signed yet), every record's
    /// link, hash and indexed fields on the way, and the checkpoints between. Reads only that
    /// part, by sequence number, in one snapshot.
    pub fn verify_range(
        &self,
        public_key: &[u8],
        first: u64,
        last: u64,
    ) -> Result<std::result::Result<RangeVerified, Break>> {
        let mut conn = self.lock();
        let conn = conn.transaction()?;
        // Sorted by seq: the last before `first`, the first at or after `last`, those between.
        let checkpoints = checkpoints_of(&conn)?;
        let after_start = checkpoints.partition_point(|c| c.seq < first);
        let start = after_start.checked_sub(1).map(|i| &checkpoints[i]);
        let end_at = checkpoints.partition_point(|c| c.seq < last);
        let end_checkpoint = checkpoints.get(end_at);
        let from = start.map_or(0, |c| c.seq);
        let end = end_checkpoint.map_or(last, |c| c.seq);
        let within = &checkpoints[after_start..checkpoints.len().min(end_at + 1)];
        let mut v = match Verifier::after(start, within, public_key) {
            Ok(v) => v,
            Err(b) => return Ok(Err(b)),
        };
        if let Err(b) = push_records(&conn, &mut v, Some(from), end, u64::MAX, &mut |_| {})? {
            return Ok(Err(b));
        }
        Ok(v.finish_at(end).map(|_| RangeVerified {
            from: from + 1,
            to: end,
            start_checkpoint: start.map(|c| c.seq),
            end_checkpoint: end_checkpoint.map(|c| c.seq),
        }))
    }

    /// The stored records with seq in `after+1..=to`, as the chain holds them (their bodies
    /// sealed), in storage order, one snapshot: the part of the chain an evidence file carries.
    /// A row whose columns do not read as a record is an error (tampering; `audit verify`
    /// names it).
    pub fn chain_part(
        &self,
        after: u64,
        to: u64,
        mut each: impl FnMut(ledger::Record),
    ) -> Result<()> {
        let mut conn = self.lock();
        let conn = conn.transaction()?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        for_each_row_between(&conn, RECORD_COLUMNS, after, to, |row| {
            let Some(view) = row_view(row) else {
                let seq = row.get_ref(0)?.as_i64().unwrap_or(0);
                return Err(CatalogError::Invalid {
                    what: "ledger record",
                    why: format!("record {seq} does not read as a record (tampering?)"),
                });
            };
            let r = view.record;
            each(ledger::Record {
                seq: r.seq,
                time: r.time,
                prev_hash: *r.prev_hash,
                body: r.body.to_vec(),
                hash: *r.hash,
            });
            Ok(true)
        })
    }

    /// Up to `limit` records matching `f` with seq > `after`, in order. A record whose indexed
    /// fields disagree with its body is an error (tampering; `audit verify` names it).
    ///
    /// Only the filters given appear in the query (fixed SQL fragments, every value bound), so
    /// that SQLite can use the (account | tenant | source | session, time) indexes; a
    /// `(? IS NULL OR column = ?)` form would force a scan of the whole ledger.
    pub fn export(&self, f: &LedgerFilter, after: u64, limit: u32) -> Result<Vec<LedgerEntry>> {
        let mut conn = self.lock();
        // One snapshot for both tables (see `verify`).
        let conn = conn.transaction()?;
        let mut out = export_from(&conn, "records", f, after, limit)?;
        // `recent` holds the tail of the chain (every seq above those in `records`).
        if let Some(left) = limit.checked_sub(out.len() as u32).filter(|&l| l > 0) {
            let after = out.last().map_or(after, |e| e.seq);
            out.extend(export_from(&conn, "recent", f, after, left)?);
        }
        Ok(out)
    }
}

/// Feeds `v` the records with seq in `after + 1..=to` (every record stored, whatever its seq,
/// without `after`), in storage order (by row id, which is the sequence number as stored, so
/// that a record renumbered or swapped shows): `records`, then `recent`; nothing is copied per
/// record. A record whose indexed fields disagree with its body is a break there. Returns how
/// many records it fed.
/// Feeds `v` the records `after+1..=to`, telling `progress` every `every` of them.
fn push_records(
    conn: &Connection,
    v: &mut Verifier<'_>,
    after: Option<u64>,
    to: u64,
    every: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<std::result::Result<u64, Break>> {
    let after = after.map_or(i64::MIN, |a| a as i64);
    let mut fed = 0u64;
    let mut broke = None;
    for_each_row_between(conn, RECORD_COLUMNS, after, to, |row| {
        let Some(view) = row_view(row) else {
            let seq = row.get_ref(0)?.as_i64().unwrap_or(0).max(0) as u64;
            broke = Some(Break::Modified { seq });
            return Ok(false);
        };
        // The chain first (a record out of place is named as such), then its columns (the
        // account index is checked against them, and they against the body, below).
        fn text(c: Option<&[u8]>) -> Option<&str> {
            c.and_then(|b| std::str::from_utf8(b).ok())
        }
        let owner = ledger::Owner {
            account: text(view.columns[1]),
            tenant: text(view.columns[2]),
        };
        if let Err(b) = v.push_owned(view.record, owner) {
            broke = Some(b);
            return Ok(false);
        }
        if view.event_at.is_none() {
            broke = Some(Break::Modified {
                seq: view.record.seq,
            });
            return Ok(false);
        }
        fed += 1;
        if fed.is_multiple_of(every) {
            progress(fed);
        }
        Ok(true)
    })?;
    Ok(broke.map_or(Ok(fed), Err))
}

/// Calls `each` with every stored row (its `columns`) whose seq, the row id, is in
/// `after+1..=to`: `records`, then `recent`, in storage order, until `each` says to stop.
fn for_each_row_between(
    conn: &Connection,
    columns: &str,
    after: i64,
    to: u64,
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<bool>,
) -> Result<()> {
    let to = i64::try_from(to).unwrap_or(i64::MAX);
    for table in ["records", "recent"] {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {columns} FROM {table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid"
        ))?;
        let mut rows = stmt.query((after, to))?;
        while let Some(row) = rows.next()? {
            if !each(row)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// [`LedgerStore::export`] from one of the two tables.
fn export_from(
    conn: &Connection,
    table: &str,
    f: &LedgerFilter,
    after: u64,
    limit: u32,
) -> Result<Vec<LedgerEntry>> {
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM {table} WHERE seq > ?");
    let mut values = vec![Value::Integer(after as i64)];
    let equal = [
        (" AND account = ?", &f.account),
        (" AND tenant = ?", &f.tenant),
        (" AND source = ?", &f.source),
        (" AND session = ?", &f.session),
        (" AND kind = ?", &f.kind),
        (" AND credential = ?", &f.credential),
        (" AND path_tag = ?", &f.path_tag),
        (" AND to_tag = ?", &f.to_tag),
    ];
    for (clause, value) in equal {
        if let Some(v) = value {
            sql.push_str(clause);
            values.push(Value::Text(v.clone()));
        }
    }
    if let Some(id) = f.file_id {
        sql.push_str(" AND file_id = ?");
        values.push(Value::Text(id.to_string()));
    }
    if let Some(seq) = f.before_seq {
        sql.push_str(" AND seq < ?");
        values.push(Value::Integer(seq as i64));
    }
    if let Some(t) = f.since {
        sql.push_str(" AND time >= ?");
        values.push(Value::Integer(t));
    }
    if let Some(t) = f.until {
        sql.push_str(" AND time < ?");
        values.push(Value::Integer(t));
    }
    sql.push_str(" ORDER BY seq LIMIT +?");
    values.push(Value::Integer(i64::from(limit)));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let view = row_view(row);
        let Some((v, event_at)) = view.and_then(|v| v.event_at.map(|at| (v, at))) else {
            let seq = row.get_ref(0)?.as_i64().unwrap_or(0);
            return Err(CatalogError::Invalid {
                what: "ledger record",
                why: format!(
                    "record {seq} was modified (its stored fields do not match its body); run `strongroom audit verify`"
                ),
            });
        };
        let [
            kind,
            account,
            tenant,
            source,
            session,
            credential,
            file_id,
            path_tag,
            to_tag,
        ] = v.columns;
        out.push(LedgerEntry {
            seq: v.record.seq,
            time: v.record.time,
            hash: *v.record.hash,
            meta: LedgerMeta {
                kind: lossy(kind).unwrap_or_default(),
                account: lossy(account),
                tenant: lossy(tenant),
                source: lossy(source),
                session: lossy(session),
                credential: lossy(credential),
                file_id: lossy(file_id).and_then(|id| id.parse().ok()),
                path_tag: lossy(path_tag),
                to_tag: lossy(to_tag),
            },
            sealed_event: v.record.body[event_at..].to_vec(),
        });
    }
    Ok(out)
}

/// Chains `records` onto the head inside `tx`; returns the new head.
fn append_in<'a>(
    tx: &rusqlite::Transaction<'_>,
    records: impl Iterator<Item = (i64, &'a LedgerMeta, &'a [u8])>,
) -> Result<Head> {
    let mut head = head_of(tx)?;
    // Cached: the writer appends many small batches; parsing was a tenth of its work.
    let mut insert = tx.prepare_cached(
        "INSERT INTO recent (seq, time, prev_hash, hash, kind, account, tenant, source, session,
                             credential, file_id, path_tag, to_tag, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?;
    for (time, meta, sealed) in records {
        let body = encode_body(meta, sealed)?;
        let r = ledger::append(&head, time, body).map_err(|e| CatalogError::Invalid {
            what: "ledger record",
            why: e.to_string(),
        })?;
        insert.execute(rusqlite::params![
            r.seq as i64,
            r.time,
            &r.prev_hash[..],
            &r.hash[..],
            meta.kind,
            meta.account,
            meta.tenant,
            meta.source,
            meta.session,
            meta.credential,
            meta.file_id.map(|id| id.to_string()),
            meta.path_tag,
            meta.to_tag,
            r.body,
        ])?;
        head = r.head();
    }
    Ok(head)
}

/// The last record: the tail of `recent`, or of `records` if `recent` is empty.
fn head_of(conn: &Connection) -> Result<Head> {
    let mut head: Option<(i64, Vec<u8>)> = None;
    for table in ["recent", "records"] {
        head = conn
            .prepare_cached(&format!(
                "SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1"
            ))?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if head.is_some() {
            break;
        }
    }
    Ok(match head {
        Some((seq, hash)) => Head {
            seq: seq as u64,
            hash: hash_from(hash)?,
        },
        None => Head::EMPTY,
    })
}

/// The sequence number the last signed checkpoint vouches for (0: none yet).
fn last_checkpoint_of(conn: &Connection) -> Result<u64> {
    let seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM checkpoints", [], |r| {
        r.get(0)
    })?;
    Ok(seq.max(0) as u64)
}

fn insert_checkpoint(conn: &Connection, c: &Checkpoint) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO checkpoints (seq, hash, time, signature, after_seq, root, \
         accounts) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            c.seq as i64,
            &c.hash[..],
            c.time,
            &c.signature,
            c.interval.map(|i| i.after as i64),
            c.interval.map(|i| i.root.to_vec()),
            c.interval.and_then(|i| i.accounts).map(|a| a.to_vec()),
        ),
    )?;
    Ok(())
}

/// Calls `each` with the seq, hash and owner (its indexed account and tenant) of every record
/// with seq in `after+1..=to`, in storage order.
fn for_each_owned(
    conn: &Connection,
    after: u64,
    to: u64,
    mut each: impl FnMut(u64, Hash, ledger::Owner<'_>),
) -> Result<()> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    for_each_row_between(conn, "seq, hash, account, tenant", after, to, |row| {
        let seq = row.get::<_, i64>(0)?.max(0) as u64;
        let account = row.get_ref(2)?.as_str_or_null().ok().flatten();
        let tenant = row.get_ref(3)?.as_str_or_null().ok().flatten();
        each(
            seq,
            hash_from(row.get(1)?)?,
            ledger::Owner { account, tenant },
        );
        Ok(true)
    })
}

/// Calls `each` with the hash of every record with seq in `after+1..=to`, in storage order.
fn for_each_hash(conn: &Connection, after: u64, to: u64, mut each: impl FnMut(Hash)) -> Result<()> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    for_each_row_between(conn, "hash", after, to, |row| {
        each(hash_from(row.get(0)?)?);
        Ok(true)
    })
}

fn checkpoints_of(conn: &Connection) -> Result<Vec<Checkpoint>> {
    checkpoints_in(conn, "ORDER BY seq", [])
}

/// The checkpoints `clause` (a WHERE or ORDER BY clause, a constant; its values bound from
/// `params`) selects.
fn checkpoints_in(
    conn: &Connection,
    clause: &'static str,
    params: impl rusqlite::Params,
) -> Result<Vec<Checkpoint>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT seq, hash, time, signature, after_seq, root, accounts FROM checkpoints {clause}"
    ))?;
    let rows = stmt.query_map(params, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<Vec<u8>>>(5)?,
            r.get::<_, Option<Vec<u8>>>(6)?,
        ))
    })?;
    rows.map(|row| {
        let (seq, hash, time, signature, after, root, accounts) = row?;
        let interval = match (after, root) {
            (Some(after), Some(root)) => Some(ledger::Interval {
                after: after.max(0) as u64,
                root: hash_from(root)?,
                accounts: accounts.map(hash_from).transpose()?,
            }),
            _ => None,
        };
        Ok(Checkpoint {
            seq: seq as u64,
            hash: hash_from(hash)?,
            time,
            signature,
            interval,
        })
    })
    .collect()
}

fn hash_from(v: Vec<u8>) -> Result<Hash> {
    v.try_into().map_err(|_| CatalogError::Invalid {
        what: "ledger hash",
        why: "not 32 bytes".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verification tells its progress every so many records, in both tables, against the
    /// head it began with.
    #[test]
    fn a_verification_tells_its_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
        let batch = |from: i64| -> Vec<_> {
            (from..from + 3)
                .map(|t| (t, meta(), b"x".to_vec()))
                .collect()
        };
        store.append(&batch(1)).unwrap();
        store.fold().unwrap();
        store.append(&batch(4)).unwrap();
        store.append(&batch(7)).unwrap();
        let mut told = Vec::new();
        let v = store
            .verify_telling(b"", 2, |n, total| told.push((n, total)))
            .unwrap()
            .unwrap();
        assert_eq!(v.records, 9);
        assert_eq!(told, [(2, 9), (4, 9), (6, 9), (8, 9)]);
    }

    fn meta() -> LedgerMeta {
        LedgerMeta {
            kind: "file".into(),
            account: Some("alice".into()),
            tenant: None,
            source: Some("127.0.0.1".into()),
            session: Some("7".into()),
            credential: Some("SHA256:abc".into()),
            file_id: Some(42),
            path_tag: Some("aa".repeat(16)),
            to_tag: None,
        }
    }

    #[test]
    fn body_round_trips_its_indexed_fields() {
        let body = encode_body(&meta(), b"sealed").unwrap();
        let (fields, at) = decode_body(&body).unwrap();
        assert_eq!(
            fields,
            [
                Some(&b"file"[..]),
                Some(&b"alice"[..]),
                None,
                Some(&b"127.0.0.1"[..]),
                Some(&b"7"[..]),
                Some(&b"SHA256:abc"[..]),
                Some(&b"42"[..]),
                Some("aa".repeat(16).as_bytes()),
                None
            ]
        );
        assert_eq!(&body[at..], b"sealed");
        for cut in 0..at {
            assert!(decode_body(&body[..cut]).is_none(), "cut at {cut}");
        }
        // Layout 1 (records from before ledger migration 0004): five fields, no credential.
        let mut old = vec![1u8];
        for f in [&b"file"[..], b"alice"] {
            old.push(1);
            old.extend_from_slice(&(f.len() as u16).to_be_bytes());
            old.extend_from_slice(f);
        }
        old.extend_from_slice(&[0, 0, 0]);
        old.extend_from_slice(b"sealed");
        let (fields, at) = decode_body(&old).unwrap();
        assert_eq!(
            fields,
            [
                Some(&b"file"[..]),
                Some(&b"alice"[..]),
                None,
                None,
                None,
                None,
                None,
                None,
                None
            ]
        );
        assert_eq!(&old[at..], b"sealed");
        // Layout 2 (before ledger migration 0005): six fields, no file id.
        let mut two = vec![2u8];
        for f in [&b"file"[..], b"alice"] {
            two.push(1);
            two.extend_from_slice(&(f.len() as u16).to_be_bytes());
            two.extend_from_slice(f);
        }
        two.extend_from_slice(&[0, 0, 0, 0]);
        two.extend_from_slice(b"sealed");
        let (fields, at) = decode_body(&two).unwrap();
        assert_eq!(fields[..2], [Some(&b"file"[..]), Some(&b"alice"[..])]);
        assert!(fields[2..].iter().all(Option::is_none));
        assert_eq!(&two[at..], b"sealed");
        // Layout 3 (before ledger migration 0006): seven fields, no path tags.
        let mut three = vec![3u8, 1, 0, 4];
        three.extend_from_slice(b"file");
        three.extend_from_slice(&[0, 0, 0, 0, 0]);
        three.extend_from_slice(&[1, 0, 2]);
        three.extend_from_slice(b"42");
        three.extend_from_slice(b"sealed");
        let (fields, at) = decode_body(&three).unwrap();
        assert_eq!(fields[0], Some(&b"file"[..]));
        assert_eq!(fields[6], Some(&b"42"[..]));
        assert_eq!(fields[7..], [None, None]);
        assert_eq!(&three[at..], b"sealed");
    }

    /// A ledger written before migration 0006 (layout-3 bodies, no tag columns) verifies and
    /// exports after it; new records carry their path tags, found through their indexes
    /// (which the export's queries use) as a path or as a rename's `to`; `path_tag_from` says
    /// where that begins; a tag written into an old record's column is caught.
    #[test]
    fn a_ledger_from_before_path_tags_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate::run_ledger(&mut conn, &migrate::LEDGER[..5]).unwrap();
            // Layout 3: kind "file", file id 42, no tags.
            let mut body = vec![3u8, 1, 0, 4];
            body.extend_from_slice(b"file");
            body.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 2]);
            body.extend_from_slice(b"42");
            body.extend_from_slice(b"sealed");
            let r = ledger::append(&Head::EMPTY, 0, body).unwrap();
            conn.execute(
                "INSERT INTO records (seq, time, prev_hash, hash, kind, file_id, body)
                 VALUES (?, ?, ?, ?, 'file', '42', ?)",
                rusqlite::params![r.seq as i64, r.time, &r.prev_hash[..], &r.hash[..], r.body],
            )
            .unwrap();
        }
        let store = LedgerStore::open(&path).unwrap();
        assert_eq!(store.path_tag_from().unwrap(), 2);
        let (a, b) = ("a".repeat(32), "b".repeat(32));
        let at_a = LedgerMeta {
            path_tag: Some(a.clone()),
            ..meta()
        };
        let renamed_to_a = LedgerMeta {
            path_tag: Some(b.clone()),
            to_tag: Some(a.clone()),
            ..meta()
        };
        let at_b = LedgerMeta {
            path_tag: Some(b.clone()),
            ..meta()
        };
        store
            .append(&[
                (1, at_a, b"a".to_vec()),
                (2, renamed_to_a, b"b".to_vec()),
                (3, at_b, b"c".to_vec()),
            ])
            .unwrap();
        let found = |store: &LedgerStore, f: LedgerFilter| -> Vec<u64> {
            store
                .export(&f, 0, 10)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect()
        };
        let by_path = |tag: &str| LedgerFilter {
            path_tag: Some(tag.to_owned()),
            ..Default::default()
        };
        let by_to = |tag: &str| LedgerFilter {
            to_tag: Some(tag.to_owned()),
            ..Default::default()
        };
        // In the tail and, once folded, through the indexes.
        for _ in 0..2 {
            assert_eq!(found(&store, by_path(&a)), [2]);
            assert_eq!(found(&store, by_to(&a)), [3]);
            assert_eq!(found(&store, by_path(&b)), [3, 4]);
            store.fold().unwrap();
        }
        assert_eq!(store.verify(b"").unwrap().unwrap().records, 4);
        let tags: Vec<Option<String>> = store
            .export(&LedgerFilter::default(), 0, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.meta.path_tag)
            .collect();
        assert_eq!(
            tags,
            [None, Some(a.clone()), Some(b.clone()), Some(b.clone())]
        );
        for (column, index) in [
            ("path_tag", "records_path_tag"),
            ("to_tag", "records_to_tag"),
        ] {
            let plan: String = store
                .lock()
                .query_row(
                    &format!(
                        "EXPLAIN QUERY PLAN SELECT {RECORD_COLUMNS} FROM records
                          WHERE seq > 0 AND {column} = '{a}' ORDER BY seq LIMIT 10"
                    ),
                    [],
                    |r| r.get(3),
                )
                .unwrap();
            assert!(plan.contains(index), "{plan}");
        }
        store
            .lock()
            .execute(
                &format!("UPDATE records SET path_tag = '{a}' WHERE seq = 1"),
                [],
            )
            .unwrap();
        assert!(store.verify(b"").unwrap().is_err());
    }

    /// A ledger written before migration 0005 (layout-2 bodies, no file id column) verifies and
    /// exports after it; new records carry their file id, found through its index (which the
    /// export's query uses); `file_id_from` says where that begins; a file id written into an
    /// old record's column is caught.
    #[test]
    fn a_ledger_from_before_file_ids_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate::run_ledger(&mut conn, &migrate::LEDGER[..4]).unwrap();
            // Layout 2: kind "file", account "alice", then nothing.
            let mut body = vec![2u8, 1, 0, 4];
            body.extend_from_slice(b"file");
            body.extend_from_slice(&[1, 0, 5]);
            body.extend_from_slice(b"alice");
            body.extend_from_slice(&[0, 0, 0, 0]);
            body.extend_from_slice(b"sealed");
            let r = ledger::append(&Head::EMPTY, 0, body).unwrap();
            conn.execute(
                "INSERT INTO records (seq, time, prev_hash, hash, kind, account, body)
                 VALUES (?, ?, ?, ?, 'file', 'alice', ?)",
                rusqlite::params![r.seq as i64, r.time, &r.prev_hash[..], &r.hash[..], r.body],
            )
            .unwrap();
        }
        let store = LedgerStore::open(&path).unwrap();
        assert_eq!(store.file_id_from().unwrap(), 2);
        let other = LedgerMeta {
            file_id: Some(7),
            ..meta()
        };
        store
            .append(&[(1, meta(), b"a".to_vec()), (2, other, b"b".to_vec())])
            .unwrap();
        // Found in the tail and, once folded, through the index.
        let of_42 = LedgerFilter {
            file_id: Some(42),
            ..Default::default()
        };
        let found = |store: &LedgerStore| -> Vec<u64> {
            store
                .export(&of_42, 0, 10)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect()
        };
        assert_eq!(found(&store), [2]);
        store.fold().unwrap();
        assert_eq!(found(&store), [2]);
        assert_eq!(store.verify(b"").unwrap().unwrap().records, 3);
        let all = store.export(&LedgerFilter::default(), 0, 10).unwrap();
        let ids: Vec<Option<i64>> = all.iter().map(|e| e.meta.file_id).collect();
        assert_eq!(ids, [None, Some(42), Some(7)]);
        let plan: String = store
            .lock()
            .query_row(
                &format!(
                    "EXPLAIN QUERY PLAN SELECT {RECORD_COLUMNS} FROM records
                      WHERE seq > 0 AND file_id = '42' ORDER BY seq LIMIT 10"
                ),
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("records_file_id"), "{plan}");
        store
            .lock()
            .execute("UPDATE records SET file_id = '42' WHERE seq = 1", [])
            .unwrap();
        assert!(store.verify(b"").unwrap().is_err());
    }

    fn count(store: &LedgerStore, table: &str) -> i64 {
        store
            .lock()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// A ledger written before migration 0004 (layout-1 bodies, no credential column) still
    /// verifies and exports after it; new records carry their credential, found through its
    /// index; `credential_from` says where that begins.
    #[test]
    fn a_ledger_from_before_credentials_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate::run_ledger(&mut conn, &migrate::LEDGER[..3]).unwrap();
            let mut head = Head::EMPTY;
            for t in 0..3i64 {
                // Layout 1: kind "session", account "alice", then no tenant, source, session.
                let mut body = vec![1u8, 1, 0, 7];
                body.extend_from_slice(b"session");
                body.extend_from_slice(&[1, 0, 5]);
                body.extend_from_slice(b"alice");
                body.extend_from_slice(&[0, 0, 0]);
                body.extend_from_slice(b"sealed");
                let r = ledger::append(&head, t, body).unwrap();
                conn.execute(
                    "INSERT INTO records (seq, time, prev_hash, hash, kind, account, body)
                     VALUES (?, ?, ?, ?, 'session', 'alice', ?)",
                    rusqlite::params![r.seq as i64, r.time, &r.prev_hash[..], &r.hash[..], r.body],
                )
                .unwrap();
                head = r.head();
            }
        }
        let store = LedgerStore::open(&path).unwrap();
        assert_eq!(store.credential_from().unwrap(), 4);
        store.append(&[(3, meta(), b"new".to_vec())]).unwrap();
        store.fold().unwrap();
        let v = store.verify(b"").unwrap().unwrap();
        assert_eq!(v.records, 4);
        let all = store.export(&LedgerFilter::default(), 0, 10).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].meta.credential, None);
        assert_eq!(all[3].meta.credential.as_deref(), Some("SHA256:abc"));
        let by_key = LedgerFilter {
            credential: Some("SHA256:abc".into()),
            ..Default::default()
        };
        let found: Vec<u64> = store
            .export(&by_key, 0, 10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(found, [4]);
        let older = LedgerFilter {
            before_seq: Some(4),
            kind: Some("session".into()),
            ..Default::default()
        };
        assert_eq!(store.export(&older, 0, 10).unwrap().len(), 3);
        // A credential written into an old record's column is caught: its body has none.
        store
            .lock()
            .execute(
                "UPDATE records SET credential = 'SHA256:abc' WHERE seq = 2",
                [],
            )
            .unwrap();
        assert!(store.verify(b"").unwrap().is_err());
    }

    /// Appends go to the unindexed tail; folding moves them to the indexed table; export and
    /// verification read both as one chain, whichever side each record is on.
    #[test]
    fn the_tail_and_the_indexed_table_are_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let store = LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
        let other = LedgerMeta {
            account: Some("bob".into()),
            ..meta()
        };
        let batch = |from: i64| -> Vec<_> {
            (from..from + 3)
                .map(|t| {
                    (
                        t,
                        if t % 2 == 0 { meta() } else { other.clone() },
                        vec![t as u8],
                    )
                })
                .collect()
        };
        store.append(&batch(0)).unwrap();
        assert_eq!((count(&store, "records"), count(&store, "recent")), (0, 3));
        assert_eq!(store.fold().unwrap(), 3);
        assert_eq!(store.fold().unwrap(), 0);
        let head = store.append(&batch(3)).unwrap();
        assert_eq!(head.seq, 6);
        assert_eq!(store.head().unwrap(), head);
        assert_eq!((count(&store, "records"), count(&store, "recent")), (3, 3));

        let v = store.verify(b"").unwrap().unwrap();
        assert_eq!((v.records, v.head), (6, head));
        let alice = LedgerFilter {
            account: Some("alice".into()),
            ..Default::default()
        };
        let seqs = |f: &LedgerFilter, after, limit| -> Vec<u64> {
            store
                .export(f, after, limit)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect()
        };
        // Times 0, 2, 4 are alice's: seq 1 and 3 folded, 5 in the tail.
        assert_eq!(seqs(&alice, 0, 10), [1, 3, 5]);
        assert_eq!(seqs(&alice, 0, 2), [1, 3]);
        assert_eq!(seqs(&alice, 3, 10), [5]);
        assert_eq!(seqs(&LedgerFilter::default(), 2, 3), [3, 4, 5]);

        // A record deleted from the tail breaks the chain like one deleted from the table.
        store
            .lock()
            .execute("DELETE FROM recent WHERE seq = 5", [])
            .unwrap();
        assert_eq!(
            store.verify(b"").unwrap().unwrap_err(),
            Break::Sequence {
                expected_after: 4,
                found: 6
            }
        );
    }

    /// Verification and export read both tables in one snapshot: another connection folding
    /// and appending meanwhile (a running server, while `audit verify` runs) hides nothing and
    /// breaks nothing.
    #[test]
    fn reads_see_one_snapshot_while_another_writer_folds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let reader = LedgerStore::open(&path).unwrap();
        let batch: Vec<_> = (0..20_000).map(|t| (t, meta(), vec![7; 64])).collect();
        reader.append(&batch).unwrap();
        reader.fold().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let store = LedgerStore::open(&path).unwrap();
                let small: Vec<_> = (0..5).map(|t| (t, meta(), vec![8; 64])).collect();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    store.append(&small).unwrap();
                    store.fold().unwrap();
                    store.append(&small).unwrap();
                }
            })
        };
        for _ in 0..30 {
            let v = reader.verify(b"").unwrap().unwrap();
            assert_eq!(v.records, v.head.seq);
            let all = reader
                .export(&LedgerFilter::default(), 19_990, u32::MAX)
                .unwrap();
            let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
            assert!(
                seqs.iter().zip(19_991..).all(|(&s, want)| s == want),
                "{seqs:?}"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
    }

    #[test]
    fn a_changed_column_breaks_verification() {
        let dir = tempfile::tempdir().unwrap();
        let store = LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
        let batch: Vec<_> = (0..3).map(|t| (t, meta(), b"x".to_vec())).collect();
        store.append(&batch).unwrap();
        store.fold().unwrap();
        let ok = store.verify(b"").unwrap().unwrap();
        assert_eq!(ok.records, 3);
        store
            .lock()
            .execute("UPDATE records SET account = 'mallory' WHERE seq = 2", [])
            .unwrap();
        assert_eq!(
            store.verify(b"").unwrap().unwrap_err(),
            Break::Modified { seq: 2 }
        );
        let err = store
            .export(&LedgerFilter::default(), 0, 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("record 2 was modified"), "{err}");
    }

    /// A signer of test checkpoints and its public key.
    fn test_signer() -> (impl ledger::CheckpointSigner, Vec<u8>) {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        struct Signer(Ed25519KeyPair);
        impl ledger::CheckpointSigner for Signer {
            fn sign(&self, m: &[u8]) -> Vec<u8> {
                self.0.sign(m).as_ref().to_vec()
            }
            fn public_key(&self) -> Vec<u8> {
                self.0.public_key().as_ref().to_vec()
            }
        }
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let signer = Signer(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap());
        let pk = ledger::CheckpointSigner::public_key(&signer);
        (signer, pk)
    }

    /// A range is verified between the signed checkpoints around it, reading only that part:
    /// a change inside it is found, one before it is not looked at (the whole chain's
    /// verification finds both).
    #[test]
    fn a_range_verifies_between_the_checkpoints_around_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
        let (signer, pk) = test_signer();
        for batch in 0..3i64 {
            let records: Vec<_> = (0..10)
                .map(|t| (batch * 10 + t, meta(), vec![1; 8]))
                .collect();
            let head = store.append(&records).unwrap();
            if batch < 2 {
                store
                    .add_checkpoint(&ledger::checkpoint(&head, batch, None, &signer))
                    .unwrap();
            }
            if batch == 0 {
                store.fold().unwrap();
            }
        }
        let ok = |first, last| store.verify_range(&pk, first, last).unwrap();
        assert_eq!(
            ok(15, 18).unwrap(),
            RangeVerified {
                from: 11,
                to: 20,
                start_checkpoint: Some(10),
                end_checkpoint: Some(20)
            }
        );
        assert_eq!(
            ok(3, 25).unwrap(),
            RangeVerified {
                from: 1,
                to: 25,
                start_checkpoint: None,
                end_checkpoint: None
            }
        );
        store
            .lock()
            .execute("UPDATE records SET account = 'mallory' WHERE seq = 5", [])
            .unwrap();
        assert!(ok(15, 18).is_ok());
        assert_eq!(ok(3, 8).unwrap_err(), Break::Modified { seq: 5 });
        assert!(store.verify(&pk).unwrap().is_err());
        store
            .lock()
            .execute("DELETE FROM recent WHERE seq = 17", [])
            .unwrap();
        assert_eq!(
            ok(15, 18).unwrap_err(),
            Break::Sequence {
                expected_after: 16,
                found: 18
            }
        );
    }
}
