//! The incident report: what a selection of sessions (an account's, an address's, one
//! session, or several criteria that must all hold) read, uploaded, changed, renamed and
//! removed, per tenant and per file, from the ledger's records; joined with each file's
//! current path and its data classes from the catalog. [`Collector`] is pure (records in,
//! per-file facts out); [`crate::admin::Admin`] reads the ledger into it and adds what the
//! catalog knows.
//!
//! Never here: reading the ledger (the ledger's indexed filters choose the records of one
//! criterion; the collector checks the others on each record, [`Criterion::matches`]),
//! printing.

pub mod evidence_file;
mod file_readers;
mod report;
mod selection;

pub use file_readers::{
    FileAsked, FileReaders, FileReadersOf, Reader, file_at, names_file, names_path,
};
pub use report::{
    Change, CheckpointRef, DirectoryListed, Evidence, FailedLogin, FileRead, RefusedRequest,
    Replaced, Report, SessionAccounts, SessionRead, SessionRow, TenantSection, Totals,
};
pub use selection::{Criterion, Selection};

use selection::from_any;

use std::collections::BTreeMap;

use events::{Event, EventKind, Exported, FileOp, Outcome, Time};

use crate::files::coverage::Coverage;
use crate::path_history::Tie;

impl Collector {
    /// Adds every record each of `filters` selects (the ledger's indexed filters, one pass
    /// each), once (an alert's session and its account's filter select the same records).
    pub fn read(
        &mut self,
        store: &catalog::LedgerStore,
        body_key: &vault::LedgerBodyKey,
        filters: &[catalog::LedgerFilter],
    ) -> Result<(), crate::ledger_read::LedgerReadError> {
        let mut seen = std::collections::HashSet::new();
        for filter in filters {
            crate::ledger_read::for_each(store, body_key, filter, |r| {
                if filters.len() == 1 || seen.insert(r.seq) {
                    self.add(&r);
                }
                Ok::<(), crate::ledger_read::LedgerReadError>(())
            })?;
        }
        Ok(())
    }
}

/// What the evidence says of the chain when the report did not verify it.
pub const NOT_VERIFIED: &str =
    "not verified by this report (run it with --verify, or strongroom audit verify)";

/// What the evidence says of the chain's verification over the report's records: which records
/// verified between which checkpoints, where it broke, or that there was nothing to verify.
pub fn chain_outcome(outcome: Option<Result<catalog::RangeVerified, ledger::Break>>) -> String {
    match outcome {
        None => "nothing to verify: the selection has no ledger records".to_owned(),
        Some(Err(b)) => format!("BROKEN: {b}"),
        Some(Ok(v)) => {
            let from = v.start_checkpoint.map_or_else(
                || "from the chain's start".to_owned(),
                |c| format!("from signed checkpoint {c}"),
            );
            let to = v.end_checkpoint.map_or_else(
                || format!("to record {} (no checkpoint signed after it yet)", v.to),
                |c| format!("to signed checkpoint {c}"),
            );
            format!("verified: records {}-{}, {from} {to}", v.from, v.to)
        }
    }
}

/// The sessions `credential` opened within `range`, and the connections it was tried on and
/// did not log in (refused, or stopped at the second factor: a stolen key without its TOTP),
/// with when each opened or was tried: through the ledger's credential index, and for records
/// written before it existed (ledger migration 0004), by reading the session records before
/// that point.
pub fn sessions_opened_with(
    store: &catalog::LedgerStore,
    body_key: &vault::LedgerBodyKey,
    range: &catalog::LedgerFilter,
    credential: &str,
) -> Result<BTreeMap<String, Time>, crate::ledger_read::LedgerReadError> {
    let mut sessions = BTreeMap::new();
    // By credential alone (its index; a kind filter too would lead SQLite to the kind index).
    let indexed = catalog::LedgerFilter {
        credential: Some(credential.to_owned()),
        ..range.clone()
    };
    let from = store
        .credential_from()
        .map_err(crate::ledger_read::LedgerReadError::from)?;
    let older = (from > 1).then(|| catalog::LedgerFilter {
        kind: Some("session".into()),
        before_seq: Some(from),
        ..range.clone()
    });
    for filter in std::iter::once(indexed).chain(older) {
        crate::ledger_read::for_each(store, body_key, &filter, |r| {
            if (opened_with(&r.event, credential) || tried_with(&r.event, credential))
                && let Some(s) = &r.event.session
            {
                sessions.entry(s.clone()).or_insert(r.event.time);
            }
            Ok::<(), crate::ledger_read::LedgerReadError>(())
        })?;
    }
    Ok(sessions)
}

/// Whether `e` shows session `e.session` opened with `credential`.
pub fn opened_with(e: &Event, credential: &str) -> bool {
    match &e.kind {
        EventKind::Session {
            opened: true,
            credential: Some(c),
            ..
        } => c == credential,
        _ => false,
    }
}

/// Whether `e` shows `credential` tried on its connection without logging in: refused, or a
/// first factor whose second is still to come.
pub fn tried_with(e: &Event, credential: &str) -> bool {
    matches!(
        &e.kind,
        EventKind::Auth {
            result: events::AuthResult::Refused | events::AuthResult::Partial,
            credential: Some(c),
            ..
        } if c == credential
    )
}

/// What a connection's authentication records showed (to tell sessions from failed logins).
#[derive(Default)]
struct Logins {
    /// A success, a session opened, or a file operation (which needs a login).
    logged_in: bool,
    /// Authentication steps that did not log in: refused, or a first factor accepted whose
    /// second factor never came.
    refused: u32,
    methods: Vec<String>,
    /// The first and last of those steps.
    span: Option<(Time, Time)>,
    /// When the connection was accepted, where its record was read (a connection that closed
    /// before trying anything has no other).
    connected: Option<Time>,
}

/// `whole` when a handle's reads covered the file, or when the reads together did: the parts
/// the records name (records since December 2026 say which parts a handle that did not read
/// the whole file covered), joined across handles and sessions (halves read by two handles are
/// the whole; one half read twice is not); where records do not say (older ones, a handle cut
/// short with only its progress recorded), as many bytes sent as the file held when read,
/// so that an exposure is not understated. `unfinished` when it is neither and a download of
/// it is still open where the records end: one in progress, or one the server's stop cut off
/// before its close was recorded (a crash; a session's end records its downloads' closes), so
/// that the bytes recorded so far are a lower bound, not the extent. `partial` otherwise.
fn read_extent<'a>(
    transfers: impl IntoIterator<Item = &'a Transfer>,
    size: Option<u64>,
) -> &'static str {
    joined(transfers).extent(size)
}

/// The byte ranges of a file that a `partial` read covered (`[start, end)`, in order), when
/// the records name every part exactly: every handle closed with its parts recorded, and
/// joined without passing [`crate::files::coverage::MAX_COVERAGE_RANGES`]. `None` otherwise
/// (and for a read that is not `partial`).
fn parts_read<'a>(
    transfers: impl IntoIterator<Item = &'a Transfer>,
    size: Option<u64>,
) -> Option<Vec<(u64, u64)>> {
    let j = joined(transfers);
    (j.extent(size) == "partial" && j.unranged == 0 && j.exact).then(|| j.covered.ranges().to_vec())
}

/// What several transfers of one file read between them.
#[derive(Default)]
struct Joined {
    /// A handle's reads covered the whole file.
    whole: bool,
    /// The parts their records name, joined.
    covered: Coverage,
    /// Bytes read whose records do not say which parts.
    unranged: u64,
    /// A download is open where the records end.
    unfinished: bool,
    /// `covered` is exactly what was read: no transfer's parts, nor their join, passed
    /// [`crate::files::coverage::MAX_COVERAGE_RANGES`] (then two were joined over a gap).
    exact: bool,
}

fn joined<'a>(transfers: impl IntoIterator<Item = &'a Transfer>) -> Joined {
    let mut j = Joined {
        exact: true,
        ..Joined::default()
    };
    for t in transfers {
        j.exact &= t.covered.exact();
        j.whole |= t.whole;
        j.unfinished |= t.still_open();
        for &(start, end) in t.covered.ranges() {
            j.covered.add(start, end - start);
        }
        j.unranged = j.unranged.saturating_add(t.unranged_bytes());
    }
    j.exact &= j.covered.exact();
    j
}

