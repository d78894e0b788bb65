//! The data classes, their counts, and what classification found in a file (counts, formats, a
//! tenant's patterns' matches, the rules it was found under) with the stored form of it. Never
//! here: reading a file.

use crate::format::Format;

/// The data classes, in the order reports print them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    CardNumber,
    Iban,
    AbaRouting,
    UsBankAccount,
    SwiftBic,
    UsSsn,
    UkNino,
    Email,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::CardNumber,
        Class::Iban,
        Class::AbaRouting,
        Class::UsBankAccount,
        Class::SwiftBic,
        Class::UsSsn,
        Class::UkNino,
        Class::Email,
    ];

    /// The stable name used in storage, reports and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::CardNumber => "card_number",
            Class::Iban => "iban",
            Class::AbaRouting => "aba_routing",
            Class::UsBankAccount => "us_bank_account",
            Class::SwiftBic => "swift_bic",
            Class::UsSsn => "us_ssn",
            Class::UkNino => "uk_nino",
            Class::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How many of each class a file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; Class::ALL.len()]);

impl Counts {
    pub fn get(&self, c: Class) -> u64 {
        self.0[c as usize]
    }

    pub fn add(&mut self, c: Class, n: u64) {
        self.0[c as usize] = self.0[c as usize].saturating_add(n);
    }

