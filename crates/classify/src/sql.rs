//! SQL dumps (`.sql`: `pg_dump`'s plain format, `mysqldump`'s and MariaDB's, `sqlite3 .dump`,
//! SQL Server's and Oracle's generated scripts): a database's tables written as statements,
//! what a DBA moves and an attacker takes. Their rows are no text a scanner can read as a
//! table: `INSERT INTO customers VALUES (1,'Ann','123456789','021000021','12345678')` names no
//! column beside its values (the `CREATE TABLE` above it does), and a `COPY` block's rows are
//! under a statement, not a header. So the dump is read statement by statement as it streams
//! (`SqlDump`): each table's rows (an `INSERT`'s tuples, a `COPY ... FROM stdin` block's lines)
//! are written out as a tab-separated table under a header of its columns' names (the
//! statement's column list, else the table's `CREATE TABLE`), to a scanner of the table's own,
//! so that a column named `ssn` or `routing_number` names its values and a row's account stands
//! beside its routing number, as in a delimited export; everything else (the schema, comments,
//! other statements) is read as text by a scanner of its own. The tables' and the text's
//! classes are summed, with their formats and `sql`.
//!
//! Pure: bytes in, classes out. A statement's head is kept to [`MAX_HEAD`] to be told (a
//! longer one is read as text); tables' columns are remembered for [`MAX_TABLES`] tables of
//! at most [`MAX_COLUMNS`] columns each; each table's scanner is an entry of the file's budget
//! (a dump that switches tables at every statement makes no more than the budget allows; its
//! further rows are read as text), and the headers written draw on its bytes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::Format;
use crate::archive::Entries;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};

/// Most bytes of a statement kept to tell what it is (an `INSERT`'s head to `VALUES`, a
/// `CREATE TABLE` whole).
pub const MAX_HEAD: usize = 64 << 10;
/// Tables whose columns are remembered from their `CREATE TABLE`.
pub const MAX_TABLES: usize = 4096;
/// Columns remembered per table.
pub const MAX_COLUMNS: usize = 1024;
/// Bytes written for a scanner before they are handed to it.
const OUT: usize = 64 << 10;

/// Whether a file's first bytes are a SQL dump: a dump's banner, or statements (after
/// comments) that begin as dumps do, with a table's definition or rows among them.
pub(crate) fn magic(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    const BANNERS: [&[u8]; 4] = [
        b"-- MySQL dump",
        b"-- MariaDB dump",
        b"--\n-- PostgreSQL database dump",
        b"-- PostgreSQL database dump",
    ];
    if BANNERS.iter().any(|b| head.starts_with(b)) {
        return true;
    }
    // The first statement: after blank lines and comments.
    let mut first = None;
    let mut data = false;
    for line in head.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"--") || line.starts_with(b"/*") {
            continue;
        }
        let word = first_word(line);
        if first.is_none() {
            const OPENINGS: [&[u8]; 14] = [
                b"insert", b"copy", b"create", b"set", b"drop", b"begin", b"pragma", b"lock",
                b"use", b"alter", b"start", b"replace", b"select", b"rem",
            ];
            if !OPENINGS.iter().any(|o| word.eq_ignore_ascii_case(o)) {
                return false;
            }
            first = Some(());
        }
        let second = first_word(line[word.len()..].trim_ascii_start());
        data |= (word.eq_ignore_ascii_case(b"insert") || word.eq_ignore_ascii_case(b"replace"))
            && (second.eq_ignore_ascii_case(b"into") || !second.is_empty())
            || word.eq_ignore_ascii_case(b"copy")
                && memchr::memmem::find(line, b"FROM stdin").is_some()
            || word.eq_ignore_ascii_case(b"create") && is_table_word(line);
    }
    data
}

/// The word a line begins with (letters and underscores).
fn first_word(line: &[u8]) -> &[u8] {
    let n = line
        .iter()
        .position(|b| !(b.is_ascii_alphabetic() || *b == b'_'))
        .unwrap_or(line.len());
    &line[..n]
}

/// Whether a `CREATE` line creates a table (`CREATE [TEMPORARY|UNLOGGED] TABLE`).
fn is_table_word(line: &[u8]) -> bool {
    line.split(|b| b.is_ascii_whitespace())
        .take(4)
        .any(|w| w.eq_ignore_ascii_case(b"table"))
}

/// What the reader is in.
enum State {
    /// Between statements (blank space, `;`).
    Between,
    /// A comment to its line's end (`--`, `#`, a `psql` meta-command), written as text.
    LineComment,
    /// A block comment (`/* */`, MySQL's conditional statements), written as text: whether
    /// the last byte was `*`.
    BlockComment { star: bool },
    /// A statement's head, kept until it is told.
    Head(Quoting),
    /// A statement that holds no rows, to its end, written as text.
    Other(Quoting),
    /// A `COPY ... FROM stdin` block's lines, to `\.`: the rest of the statement's own line
    /// passed over first; at a line's start; a `\` (then `\.`) held at a line's start.
    Copy {
        skip_line: bool,
        at_start: bool,
        held: u8,
    },
    /// An `INSERT`'s tuples.
    Values(Tuple),
}