impl Joined {
    /// `whole`, `unfinished` or `partial` ([`read_extent`]).
    fn extent(&self, size: Option<u64>) -> &'static str {
        let whole = self.whole
            || size.is_some_and(|size| {
                if self.unranged == 0 {
                    self.covered.covers(size)
                } else {
                    self.covered.total().saturating_add(self.unranged) >= size
                }
            });
        match (whole, self.unfinished) {
            (true, _) => "whole",
            (false, true) => "unfinished",
            (false, false) => "partial",
        }
    }
}

/// One session's read transfers of one file: its handles, closed and open.
#[derive(Default)]
struct Transfer {
    /// Bytes of closed handles plus the latest progress of the open one.
    closed_bytes: u64,
    open_bytes: u64,
    open: bool,
    /// A handle's reads covered the whole file.
    whole: bool,
    /// The parts of the file closed handles covered, where their records say.
    covered: Coverage,
    /// Bytes of closed handles whose records do not say which parts they covered.
    closed_unranged: u64,
    /// Open downloads whose records carry their number (since December 2026), each with its
    /// latest progress: two open at once are told apart. `open` and `open_bytes` follow the
    /// ones whose records do not.
    numbered: BTreeMap<u64, u64>,
}

impl Transfer {
    /// Takes a read record's operation into account (`handle`: the download's number, where
    /// the record carries one).
    fn record(&mut self, op: &FileOp, handle: Option<u64>) {
        match (op, handle) {
            (FileOp::OpenRead, Some(h)) => {
                self.numbered.insert(h, 0);
            }
            (FileOp::ProgressRead { bytes }, Some(h)) => {
                let b = self.numbered.entry(h).or_default();
                *b = (*b).max(*bytes);
            }
            (FileOp::OpenRead, None) => {
                if self.open {
                    // A second handle on the same file: count the first as it stood.
                    self.closed_bytes += self.open_bytes;
                    self.closed_unranged += self.open_bytes;
                }
                self.open = true;
                self.open_bytes = 0;
            }
            (FileOp::ProgressRead { bytes }, None) => {
                self.open = true;
                self.open_bytes = self.open_bytes.max(*bytes);
            }
            (
                FileOp::CloseRead {
                    bytes,
                    whole_file,
                    ranges,
                },
                handle,
            ) => {
                match handle {
                    Some(h) => {
                        self.numbered.remove(&h);
                    }
                    None => {
                        self.open = false;
                        self.open_bytes = 0;
                    }
                }
                self.closed_bytes += *bytes;
                self.whole |= *whole_file;
                match ranges {
                    Some(ranges) if !*whole_file => {
                        for &(start, end) in ranges {
                            self.covered.add(start, end.saturating_sub(start));
                        }
                    }
                    _ => self.closed_unranged += *bytes,
                }
            }
            _ => {}
        }
    }

    /// Whether a download is open where the records end (no close recorded for it).
    fn still_open(&self) -> bool {
        self.open || !self.numbered.is_empty()
    }

    /// The latest progress of the open downloads.
    fn open_progress(&self) -> u64 {
        self.numbered.values().sum::<u64>() + if self.open { self.open_bytes } else { 0 }
    }

    /// Bytes of reads whose records do not say which parts they covered: closed handles
    /// recorded so, and the last progress of one still open (or cut short).
    fn unranged_bytes(&self) -> u64 {
        self.closed_unranged + self.open_progress()
    }

    /// Bytes read: closed handles, plus the last progress of one still open (or cut short).
    fn bytes(&self) -> u64 {
        self.closed_bytes + self.open_progress()
    }
}

/// A read record of one session: its open, progress or close, and the download's number
/// where the record carries one.
struct ReadAt<'a> {
    session: String,
    time: Time,
    op: &'a FileOp,
    handle: Option<u64>,
}

/// Which file a read was of: by id, or (records from before file ids) by tenant and the
/// lineage the path replay gave it, or by tenant and path where there was no replay.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum FileKey {
    Id(i64),
    Lineage(String, usize),
    Path(String, String),
}

/// Session ids as reports show them. Before December 2026 (schema 1) a session id was a number
/// that each server run counted again from the start, so one id can name sessions of several
/// runs: a session opened with an id already opened is shown as `ID@SEQ` (the sequence number
/// of the record that opened it), and the records after it with that id are its. Ids of schema
/// 2 (UUIDs) are opened once and shown as they are.
#[derive(Default)]
struct SessionKeys {
    opened: std::collections::HashSet<String>,
    reused: std::collections::HashMap<String, String>,
}

impl SessionKeys {
    /// The session record `r` belongs to, as shown.
    fn key(&mut self, r: &Exported) -> Option<String> {
        let id = r.event.session.as_ref()?;
        if let EventKind::Session { opened: true, .. } = r.event.kind
            && !self.opened.insert(id.clone())
        {
            let key = format!("{id}@{}", r.seq);
            self.reused.insert(id.clone(), key.clone());
            return Some(key);
        }
        Some(self.reused.get(id).unwrap_or(id).clone())
    }
}

/// A read recorded before file ids, kept until the tenant's path replay says which file it was
/// ([`Collector::tie_reads_before_ids`]).
struct ReadBeforeIds {
    seq: u64,
    time: Time,
    tenant: String,
    path: String,
    session: String,
    op: FileOp,
}

/// What became of a file known by its lineage (from [`crate::path_history::PathHistory::fate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fate {
    /// Its id, where a record named it.
    pub id: Option<i64>,
    /// Where it is now (`None`: removed or deleted).
    pub path: Option<String>,
    /// The records leave open whether it is the file now at `path` or was deleted.
    pub uncertain: bool,
}

/// Facts gathered per file while records stream by.
#[derive(Default)]
struct FileFacts {
    tenant: String,
    read: FileRead,
    /// Per session: its transfers of this file, and its first and last access.
    transfers: BTreeMap<String, (Transfer, Time, Time)>,
}

/// Folds the selection's records, in sequence order, into per-file facts.
#[derive(Default)]
pub struct Collector {
    sessions: BTreeMap<String, SessionRow>,
    /// Sessions an alert's containment closed, and why.
    contained: BTreeMap<String, String>,
    files: BTreeMap<FileKey, FileFacts>,
    reads_before_ids: Vec<ReadBeforeIds>,
    session_keys: SessionKeys,
    changes: BTreeMap<String, Vec<Change>>,
    evidence: Evidence,
    /// What every record must match (each criterion: one kind of the selection's).
    criteria: Vec<Criterion>,
    /// Sources whose records are left out whatever matches them.
    except_networks: Vec<crate::gate::network::IpNet>,
    /// For a credential's report: the credentials, and per session (as shown) whether its
    /// opening record shows it opened with one of them (or, until it opens, whether one of
    /// them was tried on it).
    opened_with: Option<(Vec<String>, std::collections::HashMap<String, bool>)>,
    /// Per session: whether it logged in, and its refused attempts.
    logins: BTreeMap<String, Logins>,
    /// Directories listed, per tenant and directory.
    listings: BTreeMap<(String, DirKey), (DirectoryListed, FirstSeen)>,
    /// Per session, the directory it last opened for listing (a page of a listing recorded
    /// before file ids names neither the directory nor its path).
    last_listed: BTreeMap<String, DirKey>,
    /// Refused requests by tenant, operation, path and reason.
    refused: BTreeMap<(String, String, String, String), Refusals>,
    /// Per session, the server (node) that served it.
    nodes: std::collections::HashMap<String, String>,
    /// The servers' starts (`crate::server_runs`): a session with no end recorded that one of
    /// them follows was cut off by its server's stop.
    starts: Vec<(Option<String>, Time)>,
    /// The records the report rests on (the selection's, and the openings of its sessions
    /// opened before them), with their session as shown: an evidence file hands over their
    /// keys ([`Report::rests_on`]).
    rests_on: Vec<(u64, Option<String>)>,
    /// The accounts those records name ([`Report::accounts`]).
    accounts: std::collections::BTreeSet<String>,
}

/// Sessions by when each was first seen (a directory an account polls is listed by thousands
/// of sessions: looked up, not searched).
#[derive(Default)]
struct FirstSeen(std::collections::HashMap<String, Time>);

/// Requests of one kind refused: what the report lists, the sessions that made them, and the
/// ledger sequence of the first (requests of one millisecond are listed in the ledger's order).
type Refusals = (RefusedRequest, FirstSeen, u64);

impl FirstSeen {
    fn saw(&mut self, session: String, time: Time) {
        let t = self.0.entry(session).or_insert(time);
        *t = (*t).min(time);
    }

