//! The scanner's search for the US account number beside a routing number that counted
//! (after it, else before it; in a table's row, a fixed-width line, markup's next element, labelled
//! lines), carried from one text to the next, and what it carries. The rules of what may stand
//! between them are [`crate::account`]'s; here they are applied to the scanner's text. Never
//! here: whether the routing number counts.

use super::keywords::word_context;
use super::{ACCOUNT, Scanner, joined};
use crate::account;
use crate::bitmap::Bitmap;
use crate::scan::Class;
use crate::validate;

impl Scanner {
    /// The account number beside the routing number that counted at `at`, ending at `end`
    /// ([`account`]): after it, else before it. The search after it may go on in the next
    /// text; what it finds there decides as it would have in one text.
    #[cold]
    #[inline(never)]
    pub(super) fn account_beside(
        &mut self,
        t: &[u8],
        m: &Bitmap,
        at: usize,
        end: usize,
        context: u8,
    ) {
        if let Some(end) = self.fixed_account_after(t, m, at) {
            self.count_account(self.text_start + end as u64, t, self.text_start);
            return;
        }
        // A fixed-width table pairs its account columns with the routing number by its line.
        let accounts = |c: &(usize, u8)| account::account_column(c.1);
        if !self.first_line && self.fixed.iter().any(accounts) {
            let offset = self.text_start + at as u64 - self.line_start;
            self.fixed_account(t, m, at, offset as usize);
            return;
        }
        let field = if self.header.is_empty() || self.first_line {
            None
        } else {
            self.field_at(m, at);
            Some(self.field)
        };
        // A table whose header names account columns pairs them with the routing number by
        // its row, whatever columns stand between.
        if let Some(field) = field.filter(|_| self.table) {
            let (after, before) = account::pairable(&self.header, field);
            if after {
                self.row_account(t, m, at, end, field, before);
                return;
            }
            if before {
                let search = account::After::new(Some(field)).delimited_by(self.delimiter);
                self.search_after(search, t, m, end, |s, lines| {
                    match s.row_account_before(t, at, field) {
                        Some(row) => Beside {
                            line: Some(row),
                            ..Beside::default()
                        },
                        None => s.beside(t, m, at, Some(field), lines),
                    }
                });
                return;
            }
        }
        let mut search = account::After::new(field).delimited_by(self.delimiter);
        if self.layout {
            search = search.in_layout();
            // A record named for an account (`"bankAccount":{"routing":…,"number":…}`,
            // `<Account routing=… number=…/>`): the number after the routing number's is its.
            if self.record_names_account(t, at) {
                search = search.named_before();
            }
        } else if self.prose() {
            search = search.in_prose();
        }
        // A label that names the account as well as the routing number, nearer the number
        // than the routing keyword (`Routing and account: 021000021 / 12345678`), names what
        // follows it.
        if context & ACCOUNT != 0 {
            search = search.named_before();
        }
        self.search_after(search, t, m, end, |s, lines| {
            s.beside(t, m, at, field, lines)
        });
    }

    /// In markup or JSON, whether the record the routing number at `at` stands in is named for
    /// an account: a name (a key, an element's or an attribute's) that names one, between the
    /// end of the record before (`}`, a closing tag, `/>`) and the number, within
    /// [`account::FAR`] bytes.
    fn record_names_account(&self, t: &[u8], at: usize) -> bool {
        let mut buf = [0u8; account::FAR];
        let (window, _) = self.bytes_before(t, at, account::FAR, &mut buf);
        let record = window
            .windows(2)
            .rposition(|w| w[0] == b'}' || w == b"</" || w == b"/>")
            .map_or(window, |p| &window[p + 1..]);
        record
            .split(|c| !c.is_ascii_alphanumeric())
            .any(|word| account::names(word) & ACCOUNT != 0)
    }