/// Where a statement's bytes are as to quotes and parentheses.
#[derive(Default, Clone, Copy)]
struct Quoting {
    quote: Option<u8>,
    escaped: bool,
    depth: u32,
}

impl Quoting {
    /// Takes a byte: whether it is outside quotes and parentheses (where a statement may end).
    fn step(&mut self, b: u8, backslashes: bool) -> bool {
        if let Some(q) = self.quote {
            if self.escaped {
                self.escaped = false;
            } else if backslashes && b == b'\\' && q != b'`' {
                self.escaped = true;
            } else if b == q {
                // A doubled quote reopens at once: the same as a closed and opened one.
                self.quote = None;
            }
            return false;
        }
        match b {
            b'\'' | b'"' | b'`' => self.quote = Some(b),
            b'(' => self.depth += 1,
            b')' => self.depth = self.depth.saturating_sub(1),
            _ => return self.depth == 0,
        }
        false
    }
}

/// An `INSERT`'s tuples being read.
#[derive(Default)]
struct Tuple {
    /// Inside a tuple's parentheses.
    inside: bool,
    /// Parentheses inside a value (a function's call).
    depth: u32,
    quote: Option<u8>,
    escaped: bool,
    /// The quote just read may be the first of a doubled one.
    closing: bool,
    /// Where the cell began in the rows' text (to drop a string's prefix, `N'…'`, `E'…'`).
    cell: usize,
    /// A line ended since the last tuple (a statement without `;` may have ended).
    line: bool,
}

/// A table whose rows are being read, and its scanner.
struct Table {
    name: Vec<u8>,
    scanner: Box<Scanner>,
    bytes: u64,
}

/// The tables a dump's rows are read into: a scanner per table (each an entry of the file's
/// budget), and one for the rest of the dump, as text; their classes summed as they end.
pub(crate) struct Tables {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    depth: u8,
    /// What is not a table's rows, and its scanner.
    text: Box<Scanner>,
    pub(crate) text_out: Vec<u8>,
    text_bytes: u64,
    table: Option<Table>,
    pub(crate) rows_out: Vec<u8>,
    found: Entries,
    /// Some rows were read as text (the budget's entries ran out), a header was not
    /// written, or some of the dump was not read.
    pub(crate) cut: bool,
}

/// A SQL dump being read, chunk by chunk.
pub(crate) struct SqlDump {
    /// Strings take backslash escapes (MySQL's, MariaDB's dumps).
    backslashes: bool,
    state: State,
    head: Vec<u8>,
    columns: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    tables: Tables,
}

