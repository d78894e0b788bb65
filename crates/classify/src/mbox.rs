//! Mailboxes in the mbox format (`.mbox`: Thunderbird's folders, Google Takeout's and `mutt`'s
//! exports, what an archiving or e-discovery export hands over): messages one after another,
//! each begun by a `From ` line at a line's start (writers escape such lines in a body as
//! `>From `). Each message is classified as a file of its own, so that a message with parts is
//! read as [`crate::mime`] reads one (its attachments decoded and classified), and what the
//! messages hold is summed ([`crate::archive::Entries`]); each message is one of the file's
//! archives' entries ([`crate::encoding::MAX_ENTRIES`]).
//!
//! Pure: bytes in, what the messages hold out; nothing is kept but the first bytes of a line
//! (to tell a `From ` line) and the message under way's scanner.

use std::sync::Arc;

use crate::Format;
use crate::archive::Entries;
use crate::encoding::Budget;
use crate::patterns::Patterns;
use crate::scan::{Classification, Scanner};

/// What begins a message.
const FROM: &[u8] = b"From ";

/// Whether `head` (a file's first bytes) is a mailbox: a `From ` line, then a header line
/// (`Name:`, letters, digits and dashes before the colon).
pub(crate) fn magic(head: &[u8]) -> bool {
    if !head.starts_with(FROM) {
        return false;
    }
    let Some(end) = head.iter().take(1024).position(|&b| b == b'\n') else {
        return false;
    };
    let next = &head[end + 1..];
    let Some(name) = next.iter().take(80).position(|&b| b == b':') else {
        return false;
    };
    name > 0
        && next[..name]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A mailbox being read, chunk by chunk.
pub(crate) struct Mbox {
    patterns: Option<Arc<Patterns>>,
    budget: Budget,
    /// How deep in archives the mailbox is (its messages one deeper).
    depth: u8,
    /// The message under way, and its bytes so far.
    message: Option<(Box<Scanner>, u64)>,
    /// At a line's start: its first bytes, until there are enough to tell a `From ` line.
    start: Option<Vec<u8>>,
    /// Inside a `From ` line (not a message's bytes).
    from_line: bool,
    found: Entries,
    /// Messages beyond the budget were not read.
    cut: bool,
}

impl Mbox {
    pub(crate) fn new(patterns: Option<Arc<Patterns>>, budget: Budget, depth: u8) -> Self {
        Mbox {
            patterns,
            budget,
            depth,
            message: None,
            start: Some(Vec::with_capacity(FROM.len())),
            from_line: false,
            found: Entries::default(),
            cut: false,
        }
    }

    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.from_line {
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        data = &data[i + 1..];
                        self.from_line = false;
                        self.begin();
                        self.start = Some(Vec::with_capacity(FROM.len()));
                    }
                    None => return,
                }
                continue;
            }
            if let Some(start) = self.start.as_mut() {
                // The line's first bytes: held until they tell whether it begins a message.
                let line_end = data
                    .iter()
                    .take(FROM.len() - start.len())
                    .position(|&b| b == b'\n');
                let take = line_end.map_or((FROM.len() - start.len()).min(data.len()), |i| i + 1);
                start.extend_from_slice(&data[..take]);
                data = &data[take..];
                if start.as_slice() == FROM {
                    self.start = None;
                    self.end();
                    self.from_line = true;
                    continue;
                }
                if start.len() < FROM.len() && line_end.is_none() {
                    return;
                }
                let held = self.start.take().unwrap_or_default();
                self.pass(&held);
                if line_end.is_some() {
                    self.start = Some(Vec::with_capacity(FROM.len()));
                }
                continue;
            }
            // The rest of the line.
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    self.pass(&data[..=i]);
                    data = &data[i + 1..];
                    self.start = Some(Vec::with_capacity(FROM.len()));
                }
                None => {
                    self.pass(data);
                    return;
                }
            }
        }
    }

    /// A new message: one more of the file's entries, while the budget lasts.
    fn begin(&mut self) {
        if !self.budget.entry() {
            self.cut = true;
            return;
        }
        let mut s = Scanner::with_patterns(self.patterns.clone());
        s.inside_archive(self.budget.clone(), self.depth);
        self.message = Some((Box::new(s), 0));
    }

    /// A message's bytes (none before the first `From ` line's end, or beyond the budget).
    fn pass(&mut self, bytes: &[u8]) {
        if let Some((scanner, n)) = self.message.as_mut() {
            scanner.feed(bytes);
            *n += bytes.len() as u64;
        }
    }

    /// The message under way ends: what it holds counts.
    fn end(&mut self) {
        if let Some((scanner, n)) = self.message.take() {
            self.found.add(scanner.finish(), n, false);
        }
    }

    pub(crate) fn held_bytes(&self) -> usize {
        self.message.as_ref().map_or(0, |(s, _)| s.held_bytes()) + 64
    }

    /// The end of the mailbox: its last message ends with it.
    pub(crate) fn finish(mut self) -> Classification {
        if let Some(held) = self.start.take() {
            self.pass(&held);
        }
        // A `From ` line the file ends in begins no message.
        self.end();
        self.found.finish(Format::Mbox, self.cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::scan::{classify, in_chunks};

    const CSV: &str = "name,card,iban\nAnn,4111111111111111,GB82WEST12345698765432\nBob,5555555555554444,DE89370400440532013000\n";

    /// A mailbox of three messages as a mail client writes one: a note whose body escapes a
    /// `From ` line, a message with an extract attached (base64), a reply.
    fn mailbox() -> Vec<u8> {
        use base64::Engine as _;
        let attached = base64::engine::general_purpose::STANDARD.encode(CSV);
        let mut m = String::new();
        m += "From alice@bank.example Thu Dec  3 10:00:00 2026\n";
        m += "From: alice@bank.example\nTo: bob@bank.example\nSubject: note\n\n";
        m += "Card 4012888888881881 on file.\n>From the desk of Alice\n\n";
        m += "From alice@bank.example Thu Dec  3 10:05:00 2026\n";
        m += "From: alice@bank.example\nMIME-Version: 1.0\n";
        m += "Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nSee attached.\n";
        m += "--b1\nContent-Type: text/csv\nContent-Disposition: attachment; filename=\"x.csv\"\n";
        m += "Content-Transfer-Encoding: base64\n\n";
        m += &attached;
        m += "\n--b1--\n\n";
        m += "From bob@bank.example Thu Dec  3 11:00:00 2026\n";
        m += "From: bob@bank.example\nSubject: Re: note\n\nThanks.\n";
        m.into_bytes()
    }

    #[test]
    fn each_message_counts_as_a_file_of_its_own_in_any_chunks() {
        let mbox = mailbox();
        assert!(magic(&mbox));
        let found = classify(&mbox);
        assert_eq!(found.counts.get(Class::CardNumber), 3, "{found:?}");
        assert_eq!(found.counts.get(Class::Iban), 2);
        assert_eq!(
            found.formats,
            vec![Format::AccountTable, Format::Mime, Format::Mbox]
        );
        for size in [1, 2, 5, 6, 7, 64, 4096] {
            assert_eq!(in_chunks(&mbox, size), found, "chunks of {size}");
        }
        // Within the file's entries: the first message only, the mailbox read in part.
        let mut s = Scanner::new();
        s.inside_archive(Budget::with(1 << 20, 1), 0);
        s.feed(&mbox);
        let first = s.finish();
        assert_eq!(first.counts.get(Class::CardNumber), 1);
        assert!(first.formats.contains(&Format::ScannedInPart));
        // A letter that begins `From ` is no mailbox.
        assert!(!magic(b"From the desk of Alice: card 4111111111111111\n"));
    }

    proptest::proptest! {
        /// Any mailbox of any lines, in any chunks: the same verdict.
        #[test]
        fn any_lines_in_any_chunks(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("From x Thu Dec  3 10:00:00 2026".to_owned()),
                    proptest::strategy::Just("Subject: card 4111111111111111".to_owned()),
                    "[ -~]{0,20}",
                ],
                0..40,
            ),
            size in 1usize..16,
        ) {
            let mut text = "From a Thu Dec  3 10:00:00 2026\nFrom: a\n".to_owned();
            for l in lines {
                text += &l;
                text.push('\n');
            }
            let whole = classify(text.as_bytes());
            proptest::prop_assert_eq!(in_chunks(text.as_bytes(), size), whole);
        }
    }
}