    /// What stands before the routing number that counted at `at` (in field `field` where a
    /// header names columns): an account number before it on its line; unless one is, and when
    /// `lines` asks, whether it is a labelled line's value and an account number on a labelled
    /// line above.
    fn beside(&self, t: &[u8], m: &Bitmap, at: usize, field: Option<usize>, lines: bool) -> Beside {
        // Labelled lines are text's: not a table's rows, a format's records or tags.
        let text = self.header.is_empty()
            && self.fixed.is_empty()
            && !self.table
            && self.records.is_none()
            && self.accounts.tagged.is_none();
        if lines && text {
            let mut buf = [0u8; account::FAR];
            let (window, whole) = self.bytes_before(t, at, account::FAR, &mut buf);
            // A labelled line holds no other number before its value: no account on it.
            if let (true, above) = account::labelled_above(window, whole) {
                return Beside {
                    line: None,
                    labelled: true,
                    above: above.map(|gap| self.text_start + at as u64 - gap as u64),
                };
            }
        }
        Beside {
            line: self.account_before(t, m, at, field),
            ..Beside::default()
        }
    }

    /// Runs a search for the account number after a routing number over `t` from `from`: an
    /// account found counts; else what `before` gives ([`Beside`]; `true`: with the labelled
    /// lines), once it is known that none follows (in this text or a later one).
    fn search_after(
        &mut self,
        search: account::After,
        t: &[u8],
        m: &Bitmap,
        from: usize,
        before: impl FnOnce(&Self, bool) -> Beside,
    ) {
        let names = |s, e| word_context(t, m, s, e);
        let digits_end = |i| m.digits_end(i);
        match search.go(t, from, &self.header, names, digits_end) {
            account::Found::Account(end) => {
                self.count_account(self.text_start + end as u64, t, self.text_start)
            }
            account::Found::Nothing => {
                if let Some(end) = before(self, false).line {
                    self.count_account(end, t, self.text_start);
                }
            }
            account::Found::LineEnd(next) => {
                let beside = before(self, true);
                self.line_ended(beside, t, next, false);
            }
            account::Found::More(search) => {
                self.accounts.after = Some((search, before(self, true)));
            }
        }
    }

    /// The line of a routing number that counted ended with nothing after the number but
    /// blanks (the next line at `t[next]`): an account number before it on its line counts;
    /// else, if the number is a labelled line's value, the account number of a labelled line
    /// above it that did not count yet (`Account number: …` written first), else of one below
    /// (`end`: the file ended with the line).
    pub(super) fn line_ended(&mut self, beside: Beside, t: &[u8], next: usize, end: bool) {
        if let Some(end) = beside.line {
            self.count_account(end, t, self.text_start);
        } else if beside.labelled {
            match beside.above.filter(|&end| end > self.accounts.end) {
                Some(end) => self.count_account(end, t, self.text_start),
                None => {
                    self.start_onward(Search::Lines, t, next, end, |_| None);
                }
            }
        }
    }

    /// Starts a search that reads on past a routing number, over the bytes after it in this
    /// text (`t[from..]`; `end` when the file ends there): an account number it finds counts;
    /// else the one `before` gives (where an account number before the routing number ends),
    /// asked only then, or when the search must go on in the next text.
    fn start_onward(
        &mut self,
        search: Search,
        t: &[u8],
        from: usize,
        end: bool,
        before: impl FnOnce(&Self) -> Option<u64>,
    ) {
        let start = self.text_start + from as u64;
        let after = &t[from..];
        let read = &after[..after.len().min(account::FAR)];
        match self.onward_found(search, read, end) {
            account::Onward::Account(e) => self.count_account(start + e as u64, t, self.text_start),
            account::Onward::Nothing => {
                if let Some(e) = before(self) {
                    self.count_account(e, t, self.text_start);
                }
            }
            account::Onward::More => {
                let before = before(self);
                self.accounts.onward = Some(Onward {
                    search,
                    bytes: read.to_vec(),
                    start,
                    before,
                });
            }
        }
    }

