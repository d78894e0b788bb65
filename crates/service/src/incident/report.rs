//! The incident report as it is handed to a printer: its sessions, per tenant the files read,
//! the changes, listings and refusals, the totals and the evidence; the totals summed and the
//! CSV's rows. Never here: gathering them from the ledger ([`super::Collector`]) or printing.

use std::collections::BTreeMap;

use events::Time;
use serde::{Deserialize, Deserializer, Serialize};

/// A word of a closed set a report uses ([`TIES`], [`EXTENTS`], [`CHANGE_OPS`]). Named, not
/// written `&'static str` at its fields: serde would take such a field to be borrowed from the
/// input, and a report read back (an evidence file's) would have to outlive the program.
pub type Word = &'static str;

/// How a file's reads were tied to it ([`FileRead::identified_by`]).
pub const TIES: [&str; 3] = ["file_id", "path", "path_uncertain"];
/// How much of a file was read ([`FileRead::read`]).
pub const EXTENTS: [&str; 3] = ["whole", "partial", "unfinished"];
/// The changes a report lists ([`Change::op`]).
pub const CHANGE_OPS: [&str; 6] = ["upload", "rename", "remove", "setstat", "mkdir", "rmdir"];

/// One of `known`, as a report read back (an evidence file's) names it; any other word is
/// refused.
fn one_of<'de, D: Deserializer<'de>>(
    d: D,
    known: &'static [&'static str],
) -> Result<&'static str, D::Error> {
    let word = String::deserialize(d)?;
    known
        .iter()
        .find(|k| **k == word)
        .copied()
        .ok_or_else(|| serde::de::Error::unknown_variant(&word, known))
}

fn tie<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(d, &TIES)
}

fn extent<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(d, &EXTENTS)
}

fn change_op<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    one_of(d, &CHANGE_OPS)
}

/// One session of the selection.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub account: Option<String>,
    pub tenant: Option<String>,
    pub source: Option<String>,
    pub client: Option<String>,
    pub methods: Option<String>,
    pub credential: Option<String>,
    pub opened: Option<Time>,
    /// When its end was recorded (`None`: no end in the range: still open, or the server
    /// stopped without recording it).
    pub closed: Option<Time>,
    /// Why it ended, when something ended it: `contained by alert ID (rule)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
}

/// A connection that never logged in, as reports list it: refused at authentication (every
/// attempt it made; a first factor accepted whose second never came is one), or closed before
/// trying anything (no attempt, no method).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailedLogin {
    pub session: String,
    pub account: Option<String>,
    pub source: Option<String>,
    pub client: Option<String>,
    /// The methods tried (`password`, `publickey`, …), each once.
    pub methods: Vec<String>,
    pub attempts: u32,
    pub first: Time,
    pub last: Time,
}

/// A file the selection read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileRead {
    /// `None` for a file read before file ids (schema 1) that no later record or current path
    /// ties to an id (see `identified_by`).
    pub file_id: Option<i64>,
    /// How the reads were tied to this file: `file_id` (the records name it); `path` (records
    /// from before file ids, followed through the tenant's uploads, renames and removals:
    /// [`crate::path_history`]); `path_uncertain` (likewise, but the records leave open whether
    /// the file read is the one now at `path_now` or was deleted).
    #[serde(deserialize_with = "tie")]
    pub identified_by: Word,
    /// The path when it was first read.
    pub path_then: String,
    /// Its path now; `None` when the file no longer exists.
    pub path_now: Option<String>,
    pub deleted: bool,
    /// Its size when it was read (`None` for reads recorded before file ids: those records
    /// do not say).
    pub size: Option<u64>,
    pub bytes_read: u64,
    /// `whole` when the reads covered the file; `unfinished` when not and a download of it is
    /// still open where the records end (its bytes a lower bound); else `partial`.
    #[serde(deserialize_with = "extent")]
    pub read: Word,
    /// For a `partial` read whose parts the records name exactly (every download closed, since
    /// December 2026): the byte ranges read, `[start, end)` (end exclusive), in order, joined
    /// across handles and sessions, at most 256; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts_read: Option<Vec<(u64, u64)>>,
    pub first_access: Option<Time>,
    pub last_access: Option<Time>,
    /// Data classes and their counts of the contents that were read, even when the file was
    /// replaced or deleted since (`None`: those contents were never classified; see `classify
    /// run`).
    pub classes: Option<BTreeMap<String, u64>>,
    /// Per data class, how many different values those contents hold, estimated from their
    /// sketch (about 3%; docs/CLASSIFICATION.md): a class whose occurrences were not all
    /// sketched (contents classified before rules 14) is not listed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distinct: BTreeMap<String, u64>,
    /// The sketches themselves, summed into the totals (not part of the report's forms).
    #[serde(skip)]
    pub sketches: Option<classify::Distinct>,
    /// The contents' formats (docs/CLASSIFICATION.md): `binary` says their classes are
    /// unknown, `scanned_in_part` that they are those of a first part.
    pub formats: Vec<String>,
    /// The file's contents were replaced after the read (its classes are still those read).
    pub replaced_since: bool,
    /// The sessions that read it, in the order they first did.
    pub sessions: Vec<String>,
    /// Each session's reads of it: bytes, first and last access.
    pub by_session: Vec<SessionRead>,
}

