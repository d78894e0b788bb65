//! The bank file formats a file is in, recognised from its first bytes: ISO 20022 XML (by its
//! namespace, which names the message: `pain.001.001.09`, `pacs.008.001.08`,
//! `camt.053.001.08` …), NACHA ACH (94-character records, a file header `101`), SWIFT MT
//! (`{1:F01…}{2:I103…}`), BAI2 (`01,` … records), and delimited or fixed-width files whose
//! header names accounts, card numbers or IBANs. (The containers a file's contents are read
//! through, gzip and bzip2, ZIP and tar archives and the spreadsheets in ZIP archives, are named here too; they are told
//! where they are read, not from the head.)

use crate::account::Delimiter;
use crate::scan::{ACCOUNT, CARD, ROUTING, SSN};

/// A recognised format.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// ISO 20022 with its message identifier, e.g. `pain.001.001.09`.
    Iso20022(String),
    Nacha,
    /// SWIFT MT with its message type, e.g. 103 or 940.
    SwiftMt(u16),
    Bai2,
    /// An ASC X12 EDI interchange, with its first transaction set's identifier (820: a payment
    /// order or remittance advice; 835: a health care claim payment), when its head shows one.
    X12(Option<u16>),
    /// Fedwire Funds Service messages in FAIM's tagged format.
    Fedwire,
    /// A delimited (CSV-like) file whose header names accounts.
    AccountTable,
    /// Not text (compressed, encrypted, an image…): not scanned; its classes are unknown.
    Binary,
    /// Encrypted, with the scheme named (`openpgp`, `cms`, `age`), beside `binary`: its
    /// contents cannot be read without the key (told by the `encrypted` module).
    Encrypted(String),
    /// gzip-compressed: the classes and formats beside it are its contents'.
    Gzip,
    /// EBCDIC text (a mainframe's), read as the ASCII it says.
    Ebcdic,
    /// bzip2-compressed: the classes and formats beside it are its contents'.
    Bzip2,
    /// zstd-compressed: the classes and formats beside it are its contents'.
    Zstd,
    /// xz-compressed: the classes and formats beside it are its contents'.
    Xz,
    /// A 7-Zip archive: the classes beside it are its files' together (or, beside `binary`,
    /// unknown; `encrypted:7z` where they are encrypted).
    SevenZip,
    /// A Word 97-2003 document: the classes and formats beside it are its text's.
    Doc,
    /// A SQL dump: the classes beside it are its tables' rows' and its other statements'
    /// together, the formats beside it its tables'.
    Sql,
    /// A dBase table (`.dbf`): the classes beside it are its records' (beside `binary`: its
    /// header could not be read).
    Dbf,
    /// An X9 image cash letter (ANSI X9.37, X9.100-187: checks exchanged between banks): the
    /// classes beside it are its items' routing and account numbers.
    X937,
    /// A SQLite database file: the classes beside it are its tables' rows' together (beside
    /// `binary`: it could not be read).
    Sqlite,
    /// A PostgreSQL custom-format archive (`pg_dump -Fc`): the classes beside it are its
    /// tables' rows' together (beside `binary`: its table of contents could not be read).
    PgDump,
    /// An Apache Avro object container file: the classes beside it are its records' (beside
    /// `binary`: its header could not be read).
    Avro,
    /// An Apache Parquet file: the classes beside it are its rows' (beside `binary`: its
    /// footer could not be read, or is encrypted).
    Parquet,
    /// A mailbox (mbox): the classes beside it are its messages' together, the formats beside
    /// it theirs.
    Mbox,
    /// A RAR archive (beside `binary`: its contents are not read; `encrypted:rar` where they
    /// are encrypted).
    Rar,
    /// A ZIP archive: the classes beside it are its entries' together, the formats beside it
    /// theirs.
    Zip,
    /// An e-mail message with parts (MIME): the classes beside it are its text's and its
    /// parts' (attachments decoded) together.
    Mime,
    /// A tar archive: the classes beside it are its files' together, the formats beside it
    /// theirs.
    Tar,
    /// An Excel 97-2003 workbook (BIFF8 in a compound file), read by its columns.
    Xls,
    /// A PDF document: the classes beside it are those of the text its pages show.
    Pdf,
    /// An Outlook message (`.msg`): its text, addresses and attachments read, their classes
    /// beside it.
    Msg,
    /// A ZIP archive that is a Word document (`.docx`): its text read as the document shows it.
    Docx,
    /// A ZIP archive that is a PowerPoint presentation (`.pptx`): its slides' and notes' text
    /// read as they show it.
    Pptx,
    /// A ZIP archive that is an XLSX workbook (it has worksheets, read by their columns).
    Xlsx,
    /// A ZIP archive that is an Excel binary workbook (`.xlsb`: its worksheets BIFF12 records,
    /// read by their columns as an XLSX workbook's).
    Xlsb,
    /// A ZIP archive that is an OpenDocument package with tables (a spreadsheet's, read by
    /// their columns), or a flat OpenDocument spreadsheet (`.fods`).
    Ods,
    /// An OpenDocument text (`.odt`, a ZIP archive, or a flat `.fodt`): its text read as the
    /// document shows it.
    Odt,
    /// An HTML page: its text read as the page shows it (tags, scripts and styles aside).
    Html,
    /// Excel 2003's XML Spreadsheet: the classes and formats beside it are its cells' text's.
    ExcelXml,
    /// An RTF document: its text read as the document shows it (control words aside).
    Rtf,
    /// Compressed contents scanned only in part (beyond [`crate::encoding::MAX_INFLATED`]
    /// bytes, or a stream that breaks off): its classes are those of that part, the rest's are
    /// unknown.
    ScannedInPart,
}

