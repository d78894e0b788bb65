//! The incident report as one self-contained HTML page: the summary, an SVG timeline of the
//! selection's reads, its sessions, and per tenant the files read, the changes made, the
//! directories listed and the requests refused. No external assets, no script (a content
//! security policy forbids both); every value is escaped by the compiled template
//! (`templates/incident.html`).

use askama::Template;
use events::Time;
use std::collections::BTreeMap;

use service::incident::{
    Change, DirectoryListed, FileRead, Report, SessionAccounts, SessionRow, TenantSection, Totals,
};

use crate::printable::printable;

#[derive(Template)]
#[template(path = "incident.html")]
struct Page<'a> {
    r: &'a Report,
    first_seq: String,
    last_seq: String,
    generated: Time,
    timeline: Timeline,
    /// Each session's account, to say who read a file.
    accounts: SessionAccounts<'a>,
}

impl Page<'_> {
    /// A value a client chose (a path, a client version, a key id), as a person should see it
    /// ([`printable`]).
    fn shown(&self, text: &str) -> String {
        printable(text).into_owned()
    }

    /// `1 tenant`, `209 files`.
    fn count(&self, n: &usize, what: &str) -> String {
        crate::units::counted(*n, what)
    }

    /// `52310 iban in 38 files` ([`crate::units::class_spread`]).
    fn class_spread(&self, t: &Totals, class: &str, n: &u64) -> String {
        crate::units::class_spread(t, class, *n)
    }

    /// ` (3 of them read in part: …; 2 with classes unknown or found in part …)`, or nothing.
    fn in_part(&self, t: &Totals) -> String {
        let mut notes = Vec::new();
        if t.files_partial > 0 {
            notes.push(format!(
                "{} of them read in part: their classes count in full",
                t.files_partial
            ));
        }
        if t.files_unfinished > 0 {
            notes.push(format!(
                "{} unfinished: a download still open where the records end (in progress, or \
                 cut off by the server's stop), its bytes those recorded so far",
                t.files_unfinished
            ));
        }
        if t.files_classes_unknown > 0 {
            notes.push(format!(
                "{} with classes unknown or found in part (not text, or scanned in part): the \
                 sums are of what was found",
                t.files_classes_unknown
            ));
        }
        if t.files_encrypted > 0 {
            notes.push(format!(
                "{} encrypted, or holding encrypted files (OpenPGP, CMS, age, or an Office, PDF, \
                 ZIP, 7-Zip or RAR password): what is encrypted is exposed only with its key",
                t.files_encrypted
            ));
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        }
    }

    /// `3 changes, 1 of them replacing a file`, or `no changes`.
    fn changes_text(&self, t: &Totals) -> String {
        crate::units::changes_made(t.changes, t.changes_replacing)
            + &crate::units::listed_and_refused(t.directories_listed, t.names_sent, t.refused)
    }

    /// What the refused requests' table leaves out ([`MAX_REFUSED_ROWS`]), or nothing.
    fn refused_not_shown(&self, t: &TenantSection) -> String {
        not_shown(
            t.refused.len(),
            MAX_REFUSED_ROWS,
            "kind of refused request",
            "kinds of refused request",
        )
    }

    /// What the directories' table leaves out ([`MAX_LISTED_ROWS`]), or nothing.
    fn listed_not_shown(&self, t: &TenantSection) -> String {
        not_shown(
            t.directories_listed.len(),
            MAX_LISTED_ROWS,
            "directory listed",
            "directories listed",
        )
    }

    /// A listed directory's path now, or where none is known.
    fn dir_now(&self, d: &DirectoryListed) -> String {
        match &d.path_now {
            Some(p) => self.shown(p),
            None => String::new(),
        }
    }

    /// `23,121 bytes (22.6 KiB)`.
    fn bytes_text(&self, n: &u64) -> String {
        crate::units::bytes_for_people(*n)
    }

    /// A time as the page shows it: RFC 3339 with a space for its `T`, so that a narrow
    /// column breaks it between the date and the time, never inside either.
    fn time(&self, t: &Time) -> String {
        t.to_string().replacen('T', " ", 1)
    }

    fn opt_time(&self, t: &Option<Time>) -> String {
        t.as_ref().map_or_else(|| "-".into(), |t| self.time(t))
    }

    /// How a session ended: what ended it (containment, an administrator, its server's stop),
    /// else by its client, else that no end is recorded.
    fn ended(&self, s: &SessionRow) -> String {
        match (&s.ended_by, s.closed) {
            (Some(why), _) => self.shown(why),
            (None, Some(_)) => "by the client, or its connection dropped".into(),
            (None, None) => {
                "no end recorded: still open, unless its server stopped and has not started since"
                    .into()
            }
        }
    }

    /// A file's size when it was read, or `-` where the records do not say (reads recorded
    /// before file ids).
    fn size_text(&self, f: &FileRead) -> String {
        f.size.map_or_else(|| "-".into(), |n| n.to_string())
    }

    /// The accounts that read a file, in the order they first did (`ops, eve`).
    fn read_by(&self, f: &FileRead) -> String {
        self.shown(&self.accounts.reading(f).join(", "))
    }

    /// How much of a file was read: `whole`, `unfinished`, or `partial`, with the parts read
    /// where the records name them (`partial: bytes 1000 to 2999, 8192 to 9999`: first to last,
    /// the first [`PARTS_SHOWN`], then how many more).
    fn read_text(&self, f: &FileRead) -> String {
        match &f.parts_read {
            Some(parts) if !parts.is_empty() => {
                let mut shown: Vec<String> = parts
                    .iter()
                    .take(PARTS_SHOWN)
                    .map(|(start, end)| format!("{start} to {}", end - 1))
                    .collect();
                if parts.len() > PARTS_SHOWN {
                    shown.push(format!("and {} more", parts.len() - PARTS_SHOWN));
                }
                format!("{}: bytes {}", f.read, shown.join(", "))
            }
            _ => f.read.to_owned(),
        }
    }

    /// A file's id, or what stands for it when the read was recorded before file ids; marked
    /// when the tie of the reads to the file rests on its path history (`path`) or is left
    /// open by it (`path, uncertain`).
    fn file_id_text(&self, f: &FileRead) -> String {
        let id = f.file_id.map_or_else(|| "-".into(), |id| id.to_string());
        match f.identified_by {
            "path" => format!("{id} (by path)"),
            "path_uncertain" => format!("{id} (by path, uncertain)"),
            _ => id,
        }
    }

    fn classes_text(&self, f: &FileRead) -> String {
        match &f.classes {
            None if f.file_id.is_none() => "unknown (read before file ids)".into(),
            Some(_) if f.classes_unknown() => f.unknown_because(),
            classes if f.classes_in_part() => {
                format!(
                    "{} ({})",
                    classes_text(classes.as_ref()),
                    f.in_part_because()
                )
            }
            classes => {
                let distinct: Vec<String> = f
                    .distinct
                    .iter()
                    .map(|(k, n)| format!("{k} about {n}"))
                    .collect();
                if distinct.is_empty() {
                    classes_text(classes.as_ref())
                } else {
                    format!(
                        "{} (distinct: {})",
                        classes_text(classes.as_ref()),
                        distinct.join(", ")
                    )
                }
            }
        }
    }

    /// The bytes an upload received, or nothing for other changes.
    fn change_bytes(&self, c: &Change) -> String {
        c.bytes.map_or_else(String::new, |n| n.to_string())
    }

    /// What an upload's contents held: `iban 120, swift_bic 120` (nothing for other changes).
    fn made_text(&self, c: &Change) -> String {
        if c.op == "upload" {
            classes_text(c.classes.as_ref())
        } else {
            String::new()
        }
    }

    /// What a change replaced: `file 12, 48,213 bytes (47.1 KiB): iban 100, swift_bic 101`.
    fn replaced_text(&self, c: &Change) -> String {
        c.replaced.as_ref().map_or_else(String::new, |r| {
            format!(
                "file {}, {}: {}",
                r.file_id,
                crate::units::bytes_for_people(r.size),
                classes_text(r.classes.as_ref())
            )
        })
    }
}

