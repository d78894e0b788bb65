//! The reverse question: every account and session that read one file (followed through its
//! renames), with bytes and times, from the records about it. Never here: reading the ledger.

use std::collections::BTreeMap;

use events::{EventKind, Exported, FileOp, Outcome, Time};
use serde::Serialize;

use super::{SessionKeys, Transfer, parts_read, read_extent};
use crate::path_history::{FileLineage, Tie};

/// Which file `incident file` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAsked {
    /// The file at this path now; where none is, the files the records show there before.
    Path(String),
    /// Every file that has been at this path: the one there now and those the records show
    /// there before (removed, or renamed away, since; a path that a daily upload replaces).
    EveryAt(String),
    /// The file with this id (as the incident report lists it), present or not.
    Id(i64),
}

/// Who read one file (`incident file`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileReadersOf {
    pub file_id: i64,
    /// Where it is now; `None` when it no longer exists.
    pub path_now: Option<String>,
    pub readers: Vec<Reader>,
}

/// The id of the file a successful record shows at `path` (a tenant path as records write
/// it): any operation on it there, or a rename to it. `None` for records from before file ids.
pub fn file_at(r: &Exported, path: &str) -> Option<i64> {
    let EventKind::File {
        file: Some(f),
        outcome: Outcome::Ok,
        ..
    } = &r.event.kind
    else {
        return None;
    };
    names_path(r, path).then_some(f.id)
}

/// Whether record `r` names `path` (a tenant path as records write it): a file operation on it,
/// whatever its outcome, or a rename to it.
pub fn names_path(r: &Exported, path: &str) -> bool {
    match &r.event.kind {
        EventKind::File { op, path: at, .. } => {
            at == path || matches!(op, FileOp::Rename { to: Some(to), .. } if to == path)
        }
        _ => false,
    }
}

/// Whether record `r` names the file `id` (any operation on it, or its retention deletion).
pub fn names_file(r: &Exported, id: i64) -> bool {
    match &r.event.kind {
        EventKind::File { file: Some(f), .. } => f.id == id,
        EventKind::RetentionDelete { file_id, .. } => *file_id == id,
        _ => false,
    }
}

/// One session's reads of one file (`incident file`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Reader {
    pub session: String,
    pub account: Option<String>,
    pub source: Option<String>,
    pub bytes_read: u64,
    /// `whole`, `unfinished` or `partial`, as the report's files say (`FileRead::read`).
    pub read: &'static str,
    /// The same over every session of this account that read the file: `whole` where its
    /// sessions read the file between them (a download split over connections, as `lftp`'s
    /// `pget -n 4` does, reads a part in each and the whole in all), as the report joins them.
    pub account_read: &'static str,
    /// For a `partial` read, the parts this session read where its records name them all, as
    /// the report's files say (`FileRead::parts_read`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts_read: Option<Vec<(u64, u64)>>,
    pub first_access: Option<Time>,
    pub last_access: Option<Time>,
    /// How the reads were tied to the file: `file_id` (the records name it), `path` (records
    /// from before file ids, at a path where the file's history puts it) or `path_uncertain`
    /// (at a path where it may have been: see [`crate::path_history`]).
    pub identified_by: &'static str,
}

/// One session's reads of the file (under one lineage) while records stream by.
struct ReaderRow {
    reader: Reader,
    transfer: Transfer,
    /// Its size when the session first read it (not said by records from before file ids).
    size: Option<u64>,
}

/// Folds the records of a tenant into who read one file, per session: records that name the
/// file's id, and records from before file ids whose lineage ([`crate::path_history`]) turns
/// out to be the file's. One pass: reads before file ids are gathered per lineage and session
/// (nothing is kept for a ledger without them) and chosen at the end, when the replay has
/// reached the file's present.
pub struct FileReaders {
    file_id: i64,
    /// Reads counted: at or after `since`, before `until` (seconds).
    since: Option<i64>,
    until: Option<i64>,
    session_keys: SessionKeys,
    /// Per lineage (`None`: the records that name the file's id) and session: its reads.
    readers: BTreeMap<(Option<usize>, String), ReaderRow>,
}