impl Format {
    /// The stable name used in storage, reports and the CLI.
    pub fn name(&self) -> String {
        match self {
            Format::Iso20022(id) => format!("iso20022:{id}"),
            Format::Nacha => "nacha".into(),
            Format::SwiftMt(t) => format!("swift_mt{t}"),
            Format::Bai2 => "bai2".into(),
            Format::X12(Some(t)) => format!("x12:{t}"),
            Format::X12(None) => "x12".into(),
            Format::Fedwire => "fedwire".into(),
            Format::AccountTable => "account_table".into(),
            Format::Binary => "binary".into(),
            Format::Encrypted(scheme) => format!("encrypted:{scheme}"),
            Format::Gzip => "gzip".into(),
            Format::Ebcdic => "ebcdic".into(),
            Format::Bzip2 => "bzip2".into(),
            Format::Zstd => "zstd".into(),
            Format::Xz => "xz".into(),
            Format::SevenZip => "7z".into(),
            Format::Doc => "doc".into(),
            Format::Parquet => "parquet".into(),
            Format::Avro => "avro".into(),
            Format::Sql => "sql".into(),
            Format::Sqlite => "sqlite".into(),
            Format::Dbf => "dbf".into(),
            Format::X937 => "x9_37".into(),
            Format::PgDump => "pg_dump".into(),
            Format::Mbox => "mbox".into(),
            Format::Rar => "rar".into(),
            Format::Zip => "zip".into(),
            Format::Tar => "tar".into(),
            Format::Mime => "mime".into(),
            Format::Xls => "xls".into(),
            Format::Pdf => "pdf".into(),
            Format::Xlsx => "xlsx".into(),
            Format::Xlsb => "xlsb".into(),
            Format::Docx => "docx".into(),
            Format::Msg => "msg".into(),
            Format::Pptx => "pptx".into(),
            Format::Ods => "ods".into(),
            Format::Odt => "odt".into(),
            Format::Html => "html".into(),
            Format::ExcelXml => "excel_xml".into(),
            Format::Rtf => "rtf".into(),
            Format::ScannedInPart => "scanned_in_part".into(),
        }
    }

