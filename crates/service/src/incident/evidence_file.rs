//! The evidence file: an incident report with the part of the ledger it rests on, in a form
//! that a third party can check without the server, its data directory or any key but the
//! ledger's public one, and the pure check of it ([`Checker`]).
//!
//! What it holds (JSON lines): a header (the report and the ledger's public key); then, for
//! each signed checkpoint whose interval holds a record the report rests on, the checkpoint
//! (its interval's Merkle root signed with it) and the report's records of that interval as the
//! chain holds them, each with its inclusion proof (`ledger::merkle`) and its record key
//! (`vault::LedgerBodyKey::record_key`: it opens its record's body and no other). Nothing of any
//! other record. Under a checkpoint signed before checkpoints signed their intervals, the older
//! form: the interval's two checkpoints and every record between them (sealed, their indexed
//! fields in clear), the report's own marked and keyed. What the check proves: every record in
//! the file is in the chain the checkpoints' signatures vouch for, at its place, and the
//! report's sessions, failed logins, reads, changes, listings and refusals follow from the
//! records it discloses (the same [`super::Collector`] run over them). With a `complete` claim
//! ([`Scope`]), also that every record of the scope's accounts under the checkpoints it spans
//! is in the file (the checkpoints' signed account indexes), opened where the report's
//! narrowing (window, networks, sessions) takes it, so that none of theirs was left out. What
//! it cannot prove: that a selection without accounts touched no account other than those it
//! found (no signed index by address, session or key), and what comes from the catalog
//! (current paths, deletions, data classes, how a session ended when an alert or a crash ended
//! it).
//!
//! Never here: reading the ledger or files (the admin core writes the file, the binary reads
//! it line by line with a bound on each line), printing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use ledger::{Checkpoint, Hash, Record};

use super::Report;

/// What the header's `evidence` says: the form of the file (account indexes since form 2).
pub const FORM: &str = "strongroom incident evidence 2";
/// The forms this build reads.
const FORMS_READ: [&str; 2] = ["strongroom incident evidence 1", FORM];
/// Longest line of records or checkpoints accepted (a record's body is at most
/// [`ledger::MAX_BODY_LEN`] bytes, written in hex).
pub const MAX_RECORD_LINE: usize = 4 * ledger::MAX_BODY_LEN;
/// Longest header accepted: the report (about 1 KiB per file read).
pub const MAX_HEADER_LINE: usize = 256 << 20;
/// Differences listed before the rest are counted only.
const MAX_DIFFERENCES: usize = 50;

/// The first line.
#[derive(Serialize)]
pub struct Header<'a> {
    pub evidence: &'static str,
    /// The ledger's Ed25519 public key (hex), as `audit head` prints it.
    pub public_key: String,
    pub report: &'a Report,
    /// Which accounts the file shows every record of, and from which checkpoint on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete: Option<Complete>,
}

/// The report an evidence file's first line holds, read back whole (every field of its forms),
/// to print it again as it was printed beside the file (`incident check --report`): the check
/// proves this report's claims, and a report file that is its JSON, CSV or HTML form byte for
/// byte says the same. Read as typed fields, bounded by the line's length; the words of a
/// closed set (how a file was read, a change's kind) are refused when they are not one of it.
pub fn report_of(header: &str) -> Result<Report, EvidenceError> {
    #[derive(Deserialize)]
    struct ReportIn {
        report: Report,
    }
    serde_json::from_str::<ReportIn>(header)
        .map(|h| h.report)
        .map_err(|e| {
            EvidenceError::NotEvidence(format!(
                "its first line's report, read whole to compare a report file with: {e} (a \
                 file written before report files could be checked, 2026-12-07, holds no `made`)"
            ))
        })
}

/// The header's claim that the file holds every record of some accounts: in each interval
/// after the checkpoint `after` (none: the chain's start) up to the file's last checkpoint,
/// [`Line::Index`] lines prove which records they have.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complete {
    pub scope: Scope,
    pub after: Option<CheckpointLine>,
}

/// Whose records an evidence file shows complete: those of `accounts` (in `tenants` when some
/// are given: a client institution's part of a report, with the records of the `no_tenant`
/// accounts that name no tenant, as the report counts them), and the report's window of record
/// times, within which each of them is opened (outside it they are shown sealed, to complete the
/// index only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_tenant: Vec<String>,
    /// The report's narrowing of the accounts' records by where they came from (`--ip`,
    /// `--except-ip`: addresses or networks as `gate::network::written` writes them): records
    /// from elsewhere are not the report's, and are shown sealed like those outside the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except_networks: Vec<String>,
    /// The report's sessions (`--session`, an alert's): the accounts' records of other sessions
    /// are not the report's, and are shown sealed like those outside the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
    /// The report's credentials (`--key`, as the records name them): every opening of the
    /// accounts' sessions within the window is opened (from before the window for a session
    /// open across its start), so that the check can tell which sessions the credentials
    /// opened, as the report did; the records of a session another credential opened are shown
    /// sealed after its opening, the rest opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
    /// Whether `accounts` are those the report found its sessions on (a selection of sessions,
    /// credentials or alerts), not the selection's own: the file then cannot show that none of
    /// them touched another account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub found_accounts: bool,
    /// Unix seconds: `[since, until)`.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// The last record the report read (the checkpoint it was read up to): the account indexes
    /// end at the checkpoint there, not after records the report has not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<u64>,
}

/// One part of a scope: an account, in a tenant or in none (`tenant`: `None` for the account
/// whatever its tenant, `Some(None)` for its records that name no tenant), and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeKey {
    pub account: String,
    pub tenant: Option<Option<String>>,
    pub key: Hash,
}

impl Scope {
    pub fn keys(&self) -> Vec<ScopeKey> {
        use ledger::account_index::{account_key, tenant_account_key};
        let mut out = Vec::new();
        for a in &self.accounts {
            if self.tenants.is_empty() {
                out.push(ScopeKey {
                    account: a.clone(),
                    tenant: None,
                    key: account_key(a),
                });
                continue;
            }
            for t in &self.tenants {
                out.push(ScopeKey {
                    account: a.clone(),
                    tenant: Some(Some(t.clone())),
                    key: tenant_account_key(Some(t), a),
                });
            }
            if self.no_tenant.contains(a) {
                out.push(ScopeKey {
                    account: a.clone(),
                    tenant: Some(None),
                    key: tenant_account_key(None, a),
                });
            }
        }
        out
    }

    /// Whether a record of this time is within the report's window.
    pub fn in_window(&self, time: i64) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }

    /// Its narrowing by source, read (`Err`: a network that does not read as one).
    pub fn narrowing(&self) -> Result<Narrowing, String> {
        let read = |nets: &[String]| -> Result<Vec<IpNet>, String> {
            nets.iter().map(|n| crate::gate::network::one(n)).collect()
        };
        Ok(Narrowing {
            networks: read(&self.networks)?,
            except_networks: read(&self.except_networks)?,
            sessions: self.sessions.iter().cloned().collect(),
        })
    }
}

type IpNet = crate::gate::network::IpNet;

/// Where a scope's records must come from to be the report's (`--ip`, `--except-ip`), and of
/// which sessions (`--session`).
#[derive(Debug, Clone, Default)]
pub struct Narrowing {
    pub networks: Vec<IpNet>,
    pub except_networks: Vec<IpNet>,
    pub sessions: BTreeSet<String>,
}

impl Narrowing {
    /// Whether a record of `owner` (its indexed fields: an address, none for records that name
    /// none; its session) is the report's.
    pub fn admits(&self, owner: &catalog::RecordOwner<'_>) -> bool {
        let ip = owner
            .source
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            .map(crate::gate::network::canonical);
        let within = |nets: &[IpNet]| ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)));
        (self.networks.is_empty() || within(&self.networks))
            && !within(&self.except_networks)
            && (self.sessions.is_empty()
                || owner.session.is_some_and(|s| self.sessions.contains(s)))
    }
}

