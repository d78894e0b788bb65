//! A workbook's shared strings and sheets brought together. The shared strings
//! (`xl/sharedStrings.xml`) as they stream: the names of the first ones (where headings are),
//! what each value may be, and the text of those that can hold a class beyond their columns'
//! numbers, kept to count again for each cell that shows them. The evidence each sheet leaves,
//! judged at the archive's end once the headings' text is known (heading rows, named columns,
//! pairs of routing and account numbers, labelled cells, sheets without a heading row); and a
//! flat OpenDocument spreadsheet read as one. Never here: reading a sheet's cells.

use super::{
    ColumnSketches, Heading, LABELLED_ROWS_APART, MAX_COLUMNS, MAX_HEADING, MAX_KEPT,
    MAX_SHARED_NAMES, MAX_SHARED_VALUES, MAX_SHEET_BYTES, MAX_SHEETS, MAX_SKETCHES, PAIRED_COLUMNS,
    PATTERN, Sheet, SheetEvidence, Tag, Token, Tokens, VALUE_ABA, VALUE_ACCOUNT, VALUE_BIC,
    VALUE_RECORD, VALUE_SSN, Value, cell_kind, digits_of, value_print, weigh,
};
use crate::account::{account_column, bank_column, heading_names};
use crate::encoding::held;
use crate::scan::{BIC, CARD, Class, Counts, ROUTING, SSN};

/// The shared strings of a workbook, as they stream: the names of the first
/// [`MAX_SHARED_NAMES`] (where headings are), and what the values of the first
/// [`MAX_SHARED_VALUES`] may be ([`super::value_kind`]).
#[derive(Default)]
pub(crate) struct SharedStrings {
    tokens: Tokens,
    names: Vec<u8>,
    values: Vec<u8>,
    /// Each value's fingerprint ([`super::value_print`]; a string's digits are the same as an
    /// account number's).
    prints: Vec<u64>,
    in_item: bool,
    in_text: bool,
    text: Vec<u8>,
    /// The strings the sheets read before show in more than one cell (index, cells), by
    /// index; and what those strings hold beyond their first cell ([`SharedStrings::item`]).
    repeated: Vec<(u32, u32)>,
    again: Again,
    /// The tenant's patterns.
    patterns: Option<std::sync::Arc<crate::Patterns>>,
    /// The sheets read before the strings (of the workbook's sheets with evidence); what
    /// each string holds, kept to count again at the end for each cell of a sheet read after
    /// them (Apache POI and NPOI write a package's parts in their names' order, the shared
    /// strings first; Excel writes some sheets before them and some after), and whether more
    /// than [`MAX_KEPT`] entries were.
    sheets_before: usize,
    kept: KeptStrings,
}

/// Shared strings' text kept for the end: each string's index, where its text begins in
/// `text` and its length; whether some were not kept ([`MAX_KEPT`]).
#[derive(Default)]
struct KeptStrings {
    strings: Vec<(u32, u32, u32)>,
    text: Vec<u8>,
    full: bool,
}

impl KeptStrings {
    fn keep(&mut self, index: u32, text: &[u8]) {
        if self.text.len() + text.len() > MAX_KEPT {
            self.full = true;
            return;
        }
        self.strings
            .push((index, self.text.len() as u32, text.len() as u32));
        self.text.extend_from_slice(text);
    }

    fn held_bytes(&self) -> usize {
        held(&self.strings) + held(&self.text)
    }
}

/// What shared strings hold beyond their first cell: by class, and by the tenant's pattern
/// (its index).
#[derive(Default)]
struct Again {
    counts: Counts,
    custom: Vec<u64>,
}

impl Again {
    /// `n` more of a class or a pattern (`what`, as [`holds`] names them).
    fn add(&mut self, what: u8, n: u64) {
        if what & PATTERN == 0 {
            self.counts.add(crate::Class::ALL[usize::from(what)], n);
        } else if let Some(again) = self.custom.get_mut(usize::from(what & !PATTERN)) {
            *again += n;
        }
    }
}

