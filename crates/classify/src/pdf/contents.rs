//! A page's or a form's contents read token by token as they are decoded: the strings its
//! text operators show, with the fonts they are shown in and where they are placed, recorded
//! for the document's end (when the fonts' maps are known; [`super::fonts`] reads them).
//!
//! Pure: decoded bytes in, records out; a token is kept to [`super::MAX_TOKEN`] bytes, the
//! operands to [`super::MAX_OPERANDS`], an array to [`super::MAX_ARRAY`]. Never here: what
//! the codes shown are as characters.

use super::syntax::{delimiter, hex_string, literal_string, number, white};
use super::{AT, FONT, GAP, MAX_ARRAY, MAX_OPERANDS, MAX_TOKEN, SHOW};

/// A page's or a form's contents being read: the bytes short of a whole token, the operands
/// before the next operator, where the text is placed.
#[derive(Default)]
pub(super) struct Contents {
    pub(super) pending: Vec<u8>,
    pub(super) operands: Vec<Operand>,
    /// An array being gathered (a `TJ`'s), if one is open.
    pub(super) array: Option<Vec<Operand>>,
    pub(super) array_bytes: usize,
    /// Where the text is placed: the text matrix's scale and the start of its line (in the
    /// page's units), whether it was placed since the last string shown; the font's name,
    /// size and leading.
    pub(super) scale: (f64, f64),
    pub(super) line: (f64, f64),
    pub(super) moved: bool,
    pub(super) font: Vec<u8>,
    pub(super) size: f64,
    pub(super) leading: f64,
    /// How long the bytes not yet read must grow before they are read again.
    pub(super) wait_for: usize,
    /// Where in the shown text the last string's record begins.
    pub(super) last_show: usize,
    /// Whether the text was placed by a new text object or matrix since the last string.
    pub(super) absolute: bool,
    /// The size of the font last recorded, in the page's units.
    pub(super) em: f32,
    /// Inside an inline picture's data (`BI` … `ID` … `EI`).
    pub(super) picture: bool,
}

#[derive(Clone)]
pub(super) enum Operand {
    Number(f64),
    Name(Vec<u8>),
    Text(Vec<u8>),
    Array(Vec<Operand>),
}

