//! The server's own pass over every stored file's contents, a tenant and a file at a time: each
//! file read whole as a download would (every sealed chunk opened), at a pace that spares the
//! disk, from where the last pass stopped (the catalog keeps it), so that a sealed chunk
//! changed on disk or a blob gone is found before a client asks for it. Here: when a pass is
//! due ([`next`]), the pace ([`Pace`]), one file's check ([`check_file`]) and the alert
//! ([`alert_of`]). Never here: the timers and the alert's delivery (the server), how a
//! chunk is opened (the vault), the SQL (the catalog).

use std::time::{Duration, Instant};

use catalog::{Catalog, ContentsCheck, Node};
use events::Time;

use crate::detection::AlertRecord;
use crate::files::{Files, FsError};

/// The rule a contents alert names, the same as the sealed values' check
/// ([`crate::integrity::RULE`]): both say that what is stored is not what was sealed.
pub use crate::integrity::RULE;

/// Files read per page of the catalog.
pub const PAGE: u32 = 100;

/// What to do now, told by the pass's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Begin a pass, from the first tenant.
    Begin,
    /// Go on with the pass where it stopped.
    Resume(ContentsCheck),
    /// Nothing until then: the last pass began less than a period ago.
    Wait(Duration),
}

/// What to do at `now` (Unix milliseconds) with the pass's `state`, passes beginning `every`
/// apart (the next at once where the last took longer).
pub fn next(state: Option<ContentsCheck>, every: Duration, now: i64) -> Next {
    let Some(s) = state else {
        return Next::Begin;
    };
    if s.finished_at.is_none() {
        return Next::Resume(s);
    }
    let every = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    match s.started_at.saturating_add(every).saturating_sub(now) {
        left if left > 0 => Next::Wait(Duration::from_millis(left as u64)),
        _ => Next::Begin,
    }
}

/// A pass begun at `now` (Unix milliseconds), when the last node made was `until_node`: at the
/// first tenant, nothing read yet.
pub fn begun(now: i64, until_node: i64) -> ContentsCheck {
    ContentsCheck {
        started_at: now,
        finished_at: None,
        until_node,
        tenant_id: i64::MIN,
        after_node: None,
        files_read: 0,
        bytes_read: 0,
        damaged: 0,
    }
}

/// The least a file counts for against the pace, in bytes, however small (at 16 MiB/s, a
/// thousand files a second).
pub const FILE_FLOOR: u64 = 16 << 10;

/// Waits shorter than this are carried into the next one, not slept (a timer's granularity).
const LEAST_WAIT: Duration = Duration::from_millis(10);

/// Reads paced at a number of bytes per second: after each read, how long to wait before the
/// next, so that the reads since the pace was made average no more (no credit is kept for a
/// time nothing was read).
#[derive(Debug)]
pub struct Pace {
    bytes_per_sec: u64,
    /// When the bytes read so far would have been read at the pace.
    until: Option<Instant>,
}

impl Pace {
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            bytes_per_sec: bytes_per_sec.max(1),
            until: None,
        }
    }

    /// How long to wait, at `now`, after reading `bytes`.
    pub fn after(&mut self, bytes: u64, now: Instant) -> Duration {
        let from = self.until.map_or(now, |u| u.max(now));
        let until = from + Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec as f64);
        self.until = Some(until);
        until.saturating_duration_since(now)
    }

    /// Waits as long as reading `bytes` just now asks.
    pub async fn wait(&mut self, bytes: u64) {
        let wait = self.after(bytes, Instant::now());
        if wait >= LEAST_WAIT {
            tokio::time::sleep(wait).await;
        }
    }
}

/// What one file's check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChecked {
    /// Read whole: every chunk opened; its size.
    Read(u64),
    /// Removed, or its contents changing, while it was read: nothing to say of it.
    Gone,
    /// Its contents do not open: what failed (the chunk, or the blob missing or cut short).
    Damaged(String),
    /// Not read, for a passing lack of the server's resources (open files, memory) or the
    /// catalog's failure: nothing to say of its contents, which are to be read again later;
    /// what failed.
    NotNow(String),
}

