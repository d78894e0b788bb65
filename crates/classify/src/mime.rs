//! E-mail messages with parts (MIME `multipart`, as an `.eml` file or a mail exported from a
//! client holds them), read as they stream, line by line: the message's headers and text are
//! scanned as text, and each part's body, decoded (base64, quoted-printable), is classified as
//! a file of its own (an attached extract, workbook or archive counts what it holds; base64
//! scanned as text finds nothing). What the parts hold is summed ([`crate::archive::Entries`]),
//! except a `multipart/alternative`'s: its alternatives are the same message written twice
//! (text and HTML, as every HTML e-mail is sent), and only the one that finds the most counts;
//! nested multiparts are followed to [`MAX_NESTING`] boundaries, and the parts' decoded bytes
//! draw on the file's budget. A message that breaks off inside a part is `scanned_in_part`.
//!
//! Pure: bytes in, what the parts hold out; a line is kept to [`MAX_LINE`] bytes (a longer one
//! is passed on in pieces), a header to [`MAX_HEADER`].

use std::sync::Arc;

use base64::Engine as _;

use crate::Format;
use crate::archive::Entries;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};

/// Most bytes of a line kept before it is passed on in pieces.
const MAX_LINE: usize = 64 << 10;
/// Most bytes of a part's headers kept (they name its type, its boundary and its encoding).
const MAX_HEADER: usize = 8 << 10;
/// Multiparts inside one another followed.
const MAX_NESTING: usize = 8;

/// base64 as mail writes it: padded or not, trailing bits tolerated.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The boundary of a message whose head (its first bytes) is a MIME message with parts: a
/// `MIME-Version` header and a `multipart` content type that names one, among the headers
/// before the first blank line.
pub(crate) fn magic(head: &[u8]) -> Option<Multipart> {
    // Every file's head is asked: most are told at once by their first line, which in a
    // message is a header (`Name:`, letters, digits and dashes before the colon).
    let name = head.iter().take(80).position(|&b| b == b':')?;
    if name == 0
        || !head[..name]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    let end = memchr::memmem::find(head, b"\n\n")
        .into_iter()
        .chain(memchr::memmem::find(head, b"\r\n\r\n"))
        .min()?;
    let headers = &head[..end];
    let lower = headers.to_ascii_lowercase();
    if !lower.starts_with(b"mime-version:")
        && memchr::memmem::find(&lower, b"\nmime-version:").is_none()
    {
        return None;
    }
    let (kind, boundary) = content_type(&unfold(headers));
    (kind != Kind::Other).then_some(Multipart {
        boundary: boundary?,
        alternative: kind == Kind::Alternative,
    })
}

/// A message with parts, as its head says: its boundary, and whether its parts are
/// alternatives (`multipart/alternative`: a text and an HTML message, nothing attached).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Multipart {
    pub(crate) boundary: Vec<u8>,
    pub(crate) alternative: bool,
}

/// Header lines joined where they continue on the next (folded).
fn unfold(headers: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len());
    let mut i = 0;
    while i < headers.len() {
        let b = headers[i];
        if (b == b'\r' || b == b'\n')
            && headers
                .get(i + 1 + usize::from(b == b'\r' && headers.get(i + 1) == Some(&b'\n')))
                .is_some_and(|&c| c == b' ' || c == b'\t')
        {
            // A folded line: the line end goes, the white space stays.
            i += 1 + usize::from(b == b'\r' && headers.get(i + 1) == Some(&b'\n'));
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `multipart/alternative`: the same content in several forms.
    Alternative,
    Multipart,
    Other,
}

/// What headers (unfolded) say of their content type: multipart or not, and its boundary.
fn content_type(headers: &[u8]) -> (Kind, Option<Vec<u8>>) {
    let Some(value) = header(headers, b"content-type") else {
        return (Kind::Other, None);
    };
    let lower = value.to_ascii_lowercase();
    let kind = if lower
        .trim_ascii_start()
        .starts_with(b"multipart/alternative")
    {
        Kind::Alternative
    } else if lower.trim_ascii_start().starts_with(b"multipart/") {
        Kind::Multipart
    } else {
        Kind::Other
    };
    let boundary = memchr::memmem::find(&lower, b"boundary=").map(|at| {
        let rest = &value[at + 9..];
        let rest = rest.trim_ascii_start();
        if let Some(quoted) = rest.strip_prefix(b"\"") {
            quoted
                .split(|&b| b == b'"')
                .next()
                .unwrap_or_default()
                .to_vec()
        } else {
            rest.split(|&b| b == b';' || b.is_ascii_whitespace())
                .next()
                .unwrap_or_default()
                .to_vec()
        }
    });
    (kind, boundary.filter(|b| !b.is_empty() && b.len() <= 200))
}

/// A header's value among `headers` (one per line, unfolded), by its name in small letters.
fn header<'a>(headers: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    headers.split(|&b| b == b'\n').find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(name)
            .then(|| line[colon + 1..].trim_ascii())
    })
}