    /// Goes on with a search that reads on past a routing number over `t` (`end` when the
    /// file ended): an account number it finds counts; else the one before the routing number.
    pub(super) fn search_onward(&mut self, mut onward: Onward, t: &[u8], end: bool) {
        let room = account::FAR - onward.bytes.len();
        onward.bytes.extend_from_slice(&t[..t.len().min(room)]);
        match self.onward_found(onward.search, &onward.bytes, end) {
            account::Onward::Account(e) => {
                self.count_account(onward.start + e as u64, &onward.bytes, onward.start)
            }
            account::Onward::Nothing => {
                if let Some(e) = onward.before {
                    self.count_account(e, t, self.text_start);
                }
            }
            account::Onward::More => self.accounts.onward = Some(onward),
        }
    }

    /// Where a search that reads on past a routing number stands, over `read` (the bytes after
    /// the routing number, or after its line: [`Search`]).
    fn onward_found(&self, search: Search, read: &[u8], end: bool) -> account::Onward {
        match search {
            Search::Lines => account::below(read, end),
            // Else an account number named by a keyword after it, as in text.
            Search::Row { field } => {
                let shape = (self.quoted, self.delimiter);
                match account::row_after(read, end, shape, field, &self.header) {
                    account::Onward::Nothing => self.keyword_after(read, end, Some(field)),
                    found => found,
                }
            }
            Search::Fixed { offset } => {
                match account::fixed_after(read, end, offset, &self.fixed) {
                    account::Onward::Nothing => self.keyword_after(read, end, None),
                    found => found,
                }
            }
        }
    }