/// Reads file `node` of `files`' tenant whole (paced by `pace` where given). A failure is
/// judged against the file's row read again: where the file was removed or its contents,
/// data key or size changed meanwhile (an upload over it, a rename over it, a key rotation),
/// or its tenant's removal began (its key is gone first, its files after it in steps),
/// the read was of what is no longer the file's, and the file as it is now is read instead
/// (once; a file changing again is [`FileChecked::Gone`], read by the next pass). A failure
/// of the server's own ([`passing`]) is [`FileChecked::NotNow`], never damage. Fails only
/// where the catalog cannot be read.
pub async fn check_file(
    files: &Files,
    catalog: &Catalog,
    mut node: Node,
    mut pace: Option<&mut Pace>,
) -> Result<FileChecked, catalog::CatalogError> {
    for _ in 0..2 {
        // A small file costs its catalog reads and its key's unwrapping whatever its size: the
        // pace counts it as at least [`FILE_FLOOR`] (a store of millions of empty files is
        // read at a pace too).
        if let Some(p) = pace.as_deref_mut() {
            p.wait(FILE_FLOOR.saturating_sub(node.size)).await;
        }
        // A file not found (its row gone, or its contents' column empty) is judged like any
        // other failure: by its row read again.
        let failed = match files.check_contents(&node, pace.as_deref_mut()).await {
            Ok(()) => return Ok(FileChecked::Read(node.size)),
            Err(e) if passing(&e) => return Ok(FileChecked::NotNow(what_failed(&e))),
            Err(e) => e,
        };
        match catalog.node(node.id).await? {
            None => return Ok(FileChecked::Gone),
            // A tenant whose removal began has no key: its files are going, not damaged.
            Some(_) if !catalog.tenant_in_service(node.tenant_id).await? => {
                return Ok(FileChecked::Gone);
            }
            Some(fresh) if same_contents(&fresh, &node) => {
                return Ok(FileChecked::Damaged(what_failed(&failed)));
            }
            Some(fresh) => node = fresh,
        }
    }
    Ok(FileChecked::Gone)
}

/// Whether failure `e` of a file's read is the server's, not the file's: its storage short of
/// resources for now (too many open files, no memory: `vault::BlobError::is_passing`), or its
/// catalog failing to give the file's key or inline contents.
pub fn passing(e: &FsError) -> bool {
    e.is_passing() || matches!(e, FsError::Catalog(_))
}

/// Whether rows `a` and `b` of a file hold the same contents under the same data key.
fn same_contents(a: &Node, b: &Node) -> bool {
    (a.blob_id.as_ref(), a.seal.as_ref(), a.size, a.inline)
        == (b.blob_id.as_ref(), b.seal.as_ref(), b.size, b.inline)
}

/// What a contents check's failure says, for people: the chunk that did not open, the blob
/// missing, with the causes the error carries (never contents or keys).
pub fn what_failed(e: &FsError) -> String {
    let mut said = match e {
        // Its row is there (else it is gone): the contents its row should hold are not.
        FsError::NotFound => "its contents are missing".to_owned(),
        FsError::Integrity { reason, .. } => reason.to_string(),
        FsError::Storage(s) => s.to_string(),
        other => other.to_string(),
    };
    let mut cause = std::error::Error::source(e);
    // The integrity and storage errors say their cause already.
    if matches!(e, FsError::Integrity { .. } | FsError::Storage(_)) {
        cause = None;
    }
    while let Some(c) = cause {
        said = format!("{said}: {c}");
        cause = c.source();
    }
    said
}