    /// The classes present, with their counts.
    pub fn present(&self) -> impl Iterator<Item = (Class, u64)> + '_ {
        Class::ALL
            .into_iter()
            .map(|c| (c, self.get(c)))
            .filter(|(_, n)| *n > 0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

/// The version of the classifier's rules, raised when a change means that a file classified
/// before may hold classes its stored classification does not list (`classify run` classifies
/// such files again, or lists classes it does not hold). 1: the first rules; 2 (2026-12-04): US
/// bank account numbers, routing numbers in BAI2, ISO 20022 and SWIFT MT, a first line that
/// names columns only in a table, fixed-width tables' headers, and quoted fields' separators;
/// 3 (2026-12-04): US bank account numbers in labelled lines above or below their routing
/// numbers' (wire instructions), in a table's account column (delimited or fixed-width) with
/// other columns between it and the routing number's, and in markup, JSON and query strings
/// (the element, key or parameter next to the routing number's); card numbers in magnetic
/// stripe tracks; UTF-16 text with a byte order mark, gzip-compressed files and ZIP archives
/// (binary before); 4 (2026-12-05): XLSX workbooks' worksheets read by their columns (SSNs,
/// routing numbers and US bank accounts in columns whose headings name them or beside labels
/// naming them (a wire form's rows), card numbers by column, also where the values and headings are shared
/// strings, each cell once); OpenDocument spreadsheets' tables likewise; 5 (2026-12-05): tar
/// archives (`.tar`, `.tar.gz`: binary before) read file by file, bzip2-compressed files
/// inflated, archives and compressed files inside archives opened (three layers, one budget
/// per file), encrypted files named (OpenPGP, CMS, age, Office: an OpenPGP message in armor
/// was scanned as text and found nothing), Excel 97-2003 workbooks (`.xls`) read by their
/// columns, EBCDIC text read as its ASCII, e-mail messages' parts decoded and read as files;
/// an archive's entry that is
/// not text (a picture, a PDF) makes it `scanned_in_part` beside the other entries' classes,
/// not `binary` (whose classes are unknown); 6 (2026-12-05): PDF documents' text read (their
/// pages' strings through their fonts' maps, a table's cells as columns, files attached to
/// them; `binary` before), an encrypted one named (`encrypted:pdf`) unless it opens without a
/// password (then read decrypted); zstd-compressed files inflated (`binary` before); Word
/// documents' text read as the document shows it (paragraphs as lines, a table's cells as
/// columns: its XML was one long line); 7 (2026-12-05): xz-compressed files inflated
/// (`binary` before); UTF-16 text without a byte order mark read (`binary` before); 7-Zip
/// archives read to 32 MiB (`binary` before), named (`7z`), and `encrypted:7z` for one with a
/// password; Word 97-2003 documents' text read (`doc`; `binary` before); mailboxes' messages
/// read each as a file (`mbox`: their attachments were base64 text); a ZIP archive's entries
/// encrypted by its password, and an archive's entries that are encrypted files, named in its
/// formats (`encrypted:zip`; a ZIP archive of encrypted entries alone was `none found`, read
/// in part); RAR archives named (`rar`), `encrypted:rar` for one with a password; 8
/// (2026-12-05): HTML pages read as the text they show (`html`: a table's cells as columns
/// under its header, a letter's lines as lines; Calc's pages counted each number twice, its
/// `sdval` attribute beside its cell's text), RTF documents likewise (`rtf`: its control words
/// stood between a letter's lines), OpenDocument texts likewise (`odt`: read as
/// tables before, named `ods`), flat OpenDocument files (`.fods` read by their columns,
/// `.fodt` as text), and a delimited table's header found under a title of up to eight lines
/// (a report's name above its table: its columns named nothing before), a fixed-width
/// report's too (and a rule under its headings); BICs in workbooks'
/// columns whose headings name them, and beside labels naming them (none counted before); a
/// tab-, pipe- or semicolon-separated table's fields ended by its own delimiter alone (an
/// unquoted comma in a field made it no table), and a quoted field's line ends ending no
/// record (a field of two lines made it no table); a PDF's blank line (an empty paragraph) read
/// as one (a wire letter's account below a blank line was paired), and a cell placed over
/// the last one's clipped end as the next cell; a workbook's shared string
/// (an IBAN, an e-mail address) counted in every cell that shows it (once before); a Word
/// document's comments and its text deleted with changes tracked read; PowerPoint's slides
/// and notes read as they show (`pptx`); an office file's printer settings read in part no more;
/// a cell over several columns (HTML's `colspan`, Word's `w:gridSpan`) kept in step; a Word
/// 97-2003 table's cells quoted (a comma in a cell shifted the columns after it); 9
/// (2026-12-05): Excel binary workbooks (`.xlsb`) read by their columns as XLSX workbooks are
/// (`xlsb`; a ZIP archive read in part before); a tenant's pattern matched in a workbook's
/// shared string counted in each cell that shows it (once before), and a workbook's shared
/// strings so counted when they come before its sheets (Apache POI's, NPOI's order: once
/// before); an HTML cell over several
/// rows (`rowspan`) keeps the rows below in step (their cells stood a column early); X12 EDI
/// interchanges (`x12:820`) read by their qualifiers: routing and account numbers in a
/// payment's `BPR` segment, SSNs after `34` or as a `REF` of type `SY` (none counted before);
/// in prose, a line that wraps a sentence read as one with the next (an account on the line
/// after its routing number's, a keyword at a line's end naming the next line's number); a
/// form's label alone above its value paired as a labelled line (`Routing number` /
/// `021000021` / `Account number` / `12345678`); a PDF font's ligatures read as their letters;
/// an e-mail's alternatives (its text and its HTML) counted once, not summed; a workbook's
/// pivot cache of its own sheet counted nothing again; Outlook messages (`.msg`) read: their
/// text, addresses and attachments (`binary` before); 10 (2026-12-05): Parquet files read
/// (`parquet`: their rows by their columns' names; `binary` before); SQL dumps' tables read
/// by their columns' names (`sql`: as text before, their rows' SSNs, routing numbers and
/// accounts named by no word beside them); PostgreSQL's custom-format archives read
/// (`pg_dump`: `binary` before), and `pg_dump -Ft`'s tables' files under their columns'
/// names; Avro files read (`avro`: `binary` before); SQLite databases read (`sqlite`:
/// `binary` before); Excel 2003 XML Spreadsheets read as tables (`excel_xml`: XML text
/// before, their headings naming nothing); dBase tables read (`dbf`: `binary` before); 11
/// (2026-12-05): a delimited table without a header, and text's lines by their places (a
/// fixed-width extract), weigh their bare nine-digit numbers per column, the routing numbers
/// and the accounts after them counted by that evidence (none before); a nine- or 13-19-digit
/// number a blank or dash before other digits read on its own (`021000021 12345678`: nothing
/// before); a configuration key's line a labelled line (`vendor.1.account=12345678`); `DDA`
/// names an account; X9 image cash letters read (`x9_37`: `binary` before); a tarred or
/// zipped `pg_dump -Fd` directory's tables read under their columns' names; Fedwire messages read
/// by their tags (`fedwire`: nothing counted before); 12 (2026-12-05): a worksheet without a
/// heading row (its first row holds a record's nine-digit number) weighs its columns' bare
/// nine-digit numbers as a headerless delimited table does (none counted before); legacy names
/// of SSN columns (`SOC_SEC_NO`, `SocSecNum`, `SSNO`, `SSAN`) name their numbers; 13
/// (2026-12-05): a headerless delimited table under a report's title is weighed as one without
/// it (its routing numbers counted by other means before, its accounts not); `A/C` names an
/// account (`A/C No` columns, `ABA 021000021 A/C 12345678`; nothing before); a table's routing
/// numbers and SSNs that lost their leading zero to a spreadsheet (`21000021` in a routing
/// column, `12345678` in an SSN column) count (nothing before); a headerless delimited table's
/// account number in the field right before its routing number counts (nothing before); in
/// markup and JSON a record named for an account names the number after its routing number's
/// (`"bankAccount":{"routing":…,"number":…}`; nothing before); 14 (2026-12-06): no class
/// counted differently, but each class's values sketched ([`crate::distinct`]): how many
/// differ, which a report sums over files, a workbook's columns' too (none before: `classify
/// run` adds them).
pub const RULES: u32 = 14;

/// What a file holds: counts per class and the bank formats it is in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classification {
    pub counts: Counts,
    /// How many different values of each class, as sketches ([`crate::distinct`]).
    pub distinct: crate::Distinct,
    pub formats: Vec<Format>,
    /// Matches of the tenant's own patterns, by pattern name (only those that matched).
    pub custom: std::collections::BTreeMap<String, u64>,
    /// The rules it was found under ([`RULES`]; 1 for a stored form that does not say).
    pub rules: u32,
}

/// What a [`Classification`] found, as it is shown: its counts, formats and patterns' counts,
/// and the distinct values' estimates without the sketches they come from (a few KiB a class:
/// a listing of a large directory holds one of these per file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub counts: Counts,
    /// [`Classification::distinct_counts`].
    pub distinct: Vec<(Class, u64)>,
    pub formats: Vec<Format>,
    pub custom: std::collections::BTreeMap<String, u64>,
    pub rules: u32,
}