    /// An account number named by a keyword after a routing number, as in text (the search
    /// [`account::After`] from field `field`), over `read`, the bytes after the routing number
    /// (`end`: the file ended after them).
    fn keyword_after(&self, read: &[u8], end: bool, field: Option<usize>) -> account::Onward {
        let digits_end = |i: usize| i + read[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let names = |s: usize, e: usize| account::names(&read[s..e]);
        match account::After::new(field).delimited_by(self.delimiter).go(
            read,
            0,
            &self.header,
            names,
            digits_end,
        ) {
            account::Found::Account(e) => account::Onward::Account(e),
            account::Found::More(_) if !end && read.len() < account::FAR => account::Onward::More,
            _ => account::Onward::Nothing,
        }
    }

    /// In a fixed-width table, the account number in the routing number's line (the routing
    /// number at `at`, `offset` bytes into its line): in the nearest account column after it
    /// that holds one, else one named after it as in text, else in the nearest account column
    /// before it, else one named before it (within [`account::FAR`] bytes either side).
    fn fixed_account(&mut self, t: &[u8], m: &Bitmap, at: usize, offset: usize) {
        let before = |s: &Self| {
            s.in_line_before(t, at, |line| account::fixed_before(line, &s.fixed))
                .or_else(|| s.account_before(t, m, at, None))
        };
        self.start_onward(Search::Fixed { offset }, t, at + 9, false, before);
    }

    /// In a delimited table, where in the file the account number in the nearest account
    /// column before the routing number at `at` (in field `field`) ends, if one holds one.
    fn row_account_before(&self, t: &[u8], at: usize, field: usize) -> Option<u64> {
        self.in_line_before(t, at, |row| {
            account::row_before(row, (self.quoted, self.delimiter), field, &self.header)
        })
    }

    /// What `find` finds in the line's bytes before `t[at]` (from the line's start, read back
    /// at most [`account::FAR`]: `None` for a longer line): where in the file what it found
    /// (an offset of those bytes) ends.
    fn in_line_before(
        &self,
        t: &[u8],
        at: usize,
        find: impl FnOnce(&[u8]) -> Option<usize>,
    ) -> Option<u64> {
        let mut buf = [0u8; account::FAR];
        let (window, whole) = self.bytes_before(t, at, account::FAR, &mut buf);
        let line_start = match window.iter().rposition(|&b| b == b'\n') {
            Some(p) => p + 1,
            None if whole => 0,
            None => return None,
        };
        let end = find(&window[line_start..])?;
        Some(self.text_start + at as u64 - (window.len() - (line_start + end)) as u64)
    }

    /// In a delimited table whose header names account columns after the routing number's
    /// (at `at`, in field `field`), the account number in its row: the nearest account column
    /// after it that holds one, else one named after it as in text, else the nearest account
    /// column before it (where `columns_before` says the header names one that may pair),
    /// else one named before it (within [`account::FAR`] bytes either side for the columns).
    fn row_account(
        &mut self,
        t: &[u8],
        m: &Bitmap,
        at: usize,
        end: usize,
        field: usize,
        columns_before: bool,
    ) {
        let before = |s: &Self| {
            columns_before
                .then(|| s.row_account_before(t, at, field))
                .flatten()
                .or_else(|| s.account_before(t, m, at, Some(field)))
        };
        self.start_onward(Search::Row { field }, t, end, false, before);
    }

    /// A SWIFT MT statement's account identification (MT940, MT942, MT950 `:25:`) written as
    /// routing number, `/`, account number, the number at `at` being the routing number: both
    /// count (the account through the search after a routing number, which may go on in the
    /// next text). Whether it was one.
    pub(super) fn statement_account(
        &mut self,
        t: &[u8],
        m: &Bitmap,
        at: usize,
        number: &[u8],
    ) -> bool {
        if self.accounts.tagged != Some(account::Tagged::SwiftMt)
            || t.get(at + 9) != Some(&b'/')
            || !self.line_before_is(t, at, b":25:")
            || !validate::aba_routing(number)
        {
            return false;
        }
        self.found(Class::AbaRouting, number);
        self.search_after(account::After::named(), t, m, at + 9, |_, _| {
            Beside::default()
        });
        true
    }

    /// Whether the current line's bytes before `t[at]` are `want` (reading back into the
    /// texts before this one where the line began there).
    fn line_before_is(&self, t: &[u8], at: usize, want: &[u8]) -> bool {
        let mut buf = [0u8; 8];
        let n = (want.len() + 1).min(buf.len());
        let (here, whole) = self.bytes_before(t, at, n, &mut buf);
        match here.iter().rposition(|&b| b == b'\n') {
            Some(p) => &here[p + 1..] == want,
            None => whole && here == want,
        }
    }

    /// The element whose text begins at `t[at]` (`<t>4111…`, `<v xml:space="preserve">…`), as
    /// a 16-bit digest of its name: `None` when an opening tag does not end right before it.
    pub(super) fn element_before(&self, t: &[u8], at: usize) -> Option<u16> {
        const MOST: usize = 64;
        let mut buf = [0u8; MOST];
        let (before, _) = self.bytes_before(t, at, MOST, &mut buf);
        let (&b'>', tag) = before.split_last()? else {
            return None;
        };
        let open = tag.iter().rposition(|&c| c == b'<')?;
        let name = tag[open + 1..].split(|&c| c == b' ').next()?;
        if name.is_empty()
            || !name
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'-' | b'_' | b'.'))
        {
            return None;
        }
        // FNV-1a, folded to 16 bits: a name, not a secret.
        let hash = name.iter().fold(0x811c_9dc5u32, |h, &c| {
            (h ^ u32::from(c)).wrapping_mul(0x0100_0193)
        });
        Some((hash ^ (hash >> 16)) as u16)
    }

    /// The byte of the file before `t[at]` (in the texts before when `at` is 0).
    pub(super) fn byte_before(&self, t: &[u8], at: usize) -> Option<u8> {
        match at.checked_sub(1) {
            Some(p) => t.get(p).copied(),
            None => self.accounts.tail.last().copied(),
        }
    }

    /// The `n` bytes of the file before `t[at]` (fewer at its start): a slice of `t`, or,
    /// where they begin in the texts before, those texts' last bytes and this one's written
    /// into `buf` (which holds `n`). And whether they begin at a line's start.
    pub(super) fn bytes_before<'a>(
        &self,
        t: &'a [u8],
        at: usize,
        n: usize,
        buf: &'a mut [u8],
    ) -> (&'a [u8], bool) {
        let tail = &self.accounts.tail;
        let from = at.saturating_sub(n);
        if from > 0 || tail.is_empty() {
            return (&t[from..at], from == 0 || t[from - 1] == b'\n');
        }
        let k = (n - at).min(tail.len());
        let whole = match tail.len() - k {
            0 => !self.accounts.tail_cut,
            before => tail[before - 1] == b'\n',
        };
        (joined(buf, &tail[tail.len() - k..], &t[..at]), whole)
    }

    /// In a fixed-width table, the number after the routing number at `at` across spaces, when
    /// its column's heading names an account: where it ends.
    fn fixed_account_after(&self, t: &[u8], m: &Bitmap, at: usize) -> Option<usize> {
        if self.fixed.is_empty() {
            return None;
        }
        let from = at + 9 + t.get(at + 9..)?.iter().take_while(|&&c| c == b' ').count();
        if !t.get(from)?.is_ascii_digit() || self.fixed_column(from) & ACCOUNT == 0 {
            return None;
        }
        let end = m.digits_end(from);
        let glued = t
            .get(end)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'@');
        (!glued && validate::us_account(&t[from..end])).then_some(end)
    }

    /// Where in the file an account number before the routing number at `at` ends, if one
    /// stands there.
    fn account_before(&self, t: &[u8], m: &Bitmap, at: usize, field: Option<usize>) -> Option<u64> {
        // The bytes before the routing number (in text a line end among them ends the search
        // there): from this text, and from the texts before when they begin there.
        let reach = if self.layout {
            account::BESIDE_LAYOUT
        } else {
            account::BESIDE
        };
        let from = at.saturating_sub(reach);
        let shape = (self.layout, self.delimiter);
        let gap = if from > 0 || self.accounts.tail.is_empty() {
            let whole = from == 0 || t[from - 1] == b'\n';
            let names = |s, e| word_context(t, m, from + s, from + e);
            account::before(&t[from..at], whole, field, &self.header, names, shape)?
        } else {
            let mut window = [0u8; account::BESIDE_LAYOUT];
            let (line, whole) = self.bytes_before(t, at, reach, &mut window);
            let names = |s, e| account::names(&line[s..e]);
            account::before(line, whole, field, &self.header, names, shape)?
        };
        Some(self.text_start + at as u64 - gap as u64)
    }

    /// Goes on with the search after or below a routing number that the last text ended in.
    #[cold]
    #[inline(never)]
    pub(super) fn account_search_goes_on(&mut self, t: &[u8], m: &Bitmap) {
        if let Some(onward) = self.accounts.onward.take() {
            self.search_onward(onward, t, false);
        }
        if let Some((search, before)) = self.accounts.after.take() {
            self.search_after(search, t, m, 0, |_, _| before);
        }
    }

    /// The account numbers of a text of a [`account::Tagged`] format that have a US account's
    /// form (ISO 20022: `<CdtrAcct><Id><Othr><Id>` and digits; SWIFT MT: `:59:/` and digits),
    /// found by their tag with a vectorised search: one cut by the last text's end first, then
    /// a tag the texts' seam cuts, then those in the text.
    #[cold]
    #[inline(never)]
    pub(super) fn tagged_accounts_in(&mut self, tagged: account::Tagged, t: &[u8]) {
        if let Some(mut cut) = self.accounts.tagged_cut.take() {
            let room = account::TAGGED_ACCOUNT.saturating_sub(cut.len());
            cut.extend_from_slice(&t[..t.len().min(room)]);
            match tagged.number(&cut, 0) {
                account::AfterTag::Account(number) => self.accounts.tagged_account(&cut[number]),
                // All of this text was taken and more may follow.
                account::AfterTag::More if t.len() < room => self.accounts.tagged_cut = Some(cut),
                _ => {}
            }
        }
        let needle = tagged.needle();
        // A tag that begins in the last texts and ends in this one.
        let k = (needle.len() - 1).min(self.accounts.tagged_tail.len());
        if k > 0 {
            let tail = std::mem::take(&mut self.accounts.tagged_tail);
            let mut buf = [0u8; 16];
            let head = &t[..t.len().min(needle.len() - 1)];
            let seam = joined(&mut buf, &tail[tail.len() - k..], head);
            for p in 0..k {
                if seam[p..].starts_with(needle) {
                    let before = &tail[..tail.len() - k + p];
                    self.tagged_account(tagged, before, t, needle.len() - (k - p));
                }
            }
            self.accounts.tagged_tail = tail;
        }
        let mut window = [0u8; 2 * account::TAGGED_ACCOUNT];
        for at in tagged.finder().find_iter(t) {
            // The bytes before the tag, with the last texts' where they begin before this one.
            let before = if at >= account::TAGGED_ACCOUNT {
                &t[at - account::TAGGED_ACCOUNT..at]
            } else {
                joined(&mut window, &self.accounts.tagged_tail, &t[..at])
            };
            self.tagged_account(tagged, before, t, at + needle.len());
        }
        // The last bytes, for a tag near the next text's start.
        let keep = t.len().min(account::TAGGED_ACCOUNT);
        let excess =
            (self.accounts.tagged_tail.len() + keep).saturating_sub(account::TAGGED_ACCOUNT);
        self.accounts
            .tagged_tail
            .drain(..excess.min(self.accounts.tagged_tail.len()));
        self.accounts
            .tagged_tail
            .extend_from_slice(&t[t.len() - keep..]);
    }

    /// A tag found: `before` it, its number from `t[from..]`.
    fn tagged_account(&mut self, tagged: account::Tagged, before: &[u8], t: &[u8], from: usize) {
        if !tagged.account_before(before) {
            return;
        }
        match tagged.number(t, from) {
            account::AfterTag::Account(number) => self.accounts.tagged_account(&t[number]),
            account::AfterTag::More if t.len() - from < account::TAGGED_ACCOUNT => {
                self.accounts.tagged_cut = Some(t[from..].to_vec());
            }
            _ => {}
        }
    }

    /// An account number ending at `end` in the file: counted unless it was already, and its
    /// digits sketched (read back from `end` in `t`, the file's bytes from `t_start`, or the
    /// bytes kept before the text being scanned).
    fn count_account(&mut self, end: u64, t: &[u8], t_start: u64) {
        if end <= self.accounts.end {
            return;
        }
        self.accounts.end = end;
        self.counts.add(Class::UsBankAccount, 1);
        // Most end in `t`, after something else that is in it.
        let within = end
            .checked_sub(t_start)
            .and_then(|e| usize::try_from(e).ok())
            .filter(|&e| e <= t.len());
        if let Some(e) = within {
            let from = e.saturating_sub(crate::distinct::MAX_DIGITS * 2);
            let run = &t[from..e];
            if let Some(p) = run
                .iter()
                .rposition(|c| !(c.is_ascii_digit() || *c == b'-'))
            {
                if p + 1 < run.len() {
                    self.distinct
                        .insert_digits(Class::UsBankAccount, &run[p + 1..]);
                }
                return;
            }
        }
        let tail = &self.accounts.tail;
        let byte_at = |p: u64| match p.checked_sub(t_start) {
            Some(i) => t.get(usize::try_from(i).ok()?).copied(),
            None => {
                let back = usize::try_from(self.text_start.checked_sub(p)?).ok()?;
                tail.len().checked_sub(back).map(|i| tail[i])
            }
        };
        // Its digits, backwards (dashes between groups left out).
        let mut digits = [0u8; crate::distinct::MAX_DIGITS];
        let mut n = 0;
        let mut p = end;
        while p > 0 && n < digits.len() {
            p -= 1;
            match byte_at(p) {
                Some(d) if d.is_ascii_digit() => {
                    digits[digits.len() - 1 - n] = d;
                    n += 1;
                }
                Some(b'-') if n > 0 => {}
                _ => break,
            }
        }
        if n > 0 {
            let value = &digits[digits.len() - n..];
            self.distinct.insert(Class::UsBankAccount, value);
        }
    }

    /// Keeps the last bytes of the file (for [`Scanner::bytes_before`]), and whether they
    /// begin at a line's start.
    pub(super) fn keep_tail(&mut self, t: &[u8]) {
        let a = &mut self.accounts;
        let keep = t.len().min(account::FAR);
        let drop = (a.tail.len() + keep).saturating_sub(account::FAR);
        let before = if keep < t.len() {
            Some(t[t.len() - keep - 1])
        } else {
            drop.checked_sub(1).map(|p| a.tail[p])
        };
        if let Some(b) = before {
            a.tail_cut = b != b'\n';
        }
        a.tail.drain(..drop);
        a.tail.extend_from_slice(&t[t.len() - keep..]);
    }
}