/// The alert that the contents of tenant `tenant`'s files `found` (each its row and what
/// failed) do not open, found at `time`: high severity, no containment (no account is at
/// fault), the files named by their rows (never by their paths: those are sealed; `tenant
/// check --contents` gives them to an administrator).
pub fn alert_of(tenant: &str, found: &[(i64, String)], id: String, time: Time) -> AlertRecord {
    let files = crate::integrity::first_named(
        found
            .iter()
            .map(|(row, failed)| format!("file {row} ({failed})")),
    );
    let one = found.len() == 1;
    crate::integrity::alert(
        tenant,
        format!(
            "the contents of {} of tenant {tenant} {} not open as sealed (damaged on disk, or \
             altered behind the server): {files}; `strongroom tenant check {tenant} --contents` \
             {}",
            if one {
                "1 file".to_owned()
            } else {
                format!("{} files", found.len())
            },
            if one { "does" } else { "do" },
            if one {
                "lists it with its path; restore it from its sender"
            } else {
                "lists them with their paths; restore each from its sender"
            },
        ),
        id,
        time,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read failing for the server's lack of resources, or its catalog's failure, is not the
    /// file's damage; a chunk that does not open, a blob missing or unreadable are.
    #[test]
    fn the_servers_own_failures_are_not_damage() {
        let io = |n: i32| {
            FsError::Storage(vault::BlobError::Io {
                id: vault::BlobId::random(),
                source: std::io::Error::from_raw_os_error(n),
            })
        };
        assert!(passing(&io(libc::EMFILE)));
        assert!(passing(&FsError::Catalog(catalog::CatalogError::NotEmpty)));
        assert!(!passing(&io(libc::EIO)));
        assert!(!passing(&FsError::NotFound));
        let damaged = FsError::Integrity {
            path: "file 1".into(),
            reason: vault::SealError::Truncated(0),
        };
        assert!(!passing(&damaged));
        assert_eq!(
            what_failed(&io(libc::EMFILE))
                .split_once(": ")
                .map(|(_, why)| why),
            Some("Too many open files (os error 24)")
        );
    }

    fn state(started_at: i64, finished_at: Option<i64>) -> ContentsCheck {
        ContentsCheck {
            finished_at,
            ..begun(started_at, 10)
        }
    }

    #[test]
    fn a_pass_is_begun_when_due_and_resumed_where_it_stopped() {
        let week = Duration::from_secs(7 * 86_400);
        let week_ms = 7 * 86_400_000;
        assert_eq!(next(None, week, 5), Next::Begin);
        let going = ContentsCheck {
            tenant_id: 4,
            after_node: Some(99),
            ..state(1_000, None)
        };
        assert_eq!(
            next(Some(going), week, 1_000 + 2 * week_ms),
            Next::Resume(going)
        );
        // Finished: the next a period after the last began.
        let done = state(1_000, Some(5_000));
        assert_eq!(
            next(Some(done), week, 6_000),
            Next::Wait(Duration::from_millis(week_ms as u64 - 5_000))
        );
        assert_eq!(next(Some(done), week, 1_000 + week_ms), Next::Begin);
        // A pass that took longer than the period: the next at once.
        let long = state(1_000, Some(1_000 + 2 * week_ms));
        assert_eq!(next(Some(long), week, 1_000 + 2 * week_ms), Next::Begin);
        // A period past any time: never again (no overflow).
        assert_eq!(
            next(Some(done), Duration::MAX, 6_000),
            Next::Wait(Duration::from_millis((i64::MAX - 6_000) as u64))
        );
    }

    #[test]
    fn reads_are_paced_at_their_bytes_per_second() {
        let t0 = Instant::now();
        let mut pace = Pace::new(1 << 20);
        // 1 MiB at once: a second's wait.
        assert_eq!(pace.after(1 << 20, t0), Duration::from_secs(1));
        // Another 1 MiB half a second later: two seconds' worth from the start.
        let at = t0 + Duration::from_millis(500);
        assert_eq!(pace.after(1 << 20, at), Duration::from_millis(1_500));
        // Small reads add up, each a little.
        let mut small = Pace::new(1 << 20);
        let mut last = Duration::ZERO;
        for _ in 0..256 {
            last = small.after(4 << 10, t0);
        }
        assert_eq!(last, Duration::from_secs(1));
        // A pause gives no credit: after ten idle seconds, 1 MiB waits its second again.
        let later = t0 + Duration::from_secs(12);
        assert_eq!(pace.after(1 << 20, later), Duration::from_secs(1));
    }

    #[test]
    fn an_alert_names_the_tenant_and_its_first_files() {
        let one = alert_of(
            "acme",
            &[(
                7,
                "chunk 1 failed authentication (modified or moved)".into(),
            )],
            "a1".into(),
            Time::from_millis(5),
        );
        assert_eq!(
            (
                one.rule.as_str(),
                one.severity,
                one.tenant.as_deref(),
                one.account.as_deref(),
                one.actions.len()
            ),
            ("integrity", events::Severity::High, Some("acme"), None, 0)
        );
        assert_eq!(
            one.summary,
            "the contents of 1 file of tenant acme does not open as sealed (damaged on disk, or \
             altered behind the server): file 7 (chunk 1 failed authentication (modified or \
             moved)); `strongroom tenant check acme --contents` lists it with its path; \
             restore it from its sender"
        );
        let many: Vec<(i64, String)> = (1..=12).map(|row| (row, "blob missing".into())).collect();
        let many = alert_of("acme", &many, "a2".into(), Time::from_millis(5));
        assert!(
            many.summary
                .starts_with("the contents of 12 files of tenant acme do not open")
                && many.summary.contains("file 10 (blob missing) and 2 more; ")
                && many
                    .summary
                    .ends_with("lists them with their paths; restore each from its sender"),
            "{}",
            many.summary
        );
    }
}