/// What a shared string holds beyond what its columns count (bare numbers are theirs), by
/// class, and what the tenant's patterns match in it (a customer reference, digits alone or
/// not): what counts again for each further cell that shows it, as the same values typed in
/// each row of a delimited file do. A class is named by its place in [`crate::Class::ALL`], a
/// pattern by its index with [`PATTERN`].
fn holds(text: &[u8], patterns: Option<&crate::Patterns>) -> Vec<(u8, u64)> {
    let mut found = Vec::new();
    if digits_of(text).is_none() {
        for (class, n) in crate::scan::classify(text).counts.present() {
            found.push((class as u8, n));
        }
    }
    if let Some(p) = patterns {
        let mut matched = vec![0; p.len()];
        p.count(text, &mut matched);
        for (i, n) in matched.into_iter().enumerate().filter(|(_, n)| *n > 0) {
            found.push((PATTERN | i as u8, n));
        }
    }
    found
}

impl SharedStrings {
    pub(crate) fn held_bytes(&self) -> usize {
        held(&self.tokens.tag)
            + held(&self.names)
            + held(&self.values)
            + held(&self.prints)
            + held(&self.text)
            + held(&self.repeated)
            + self.kept.held_bytes()
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        if self.values.len() >= MAX_SHARED_VALUES {
            return;
        }
        let mut tokens = std::mem::take(&mut self.tokens);
        tokens.feed(data, |token| match token {
            Token::Tag(t) => {
                let Some(tag) = Tag::parse(t) else {
                    return;
                };
                match (tag.name, tag.closing) {
                    (b"si", false) if tag.empty => self.item(b""),
                    (b"si", false) => {
                        self.in_item = true;
                        self.text.clear();
                    }
                    (b"si", true) if self.in_item => {
                        self.in_item = false;
                        let text = std::mem::take(&mut self.text);
                        self.item(&text);
                        self.text = text;
                    }
                    (b"t", false) => self.in_text = self.in_item && !tag.empty,
                    (b"t", true) => self.in_text = false,
                    _ => {}
                }
            }
            Token::Text(t) => {
                if self.in_text {
                    let room = MAX_HEADING.saturating_sub(self.text.len());
                    self.text.extend_from_slice(&t[..t.len().min(room)]);
                }
            }
        });
        self.tokens = tokens;
    }

    /// The next string's text. The workbook's scanner counts what a string holds once, where
    /// the strings are (an IBAN, an e-mail address, a card number printed in groups); a string
    /// that more cells show counts again for each of them, as the same values typed in each
    /// cell, or in a delimited file's rows, count (bare numbers are the columns' own, counted
    /// per cell).
    fn item(&mut self, text: &[u8]) {
        let index = self.values.len() as u32;
        if self.names.len() < MAX_SHARED_NAMES {
            self.names.push(heading_names(text));
        }
        if self.values.len() < MAX_SHARED_VALUES {
            let kind = cell_kind(text, false).unwrap_or(0);
            self.values.push(kind);
            let (print, account) = value_print(text, false, kind);
            self.prints.push(if print != 0 { print } else { account });
        }
        let more = self
            .repeated
            .binary_search_by_key(&index, |r| r.0)
            .ok()
            .map(|k| u64::from(self.repeated[k].1 - 1));
        if let Some(more) = more {
            for (what, n) in holds(text, self.patterns.as_deref()) {
                self.again.add(what, n * more);
            }
        }
        // Kept for the cells of sheets read after the strings, counted at the end: a string
        // that can hold a class beyond its column's numbers (an `@`, six digits: an NINO's are
        // the fewest), any where the tenant has patterns.
        let candidate = || {
            text.iter().filter(|b| b.is_ascii_digit()).count() >= 6
                || memchr::memchr(b'@', text).is_some()
        };
        if self.patterns.is_some() || candidate() {
            self.kept.keep(index, text);
        }
    }
}

/// A flat OpenDocument spreadsheet (`.fods`: one XML document, not a package): its tables
/// read by their columns as a package's `content.xml` is, beside a scanner of the whole.
pub(crate) struct FlatSpreadsheet {
    scanner: Box<crate::Scanner>,
    sheet: Box<Sheet>,
    workbook: Workbook,
    bytes: u64,
}

