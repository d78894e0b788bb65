//! Outlook messages (`.msg`, [MS-OXMSG]): a compound file ([`crate::compound`], kept whole to
//! 32 MiB and read at its end) whose storages hold a message's properties, each string or
//! binary property a stream named for its tag (`__substg1.0_` and its id and type in hex). The
//! message's subject, its sender's and recipients' addresses and its body (its text; else its
//! HTML, read as a page) are classified as one text; each attachment's data as a file of its
//! own, and an attached message as a message (to [`MAX_NESTED`] deep); what they hold is summed
//! ([`crate::archive::Entries`]), `msg` beside the formats. A body kept only as compressed RTF
//! is not read: the message is then `scanned_in_part`.
//!
//! Pure: the compound file's streams in, what they hold out; the storages' tree is walked by
//! [`crate::compound::Compound::children`], each entry at most once.

use std::sync::Arc;

use crate::Format;
use crate::archive::Entries;
use crate::compound::Compound;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};

/// Messages attached inside messages followed.
const MAX_NESTED: u8 = 3;
/// What a property stream's name begins with.
const PROPERTY: &[u8] = b"__substg1.0_";

const SUBJECT: u16 = 0x0037;
const BODY: u16 = 0x1000;
const RTF_COMPRESSED: u16 = 0x1009;
const HTML: u16 = 0x1013;
const SENDER_ADDRESS: u16 = 0x0C1F;
const SENDER_SMTP: u16 = 0x5D01;
const RECIPIENT_ADDRESS: u16 = 0x3003;
const RECIPIENT_SMTP: u16 = 0x39FE;
const ATTACHMENT_DATA: u16 = 0x3701;

/// A property's types: a string of UTF-16 or of 8-bit characters, bytes, an object (an
/// attached message's storage).
const UNICODE: u16 = 0x001F;
const STRING8: u16 = 0x001E;
const BINARY: u16 = 0x0102;
const OBJECT: u16 = 0x000D;

/// Whether a compound file is an Outlook message: it holds property streams.
pub(crate) fn is_message(file: &Compound) -> bool {
    file.any_name(|name| name.starts_with(PROPERTY) || name == b"__properties_version1.0")
}

/// What the message in `file` holds (`cut`: the file was not kept whole; `layers`: what the
/// file's layers may still read, and how deep in them the message is).
pub(crate) fn read(
    file: &Compound,
    cut: bool,
    patterns: Option<Arc<Patterns>>,
    layers: (Budget, u8),
) -> Classification {
    let (budget, depth) = layers;
    file.walks_begin();
    let mut reader = Reader {
        file,
        patterns,
        budget,
        depth,
        found: Entries::default(),
        cut,
    };
    reader.message(0, 0);
    let Reader { found, cut, .. } = reader;
    found.finish(Format::Msg, cut)
}

/// A property stream's tag (id and type), from its name.
fn property(name: &[u8]) -> Option<(u16, u16)> {
    let hex = name.strip_prefix(PROPERTY)?;
    let tag = u32::from_str_radix(std::str::from_utf8(hex.get(..8)?).ok()?, 16).ok()?;
    Some(((tag >> 16) as u16, tag as u16))
}

/// A string property's characters as UTF-8 (an 8-bit string's bytes as they are).
fn text(kind: u16, bytes: &[u8]) -> Vec<u8> {
    if kind != UNICODE {
        return bytes.to_vec();
    }
    let units = bytes
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .into_bytes()
}

struct Reader<'a, 'b> {
    file: &'a Compound<'b>,
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    /// The message's layer in the file.
    depth: u8,
    found: Entries,
    cut: bool,
}

impl Reader<'_, '_> {
    /// A stream's bytes: as far as they were kept (a stream cut leaves the message read in
    /// part).
    fn stream(&mut self, i: usize) -> Vec<u8> {
        let (bytes, whole) = self.file.read(i).unwrap_or_default();
        self.cut |= !whole;
        bytes
    }

    /// A file's bytes (`nested`: in an attached message that deep) classified by a scanner of
    /// its own, one layer deeper than the message, within the file's budget.
    fn classify(&mut self, bytes: &[u8], nested: u8) {
        let mut scanner = Scanner::with_patterns(self.patterns.clone());
        scanner.inside_archive(self.budget.clone(), self.depth.saturating_add(nested));
        scanner.feed(bytes);
        self.found.add(scanner.finish(), bytes.len() as u64, false);
    }