impl Contents {
    /// Reads the next decoded bytes (`end`: the last), recording what is shown in `shown`.
    pub(super) fn feed(&mut self, bytes: &[u8], end: bool, shown: &mut Vec<u8>) {
        self.pending.extend_from_slice(bytes);
        // A token not whole is read again from its start: only once as many bytes again
        // (or 4 KiB) have come, so that bytes fed one at a time cost no more than a chunk.
        if !end && self.pending.len() < self.wait_for {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let used = self.lex(&pending, end, shown);
        let rest = &pending[used..];
        // A token longer than any kept (an unclosed string): passed over.
        self.pending = if rest.len() > MAX_TOKEN {
            Vec::new()
        } else {
            rest.to_vec()
        };
        self.wait_for = 2 * self.pending.len().max(4096);
    }

    /// Reads the whole tokens of `t`: how many bytes were read.
    pub(super) fn lex(&mut self, t: &[u8], end: bool, shown: &mut Vec<u8>) -> usize {
        let mut i = 0;
        loop {
            if self.picture {
                // An inline picture's data ends at `EI` between white space.
                match memchr::memmem::find_iter(&t[i..], b"EI").find(|&at| {
                    let at = i + at;
                    at > 0
                        && white(t[at - 1])
                        && t.get(at + 2).is_none_or(|&b| white(b) || delimiter(b))
                }) {
                    Some(at) => {
                        i += at + 2;
                        self.picture = false;
                    }
                    None => {
                        return if end {
                            t.len()
                        } else {
                            t.len().saturating_sub(3)
                        };
                    }
                }
            }
            while i < t.len() && white(t[i]) {
                i += 1;
            }
            let Some(&c) = t.get(i) else {
                return t.len();
            };
            let start = i;
            let token_end = |from: usize| t[from..].iter().position(|&b| delimiter(b));
            match c {
                b'%' => match memchr::memchr2(b'\n', b'\r', &t[i..]) {
                    Some(at) => i += at,
                    None if end => return t.len(),
                    None => return start,
                },
                b'(' => match literal_string(&t[i..]) {
                    Some((s, used)) => {
                        self.operand(Operand::Text(s));
                        i += used;
                    }
                    None if end => return t.len(),
                    None => return start,
                },
                b'<' if t.get(i + 1) == Some(&b'<') => i += 2,
                b'>' => i += if t.get(i + 1) == Some(&b'>') { 2 } else { 1 },
                b'<' => match memchr::memchr(b'>', &t[i..]) {
                    Some(at) => {
                        self.operand(Operand::Text(hex_string(&t[i + 1..i + at])));
                        i += at + 1;
                    }
                    None if end => return t.len(),
                    None => return start,
                },
                b'[' => {
                    self.array = Some(Vec::new());
                    self.array_bytes = 0;
                    i += 1;
                }
                b']' => {
                    if let Some(array) = self.array.take() {
                        self.operand(Operand::Array(array));
                    }
                    i += 1;
                }
                b'{' | b'}' | b')' => i += 1,
                _ => {
                    let from = i + usize::from(c == b'/');
                    let Some(len) = token_end(from) else {
                        if end {
                            self.token(c, &t[start..], shown);
                            return t.len();
                        }
                        return start;
                    };
                    i = from + len;
                    self.token(c, &t[start..i], shown);
                }
            }
        }
    }

    /// A name, a number or an operator.
    pub(super) fn token(&mut self, first: u8, token: &[u8], shown: &mut Vec<u8>) {
        if first == b'/' {
            self.operand(Operand::Name(token[1..].to_vec()));
        } else if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
            self.operand(Operand::Number(number(token)));
        } else {
            self.operator(token, shown);
            self.operands.clear();
        }
    }

    pub(super) fn operand(&mut self, operand: Operand) {
        if let Some(array) = self.array.as_mut() {
            // (Its strings' bytes bounded too: an array of long strings is passed over.)
            let len = match &operand {
                Operand::Text(t) => t.len(),
                _ => 8,
            };
            if array.len() < MAX_ARRAY && self.array_bytes + len <= 4 * MAX_TOKEN {
                self.array_bytes += len;
                array.push(operand);
            }
            return;
        }
        if self.operands.len() == MAX_OPERANDS {
            self.operands.remove(0);
        }
        self.operands.push(operand);
    }

    /// The last `N` operands' numbers (0 where not one, or missing).
    pub(super) fn numbers<const N: usize>(&self) -> [f64; N] {
        let mut out = [0.0; N];
        let take = self.operands.len().min(N);
        let from = self.operands.len() - take;
        for (k, o) in self.operands[from..].iter().enumerate() {
            if let Operand::Number(n) = o {
                out[N - take + k] = *n;
            }
        }
        out
    }