impl Accounts {
    /// An account number of a tagged format (its digits).
    fn tagged_account(&mut self, number: &[u8]) {
        self.tagged_found += 1;
        self.tagged_values.insert(Class::UsBankAccount, number);
    }
}

/// What the scanner carries from text to text for US account numbers ([`account`]).
#[derive(Default)]
pub(super) struct Accounts {
    /// A search for the account number after a routing number, going on from the last text,
    /// and what stands before that routing number (for when the search finds none).
    pub(super) after: Option<(account::After, Beside)>,
    /// A search that reads on past a routing number, going on from the last text.
    pub(super) onward: Option<Onward>,
    /// The file's last bytes in the texts before this one (at most
    /// [`account::FAR`]), and whether they begin inside a line: what an account
    /// number written before its routing number is looked for in.
    pub(super) tail: Vec<u8>,
    tail_cut: bool,
    /// Where in the file the last account number counted ends (one counts once).
    end: u64,
    /// A format whose account numbers are found by their tags, and those of a US account's
    /// form found so far, counted at the end as far as the file names its banks by ABA
    /// routing numbers; the bytes of one cut by the end of the last text; the last texts' last
    /// bytes.
    pub(super) tagged: Option<account::Tagged>,
    pub(super) tagged_found: u64,
    /// Those accounts, sketched: counted with them when they are ([`Scanner::finish`]).
    pub(super) tagged_values: crate::Distinct,
    pub(super) tagged_cut: Option<Vec<u8>>,
    pub(super) tagged_tail: Vec<u8>,
}

/// What stands before a routing number that counted, for when nothing after it on its line is
/// its account number.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Beside {
    /// Where in the file an account number before it on its line ends.
    line: Option<u64>,
    /// It is a labelled line's value (`ABA routing number: 021000021`): its account number
    /// may be a labelled line's above or below.
    labelled: bool,
    /// Where in the file the account number of a labelled line above it ends.
    above: Option<u64>,
}

/// A search that reads on past a routing number that counted, for its account number.
#[derive(Debug)]
pub(super) struct Onward {
    search: Search,
    /// What it has read in the texts before this one (at most [`account::FAR`] bytes), and
    /// where in the file that begins.
    bytes: Vec<u8>,
    start: u64,
    /// Where in the file an account number before the routing number ends (counted if the
    /// search finds none).
    before: Option<u64>,
}

/// What a search past a routing number reads.
#[derive(Debug, Clone, Copy)]
enum Search {
    /// The lines below its labelled line (wire instructions).
    Lines,
    /// The rest of its line in a fixed-width table (the routing number this many bytes into
    /// its line).
    Fixed { offset: usize },
    /// The rest of its row in a delimited table (the routing number in this field).
    Row { field: usize },
}