    /// The message whose properties are the storage `storage`'s.
    fn message(&mut self, storage: usize, depth: u8) {
        let (mut subject, mut body, mut html) = (Vec::new(), None, None);
        let (mut smtp, mut address) = (None, None);
        let mut rtf = false;
        let mut recipients = Vec::new();
        let mut attachments = Vec::new();
        for i in self.file.children(storage) {
            let name = self.file.name(i);
            if self.file.is_storage(i) {
                if name.starts_with(b"__recip_version1.0_") {
                    recipients.push(i);
                } else if name.starts_with(b"__attach_version1.0_") {
                    attachments.push(i);
                }
                continue;
            }
            let Some((id, kind)) = property(name) else {
                continue;
            };
            let string = matches!(kind, UNICODE | STRING8);
            match id {
                SUBJECT if string => subject = text(kind, &self.stream(i)),
                BODY if string => body = Some(text(kind, &self.stream(i))),
                HTML if string => html = Some(text(kind, &self.stream(i))),
                HTML if kind == BINARY => html = Some(self.stream(i)),
                RTF_COMPRESSED => rtf = true,
                SENDER_SMTP if string => smtp = Some(text(kind, &self.stream(i))),
                SENDER_ADDRESS if string => address = Some(text(kind, &self.stream(i))),
                _ => {}
            }
        }
        // The message's text: its subject, its sender's and recipients' addresses (each once:
        // its SMTP address, else its address where it is one), its body.
        let mut message = b"Subject: ".to_vec();
        message.extend_from_slice(&subject);
        message.push(b'\n');
        let mut addresses = vec![self.address(smtp, address)];
        for r in recipients {
            let (mut smtp, mut address) = (None, None);
            for i in self.file.children(r) {
                match property(self.file.name(i)) {
                    Some((RECIPIENT_SMTP, kind @ (UNICODE | STRING8))) => {
                        smtp = Some(text(kind, &self.stream(i)));
                    }
                    Some((RECIPIENT_ADDRESS, kind @ (UNICODE | STRING8))) => {
                        address = Some(text(kind, &self.stream(i)));
                    }
                    _ => {}
                }
            }
            addresses.push(self.address(smtp, address));
        }
        for a in addresses.into_iter().flatten() {
            message.extend_from_slice(b"Address: ");
            message.extend_from_slice(&a);
            message.push(b'\n');
        }
        message.push(b'\n');
        match (body, html) {
            (Some(body), _) => message.extend_from_slice(&body),
            // Only HTML: read as a page, a file of its own.
            (None, Some(html)) => self.classify(&html, depth),
            (None, None) => self.cut |= rtf,
        }
        self.classify(&message, depth);
        for a in attachments {
            self.attachment(a, depth);
        }
    }

    /// An address: the SMTP one, else the other where it is an e-mail address (an Exchange
    /// one, `/O=EXCHANGE/…`, is not).
    fn address(&self, smtp: Option<Vec<u8>>, address: Option<Vec<u8>>) -> Option<Vec<u8>> {
        smtp.filter(|a| !a.is_empty())
            .or(address.filter(|a| a.contains(&b'@')))
    }