/// What a table of `rows` cut at `shown` leaves out (`3 more kinds of refused request not shown
/// here: …`), or nothing.
fn not_shown(rows: usize, shown: usize, one: &str, many: &str) -> String {
    match rows.saturating_sub(shown) {
        0 => String::new(),
        1 => format!("1 more {one} not shown here: the JSON report lists every one."),
        n => format!("{n} more {many} not shown here: the JSON report lists every one."),
    }
}

/// Data classes and their counts as the page shows them.
/// Parts of a partial read a file's row names (the JSON and CSV forms name them all).
const PARTS_SHOWN: usize = 4;

fn classes_text(classes: Option<&BTreeMap<String, u64>>) -> String {
    match classes {
        None => "not classified".into(),
        Some(c) if c.is_empty() => "none found".into(),
        Some(c) => c
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

struct Bar {
    x: i64,
    width: i64,
    title: String,
}

struct Row {
    y: i64,
    label: String,
    bars: Vec<Bar>,
}

struct Timeline {
    width: i64,
    height: i64,
    left: i64,
    right: i64,
    axis_y: i64,
    label_y: i64,
    start: String,
    end: String,
    rows: Vec<Row>,
    /// Sessions that read files and have no row (past [`MAX_ROWS`]).
    not_drawn: usize,
}

/// Kinds of refused request shown per tenant (a prober trying thousands of paths makes
/// thousands; the JSON report lists every one).
pub(crate) const MAX_REFUSED_ROWS: usize = 1000;
/// Directories listed shown per tenant (a crawler lists every one of a large tree; the JSON
/// report lists them all).
pub(crate) const MAX_LISTED_ROWS: usize = 1000;

const LEFT: i64 = 170;
const RIGHT: i64 = 880;
const ROW: i64 = 18;
/// Sessions drawn at most (an account that polls opens thousands: the tables list them all).
const MAX_ROWS: usize = 300;

/// One row per session that read files, in the order the sessions are listed (at most
/// [`MAX_ROWS`]); a bar per file read, from its first to its last access.
fn timeline(r: &Report) -> Timeline {
    let reads: Vec<(&str, &FileRead)> = r
        .tenants
        .iter()
        .flat_map(|t| t.files_read.iter().map(move |f| (t.tenant.as_str(), f)))
        .collect();
    let times = reads
        .iter()
        .flat_map(|(_, f)| [f.first_access, f.last_access])
        .flatten()
        .map(|t| t.as_millis());
    let (lo, hi) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let (lo, hi) = if lo > hi {
        (0, 1)
    } else {
        (lo, hi.max(lo + 1))
    };
    let x = |t: Option<Time>| {
        LEFT + (t.map_or(lo, |t| t.as_millis()) - lo) * (RIGHT - LEFT) / (hi - lo)
    };
    // Each session's bars, in one pass over the reads: a bar for its reads of a file (another
    // session's of the same file are on that session's row).
    let mut bars_of: std::collections::HashMap<&str, Vec<Bar>> = Default::default();
    for (tenant, f) in &reads {
        for mine in &f.by_session {
            let (a, b) = (x(Some(mine.first_access)), x(Some(mine.last_access)));
            bars_of.entry(mine.session.as_str()).or_default().push(Bar {
                x: a,
                width: (b - a).max(3),
                title: format!(
                    "{tenant}:{} ({} bytes, {})",
                    f.path_then, mine.bytes_read, f.read
                ),
            });
        }
    }
    let readers = r
        .sessions
        .iter()
        .filter_map(|s| Some((s, bars_of.remove(s.id.as_str())?)));
    let mut rows = Vec::new();
    let mut not_drawn = 0;
    for (s, bars) in readers {
        if rows.len() == MAX_ROWS {
            not_drawn += 1;
            continue;
        }
        let y = 10 + rows.len() as i64 * ROW;
        let short: String =
            s.id.chars()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
        rows.push(Row {
            y,
            label: format!("{} …{short}", s.account.as_deref().unwrap_or("-")),
            bars,
        });
    }
    let axis_y = 14 + rows.len() as i64 * ROW;
    Timeline {
        width: RIGHT + 20,
        height: axis_y + 24,
        left: LEFT,
        right: RIGHT,
        axis_y,
        label_y: axis_y + 16,
        start: Time::from_millis(lo).to_string(),
        end: Time::from_millis(hi).to_string(),
        rows,
        not_drawn,
    }
}

/// The page for `r`, generated at `now`.
pub fn render(r: &Report, now: Time) -> Result<String, askama::Error> {
    let seq = |s: Option<u64>| s.map_or_else(|| "-".into(), |s| s.to_string());
    Page {
        r,
        first_seq: seq(r.evidence.first_seq),
        last_seq: seq(r.evidence.last_seq),
        generated: now,
        timeline: timeline(r),
        accounts: r.session_accounts(),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use service::incident::TenantSection;

    /// On the timeline, each session's row shows its own reads of a file, not the span of every
    /// session's.
    #[test]
    fn each_session_row_shows_its_own_reads() {
        use service::incident::{SessionRead, SessionRow};
        let at = |ms: i64| Time::from_millis(1_800_000_000_000 + ms);
        let read = |session: &str, from, to| SessionRead {
            session: session.into(),
            bytes_read: 10,
            first_access: at(from),
            last_access: at(to),
        };
        let r = Report {
            sessions: ["early", "late"]
                .map(|id| SessionRow {
                    id: id.into(),
                    ..Default::default()
                })
                .to_vec(),
            tenants: vec![TenantSection {
                tenant: "acme".into(),
                files_read: vec![FileRead {
                    path_then: "/f".into(),
                    first_access: Some(at(0)),
                    last_access: Some(at(100_000)),
                    sessions: vec!["early".into(), "late".into()],
                    by_session: vec![read("early", 0, 0), read("late", 100_000, 100_000)],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let t = timeline(&r);
        let bars: Vec<(i64, i64)> = t
            .rows
            .iter()
            .map(|row| (row.bars[0].x, row.bars[0].width))
            .collect();
        assert_eq!(bars, vec![(LEFT, 3), (RIGHT, 3)]);
    }

    /// A session that read nothing has no row; past [`MAX_ROWS`] sessions are counted, not
    /// drawn (an account polling every minute for a month opens 43,000), and the page says so.
    #[test]
    fn the_timeline_draws_reading_sessions_up_to_its_limit() {
        use service::incident::{SessionRead, SessionRow};
        let n = MAX_ROWS + 5;
        let at = Time::from_millis(1_800_000_000_000);
        let mut sessions: Vec<SessionRow> = (0..n)
            .map(|i| SessionRow {
                id: format!("s{i}"),
                ..Default::default()
            })
            .collect();
        sessions.insert(
            1,
            SessionRow {
                id: "changed-only".into(),
                ..Default::default()
            },
        );
        let files_read = (0..n)
            .map(|i| FileRead {
                path_then: format!("/f{i}"),
                first_access: Some(at),
                last_access: Some(at),
                by_session: vec![SessionRead {
                    session: format!("s{i}"),
                    bytes_read: 1,
                    first_access: at,
                    last_access: at,
                }],
                ..Default::default()
            })
            .collect();
        let r = Report {
            sessions,
            tenants: vec![TenantSection {
                tenant: "acme".into(),
                files_read,
                ..Default::default()
            }],
            ..Default::default()
        };
        let t = timeline(&r);
        assert_eq!(t.rows.len(), MAX_ROWS);
        assert_eq!(t.not_drawn, 5);
        assert!(t.rows.iter().all(|row| row.bars.len() == 1));
        assert!(t.rows[1].label.ends_with("…s1"), "{}", t.rows[1].label);
        let page = render(&r, at).unwrap();
        assert!(page.contains("5 more sessions read files and are not drawn"));
    }

    /// A prober trying thousands of paths makes thousands of kinds of refusal, a crawler lists
    /// thousands of directories: the page shows [`MAX_REFUSED_ROWS`] and [`MAX_LISTED_ROWS`]
    /// and says how many more the JSON holds.
    #[test]
    fn refusals_past_the_limit_are_counted_not_shown() {
        let at = Time::from_millis(1_800_000_000_000);
        let refused = (0..MAX_REFUSED_ROWS + 3)
            .map(|i| service::incident::RefusedRequest {
                op: "open_read".into(),
                path: format!("/guess-{i}"),
                file_id: None,
                why: "upload-only account".into(),
                count: 1,
                sessions: vec!["s".into()],
                first: at,
                last: at,
            })
            .collect();
        let r = Report {
            tenants: vec![TenantSection {
                tenant: "acme".into(),
                refused,
                ..Default::default()
            }],
            ..Default::default()
        };
        let page = render(&r, at).unwrap();
        assert_eq!(page.matches("/guess-").count(), MAX_REFUSED_ROWS);
        assert!(page.contains("3 more kinds of refused request not shown here"));
        // Likewise the directories a crawler listed.
        let listed = (0..MAX_LISTED_ROWS + 1)
            .map(|i| service::incident::DirectoryListed {
                path_then: format!("/tree-{i}"),
                ..Default::default()
            })
            .collect();
        let r = Report {
            tenants: vec![TenantSection {
                tenant: "acme".into(),
                directories_listed: listed,
                ..Default::default()
            }],
            ..Default::default()
        };
        let page = render(&r, at).unwrap();
        assert_eq!(page.matches("/tree-").count(), MAX_LISTED_ROWS);
        assert!(page.contains("1 more directory listed not shown here"));
    }

    #[test]
    fn totals_read_as_counts_and_sizes() {
        let r = Report::default();
        let page = Page {
            r: &r,
            first_seq: String::new(),
            last_seq: String::new(),
            generated: Time::from_millis(0),
            timeline: timeline(&r),
            accounts: r.session_accounts(),
        };
        assert_eq!(page.count(&1, "tenant"), "1 tenant");
        assert_eq!(page.count(&209, "file"), "209 files");
        assert_eq!(page.bytes_text(&0), "0 bytes");
        assert_eq!(page.bytes_text(&1023), "1,023 bytes");
        assert_eq!(page.bytes_text(&23_121), "23,121 bytes (22.6 KiB)");
        assert_eq!(
            page.bytes_text(&1_932_735_283),
            "1,932,735,283 bytes (1.8 GiB)"
        );
        assert_eq!(
            page.bytes_text(&u64::MAX),
            "18,446,744,073,709,551,615 bytes (16.0 EiB)"
        );
    }

    /// A path that a client chose with a bidirectional override, control characters and
    /// markup shows on the page as escapes and text: never reversed, never markup.
    #[test]
    fn client_chosen_paths_show_as_they_are() {
        let path = "/in/invoice\u{202e}fdp.exe\u{1b}[0m<b>x</b>";
        let read = FileRead {
            file_id: Some(7),
            identified_by: "file_id",
            path_then: path.into(),
            path_now: Some(path.into()),
            size: Some(1),
            bytes_read: 1,
            read: "whole",
            first_access: Some(Time::from_millis(1_800_000_000_000)),
            last_access: Some(Time::from_millis(1_800_000_000_000)),
            sessions: vec!["s1".into()],
            ..Default::default()
        };
        let report = Report {
            selection: "account mallory".into(),
            tenants: vec![TenantSection {
                tenant: "acme".into(),
                files_read: vec![read],
                ..Default::default()
            }],
            ..Default::default()
        };
        let page = render(&report, Time::from_millis(1_800_000_001_000)).unwrap();
        assert!(
            page.contains(">0 tenants, 0 files read,\n0 bytes; no changes."),
            "{page}"
        );
        assert!(
            !page.contains('\u{202e}') && !page.contains('\u{1b}'),
            "{page}"
        );
        assert!(!page.contains("<b>x"), "{page}");
        assert_eq!(
            page.matches(r"/in/invoice\u{202e}fdp.exe\u{1b}[0m&#60;b&#62;x&#60;/b&#62;")
                .count(),
            2,
            "{page}"
        );
    }
}