impl SqlDump {
    pub(crate) fn new(
        head: &[u8],
        patterns: Option<Arc<Patterns>>,
        budget: Budget,
        depth: u8,
    ) -> Self {
        let mysql = head.starts_with(b"-- MySQL dump")
            || head.starts_with(b"-- MariaDB dump")
            || memchr::memchr(b'`', head).is_some();
        SqlDump {
            backslashes: mysql,
            state: State::Between,
            head: Vec::new(),
            columns: HashMap::new(),
            tables: Tables::new(patterns, budget, depth),
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        use crate::encoding::held;
        let columns: usize = self
            .columns
            .iter()
            .map(|(k, v)| held(k) + v.iter().map(held).sum::<usize>())
            .sum();
        self.tables.held_bytes() + held(&self.head) + columns
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            i += 1;
            match &mut self.state {
                State::Between => {
                    if !(b.is_ascii_whitespace() || b == b';') {
                        self.head.clear();
                        self.head.push(b);
                        let mut q = Quoting::default();
                        q.step(b, self.backslashes);
                        self.state = State::Head(q);
                        self.told_comment();
                    }
                }
                State::LineComment => {
                    // To the line's end, its line end included, at once.
                    match memchr::memchr(b'\n', &data[i - 1..]) {
                        Some(n) => {
                            self.tables.text_out.extend_from_slice(&data[i - 1..i + n]);
                            i += n;
                            self.state = State::Between;
                        }
                        None => {
                            self.tables.text_out.extend_from_slice(&data[i - 1..]);
                            i = data.len();
                        }
                    }
                }
                State::BlockComment { star } => {
                    let ended = *star && b == b'/';
                    *star = b == b'*';
                    self.tables.text_out.push(b);
                    if ended {
                        self.tables.text_out.push(b'\n');
                        self.state = State::Between;
                    }
                }
                State::Head(q) => {
                    // `VALUES(` too: the parenthesis after it is the first tuple's.
                    let top = q.quote.is_none() && q.depth == 0;
                    let outside = q.step(b, self.backslashes);
                    self.head.push(b);
                    if outside || top && b == b'(' {
                        self.head_byte(b);
                    } else if self.head.len() > MAX_HEAD {
                        let q = *q;
                        self.read_as_text(q);
                    }
                }
                State::Other(q) => {
                    let outside = q.step(b, self.backslashes);
                    self.tables.text_out.push(b);
                    if outside && b == b';' {
                        self.tables.text_out.push(b'\n');
                        self.state = State::Between;
                    }
                }
                State::Copy {
                    skip_line,
                    at_start,
                    held,
                } => {
                    if *skip_line {
                        *skip_line = b != b'\n';
                        *at_start = b == b'\n';
                        continue;
                    }
                    if *at_start && *held == 0 && b == b'\\' {
                        *held = 1;
                        continue;
                    }
                    if *held == 1 && b == b'.' {
                        *held = 2;
                        continue;
                    }
                    if *held == 2 && (b == b'\n' || b == b'\r') {
                        // `\.`: the block's end.
                        self.state = if b == b'\n' {
                            State::Between
                        } else {
                            State::LineComment
                        };
                        continue;
                    }
                    let held_bytes: &[u8] = match *held {
                        1 => b"\\",
                        2 => b"\\.",
                        _ => b"",
                    };
                    *held = 0;
                    self.tables.rows_out.extend_from_slice(held_bytes);
                    // The rest of the line, its line end included, at once.
                    match memchr::memchr(b'\n', &data[i - 1..]) {
                        Some(n) => {
                            self.tables.rows_out.extend_from_slice(&data[i - 1..i + n]);
                            i += n;
                            *at_start = true;
                        }
                        None => {
                            self.tables.rows_out.extend_from_slice(&data[i - 1..]);
                            i = data.len();
                            *at_start = false;
                        }
                    }
                    if self.tables.rows_out.len() >= OUT {
                        self.tables.hand_rows();
                    }
                }
                State::Values(t) => {
                    if !t.inside && t.line && b.is_ascii_alphabetic() {
                        // A line after the tuples that begins a word: the next statement
                        // (SQL Server's `GO`, statements without `;`).
                        self.state = State::Between;
                        i -= 1;
                        continue;
                    }
                    if let (Some(q), false, false) = (t.quote, t.escaped, t.closing)
                        && b != q
                        && !(self.backslashes && b == b'\\')
                    {
                        // A string's run to its quote or escape, at once.
                        let rest = &data[i - 1..];
                        let n = if self.backslashes {
                            memchr::memchr2(q, b'\\', rest)
                        } else {
                            memchr::memchr(q, rest)
                        }
                        .unwrap_or(rest.len());
                        let from = self.tables.rows_out.len();
                        self.tables.rows_out.extend_from_slice(&rest[..n]);
                        for c in &mut self.tables.rows_out[from..] {
                            *c = crate::cell::text_byte(*c);
                        }
                        i += n - 1;
                        continue;
                    }
                    if let Some(next) =
                        values_byte(t, b, self.backslashes, &mut self.tables.rows_out)
                    {
                        self.state = next;
                        if let State::Other(_) = self.state {
                            self.tables.text_out.push(b);
                        }
                    } else if !t.inside && self.tables.rows_out.len() >= OUT {
                        self.tables.hand_rows();
                    }
                }
            }
            if self.tables.text_out.len() >= OUT {
                self.tables.hand_text();
            }
        }
        if self.tables.rows_out.len() >= 16 * OUT {
            // A row longer than the scanner's text at once (a blob): handed on as it is.
            self.tables.hand_rows();
            if let State::Values(t) = &mut self.state {
                t.cell = 0;
            }
        }
    }

    /// A statement's head that may now be told as a comment.
    fn told_comment(&mut self) {
        let comment = match self.head.as_slice() {
            b"#" | b"\\" => Some(State::LineComment),
            _ => None,
        };
        if let Some(state) = comment {
            self.tables.text_out.extend_from_slice(&self.head);
            self.state = state;
        }
    }