impl FlatSpreadsheet {
    pub(crate) fn new(
        patterns: Option<std::sync::Arc<crate::Patterns>>,
        budget: crate::encoding::Budget,
        depth: u8,
    ) -> Self {
        let mut scanner = crate::Scanner::with_patterns(patterns);
        scanner.inside_archive(budget, depth);
        scanner.in_workbook();
        let workbook = Workbook::default();
        FlatSpreadsheet {
            scanner: Box::new(scanner),
            sheet: Box::new(workbook.sheet(true)),
            workbook,
            bytes: 0,
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) {
        self.scanner.feed(data);
        let room = self.workbook.sheet_room(data.len());
        self.sheet.feed(&data[..room]);
        self.bytes += data.len() as u64;
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.scanner.held_bytes() + self.sheet.held_bytes() + self.workbook.held_bytes()
    }

    /// What its tables and its text hold, `ods` beside.
    pub(crate) fn finish(self) -> crate::Classification {
        let FlatSpreadsheet {
            scanner,
            sheet,
            mut workbook,
            bytes,
        } = self;
        workbook.add_sheet(*sheet);
        let mut found = crate::archive::Entries::default();
        found.add(scanner.finish(), bytes, false);
        let mut formats = std::mem::take(&mut workbook.formats);
        let cut = {
            let held = found.held_mut();
            held.formats.append(&mut formats);
            workbook.finish(&mut held.counts, &mut held.distinct)
        };
        found.finish(crate::Format::Ods, cut)
    }
}

/// A workbook's worksheets and shared strings, as its archive's entries end.
#[derive(Default)]
pub(crate) struct Workbook {
    sheets: Vec<SheetEvidence>,
    /// The formats its parts say it is: an XLSX workbook's worksheets, OpenDocument tables.
    pub(crate) formats: Vec<crate::Format>,
    /// Shared and labelled cells its sheets keep, in all.
    cells: usize,
    labelled: usize,
    /// Bytes of worksheets read so far ([`MAX_SHEET_BYTES`]).
    sheet_bytes: u64,
    /// Sketches its sheets keep ([`MAX_SKETCHES`]).
    sketches: usize,
    names: Vec<u8>,
    values: Vec<u8>,
    prints: Vec<u64>,
    /// What the shared strings shown in more than one cell hold beyond their first cell.
    again: Again,
    /// The text of its shared strings kept ([`KeptStrings`]), the sheets read before them
    /// (the rest were read after); the tenant's patterns.
    kept: KeptStrings,
    kept_from: usize,
    patterns: Option<std::sync::Arc<crate::Patterns>>,
    /// Some sheets or rows were not weighed.
    pub(crate) cut: bool,
    /// Its worksheets are binary ([`Workbook::binary`]).
    binary: bool,
}

impl Workbook {
    /// The memory it keeps: its sheets' evidence and its shared strings' names and values.
    pub(crate) fn held_bytes(&self) -> usize {
        held(&self.sheets)
            + self
                .sheets
                .iter()
                .map(SheetEvidence::held_bytes)
                .sum::<usize>()
            + self.sketches_held()
            + held(&self.names)
            + held(&self.values)
            + held(&self.prints)
            + self.kept.held_bytes()
    }

    /// The bytes of the sketches its sheets keep (within [`MAX_SKETCHES`]).
    pub(crate) fn sketches_held(&self) -> usize {
        self.sheets.iter().map(SheetEvidence::sketches_held).sum()
    }

    /// How many of the next `n` bytes of a worksheet are read by their columns: what is left
    /// of [`MAX_SHEET_BYTES`] (beyond it the workbook is read in part).
    pub(crate) fn sheet_room(&mut self, n: usize) -> usize {
        let room = (MAX_SHEET_BYTES - self.sheet_bytes).min(n as u64) as usize;
        self.sheet_bytes += room as u64;
        self.cut |= room < n;
        room
    }

    /// Its worksheets are an `.xlsb` package's, written out as SpreadsheetML
    /// ([`crate::xlsb`]).
    pub(crate) fn binary(&mut self) {
        self.binary = true;
    }