impl FileRead {
    /// Whether what its contents hold is unknown: never classified, or not text (compressed
    /// in a form the scanner does not read, encrypted, an image).
    pub fn classes_unknown(&self) -> bool {
        self.classes.is_none() || self.formats.contains(&classify::Format::Binary.name())
    }

    /// The scheme its contents are encrypted with (`openpgp`, `cms`, `age`, `office`, `pdf`,
    /// `zip`, `7z`, `rar`), if they are, or some of them (an archive's entries): those classes are unknown,
    /// and what was read of them exposes nothing without the key.
    pub fn encryption(&self) -> Option<&str> {
        self.formats
            .iter()
            .find_map(|f| f.strip_prefix("encrypted:"))
    }

    /// What a person is told of classes that are unknown: why.
    pub fn unknown_because(&self) -> String {
        match self.encryption() {
            Some(scheme) => format!("unknown (encrypted: {scheme})"),
            None => "unknown (not text)".into(),
        }
    }

    /// Whether its classes are those of a first part of its contents only.
    pub fn classes_in_part(&self) -> bool {
        self.formats
            .contains(&classify::Format::ScannedInPart.name())
    }

    /// What a person is told of classes found in part: why the rest is unknown (compressed
    /// contents beyond what is scanned; or, in an archive, entries encrypted).
    pub fn in_part_because(&self) -> String {
        match self.encryption() {
            Some(scheme) => format!("in the part read; some contents encrypted: {scheme}"),
            None => "in the first part scanned".into(),
        }
    }
}

/// One session's reads of one file, in the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRead {
    pub session: String,
    pub bytes_read: u64,
    pub first_access: Time,
    pub last_access: Time,
}

/// A change the selection made (tampering).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    pub time: Time,
    pub seq: u64,
    /// `upload`, `rename`, `remove`, `setstat`, `mkdir`, `rmdir`.
    #[serde(deserialize_with = "change_op")]
    pub op: Word,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub session: Option<String>,
    /// What the change replaced, when it replaced a file: an upload over a file's contents (the
    /// same file id), or a rename over a file at `to` (that file, now gone). Only in records
    /// written since December 2026.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Replaced>,
    /// For an upload: the data classes and their counts of the contents it made (from the
    /// file's class history when they were replaced or deleted since; absent when they were
    /// never classified). A payment file the selection put there shows what it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<BTreeMap<String, u64>>,
    /// For a directory's rename: how many files moved with it (records since December 2026).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_moved: Option<u64>,
    /// The file's size the record gave (after an upload: the contents it made), to find those
    /// contents' classes.
    #[serde(skip)]
    pub size_after: Option<u64>,
}

/// The contents a change replaced (an overwritten payment file is the tampering that matters
/// most): the file, the size of those contents, and what they held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Replaced {
    pub file_id: i64,
    pub size: u64,
    /// Data classes and their counts of the contents replaced (`None`: never classified).
    pub classes: Option<BTreeMap<String, u64>>,
}

