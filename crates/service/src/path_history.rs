//! Which file a record that names a file only by its path was about. Records written before
//! file ids (schema 1, before December 2026) say `open_read /inbox/a.csv`, not which file that
//! was; [`PathHistory`] replays a tenant's records in order (uploads, renames, removals,
//! retention deletions, and every successful operation on a path) and gives each file it sees
//! a lineage: one per file, kept through overwrites and renames as the catalog keeps a file's
//! id. Records that carry ids tie lineages to them, so a file named by its id today is followed
//! back through the records that named it only by path.
//!
//! Where the records leave a file's identity open (a retention deletion of a file the records
//! knew only by path, or a rename whose target was not recorded), the next change at a path
//! that file might have been at starts a new lineage that only *may* continue the old one: the
//! old lineage's reads are then reported as uncertain, never silently joined.
//!
//! Pure: records in, lineages out. Never here: reading the ledger, the catalog, printing.

use std::collections::{BTreeMap, HashMap};

use events::{EventKind, Exported, FileOp, Outcome};

pub use crate::incident::Fate;

/// One file as the records show it.
#[derive(Debug, Clone)]
struct Lineage {
    /// The file's id, once a record names it.
    id: Option<i64>,
    /// Where it is now (`None` once removed, deleted, replaced or moved out of sight).
    path: Option<String>,
    /// The last record that showed this file at its path.
    confirmed: u64,
    /// The lineage this one may continue (it was started where the records left open whether
    /// the file at the path was still that one), and the one that may continue this one.
    may_continue: Option<usize>,
    maybe_continued_by: Option<usize>,
}

/// The lineages of one tenant's files, replayed from its records in sequence order.
#[derive(Debug, Default)]
pub struct PathHistory {
    at: BTreeMap<String, usize>,
    lineages: Vec<Lineage>,
    by_id: HashMap<i64, usize>,
    /// The last record after which a file the records knew only by path may have been deleted
    /// (a retention deletion of an id no record tied to a path).
    deleted_unseen: u64,
    /// The last record after which a file may have appeared at a path no record named (a
    /// rename whose target was not recorded).
    moved_unseen: u64,
    /// Open downloads: by session and the path they were opened at, the lineage opened (a
    /// handle's progress and close name the path it was opened at, even after a rename).
    open: HashMap<(String, String), usize>,
}

/// A file's lineages: the one it has now (and whether the records leave open that it is this
/// file: a file may have appeared at its path unseen since), and those it may continue (oldest
/// last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLineage {
    pub current: usize,
    pub current_uncertain: bool,
    pub uncertain: Vec<usize>,
}

/// How surely a record was about the file asked for (surest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tie {
    /// The record names the file's id.
    Id,
    /// The record names a path, and the records show the file there at the time.
    Path,
    /// The record names a path where the file may have been: the records leave it open.
    Uncertain,
}