    /// The inverse of [`Format::name`].
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "nacha" => Some(Format::Nacha),
            "bai2" => Some(Format::Bai2),
            "x12" => Some(Format::X12(None)),
            "fedwire" => Some(Format::Fedwire),
            "account_table" => Some(Format::AccountTable),
            "binary" => Some(Format::Binary),
            "gzip" => Some(Format::Gzip),
            "ebcdic" => Some(Format::Ebcdic),
            "bzip2" => Some(Format::Bzip2),
            "zstd" => Some(Format::Zstd),
            "xz" => Some(Format::Xz),
            "7z" => Some(Format::SevenZip),
            "doc" => Some(Format::Doc),
            "parquet" => Some(Format::Parquet),
            "avro" => Some(Format::Avro),
            "sql" => Some(Format::Sql),
            "sqlite" => Some(Format::Sqlite),
            "dbf" => Some(Format::Dbf),
            "x9_37" => Some(Format::X937),
            "pg_dump" => Some(Format::PgDump),
            "mbox" => Some(Format::Mbox),
            "rar" => Some(Format::Rar),
            "zip" => Some(Format::Zip),
            "tar" => Some(Format::Tar),
            "mime" => Some(Format::Mime),
            "xls" => Some(Format::Xls),
            "pdf" => Some(Format::Pdf),
            "xlsx" => Some(Format::Xlsx),
            "xlsb" => Some(Format::Xlsb),
            "docx" => Some(Format::Docx),
            "msg" => Some(Format::Msg),
            "pptx" => Some(Format::Pptx),
            "ods" => Some(Format::Ods),
            "odt" => Some(Format::Odt),
            "html" => Some(Format::Html),
            "excel_xml" => Some(Format::ExcelXml),
            "rtf" => Some(Format::Rtf),
            "scanned_in_part" => Some(Format::ScannedInPart),
            _ => {
                if let Some(id) = s.strip_prefix("iso20022:") {
                    Some(Format::Iso20022(id.to_owned()))
                } else if let Some(t) = s.strip_prefix("x12:") {
                    t.parse().ok().map(|t| Format::X12(Some(t)))
                } else if let Some(scheme) = s.strip_prefix("encrypted:") {
                    Some(Format::Encrypted(scheme.to_owned()))
                } else {
                    s.strip_prefix("swift_mt")?
                        .parse()
                        .ok()
                        .map(Format::SwiftMt)
                }
            }
        }
    }
}

const ISO20022_NS: &[u8] = b"urn:iso:std:iso:20022:tech:xsd:";

/// Whether `head` is not text: a NUL byte, or more than 1 in 20 bytes control characters
/// other than tab, line feed, carriage return and form feed. (UTF-8 and Latin-1 text pass.)
pub fn is_binary(head: &[u8]) -> bool {
    // Counted in bytes, 128 at most each, with comparisons only (no table, no bit test), so
    // that the count runs a vector of bytes at a time: the bytes below 0x20, less tab, line
    // feed, form feed and carriage return (9, 10, 12, 13: the five from 9 but 11), and 0x7f.
    // Each chunk's count is at most 128, so counting modulo 256 loses nothing.
    let control: usize = head
        .chunks(128)
        .map(|c| {
            usize::from(c.iter().fold(0u8, |n, &b| {
                n.wrapping_add(u8::from(b < 0x20))
                    .wrapping_sub(u8::from(b.wrapping_sub(9) < 5))
                    .wrapping_add(u8::from(b == 11))
                    .wrapping_add(u8::from(b == 0x7f))
            }))
        })
        .sum();
    memchr::memchr(0, head).is_some() || control * 20 > head.len()
}

/// The formats `head` (a file's first bytes) shows.
pub fn sniff(head: &[u8]) -> Vec<Format> {
    sniff_layout(head).0
}

/// How a file's lines are laid out as a table, judged from its head with its formats
/// ([`sniff_layout`]).
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// A delimited table ([`delimited_table`]).
    pub table: bool,
    /// Which of its lines is its header: the first, or one after a title's lines.
    pub header_line: usize,
    /// The byte that ends its fields: the separator its header has most of.
    pub delimiter: Delimiter,
    /// A fixed-width table's columns ([`fixed_width_columns`]); empty for other files.
    pub fixed: Vec<(usize, u8)>,
    /// A delimited table whose routing numbers or SSNs lost their leading zero
    /// ([`zeros_dropped`]).
    pub zeros_dropped: bool,
}