/// A directory the selection listed: the names of its entries were sent (a file's name can
/// carry an account number or a customer's name).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DirectoryListed {
    /// `None` for listings recorded before file ids.
    pub dir_id: Option<i64>,
    /// Its path when first listed (empty for listings recorded before December 2026, whose
    /// pages name the directory by id only: its path now says where it is).
    pub path_then: String,
    /// Its path now; `None` when it no longer exists.
    pub path_now: Option<String>,
    pub deleted: bool,
    /// Names sent: the entries of every page of every listing (a directory listed twice
    /// counts twice).
    pub names_sent: u64,
    /// The sessions that listed it, in the order they first did.
    pub sessions: Vec<String>,
    pub first_access: Option<Time>,
    pub last_access: Option<Time>,
}

/// Requests of the selection that the permission check refused, alike ones together: what it
/// tried and was not allowed (an upload-only account probing for files to download, a
/// read-only one trying to remove). Requests that were allowed and failed (a `stat` of a file
/// not there yet, as clients make before an upload) are not listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefusedRequest {
    /// The operation (`open_read`, `remove`, `opendir`, …; an unsupported request by its
    /// protocol name).
    pub op: String,
    /// The path it named (empty for a request on an open handle).
    pub path: String,
    /// The file it named, where the path resolved to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<i64>,
    /// Why it was refused.
    pub why: String,
    pub count: u64,
    pub sessions: Vec<String>,
    pub first: Time,
    pub last: Time,
}

/// What the selection did in one tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantSection {
    pub tenant: String,
    pub files_read: Vec<FileRead>,
    pub changes: Vec<Change>,
    pub directories_listed: Vec<DirectoryListed>,
    pub refused: Vec<RefusedRequest>,
    pub totals: Totals,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    pub tenants: usize,
    pub files: usize,
    /// Of `files`, those read only in part: their classes count in full (classification is
    /// per file), so for them the class sums are an upper bound.
    pub files_partial: usize,
    /// Of `files`, those with a download still open where the records end and not read whole
    /// (`read: unfinished`: in progress, or cut off by the server's stop before its close was
    /// recorded): their bytes read are a lower bound.
    pub files_unfinished: usize,
    /// Of `files`, those whose classes are unknown (not text, never classified) or known for
    /// a first part only (compressed contents beyond what is scanned): for them the class sums
    /// are a lower bound.
    pub files_classes_unknown: usize,
    /// Of those, the files whose contents are encrypted (OpenPGP, CMS, age, an Office, PDF,
    /// ZIP, 7-Zip or RAR password), or some of them (an archive's entries): what that holds is exposed only
    /// with its key.
    pub files_encrypted: usize,
    pub bytes_read: u64,
    /// Per data class: the sum over the files read, and how many of them hold it (a class's
    /// count is of occurrences: the files holding it say how widely it was spread).
    pub classes: BTreeMap<String, u64>,
    pub files_holding: BTreeMap<String, usize>,
    /// Per data class: how many different values the files read hold (a customer in thirty
    /// extracts is one), from their sketches merged; see `DistinctValues`.
    pub distinct: BTreeMap<String, DistinctValues>,
    /// The merged sketches (not part of the report's forms).
    #[serde(skip)]
    pub sketches: classify::Distinct,
    /// Changes the selection made (uploads, renames, removals, …), and of them those that
    /// replaced a file (an upload over it, a rename over it): what a summary must not leave
    /// out when nothing was read.
    pub changes: usize,
    pub changes_replacing: usize,
    /// Directories listed, and the names their listings sent.
    pub directories_listed: usize,
    pub names_sent: u64,
    /// Requests the permission check refused.
    pub refused: u64,
}

/// How many different values of a class the files read hold: `about` estimated from the merged
/// sketches of their values (about 3% standard error; a handful counted nearly exactly), and
/// `not_sketched` occurrences whose values are in no sketch (contents classified before rules
/// 14: `classify run` sketches those), which may add at most that many.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DistinctValues {
    pub about: u64,
    pub not_sketched: u64,
}