impl FileReaders {
    /// Who read the file `file_id` within `[since, until)` (seconds; the records outside are
    /// still taken, for the sessions they open).
    pub fn new(file_id: i64, since: Option<i64>, until: Option<i64>) -> Self {
        Self {
            file_id,
            since,
            until,
            session_keys: SessionKeys::default(),
            readers: BTreeMap::new(),
        }
    }

    /// The file asked about.
    pub fn file_id(&self) -> i64 {
        self.file_id
    }

    /// Takes a record; `lineage` is the one the path replay gave it
    /// ([`crate::path_history::PathHistory::add`]).
    pub fn add(&mut self, r: &Exported, lineage: Option<usize>) {
        let e = &r.event;
        let session = self.session_keys.key(r).unwrap_or_default();
        let secs = e.time.as_secs();
        if self.since.is_some_and(|s| secs < s) || self.until.is_some_and(|u| secs >= u) {
            return;
        }
        let EventKind::File {
            op: op @ (FileOp::OpenRead | FileOp::ProgressRead { .. } | FileOp::CloseRead { .. }),
            file,
            outcome: Outcome::Ok,
            ..
        } = &e.kind
        else {
            return;
        };
        let of = match (file, lineage) {
            (Some(f), _) if f.id == self.file_id => None,
            (None, Some(l)) => Some(l),
            _ => return,
        };
        let row = self
            .readers
            .entry((of, session.clone()))
            .or_insert_with(|| ReaderRow {
                reader: Reader {
                    session,
                    account: e.account.clone(),
                    source: e.source.map(|s| s.ip().to_string()),
                    ..Default::default()
                },
                transfer: Transfer::default(),
                size: file.as_ref().map(|f| f.size),
            });
        row.transfer.record(op, e.handle);
        row.reader.first_access.get_or_insert(e.time);
        row.reader.last_access = Some(e.time);
    }

    /// The readers, by session; `lineage`: the file's lineages at the end of the replay
    /// ([`crate::path_history::PathHistory::file`]).
    pub fn finish(self, lineage: Option<&FileLineage>) -> Vec<Reader> {
        let mut sessions: BTreeMap<String, (Reader, Tie)> = BTreeMap::new();
        // Per account, its sessions' transfers of the file and its size when first read.
        let mut accounts: BTreeMap<Option<String>, (Vec<Transfer>, Option<u64>)> = BTreeMap::new();
        for ((of, session), row) in self.readers {
            let ReaderRow {
                reader: mut r,
                transfer: t,
                size,
            } = row;
            let tie = match of {
                None => Tie::Id,
                Some(l) => match lineage.and_then(|f| f.tie(l)) {
                    Some(tie) => tie,
                    None => continue,
                },
            };
            r.bytes_read = t.bytes();
            r.read = read_extent([&t], size);
            r.parts_read = parts_read([&t], size);
            let account = accounts.entry(r.account.clone()).or_default();
            account.1 = account.1.or(size);
            account.0.push(t);
            match sessions.entry(session) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert((r, tie));
                }
                // One session's reads of the file under two lineages (its path history left
                // open whether they were one file): one row, as sure as the least sure.
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let (row, least) = o.get_mut();
                    row.bytes_read += r.bytes_read;
                    row.parts_read = None;
                    // Whole over unfinished over partial, as `read_extent` ranks them.
                    if r.read == "whole" || (r.read == "unfinished" && row.read == "partial") {
                        row.read = r.read;
                    }
                    row.first_access = row.first_access.min(r.first_access).or(r.first_access);
                    row.last_access = row.last_access.max(r.last_access);
                    *least = (*least).max(tie);
                }
            }
        }
        let account_read: BTreeMap<Option<String>, &'static str> = accounts
            .into_iter()
            .map(|(account, (transfers, size))| (account, read_extent(&transfers, size)))
            .collect();
        sessions
            .into_values()
            .map(|(mut r, tie)| {
                r.identified_by = tie.name();
                r.account_read = account_read.get(&r.account).copied().unwrap_or(r.read);
                r
            })
            .collect()
    }
}