    /// The sessions, in the order they were first seen.
    fn in_order(self) -> Vec<String> {
        let mut v: Vec<(Time, String)> = self.0.into_iter().map(|(s, t)| (t, s)).collect();
        v.sort();
        v.into_iter().map(|(_, s)| s).collect()
    }
}

/// A listed directory: by its id, or by its path where the records name no id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum DirKey {
    Id(i64),
    Path(String),
}

impl Collector {
    /// A collector for the sessions one of `credentials` opened: records of other sessions
    /// that share an id with one of them (ids of schema 1 began again with each server run) are
    /// not the selection's and are left out.
    pub fn opened_with(credentials: &[String]) -> Self {
        Self {
            opened_with: Some((credentials.to_vec(), Default::default())),
            ..Default::default()
        }
    }

    /// Sessions of a credential's report opened before the records read begin (a time range
    /// that starts while they were open): their opening records are not read, and their other
    /// records are the selection's.
    pub fn admitting(mut self, sessions: impl IntoIterator<Item = String>) -> Self {
        if let Some((_, admitted)) = &mut self.opened_with {
            admitted.extend(sessions.into_iter().map(|s| (s, true)));
        }
        self
    }

    /// Only records that match every one of `criteria` are the selection's (the ledger's
    /// filters read the records of one criterion; the others are checked here).
    pub fn matching(mut self, criteria: Vec<Criterion>) -> Self {
        self.criteria = criteria;
        self
    }

    /// Records from `networks` are not the selection's, whatever else matches them.
    pub fn excluding(mut self, networks: Vec<crate::gate::network::IpNet>) -> Self {
        self.except_networks = networks;
        self
    }

    pub fn add(&mut self, r: &Exported) {
        let e = &r.event;
        if !self.criteria.iter().all(|c| c.matches(e)) || from_any(e, &self.except_networks) {
            return;
        }
        let session = self.session_keys.key(r);
        if let Some((credentials, admitted)) = &mut self.opened_with {
            let Some(key) = &session else { return };
            if let EventKind::Session { opened: true, .. } = e.kind {
                admitted.insert(key.clone(), credentials.iter().any(|c| opened_with(e, c)));
            } else if credentials.iter().any(|c| tried_with(e, c)) {
                // Tried on this connection: its attempts are the selection's, unless another
                // credential then opened it (dropped at the end).
                admitted.entry(key.clone()).or_insert(true);
            }
            if admitted.get(key) != Some(&true) {
                return;
            }
        }
        self.evidence.records += 1;
        self.rests_on.push((r.seq, session.clone()));
        if let Some(a) = &e.account
            && !self.accounts.contains(a)
        {
            self.accounts.insert(a.clone());
        }
        self.evidence.first_seq = Some(self.evidence.first_seq.map_or(r.seq, |s| s.min(r.seq)));
        self.evidence.last_seq = Some(self.evidence.last_seq.map_or(r.seq, |s| s.max(r.seq)));
        if let Some(id) = &session {
            self.session(id, e);
            self.login(id, e);
        }
        if let EventKind::Alert {
            id,
            rule,
            sessions,
            actions,
            ..
        } = &e.kind
            && actions.iter().any(|a| a == "close_sessions")
        {
            for s in sessions {
                self.contained
                    .insert(s.clone(), format!("contained by alert {id} ({rule})"));
            }
        }
        let EventKind::File {
            op,
            path,
            file,
            outcome,
        } = &e.kind
        else {
            return;
        };
        let tenant = e.tenant.clone().unwrap_or_default();
        match outcome {
            Outcome::Ok => {}
            Outcome::Denied(why) => {
                self.refused_request(tenant, session, (r.seq, e), why);
                return;
            }
            Outcome::Failed { .. } => return,
        }
        if let FileOp::Opendir | FileOp::Readdir { .. } = op {
            self.listed(
                tenant,
                session.unwrap_or_default(),
                e.time,
                op,
                path,
                file.as_ref(),
            );
            return;
        }
        if let FileOp::OpenRead | FileOp::ProgressRead { .. } | FileOp::CloseRead { .. } = op {
            let session = session.unwrap_or_default();
            let Some(f) = file else {
                // Which file it was is known once the tenant's paths are replayed.
                self.reads_before_ids.push(ReadBeforeIds {
                    seq: r.seq,
                    time: e.time,
                    tenant,
                    path: path.clone(),
                    session,
                    op: op.clone(),
                });
                return;
            };
            let read = FileRead {
                file_id: Some(f.id),
                identified_by: Tie::Id.name(),
                path_then: path.clone(),
                size: Some(f.size),
                ..Default::default()
            };
            let at = ReadAt {
                session,
                time: e.time,
                op,
                handle: e.handle,
            };
            self.file_read(FileKey::Id(f.id), tenant, read, at);
            return;
        }
        let (what, to, bytes, replaced) = match op {
            FileOp::CloseWrite { bytes, replaced } => ("upload", None, Some(*bytes), *replaced),
            FileOp::Rename { to, replaced, .. } => ("rename", to.clone(), None, *replaced),
            FileOp::Remove => ("remove", None, None, None),
            FileOp::Setstat => ("setstat", None, None, None),
            FileOp::Mkdir => ("mkdir", None, None, None),
            FileOp::Rmdir => ("rmdir", None, None, None),
            _ => return,
        };
        // A directory renamed: the files that moved with it.
        let files_moved = match op {
            FileOp::Rename { moved: Some(m), .. } => Some(m.count),
            _ => None,
        };
        self.changes.entry(tenant).or_default().push(Change {
            time: e.time,
            seq: r.seq,
            op: what,
            path: path.clone(),
            to,
            file_id: file.as_ref().map(|f| f.id),
            bytes,
            session,
            // Its classes are the catalog's: filled in by the caller.
            replaced: replaced.map(|f| Replaced {
                file_id: f.id,
                size: f.size,
                classes: None,
            }),
            classes: None,
            files_moved,
            size_after: file.as_ref().map(|f| f.size),
        });
    }

    /// A page of a listing (`Readdir`; `Opendir` is recorded only when refused, but older
    /// ledgers recorded it): its directory by id, and by path where the record has one; in
    /// records before file ids by neither, then the session's directory last opened.
    fn listed(
        &mut self,
        tenant: String,
        session: String,
        time: Time,
        op: &FileOp,
        path: &str,
        dir: Option<&events::FileRef>,
    ) {
        let key = match dir {
            Some(d) => DirKey::Id(d.id),
            None if !path.is_empty() => DirKey::Path(path.to_owned()),
            None => match self.last_listed.get(&session) {
                Some(k) => k.clone(),
                None => return,
            },
        };
        self.last_listed.insert(session.clone(), key.clone());
        let (d, sessions) = self.listings.entry((tenant, key.clone())).or_default();
        if let DirKey::Id(id) = key {
            d.dir_id = Some(id);
        }
        // The path of its earliest listing that names one (passes come session by session).
        if !path.is_empty() && (d.path_then.is_empty() || d.first_access.is_some_and(|t| time < t))
        {
            d.path_then = path.to_owned();
        }
        if let FileOp::Readdir { entries } = op {
            d.names_sent += entries.unwrap_or(0);
        }
        sessions.saw(session, time);
        d.first_access = Some(d.first_access.map_or(time, |t| t.min(time)));
        d.last_access = Some(d.last_access.map_or(time, |t| t.max(time)));
    }

    /// A request the permission check refused, counted with alike ones.
    fn refused_request(
        &mut self,
        tenant: String,
        session: Option<String>,
        (seq, e): (u64, &Event),
        why: &str,
    ) {
        let EventKind::File { op, path, file, .. } = &e.kind else {
            return;
        };
        let time = e.time;
        let op = match op {
            FileOp::Other { request } => request.clone(),
            op => op.name().to_owned(),
        };
        let (r, sessions, first_seq) = self
            .refused
            .entry((tenant, op.clone(), path.to_owned(), why.to_owned()))
            .or_insert_with(|| {
                let r = RefusedRequest {
                    op,
                    path: path.to_owned(),
                    file_id: None,
                    why: why.to_owned(),
                    count: 0,
                    sessions: Vec::new(),
                    first: time,
                    last: time,
                };
                (r, FirstSeen::default(), seq)
            });
        *first_seq = (*first_seq).min(seq);
        r.count += 1;
        r.file_id = r.file_id.or(file.map(|f| f.id));
        (r.first, r.last) = (r.first.min(time), r.last.max(time));
        if let Some(s) = session {
            sessions.saw(s, time);
        }
    }