impl Totals {
    /// The classes' sketches of the files read summed: each class's occurrences outside them
    /// counted, its distinct values estimated.
    fn count_distinct(&mut self, not_sketched: &BTreeMap<String, u64>) {
        self.distinct = self
            .classes
            .keys()
            .filter_map(|name| {
                let class = classify::Class::parse(name)?;
                let values = DistinctValues {
                    about: self.sketches.estimate(class),
                    not_sketched: not_sketched.get(name).copied().unwrap_or(0),
                };
                Some((name.clone(), values))
            })
            .collect();
    }
}

/// The ledger range the report rests on, and what lets a third party check it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Evidence {
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The first signed checkpoint at or after `last_seq`: the chain up to it covers the
    /// range (`None`: none signed yet since the range's end).
    pub checkpoint: Option<CheckpointRef>,
    /// With `--verify`: the verification of the chain from the signed checkpoint before
    /// `first_seq` to the one after `last_seq` (`verified: records …` or where it broke);
    /// without, [`super::NOT_VERIFIED`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

/// A signed checkpoint, as `audit checkpoint` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointRef {
    pub seq: u64,
    pub time: Time,
    /// The chain hash at `seq` (hex).
    pub hash: String,
    /// Ed25519 over the checkpoint (hex); the ledger's public key checks it.
    pub signature: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub selection: String,
    /// When the report was made (its HTML form says it too).
    pub made: Time,
    pub sessions: Vec<SessionRow>,
    /// Connections of the selection that never logged in (refused at authentication, or
    /// closed before trying): not
    /// sessions, and they read nothing, but an investigator wants to see them.
    pub failed_logins: Vec<FailedLogin>,
    pub tenants: Vec<TenantSection>,
    pub totals: Totals,
    pub evidence: Evidence,
    /// The sequence numbers of the records the report rests on, in order: what an evidence
    /// file discloses (`crate::incident::evidence_file`). Not part of the report's own forms.
    #[serde(skip)]
    pub rests_on: Vec<u64>,
    /// The accounts those records name (sorted): whose records an evidence file of a selection
    /// without accounts shows complete. Not part of the report's own forms.
    #[serde(skip)]
    pub accounts: Vec<String>,
    /// The accounts whose every record within the report's window the evidence file can show,
    /// and how the report narrowed them: what an evidence file proves complete
    /// (`crate::incident::evidence_file::Scope`). Not part of the report's own forms.
    #[serde(skip)]
    pub scope: Option<super::evidence_file::Scope>,
    /// Records the ledger holds after the checkpoint the report was read up to (for an evidence
    /// file): not read. Not part of the report's own forms.
    #[serde(skip)]
    pub after_checkpoint: u64,
}

/// The account of each session of a report, to say who read a file.
pub struct SessionAccounts<'a>(std::collections::HashMap<&'a str, &'a str>);

impl<'a> SessionAccounts<'a> {
    /// The accounts that read `f`, each once, in the order they first did.
    pub fn reading(&self, f: &FileRead) -> Vec<&'a str> {
        let mut accounts: Vec<&'a str> = Vec::new();
        for a in f.sessions.iter().filter_map(|s| self.0.get(s.as_str())) {
            if !accounts.contains(a) {
                accounts.push(a);
            }
        }
        accounts
    }
}