impl PathHistory {
    /// Takes the tenant's next record (in sequence order); for a successful read of a file
    /// named only by its path, the lineage it read.
    pub fn add(&mut self, r: &Exported) -> Option<usize> {
        match &r.event.kind {
            EventKind::RetentionDelete { file_id, .. } => {
                match self.by_id.get(file_id) {
                    Some(&l) => self.vacate(l),
                    None => self.deleted_unseen = r.seq,
                }
                None
            }
            EventKind::File {
                op,
                path,
                file,
                outcome: Outcome::Ok,
            } => {
                let id = file.as_ref().map(|f| f.id);
                match op {
                    FileOp::OpenRead | FileOp::ProgressRead { .. } | FileOp::CloseRead { .. } => {
                        let handle = (r.event.session.clone().unwrap_or_default(), path.clone());
                        let opened = match op {
                            FileOp::OpenRead => None,
                            FileOp::CloseRead { .. } => self.open.remove(&handle),
                            _ => self.open.get(&handle).copied(),
                        };
                        let l = match opened {
                            // The file the handle opened, wherever it is now.
                            Some(l) if id.is_none() => l,
                            _ => self.touch(path, id, r.seq, false),
                        };
                        if matches!(op, FileOp::OpenRead) && id.is_none() {
                            self.open.insert(handle, l);
                        }
                        id.is_none().then_some(l)
                    }
                    FileOp::CloseWrite { .. } => {
                        self.touch(path, id, r.seq, true);
                        None
                    }
                    FileOp::Remove => {
                        if let Some(&l) = self.at.get(path) {
                            self.vacate(l);
                        }
                        None
                    }
                    FileOp::Rename { to, .. } => {
                        self.rename(path, to.as_deref(), id, r.seq);
                        None
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The lineages of the file with `id`, now at `path`: the one tied to its id, else the one
    /// the records left at its path (if no other id claims it).
    pub fn file(&self, id: i64, path: &str) -> Option<FileLineage> {
        let (current, current_uncertain) = match self.by_id.get(&id) {
            Some(&l) => (l, false),
            None => {
                let l = *self.at.get(path)?;
                if self.lineages[l].id.is_some_and(|other| other != id) {
                    return None;
                }
                (l, self.lineages[l].confirmed < self.moved_unseen)
            }
        };
        let mut uncertain = Vec::new();
        let mut l = current;
        while let Some(earlier) = self.lineages[l].may_continue {
            uncertain.push(earlier);
            l = earlier;
        }
        Some(FileLineage {
            current,
            current_uncertain,
            uncertain,
        })
    }

    /// What became of lineage `l` (of a read the replay returned): the file it is now, or its
    /// removal; uncertain where the records leave open whether it is the file now at that
    /// path.
    pub fn fate(&self, l: usize) -> Fate {
        let mut last = l;
        let mut uncertain = false;
        while let Some(later) = self.lineages[last].maybe_continued_by {
            last = later;
            uncertain = true;
        }
        let lineage = &self.lineages[last];
        // A file may have appeared at its path unseen since it was last seen there.
        uncertain |= lineage.path.is_some() && lineage.confirmed < self.moved_unseen;
        Fate {
            id: lineage.id,
            path: lineage.path.clone(),
            uncertain,
        }
    }

    /// A lineage started at `path` (with the file's `id`, if known).
    fn start(
        &mut self,
        path: &str,
        id: Option<i64>,
        seq: u64,
        may_continue: Option<usize>,
    ) -> usize {
        let l = self.lineages.len();
        self.lineages.push(Lineage {
            id,
            path: Some(path.to_owned()),
            confirmed: seq,
            may_continue,
            maybe_continued_by: None,
        });
        if let Some(earlier) = may_continue {
            self.lineages[earlier].maybe_continued_by = Some(l);
        }
        if let Some(old) = self.at.insert(path.to_owned(), l) {
            self.lineages[old].path = None;
        }
        if let Some(id) = id {
            self.by_id.insert(id, l);
        }
        l
    }

    /// The file's lineage leaves its path (removed, deleted, replaced).
    fn vacate(&mut self, l: usize) {
        if let Some(p) = self.lineages[l].path.take()
            && self.at.get(&p) == Some(&l)
        {
            self.at.remove(&p);
        }
    }

    /// A successful operation on the file at `path` (an upload's commit when `writes`): the
    /// lineage it was on.
    fn touch(&mut self, path: &str, id: Option<i64>, seq: u64, writes: bool) -> usize {
        if let Some(id) = id
            && let Some(&l) = self.by_id.get(&id)
        {
            // The id says which file: it is here now, whatever the replay thought.
            if self.lineages[l].path.as_deref() != Some(path) {
                self.vacate(l);
                if let Some(old) = self.at.insert(path.to_owned(), l) {
                    self.lineages[old].path = None;
                }
                self.lineages[l].path = Some(path.to_owned());
            }
            self.lineages[l].confirmed = seq;
            return l;
        }
        let Some(&l) = self.at.get(path) else {
            return self.start(path, id, seq, None);
        };
        let lineage = &self.lineages[l];
        if id.is_some() && lineage.id.is_some() {
            // Two ids: another file.
            return self.start(path, id, seq, None);
        }
        // Left open: a file may have appeared here unseen since the lineage was last seen
        // here; or, for a commit, the file may have been deleted unseen and this upload
        // created a new one (a successful read shows the file was still there).
        let appeared = lineage.confirmed < self.moved_unseen;
        let deleted = writes && lineage.confirmed < self.deleted_unseen;
        if appeared || deleted {
            return self.start(path, id, seq, Some(l));
        }
        if let Some(id) = id {
            self.by_id.insert(id, l);
            self.lineages[l].id = Some(id);
        }
        self.lineages[l].confirmed = seq;
        l
    }

    /// A rename of `from` (a file, or a directory and every file under it) to `to`.
    fn rename(&mut self, from: &str, to: Option<&str>, id: Option<i64>, seq: u64) {
        if let Some(id) = id
            && let Some(&l) = self.by_id.get(&id)
            && self.lineages[l].path.as_deref() != Some(from)
        {
            // The id names a file the replay had elsewhere: it is at `from` now.
            self.touch(from, Some(id), seq, false);
        }
        // The file at `from`, or the files under the directory `from` (`/a-b` sorts between
        // `/a` and `/a/…`: the directory's files are looked up from `/a/`).
        let dir = format!("{from}/");
        let moved: Vec<(String, usize)> = self
            .at
            .get_key_value(from)
            .into_iter()
            .chain(
                self.at
                    .range(dir.clone()..)
                    .take_while(|(p, _)| p.starts_with(&dir)),
            )
            .map(|(p, l)| (p.clone(), *l))
            .collect();
        let Some(to) = to else {
            // Moved out of sight: the files may turn up at a path no record names.
            for (_, l) in moved {
                self.vacate(l);
            }
            self.moved_unseen = seq;
            return;
        };
        if to == from {
            return;
        }
        // A file there is replaced (POSIX rename).
        if let Some(&old) = self.at.get(to)
            && !moved.iter().any(|(_, l)| *l == old)
        {
            self.vacate(old);
        }
        for (p, _) in &moved {
            self.at.remove(p);
        }
        for (p, l) in moved {
            let new = format!("{to}{}", &p[from.len()..]);
            if let Some(old) = self.at.insert(new.clone(), l) {
                self.lineages[old].path = None;
            }
            // A rename shows that a file was at `from`: this one, unless a file may have appeared
            // there unseen since it was last seen (then it stays unconfirmed, and what follows
            // is uncertain). Of the files under a directory it shows nothing.
            if p == from && self.lineages[l].confirmed >= self.moved_unseen {
                self.lineages[l].confirmed = seq;
            }
            self.lineages[l].path = Some(new);
        }
        // A schema-2 rename names the node it moved: a file's lineage takes its id.
        if let (Some(id), Some(&l)) = (id, self.at.get(to))
            && self.lineages[l].id.is_none()
            && !self.by_id.contains_key(&id)
        {
            self.lineages[l].id = Some(id);
            self.by_id.insert(id, l);
        }
    }
}

impl Tie {
    /// The name reports give it.
    pub fn name(self) -> &'static str {
        match self {
            Tie::Id => "file_id",
            Tie::Path => "path",
            Tie::Uncertain => "path_uncertain",
        }
    }
}

impl FileLineage {
    /// How surely lineage `l` (of a read record) is this file.
    pub fn tie(&self, l: usize) -> Option<Tie> {
        if l == self.current {
            Some(if self.current_uncertain {
                Tie::Uncertain
            } else {
                Tie::Path
            })
        } else if self.uncertain.contains(&l) {
            Some(Tie::Uncertain)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::FileReaders;
    use events::Event;

    /// A record as schema 1 wrote it (no file ids), by session `s` at second `seq`.
    fn v1(seq: u64, s: &str, rest: &str) -> Exported {
        let json = format!(
            r#"{{"time":{},"source":"127.0.0.2:5000","account":"a{s}","tenant":"acme","session":"{s}",{rest}}}"#,
            1_800_000_000 + seq
        );
        Exported {
            seq,
            hash: String::new(),
            event: Event::from_stored(json.as_bytes()).unwrap(),
        }
    }

    fn op(seq: u64, s: &str, op: &str, path: &str) -> Exported {
        v1(
            seq,
            s,
            &format!(r#""kind":"file","op":"{op}","path":"{path}","outcome":"ok""#),
        )
    }

    fn upload(seq: u64, path: &str) -> Exported {
        v1(
            seq,
            "up",
            &format!(
                r#""kind":"file","op":"close_write","path":"{path}","bytes":10,"outcome":"ok""#
            ),
        )
    }

    fn read(seq: u64, s: &str, path: &str) -> Exported {
        v1(
            seq,
            s,
            &format!(
                r#""kind":"file","op":"close_read","path":"{path}","bytes":10,"whole_file":true,"outcome":"ok""#
            ),
        )
    }

    fn rename(seq: u64, from: &str, to: &str) -> Exported {
        v1(
            seq,
            "mv",
            &format!(r#""kind":"file","op":"rename","path":"{from}","to":"{to}","outcome":"ok""#),
        )
    }

    /// A rename as a record that does not say where the file went.
    fn unrecorded_rename(seq: u64, from: &str) -> Exported {
        v1(
            seq,
            "mv",
            &format!(r#""kind":"file","op":"rename","path":"{from}","outcome":"ok""#),
        )
    }

    fn retention_delete(seq: u64, id: i64) -> Exported {
        v1(
            seq,
            "-",
            &format!(r#""kind":"retention_delete","file_id":{id},"size":10"#),
        )
    }

    /// A record of schema 2: the file's id named.
    fn with_id(mut r: Exported, id: i64) -> Exported {
        if let EventKind::File { file, .. } = &mut r.event.kind {
            *file = Some(events::FileRef { id, size: 10 });
        }
        r
    }

    /// Who read the file `id` now at `path`, as `incident file` finds them: the records
    /// replayed once, the file's lineages taken at the end. `(session, identified_by)`, by
    /// session.
    fn readers(records: &[Exported], id: i64, path: &str) -> Vec<(String, &'static str)> {
        let mut history = PathHistory::default();
        let mut readers = FileReaders::new(id, None, None);
        for r in records {
            let lineage = history.add(r);
            readers.add(r, lineage);
        }
        readers
            .finish(history.file(id, path).as_ref())
            .into_iter()
            .map(|r| (r.session, r.identified_by))
            .collect()
    }

    fn want(rows: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        rows.iter().map(|(s, t)| (s.to_string(), *t)).collect()
    }

    /// Reads before file ids are followed through renames (of the file and of its directory)
    /// to the file's id; a file of a similar name (`/d-x`, which sorts between `/d` and
    /// `/d/…`) and a file read at the file's later name before it got there are not it.
    #[test]
    fn reads_before_ids_follow_the_file_through_renames() {
        let records = [
            upload(1, "/d/pay.csv"),
            upload(2, "/d-x"),
            upload(3, "/e.csv"),
            read(4, "s1", "/d/pay.csv"),
            // A download open while its folder is renamed: its close names the old path.
            op(4, "s7", "open_read", "/d/pay.csv"),
            read(5, "s9", "/d-x"),
            // Another file at the name the file will have: its reads are not the file's.
            read(6, "s8", "/e/pay.csv"),
            rename(7, "/d", "/e"),
            read(8, "s2", "/e/pay.csv"),
            read(8, "s7", "/d/pay.csv"),
            rename(9, "/e/pay.csv", "/e.csv"),
            with_id(read(10, "s3", "/e.csv"), 7),
        ];
        assert_eq!(
            readers(&records, 7, "/e.csv"),
            want(&[
                ("s1", "path"),
                ("s2", "path"),
                ("s3", "file_id"),
                ("s7", "path")
            ])
        );
        // Never named by id since: found at the path the replay leaves it at.
        assert_eq!(
            readers(&records[..11], 7, "/e.csv"),
            want(&[("s1", "path"), ("s2", "path"), ("s7", "path")])
        );
        // The close at the old path did not make a file there.
        assert_eq!(readers(&records, 8, "/d/pay.csv"), want(&[]));
        assert_eq!(readers(&records, 8, "/d-x"), want(&[("s9", "path")]));
    }

    /// An upload over a file keeps it (as the catalog keeps its id); a removal ends it, and an
    /// upload at the same path afterwards is another file. A rename over a file replaces it.
    #[test]
    fn overwrites_keep_a_file_and_removals_and_replacements_end_it() {
        let records = [
            upload(1, "/a"),
            read(2, "s1", "/a"),
            upload(3, "/a"),
            read(4, "s2", "/a"),
            op(5, "rm", "remove", "/a"),
            upload(6, "/a"),
            read(7, "s3", "/a"),
            upload(8, "/b"),
            read(9, "s4", "/b"),
            rename(10, "/a", "/b"),
            read(11, "s5", "/b"),
        ];
        // The file now at /b is the one uploaded at /a after the removal.
        assert_eq!(
            readers(&records, 7, "/b"),
            want(&[("s3", "path"), ("s5", "path")])
        );
        // A file named by an id the replay never tied to a path, now at a path the replay
        // left empty: nothing before ids is its.
        assert_eq!(readers(&records, 7, "/a"), want(&[]));
    }

    /// A retention deletion of a file the records knew only by path leaves open whether a
    /// later upload at a path replaced that file or created a new one: the earlier reads are
    /// listed as uncertain. A successful read between shows the file was still there.
    #[test]
    fn deletions_of_unknown_files_make_earlier_reads_uncertain() {
        let records = [
            upload(1, "/a"),
            upload(2, "/b"),
            read(3, "s1", "/a"),
            read(4, "s2", "/b"),
            retention_delete(5, 42),
            read(6, "s3", "/b"),
            upload(7, "/a"),
            upload(8, "/b"),
            read(9, "s4", "/a"),
            read(10, "s5", "/b"),
        ];
        assert_eq!(
            readers(&records, 7, "/a"),
            want(&[("s1", "path_uncertain"), ("s4", "path")])
        );
        assert_eq!(
            readers(&records, 8, "/b"),
            want(&[("s2", "path"), ("s3", "path"), ("s5", "path")])
        );
        // So does an upload that names its id (schema 2 names the file, new or overwritten).
        let mut named = records.to_vec();
        named[6] = with_id(upload(7, "/a"), 7);
        assert_eq!(
            readers(&named, 7, "/a"),
            want(&[("s1", "path_uncertain"), ("s4", "path")])
        );
        // A rename after the deletion shows the file was still there (it moved it).
        let renamed = [
            upload(1, "/a"),
            read(2, "s1", "/a"),
            retention_delete(3, 42),
            rename(4, "/a", "/b"),
            upload(5, "/b"),
            read(6, "s2", "/b"),
        ];
        assert_eq!(
            readers(&renamed, 7, "/b"),
            want(&[("s1", "path"), ("s2", "path")])
        );
        // Once a record ties the deleted file's id to its path, nothing is left open.
        let mut tied = records.to_vec();
        tied[2] = with_id(read(3, "s1", "/a"), 42);
        assert_eq!(readers(&tied, 7, "/a"), want(&[("s4", "path")]));
    }

    /// A rename whose target was not recorded moves the file out of sight: every file's next
    /// record may be of that one, so what came before it is uncertain.
    #[test]
    fn renames_to_an_unknown_path_make_every_later_file_uncertain() {
        let mut records = vec![
            upload(1, "/a"),
            upload(2, "/b"),
            read(3, "s1", "/b"),
            unrecorded_rename(4, "/a"),
            read(5, "s2", "/b"),
        ];
        assert_eq!(
            readers(&records, 7, "/b"),
            want(&[("s1", "path_uncertain"), ("s2", "path")])
        );
        // A read at the moved file's old path afterwards is of whatever is there then.
        records.push(read(6, "s3", "/a"));
        assert_eq!(readers(&records, 8, "/a"), want(&[("s3", "path")]));
        // A rename afterwards moves whatever file is at its path: not surely the one read there
        // before.
        let records = [
            upload(1, "/c"),
            read(2, "s1", "/c"),
            unrecorded_rename(3, "/x"),
            rename(4, "/c", "/d"),
            read(5, "s2", "/d"),
        ];
        assert_eq!(
            readers(&records, 9, "/d"),
            want(&[("s1", "path_uncertain"), ("s2", "path")])
        );
    }
}