    /// A read of the file `key`: `this` describes the file as this read found it (its path and
    /// size "then" are those of the earliest read).
    fn file_read(&mut self, key: FileKey, tenant: String, this: FileRead, at: ReadAt<'_>) {
        use std::collections::btree_map::Entry;
        let ReadAt {
            session,
            time,
            op,
            handle,
        } = at;
        let facts = match self.files.entry(key) {
            Entry::Vacant(v) => v.insert(FileFacts {
                tenant,
                read: this,
                ..Default::default()
            }),
            Entry::Occupied(o) => {
                let facts = o.into_mut();
                // The selection is read in several passes (one per session of a credential):
                // records arrive in time order within a pass, not across passes.
                if facts.read.first_access.is_some_and(|t| time < t) {
                    facts.read.path_then = this.path_then;
                    facts.read.size = this.size;
                }
                facts
            }
        };
        facts.read.first_access = Some(facts.read.first_access.map_or(time, |t| t.min(time)));
        facts.read.last_access = Some(facts.read.last_access.map_or(time, |t| t.max(time)));
        let (transfer, first, last) = facts
            .transfers
            .entry(session)
            .or_insert_with(|| (Transfer::default(), time, time));
        (*first, *last) = ((*first).min(time), (*last).max(time));
        transfer.record(op, handle);
    }

    /// The tenants and sequence numbers of the selection's reads recorded before file ids:
    /// what a path replay must tie to files.
    pub fn reads_before_ids(&self) -> BTreeMap<String, std::collections::BTreeSet<u64>> {
        let mut out: BTreeMap<String, std::collections::BTreeSet<u64>> = BTreeMap::new();
        for r in &self.reads_before_ids {
            out.entry(r.tenant.clone()).or_default().insert(r.seq);
        }
        out
    }

    /// Ties the reads recorded before file ids to files: `lineage(tenant, seq)` is the lineage
    /// the tenant's path replay gave the read (`None`: not replayed, listed by its path) and
    /// `fate(tenant, lineage)` what became of it. Reads of one lineage are one file.
    pub fn tie_reads_before_ids(
        &mut self,
        lineage: impl Fn(&str, u64) -> Option<usize>,
        fate: impl Fn(&str, usize) -> Fate,
    ) {
        for r in std::mem::take(&mut self.reads_before_ids) {
            let (key, read) = match lineage(&r.tenant, r.seq) {
                Some(l) => {
                    let fate = fate(&r.tenant, l);
                    let tie = if fate.uncertain {
                        Tie::Uncertain
                    } else {
                        Tie::Path
                    };
                    let read = FileRead {
                        file_id: fate.id,
                        identified_by: tie.name(),
                        path_then: r.path.clone(),
                        deleted: fate.path.is_none(),
                        path_now: fate.path,
                        ..Default::default()
                    };
                    (FileKey::Lineage(r.tenant.clone(), l), read)
                }
                None => {
                    let read = FileRead {
                        identified_by: Tie::Path.name(),
                        path_then: r.path.clone(),
                        ..Default::default()
                    };
                    (FileKey::Path(r.tenant.clone(), r.path.clone()), read)
                }
            };
            let at = ReadAt {
                session: r.session,
                time: r.time,
                op: &r.op,
                // Records from before file ids name no download either.
                handle: None,
            };
            self.file_read(key, r.tenant, read, at);
        }
    }

    /// Notes that containment closed `session` (for alerts whose record is outside the
    /// selection's records).
    pub fn contained(&mut self, session: &str, why: String) {
        self.contained.insert(session.to_owned(), why);
    }

    /// What record `e` of session `id` shows of its login.
    fn login(&mut self, id: &str, e: &Event) {
        let l = self.logins.entry(id.to_owned()).or_default();
        match &e.kind {
            EventKind::Auth {
                result: events::AuthResult::Refused | events::AuthResult::Partial,
                method,
                ..
            } => {
                let (first, last) = l.span.unwrap_or((e.time, e.time));
                l.span = Some((first.min(e.time), last.max(e.time)));
                l.refused += 1;
                if !l.methods.contains(method) {
                    l.methods.push(method.clone());
                }
            }
            EventKind::Auth {
                result: events::AuthResult::Success,
                ..
            }
            | EventKind::Session { .. }
            | EventKind::File { .. } => l.logged_in = true,
            EventKind::Connection { .. } => {
                l.connected.get_or_insert(e.time);
            }
            _ => {}
        }
    }

    fn session(&mut self, id: &str, e: &Event) {
        if let Some(node) = &e.node
            && !self.nodes.contains_key(id)
        {
            self.nodes.insert(id.to_owned(), node.clone());
        }
        let row = self
            .sessions
            .entry(id.to_owned())
            .or_insert_with(|| SessionRow {
                id: id.to_owned(),
                ..Default::default()
            });
        if row.account.is_none() {
            row.account.clone_from(&e.account);
        }
        if row.tenant.is_none() {
            row.tenant.clone_from(&e.tenant);
        }
        if row.source.is_none() {
            row.source = e.source.map(|s| s.to_string());
        }
        if row.client.is_none() {
            row.client.clone_from(&e.client_version);
        }
        if let EventKind::Session {
            opened,
            methods,
            credential,
            ended_by,
        } = &e.kind
        {
            if *opened {
                row.opened = Some(e.time);
                row.methods.clone_from(methods);
                row.credential.clone_from(credential);
            } else {
                row.closed = Some(e.time);
                if ended_by.is_some() {
                    row.ended_by.clone_from(ended_by);
                }
            }
        }
        // The login's success (durable before the session is accepted) opens it until the
        // session's own record (queued, a moment later) says more: a crash between the two
        // leaves the session its opening all the same.
        if let EventKind::Auth {
            result: events::AuthResult::Success,
            method,
            credential,
            ..
        } = &e.kind
            && row.opened.is_none()
        {
            row.opened = Some(e.time);
            row.methods = Some(method.clone());
            row.credential.clone_from(credential);
        }
    }

    /// The servers' starts, each with the node that started ([`crate::server_runs::starts`]):
    /// a session with no end recorded that a start of its server follows was cut off there.
    pub fn server_starts(&mut self, starts: Vec<(Option<String>, Time)>) {
        self.starts = starts;
    }

    /// Sessions of the report whose opening record was not among the records read (opened
    /// before a time range's start): their opening is looked up apart ([`Collector::opening`]).
    /// Sessions of ids that earlier server runs reused are left out (which run's opening is
    /// theirs, the records before the range do not say).
    pub fn openings_missing(&self) -> Vec<String> {
        self.sessions
            .values()
            .filter(|row| row.opened.is_none() && !row.id.contains('@'))
            .map(|row| row.id.clone())
            .collect()
    }

    /// The opening record `r` of a session of the report opened before the records read begin:
    /// its time, methods and credential for the session's row (the report's evidence is the
    /// records read; this one only describes the session).
    pub fn opening(&mut self, r: &Exported) {
        let EventKind::Session {
            opened: true,
            methods,
            credential,
            ..
        } = &r.event.kind
        else {
            return;
        };
        if let Some(row) = r
            .event
            .session
            .as_ref()
            .and_then(|s| self.sessions.get_mut(s))
            .filter(|row| row.opened.is_none())
        {
            row.opened = Some(r.event.time);
            row.methods.clone_from(methods);
            row.credential.clone_from(credential);
            self.rests_on.push((r.seq, r.event.session.clone()));
        }
    }