impl Report {
    /// Each session's account (looked up once per file, not searched).
    pub fn session_accounts(&self) -> SessionAccounts<'_> {
        SessionAccounts(
            self.sessions
                .iter()
                .filter_map(|s| Some((s.id.as_str(), s.account.as_deref()?)))
                .collect(),
        )
    }

    /// Sums per tenant and overall, once paths and classes are filled in.
    pub fn total(&mut self) {
        let mut all = Totals::default();
        let mut all_not_sketched: BTreeMap<String, u64> = BTreeMap::new();
        for t in &mut self.tenants {
            // A tenant counts where its files were read (not where the selection only
            // changed, listed or was refused): the same in its section as in the whole.
            let mut sum = Totals {
                tenants: usize::from(!t.files_read.is_empty()),
                ..Default::default()
            };
            let mut not_sketched: BTreeMap<String, u64> = BTreeMap::new();
            for f in &t.files_read {
                for (class, n) in f.classes.iter().flatten() {
                    let Some(c) = classify::Class::parse(class) else {
                        continue;
                    };
                    let sketched = f.sketches.as_ref().map_or(0, |d| d.sketched(c));
                    *not_sketched.entry(class.clone()).or_default() += n.saturating_sub(sketched);
                }
                if let Some(d) = &f.sketches {
                    sum.sketches.merge(d);
                }
                sum.files += 1;
                sum.files_partial += usize::from(f.read == "partial");
                sum.files_unfinished += usize::from(f.read == "unfinished");
                sum.files_classes_unknown +=
                    usize::from(f.classes_unknown() || f.classes_in_part());
                sum.files_encrypted += usize::from(f.encryption().is_some());
                sum.bytes_read += f.bytes_read;
                for (class, n) in f.classes.iter().flatten() {
                    *sum.classes.entry(class.clone()).or_default() += n;
                    if *n > 0 {
                        *sum.files_holding.entry(class.clone()).or_default() += 1;
                    }
                }
            }
            sum.changes = t.changes.len();
            sum.changes_replacing = t.changes.iter().filter(|c| c.replaced.is_some()).count();
            sum.directories_listed = t.directories_listed.len();
            sum.names_sent = t.directories_listed.iter().map(|d| d.names_sent).sum();
            sum.refused = t.refused.iter().map(|r| r.count).sum();
            all.directories_listed += sum.directories_listed;
            all.names_sent += sum.names_sent;
            all.refused += sum.refused;
            all.tenants += sum.tenants;
            all.changes += sum.changes;
            all.changes_replacing += sum.changes_replacing;
            all.files += sum.files;
            all.files_partial += sum.files_partial;
            all.files_unfinished += sum.files_unfinished;
            all.files_classes_unknown += sum.files_classes_unknown;
            all.files_encrypted += sum.files_encrypted;
            all.bytes_read += sum.bytes_read;
            for (class, n) in &sum.classes {
                *all.classes.entry(class.clone()).or_default() += n;
            }
            for (class, n) in &sum.files_holding {
                *all.files_holding.entry(class.clone()).or_default() += n;
            }
            sum.count_distinct(&not_sketched);
            all.sketches.merge(&sum.sketches);
            for (class, d) in &sum.distinct {
                *all_not_sketched.entry(class.clone()).or_default() += d.not_sketched;
            }
            t.totals = sum;
        }
        all.count_distinct(&all_not_sketched);
        self.totals = all;
    }

    /// One CSV row per file read: tenant, file id, path then, path now, deleted, size, bytes
    /// read, whole or partial, first and last access, classes (`class=count;…`, then
    /// `scanned_in_part` when they are a part's, and `encrypted:zip` when the rest is encrypted
    /// (an archive's entries); `none` when classification found none,
    /// `unknown` when the contents are not text, `unknown;encrypted:openpgp` when they are
    /// encrypted, `unclassified` when it never ran), how the
    /// reads were tied
    /// to the file, the accounts and sessions that read it (`;` between them, in the order
    /// they first did), and how many different values of each class it holds (`class=n;…`,
    /// estimated, as `distinct` in JSON), and a partial read's parts where the records name
    /// them (`start-end;…`, end exclusive, as `parts_read` in JSON); no cell a spreadsheet would run as a formula
    /// ([`events::csv::spreadsheet_safe`]).
    pub fn csv_rows(&self) -> Vec<Vec<String>> {
        let mut rows = vec![
            [
                "tenant",
                "file_id",
                "path_then",
                "path_now",
                "deleted",
                "size",
                "bytes_read",
                "read",
                "first_access",
                "last_access",
                "classes",
                "identified_by",
                "accounts",
                "sessions",
                "distinct",
                "parts_read",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        // Which account each session was: a row says who read the file.
        let accounts = self.session_accounts();
        for t in &self.tenants {
            for f in &t.files_read {
                let accounts = accounts.reading(f);
                let classes = match &f.classes {
                    None => "unclassified".to_owned(),
                    Some(_) if f.classes_unknown() => match f.encryption() {
                        Some(scheme) => format!("unknown;encrypted:{scheme}"),
                        None => "unknown".to_owned(),
                    },
                    Some(c) if c.is_empty() && !f.classes_in_part() => "none".to_owned(),
                    Some(c) => c
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .chain(f.classes_in_part().then(|| "scanned_in_part".to_owned()))
                        .chain(f.encryption().map(|scheme| format!("encrypted:{scheme}")))
                        .collect::<Vec<_>>()
                        .join(";"),
                };
                rows.push(
                    vec![
                        t.tenant.clone(),
                        f.file_id.map_or_else(String::new, |id| id.to_string()),
                        f.path_then.clone(),
                        f.path_now.clone().unwrap_or_default(),
                        f.deleted.to_string(),
                        f.size.map_or_else(String::new, |n| n.to_string()),
                        f.bytes_read.to_string(),
                        f.read.to_owned(),
                        f.first_access.map(|t| t.to_string()).unwrap_or_default(),
                        f.last_access.map(|t| t.to_string()).unwrap_or_default(),
                        classes,
                        f.identified_by.to_owned(),
                        accounts.join(";"),
                        f.sessions.join(";"),
                        f.distinct
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(";"),
                        f.parts_read
                            .iter()
                            .flatten()
                            .map(|(start, end)| format!("{start}-{end}"))
                            .collect::<Vec<_>>()
                            .join(";"),
                    ]
                    .into_iter()
                    .map(events::csv::spreadsheet_safe)
                    .collect(),
                );
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file read whose contents `text` held, classified now (sketched) or as a stored form from
    /// before sketches (`sketched: false`).
    fn read_of(path: &str, text: &str, sketched: bool) -> FileRead {
        let c = classify::classify(text.as_bytes());
        FileRead {
            path_then: path.into(),
            classes: Some(
                c.counts
                    .present()
                    .map(|(k, n)| (k.as_str().to_owned(), n))
                    .collect(),
            ),
            sketches: sketched.then_some(c.distinct),
            ..Default::default()
        }
    }

    fn extract(from: u32, to: u32) -> String {
        let mut s = String::from("name,email\n");
        for i in from..to {
            s.push_str(&format!("c{i},customer{i}@example.com\n"));
        }
        s
    }

    /// A report with every part filled, as an evidence file's header holds it, reads back to
    /// the same report: its JSON and CSV forms are made again byte for byte; a word outside a
    /// closed set is refused.
    #[test]
    fn a_report_reads_back_from_its_json_to_the_same_forms() {
        let t = Time::from_millis;
        let mut read = read_of("/in/pay.csv", &extract(0, 20), true);
        read.file_id = Some(7);
        read.identified_by = TIES[2];
        read.path_now = Some("/done/pay.csv".into());
        read.size = Some(9_000);
        read.bytes_read = 4_096;
        read.read = EXTENTS[1];
        read.parts_read = Some(vec![(0, 1_024), (4_096, 7_168)]);
        read.first_access = Some(t(1_000));
        read.last_access = Some(t(2_000));
        read.formats = vec!["csv".into()];
        read.replaced_since = true;
        read.sessions = vec!["s1".into()];
        read.by_session = vec![SessionRead {
            session: "s1".into(),
            bytes_read: 4_096,
            first_access: t(1_000),
            last_access: t(2_000),
        }];
        let mut report = Report {
            selection: "account mallory".into(),
            made: t(9_999),
            sessions: vec![SessionRow {
                id: "s1".into(),
                account: Some("mallory".into()),
                tenant: Some("acme".into()),
                source: Some("203.0.113.7".into()),
                opened: Some(t(500)),
                ended_by: Some("contained by alert a1 (canary)".into()),
                ..Default::default()
            }],
            failed_logins: vec![FailedLogin {
                session: "s0".into(),
                account: Some("mallory".into()),
                source: None,
                client: Some("OpenSSH_9.2".into()),
                methods: vec!["password".into()],
                attempts: 3,
                first: t(100),
                last: t(200),
            }],
            tenants: vec![TenantSection {
                tenant: "acme".into(),
                files_read: vec![read],
                changes: vec![Change {
                    time: t(3_000),
                    seq: 42,
                    op: CHANGE_OPS[0],
                    path: "/in/pay.csv".into(),
                    to: None,
                    file_id: Some(7),
                    bytes: Some(9_100),
                    session: Some("s1".into()),
                    replaced: Some(Replaced {
                        file_id: 7,
                        size: 9_000,
                        classes: Some(BTreeMap::from([("iban".into(), 3)])),
                    }),
                    classes: None,
                    files_moved: None,
                    size_after: None,
                }],
                directories_listed: vec![DirectoryListed {
                    dir_id: Some(2),
                    path_then: "/in".into(),
                    names_sent: 3,
                    ..Default::default()
                }],
                refused: vec![RefusedRequest {
                    op: "remove".into(),
                    path: "/in/x".into(),
                    file_id: None,
                    why: "read-only".into(),
                    count: 2,
                    sessions: vec!["s1".into()],
                    first: t(10),
                    last: t(20),
                }],
                totals: Totals::default(),
            }],
            evidence: Evidence {
                records: 12,
                first_seq: Some(30),
                last_seq: Some(42),
                checkpoint: Some(CheckpointRef {
                    seq: 50,
                    time: t(5_000),
                    hash: "ab".repeat(32),
                    signature: "cd".repeat(64),
                }),
                chain: Some("verified: records 1-50".into()),
            },
            ..Default::default()
        };
        report.total();
        let header = serde_json::json!({"evidence": "x", "report": &report}).to_string();
        let back = crate::incident::evidence_file::report_of(&header).unwrap();
        assert_eq!(
            serde_json::to_string_pretty(&back).unwrap(),
            serde_json::to_string_pretty(&report).unwrap()
        );
        assert_eq!(back.csv_rows(), report.csv_rows());
        assert_eq!(back.made, t(9_999));
        // A word a report never says is refused, not taken as some other.
        let forged = header.replace(r#""read":"partial""#, r#""read":"all of it""#);
        assert_ne!(forged, header);
        let e = crate::incident::evidence_file::report_of(&forged).unwrap_err();
        assert!(e.to_string().contains("all of it"), "{e}");
    }

    #[test]
    fn distinct_values_are_counted_once_across_files_and_tenants() {
        let mut report = Report {
            tenants: vec![
                TenantSection {
                    tenant: "acme".into(),
                    files_read: vec![
                        read_of("/day1.csv", &extract(0, 100), true),
                        read_of("/day2.csv", &extract(0, 100), true),
                        read_of("/day3.csv", &extract(50, 150), true),
                    ],
                    ..Default::default()
                },
                TenantSection {
                    tenant: "beta".into(),
                    files_read: vec![
                        read_of("/copy.csv", &extract(0, 100), true),
                        // Classified before sketches: its 40 occurrences are told apart from
                        // nothing.
                        read_of("/old.csv", &extract(500, 540), false),
                    ],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        report.total();
        let acme = &report.tenants[0].totals;
        assert_eq!(acme.classes["email"], 300);
        assert_eq!(acme.distinct["email"].not_sketched, 0);
        assert!(acme.distinct["email"].about.abs_diff(150) <= 3, "{acme:?}");
        let beta = &report.tenants[1].totals;
        assert_eq!(beta.classes["email"], 140);
        assert_eq!(beta.distinct["email"].not_sketched, 40);
        assert!(beta.distinct["email"].about.abs_diff(100) <= 3, "{beta:?}");
        // Overall: the same customers in both tenants count once.
        let all = &report.totals;
        assert_eq!(all.classes["email"], 440);
        assert_eq!(all.distinct["email"].not_sketched, 40);
        assert!(all.distinct["email"].about.abs_diff(150) <= 3, "{all:?}");
        // A tenant's own pattern is counted, not sketched: no distinct count is claimed.
        assert!(all.distinct.keys().all(|k| !k.starts_with("custom.")));
    }
}