    /// A reader for its next worksheet (or an OpenDocument file's tables), within what its
    /// sheets before keep.
    pub(crate) fn sheet(&self, open_document: bool) -> Sheet {
        Sheet {
            open_document,
            cells_before: self.cells,
            labelled_before: self.labelled,
            sketches: ColumnSketches::new(MAX_SKETCHES.saturating_sub(self.sketches)),
            ..Sheet::default()
        }
    }

    /// A worksheet read (or an OpenDocument file's tables).
    pub(crate) fn add_sheet(&mut self, mut sheet: Sheet) {
        self.cut |= sheet.cut;
        let format = if sheet.open_document {
            crate::Format::Ods
        } else if self.binary {
            crate::Format::Xlsb
        } else {
            crate::Format::Xlsx
        };
        if !self.formats.contains(&format) {
            self.formats.push(format);
        }
        let tables = std::mem::take(&mut sheet.done);
        for evidence in tables.into_iter().chain(sheet.finish()) {
            self.cells += evidence.shared_cells.len();
            self.labelled += evidence.labelled.len();
            self.sketches += evidence.sketches.count();
            if self.sheets.len() < MAX_SHEETS {
                self.sheets.push(evidence);
            } else {
                self.cut = true;
            }
        }
    }

    /// A reader for its shared strings, which knows the strings its sheets read so far show
    /// in more than one cell.
    pub(crate) fn shared_strings(
        &self,
        patterns: Option<std::sync::Arc<crate::Patterns>>,
    ) -> SharedStrings {
        let mut cells: Vec<u32> = self
            .sheets
            .iter()
            .flat_map(|s| s.shared_cells.iter().map(|c| c >> 8))
            .collect();
        cells.sort_unstable();
        let mut repeated = Vec::new();
        for run in cells.chunk_by(|a, b| a == b) {
            if run.len() > 1 {
                repeated.push((run[0], run.len().min(u32::MAX as usize) as u32));
            }
        }
        SharedStrings {
            repeated,
            again: Again {
                custom: vec![0; patterns.as_ref().map_or(0, |p| p.len())],
                ..Again::default()
            },
            patterns,
            sheets_before: self.sheets.len(),
            ..SharedStrings::default()
        }
    }

    pub(crate) fn add_shared_strings(&mut self, shared: SharedStrings) {
        // (A workbook has one; a second would be another workbook's.)
        if self.names.is_empty() {
            self.names = shared.names;
            self.values = shared.values;
            self.prints = shared.prints;
            self.again = shared.again;
            self.kept = shared.kept;
            self.kept_from = shared.sheets_before;
            self.patterns = shared.patterns;
        }
    }

    /// What the shared strings hold, counted again for each cell of a sheet read after them
    /// that shows them (beyond the first, where no sheet before did: the strings' own scan
    /// counted that one), once its sheets are all read.
    fn count_kept(&mut self) {
        let kept = std::mem::take(&mut self.kept);
        if kept.strings.is_empty() && !kept.full {
            return;
        }
        let from = self.kept_from.min(self.sheets.len());
        let cells_of = |sheets: &[SheetEvidence]| {
            let mut cells: Vec<u32> = sheets
                .iter()
                .flat_map(|s| s.shared_cells.iter().map(|c| c >> 8))
                .collect();
            cells.sort_unstable();
            cells
        };
        let after = cells_of(&self.sheets[from..]);
        // More strings than were kept, shown after them: their further cells are unknown.
        self.cut |= kept.full && !after.is_empty();
        if after.is_empty() {
            return;
        }
        let before = cells_of(&self.sheets[..from]);
        let shown = |cells: &[u32], index: u32| {
            cells.partition_point(|&c| c <= index) - cells.partition_point(|&c| c < index)
        };
        for &(index, at, len) in &kept.strings {
            let later = shown(&after, index) as u64;
            let more = if shown(&before, index) == 0 {
                later.saturating_sub(1)
            } else {
                later
            };
            if more == 0 {
                continue;
            }
            let text = &kept.text[at as usize..(at + len) as usize];
            for (what, n) in holds(text, self.patterns.as_deref()) {
                self.again.add(what, n * more);
            }
        }
    }