    /// A byte of a statement's head outside quotes and parentheses: whether it tells the
    /// statement.
    fn head_byte(&mut self, b: u8) {
        match self.head.as_slice() {
            b"--" => {
                self.tables.text_out.extend_from_slice(b"--");
                self.state = State::LineComment;
                return;
            }
            b"/*" => {
                self.tables.text_out.extend_from_slice(b"/*");
                self.state = State::BlockComment { star: false };
                return;
            }
            _ => {}
        }
        if b == b';' {
            self.statement_end();
            return;
        }
        // SQL*Plus's remarks (`REM INSERTING into ...`, as Oracle's SQL Developer exports
        // begin) are comments.
        if b.is_ascii_whitespace() && self.head[..self.head.len() - 1].eq_ignore_ascii_case(b"rem")
        {
            self.tables.text_out.extend_from_slice(&self.head);
            self.state = State::LineComment;
            return;
        }
        // SQL Server's scripts end statements with a line `GO` instead.
        if b == b'\n' {
            let body = &self.head[..self.head.len() - 1];
            let line_at = memchr::memrchr(b'\n', body).map_or(0, |n| n + 1);
            if body[line_at..].trim_ascii().eq_ignore_ascii_case(b"go") {
                self.head.truncate(line_at);
                if self.head.trim_ascii().is_empty() {
                    self.state = State::Between;
                } else {
                    self.statement_end();
                }
                return;
            }
        }
        // An `INSERT`'s head is told at `VALUES` (its tuples follow).
        if !(b.is_ascii_whitespace() || b == b'(') {
            return;
        }
        let before = &self.head[..self.head.len() - 1];
        let values = before.len() >= 6
            && before[before.len() - 6..].eq_ignore_ascii_case(b"values")
            && before
                .len()
                .checked_sub(7)
                .is_none_or(|n| !is_identifier(before[n]));
        if !values {
            return;
        }
        let Some((name, columns)) = insert_head(before) else {
            return;
        };
        let columns = columns.or_else(|| self.columns.get(&name).cloned());
        self.tables.begin(name, columns.as_deref());
        let mut t = Tuple::default();
        if b == b'(' {
            values_byte(&mut t, b, self.backslashes, &mut self.tables.rows_out);
        }
        self.state = State::Values(t);
    }

    /// A statement that was no table's rows ended (`;`): a table's definition is remembered,
    /// a `COPY ... FROM stdin` begins its rows, the rest is text.
    fn statement_end(&mut self) {
        let head = std::mem::take(&mut self.head);
        let word = first_word(&head);
        if word.eq_ignore_ascii_case(b"create") && is_table_word(&head) {
            if let Some((name, columns)) = create_table(&head)
                && (self.columns.len() < MAX_TABLES || self.columns.contains_key(&name))
            {
                self.columns.insert(name, columns);
            }
        } else if word.eq_ignore_ascii_case(b"copy")
            && memchr::memmem::find(&head, b"FROM stdin").is_some()
            && let Some((name, columns)) = copy_head(&head)
        {
            let columns = columns.or_else(|| self.columns.get(&name).cloned());
            self.tables.begin(name, columns.as_deref());
            self.state = State::Copy {
                skip_line: true,
                at_start: false,
                held: 0,
            };
            self.head = head;
            return;
        }
        self.tables.text_out.extend_from_slice(&head);
        self.tables.text_out.push(b'\n');
        self.state = State::Between;
        self.head = head;
    }

    /// A head too long to tell: written as text, the statement read on as text.
    fn read_as_text(&mut self, q: Quoting) {
        self.tables.text_out.extend_from_slice(&self.head);
        self.head.clear();
        self.state = State::Other(q);
    }

    pub(crate) fn finish(mut self) -> Classification {
        // A statement cut off by the file's end: what it holds is text.
        match std::mem::replace(&mut self.state, State::Between) {
            State::Head(_) => {
                let head = std::mem::take(&mut self.head);
                self.tables.text_out.extend_from_slice(&head);
            }
            State::Copy { held, .. } if held > 0 => {
                self.tables
                    .rows_out
                    .extend_from_slice(&b"\\."[..held as usize]);
            }
            _ => {}
        }
        self.tables.finish(Format::Sql)
    }
}

impl Tables {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        let mut text = Box::new(Scanner::with_patterns(patterns.clone()));
        text.inside_archive(budget.clone(), depth);
        text.reads_document();
        Tables {
            patterns,
            budget,
            depth,
            text,
            text_out: Vec::with_capacity(OUT),
            text_bytes: 0,
            table: None,
            rows_out: Vec::with_capacity(OUT),
            found: Entries::default(),
            cut: false,
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        use crate::encoding::held;
        self.text.held_bytes()
            + self.table.as_ref().map_or(0, |t| t.scanner.held_bytes())
            + held(&self.text_out)
            + held(&self.rows_out)
    }

    /// Rows of table `name` begin: its scanner (a new one unless the last rows were its),
    /// with a header of `columns` where they are known.
    pub(crate) fn begin(&mut self, name: Vec<u8>, columns: Option<&[Vec<u8>]>) {
        if self.table.as_ref().is_some_and(|t| t.name == name) {
            return;
        }
        self.end_table();
        if !self.budget.entry() {
            // No more scanners: the rows are read as the text's.
            self.cut = true;
            return;
        }
        let mut scanner = Box::new(Scanner::with_patterns(self.patterns.clone()));
        scanner.inside_archive(self.budget.clone(), self.depth);
        self.table = Some(Table {
            name,
            scanner,
            bytes: 0,
        });
        if let Some(columns) = columns {
            let mut header = Vec::new();
            for (n, c) in columns.iter().enumerate() {
                if n > 0 {
                    header.push(b'\t');
                }
                header.extend_from_slice(c);
            }
            header.push(b'\n');
            if self.budget.bytes(header.len() as u64) == header.len() as u64 {
                self.rows_out.extend_from_slice(&header);
            } else {
                self.cut = true;
            }
        }
    }