/// The proof of one scope key's records in one checkpoint's interval
/// (`ledger::account_index`): its records (each in the file, under the same checkpoint) and
/// the path from the checkpoint's signed account root.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexLine {
    pub checkpoint: u64,
    pub account: String,
    /// The key's tenant ([`ScopeKey::tenant`]): none for the account's own key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_tenant: bool,
    /// From the root's children down (hex).
    pub siblings: Vec<String>,
    pub end: IndexEnd,
}

/// Where a key's path ends (`ledger::account_index::End`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum IndexEnd {
    Leaf,
    Empty,
    Other { key: String, digest: String },
}

impl IndexLine {
    /// The line of `k`'s records under checkpoint `checkpoint` (those of the file's records
    /// under it that are `k`'s, by their indexed fields), proven by `proof`.
    pub fn of(checkpoint: u64, k: &ScopeKey, proof: &ledger::account_index::Proof) -> Self {
        use ledger::account_index::End;
        Self {
            checkpoint,
            account: k.account.clone(),
            tenant: k.tenant.clone().flatten(),
            no_tenant: k.tenant == Some(None),
            siblings: proof.siblings.iter().map(hex::encode).collect(),
            end: match &proof.end {
                End::Leaf => IndexEnd::Leaf,
                End::Empty => IndexEnd::Empty,
                End::Other { key, digest } => IndexEnd::Other {
                    key: hex::encode(key),
                    digest: hex::encode(digest),
                },
            },
        }
    }

    /// The key it names.
    fn key(&self) -> Hash {
        use ledger::account_index::{account_key, tenant_account_key};
        match (&self.tenant, self.no_tenant) {
            (None, false) => account_key(&self.account),
            (None, true) => tenant_account_key(None, &self.account),
            (Some(t), _) => tenant_account_key(Some(t), &self.account),
        }
    }
}

/// A checkpoint as the file carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointLine {
    pub seq: u64,
    pub time: i64,
    pub hash: String,
    pub signature: String,
    /// The interval it signs (checkpoints since 2026-12-06): the checkpoint it follows and the
    /// Merkle root of the records between (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// The root of its interval's account index (hex; checkpoints since its second form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<String>,
}

impl From<&Checkpoint> for CheckpointLine {
    fn from(c: &Checkpoint) -> Self {
        Self {
            seq: c.seq,
            time: c.time,
            hash: hex::encode(c.hash),
            signature: hex::encode(&c.signature),
            after: c.interval.map(|i| i.after),
            root: c.interval.map(|i| hex::encode(i.root)),
            accounts: c.interval.and_then(|i| i.accounts).map(hex::encode),
        }
    }
}

/// A record as the chain holds it; `key` for those the report rests on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordLine {
    pub seq: u64,
    pub time: i64,
    pub prev: String,
    pub body: String,
    pub hash: String,
    /// One of the report's records: its key (hex), or none when it was sealed before records
    /// had keys of their own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rests: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl RecordLine {
    pub fn of(r: &Record, rests: bool, key: Option<String>) -> Self {
        Self {
            seq: r.seq,
            time: r.time,
            prev: hex::encode(r.prev_hash),
            body: hex::encode(&r.body),
            hash: hex::encode(r.hash),
            rests,
            key,
        }
    }
}

/// One of the report's records with its inclusion proof under a checkpoint's interval.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenLine {
    pub seq: u64,
    pub time: i64,
    pub prev: String,
    pub body: String,
    pub hash: String,
    /// Its key (hex); none when it was sealed before records had keys of their own, or is
    /// `withheld`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The siblings from its leaf up (hex), `ledger::merkle`.
    pub proof: Vec<String>,
    /// A record of a scope's account outside the report's window: here (sealed, without its
    /// key) only so that the account's index can be checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// Every line after the header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// A checkpoint that signs its interval's root; the report's records in that interval
    /// follow, each with its proof, and no other record.
    Checkpoint(CheckpointLine),
    Proven(ProvenLine),
    /// Which records one of the scope's accounts has under the checkpoint before it.
    Index(IndexLine),
    /// An interval of the chain whose checkpoint signs no root (signed before 2026-12-06):
    /// after `from` (none: the chain's start) up to `to`; every record of it follows.
    Interval {
        from: Option<CheckpointLine>,
        to: CheckpointLine,
    },
    Record(RecordLine),
}

/// The checkpoints whose intervals hold `seqs` (their places in `checkpoints`, sorted by
/// seq): for each record, the first checkpoint at or after it. `Err(seq)`: the first record no
/// checkpoint has been signed at or after yet.
pub fn checkpoints_holding(
    checkpoints: &[Checkpoint],
    seqs: &[u64],
) -> Result<BTreeSet<usize>, u64> {
    let mut out = BTreeSet::new();
    for &seq in seqs {
        let at = checkpoints.partition_point(|c| c.seq < seq);
        if at == checkpoints.len() {
            return Err(seq);
        }
        out.insert(at);
    }
    Ok(out)
}

/// The checkpoints (their places in `checkpoints`, sorted by seq) whose account indexes cover
/// `scope`'s window: from the one after the last checkpoint signed before `since` (the chain's
/// first without `since`) to the first signed at or after `until` (the last without `until`),
/// and at least to `last_end`; those up to the last that signs no account index, or whose
/// interval does not follow the checkpoint before it, left out (signed before the index).
/// `None`: no checkpoint covers any of it.
pub fn covered(
    checkpoints: &[Checkpoint],
    scope: &Scope,
    last_end: Option<usize>,
) -> Option<std::ops::RangeInclusive<usize>> {
    let first = scope.since.map_or(0, |since| {
        checkpoints
            .iter()
            .rposition(|c| c.time < since)
            .map_or(0, |i| i + 1)
    });
    let end = match scope.through {
        Some(through) => checkpoints.iter().position(|c| c.seq >= through)?,
        None => checkpoints.len().checked_sub(1)?,
    };
    let last = scope
        .until
        .and_then(|until| checkpoints.iter().position(|c| c.time >= until))
        .unwrap_or(end)
        .max(last_end.unwrap_or(0));
    let mut start = first;
    for i in first..=last.min(end) {
        let before = i.checked_sub(1).map_or(0, |b| checkpoints[b].seq);
        let indexed = checkpoints[i]
            .interval
            .is_some_and(|iv| iv.after == before && iv.accounts.is_some());
        if !indexed {
            start = i + 1;
        }
    }
    (start <= last.min(end)).then_some(start..=last.min(end))
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("line {line}: {why}")]
    Malformed { line: u64, why: String },
    #[error("the file is not an incident evidence file ({0})")]
    NotEvidence(String),
    #[error(
        "the file's ledger key {found} is not the one given ({given}): the evidence is not of that ledger"
    )]
    OtherKey { found: String, given: String },
}

/// The report's claims the records decide, as the check reads them from the header (any other
/// field of the report is not read).
#[derive(Deserialize)]
struct Claimed {
    selection: String,
    #[serde(default)]
    sessions: Vec<ClaimedSession>,
    #[serde(default)]
    failed_logins: Vec<ClaimedLogin>,
    #[serde(default)]
    tenants: Vec<ClaimedTenant>,
}

#[derive(Deserialize)]
struct ClaimedSession {
    id: String,
    account: Option<String>,
    source: Option<String>,
    opened: Option<String>,
    closed: Option<String>,
}

#[derive(Deserialize)]
struct ClaimedLogin {
    session: String,
    account: Option<String>,
    source: Option<String>,
    attempts: u32,
}

#[derive(Deserialize)]
struct ClaimedTenant {
    tenant: String,
    #[serde(default)]
    files_read: Vec<ClaimedRead>,
    #[serde(default)]
    changes: Vec<ClaimedChange>,
    #[serde(default)]
    directories_listed: Vec<ClaimedListing>,
    #[serde(default)]
    refused: Vec<ClaimedRefusal>,
}