/// How a part's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Plain,
    Base64,
    QuotedPrintable,
}

enum State {
    /// Before a multipart's first boundary, or after its last (its preamble and epilogue:
    /// the message's own headers and text are here too).
    Outside,
    /// A part's headers.
    Headers,
    /// A part's body.
    Body,
}

/// A part being read: its scanner, how its body is written, base64 characters short of a
/// group of four.
struct Part {
    scanner: Box<Scanner>,
    encoding: Encoding,
    pending: Vec<u8>,
    bytes: u64,
}

/// A `multipart/alternative` being read: the level of its boundary, the parts of the
/// alternative under way, the alternative that found the most so far (what it found in all,
/// its parts), and what the others could not read.
struct Alternatives {
    level: usize,
    current: Vec<(Classification, u64)>,
    best: Option<(u64, Vec<(Classification, u64)>)>,
    unread: Vec<Classification>,
}

impl Alternatives {
    fn new(level: usize) -> Self {
        Alternatives {
            level,
            current: Vec::new(),
            best: None,
            unread: Vec::new(),
        }
    }

    /// The alternative under way ended: kept if it found more than the best before it (the
    /// first of those that found as much); of the other, only what it could not read is
    /// kept (a picture, a part read in part: the message's classes stay a lower bound).
    fn alternative_ended(&mut self) {
        let parts = std::mem::take(&mut self.current);
        if parts.is_empty() {
            return;
        }
        let found: u64 = parts
            .iter()
            .map(|(c, _)| {
                c.counts.present().map(|(_, n)| n).sum::<u64>() + c.custom.values().sum::<u64>()
            })
            .sum();
        let dropped = if self.best.as_ref().is_none_or(|(most, _)| found > *most) {
            self.best.replace((found, parts)).map(|b| b.1)
        } else {
            Some(parts)
        };
        for (c, _) in dropped.into_iter().flatten() {
            let unread = c.unread_only();
            if !unread.formats.is_empty() {
                self.unread.push(unread);
            }
        }
    }

    /// The alternatives ended: the parts that count, with what the others could not read.
    fn parts(mut self) -> Vec<(Classification, u64)> {
        self.alternative_ended();
        let mut parts = self.best.map(|b| b.1).unwrap_or_default();
        parts.extend(self.unread.into_iter().map(|c| (c, 0)));
        parts
    }
}

/// A MIME message being read, chunk by chunk.
pub(crate) struct Mime {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    depth: u8,
    /// The boundaries of the multiparts the reader is in, innermost last (each with its
    /// leading `--`).
    boundaries: Vec<Vec<u8>>,
    state: State,
    /// The line being gathered, and the part's headers.
    line: Vec<u8>,
    headers: Vec<u8>,
    /// The message's own text (its headers, preambles): scanned as text; its bytes so far.
    text: Box<Scanner>,
    text_bytes: u64,
    part: Option<Part>,
    /// The alternatives the reader is in, innermost last.
    alternatives: Vec<Alternatives>,
    found: Entries,
    cut: bool,
}