/// The formats `head` shows, and its layout as a table (each judged once).
pub(crate) fn sniff_layout(head: &[u8]) -> (Vec<Format>, Layout) {
    // A RAR archive: named, its contents not read (whether it is encrypted told).
    if let Some(formats) = crate::rar::formats(head) {
        return (formats, Layout::default());
    }
    // An encrypted file (or an OpenPGP message in armor: encoded, in text) is not read.
    match crate::encrypted::sealed(head) {
        Some(crate::encrypted::Sealed::Encrypted(scheme)) => {
            let formats = vec![Format::Binary, Format::Encrypted(scheme.into())];
            return (formats, Layout::default());
        }
        Some(crate::encrypted::Sealed::Encoded) => {
            return (vec![Format::Binary], Layout::default());
        }
        None => {}
    }
    if is_binary(head) {
        return (vec![Format::Binary], Layout::default());
    }
    let mut found = Vec::new();
    // Built once: a searcher costs more to build than to run over a head.
    static ISO20022: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(ISO20022_NS));
    if let Some(at) = ISO20022.find(head) {
        let id: String = head[at + ISO20022_NS.len()..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'.')
            .take(32)
            .map(|c| char::from(*c))
            .collect();
        if !id.is_empty() {
            found.push(Format::Iso20022(id));
        }
    }
    let first_line = head.split(|c| *c == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    if first_line.len() == 94 && first_line.starts_with(b"101") {
        found.push(Format::Nacha);
    }
    if head.starts_with(b"{1:F01")
        && let Some(at) = find(head, b"{2:")
        && let Some(t) = head
            .get(at + 4..at + 7)
            .and_then(|t| std::str::from_utf8(t).ok())
            .and_then(|t| t.parse().ok())
    {
        found.push(Format::SwiftMt(t));
    }
    if first_line.starts_with(b"01,") && find(head, b"\n02,").is_some() {
        found.push(Format::Bai2);
    }
    if let Some(x12) = crate::x12::header(head) {
        found.push(Format::X12(x12.transaction));
    }
    if crate::fedwire::magic(head) {
        found.push(Format::Fedwire);
    }
    // A title above a table's header is looked for in text of no other format (not markup).
    let titled = found.is_empty()
        && !matches!(
            head.iter().find(|c| !c.is_ascii_whitespace()),
            Some(b'<' | b'{' | b'[')
        );
    let header_line = delimited_table(head, titled);
    let mut layout = Layout {
        table: header_line.is_some(),
        header_line: header_line.unwrap_or(0),
        delimiter: Delimiter::ANY,
        fixed: Vec::new(),
        zeros_dropped: false,
    };
    let header = match header_line {
        Some(n) if n > 0 => head.split(|c| *c == b'\n').nth(n).unwrap_or_default(),
        _ => first_line,
    };
    if layout.table {
        layout.delimiter = delimiter_of(header);
        layout.zeros_dropped = zeros_dropped(head, layout.header_line, header, layout.delimiter);
    }
    // A file of another format (NACHA, SWIFT MT, XML, BAI2) is no fixed-width table; a
    // report's header may stand under its title's lines.
    if found.is_empty() && !layout.table {
        let mut rest = head;
        for line in 0..=if titled { MAX_TITLE_LINES } else { 0 } {
            if let Some(columns) = fixed_width_columns(rest) {
                layout.fixed = columns;
                layout.header_line = line;
                break;
            }
            let Some(end) = memchr::memchr(b'\n', rest) else {
                break;
            };
            rest = &rest[end + 1..];
        }
    }
    let fixed_names_accounts = layout.fixed.iter().any(|c| c.1 & (ACCOUNT | CARD) != 0);
    if found.is_empty() && (layout.table && names_accounts(header) || fixed_names_accounts) {
        found.push(Format::AccountTable);
    }
    (found, layout)
}