    /// The files read, per tenant, and the sessions; current paths and classes are filled in
    /// by the caller ([`crate::admin::Admin::incident_report`]).
    pub fn finish(mut self, selection: String) -> Report {
        // A credential's report: a connection it was tried on that another credential then
        // opened (a client offering its keys in turn) is that credential's session, not this.
        if let Some((_, admitted)) = &self.opened_with {
            self.sessions
                .retain(|id, _| admitted.get(id).copied().unwrap_or(true));
            self.rests_on.retain(|(_, session)| {
                session
                    .as_ref()
                    .is_none_or(|id| admitted.get(id).copied().unwrap_or(true))
            });
        }
        let mut rests_on: Vec<u64> = self.rests_on.iter().map(|(seq, _)| *seq).collect();
        rests_on.sort_unstable();
        rests_on.dedup();
        // Reads before file ids that no replay tied: by their path.
        self.tie_reads_before_ids(|_, _| None, |_, _| Fate::default());
        for (id, why) in std::mem::take(&mut self.contained) {
            // For ledgers from before sessions recorded why they were closed.
            if let Some(row) = self.sessions.get_mut(&id).filter(|r| r.ended_by.is_none()) {
                row.ended_by = Some(why);
            }
        }
        // No end recorded, and its server started again since: cut off by a stop that
        // recorded nothing (a crash, kill -9, power loss), not still open.
        for (id, row) in &mut self.sessions {
            let (None, None, Some(opened)) = (row.closed, &row.ended_by, row.opened) else {
                continue;
            };
            let node = self.nodes.get(id);
            let same_server =
                |n: &Option<String>| n.is_none() || node.is_none() || n.as_ref() == node;
            if let Some((_, at)) = self
                .starts
                .iter()
                .find(|(n, at)| *at > opened && same_server(n))
            {
                row.ended_by = Some(format!(
                    "cut off: its server stopped without recording its end (started again {at})"
                ));
            }
        }
        let mut tenants: BTreeMap<String, TenantSection> = BTreeMap::new();
        fn section<'a>(
            tenants: &'a mut BTreeMap<String, TenantSection>,
            tenant: &str,
        ) -> &'a mut TenantSection {
            tenants
                .entry(tenant.to_owned())
                .or_insert_with(|| TenantSection {
                    tenant: tenant.to_owned(),
                    ..Default::default()
                })
        }
        for (_, mut f) in self.files {
            f.read.by_session = f
                .transfers
                .iter()
                .map(|(session, (t, first, last))| SessionRead {
                    session: session.clone(),
                    bytes_read: t.bytes(),
                    first_access: *first,
                    last_access: *last,
                })
                .collect();
            f.read.bytes_read = f.read.by_session.iter().map(|s| s.bytes_read).sum();
            f.read.read = read_extent(f.transfers.values().map(|(t, ..)| t), f.read.size);
            f.read.parts_read = parts_read(f.transfers.values().map(|(t, ..)| t), f.read.size);
            // Its sessions, in the order they first read it.
            let mut order: Vec<&SessionRead> = f.read.by_session.iter().collect();
            order.sort_by_key(|s| s.first_access);
            f.read.sessions = order.into_iter().map(|s| s.session.clone()).collect();
            section(&mut tenants, &f.tenant).files_read.push(f.read);
        }
        for (tenant, mut changes) in self.changes {
            // In ledger order, though a selection of several sessions is read one at a time.
            changes.sort_by_key(|c| c.seq);
            section(&mut tenants, &tenant).changes = changes;
        }
        for ((tenant, _), (mut d, sessions)) in self.listings {
            d.sessions = sessions.in_order();
            section(&mut tenants, &tenant).directories_listed.push(d);
        }
        // In the order they were first tried (the ledger's, within a millisecond).
        let mut refused: Vec<_> = self.refused.into_iter().collect();
        refused.sort_by_key(|(_, (r, _, seq))| (r.first, *seq));
        for ((tenant, ..), (mut r, sessions, _)) in refused {
            r.sessions = sessions.in_order();
            section(&mut tenants, &tenant).refused.push(r);
        }
        for t in tenants.values_mut() {
            // In the order they were first listed.
            t.directories_listed.sort_by_key(|d| d.first_access);
        }
        // Connections that never logged in are not sessions: listed apart, those that closed
        // before trying anything too (a port scan, a client's spare connection), with no
        // attempt.
        let mut sessions = Vec::new();
        let mut failed_logins = Vec::new();
        for (id, row) in self.sessions {
            let failed = self.logins.get(&id).filter(|l| !l.logged_in).and_then(|l| {
                let (first, last) = match (l.span, l.connected) {
                    (Some((first, last)), connected) => {
                        (connected.map_or(first, |c| c.min(first)), last)
                    }
                    (None, Some(connected)) => (connected, connected),
                    (None, None) => return None,
                };
                Some((l, first, last))
            });
            match failed {
                Some((l, first, last)) => failed_logins.push(FailedLogin {
                    session: id,
                    account: row.account,
                    source: row.source,
                    client: row.client,
                    methods: l.methods.clone(),
                    attempts: l.refused,
                    first,
                    last,
                }),
                None => sessions.push(row),
            }
        }
        failed_logins.sort_by_key(|f| f.first);
        Report {
            selection,
            // The caller's clock says (`Admin::incident_report`).
            made: Time::default(),
            sessions,
            failed_logins,
            tenants: tenants.into_values().collect(),
            totals: Totals::default(),
            evidence: self.evidence,
            rests_on,
            accounts: self.accounts.into_iter().collect(),
            scope: None,
            after_checkpoint: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::FileRef;

    /// `e` as the ledger gives it back, at sequence number `seq`.
    fn exported(seq: u64, event: Event) -> Exported {
        Exported {
            seq,
            hash: String::new(),
            event,
        }
    }

    fn file(seq: u64, ms: i64, session: &str, op: FileOp, id: i64) -> Exported {
        let mut e = Event::new(
            Time::from_millis(ms),
            EventKind::File {
                op,
                path: format!("/f{id}"),
                file: Some(FileRef { id, size: 1000 }),
                outcome: Outcome::Ok,
            },
        );
        e.session = Some(session.into());
        e.tenant = Some("acme".into());
        e.account = Some("mallory".into());
        exported(seq, e)
    }

    /// Every record must match every criterion: an account's records from another address
    /// are left out, and an IPv4 client recorded as an IPv4-mapped IPv6 address still matches
    /// an IPv4 network.
    #[test]
    fn records_must_match_every_criterion() {
        let from = |seq: u64, session: &str, source: &str, id: i64| {
            let mut r = file(seq, seq as i64, session, FileOp::OpenRead, id);
            r.event.source = Some(source.parse().unwrap());
            r
        };
        let criteria = vec![
            Criterion {
                accounts: ["mallory".to_owned()].into(),
                ..Default::default()
            },
            Criterion {
                networks: vec!["203.0.113.0/24".parse().unwrap()],
                ..Default::default()
            },
        ];
        let mut c = Collector::default()
            .matching(criteria)
            .excluding(vec!["203.0.113.128/25".parse().unwrap()]);
        c.add(&from(1, "office", "198.51.100.4:50000", 1));
        // From the network left out: not the selection's, though it matches the criteria.
        c.add(&from(5, "kept out", "203.0.113.200:40000", 5));
        c.add(&from(2, "attacker", "203.0.113.9:40000", 2));
        c.add(&from(3, "mapped", "[::ffff:203.0.113.10]:40000", 3));
        let mut other = from(4, "someone", "203.0.113.9:40001", 4);
        other.event.account = Some("bob".into());
        c.add(&other);
        let r = c.finish("x".into());
        let files: Vec<_> = r.tenants[0].files_read.iter().map(|f| f.file_id).collect();
        assert_eq!(files, vec![Some(2), Some(3)]);
        assert_eq!(r.evidence.records, 2);
    }

    /// Pages of a listing add up per directory (by id, its path from the records that have
    /// one; a page recorded before file ids goes to the session's directory last listed);
    /// refusals are counted with alike ones; a request allowed that failed is neither.
    #[test]
    fn listings_and_refusals_are_gathered_per_directory_and_request() {
        let page = |seq: u64, session: &str, path: &str, dir: Option<i64>, n: u64| {
            let mut r = file(
                seq,
                seq as i64,
                session,
                FileOp::Readdir { entries: Some(n) },
                0,
            );
            if let EventKind::File { path: p, file, .. } = &mut r.event.kind {
                *p = path.into();
                *file = dir.map(|id| FileRef { id, size: 0 });
            }
            r
        };
        let with = |seq: u64, op: FileOp, path: &str, outcome: Outcome| {
            let mut r = file(seq, seq as i64, "s1", op, 9);
            if let EventKind::File {
                path: p,
                outcome: o,
                ..
            } = &mut r.event.kind
            {
                *p = path.into();
                *o = outcome;
            }
            r
        };
        let mut c = Collector::default();
        // An older page (no path), then two with it, in another session too.
        c.add(&page(1, "s1", "", Some(4), 100));
        c.add(&page(2, "s1", "/in", Some(4), 20));
        c.add(&page(3, "s2", "/in", Some(4), 5));
        // Before file ids: the opening names the path, the pages nothing.
        let mut opened = with(4, FileOp::Opendir, "/old", Outcome::Ok);
        if let EventKind::File { file, .. } = &mut opened.event.kind {
            *file = None;
        }
        c.add(&opened);
        c.add(&page(5, "s1", "", None, 7));
        let denied = || Outcome::Denied("read-only account".into());
        c.add(&with(6, FileOp::Remove, "/in/a", denied()));
        c.add(&with(7, FileOp::Remove, "/in/a", denied()));
        c.add(&with(8, FileOp::OpenWrite, "/in/b", denied()));
        c.add(&with(
            9,
            FileOp::Stat,
            "/in/c",
            Outcome::Failed {
                code: events::FailureCode::NoSuchFile,
                message: "no such file".into(),
            },
        ));
        let mut r = c.finish("x".into());
        r.total();
        let t = &r.tenants[0];
        let dirs: Vec<_> = t
            .directories_listed
            .iter()
            .map(|d| {
                (
                    d.dir_id,
                    d.path_then.as_str(),
                    d.names_sent,
                    d.sessions.len(),
                )
            })
            .collect();
        assert_eq!(dirs, vec![(Some(4), "/in", 125, 2), (None, "/old", 7, 1)]);
        let refused: Vec<_> = t
            .refused
            .iter()
            .map(|q| (q.op.as_str(), q.path.as_str(), q.count, q.file_id))
            .collect();
        assert_eq!(
            refused,
            vec![
                ("remove", "/in/a", 2, Some(9)),
                ("open_write", "/in/b", 1, Some(9))
            ]
        );
        assert_eq!(
            (
                r.totals.directories_listed,
                r.totals.names_sent,
                r.totals.refused
            ),
            (2, 132, 3)
        );
    }

    /// Two downloads of one file open at once in one session: their records carry the
    /// downloads' numbers, so each one's progress and close are its own (without them, the
    /// first's progress when the second opened was counted once more at its close).
    #[test]
    fn downloads_open_at_once_are_counted_each_once() {
        let numbered = |seq: u64, op: FileOp, handle: u64| {
            let mut r = file(seq, seq as i64, "s1", op, 7);
            r.event.handle = Some(handle);
            r
        };
        let close = |bytes: u64| FileOp::CloseRead {
            bytes,
            whole_file: false,
            ranges: None,
        };
        let bytes_of = |records: &[Exported]| {
            let mut c = Collector::default();
            for r in records {
                c.add(r);
            }
            c.finish("x".into()).tenants[0].files_read[0].bytes_read
        };
        let extent_of = |records: &[Exported]| {
            let mut c = Collector::default();
            for r in records {
                c.add(r);
            }
            c.finish("x".into()).tenants[0].files_read[0].read
        };
        let mut records = vec![
            numbered(1, FileOp::OpenRead, 1),
            numbered(2, FileOp::ProgressRead { bytes: 100 }, 1),
            numbered(3, FileOp::OpenRead, 2),
            numbered(4, close(200), 1),
            numbered(5, FileOp::ProgressRead { bytes: 50 }, 2),
        ];
        // The second cut short (the server stopped before its close): its last progress, and
        // the file's extent unfinished (its bytes a lower bound).
        assert_eq!(bytes_of(&records), 250);
        assert_eq!(extent_of(&records), "unfinished");
        records.push(numbered(6, close(300), 2));
        assert_eq!(bytes_of(&records), 500);
        assert_eq!(extent_of(&records), "partial");
        // The same records without numbers, as before December 2026: the first's progress is
        // counted again (the records could not tell the downloads apart).
        for r in &mut records {
            r.event.handle = None;
        }
        assert_eq!(bytes_of(&records), 600);
    }

    #[test]
    fn a_selection_says_each_kind_and_its_alternatives() {
        let one = Selection {
            networks: vec!["203.0.113.7/32".parse().unwrap()],
            ..Default::default()
        };
        assert_eq!(one.to_string(), "address 203.0.113.7");
        let combined = Selection {
            accounts: vec!["ops".into(), "eve".into()],
            networks: vec!["203.0.113.0/24".parse().unwrap()],
            alerts: vec!["a1".into()],
            except_networks: vec!["203.0.113.7/32".parse().unwrap()],
            ..Default::default()
        };
        assert_eq!(
            combined.to_string(),
            "(account ops or account eve) and network 203.0.113.0/24 and alert a1 \
             and not address 203.0.113.7"
        );
        assert!(Selection::default().is_empty());
    }

    /// A key's sessions are selected by id; an id of schema 1 can also name another run's
    /// session, opened with another key: its records are not the key's.
    #[test]
    fn a_credential_report_leaves_out_other_sessions_with_the_same_id() {
        let opened = |seq: u64, credential: &str, account: &str| {
            let mut e = Event::new(
                Time::from_millis(seq as i64),
                EventKind::Session {
                    opened: true,
                    methods: Some("publickey".into()),
                    credential: Some(credential.into()),
                    ended_by: None,
                },
            );
            e.session = Some("3".into());
            e.account = Some(account.into());
            Exported {
                seq,
                hash: String::new(),
                event: e,
            }
        };
        let mut c = Collector::opened_with(&["SHA256:stolen".into()]);
        c.add(&opened(1, "SHA256:stolen", "mallory"));
        c.add(&file(2, 2, "3", FileOp::OpenRead, 7));
        // The next server run counted its session ids again: another account's session 3.
        c.add(&opened(4, "SHA256:other", "bob"));
        c.add(&file(5, 5, "3", FileOp::OpenRead, 8));
        let r = c.finish("credential SHA256:stolen".into());
        let files: Vec<_> = r.tenants[0].files_read.iter().map(|f| f.file_id).collect();
        assert_eq!(files, vec![Some(7)]);
        let sessions: Vec<_> = r.sessions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(sessions, vec!["3"]);
        assert_eq!(r.evidence.records, 2);
    }

    /// A credential's report reads one session's records after another's: a file's first and
    /// last access are the earliest and latest of all its reads, whatever order they came in.
    #[test]
    fn first_and_last_access_do_not_depend_on_the_order_of_passes() {
        let mut c = Collector::default();
        // Session s1 (read first in the report) read at 50, after a rename; s2 (read after it)
        // at 10 and 20, at the path before.
        let mut renamed = file(5, 50, "s1", FileOp::OpenRead, 7);
        if let EventKind::File { path, file, .. } = &mut renamed.event.kind {
            *path = "/renamed".into();
            *file = Some(FileRef { id: 7, size: 2000 });
        }
        c.add(&renamed);
        c.add(&file(1, 10, "s2", FileOp::OpenRead, 7));
        c.add(&file(2, 20, "s2", FileOp::OpenRead, 7));
        // Their changes: in ledger order.
        c.add(&file(
            9,
            60,
            "s1",
            FileOp::Rename {
                to: Some("/g".into()),
                replaced: None,
                moved: None,
            },
            7,
        ));
        c.add(&file(3, 30, "s2", FileOp::Remove, 8));
        let r = c.finish("credential SHA256:x".into());
        let seqs: Vec<u64> = r.tenants[0].changes.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, vec![3, 9]);
        let f = &r.tenants[0].files_read[0];
        assert_eq!((f.path_then.as_str(), f.size), ("/f7", Some(1000)));
        assert_eq!(
            (f.first_access, f.last_access),
            (Some(Time::from_millis(10)), Some(Time::from_millis(50)))
        );
        // Each session's own reads of it.
        let each: Vec<_> = f
            .by_session
            .iter()
            .map(|s| {
                (
                    s.session.as_str(),
                    s.first_access.as_millis(),
                    s.last_access.as_millis(),
                )
            })
            .collect();
        assert_eq!(each, vec![("s1", 50, 50), ("s2", 10, 20)]);
    }

    #[test]
    fn transfers_cut_short_count_their_last_progress_and_denials_count_nothing() {
        let mut c = Collector::default();
        // Read whole in one session; in another, cut short after 300 bytes with no close
        // recorded (a crash, or a kill before sessions' ends recorded their downloads' closes):
        // unfinished, its bytes a lower bound.
        c.add(&file(1, 10, "s1", FileOp::OpenRead, 7));
        c.add(&file(
            2,
            11,
            "s1",
            FileOp::CloseRead {
                bytes: 1000,
                whole_file: true,
                ranges: None,
            },
            7,
        ));
        c.add(&file(3, 12, "s2", FileOp::OpenRead, 8));
        c.add(&file(4, 13, "s2", FileOp::ProgressRead { bytes: 300 }, 8));
        // Two handles on one file, the first left open at 200 bytes.
        c.add(&file(5, 14, "s3", FileOp::OpenRead, 9));
        c.add(&file(6, 15, "s3", FileOp::ProgressRead { bytes: 200 }, 9));
        c.add(&file(7, 16, "s3", FileOp::OpenRead, 9));
        c.add(&file(
            8,
            17,
            "s3",
            FileOp::CloseRead {
                bytes: 50,
                whole_file: false,
                ranges: None,
            },
            9,
        ));
        // Halves read by two sessions (the file holds 1000 bytes): the selection read it whole.
        for (seq, session) in [(20, "s4"), (22, "s5")] {
            c.add(&file(seq, 20, session, FileOp::OpenRead, 11));
            c.add(&file(
                seq + 1,
                21,
                session,
                FileOp::CloseRead {
                    bytes: 500,
                    whole_file: false,
                    ranges: None,
                },
                11,
            ));
        }
        // A denied open reads nothing.
        let mut denied = file(9, 18, "s1", FileOp::OpenRead, 10);
        if let EventKind::File { outcome, .. } = &mut denied.event.kind {
            *outcome = Outcome::Denied("read-only".into());
        }
        c.add(&denied);
        let mut r = c.finish("account mallory".into());
        r.total();
        let files = &r.tenants[0].files_read;
        let got: Vec<(Option<i64>, u64, &str)> = files
            .iter()
            .map(|f| (f.file_id, f.bytes_read, f.read))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(7), 1000, "whole"),
                (Some(8), 300, "unfinished"),
                (Some(9), 250, "partial"),
                (Some(11), 1000, "whole")
            ]
        );
        assert_eq!(r.totals.files, 4);
        assert_eq!(r.totals.bytes_read, 2550);
        assert_eq!(
            (
                r.evidence.first_seq,
                r.evidence.last_seq,
                r.evidence.records
            ),
            (Some(1), Some(23), 13)
        );
    }

    /// Reads recorded before file ids (schema 1) are listed by their path, whole or in part,
    /// each path once per tenant, beside the reads of files with ids.
    #[test]
    fn reads_recorded_before_file_ids_are_listed_by_path() {
        let v1 = |seq: u64, rest: &str| {
            let json = format!(
                r#"{{"time":1800000000,"source":"127.0.0.2:5000","account":"mallory","tenant":"acme","session":"3",{rest}}}"#
            );
            Exported {
                seq,
                hash: String::new(),
                event: Event::from_stored(json.as_bytes()).unwrap(),
            }
        };
        let mut c = Collector::default();
        c.add(&v1(
            1,
            r#""kind":"file","op":"open_read","path":"/old.csv","outcome":"ok""#,
        ));
        c.add(&v1(
            2,
            r#""kind":"file","op":"close_read","path":"/old.csv","bytes":4096,"whole_file":true,"outcome":"ok""#,
        ));
        c.add(&v1(
            3,
            r#""kind":"file","op":"open_read","path":"/part.csv","outcome":"ok""#,
        ));
        c.add(&v1(
            4,
            r#""kind":"file","op":"close_read","path":"/part.csv","bytes":10,"whole_file":false,"outcome":"ok""#,
        ));
        c.add(&v1(
            5,
            r#""kind":"file","op":"open_read","path":"/denied.csv","outcome":"denied: no""#,
        ));
        c.add(&file(6, 1_800_000_001_000, "s9", FileOp::OpenRead, 7));
        let mut r = c.finish("account mallory".into());
        r.total();
        let files = &r.tenants[0].files_read;
        // A schema-1 record does not say the file's size: unknown, not 0.
        let got: Vec<_> = files
            .iter()
            .map(|f| {
                (
                    f.file_id,
                    f.path_then.as_str(),
                    f.size,
                    f.bytes_read,
                    f.read,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(7), "/f7", Some(1000), 0, "unfinished"),
                (None, "/old.csv", None, 4096, "whole"),
                (None, "/part.csv", None, 10, "partial"),
            ]
        );
        assert_eq!(r.totals.files, 3);
        assert_eq!(r.totals.bytes_read, 4106);
        // In CSV the id and the size are empty.
        let rows = r.csv_rows();
        assert_eq!(rows[0][5], "size");
        assert_eq!(rows[1][5], "1000");
        assert_eq!(rows[2][5], "");
        assert_eq!(rows[2][..3], ["acme", "", "/old.csv"]);
        assert_eq!(rows[1][1], "7");
        assert_eq!(rows[2][11], "path");
        assert_eq!(rows[1][11], "file_id");
    }

    /// `incident file`: a session that read a file's halves through two handles read it whole.
    #[test]
    fn a_file_read_in_halves_is_read_whole() {
        let mut readers = FileReaders::new(7, None, None);
        for seq in [1, 3] {
            readers.add(&file(seq, seq as i64, "s1", FileOp::OpenRead, 7), None);
            let close = FileOp::CloseRead {
                bytes: 500,
                whole_file: false,
                ranges: None,
            };
            readers.add(&file(seq + 1, seq as i64 + 1, "s1", close, 7), None);
        }
        let rows = readers.finish(None);
        assert_eq!(
            rows.iter()
                .map(|r| (r.bytes_read, r.read))
                .collect::<Vec<_>>(),
            vec![(1000, "whole")]
        );
    }

    /// Where records say which parts of a file each handle covered, the parts are joined:
    /// halves read by two handles (or two sessions) are the whole, one half read twice is not
    /// (though as many bytes were sent as the file holds); where a record does not say (older
    /// ones), bytes sent count as before, so that an exposure is not understated. The same in
    /// the report and in `incident file`.
    #[test]
    fn parts_read_are_joined_where_records_name_them() {
        // Each handle of a case: (bytes sent, the parts it covered, if its record says).
        type Parts = Option<Vec<(u64, u64)>>;
        type Handle = (u64, Parts);
        // One handle's parts past what a coverage keeps: joined over gaps, no longer exact.
        let scattered: Vec<Handle> =
            vec![(300, Some((0..300).map(|i| (3 * i, 3 * i + 1)).collect()))];
        // With what the report then says was read, and which parts when it knows them.
        let cases: [(&[Handle], &str, Parts); 7] = [
            (&scattered, "partial", None),
            (
                &[(500, Some(vec![(0, 500)])), (500, Some(vec![(500, 1000)]))],
                "whole",
                None,
            ),
            (
                &[(500, Some(vec![(0, 500)])), (500, Some(vec![(0, 500)]))],
                "partial",
                Some(vec![(0, 500)]),
            ),
            (
                &[(1000, Some(vec![(0, 500)]))],
                "partial",
                Some(vec![(0, 500)]),
            ),
            (
                &[
                    (200, Some(vec![(100, 200), (900, 1000)])),
                    (150, Some(vec![(150, 300)])),
                ],
                "partial",
                Some(vec![(100, 300), (900, 1000)]),
            ),
            (&[(500, Some(vec![(0, 500)])), (500, None)], "whole", None),
            (&[(300, Some(vec![(0, 300)])), (500, None)], "partial", None),
        ];
        for (handles, want, parts) in cases {
            let close = |bytes: u64, ranges: &Option<Vec<(u64, u64)>>| FileOp::CloseRead {
                bytes,
                whole_file: false,
                ranges: ranges.clone(),
            };
            let mut readers = FileReaders::new(7, None, None);
            let mut c = Collector::default();
            for (i, (bytes, ranges)) in handles.iter().enumerate() {
                let seq = 2 * i as u64 + 1;
                // The report: each handle in a session of its own.
                let session = format!("s{i}");
                c.add(&file(seq, seq as i64, &session, FileOp::OpenRead, 7));
                c.add(&file(
                    seq + 1,
                    seq as i64 + 1,
                    &session,
                    close(*bytes, ranges),
                    7,
                ));
                // `incident file`: the handles one after the other in one session.
                readers.add(&file(seq, seq as i64, "s1", FileOp::OpenRead, 7), None);
                readers.add(
                    &file(seq + 1, seq as i64 + 1, "s1", close(*bytes, ranges), 7),
                    None,
                );
            }
            let rows = readers.finish(None);
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].read, want, "{handles:?}");
            assert_eq!(rows[0].parts_read, parts, "{handles:?}");
            let r = c.finish("account mallory".into());
            assert_eq!(r.tenants[0].files_read[0].read, want, "{handles:?}");
            assert_eq!(r.tenants[0].files_read[0].parts_read, parts, "{handles:?}");
        }
    }

    /// A connection refused at every attempt is a failed login, not a session; one that logged
    /// in after refusals is a session.
    #[test]
    fn connections_that_never_logged_in_are_failed_logins() {
        let auth = |seq: u64, session: &str, result: events::AuthResult| {
            let mut e = Event::new(
                Time::from_millis(seq as i64),
                EventKind::Auth {
                    method: "password".into(),
                    factor: events::Factor::First,
                    result,
                    reason: None,
                    credential: None,
                },
            );
            e.session = Some(session.into());
            e.account = Some("mallory".into());
            exported(seq, e)
        };
        let mut c = Collector::default();
        c.add(&auth(1, "guess", events::AuthResult::Refused));
        c.add(&auth(2, "guess", events::AuthResult::Refused));
        c.add(&auth(3, "typo", events::AuthResult::Refused));
        c.add(&auth(4, "typo", events::AuthResult::Success));
        c.add(&file(5, 5, "typo", FileOp::OpenRead, 7));
        let r = c.finish("account mallory".into());
        let sessions: Vec<_> = r.sessions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(sessions, vec!["typo"]);
        assert_eq!(r.failed_logins.len(), 1);
        let f = &r.failed_logins[0];
        assert_eq!(
            (f.session.as_str(), f.attempts, f.methods.clone()),
            ("guess", 2, vec!["password".to_owned()])
        );
        assert_eq!((f.first.as_millis(), f.last.as_millis()), (1, 2));

        // A connection that closed before trying anything (its acceptance its only record), and
        // one whose password was right but whose second factor never came: no sessions.
        let mut c = Collector::default();
        let mut accepted = Event::new(
            Time::from_millis(10),
            EventKind::Connection {
                accepted: true,
                reason: None,
            },
        );
        accepted.session = Some("scan".into());
        accepted.source = Some("127.0.0.7:4000".parse().unwrap());
        c.add(&exported(10, accepted));
        c.add(&auth(11, "half", events::AuthResult::Partial));
        let r = c.finish("address 127.0.0.7".into());
        assert!(r.sessions.is_empty(), "{:?}", r.sessions);
        let failed: Vec<_> = r
            .failed_logins
            .iter()
            .map(|f| {
                (
                    f.session.as_str(),
                    f.attempts,
                    f.methods.len(),
                    f.first.as_millis(),
                )
            })
            .collect();
        assert_eq!(failed, [("scan", 0, 0, 10), ("half", 1, 1, 11)]);
    }

    /// A credential's report: a connection the key was tried on and that stopped at the second
    /// factor is a failed login of the selection; one where the client then logged in with
    /// another key is that key's session, not the selection's.
    #[test]
    fn a_credential_tried_without_logging_in_is_a_failed_login_of_its_report() {
        let record = |seq: u64, session: &str, kind: EventKind| {
            let mut e = Event::new(Time::from_millis(seq as i64), kind);
            e.session = Some(session.into());
            e.account = Some("alice".into());
            e.tenant = Some("acme".into());
            exported(seq, e)
        };
        let auth = |result, credential: &str| EventKind::Auth {
            method: "publickey".into(),
            factor: events::Factor::First,
            result,
            reason: None,
            credential: Some(credential.into()),
        };
        let stolen = "SHA256:stolen";
        let mut c = Collector::opened_with(&[stolen.to_owned()]);
        // Stopped at the second factor.
        c.add(&record(
            1,
            "half",
            auth(events::AuthResult::Partial, stolen),
        ));
        // Offered first (removed since: refused), then the owner's other key logged in.
        c.add(&record(
            2,
            "owner",
            auth(events::AuthResult::Refused, stolen),
        ));
        c.add(&record(
            3,
            "owner",
            auth(events::AuthResult::Success, "SHA256:other"),
        ));
        c.add(&record(
            4,
            "owner",
            EventKind::Session {
                opened: true,
                methods: Some("publickey".into()),
                credential: Some("SHA256:other".into()),
                ended_by: None,
            },
        ));
        c.add(&file(5, 5, "owner", FileOp::OpenRead, 7));
        let r = c.finish(format!("credential {stolen}"));
        assert!(r.sessions.is_empty(), "{:?}", r.sessions);
        assert!(r.tenants.is_empty(), "the owner's read is listed");
        let failed: Vec<&str> = r.failed_logins.iter().map(|f| f.session.as_str()).collect();
        assert_eq!(failed, ["half"]);
    }

    /// Session ids of schema 1 began again with each server run: two sessions with one id are
    /// two sessions in the report and in `incident file`, the later shown with the sequence
    /// number of its opening record.
    #[test]
    fn session_ids_reused_by_a_later_server_run_are_two_sessions() {
        let v1 = |seq: u64, rest: &str| {
            let json = format!(
                r#"{{"time":{},"source":"127.0.0.2:5000","account":"mallory","tenant":"acme","session":"3",{rest}}}"#,
                1_800_000_000 + seq
            );
            Exported {
                seq,
                hash: String::new(),
                event: Event::from_stored(json.as_bytes()).unwrap(),
            }
        };
        let open = r#""kind":"session","opened":true"#;
        let close = r#""kind":"session","opened":false"#;
        let read = |bytes: u64| {
            format!(
                r#""kind":"file","op":"close_read","path":"/a.csv","bytes":{bytes},"whole_file":false,"outcome":"ok""#
            )
        };
        let records = [
            v1(1, open),
            v1(2, &read(10)),
            v1(3, close),
            // The server restarted: its first session is 3 again.
            v1(7, open),
            v1(8, &read(20)),
            v1(9, close),
        ];
        let mut c = Collector::default();
        for r in &records {
            c.add(r);
        }
        let r = c.finish("account mallory".into());
        let sessions: Vec<(&str, Option<Time>, Option<Time>)> = r
            .sessions
            .iter()
            .map(|s| (s.id.as_str(), s.opened, s.closed))
            .collect();
        let at = |seq: i64| Some(Time::from_secs(1_800_000_000 + seq));
        assert_eq!(sessions, vec![("3", at(1), at(3)), ("3@7", at(7), at(9))]);
        assert_eq!(r.tenants[0].files_read[0].sessions, ["3", "3@7"]);
        // Who read /a.csv (a file the replay knows only by path).
        let mut history = crate::path_history::PathHistory::default();
        let mut readers = FileReaders::new(5, None, None);
        for r in &records {
            let lineage = history.add(r);
            readers.add(r, lineage);
        }
        let rows: Vec<(String, u64)> = readers
            .finish(history.file(5, "/a.csv").as_ref())
            .into_iter()
            .map(|r| (r.session, r.bytes_read))
            .collect();
        assert_eq!(rows, [("3".into(), 10), ("3@7".into(), 20)]);
    }

    /// Reads before file ids that a path replay tied to files: one row per file (lineage),
    /// with what became of it; two files read at one path are two rows; a fate left open is
    /// `path_uncertain`.
    #[test]
    fn reads_before_file_ids_are_tied_to_files_by_their_lineage() {
        let v1 = |seq: u64, path: &str| {
            let json = format!(
                r#"{{"time":1800000000,"account":"mallory","tenant":"acme","session":"3","kind":"file","op":"close_read","path":"{path}","bytes":10,"whole_file":true,"outcome":"ok"}}"#
            );
            Exported {
                seq,
                hash: String::new(),
                event: Event::from_stored(json.as_bytes()).unwrap(),
            }
        };
        let mut c = Collector::default();
        for (seq, path) in [(1, "/a"), (2, "/a"), (3, "/b"), (4, "/c")] {
            c.add(&v1(seq, path));
        }
        assert_eq!(
            c.reads_before_ids()["acme"]
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        // /a held two files (the first removed, then another uploaded there); /b's file was
        // renamed to /b2 and named id 9 since; /c's fate is open.
        let lineage = |_: &str, seq: u64| Some([0, 1, 2, 3][seq as usize - 1]);
        let fate = |_: &str, l: usize| match l {
            0 => Fate::default(),
            1 => Fate {
                path: Some("/a".into()),
                ..Default::default()
            },
            2 => Fate {
                id: Some(9),
                path: Some("/b2".into()),
                uncertain: false,
            },
            _ => Fate {
                path: Some("/c".into()),
                uncertain: true,
                ..Default::default()
            },
        };
        c.tie_reads_before_ids(lineage, fate);
        let r = c.finish("account mallory".into());
        let got: Vec<_> = r.tenants[0]
            .files_read
            .iter()
            .map(|f| {
                (
                    f.file_id,
                    f.path_then.as_str(),
                    f.path_now.as_deref(),
                    f.deleted,
                    f.identified_by,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (None::<i64>, "/a", None::<&str>, true, "path"),
                (None, "/a", Some("/a"), false, "path"),
                (Some(9), "/b", Some("/b2"), false, "path"),
                (None, "/c", Some("/c"), false, "path_uncertain"),
            ]
        );
    }
}