    pub(super) fn operator(&mut self, op: &[u8], shown: &mut Vec<u8>) {
        match op {
            b"BT" => self.place_line(1.0, 1.0, 0.0, 0.0, true),
            b"Td" | b"TD" => {
                let [tx, ty] = self.numbers::<2>();
                if op == b"TD" {
                    self.leading = -ty;
                }
                let (sx, sy) = self.scale;
                // A move along the line of at most a character's width from where the last
                // string began is the next character of a word placed one by one (as browsers
                // print small text): nothing to tell apart, so not recorded.
                let moved = self.moved;
                self.place_line(sx, sy, self.line.0 + tx * sx, self.line.1 + ty * sy, false);
                if ty == 0.0 && tx >= 0.0 && tx * sx.abs() <= 1.1 * (self.size * sx).abs() {
                    self.moved = moved;
                }
            }
            b"Tm" => {
                let [a, _, _, d, e, f] = self.numbers::<6>();
                self.place_line(a, d, e, f, true);
            }
            b"TL" => self.leading = self.numbers::<1>()[0],
            b"T*" => self.next_line(),
            b"Tf" => {
                let name = self.operands.iter().rev().find_map(|o| match o {
                    Operand::Name(n) => Some(n.clone()),
                    _ => None,
                });
                self.size = self.numbers::<1>()[0];
                let em = (self.size * self.scale.0).abs() as f32;
                if let Some(name) =
                    name.filter(|n| (*n != self.font || em != self.em) && n.len() <= 255)
                {
                    shown.push(FONT);
                    shown.push(name.len() as u8);
                    shown.extend_from_slice(&name);
                    shown.extend_from_slice(&em.to_le_bytes());
                    self.font = name;
                    self.em = em;
                }
            }
            b"Tj" | b"'" | b"\"" => {
                if op != b"Tj" {
                    self.next_line();
                }
                if let Some(Operand::Text(s)) = self.operands.pop() {
                    self.place(shown);
                    self.show(&s, shown);
                }
            }
            b"TJ" => {
                if let Some(Operand::Array(parts)) = self.operands.pop() {
                    self.place(shown);
                    for part in parts {
                        match part {
                            Operand::Text(s) => self.show(&s, shown),
                            // A move along the line, in thousandths of the font's size: kerning
                            // (small), a word's gap, a cell's.
                            Operand::Number(n) if n.abs() >= 50.0 => {
                                shown.push(GAP);
                                shown.extend_from_slice(&(-n as f32 / 1000.0).to_le_bytes());
                            }
                            _ => {}
                        }
                    }
                }
            }
            b"BI" => self.picture = true,
            _ => {}
        }
    }

    /// Records a string shown, in its font's codes: added to the last record where it is the
    /// last thing recorded (a word placed character by character is one record).
    pub(super) fn show(&mut self, s: &[u8], shown: &mut Vec<u8>) {
        for piece in s.chunks(u16::MAX as usize) {
            let last = self.last_show;
            let len = shown
                .get(last + 1..last + 3)
                .map_or(0, |l| usize::from(u16::from_le_bytes([l[0], l[1]])));
            if shown.get(last) == Some(&SHOW)
                && shown.len() == last + 3 + len
                && len + piece.len() <= usize::from(u16::MAX)
            {
                shown[last + 1..last + 3]
                    .copy_from_slice(&((len + piece.len()) as u16).to_le_bytes());
            } else {
                self.last_show = shown.len();
                shown.push(SHOW);
                shown.extend_from_slice(&(piece.len() as u16).to_le_bytes());
            }
            shown.extend_from_slice(piece);
        }
    }

    /// Places the text at the start of a line (`x`, `y`, in the page's units) with the text
    /// matrix's scale; `absolute`: by a new text object or matrix (`BT`, `Tm`: a table's cell
    /// is placed so), else relative to the last line (`Td`: a word, or a line, placed after
    /// the last).
    pub(super) fn place_line(&mut self, sx: f64, sy: f64, x: f64, y: f64, absolute: bool) {
        self.scale = (sx, sy);
        self.line = (x, y);
        self.absolute = if self.moved {
            self.absolute || absolute
        } else {
            absolute
        };
        self.moved = true;
    }

    /// The next line (`T*`, `'`, `"`): down by the leading (a line's height where none is set).
    pub(super) fn next_line(&mut self) {
        let leading = if self.leading == 0.0 {
            self.size.max(1.0)
        } else {
            self.leading
        };
        let (sx, sy) = self.scale;
        self.place_line(sx, sy, self.line.0, self.line.1 - leading * sy, false);
    }

    /// Before a string is shown where the text was placed since the last: where (the text's
    /// place and the font's size in the page's units), for the reading to tell a line end or
    /// the gap between two cells from a word going on.
    pub(super) fn place(&mut self, shown: &mut Vec<u8>) {
        if !self.moved {
            return;
        }
        self.moved = false;
        let em = (self.size * self.scale.0).abs();
        shown.push(AT);
        for v in [self.line.0, self.line.1, em] {
            shown.extend_from_slice(&(v as f32).to_le_bytes());
        }
        shown.push(u8::from(self.absolute));
    }
}