/// Whether a delimited table's first rows in the head (up to [`ROWS_FOR_ZEROS`] whole lines
/// after its header, line `header_line`) hold, in a column its header names as routing numbers
/// or SSNs, a number of eight digits that is a valid one once a zero is put back before it: a
/// table saved by a spreadsheet, which read `021000021` as a number and wrote `21000021` (every
/// routing number of the first nine Federal Reserve districts begins with a zero, and the SSNs
/// of areas 001 to 099).
fn zeros_dropped(head: &[u8], header_line: usize, header: &[u8], delimiter: Delimiter) -> bool {
    // The columns' names, one bit per column, for routing numbers and for SSNs.
    let (mut routing, mut ssn) = (0u64, 0u64);
    for (i, heading) in header
        .split(|&c| delimiter.ends_field(c))
        .take(64)
        .enumerate()
    {
        let names = crate::account::heading_names(heading);
        routing |= u64::from(names & ROUTING != 0) << i;
        ssn |= u64::from(names & SSN != 0) << i;
    }
    if routing | ssn == 0 {
        return false;
    }
    // Half of all routing numbers begin with a zero: the first rows tell. Only the fields up
    // to the last such column are looked at.
    let columns = 64 - (routing | ssn).leading_zeros() as usize;
    let whole = memchr::memrchr(b'\n', head).map_or(&head[..0], |p| &head[..p]);
    whole
        .split(|&c| c == b'\n')
        .skip(header_line + 1)
        .take(ROWS_FOR_ZEROS)
        .any(|row| {
            row.split(|&c| delimiter.ends_field(c))
                .take(columns)
                .enumerate()
                .any(|(i, field)| {
                    let names = if routing >> i & 1 == 1 {
                        ROUTING
                    } else if ssn >> i & 1 == 1 {
                        SSN
                    } else {
                        return false;
                    };
                    zero_dropped(field, names)
                })
        })
}

/// Rows after a table's header looked at for routing numbers that lost their zero
/// ([`zeros_dropped`]).
const ROWS_FOR_ZEROS: usize = 16;

/// Whether a field (blanks and quotes aside) is a routing number (`names` [`ROUTING`]) or an
/// SSN without its leading zero.
fn zero_dropped(field: &[u8], names: u8) -> bool {
    use crate::validate::{aba_routing, us_ssn, zero_back};
    zero_back(field_value(field)).is_some_and(|p| {
        if names == ROUTING {
            aba_routing(&p)
        } else {
            us_ssn(&p[..3], &p[3..5], &p[5..])
        }
    })
}

/// A delimited field's value: blanks around it and the double quotes around that taken off.
fn field_value(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    field
        .strip_prefix(b"\"")
        .and_then(|f| f.strip_suffix(b"\""))
        .unwrap_or(field)
}

/// Whether a delimited header line names an account, card or IBAN column.
fn names_accounts(line: &[u8]) -> bool {
    // Keywords are looked up without regard to case.
    crate::scan::abbreviations(line) != 0
        || line
            .split(|c| !c.is_ascii_alphanumeric())
            .any(|w| crate::scan::keyword(w) & (ACCOUNT | CARD) != 0)
}

/// Field separators in `line` outside double quotes (a quoted field may hold them): of
/// `delimiter` alone, or of any of the four.
fn separators_of(line: &[u8], delimiter: Delimiter) -> usize {
    let counts = separator_counts(line);
    match delimiter.other_than_comma() {
        Some(d) => counts[SEPARATORS.iter().position(|&s| s == d).unwrap_or(0)],
        None if delimiter == Delimiter::ANY => counts.iter().sum(),
        None => counts[0],
    }
}

/// The four field separators, a comma first.
const SEPARATORS: [u8; 4] = [b',', b';', b'|', b'\t'];

/// How many of each of [`SEPARATORS`] `line` has outside double quotes, in one pass.
fn separator_counts(line: &[u8]) -> [usize; 4] {
    let mut quoted = false;
    let mut n = [0usize; 4];
    for &c in line {
        match c {
            b'"' => quoted = !quoted,
            b',' if !quoted => n[0] += 1,
            b';' if !quoted => n[1] += 1,
            b'|' if !quoted => n[2] += 1,
            b'\t' if !quoted => n[3] += 1,
            _ => {}
        }
    }
    n
}

/// A table's delimiter, from its header `line`: of the separators in it (outside quotes), the
/// one it has most of; a tab, a pipe or a semicolon before a comma where as many (a comma in a
/// tab- or pipe-separated table's fields, or a decimal comma in a semicolon-separated one's,
/// separates nothing).
pub(crate) fn delimiter_of(line: &[u8]) -> Delimiter {
    let counts = separator_counts(line);
    let mut best = 0;
    for i in 1..SEPARATORS.len() {
        if counts[i] > 0 && counts[i] >= counts[best] {
            best = i;
        }
    }
    Delimiter::only(SEPARATORS[best])
}