impl Mime {
    pub(crate) fn new(
        multipart: Multipart,
        patterns: Option<Arc<Patterns>>,
        budget: Budget,
        depth: u8,
    ) -> Self {
        let boundary = multipart.boundary;
        // (The message's own text holds its headers: read as text, not as a message again.)
        let mut text = Scanner::with_patterns(patterns.clone());
        text.inside_archive(budget.clone(), crate::encoding::MAX_DEPTH);
        Mime {
            patterns,
            budget,
            depth,
            boundaries: vec![[b"--".as_slice(), &boundary].concat()],
            state: State::Outside,
            line: Vec::new(),
            headers: Vec::new(),
            text: Box::new(text),
            text_bytes: 0,
            part: None,
            alternatives: if multipart.alternative {
                vec![Alternatives::new(0)]
            } else {
                Vec::new()
            },
            found: Entries::default(),
            cut: false,
        }
    }

    /// What a part held: added to the message's, or to the alternative under way.
    fn add_part(&mut self, found: Classification, bytes: u64) {
        match self.alternatives.last_mut() {
            Some(alternatives) => alternatives.current.push((found, bytes)),
            None => self.found.add(found, bytes, false),
        }
    }

    /// The multiparts from `level` inward ended: an alternative's best counts (in the
    /// alternative around it, or the message).
    fn multiparts_ended(&mut self, level: usize) {
        while self.alternatives.last().is_some_and(|a| a.level >= level) {
            if let Some(alternatives) = self.alternatives.pop() {
                for (found, bytes) in alternatives.parts() {
                    self.add_part(found, bytes);
                }
            }
        }
    }