    /// An attachment: its data a file of its own, or an attached message.
    fn attachment(&mut self, storage: usize, depth: u8) {
        for i in self.file.children(storage) {
            match property(self.file.name(i)) {
                Some((ATTACHMENT_DATA, BINARY)) if !self.file.is_storage(i) => {
                    let data = self.stream(i);
                    if self.budget.entry() {
                        self.classify(&data, depth);
                    } else {
                        self.cut = true;
                    }
                }
                Some((ATTACHMENT_DATA, OBJECT)) if self.file.is_storage(i) => {
                    if depth + 1 < MAX_NESTED {
                        self.message(i, depth + 1);
                    } else {
                        self.cut = true;
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compound::tests::compound;
    use crate::scan::{Class, classify};

    fn unicode(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// A message as Outlook saves one: its subject, body (and its HTML and RTF forms beside
    /// it), its sender's and two recipients' addresses (one of them Exchange's, with its SMTP
    /// address beside it), an attached extract and an attached message.
    fn message() -> Vec<u8> {
        let body = unicode("Please pay card 4111 1111 1111 1111 today. SSN 123-45-6789.\r\n");
        let html = b"<html><body><p>Please pay card 4111 1111 1111 1111 today. SSN 123-45-6789.</p></body></html>".to_vec();
        let extract = b"name,card_number\nA,5555555555554444\nB,4012888888881881\n".to_vec();
        let inner_body = unicode("Our IBAN is DE89370400440532013000.");
        let streams: Vec<(&str, Vec<u8>)> = vec![
            ("__properties_version1.0", vec![0; 32]),
            ("__substg1.0_0037001F", unicode("Card to pay")),
            ("__substg1.0_1000001F", body),
            ("__substg1.0_10130102", html),
            ("__substg1.0_10090102", vec![1, 2, 3]),
            ("__substg1.0_5D01001F", unicode("ops@bank.example")),
            ("__substg1.0_0C1F001F", unicode("ops@bank.example")),
            (
                "__recip_version1.0_#00000000/__substg1.0_3003001F",
                unicode("ann@vendor.example"),
            ),
            (
                "__recip_version1.0_#00000001/__substg1.0_3003001F",
                unicode("/O=EXCHANGE/OU=FIRST/CN=BOB"),
            ),
            (
                "__recip_version1.0_#00000001/__substg1.0_39FE001F",
                unicode("bob@bank.example"),
            ),
            (
                "__attach_version1.0_#00000000/__substg1.0_3707001F",
                unicode("extract.csv"),
            ),
            (
                "__attach_version1.0_#00000000/__substg1.0_37010102",
                extract,
            ),
            (
                "__attach_version1.0_#00000001/__substg1.0_3701000D/__properties_version1.0",
                vec![0; 24],
            ),
            (
                "__attach_version1.0_#00000001/__substg1.0_3701000D/__substg1.0_1000001F",
                inner_body,
            ),
        ];
        let streams: Vec<(&str, &[u8])> = streams.iter().map(|(n, d)| (*n, d.as_slice())).collect();
        compound(&streams)
    }

    #[test]
    fn a_message_counts_its_text_addresses_and_attachments() {
        let msg = message();
        for size in [1, 7, 512, 1 << 20] {
            let found = crate::scan::in_chunks(&msg, size);
            // The body's card and SSN (its HTML, the same text, not read), the extract's two
            // cards, the attached message's IBAN; the sender's and the recipients' addresses,
            // each once.
            assert_eq!(found.counts.get(Class::CardNumber), 3, "{found:?}");
            assert_eq!(found.counts.get(Class::UsSsn), 1, "{found:?}");
            assert_eq!(found.counts.get(Class::Iban), 1, "{found:?}");
            assert_eq!(found.counts.get(Class::Email), 3, "{found:?}");
            assert_eq!(
                found.formats,
                vec![Format::AccountTable, Format::Msg],
                "{size}"
            );
        }
    }

    /// Its attachments draw on the file's budget (a message in an archive of many, each with a
    /// compressed attachment, reads no more than the archive may).
    #[test]
    fn attachments_draw_on_the_files_budget() {
        let notes = "card 4111 1111 1111 1111\n".repeat(400);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, notes.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let bytes = compound(&[
            ("__properties_version1.0", &[0; 32]),
            ("__substg1.0_1000001F", &unicode("See attached.")),
            ("__attach_version1.0_#00000000/__substg1.0_37010102", &gz),
        ]);
        let file = Compound::open(&bytes).unwrap();
        let whole = read(&file, false, None, (Budget::new(), 0));
        assert_eq!(whole.counts.get(Class::CardNumber), 400);
        let part = read(&file, false, None, (Budget::with(5000, 10), 0));
        assert!(part.counts.get(Class::CardNumber) < 400, "{part:?}");
        assert!(part.formats.contains(&Format::ScannedInPart), "{part:?}");
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        // A body kept only as compressed RTF.
        let rtf = compound(&[
            ("__properties_version1.0", &[0; 32]),
            ("__substg1.0_0037001F", &unicode("Hi")),
            ("__substg1.0_10090102", &[1, 2, 3]),
        ]);
        let found = classify(&rtf);
        assert_eq!(found.formats, vec![Format::Msg, Format::ScannedInPart]);
        // Only HTML: read as a page.
        let html = compound(&[
            ("__properties_version1.0", &[0; 32]),
            ("__substg1.0_10130102", b"<html><body><table><tr><th>Name</th><th>SSN</th></tr><tr><td>Ann</td><td>123456789</td></tr></table></body></html>"),
        ]);
        let found = classify(&html);
        assert_eq!(found.counts.get(Class::UsSsn), 1, "{found:?}");
        assert!(found.formats.contains(&Format::Msg));
        assert_eq!(property(b"__substg1.0_3701000D"), Some((0x3701, OBJECT)));
        assert_eq!(property(b"__substg1.0_37"), None);
        assert_eq!(property(b"__nameid_version1.0"), None);
    }
}