/// The columns of a fixed-width table whose first line is a header naming them (`ROUTING
/// NUMBER   ACCOUNT NUMBER   AMOUNT`): each column's first byte offset in a line and what its
/// heading names (keyword bits), in order. A header has no field separators, two or more
/// headings apart by two spaces or more, one at least naming something, no number of six
/// digits or more; the next two lines
/// (after a rule of dashes or equals signs under the headings, as reports print one), whole in
/// `head`, are records of one length, no shorter than where the last heading begins. `None`
/// for anything else.
fn fixed_width_columns(head: &[u8]) -> Option<Vec<(usize, u8)>> {
    let mut lines = head.split(|c| *c == b'\n');
    let strip = |l: &[u8]| -> usize { l.strip_suffix(b"\r").unwrap_or(l).len() };
    let header = lines.next()?;
    let header = &header[..strip(header)];
    // Most first lines are not a header of this kind: told without more work.
    if !header.windows(2).any(|w| w == b"  ") || separators_of(header, Delimiter::ANY) > 0 {
        return None;
    }
    // A line holding a number of six digits or more is a record (a headerless extract's:
    // `1001    DOE JOHN    021000021 12345678    checking`), whatever its words name.
    if header
        .split(|c| !c.is_ascii_digit())
        .any(|run| run.len() >= 6)
    {
        return None;
    }
    let mut columns: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    while i < header.len() {
        if header[i] == b' ' {
            i += 1;
            continue;
        }
        // A heading: words apart by single spaces.
        let start = i;
        while i < header.len()
            && !(header[i] == b' ' && header.get(i + 1).is_none_or(|&c| c == b' '))
        {
            i += 1;
        }
        columns.push((start, crate::account::heading_names(&header[start..i])));
    }
    // Two whole records (a third line, or the head's end after the second's line end), after
    // a rule.
    let rule = |l: &[u8]| {
        l.iter().any(|&c| matches!(c, b'-' | b'='))
            && l.iter().all(|&c| matches!(c, b'-' | b'=' | b' ' | b'\r'))
    };
    let mut first = lines.next()?;
    if rule(first) {
        first = lines.next()?;
    }
    let (second, _) = (lines.next()?, lines.next()?);
    let width = strip(first);
    let last_start = columns.last()?.0;
    let named = columns.iter().any(|c| c.1 != 0);
    (columns.len() >= 2 && named && width == strip(second) && width > last_start).then_some(columns)
}

/// Whether the file whose beginning is `head` is a delimited table, and which of its lines
/// is the header naming the columns. The first line, where it has field separators and the
/// next one (when the head holds it whole) has as many: a letter whose first sentence has a
/// comma in it is not one, and its first line's words name no columns of the lines after.
/// Else, where `titled` (text of no other format), a line after at most [`MAX_TITLE_LINES`]
/// lines of a title (a report's name and date
/// above its table; a document's heading above a table, read as text), where that line names
/// a column, or is a record's (a table without a header under its title), and the two after
/// it, whole in the head, have as many separators as it has.
fn delimited_table(head: &[u8], titled: bool) -> Option<usize> {
    let header = &head[..record_end(head).unwrap_or(head.len())];
    let delimiter = delimiter_of(header);
    let n = separators_of(header, delimiter);
    // A line whose separators are commas that all end it names one column at most (a
    // letter's `Dear Mr. Smith,`): no header, whatever the next line holds. (A document's
    // table of one column ends each cell with a tab: `"SSN"\t`.)
    let named = header
        .iter()
        .rposition(|c| !matches!(c, b',' | b' ' | b'\r'))
        .map_or(&header[..0], |p| &header[..=p]);
    if n > 0 && separators_of(named, delimiter) > 0 && !fixed_records(head) {
        let rest = &head[(header.len() + 1).min(head.len())..];
        // (A quoted field may hold line ends: an address typed on two lines.)
        let table = match record_end(rest) {
            Some(end) => separators_of(&rest[..end], delimiter) == n,
            // No whole second line in the head, and the file goes on: the header is all
            // there is to judge by.
            None if head.len() >= crate::scan::SNIFF_LEN => true,
            // The file ended: a line of text with commas in it is no table; a header and one
            // row without a line end after it is.
            None => !rest.is_empty() && separators_of(rest, delimiter) == n,
        };
        if table {
            return Some(0);
        }
    }
    // (A title may have a comma in it: `Vendors, December 2026`; so may Excel's `sep=;`.)
    if !titled {
        return None;
    }
    // The first lines whole in the head (the last, unended, is not judged).
    let mut lines: [&[u8]; MAX_TITLE_LINES + 3] = [&[]; MAX_TITLE_LINES + 3];
    let mut whole = 0;
    let mut rest = head;
    while whole < lines.len()
        && let Some(end) = memchr::memchr(b'\n', rest)
    {
        lines[whole] = &rest[..end];
        rest = &rest[end + 1..];
        whole += 1;
    }
    let lines = &lines[..whole];
    (1..=MAX_TITLE_LINES).find(|&i| {
        let Some(rows) = lines.get(i..i + 3) else {
            return false;
        };
        let delimiter = delimiter_of(rows[0]);
        let n = separators_of(rows[0], delimiter);
        n > 0
            && rows[1..].iter().all(|r| separators_of(r, delimiter) == n)
            && (names_a_column(rows[0]) || holds_a_record_number(rows[0], delimiter))
    })
}