    /// Reads the next bytes of the message.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match memchr::memchr(b'\n', data) {
                Some(end) => {
                    self.gather(&data[..=end]);
                    let line = std::mem::take(&mut self.line);
                    self.read_line(&line, true);
                    self.line = line;
                    self.line.clear();
                    data = &data[end + 1..];
                }
                None => {
                    self.gather(data);
                    data = &[];
                }
            }
        }
    }

    /// Adds to the line being gathered; a line too long is passed on in pieces (a body's: a
    /// boundary is never so long).
    fn gather(&mut self, bytes: &[u8]) {
        self.line.extend_from_slice(bytes);
        if self.line.len() > MAX_LINE {
            let line = std::mem::take(&mut self.line);
            self.read_line(&line, false);
            self.line = line;
            self.line.clear();
        }
    }

    /// One line (`whole`: with its line end; else a long line's piece).
    fn read_line(&mut self, line: &[u8], whole: bool) {
        let bare = line.trim_ascii_end();
        if whole
            && bare.starts_with(b"--")
            && let Some(at) = self.boundaries.iter().rposition(|b| bare.starts_with(b))
        {
            let rest = &bare[self.boundaries[at].len()..];
            if rest.is_empty() || rest == b"--" {
                self.end_part();
                // Multiparts inside this one that did not close, close with it.
                self.multiparts_ended(at + 1);
                self.boundaries.truncate(at + 1);
                if let Some(a) = self.alternatives.last_mut().filter(|a| a.level == at) {
                    a.alternative_ended();
                }
                if rest == b"--" {
                    self.multiparts_ended(at);
                    self.boundaries.pop();
                    self.state = State::Outside;
                } else {
                    self.state = State::Headers;
                    self.headers.clear();
                }
                return;
            }
        }
        match self.state {
            State::Outside => {
                self.text.feed(line);
                self.text_bytes += line.len() as u64;
            }
            State::Headers => {
                if bare.is_empty() && whole {
                    self.begin_part();
                } else {
                    let room = MAX_HEADER.saturating_sub(self.headers.len());
                    self.headers
                        .extend_from_slice(&line[..line.len().min(room)]);
                }
            }
            State::Body => self.body(line),
        }
    }

    /// A part's headers ended: a multipart inside (its boundary followed), or a body.
    fn begin_part(&mut self) {
        let headers = unfold(&self.headers);
        let (kind, boundary) = content_type(&headers);
        if kind != Kind::Other
            && let Some(boundary) = boundary
        {
            if self.boundaries.len() < MAX_NESTING {
                if kind == Kind::Alternative {
                    self.alternatives
                        .push(Alternatives::new(self.boundaries.len()));
                }
                self.boundaries.push([b"--".as_slice(), &boundary].concat());
            } else {
                self.cut = true;
            }
            self.state = State::Outside;
            return;
        }
        // Each part is an entry of the file's budget: past it, a part's body is passed over.
        self.state = State::Body;
        if !self.budget.entry() {
            self.cut = true;
            return;
        }
        let encoding = match header(&headers, b"content-transfer-encoding") {
            Some(e) if e.eq_ignore_ascii_case(b"base64") => Encoding::Base64,
            Some(e) if e.eq_ignore_ascii_case(b"quoted-printable") => Encoding::QuotedPrintable,
            _ => Encoding::Plain,
        };
        let mut scanner = Scanner::with_patterns(self.patterns.clone());
        scanner.inside_archive(self.budget.clone(), self.depth);
        self.part = Some(Part {
            scanner: Box::new(scanner),
            encoding,
            pending: Vec::new(),
            bytes: 0,
        });
    }

    /// A line of a part's body, decoded to its scanner within the file's budget.
    fn body(&mut self, line: &[u8]) {
        let Some(part) = self.part.as_mut() else {
            return;
        };
        let decoded = match part.encoding {
            Encoding::Plain => line.to_vec(),
            Encoding::QuotedPrintable => quoted_printable(line),
            Encoding::Base64 => {
                part.pending
                    .extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
                let whole = part.pending.len() / 4 * 4;
                let mut out = Vec::with_capacity(whole / 4 * 3);
                if BASE64.decode_vec(&part.pending[..whole], &mut out).is_err() {
                    self.cut = true;
                }
                part.pending.drain(..whole);
                out
            }
        };
        let n = self.budget.bytes(decoded.len() as u64) as usize;
        part.scanner.feed(&decoded[..n]);
        part.bytes += n as u64;
        self.cut |= n < decoded.len();
    }

    /// The part under way ended: what it holds is added.
    fn end_part(&mut self) {
        if let Some(mut part) = self.part.take() {
            if part.encoding == Encoding::Base64 && !part.pending.is_empty() {
                let mut out = Vec::new();
                if BASE64.decode_vec(&part.pending, &mut out).is_ok() {
                    let n = self.budget.bytes(out.len() as u64) as usize;
                    part.scanner.feed(&out[..n]);
                    part.bytes += n as u64;
                }
            }
            let found = part.scanner.finish();
            self.add_part(found, part.bytes);
        }
    }

    /// The end of the message: what its text and parts hold.
    pub(crate) fn finish(mut self) -> Classification {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.read_line(&line, true);
        }
        // Broken off inside a part or a multipart: what came of it counts, the rest is
        // unknown.
        self.cut |= !self.boundaries.is_empty();
        self.end_part();
        self.multiparts_ended(0);
        let text = self.text.finish();
        self.found.add(text, self.text_bytes, false);
        self.found.finish(Format::Mime, self.cut)
    }

    /// About how much memory it keeps between chunks: a line, a part's headers, its scanners.
    pub(crate) fn held_bytes(&self) -> usize {
        use crate::encoding::held;
        held(&self.line)
            + held(&self.headers)
            + self.text.held_bytes()
            + self
                .part
                .as_ref()
                .map_or(0, |p| p.scanner.held_bytes() + held(&p.pending))
    }
}