    /// What the tenant's patterns match in the shared strings shown in more than one cell,
    /// beyond their first (by pattern name): added to the workbook's custom counts.
    pub(crate) fn custom_again(&mut self) -> Vec<(String, u64)> {
        self.count_kept();
        let Some(p) = &self.patterns else {
            return Vec::new();
        };
        std::mem::take(&mut self.again.custom)
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(i, n)| (p.name(i).to_owned(), n))
            .collect()
    }

    /// What the worksheets' columns hold, by what their headings name; whether some of it
    /// was not weighed (a limit was reached).
    pub(crate) fn finish(mut self, counts: &mut Counts, distinct: &mut crate::Distinct) -> bool {
        self.count_kept();
        for (class, n) in self.again.counts.present() {
            counts.add(class, n);
            // (The string's values are in the sketch of the strings' scan.)
            distinct.add_repeats(class, n);
        }
        let sheets = std::mem::take(&mut self.sheets);
        let name = |names: &[u8], h: Heading| match h {
            Heading::Names(n) => n,
            Heading::Shared(i) => usize::try_from(i)
                .ok()
                .and_then(|i| names.get(i))
                .copied()
                .unwrap_or(0),
        };
        for mut sheet in sheets {
            // The heading row: the one whose headings name the most columns (the first of those).
            let mut names = [0u8; MAX_COLUMNS];
            let mut most = 0;
            for row in &sheet.headings {
                let mut row_names = [0u8; MAX_COLUMNS];
                for &(column, heading) in row {
                    row_names[column] = name(&self.names, heading);
                }
                let named = row_names.iter().filter(|n| **n != 0).count();
                if named > most {
                    (names, most) = (row_names, named);
                }
            }
            // Rows whose routing numbers' columns `routing` hold account numbers' digits in
            // `accounts`, `rows` of them: each named routing number's account, once.
            // (`paired`: per column, the accounts counted there, sketched by its values.)
            let mut paired = [0u64; PAIRED_COLUMNS];
            let pair = |counts: &mut Counts,
                        paired: &mut [u64; PAIRED_COLUMNS],
                        routing: u64,
                        mut accounts: u64,
                        rows: u64| {
                for c in (0..PAIRED_COLUMNS).filter(|&c| routing >> c & 1 == 1) {
                    if names[c] & ROUTING == 0 {
                        continue;
                    }
                    if let Some(a) = row_account(&names, accounts, c) {
                        accounts &= !(1u64 << a);
                        counts.add(Class::UsBankAccount, rows);
                        paired[a] += rows;
                    }
                }
            };
            // Per column, rows whose routing number has an account number's digits right after
            // it (a sheet without a heading row pairs them so).
            let mut next = [0u64; PAIRED_COLUMNS];
            for &(routing, accounts, rows) in &sheet.shapes {
                pair(counts, &mut paired, routing, accounts, rows);
                next_accounts(&mut next, routing, accounts, rows);
            }
            // The rows with shared strings, their values now known.
            let mut from = 0;
            let mut row_accounts: Vec<(usize, u64)> = Vec::new();
            let mut known = sheet.shared_rows_known.iter().peekable();
            for (row, &end) in sheet.shared_rows.iter().enumerate() {
                let (mut routing, mut accounts) = match known.next_if(|k| k.0 as usize == row) {
                    Some(&(_, routing, accounts)) => (routing, accounts),
                    None => (0, 0),
                };
                let cells = sheet
                    .shared_cells
                    .get(from..end as usize)
                    .unwrap_or_default();
                from = end as usize;
                for &cell in cells {
                    // (No shared strings at all, or fewer than the index: nothing it may be.)
                    let kind = self.values.get((cell >> 8) as usize).copied().unwrap_or(0);
                    let print = self.prints.get((cell >> 8) as usize).copied().unwrap_or(0);
                    let column = (cell & 0xff) as usize;
                    let (r, a) =
                        weigh(&mut sheet.columns, &mut sheet.sketches, column, kind, print);
                    if a != 0 {
                        row_accounts.push((column, print));
                    }
                    routing |= r;
                    accounts |= a;
                }
                // (Its account numbers sketched where a routing number may pair with them.)
                if routing != 0 {
                    for &(column, print) in &row_accounts {
                        sheet
                            .sketches
                            .add(true, column, Class::UsBankAccount, print);
                    }
                }
                row_accounts.clear();
                pair(counts, &mut paired, routing, accounts, 1);
                next_accounts(&mut next, routing, accounts, 1);
            }
            for (column, &rows) in paired.iter().enumerate().filter(|(_, r)| **r > 0) {
                if let Some(accounts) = sheet.sketches.of(true, column) {
                    distinct.merge_as(accounts, Class::UsBankAccount, rows);
                }
            }
            // A sheet whose first row holds a record's nine-digit number has no heading row (a
            // query's output saved as a workbook): its columns of bare nine-digit numbers are
            // weighed by their checksums, as a delimited table's without a header.
            // (The first of its top rows with two or more cells or a record's number: a
            // report's title rows of one cell above it are passed over.)
            let shared_record = |(from, to): (u32, u32)| {
                let cells = sheet.shared_cells.get(from as usize..to as usize);
                cells.unwrap_or_default().iter().any(|&cell| {
                    let kind = self.values.get((cell >> 8) as usize).copied();
                    kind.unwrap_or(0) & VALUE_RECORD != 0
                })
            };
            let first_record = sheet
                .leading
                .iter()
                .map(|row| (row.cells, row.record || shared_record(row.shared)))
                .find(|&(cells, record)| cells >= 2 || record)
                .is_some_and(|(_, record)| record);
            let headerless = first_record && names.iter().all(|n| n & ROUTING == 0);
            let unnamed_routing = |column: usize| {
                headerless
                    && names.get(column).is_some_and(|n| n & SSN == 0)
                    && sheet
                        .columns
                        .get(column)
                        .is_some_and(|n| crate::scan::routing_evident(n.nine, n.aba))
            };
            // Values a text cell before them names, which their column's heading does not; a
            // routing number so named pairs with an account number so named on its row or up
            // to four rows above (first) or below, no other such routing number between, as a
            // wire form's lines do.
            let mut routings: Vec<u32> = Vec::new();
            let mut accounts: Vec<(u32, bool, u64)> = Vec::new();
            for item in &sheet.labelled {
                let (kind, (print, account)) = match item.value {
                    Value::Kind(k) => (k, item.prints),
                    Value::Shared(i) => {
                        let print = self.prints.get(i as usize).copied().unwrap_or(0);
                        let kind = self.values.get(i as usize).copied().unwrap_or(0);
                        (kind, (print, print))
                    }
                };
                let mut found = |class: Class| {
                    counts.add(class, 1);
                    let f = crate::distinct::of_class(print, class);
                    distinct.insert_fingerprint(class, f);
                };
                let heading = names.get(usize::from(item.column)).copied().unwrap_or(0);
                let by_column = heading & ROUTING != 0 && kind & VALUE_ABA != 0
                    || heading & SSN != 0 && kind & VALUE_SSN != 0
                    || heading & BIC != 0 && kind & VALUE_BIC != 0
                    || unnamed_routing(usize::from(item.column)) && kind & VALUE_ABA != 0;
                let label = name(&self.names, item.label);
                if by_column {
                    continue;
                }
                if label & ROUTING != 0 && kind & VALUE_ABA != 0 {
                    found(Class::AbaRouting);
                    routings.push(item.row);
                } else if label & SSN != 0 && kind & VALUE_SSN != 0 {
                    found(Class::UsSsn);
                } else if label & BIC != 0 && kind & VALUE_BIC != 0 {
                    found(Class::SwiftBic);
                } else if account_column(label)
                    && kind & VALUE_ACCOUNT != 0
                    && !account_column(heading)
                {
                    accounts.push((item.row, false, account));
                }
            }
            for (i, &row) in routings.iter().enumerate() {
                let before = i.checked_sub(1).map(|p| routings[p]);
                let after = routings.get(i + 1).copied();
                let near = |a: u32| {
                    a.abs_diff(row) <= LABELLED_ROWS_APART
                        && before.is_none_or(|b| a > b)
                        && after.is_none_or(|n| a < n)
                };
                // The nearest unpaired one above (or on its row), else below.
                let above = accounts
                    .iter()
                    .rposition(|&(a, used, _)| !used && a <= row && near(a));
                let below = || {
                    accounts
                        .iter()
                        .position(|&(a, used, _)| !used && a > row && near(a))
                };
                if let Some(k) = above.or_else(below) {
                    accounts[k].1 = true;
                    counts.add(Class::UsBankAccount, 1);
                    let f = crate::distinct::of_class(accounts[k].2, Class::UsBankAccount);
                    distinct.insert_fingerprint(Class::UsBankAccount, f);
                }
            }
            for (column, n) in sheet.columns.iter().enumerate() {
                let named = names[column];
                // Card numbers as a delimited table's: each valid one where the heading names
                // cards, else all where the column's numbers validate throughout.
                // (Each class counted with the sketch of the values its count holds.)
                let count = |counts: &mut Counts,
                             distinct: &mut crate::Distinct,
                             class: Class,
                             occurrences: u64| {
                    counts.add(class, occurrences);
                    if let (true, Some(values)) =
                        (occurrences > 0, sheet.sketches.of(false, column))
                    {
                        distinct.merge_as(values, class, occurrences);
                    }
                };
                if named & CARD != 0 || crate::scan::evident(n.card_length, n.card) {
                    count(counts, distinct, Class::CardNumber, n.card);
                }
                // As a number in a delimited table's column: a routing number where the
                // heading names one and the checksum holds, else an SSN where it names one.
                if named & ROUTING != 0 {
                    count(counts, distinct, Class::AbaRouting, n.aba);
                    if named & SSN != 0 {
                        // (Its sketch holds the values that are both as well.)
                        count(counts, distinct, Class::UsSsn, n.ssn - n.both);
                    }
                } else if named & SSN != 0 {
                    count(counts, distinct, Class::UsSsn, n.ssn);
                } else if unnamed_routing(column) {
                    // The account number in the next column, where nearly every such row has
                    // one (not the column before: a record's id stands there).
                    count(counts, distinct, Class::AbaRouting, n.aba);
                    let accounts = next.get(column).copied().unwrap_or(0);
                    if accounts * 100 >= n.aba * 95 {
                        counts.add(Class::UsBankAccount, accounts);
                        if let (true, Some(after)) =
                            (accounts > 0, sheet.sketches.of(true, column + 1))
                        {
                            distinct.merge_as(after, Class::UsBankAccount, accounts);
                        }
                    }
                }
                // A BIC where the heading names BICs (`BIC`, `SWIFT`), as in a delimited table.
                if named & BIC != 0 {
                    count(counts, distinct, Class::SwiftBic, n.bic);
                }
            }
        }
        self.cut
    }
}

/// Rows whose routing numbers' columns are `routing` and whose account numbers' digits are in
/// `accounts`, `rows` of them: counted in `next` by the routing number's column where the
/// account number's digits are in the column right after it.
fn next_accounts(next: &mut [u64; PAIRED_COLUMNS], routing: u64, accounts: u64, rows: u64) {
    let mut both = routing & accounts >> 1;
    while both != 0 {
        next[both.trailing_zeros() as usize] += rows;
        both &= both - 1;
    }
}

/// The column of the account number that pairs with the routing number in column `routing`,
/// in a row whose account-number digits are in columns `accounts`: the nearest account column
/// after it that holds one, else before it, with no bank's column between (as a delimited
/// table's rows pair them).
fn row_account(names: &[u8; MAX_COLUMNS], accounts: u64, routing: usize) -> Option<usize> {
    let pairs = |columns: &mut dyn Iterator<Item = usize>| {
        columns
            .take_while(|&c| !bank_column(names[c]))
            .find(|&c| account_column(names[c]) && accounts >> c & 1 == 1)
    };
    pairs(&mut (routing + 1..PAIRED_COLUMNS)).or_else(|| pairs(&mut (0..routing).rev()))
}