/// Longest stored form accepted back ([`Classification::decode`]): the classes' sketches
/// (each at most [`crate::distinct::MAX_STORED_SKETCH`]) and 4 KiB for the rest.
pub const MAX_ENCODED: usize = 4096 + Class::ALL.len() * (crate::distinct::MAX_STORED_SKETCH + 48);

impl Classification {
    /// The same, said to be read in part (`scanned_in_part` last, once): a scan stopped
    /// before the file's end by its caller.
    pub fn read_in_part(mut self) -> Classification {
        if self.formats.last() != Some(&Format::ScannedInPart) {
            self.formats.push(Format::ScannedInPart);
        }
        self
    }

    /// What it found, as it is shown ([`Summary`]).
    pub fn summary(&self) -> Summary {
        Summary {
            counts: self.counts,
            distinct: self.distinct_counts().collect(),
            formats: self.formats.clone(),
            custom: self.custom.clone(),
            rules: self.rules,
        }
    }

    /// How many different values of each class present it holds, estimated
    /// ([`crate::distinct`]), for the classes whose every occurrence was sketched (a
    /// classification stored before rules 14 has no sketches).
    pub fn distinct_counts(&self) -> impl Iterator<Item = (Class, u64)> + '_ {
        self.counts
            .present()
            .filter(|&(class, n)| self.distinct.sketched(class) == n)
            .map(|(class, _)| (class, self.distinct.estimate(class)))
    }

    /// What of it says something could not be read (`binary`, an encryption, read in part),
    /// without its classes: what stands for a copy of contents counted elsewhere (an e-mail's
    /// other alternative, a workbook's pivot cache of its own sheet), whose unread parts
    /// still leave the whole a lower bound.
    pub(crate) fn unread_only(self) -> Classification {
        Classification {
            formats: self
                .formats
                .into_iter()
                .filter(|f| {
                    matches!(
                        f,
                        Format::Binary | Format::Encrypted(_) | Format::ScannedInPart
                    )
                })
                .collect(),
            ..Classification::default()
        }
    }

    /// The stored form: `class=count` and `format=name` items joined by `;`, in a fixed order,
    /// each class's sketch of its values with how many occurrences it was made of
    /// (`distinct.class=occurrences.sketch`), and the rules' version when not 1 (for example
    /// `card_number=12;distinct.card_number=12.s…;iban=3;format=iso20022:pain.001.001.09;rules=3`).
    pub fn encode(&self) -> String {
        let mut items: Vec<String> = Vec::new();
        for (c, n) in self.counts.present() {
            items.push(format!("{}={n}", c.as_str()));
            if let Some(sketch) = self.distinct.sketch(c) {
                items.push(format!(
                    "distinct.{}={}.{}",
                    c.as_str(),
                    self.distinct.sketched(c),
                    sketch.encode()
                ));
            }
        }
        items.extend(self.formats.iter().map(|f| format!("format={}", f.name())));
        items.extend(self.custom.iter().map(|(k, n)| format!("custom.{k}={n}")));
        if self.rules != 1 {
            items.push(format!("rules={}", self.rules));
        }
        items.join(";")
    }

    /// Reads the stored form back; `None` for anything [`Classification::encode`] does not
    /// write.
    pub fn decode(s: &str) -> Option<Classification> {
        if s.len() > MAX_ENCODED {
            return None;
        }
        let mut c = Classification {
            rules: 1,
            ..Classification::default()
        };
        for item in s.split(';').filter(|i| !i.is_empty()) {
            let (k, v) = item.split_once('=')?;
            if k == "rules" {
                c.rules = v.parse().ok()?;
            } else if k == "format" {
                c.formats.push(Format::parse(v)?);
            } else if let Some(class) = k.strip_prefix("distinct.") {
                let class = Class::parse(class)?;
                let (sketched, sketch) = v.split_once('.')?;
                let sketch = crate::distinct::Sketch::decode(sketch)?;
                c.distinct.restore(class, sketch, sketched.parse().ok()?);
            } else if let Some(name) = k.strip_prefix("custom.") {
                if !crate::patterns::valid_name(name) {
                    return None;
                }
                c.custom.insert(name.to_owned(), v.parse().ok()?);
            } else {
                c.counts.add(Class::parse(k)?, v.parse().ok()?);
            }
        }
        // A sketch is written only beside its class's count.
        let counted = |class: Class| c.distinct.sketch(class).is_none() || c.counts.get(class) > 0;
        Class::ALL.into_iter().all(counted).then_some(c)
    }
}