    /// The rows written so far, to their table's scanner (or the text's, where none).
    pub(crate) fn hand_rows(&mut self) {
        if self.rows_out.is_empty() {
            return;
        }
        match self.table.as_mut() {
            Some(t) => {
                t.scanner.feed(&self.rows_out);
                t.bytes += self.rows_out.len() as u64;
            }
            None => {
                self.hand_text();
                self.text.feed(&self.rows_out);
                self.text_bytes += self.rows_out.len() as u64;
            }
        }
        self.rows_out.clear();
    }

    pub(crate) fn hand_text(&mut self) {
        self.text.feed(&self.text_out);
        self.text_bytes += self.text_out.len() as u64;
        self.text_out.clear();
    }

    pub(crate) fn end_table(&mut self) {
        self.hand_rows();
        if let Some(t) = self.table.take() {
            self.found.add(t.scanner.finish(), t.bytes, false);
        }
    }

    /// What the tables and the text hold, named with `format`.
    pub(crate) fn finish(mut self, format: Format) -> Classification {
        self.end_table();
        self.hand_text();
        self.found.add(self.text.finish(), self.text_bytes, false);
        self.found.finish(format, self.cut)
    }
}

/// Takes a byte of an `INSERT`'s tuples, writing their values as rows' cells to `out`: the
/// state that follows where the tuples end (`;`: between statements; a clause after them,
/// `ON DUPLICATE KEY UPDATE`: the rest of the statement is text).
fn values_byte(t: &mut Tuple, b: u8, backslashes: bool, out: &mut Vec<u8>) -> Option<State> {
    if !t.inside {
        return match b {
            b'(' => {
                t.inside = true;
                t.line = false;
                t.depth = 0;
                t.cell = out.len();
                None
            }
            b';' => Some(State::Between),
            b',' => {
                t.line = false;
                None
            }
            b'\n' => {
                t.line = true;
                None
            }
            _ if b.is_ascii_whitespace() => None,
            _ => Some(State::Other(Quoting::default())),
        };
    }
    if t.closing {
        t.closing = false;
        if Some(b) == t.quote {
            // A doubled quote: one quote of the string's.
            out.push(b);
            return None;
        }
        t.quote = None;
    }
    if let Some(q) = t.quote {
        if t.escaped {
            t.escaped = false;
            out.push(match b {
                b'n' | b'r' | b't' | b'0' | b'Z' => b' ',
                other => other,
            });
        } else if backslashes && b == b'\\' {
            t.escaped = true;
        } else if b == q {
            t.closing = true;
        } else {
            out.push(crate::cell::text_byte(b));
        }
        return None;
    }
    match b {
        b'\'' | b'"' => {
            // A string's prefix (`N'…'`, `E'…'`, `_utf8mb4'…'`): dropped.
            let cell = &out[t.cell.min(out.len())..];
            if matches!(cell, b"N" | b"n" | b"E" | b"e")
                || cell.starts_with(b"_") && !cell.contains(&b' ')
            {
                out.truncate(t.cell);
            }
            t.quote = Some(b);
        }
        b'(' => {
            t.depth += 1;
            out.push(b);
        }
        b')' if t.depth == 0 => {
            out.push(b'\n');
            t.inside = false;
        }
        b')' => {
            t.depth -= 1;
            out.push(b);
        }
        b',' if t.depth == 0 => {
            out.push(b'\t');
            t.cell = out.len();
        }
        _ if b.is_ascii_whitespace() && out.len() == t.cell => {}
        _ => out.push(crate::cell::text_byte(b)),
    }
    None
}