/// Whether a line of a delimited table is a record's, not a header's: one of its fields is a
/// bare nine-digit number (blanks and quotes aside), as a headerless extract's routing
/// numbers are. Under a report's title, such a line begins a table without a header.
fn holds_a_record_number(line: &[u8], delimiter: Delimiter) -> bool {
    line.split(|&c| delimiter.ends_field(c)).any(|field| {
        let value = field_value(field);
        value.len() == 9 && value.iter().all(u8::is_ascii_digit)
    })
}

/// Whether `head` begins with records of fixed-width columns and no header: its first three
/// lines (whole in it) of one length, the first holding columns apart by two blanks or more,
/// a number of six digits or more (a record's value, not a heading) and a blank after each of
/// its commas. Such a comma (`1001    DOE, JOHN    021000021 12345678`) is a name's, not a
/// field's end; a table padded to fixed widths (`DOE JOHN  ,021000021,12345678`) is still one.
fn fixed_records(head: &[u8]) -> bool {
    let mut lines = head.split(|&c| c == b'\n');
    let mut line = || lines.next().map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let (Some(first), Some(second), Some(third), Some(_)) = (line(), line(), line(), line()) else {
        return false;
    };
    first.len() >= 20
        && first.len() == second.len()
        && first.len() == third.len()
        && first.windows(2).any(|w| w == b"  ")
        && first
            .split(|c| !c.is_ascii_digit())
            .any(|run| run.len() >= 6)
        && first
            .iter()
            .enumerate()
            .all(|(i, &c)| c != b',' || first.get(i + 1) == Some(&b' '))
}

/// Where the record that begins `text` ends: its first line end outside double quotes.
fn record_end(text: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &c) in text.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Most lines of a title above a table's header ([`delimited_table`]).
const MAX_TITLE_LINES: usize = 8;