#[derive(Deserialize)]
struct ClaimedListing {
    dir_id: Option<i64>,
    path_then: String,
    names_sent: u64,
    #[serde(default)]
    sessions: Vec<String>,
}

#[derive(Deserialize)]
struct ClaimedRefusal {
    op: String,
    path: String,
    why: String,
    count: u64,
    #[serde(default)]
    sessions: Vec<String>,
}

#[derive(Deserialize)]
struct ClaimedRead {
    file_id: Option<i64>,
    path_then: String,
    bytes_read: u64,
    first_access: Option<String>,
    last_access: Option<String>,
    #[serde(default)]
    by_session: Vec<ClaimedSessionRead>,
}

#[derive(Deserialize)]
struct ClaimedSessionRead {
    session: String,
    bytes_read: u64,
}

#[derive(Deserialize)]
struct ClaimedChange {
    seq: u64,
    op: String,
    path: String,
    to: Option<String>,
    file_id: Option<i64>,
    bytes: Option<u64>,
    session: Option<String>,
}

fn or_dash(v: &Option<impl std::fmt::Display>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

impl Claimed {
    /// Each claim as one line of text, to compare as sets.
    fn facts(&self) -> BTreeSet<String> {
        let mut facts = BTreeSet::new();
        for s in &self.sessions {
            facts.insert(format!(
                "session {}: account {}, from {}, opened {}, closed {}",
                s.id,
                or_dash(&s.account),
                or_dash(&s.source),
                or_dash(&s.opened),
                or_dash(&s.closed)
            ));
        }
        for f in &self.failed_logins {
            facts.insert(format!(
                "failed login {}: account {}, from {}, {} attempts",
                f.session,
                or_dash(&f.account),
                or_dash(&f.source),
                f.attempts
            ));
        }
        for t in &self.tenants {
            for r in &t.files_read {
                let by: Vec<String> = r
                    .by_session
                    .iter()
                    .map(|s| format!("{} {}", s.session, s.bytes_read))
                    .collect();
                facts.insert(format!(
                    "{}: read file {} ({}): {} bytes, {} to {}; by session {}",
                    t.tenant,
                    or_dash(&r.file_id),
                    r.path_then,
                    r.bytes_read,
                    or_dash(&r.first_access),
                    or_dash(&r.last_access),
                    by.join(", ")
                ));
            }
            for d in &t.directories_listed {
                facts.insert(format!(
                    "{}: listed directory {} ({}): {} names sent, sessions {}",
                    t.tenant,
                    or_dash(&d.dir_id),
                    d.path_then,
                    d.names_sent,
                    d.sessions.join(", ")
                ));
            }
            for r in &t.refused {
                facts.insert(format!(
                    "{}: refused {} {} ({}) {} times, sessions {}",
                    t.tenant,
                    r.op,
                    r.path,
                    r.why,
                    r.count,
                    r.sessions.join(", ")
                ));
            }
            for c in &t.changes {
                facts.insert(format!(
                    "{}: {} {}{} (file {}), {} bytes, session {}, record {}",
                    t.tenant,
                    c.op,
                    c.path,
                    c.to.as_ref()
                        .map(|to| format!(" -> {to}"))
                        .unwrap_or_default(),
                    or_dash(&c.file_id),
                    or_dash(&c.bytes),
                    or_dash(&c.session),
                    c.seq
                ));
            }
        }
        facts
    }

    fn counts(&self) -> [usize; 6] {
        let sum = |n: fn(&ClaimedTenant) -> usize| self.tenants.iter().map(n).sum();
        [
            self.sessions.len(),
            self.failed_logins.len(),
            sum(|t| t.files_read.len()),
            sum(|t| t.changes.len()),
            sum(|t| t.directories_listed.len()),
            sum(|t| t.refused.len()),
        ]
    }
}

/// What a check found (`incident check --format json` prints it as it is).
#[derive(Debug, Default, Serialize)]
pub struct Checked {
    pub selection: String,
    /// Records in the file, and the intervals they came in.
    pub records: u64,
    pub intervals: u64,
    /// The first and last record of the chain verified, and the checkpoints at its ends.
    pub span: Option<(u64, u64)>,
    /// Records the report rests on that were opened with their keys; those that could not be
    /// (sealed before records had keys of their own).
    pub disclosed: u64,
    pub undisclosable: u64,
    /// The report's sessions, failed logins, files read and changes.
    pub sessions: usize,
    pub failed_logins: usize,
    pub files_read: usize,
    pub changes: usize,
    /// Its directories listed and requests refused.
    pub directories_listed: usize,
    pub refused: usize,
    /// The accounts of the sessions the records show (with how many), and their source
    /// addresses: whose activity the report is, whatever its selection says.
    pub accounts: std::collections::BTreeMap<String, usize>,
    pub sources: BTreeSet<String>,
    /// Where the chain or a record failed: the evidence does not hold.
    pub broken: Vec<String>,
    /// Further places it broke, counted only.
    pub broken_more: u64,
    /// Claims of the report the records do not show, and what they show that it does not say
    /// (at most `MAX_DIFFERENCES` each, then a count).
    pub not_in_records: Vec<String>,
    pub not_in_report: Vec<String>,
    /// With a claim that the file holds every record of some accounts: what the account
    /// indexes proved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete: Option<CompleteChecked>,
}

/// What a file's account indexes proved: every record of the scope's accounts under the
/// checkpoints from `after` (none: the chain's start) to `to` is in the file, and opened when it
/// is within the report's window.
#[derive(Debug, Default, Serialize)]
pub struct CompleteChecked {
    pub scope: Scope,
    /// The checkpoints (sequence number and time) the proven records run between.
    pub after: Option<(u64, i64)>,
    pub to: Option<(u64, i64)>,
    /// The scope's records the indexes listed.
    pub records: u64,
    /// Whether every index proved (else `broken` says where it did not).
    pub proven: bool,
    /// Whether those checkpoints span the report's window (by their times, which follow the
    /// records' as the server signs them).
    pub spans_window: bool,
}

impl Checked {
    /// Says where the evidence broke: the first [`MAX_DIFFERENCES`] places, then a count (a
    /// forged file of many lines cannot grow the answer without bound).
    fn broke(&mut self, why: String) {
        if self.broken.len() < MAX_DIFFERENCES {
            self.broken.push(why);
        } else {
            self.broken_more += 1;
        }
    }

    /// Whether the evidence holds: the chain verified, every record of the report opened, and
    /// the report says what they show.
    pub fn holds(&self) -> bool {
        self.broken.is_empty()
            && self.not_in_records.is_empty()
            && self.not_in_report.is_empty()
            && self.undisclosable == 0
    }
}

/// Checks an evidence file line by line: [`Checker::new`] with its first line and the ledger's
/// public key as the third party holds it (from `audit head`, kept off the host), then
/// [`Checker::line`] for each further line, then [`Checker::finish`].
pub struct Checker {
    public_key: Vec<u8>,
    claimed: Claimed,
    /// The interval being read: its checkpoints and records so far.
    interval: Option<OpenInterval>,
    /// The last record verified (intervals come in order and do not overlap).
    last_verified: u64,
    /// The checkpoint whose interval the report's records that follow are proven under, and
    /// the last of them (in order, each once).
    proving: Option<Checkpoint>,
    last_proven: u64,
    disclosed: Vec<events::Exported>,
    checked: Checked,
    line: u64,
    /// The claim that the file holds every record of some accounts, being checked.
    complete: Option<Completeness>,
}

/// The account indexes being checked: the scope's keys, the checkpoint the next indexed
/// interval must follow, and the records and index lines of the interval being read.
struct Completeness {
    scope: Scope,
    narrowing: Narrowing,
    keys: Vec<ScopeKey>,
    /// The checkpoint the claim starts after (its sequence number; the chain's start: 0).
    from: u64,
    next_after: u64,
    /// The records proven under the checkpoint being read (in the chain, at their places):
    /// whose they are, as their indexed fields say (account, tenant).
    group: std::collections::BTreeMap<u64, (Option<String>, Option<String>)>,
    lines: Vec<IndexLine>,
    result: CompleteChecked,
    /// For a scope with credentials: the sessions whose openings the file has opened so far,
    /// and whether one of the credentials opened each (a session's records after an opening
    /// with another may be sealed).
    opened_with: std::collections::HashMap<String, bool>,
}

/// An interval of the older form being read, checked record by record as its lines come
/// (memory does not grow with it): the checkpoint that must end it, the chain's head so far
/// and the root of the records so far; `broken` once it broke (said once, then its records are
/// only counted).
struct OpenInterval {
    to: Checkpoint,
    head: ledger::Head,
    root: ledger::merkle::RootBuilder,
    broken: bool,
}

/// `account mallory`, `account mallory in tenant acme`, `account mallory in no tenant`.
fn printable_key(k: &ScopeKey) -> String {
    match &k.tenant {
        None => format!("account {}", k.account),
        Some(Some(t)) => format!("account {} in tenant {t}", k.account),
        Some(None) => format!("account {} in no tenant", k.account),
    }
}

/// The account-index proof an index line carries (`None`: a hash that is not one).
fn proof_of(line: &IndexLine) -> Option<ledger::account_index::Proof> {
    use ledger::account_index::{End, Proof};
    let mut siblings = Vec::with_capacity(line.siblings.len());
    for h in &line.siblings {
        siblings.push(hash_of_hex(h)?);
    }
    let end = match &line.end {
        IndexEnd::Leaf => End::Leaf,
        IndexEnd::Empty => End::Empty,
        IndexEnd::Other { key, digest } => End::Other {
            key: hash_of_hex(key)?,
            digest: hash_of_hex(digest)?,
        },
    };
    Some(Proof { siblings, end })
}

/// The first session (of `disclosed`, in order) with a record of what it did after its login (a
/// file operation, its end) before any opening of it: a session a credential's report could
/// have left out without the file showing it. Tries at logging in need none (a failed login
/// has no opening).
fn without_opening(disclosed: &[events::Exported]) -> Option<&str> {
    use events::EventKind;
    let mut opened = std::collections::HashSet::new();
    for r in disclosed {
        let Some(session) = r.event.session.as_deref() else {
            continue;
        };
        match &r.event.kind {
            EventKind::Session { opened: true, .. } => {
                opened.insert(session);
            }
            EventKind::Session { opened: false, .. } | EventKind::File { .. }
                if !opened.contains(session) =>
            {
                return Some(session);
            }
            _ => {}
        }
    }
    None
}

fn hash_of_hex(s: &str) -> Option<Hash> {
    let mut h = [0u8; ledger::HASH_LEN];
    hex::decode_to_slice(s, &mut h).ok()?;
    Some(h)
}

fn checkpoint_of(c: &CheckpointLine) -> Option<Checkpoint> {
    let interval = match (c.after, &c.root) {
        (Some(after), Some(root)) => Some(ledger::Interval {
            after,
            root: hash_of_hex(root)?,
            accounts: match &c.accounts {
                Some(a) => Some(hash_of_hex(a)?),
                None => None,
            },
        }),
        (None, None) if c.accounts.is_none() => None,
        _ => return None,
    };
    Some(Checkpoint {
        seq: c.seq,
        time: c.time,
        hash: hash_of_hex(&c.hash)?,
        signature: hex::decode(&c.signature).ok()?,
        interval,
    })
}

fn record_of(r: &RecordLine) -> Result<Record, String> {
    record_from(r.seq, r.time, &r.prev, &r.body, &r.hash)
}

fn record_from(seq: u64, time: i64, prev: &str, body: &str, hash: &str) -> Result<Record, String> {
    let record = Record {
        seq,
        time,
        prev_hash: hash_of_hex(prev).ok_or("a record's previous hash")?,
        body: hex::decode(body).map_err(|_| "a record's body")?,
        hash: hash_of_hex(hash).ok_or("a record's hash")?,
    };
    if record.body.len() > ledger::MAX_BODY_LEN {
        return Err("a record's body is too long".into());
    }
    Ok(record)
}

impl Checker {
    pub fn new(header: &str, public_key: &[u8]) -> Result<Self, EvidenceError> {
        #[derive(Deserialize)]
        struct HeaderIn {
            evidence: String,
            public_key: String,
            report: Claimed,
            #[serde(default)]
            complete: Option<Complete>,
        }
        let h: HeaderIn = serde_json::from_str(header)
            .map_err(|e| EvidenceError::NotEvidence(format!("its first line: {e}")))?;
        if !FORMS_READ.contains(&h.evidence.as_str()) {
            // Quoted in part: the file is anyone's.
            let said: String = h.evidence.chars().take(64).collect();
            return Err(EvidenceError::NotEvidence(format!(
                "it says {said:?}, this build reads {FORM:?}"
            )));
        }
        let given = hex::encode(public_key);
        if !h.public_key.eq_ignore_ascii_case(&given) {
            let found = if h.public_key.len() == given.len()
                && h.public_key.bytes().all(|b| b.is_ascii_hexdigit())
            {
                h.public_key
            } else {
                "(not a key)".to_owned()
            };
            return Err(EvidenceError::OtherKey { found, given });
        }
        let [
            sessions,
            failed_logins,
            files_read,
            changes,
            directories_listed,
            refused,
        ] = h.report.counts();
        let checked = Checked {
            selection: h.report.selection.clone(),
            sessions,
            failed_logins,
            files_read,
            changes,
            directories_listed,
            refused,
            ..Checked::default()
        };
        let complete = match h.complete {
            None => None,
            Some(c) => {
                let after = match &c.after {
                    None => None,
                    Some(line) => {
                        let cp = checkpoint_of(line).ok_or_else(|| {
                            EvidenceError::NotEvidence(
                                "its first line: a checkpoint's hash or signature".into(),
                            )
                        })?;
                        Some(cp)
                    }
                };
                let mut result = CompleteChecked {
                    scope: c.scope.clone(),
                    after: after.as_ref().map(|a| (a.seq, a.time)),
                    proven: true,
                    ..CompleteChecked::default()
                };
                if after
                    .as_ref()
                    .is_some_and(|a| !a.verify_signature(public_key))
                {
                    result.proven = false;
                }
                let from = after.as_ref().map_or(0, |a| a.seq);
                let narrowing = c
                    .scope
                    .narrowing()
                    .map_err(|why| EvidenceError::NotEvidence(format!("its first line: {why}")))?;
                Some(Completeness {
                    narrowing,
                    keys: c.scope.keys(),
                    scope: c.scope,
                    from,
                    next_after: from,
                    group: Default::default(),
                    lines: Vec::new(),
                    result,
                    opened_with: Default::default(),
                })
            }
        };
        let mut checked = checked;
        if complete.as_ref().is_some_and(|c| !c.result.proven) {
            checked.broke(
                "the checkpoint the file's account indexes start after: bad signature".into(),
            );
        }
        Ok(Self {
            complete,
            public_key: public_key.to_vec(),
            claimed: h.report,
            interval: None,
            last_verified: 0,
            proving: None,
            last_proven: 0,
            disclosed: Vec::new(),
            checked,
            line: 1,
        })
    }

    /// One line after the header.
    pub fn line(&mut self, text: &str) -> Result<(), EvidenceError> {
        self.line += 1;
        let at = self.line;
        let malformed = move |why: String| EvidenceError::Malformed { line: at, why };
        let line: Line = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
        match line {
            Line::Checkpoint(c) => {
                self.end_interval();
                self.end_indexed();
                let c = checkpoint_of(&c).ok_or_else(|| {
                    malformed("a checkpoint's hash, signature or interval".into())
                })?;
                self.prove_under(c);
            }
            Line::Proven(p) => {
                let record =
                    record_from(p.seq, p.time, &p.prev, &p.body, &p.hash).map_err(malformed)?;
                if p.proof.len() > ledger::merkle::MAX_PROOF {
                    return Err(malformed("a proof longer than any tree's".into()));
                }
                let mut proof = Vec::with_capacity(p.proof.len());
                for h in &p.proof {
                    proof.push(hash_of_hex(h).ok_or_else(|| malformed("a proof's hash".into()))?);
                }
                self.proven(&record, p.key.as_deref(), &proof, p.withheld)
                    .map_err(malformed)?;
            }
            Line::Index(i) => {
                if i.siblings.len() > ledger::account_index::MAX_PATH {
                    return Err(malformed("an index line longer than any index's".into()));
                }
                match &mut self.complete {
                    // One per scope key under a checkpoint: more are refused there (kept to
                    // one over, so that a forged file cannot grow them without bound).
                    Some(c) if c.lines.len() <= c.keys.len() => c.lines.push(i),
                    Some(_) => {}
                    None => self
                        .checked
                        .broke("an account index in a file that claims none".into()),
                }
            }
            Line::Interval { from, to } => {
                self.end_interval();
                self.end_indexed();
                self.proving = None;
                let from = match from {
                    Some(c) => Some(
                        checkpoint_of(&c)
                            .ok_or_else(|| malformed("a checkpoint's hash or signature".into()))?,
                    ),
                    None => None,
                };
                let to = checkpoint_of(&to)
                    .ok_or_else(|| malformed("a checkpoint's hash or signature".into()))?;
                self.open_interval(from, to);
            }
            Line::Record(r) => {
                let record = record_of(&r).map_err(malformed)?;
                if r.rests {
                    self.disclose(&record, r.key.as_deref());
                }
                let Some(open) = &mut self.interval else {
                    return Err(malformed("a record before any interval".into()));
                };
                self.checked.records += 1;
                if !open.broken {
                    match ledger::link(&open.head, record.view()) {
                        Ok(head) if head.seq <= open.to.seq => {
                            open.head = head;
                            open.root.push(&head.hash);
                        }
                        Ok(head) => {
                            open.broken = true;
                            self.checked.broke(format!(
                                "record {}: after the checkpoint that ends its interval ({})",
                                head.seq, open.to.seq
                            ));
                        }
                        Err(b) => {
                            open.broken = true;
                            self.checked.broke(b.to_string());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A checkpoint the report's records that follow are proven under: its signature and
    /// interval checked here, once; it must come after every record already shown.
    fn prove_under(&mut self, c: Checkpoint) {
        self.checked.intervals += 1;
        let shown = self.last_verified.max(self.last_proven);
        let after = c.interval.map(|i| i.after);
        let fine = match after {
            None => Err("it signs no interval".to_owned()),
            Some(after) if after >= c.seq => Err("its interval ends before it begins".to_owned()),
            Some(after) if after < shown => Err(format!(
                "its interval begins before records already shown ({shown})"
            )),
            Some(_) if !c.verify_signature(&self.public_key) => Err("bad signature".to_owned()),
            Some(_) => Ok(()),
        };
        match fine {
            Ok(()) => {
                let first = after.unwrap_or(0) + 1;
                self.checked.span = Some(match self.checked.span {
                    None => (first, c.seq),
                    Some((a, _)) => (a, c.seq),
                });
                self.proving = Some(c);
            }
            Err(why) => {
                self.checked
                    .broke(format!("checkpoint at record {}: {why}", c.seq));
                self.proving = None;
            }
        }
    }

    /// One of the report's records with its proof under the checkpoint being proven under.
    fn proven(
        &mut self,
        r: &Record,
        key: Option<&str>,
        proof: &[Hash],
        withheld: bool,
    ) -> Result<(), String> {
        if r.seq <= self.last_proven {
            return Err(format!(
                "record {} after record {}: out of order or twice",
                r.seq, self.last_proven
            ));
        }
        self.last_proven = r.seq;
        self.checked.records += 1;
        let Some(c) = &self.proving else {
            // Its checkpoint was refused (said there) or never given.
            self.checked.broke(format!(
                "record {}: under no checkpoint that verified",
                r.seq
            ));
            return Ok(());
        };
        // Its hash from its own bytes (the chain's formula), then its place under the root.
        let ours = r.seq.checked_sub(1).and_then(|before| {
            ledger::append(
                &ledger::Head {
                    seq: before,
                    hash: r.prev_hash,
                },
                r.time,
                r.body.clone(),
            )
            .ok()
        });
        let in_chain = if ours.is_none_or(|o| o.hash != r.hash) {
            self.checked.broke(format!(
                "record {}: its contents do not match its hash (modified)",
                r.seq
            ));
            false
        } else if !c.includes(r.seq, &r.hash, proof) {
            self.checked.broke(format!(
                "record {}: not among the records checkpoint {} signed",
                r.seq, c.seq
            ));
            false
        } else {
            true
        };
        // Whose it is, as its indexed fields say (read once: for the account indexes, and for
        // whether it may be withheld).
        let owner = catalog::owner_of(&r.body).unwrap_or_default();
        if in_chain && let Some(complete) = &mut self.complete {
            // In the chain: one the account indexes may list.
            complete.group.insert(
                r.seq,
                (
                    owner.account.map(str::to_owned),
                    owner.tenant.map(str::to_owned),
                ),
            );
        }
        // Withheld only if it is not the report's: outside its window, from elsewhere than its
        // networks, of another session than its sessions, or, for credentials, of a session
        // the file shows opened with another credential before it.
        let theirs = |c: &Completeness| {
            c.scope.in_window(r.time)
                && c.narrowing.admits(&owner)
                && owner
                    .session
                    .is_none_or(|s| c.opened_with.get(s).copied() != Some(false))
        };
        if !withheld {
            self.disclose(r, key);
            // An opening, for credentials: whose session it opened, by its indexed session (the
            // field a sealed record of the session is judged by), which its event must name.
            if let (Some(c), Some(opened), Some(s)) =
                (&mut self.complete, self.disclosed.last(), owner.session)
                && opened.seq == r.seq
                && !c.scope.credentials.is_empty()
                && matches!(
                    opened.event.kind,
                    events::EventKind::Session { opened: true, .. }
                )
                && opened.event.session.as_deref() == Some(s)
            {
                let theirs = c
                    .scope
                    .credentials
                    .iter()
                    .any(|k| super::opened_with(&opened.event, k));
                c.opened_with.insert(s.to_owned(), theirs);
            }
        } else if self.complete.as_ref().is_none_or(theirs) {
            // The report's record, not opened: the claim is not shown either.
            let credentials = self.complete.as_mut().is_some_and(|c| {
                c.result.proven = false;
                !c.scope.credentials.is_empty()
            });
            self.checked.broke(format!(
                "record {}: withheld (not opened) though it is within the report's window, networks and sessions{}",
                r.seq,
                if credentials {
                    ", and of no session the file shows opened with another credential"
                } else {
                    ""
                }
            ));
        }
        Ok(())
    }

    /// Ends the interval whose records were proven under [`Checker::proving`]: if the file
    /// claims its accounts complete from before it, each of their keys must have an index line
    /// that lists exactly the key's records (each proven in the file, each the account's by its
    /// indexed fields) and proves them under the checkpoint's signed account index.
    fn end_indexed(&mut self) {
        let (Some(c), Some(complete)) = (&self.proving, &mut self.complete) else {
            if let Some(complete) = &mut self.complete {
                complete.lines.clear();
                complete.group.clear();
            }
            return;
        };
        let group = std::mem::take(&mut complete.group);
        let lines = std::mem::take(&mut complete.lines);
        if c.seq <= complete.from {
            if !lines.is_empty() {
                self.checked.broke(format!(
                    "checkpoint at record {}: account indexes before the one the file says they start after",
                    c.seq
                ));
            }
            return;
        }
        let mut broke = Vec::new();
        let interval = c.interval.unwrap_or(ledger::Interval {
            after: 0,
            root: [0; ledger::HASH_LEN],
            accounts: None,
        });
        let accounts_root = match interval.accounts {
            None => {
                broke.push("it signs no account index".to_owned());
                None
            }
            Some(_) if interval.after != complete.next_after => {
                broke.push(format!(
                    "its interval follows record {}, not the checkpoint before it ({}): intervals left out",
                    interval.after, complete.next_after
                ));
                None
            }
            Some(root) => Some(root),
        };
        let mut listed = 0u64;
        if lines.len() > complete.keys.len() {
            broke.push("more index lines than the file's scope has accounts".to_owned());
        }
        for line in &lines {
            if line.checkpoint != c.seq {
                broke.push(format!(
                    "an index line of checkpoint {} under checkpoint {}",
                    line.checkpoint, c.seq
                ));
            }
        }
        for k in &complete.keys {
            let named = printable_key(k);
            let mut of_key = lines.iter().filter(|l| l.key() == k.key);
            let (Some(line), None) = (of_key.next(), of_key.next()) else {
                broke.push(format!("no proof, or more than one, of {named}'s records"));
                continue;
            };
            // The key's records are those of the file under this checkpoint that its indexed
            // fields say are the account's (in the tenant): a record of it left out, and the
            // digest is not the leaf's. (A line listing them would not fit the bound on a line
            // for an account with tens of thousands of records in 30 seconds.)
            let mut records = ledger::account_index::Records::default();
            for (seq, (account, tenant)) in &group {
                let owns = account.as_deref() == Some(k.account.as_str())
                    && k.tenant.as_ref().is_none_or(|t| t == tenant);
                if owns {
                    records.push(*seq);
                }
            }
            let Some(root) = accounts_root else {
                continue;
            };
            let proof = proof_of(line);
            if proof.is_none_or(|p| !ledger::account_index::verify(&root, &k.key, &records, &p)) {
                broke.push(format!(
                    "{named}'s records in the file are not those its signed account index holds (some left out)"
                ));
                continue;
            }
            listed += records.count;
        }
        complete.result.records += listed;
        if broke.is_empty() {
            complete.next_after = c.seq;
            complete.result.to = Some((c.seq, c.time));
        } else {
            complete.result.proven = false;
            for why in broke {
                self.checked
                    .broke(format!("checkpoint at record {}: {why}", c.seq));
            }
        }
    }

    /// Opens one of the report's records with its key (its place in the chain is verified
    /// with its interval).
    fn disclose(&mut self, r: &Record, key: Option<&str>) {
        let Some(key) = key else {
            self.checked.undisclosable += 1;
            return;
        };
        let opened = vault::RecordKey::from_hex(key)
            .ok_or_else(|| "its key is not 64 hex digits".to_owned())
            .and_then(|key| {
                let sealed = catalog::sealed_event_of(&r.body)
                    .ok_or_else(|| "its body does not read as a record's".to_owned())?;
                vault::open_disclosed(&key, sealed).map_err(|e| e.to_string())
            })
            .and_then(|json| events::Event::from_stored(&json).map_err(|e| e.to_string()));
        match opened {
            Ok(event) => {
                self.checked.disclosed += 1;
                self.disclosed.push(events::Exported {
                    seq: r.seq,
                    hash: hex::encode(r.hash),
                    event,
                });
            }
            Err(why) => self.checked.broke(format!("record {}: {why}", r.seq)),
        }
    }

    /// Verifies the interval read: its records chain from its first checkpoint (or the
    /// chain's start) to its last, whose signatures the public key checks.
    fn open_interval(&mut self, from: Option<Checkpoint>, to: Checkpoint) {
        self.checked.intervals += 1;
        if let Some(complete) = &mut self.complete
            && to.seq > complete.from
        {
            complete.result.proven = false;
            self.checked.broke(format!(
                "checkpoint at record {}: an interval without an account index where the file says its accounts' records are all shown",
                to.seq
            ));
        }
        let start = from.as_ref().map_or(0, |c| c.seq);
        let shown = self.last_verified.max(self.last_proven);
        let refused = if start < shown {
            Some(format!(
                "the interval after record {start} overlaps the one before it"
            ))
        } else if to.seq <= start {
            Some(format!(
                "the interval after record {start} ends at record {} before it begins",
                to.seq
            ))
        } else if from
            .as_ref()
            .is_some_and(|c| !c.verify_signature(&self.public_key))
        {
            Some(format!("checkpoint at record {start}: bad signature"))
        } else if !to.verify_signature(&self.public_key) {
            Some(format!("checkpoint at record {}: bad signature", to.seq))
        } else {
            None
        };
        let broken = refused.is_some();
        if let Some(why) = refused {
            self.checked.broke(why);
        }
        self.interval = Some(OpenInterval {
            head: from.map_or(ledger::Head::EMPTY, |c| ledger::Head {
                seq: c.seq,
                hash: c.hash,
            }),
            to,
            root: ledger::merkle::RootBuilder::default(),
            broken,
        });
    }

    /// Ends the interval being read: its records must have reached the checkpoint that ends
    /// it (and, if that one signs its interval, make its root).
    fn end_interval(&mut self) {
        let Some(open) = self.interval.take() else {
            return;
        };
        if open.broken {
            return;
        }
        let (to, head) = (&open.to, open.head);
        let after = head.seq - open.root.leaves();
        let outcome = if head.seq < to.seq {
            Err(ledger::Break::Missing {
                from: head.seq + 1,
                to: to.seq,
            })
        } else if head.hash != to.hash {
            Err(ledger::Break::CheckpointMismatch { seq: to.seq })
        } else if to
            .interval
            .is_some_and(|i| i.after != after || open.root.root() != Some(i.root))
        {
            Err(ledger::Break::IntervalMismatch { seq: to.seq })
        } else {
            Ok(())
        };
        match outcome {
            Ok(()) => {
                self.last_verified = to.seq;
                self.checked.span = Some(match self.checked.span {
                    None => (after + 1, to.seq),
                    Some((a, _)) => (a, to.seq),
                });
            }
            Err(b) => self.checked.broke(b.to_string()),
        }
    }

    /// Ends the check: the report's claims against what the records it discloses show.
    pub fn finish(mut self) -> Checked {
        self.end_interval();
        self.end_indexed();
        // The report's narrowing by networks and sessions, and its credentials, applied as the
        // report applied them.
        let narrowing = self
            .complete
            .as_ref()
            .map(|c| c.narrowing.clone())
            .unwrap_or_default();
        let credentials = self
            .complete
            .as_ref()
            .map(|c| c.scope.credentials.clone())
            .unwrap_or_default();
        self.disclosed.sort_by_key(|r| r.seq);
        if let Some(mut complete) = self.complete.take() {
            // Which sessions a credential opened is read from their openings: a session whose
            // records are here without its opening could be one of them left out.
            if !credentials.is_empty()
                && let Some(session) = without_opening(&self.disclosed)
            {
                complete.result.proven = false;
                self.checked.broke(format!(
                    "session {session}: its records are in the file without its opening (whether the report's credential opened it cannot be told)"
                ));
            }
            let r = &mut complete.result;
            if r.to.is_none() {
                r.proven = false;
                self.checked.broke(
                    "the file claims its accounts' records complete but proves no interval of them"
                        .into(),
                );
            } else if let (Some(through), Some((to, _))) = (r.scope.through, r.to)
                && to < through
            {
                r.proven = false;
                self.checked.broke(format!(
                    "the account indexes end at record {to}, before record {through}, the last the report read (checkpoints left out at the end)"
                ));
            }
            let starts = match (r.scope.since, r.after) {
                (_, None) => true,
                (Some(since), Some((_, time))) => time < since,
                (None, Some(_)) => false,
            };
            let ends = match (r.scope.until, r.to) {
                (_, None) => false,
                (Some(until), Some((_, time))) => time >= until,
                // The report's window runs to its making: the file's last checkpoint, signed for
                // it, ends it.
                (None, Some(_)) => true,
            };
            r.spans_window = starts && ends;
            self.checked.complete = Some(complete.result);
        }
        let mut criteria = Vec::new();
        if !narrowing.networks.is_empty() {
            criteria.push(super::Criterion {
                networks: narrowing.networks,
                ..Default::default()
            });
        }
        if !narrowing.sessions.is_empty() {
            criteria.push(super::Criterion {
                sessions: narrowing.sessions,
                ..Default::default()
            });
        }
        let collector = if credentials.is_empty() {
            super::Collector::default()
        } else {
            super::Collector::opened_with(&credentials)
        };
        let mut collector = collector
            .matching(criteria)
            .excluding(narrowing.except_networks);
        for r in &self.disclosed {
            collector.add(r);
        }
        let shown = collector.finish(String::new());
        let shown: Claimed = serde_json::to_string(&shown)
            .ok()
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or(Claimed {
                selection: String::new(),
                sessions: Vec::new(),
                failed_logins: Vec::new(),
                tenants: Vec::new(),
            });
        // Whose and from where, as the records show: what the selection's name cannot prove.
        for session in &shown.sessions {
            *self
                .checked
                .accounts
                .entry(session.account.clone().unwrap_or_else(|| "-".into()))
                .or_default() += 1;
            if let Some(source) = &session.source {
                let address = source
                    .parse::<std::net::SocketAddr>()
                    .map_or_else(|_| source.clone(), |a| a.ip().to_string());
                self.checked.sources.insert(address);
            }
        }
        let (claimed, shown) = (self.claimed.facts(), shown.facts());
        let listed = |from: &BTreeSet<String>, not_in: &BTreeSet<String>| {
            let mut out: Vec<String> = from.difference(not_in).cloned().collect();
            if out.len() > MAX_DIFFERENCES {
                let more = out.len() - MAX_DIFFERENCES;
                out.truncate(MAX_DIFFERENCES);
                out.push(format!("and {more} more"));
            }
            out
        };
        self.checked.not_in_records = listed(&claimed, &shown);
        self.checked.not_in_report = listed(&shown, &claimed);
        self.checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn checkpoint(seq: u64) -> Checkpoint {
        Checkpoint {
            seq,
            hash: [seq as u8; ledger::HASH_LEN],
            time: seq as i64,
            signature: vec![0; 64],
            interval: None,
        }
    }

    #[test]
    fn the_intervals_are_those_between_the_checkpoints_around_each_record() {
        let c = [checkpoint(10), checkpoint(20), checkpoint(30)];
        let at =
            |seqs: &[u64]| checkpoints_holding(&c, seqs).map(|s| s.into_iter().collect::<Vec<_>>());
        assert_eq!(at(&[3, 5, 10]), Ok(vec![0]));
        assert_eq!(at(&[3, 11, 20, 25]), Ok(vec![0, 1, 2]));
        assert_eq!(at(&[21]), Ok(vec![2]));
        assert_eq!(at(&[]), Ok(vec![]));
        // No checkpoint signed at or after record 31 yet.
        assert_eq!(at(&[5, 31, 32]), Err(31));
    }

    /// Checkpoints at 10, 20, … each `time` = its seq, those from `indexed_from` on signing an
    /// account index.
    fn indexed(n: u64, indexed_from: u64) -> Vec<Checkpoint> {
        (1..=n)
            .map(|i| Checkpoint {
                interval: Some(ledger::Interval {
                    after: (i - 1) * 10,
                    root: [0; ledger::HASH_LEN],
                    accounts: (i * 10 >= indexed_from).then_some([0; ledger::HASH_LEN]),
                }),
                ..checkpoint(i * 10)
            })
            .collect()
    }

    #[test]
    fn the_account_indexes_cover_the_window_from_the_checkpoint_before_it() {
        let scope = |since, until, through| Scope {
            accounts: vec!["mallory".into()],
            since,
            until,
            through,
            ..Scope::default()
        };
        let c = indexed(5, 0);
        // No window: every checkpoint; to the one the report was read up to.
        assert_eq!(covered(&c, &scope(None, None, None), None), Some(0..=4));
        assert_eq!(covered(&c, &scope(None, None, Some(30)), None), Some(0..=2));
        // From the interval after the last checkpoint signed before `since`, to the first
        // signed at or after `until`, and on to the report's last record's.
        assert_eq!(
            covered(&c, &scope(Some(25), Some(31), None), None),
            Some(2..=3)
        );
        assert_eq!(
            covered(&c, &scope(Some(25), Some(31), None), Some(4)),
            Some(2..=4)
        );
        assert_eq!(covered(&c, &scope(Some(60), None, None), None), None);
        // Checkpoints without an index (signed before it) are not covered, nor anything
        // before them.
        let c = indexed(5, 30);
        assert_eq!(covered(&c, &scope(None, None, None), None), Some(2..=4));
        assert_eq!(covered(&c, &scope(Some(35), None, None), None), Some(3..=4));
        let mut c = indexed(5, 0);
        c[3].interval = None;
        assert_eq!(covered(&c, &scope(None, None, None), None), Some(4..=4));
        assert_eq!(covered(&c, &scope(None, Some(35), None), None), None);
        assert_eq!(covered(&[], &scope(None, None, None), None), None);
    }

    #[test]
    fn a_narrowing_admits_the_records_from_its_networks_and_not_from_its_exceptions() {
        let scope = |networks: &[&str], except: &[&str]| Scope {
            accounts: vec!["ops".into()],
            networks: networks.iter().map(|n| n.to_string()).collect(),
            except_networks: except.iter().map(|n| n.to_string()).collect(),
            ..Scope::default()
        };
        let from = |source| catalog::RecordOwner {
            source,
            ..Default::default()
        };
        let n = scope(&[], &[]).narrowing().unwrap();
        assert!(n.admits(&from(Some("10.0.0.1"))) && n.admits(&from(None)));
        let n = scope(&["203.0.113.0/24", "2001:db8::7"], &["203.0.113.9"])
            .narrowing()
            .unwrap();
        assert!(n.admits(&from(Some("203.0.113.7"))));
        assert!(n.admits(&from(Some("2001:db8::7"))));
        assert!(!n.admits(&from(Some("203.0.113.9"))), "an exception");
        assert!(!n.admits(&from(Some("198.51.100.1"))));
        assert!(
            !n.admits(&from(None)),
            "a record from nowhere is from no network"
        );
        assert!(!n.admits(&from(Some("not an address"))));
        // An IPv4-mapped address is its IPv4 one.
        assert!(n.admits(&from(Some("::ffff:203.0.113.7"))));
        assert!(scope(&["not a network"], &[]).narrowing().is_err());
    }

    #[test]
    fn a_narrowing_by_sessions_admits_their_records_alone() {
        let n = Scope {
            accounts: vec!["ops".into()],
            sessions: vec!["s1".into(), "s2".into()],
            ..Scope::default()
        }
        .narrowing()
        .unwrap();
        let of = |session| catalog::RecordOwner {
            session,
            source: Some("10.0.0.1"),
            ..Default::default()
        };
        assert!(n.admits(&of(Some("s1"))) && n.admits(&of(Some("s2"))));
        assert!(!n.admits(&of(Some("s3"))));
        assert!(
            !n.admits(&of(None)),
            "a record of no session is not a session's"
        );
    }

    #[test]
    fn a_sessions_records_after_its_login_need_its_opening_before_them() {
        use events::{AuthResult, Event, EventKind, Exported, Factor, FileOp, Outcome, Time};
        let of = |seq: u64, session: &str, kind: EventKind| {
            let mut event = Event::new(Time::from_secs(100), kind);
            event.session = Some(session.into());
            Exported {
                seq,
                hash: String::new(),
                event,
            }
        };
        let opening = |seq, session| {
            of(
                seq,
                session,
                EventKind::Session {
                    opened: true,
                    methods: Some("publickey".into()),
                    credential: Some("SHA256:k".into()),
                    ended_by: None,
                },
            )
        };
        let end = |seq, session| {
            of(
                seq,
                session,
                EventKind::Session {
                    opened: false,
                    methods: None,
                    credential: None,
                    ended_by: None,
                },
            )
        };
        let try_ = |seq, session| {
            of(
                seq,
                session,
                EventKind::Auth {
                    method: "publickey".into(),
                    factor: Factor::First,
                    result: AuthResult::Refused,
                    reason: None,
                    credential: Some("SHA256:k".into()),
                },
            )
        };
        let listed = |seq, session| {
            of(
                seq,
                session,
                EventKind::File {
                    op: FileOp::Opendir,
                    path: "/".into(),
                    file: None,
                    outcome: Outcome::Ok,
                },
            )
        };
        // A failed login has no opening and needs none; a session's tries come before it.
        assert_eq!(without_opening(&[try_(1, "a"), try_(2, "a")]), None);
        assert_eq!(
            without_opening(&[try_(1, "a"), opening(2, "a"), listed(3, "a"), end(4, "a")]),
            None
        );
        // Its opening left out: its listing, or its end alone, shows it.
        assert_eq!(without_opening(&[listed(3, "a"), end(4, "a")]), Some("a"));
        assert_eq!(without_opening(&[opening(1, "a"), end(2, "b")]), Some("b"));
        // An opening after the records it should come before does not make up for it.
        assert_eq!(
            without_opening(&[listed(1, "a"), opening(2, "a")]),
            Some("a")
        );
    }

    const KEY: [u8; 32] = [7; 32];

    fn header() -> String {
        format!(
            r#"{{"evidence":"{FORM}","public_key":"{}","report":{{"selection":"account mallory","sessions":[{{"id":"s1","account":"mallory","source":"127.0.0.7:5000","opened":"2026-12-06T10:00:00.000Z","closed":null}}]}}}}"#,
            hex::encode(KEY)
        )
    }

    #[test]
    fn a_header_of_another_form_or_ledger_is_refused() {
        assert!(Checker::new(&header(), &KEY).is_ok());
        assert!(matches!(
            Checker::new(&header(), &[8; 32]),
            Err(EvidenceError::OtherKey { .. })
        ));
        let other = header().replace(FORM, "strongroom incident evidence 9");
        assert!(matches!(
            Checker::new(&other, &KEY),
            Err(EvidenceError::NotEvidence(_))
        ));
        assert!(matches!(
            Checker::new("{", &KEY),
            Err(EvidenceError::NotEvidence(_))
        ));
    }

    #[test]
    fn a_report_with_no_records_behind_it_does_not_hold() {
        let c = Checker::new(&header(), &KEY).unwrap().finish();
        assert!(!c.holds());
        assert_eq!(
            c.not_in_records,
            [
                "session s1: account mallory, from 127.0.0.7:5000, opened 2026-12-06T10:00:00.000Z, closed -"
            ]
        );
    }

    /// Mostly `len` bytes (a hash, a key: as they must be), sometimes any length.
    fn hex_of(len: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), len),
            1 => proptest::collection::vec(any::<u8>(), 0..=len + 1),
        ]
        .prop_map(hex::encode)
    }

    fn checkpoint_line() -> impl Strategy<Value = CheckpointLine> {
        (
            0u64..12,
            any::<i64>(),
            hex_of(32),
            hex_of(64),
            proptest::option::of((0u64..12, hex_of(32), proptest::option::of(hex_of(32)))),
        )
            .prop_map(|(seq, time, hash, signature, interval)| CheckpointLine {
                seq,
                time,
                hash,
                signature,
                after: interval.as_ref().map(|i| i.0),
                root: interval.as_ref().map(|i| i.1.clone()),
                accounts: interval.and_then(|i| i.2),
            })
    }

    fn proven_line() -> impl Strategy<Value = Line> {
        (
            0u64..12,
            any::<i64>(),
            hex_of(32),
            hex_of(200),
            hex_of(32),
            proptest::option::of(hex_of(32)),
            proptest::collection::vec(hex_of(32), 0..6),
            any::<bool>(),
        )
            .prop_map(|(seq, time, prev, body, hash, key, proof, withheld)| {
                Line::Proven(ProvenLine {
                    seq,
                    time,
                    prev,
                    body,
                    hash,
                    key,
                    proof,
                    withheld,
                })
            })
    }

    fn index_line() -> impl Strategy<Value = Line> {
        (
            0u64..12,
            prop_oneof![Just("mallory".to_owned()), Just("bob".to_owned())],
            proptest::option::of(Just("acme".to_owned())),
            any::<bool>(),
            proptest::collection::vec(hex_of(32), 0..6),
            prop_oneof![
                Just(IndexEnd::Leaf),
                Just(IndexEnd::Empty),
                (hex_of(32), hex_of(32)).prop_map(|(key, digest)| IndexEnd::Other { key, digest }),
            ],
        )
            .prop_map(|(checkpoint, account, tenant, no_tenant, siblings, end)| {
                Line::Index(IndexLine {
                    checkpoint,
                    account,
                    tenant,
                    no_tenant,
                    siblings,
                    end,
                })
            })
    }

    fn line() -> impl Strategy<Value = Line> {
        prop_oneof![
            checkpoint_line().prop_map(Line::Checkpoint),
            proven_line(),
            index_line(),
            (proptest::option::of(checkpoint_line()), checkpoint_line())
                .prop_map(|(from, to)| Line::Interval { from, to }),
            (
                0u64..12,
                any::<i64>(),
                hex_of(32),
                hex_of(200),
                hex_of(32),
                any::<bool>(),
                proptest::option::of(hex_of(32)),
            )
                .prop_map(|(seq, time, prev, body, hash, rests, key)| {
                    Line::Record(RecordLine {
                        seq,
                        time,
                        prev,
                        body,
                        hash,
                        rests,
                        key,
                    })
                }),
        ]
    }

    proptest! {
        /// Whatever a forger writes, the check ends with an answer (never a panic) and a file
        /// whose signatures are not the key's never holds.
        #[test]
        fn any_lines_end_in_an_answer(lines in proptest::collection::vec(line(), 0..24),
                                      noise in proptest::collection::vec(any::<String>(), 0..4),
                                      complete in proptest::option::of(proptest::option::of(checkpoint_line()))) {
            let header = match complete {
                None => header(),
                // A claim that mallory's records are all there (after a checkpoint or from the
                // chain's start).
                Some(after) => header().replacen(
                    r#""report":"#,
                    &format!(
                        r#""complete":{},"report":"#,
                        serde_json::to_string(&Complete {
                            scope: Scope {
                                accounts: vec!["mallory".into()],
                                since: Some(5),
                                ..Scope::default()
                            },
                            after,
                        })
                        .unwrap()
                    ),
                    1,
                ),
            };
            let mut c = match Checker::new(&header, &KEY) {
                Ok(c) => c,
                // A checkpoint of the claim's that does not read.
                Err(EvidenceError::NotEvidence(_)) => return Ok(()),
                Err(e) => panic!("{e}"),
            };
            for l in &lines {
                let _ = c.line(&serde_json::to_string(l).unwrap());
            }
            for n in &noise {
                prop_assert!(c.line(n).is_err() || serde_json::from_str::<Line>(n).is_ok());
            }
            prop_assert!(!c.finish().holds());
        }
    }
}