fn is_identifier(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// A statement's head as words (identifiers, quoted ones joined to their dotted parts) and
/// groups (what a pair of parentheses holds).
enum Token<'a> {
    Word(&'a [u8]),
    Group(&'a [u8]),
    Other,
}

fn tokens(s: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b == b'(' {
            let mut q = Quoting::default();
            let start = i;
            while i < s.len() {
                q.step(s[i], false);
                i += 1;
                if q.depth == 0 && q.quote.is_none() {
                    break;
                }
            }
            out.push(Token::Group(
                &s[start + 1..i.saturating_sub(1).max(start + 1)],
            ));
        } else if is_identifier(b) || matches!(b, b'"' | b'`' | b'[' | b'.') {
            let start = i;
            while i < s.len() {
                match s[i] {
                    q @ (b'"' | b'`' | b'[') => {
                        let close = if q == b'[' { b']' } else { q };
                        i += 1;
                        while i < s.len() && s[i] != close {
                            i += 1;
                        }
                        i += 1;
                    }
                    c if is_identifier(c) || c == b'.' => i += 1,
                    _ => break,
                }
            }
            out.push(Token::Word(&s[start..i.min(s.len())]));
        } else {
            out.push(Token::Other);
            i += 1;
        }
    }
    out
}

/// An identifier's name: its last dotted part, unquoted, in small letters (a table's
/// `"public"."Customers"` is `customers`; a column's `[SSN]` is `ssn`).
fn unquoted(word: &[u8]) -> Vec<u8> {
    let mut last = Vec::new();
    let mut quote = None;
    for &b in word {
        match quote {
            Some(close) if b == close => quote = None,
            Some(_) => last.push(b),
            None => match b {
                b'"' | b'`' => quote = Some(b),
                b'[' => quote = Some(b']'),
                b'.' => last.clear(),
                _ => last.push(b),
            },
        }
    }
    last.make_ascii_lowercase();
    last
}

/// A group's items (split at its top-level commas), each's first word unquoted: the names of
/// a column list (`(id, "SSN", [routing_number])`).
fn column_names(group: &[u8], definitions: bool) -> Vec<Vec<u8>> {
    column_items(group, definitions)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The same, each name with its item's text (a column's definition).
fn column_items(group: &[u8], definitions: bool) -> Vec<(Vec<u8>, &[u8])> {
    const CONSTRAINTS: [&[u8]; 11] = [
        b"constraint",
        b"primary",
        b"unique",
        b"key",
        b"index",
        b"foreign",
        b"check",
        b"fulltext",
        b"spatial",
        b"exclude",
        b"like",
    ];
    let mut names = Vec::new();
    let mut q = Quoting::default();
    let mut start = 0;
    for i in 0..=group.len() {
        let end = i == group.len();
        if !(end || q.step(group[i], false) && group[i] == b',') {
            continue;
        }
        let item = &group[start..i];
        start = i + 1;
        let Some(Token::Word(w)) = tokens(item).into_iter().next() else {
            continue;
        };
        let name = unquoted(w);
        if definitions && CONSTRAINTS.iter().any(|c| name == *c) {
            continue;
        }
        if names.len() < MAX_COLUMNS {
            names.push((name, item));
        }
    }
    names
}

/// The table a statement's rows are of (its name, unquoted, in small letters) and its
/// columns' names where the statement lists them.
pub(crate) type RowsOf = (Vec<u8>, Option<Vec<Vec<u8>>>);

/// An `INSERT`'s head up to `VALUES`: its table's name, and its column list if it has one.
fn insert_head(head: &[u8]) -> Option<RowsOf> {
    let tokens = tokens(head);
    let mut it = tokens.iter().peekable();
    let Some(Token::Word(verb)) = it.next() else {
        return None;
    };
    if !(verb.eq_ignore_ascii_case(b"insert") || verb.eq_ignore_ascii_case(b"replace")) {
        return None;
    }
    // Modifiers, then `INTO` (SQL Server's may be left out), then the table.
    let mut name = None;
    for t in it.by_ref() {
        let Token::Word(w) = t else { return None };
        const MODIFIERS: [&[u8]; 6] = [
            b"into",
            b"ignore",
            b"low_priority",
            b"delayed",
            b"high_priority",
            b"or",
        ];
        if MODIFIERS.iter().any(|m| w.eq_ignore_ascii_case(m)) {
            continue;
        }
        name = Some(unquoted(w));
        break;
    }
    let name = name?;
    let columns = match it.next() {
        Some(Token::Group(g)) => Some(column_names(g, false)),
        _ => None,
    };
    Some((name, columns))
}

/// A `COPY name [(columns)] FROM stdin` head.
pub(crate) fn copy_head(head: &[u8]) -> Option<RowsOf> {
    let tokens = tokens(head);
    let mut it = tokens.iter();
    it.next();
    let Some(Token::Word(w)) = it.next() else {
        return None;
    };
    let columns = match it.next() {
        Some(Token::Group(g)) => Some(column_names(g, false)),
        _ => None,
    };
    Some((unquoted(w), columns))
}

/// A `CREATE TABLE` statement: its table's name and its columns' names, in order.
fn create_table(head: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let table = table_definition(head)?;
    let names = table.names();
    Some((table.name, names))
}

/// A `CREATE TABLE` statement read: its table's name, and each column's name with its
/// definition's text.
pub(crate) struct TableDefinition<'a> {
    pub(crate) name: Vec<u8>,
    columns: Vec<(Vec<u8>, &'a [u8])>,
}

impl TableDefinition<'_> {
    pub(crate) fn names(&self) -> Vec<Vec<u8>> {
        self.columns.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The column declared `INTEGER PRIMARY KEY`: in SQLite, the alias of the row's id (which
    /// its records store as null).
    pub(crate) fn rowid_alias(&self) -> Option<usize> {
        self.columns.iter().position(|(_, item)| {
            let words: Vec<Vec<u8>> = item
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .map(|w| w.to_ascii_lowercase())
                .collect();
            words
                .windows(3)
                .any(|w| w == [&b"integer"[..], b"primary", b"key"])
        })
    }
}

/// Reads a `CREATE TABLE` statement.
pub(crate) fn table_definition(head: &[u8]) -> Option<TableDefinition<'_>> {
    let tokens = tokens(head);
    let at = tokens
        .iter()
        .position(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case(b"table")))?;
    let mut name = None;
    for t in &tokens[at + 1..] {
        match t {
            Token::Word(w)
                if [&b"if"[..], b"not", b"exists"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) => {}
            Token::Word(w) if name.is_none() => name = Some(unquoted(w)),
            Token::Group(g) => {
                return Some(TableDefinition {
                    name: name?,
                    columns: column_items(g, true),
                });
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Class;
    use crate::scan::{classify, in_chunks};

    pub(crate) fn fixture(name: &str) -> Vec<u8> {
        crate::tests::fixture_in("sql", name)
    }

    const DUMPS: [&str; 4] = [
        "pg_dump-copy.sql",
        "pg_dump-inserts.sql",
        "pg_dump-column-inserts.sql",
        "load.sql",
    ];

    pub(crate) fn names(found: &Classification) -> Vec<String> {
        found.formats.iter().map(|f| f.name()).collect()
    }

    pub(crate) fn counts(found: &Classification) -> Vec<(Class, u64)> {
        found.counts.present().collect()
    }

    /// What the test database's dumps hold (`tests/sql/README.md`).
    pub(crate) const CUSTOMERS: [(Class, u64); 5] = [
        (Class::CardNumber, 18),
        (Class::AbaRouting, 18),
        (Class::UsBankAccount, 18),
        (Class::UsSsn, 17),
        (Class::Email, 24),
    ];

    /// What the hand-written dumps of two payees (a third a near miss) hold.
    const PAYEES: [(Class, u64); 3] = [
        (Class::AbaRouting, 2),
        (Class::UsBankAccount, 2),
        (Class::UsSsn, 2),
    ];

    /// PostgreSQL's `pg_dump` of two tables (`tests/sql/README.md`) in its three plain forms
    /// (`COPY` blocks; an `INSERT` per row without columns, whose names come from the
    /// `CREATE TABLE`; `INSERT`s of five rows with their columns), and the statements that
    /// loaded them: each table's rows count by their columns' names (the near misses, a null
    /// SSN and the payments' references under a name that names nothing do not), whatever the
    /// chunks.
    #[test]
    fn pg_dumps_count_their_rows_by_their_columns_names() {
        for name in DUMPS {
            let bytes = fixture(name);
            assert!(magic(&bytes), "{name}");
            for size in [1, 3, 100, 4096, bytes.len()] {
                let found = in_chunks(&bytes, size);
                assert_eq!(counts(&found), CUSTOMERS, "{name} in chunks of {size}");
                assert_eq!(names(&found), ["account_table", "sql"], "{name}");
            }
        }
    }

    /// A row as MySQL's `mysqldump` writes it: one `INSERT` of many tuples, backslash escapes
    /// in its strings (a quote, a line end), backquoted names, the columns from the
    /// `CREATE TABLE` (its keys left out), conditional comments; SQL Server's generated
    /// script: bracketed names, `N'…'` strings, no `INTO`, `GO`; an upsert's clause after the
    /// tuples.
    #[test]
    fn mysqldump_and_sql_server_scripts_count() {
        let mysql = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n\
            /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\
            DROP TABLE IF EXISTS `payees`;\n\
            CREATE TABLE `payees` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `name` varchar(64) DEFAULT NULL,\n  \
            `ssn` char(9) DEFAULT NULL,\n  `aba` char(9) DEFAULT NULL,\n  `account_no` varchar(17) DEFAULT NULL,\n  \
            PRIMARY KEY (`id`),\n  KEY `ix_aba` (`aba`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\
            LOCK TABLES `payees` WRITE;\n\
            INSERT INTO `payees` VALUES (1,'O\\'Brien, \\\"Pat\\\"','123456789','021000021','12345678'),\
            (2,'Line\\nbreak','234567890','011000015','87654321'),(3,NULL,'666123456','021000022','11112222')\
            ON DUPLICATE KEY UPDATE name=VALUES(name);\n\
            UNLOCK TABLES;\n";
        let found = classify(mysql.as_bytes());
        assert_eq!(counts(&found), PAYEES, "{found:?}");
        assert_eq!(names(&found), ["account_table", "sql"]);
        let server = "SET IDENTITY_INSERT [dbo].[Customers] ON\nGO\n\
            CREATE TABLE [dbo].[Customers]([Id] [int] NOT NULL, [SSN] [char](9) NULL, [Email] [nvarchar](255) NULL,\n \
            CONSTRAINT [PK_Customers] PRIMARY KEY CLUSTERED ([Id] ASC))\nGO\n\
            INSERT [dbo].[Customers] ([Id], [SSN], [Email]) VALUES (1, N'123456789', N'ann@bank.example')\nGO\n\
            INSERT [dbo].[Customers] ([Id], [SSN], [Email]) VALUES (2, N'234567890', N'bob@bank.example')\nGO\n";
        let found = classify(server.as_bytes());
        assert_eq!(
            counts(&found),
            [(Class::UsSsn, 2), (Class::Email, 2)],
            "{found:?}"
        );
    }

    /// Oracle's SQL Developer export: remarks, `SET DEFINE OFF`, `Insert into` with the
    /// schema's name and quoted numbers, dates by `to_date`.
    #[test]
    fn oracle_exports_count() {
        let oracle = "REM INSERTING into BANK.PAYEES\nSET DEFINE OFF;\n\
            Insert into BANK.PAYEES (ID,OPENED,SSN,ROUTING_NUMBER,ACCOUNT_NUMBER) values ('1',to_date('05-DEC-26','DD-MON-RR'),'123456789','021000021','12345678');\n\
            Insert into BANK.PAYEES (ID,OPENED,SSN,ROUTING_NUMBER,ACCOUNT_NUMBER) values ('2',to_date('05-DEC-26','DD-MON-RR'),'234567890','011000015','87654321');\n";
        assert!(magic(oracle.as_bytes()));
        let found = classify(oracle.as_bytes());
        assert_eq!(counts(&found), PAYEES, "{found:?}");
        assert_eq!(names(&found), ["account_table", "sql"]);
    }

    /// Text that is no dump is not one: prose whose first word is a statement's, a query.
    #[test]
    fn prose_and_queries_are_no_dumps() {
        assert!(!magic(
            b"Set up the account with the bank before the insert of rows.\n"
        ));
        assert!(!magic(b"SELECT ssn FROM customers;\n"));
        assert!(!magic(b"name,ssn\nAnn,123456789\n"));
        assert!(magic(b"-- comment\n\nINSERT INTO t VALUES (1);\n"));
        assert!(magic(b"CREATE TABLE t (a int);\n"));
    }

    /// A dump that switches tables at every statement makes a scanner per switch while the
    /// budget's entries last; its further rows are read as text, and it says so.
    #[test]
    fn table_scanners_draw_on_the_budget() {
        let mut dump = String::from("CREATE TABLE a (ssn char(9));\nCREATE TABLE b (x int);\n");
        for _ in 0..50 {
            dump += "INSERT INTO a VALUES ('123456789');\nINSERT INTO b VALUES (1);\n";
        }
        let mut s = Scanner::new();
        s.inside_archive(Budget::with(1 << 20, 10), 0);
        s.feed(dump.as_bytes());
        let found = s.finish();
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        assert!(found.formats.contains(&Format::Sql), "{found:?}");
        let whole = classify(dump.as_bytes());
        assert_eq!(whole.counts.get(Class::UsSsn), 50, "{whole:?}");
        assert!(!whole.formats.contains(&Format::ScannedInPart), "{whole:?}");
    }

    proptest::proptest! {
        /// Dumps with any bytes changed, cut anywhere, in any chunks: a verdict, never a panic;
        /// the same whatever the chunks.
        #[test]
        fn any_damage_gives_a_verdict(
            which in 0usize..DUMPS.len(),
            changes in proptest::collection::vec((0usize..6000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..6000,
            size in 1usize..64,
        ) {
            let bytes = crate::tests::damaged(fixture(DUMPS[which]), &changes, Some(cut));
            let found = classify(&bytes);
            proptest::prop_assert_eq!(in_chunks(&bytes, size), found);
        }

        /// Any statements' bytes: no panic, the same whatever the chunks.
        #[test]
        fn any_statements_give_a_verdict(
            body in proptest::collection::vec(proptest::sample::select(
                b"INSERT INTO VALUES COPY FROM stdin CREATE TABLE ()',;\"`[]\\.\n\t N E 12345678 9 -- /* */ #".to_vec()), 0..400),
            size in 1usize..64,
        ) {
            let mut bytes = b"INSERT INTO t VALUES (1);\n".to_vec();
            bytes.extend(body);
            let found = classify(&bytes);
            proptest::prop_assert_eq!(in_chunks(&bytes, size), found);
        }
    }
}