/// A quoted-printable line decoded: `=XX` a byte, `=` at the end a soft line break.
fn quoted_printable(line: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'=' {
            if line[i + 1..].trim_ascii().is_empty() {
                break; // soft line break: the line goes on in the next
            }
            if let (Some(h), Some(l)) = (
                line.get(i + 1).copied().and_then(hex),
                line.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::in_chunks;
    use crate::scan::{Class, classify};

    fn base64_lines(bytes: &[u8]) -> String {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        encoded
            .as_bytes()
            .chunks(76)
            .map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap()))
            .collect()
    }

    /// A message as a mail client writes one: text, an attached extract in base64, a nested
    /// multipart with an HTML part in quoted-printable.
    fn message(attachment: &[u8]) -> Vec<u8> {
        format!(
            "From: ops@bank.example\r\nTo: partner@example.com\r\nSubject: Extract\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"==outer==\"\r\n\r\n\
             This is a multi-part message in MIME format.\r\n\
             --==outer==\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n\
             --inner\r\nContent-Type: text/plain\r\n\r\nThe extract is attached.\r\n\
             --inner\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
             <p>Card on file: 4111 1111 1111 1111 =\r\n(test)</p>=3D\r\n\
             --inner--\r\n\
             --==outer==\r\nContent-Type: text/csv; name=\"customers.csv\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"customers.csv\"\r\n\r\n{}\
             --==outer==--\r\n",
            base64_lines(attachment)
        )
        .into_bytes()
    }

    const EXTRACT: &[u8] = b"name,card_number,ssn\nA,4111111111111111,123-45-6789\nB,5555555555554444,234-56-7890\nC,4012888888881881,345-67-8901\nD,378282246310005,456-78-9012\n";

    #[test]
    fn parts_count_as_files_whatever_the_chunks() {
        let mail = message(EXTRACT);
        let found = classify(&mail);
        // The attachment's four cards and four SSNs, the HTML part's printed card (its line
        // joined to the next); the headers' two addresses.
        assert_eq!(found.counts.get(Class::CardNumber), 5, "{found:?}");
        assert_eq!(found.counts.get(Class::UsSsn), 4, "{found:?}");
        assert_eq!(found.counts.get(Class::Email), 2, "{found:?}");
        assert_eq!(found.formats, vec![Format::AccountTable, Format::Mime]);
        for size in [1, 2, 7, 77, 4096] {
            assert_eq!(in_chunks(&mail, size), found, "chunks of {size}");
        }
        // Broken off in the attachment: what came of it, and said.
        let cut = classify(&mail[..mail.len() - 60]);
        assert!(cut.formats.contains(&Format::ScannedInPart), "{cut:?}");
        // A message of one part, or a text that only looks like headers: text.
        let plain =
            classify(b"From: a@b.example\r\nSubject: hi\r\n\r\ncard 4111 1111 1111 1111\r\n");
        assert_eq!(plain.counts.get(Class::CardNumber), 1);
        assert!(plain.formats.is_empty());
    }

    /// A message's text written twice, as every HTML e-mail is sent (`multipart/alternative`:
    /// text, then HTML with its pictures in a `multipart/related`): what it holds counts once,
    /// the alternative that finds the most (the HTML's table here); an attachment beside them
    /// counts; a picture of the HTML's, not read, leaves the message read in part.
    #[test]
    fn alternatives_count_once() {
        let text = "Card 4111 1111 1111 1111, SSN 123-45-6789.\r\n";
        let html = "<p>Card 4111 1111 1111 1111, SSN 123-45-6789.</p>\r\n";
        let alone = format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n\
             --alt\r\nContent-Type: text/plain\r\n\r\n{text}\
             --alt\r\nContent-Type: text/html\r\n\r\n{html}--alt--\r\n"
        );
        let found = classify(alone.as_bytes());
        assert_eq!(found.counts.get(Class::CardNumber), 1, "{found:?}");
        assert_eq!(found.counts.get(Class::UsSsn), 1, "{found:?}");
        for size in [1, 3, 50] {
            assert_eq!(in_chunks(alone.as_bytes(), size), found, "chunks of {size}");
        }
        let table = "<table><tr><th>SSN</th></tr><tr><td>123456789</td></tr></table>\r\n";
        let mail = format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n\r\n\
             --mix\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n\
             --alt\r\nContent-Type: text/plain\r\n\r\n{text}\
             --alt\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n\
             --rel\r\nContent-Type: text/html\r\n\r\n{html}{table}\
             --rel\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             iVBORw0KGgoAAAANSUhEUgAAAAEAAAABAQAAAAA3bvkkAAAACklEQVR4AWNgAAAAAgABc3UBGAAAAABJRU5ErkJggg==\r\n\
             --rel--\r\n--alt--\r\n\
             --mix\r\nContent-Type: text/csv\r\n\r\nname,card_number\r\nA,5555555555554444\r\n\
             --mix--\r\n"
        );
        let found = classify(mail.as_bytes());
        assert_eq!(found.counts.get(Class::CardNumber), 2, "{found:?}");
        assert_eq!(found.counts.get(Class::UsSsn), 2, "{found:?}");
        assert!(found.formats.contains(&Format::ScannedInPart), "{found:?}");
        for size in [1, 7, 64] {
            assert_eq!(in_chunks(mail.as_bytes(), size), found, "chunks of {size}");
        }
    }

    /// Texts a part holds.
    const TEXTS: [&[u8]; 4] = [
        b"card 4111 1111 1111 1111\n",
        b"name,card_number\nA,4111111111111111\nB,5555555555554444\n",
        b"SSN 123-45-6789, mail ann@bank.example\n",
        b"nothing here\n",
    ];

    /// A part: its text, written plain, in base64 or quoted-printable.
    fn any_part() -> impl proptest::strategy::Strategy<Value = (Vec<u8>, Vec<u8>)> {
        use proptest::prelude::*;
        (proptest::collection::vec(0..TEXTS.len(), 1..4), 0..3u8).prop_map(|(t, how)| {
            let text: Vec<u8> = t.iter().flat_map(|&i| TEXTS[i].to_vec()).collect();
            let (encoding, body) = match how {
                0 => ("7bit", text.clone()),
                1 => ("base64", base64_lines(&text).into_bytes()),
                _ => (
                    "quoted-printable",
                    text.iter()
                        .flat_map(|&b| if b == b'=' { b"=3D".to_vec() } else { vec![b] })
                        .collect(),
                ),
            };
            let mut part = format!(
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
            )
            .into_bytes();
            part.extend(body);
            (text, part)
        })
    }

    proptest::proptest! {
        /// Whatever its parts and however it is cut into chunks, a message counts what it
        /// counts read whole, and what its parts' texts count alone, together.
        #[test]
        fn chunks_change_nothing_and_parts_count_as_alone(
            parts in proptest::collection::vec(any_part(), 1..6),
            cut in 1usize..300,
        ) {
            let mut mail = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n".to_vec();
            let mut alone = crate::Counts::default();
            for (text, part) in &parts {
                mail.extend(b"--zz\r\n");
                mail.extend(part);
                mail.extend(b"\r\n");
                for (class, n) in classify(text).counts.present() {
                    alone.add(class, n);
                }
            }
            mail.extend(b"--zz--\r\n");
            let whole = classify(&mail);
            proptest::prop_assert_eq!(&in_chunks(&mail, cut), &whole);
            proptest::prop_assert_eq!(whole.counts, alone);
        }
    }

    #[test]
    fn headers_and_encodings_are_read_as_mail_writes_them() {
        assert_eq!(
            magic(b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=abc\n\nx")
                .map(|m| m.boundary),
            Some(b"abc".to_vec())
        );
        assert_eq!(
            magic(b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: Multipart/Related;\r\n\tboundary=\"a b\"; type=x\r\n\r\n").map(|m| m.boundary),
            Some(b"a b".to_vec())
        );
        assert_eq!(
            magic(b"MIME-Version: 1.0\nContent-Type: text/plain\n\nx"),
            None
        );
        assert_eq!(
            magic(b"Content-Type: multipart/mixed; boundary=abc\n\nx"),
            None
        );
        assert_eq!(
            magic(b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=abc"),
            None
        );
        assert_eq!(quoted_printable(b"a=3Db=\r\n"), b"a=b");
        // More parts than the file's budget has entries: the rest passed over, and said.
        let mut many = b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n".to_vec();
        for _ in 0..3 {
            many.extend(b"--b\nContent-Type: text/plain\n\ncard 4111 1111 1111 1111\n");
        }
        many.extend(b"--b--\n");
        let multipart = Multipart {
            boundary: b"b".to_vec(),
            alternative: false,
        };
        let mut mime = Mime::new(multipart, None, Budget::with(u64::MAX, 2), 0);
        mime.feed(&many);
        let found = mime.finish();
        assert_eq!(found.counts.get(Class::CardNumber), 2);
        assert!(found.formats.contains(&Format::ScannedInPart));
        assert_eq!(
            quoted_printable(b"caf=C3=A9 =ZZ\r\n"),
            "café =ZZ\r\n".as_bytes()
        );
    }
}