/// Whether a header line's words name any column a context reads (an account, a card, a
/// routing number, an SSN, a BIC …).
fn names_a_column(line: &[u8]) -> bool {
    crate::scan::abbreviations(line) != 0
        || line
            .split(|c| !c.is_ascii_alphanumeric())
            .any(|w| crate::scan::keyword(w) != 0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The vectorised count gives what the definition says, byte by byte.
        #[test]
        fn binary_is_what_the_definition_says(
            bytes in proptest::collection::vec(prop_oneof![any::<u8>(), 0u8..0x20, Just(b'a')], 0..2000)
        ) {
            let control = bytes
                .iter()
                .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0c | b'\r')) || b == 0x7f)
                .count();
            let want = bytes.contains(&0) || control * 20 > bytes.len();
            prop_assert_eq!(is_binary(&bytes), want);
        }
    }

    #[test]
    fn formats_are_recognised() {
        let pain = b"<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\">";
        assert_eq!(
            sniff(pain),
            vec![Format::Iso20022("pain.001.001.09".into())]
        );
        let mut nacha = b"101 0210000210123456789".to_vec();
        nacha.resize(94, b' ');
        nacha.push(b'\n');
        assert_eq!(sniff(&nacha), vec![Format::Nacha]);
        let mt = b"{1:F01BANKBEBBAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\n:20:REF\n-}";
        assert_eq!(sniff(mt), vec![Format::SwiftMt(103)]);
        let bai = b"01,BANKID,CUST,261203,0200,1,,,2/\n02,CUST,BANK,1,261202,,USD,2/\n";
        assert_eq!(sniff(bai), vec![Format::Bai2]);
        assert_eq!(
            sniff(b"name,iban,amount\nA,DE89370400440532013000,1\n"),
            vec![Format::AccountTable]
        );
        assert_eq!(sniff(b"just some text, nothing else\n"), vec![]);
        // A file of one line of text with commas, naming a card: no table (it has no rows).
        assert_eq!(
            sniff(b"Customer DOB 1980-01-02, SSN 123-45-6789, card 5555 5555 5555 4444\n"),
            vec![]
        );
        assert_eq!(sniff(b"card_number,name\n"), vec![]);
        // A header and one row without a line end after it: a table.
        assert_eq!(
            sniff(b"card_number,name\n4111111111111111,Bob"),
            vec![Format::AccountTable]
        );
        // A head cut inside a long second line: judged by its header.
        let mut long = b"card_number,name\n4111111111111111,".to_vec();
        long.resize(crate::scan::SNIFF_LEN, b'x');
        assert_eq!(sniff(&long), vec![Format::AccountTable]);
        let fixed = b"ROUTING NUMBER  ACCOUNT NUMBER    AMOUNT\n\
                      021000021       0012345678        100.00\n\
                      011000015       98765432          250.00\n";
        assert_eq!(sniff(fixed), vec![Format::AccountTable]);
        assert_eq!(
            fixed_width_columns(fixed),
            Some(vec![(0, crate::scan::ROUTING), (16, ACCOUNT), (34, 0)])
        );
        // Fixed-width records without a header, a name's comma in each: no delimited table,
        // nor a fixed-width header (its first line holds a record's numbers); a padded table
        // whose first line is a header is still one.
        let records = b"1000    DOE, JOHN       021000021 12345678    checking\n\
                        1001    ROSSI, SOFIA    011000015 98765432    savings \n\
                        1002    ROE, ANN        026009593 55512345    checking\n";
        assert!(fixed_records(records));
        assert!(!sniff_layout(records).1.table);
        assert!(sniff_layout(records).1.fixed.is_empty());
        let headerless = b"DOE JOHN        ,021000021,12345678\n\
                           ROE ANN         ,026009593,55512345\n\
                           ROSSI SOFIA     ,011000015,98765432\n";
        assert!(!fixed_records(headerless));
        assert!(sniff_layout(headerless).1.table);
        let padded = b"NAME            ,ROUTING  ,ACCOUNT \n\
                       DOE JOHN        ,021000021,12345678\n\
                       ROE ANN         ,026009593,55512345\n";
        assert!(sniff_layout(padded).1.table);
        // Records of different lengths, or one heading: not a fixed-width table.
        assert_eq!(
            fixed_width_columns(b"ACCOUNT NUMBER  NAME\n12345678  A\n1234  BB\n\n"),
            None
        );
        assert_eq!(
            fixed_width_columns(b"ACCOUNT NUMBER\n12345678\n12345678\n"),
            None
        );
        // A first sentence that names cards, with a comma: not a table.
        assert_eq!(
            sniff(b"Your card statement, December\nDear customer\n"),
            vec![]
        );
        assert_eq!(
            sniff(b"\"Name\",\"Account\"\r\n\"Doe, John\",\"123\"\r\n"),
            vec![Format::AccountTable]
        );
        assert_eq!(
            sniff(b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
            vec![Format::Binary]
        );
        assert_eq!(sniff("Müller; Straße; 12\n".as_bytes()), vec![]);
        for f in [
            Format::Iso20022("camt.053.001.08".into()),
            Format::Nacha,
            Format::SwiftMt(940),
            Format::Bai2,
            Format::X12(Some(820)),
            Format::X12(None),
            Format::AccountTable,
            Format::Binary,
            Format::Encrypted("openpgp".into()),
        ] {
            assert_eq!(Format::parse(&f.name()), Some(f));
        }
    }
}
