//! What a PDF says of its fonts and how the strings its pages show are read: the names pages
//! and forms give their fonts, each font's ToUnicode map (a CMap), its encoding's
//! differences and its codes' widths; then the shown strings read through them, laid out in
//! lines, cells and words by where they were placed.
//!
//! Pure: objects' texts and decoded maps in, text out; every table is bounded (codes per map,
//! widths per font, objects kept). Never here: a font's shapes.

use std::collections::{BTreeMap, HashMap};

use super::syntax::*;
use super::{
    AT, FONT, GAP, MAX_KEPT_OBJECT, MAX_KEPT_OBJECTS, MAX_MAP_CODES, MAX_MAP_DESTINATION, SHOW,
    STREAM, TEXT,
};

/// What the document says of its fonts: the names its pages give them, each font's map to
/// characters, and the objects that may hold a page's names.
#[derive(Default)]
pub(super) struct Fonts {
    /// A resource name (`F1`) and the font object it names (the first such; most producers
    /// give each font one name in the whole document).
    pub(super) names: HashMap<Vec<u8>, u32>,
    /// Font objects: their ToUnicode map's object, whether their codes are two bytes.
    pub(super) fonts: HashMap<u32, Font>,
    /// Decoded maps, by their object's number.
    pub(super) maps: HashMap<u32, CodeMap>,
    /// Objects named as a page's font dictionary (`/Font 12 0 R`), and small objects' texts
    /// kept by number to read them at the end.
    pub(super) font_dictionaries: Vec<u32>,
    pub(super) small: HashMap<u32, Vec<u8>>,
    /// A page's or a form's contents, by their stream's object, and their resources (their
    /// text, or the object that holds it); read at the end into the names each stream's
    /// fonts have (documents joined from others give `F1` to different fonts on different
    /// pages).
    pub(super) resources: HashMap<u32, Resources>,
    pub(super) stream_names: HashMap<u32, HashMap<Vec<u8>, u32>>,
    /// Pages' contents whose page has no resources of its own, and its page tree node; the
    /// tree's nodes' resources and parents.
    pub(super) inheriting: HashMap<u32, u32>,
    pub(super) tree_resources: HashMap<u32, Resources>,
    pub(super) tree_parents: HashMap<u32, u32>,
    /// Entries the document's maps have read ([`super::MAX_DOCUMENT_MAP_ENTRIES`] at most).
    pub(super) map_entries_read: usize,
}

#[derive(Clone)]
pub(super) enum Resources {
    Text(Vec<u8>),
    Object(u32),
}

#[derive(Clone, Default)]
pub(super) struct Font {
    pub(super) to_unicode: Option<u32>,
    pub(super) two_bytes: bool,
    /// Its codes' widths (a simple font's `/Widths`, a CID font's `/W`), or the objects that
    /// hold them: an array's, a composite font's descendant's.
    pub(super) widths: Widths,
    pub(super) widths_object: Option<u32>,
    pub(super) descendant: Option<u32>,
    /// A simple font's encoding's differences from its base (`/Differences`: codes given
    /// glyph names, read as the characters they name), or the object that holds them.
    pub(super) differences: Option<Box<Differences>>,
    pub(super) encoding_object: Option<u32>,
}

/// The characters a simple font's codes are given by its encoding's differences (`'\0'`
/// where none is given: the code is read as Latin-1).
pub(super) type Differences = [char; 256];

/// A `/Differences` array's text (after its `[`): codes, each followed by the glyph names of
/// it and the codes after it.
pub(super) fn differences(array: &[u8]) -> Box<Differences> {
    let mut table = Box::new(['\0'; 256]);
    let end = memchr::memchr(b']', array).unwrap_or(array.len());
    let mut code = 0usize;
    for token in array[..end]
        .split(|&b| white(b) || b == b'/')
        .filter(|t| !t.is_empty())
    {
        match std::str::from_utf8(token)
            .ok()
            .and_then(|t| t.parse::<usize>().ok())
        {
            Some(n) => code = n,
            None => {
                if let Some(slot) = table.get_mut(code) {
                    // A name not known: a character no scan counts (not the code's Latin-1).
                    *slot = glyph_char(token).unwrap_or('\u{FFFD}');
                }
                code += 1;
            }
        }
    }
    table
}

/// The character a glyph's name names (Adobe's names of letters, digits and ASCII's
/// punctuation, `uniXXXX` and `uXXXX`).
pub(super) fn glyph_char(name: &[u8]) -> Option<char> {
    if let [c] = name
        && c.is_ascii_alphabetic()
    {
        return Some(char::from(*c));
    }
    const NAMES: [(&[u8], char); 43] = [
        (b"zero", '0'),
        (b"one", '1'),
        (b"two", '2'),
        (b"three", '3'),
        (b"four", '4'),
        (b"five", '5'),
        (b"six", '6'),
        (b"seven", '7'),
        (b"eight", '8'),
        (b"nine", '9'),
        (b"space", ' '),
        (b"period", '.'),
        (b"comma", ','),
        (b"hyphen", '-'),
        (b"minus", '-'),
        (b"at", '@'),
        (b"colon", ':'),
        (b"semicolon", ';'),
        (b"slash", '/'),
        (b"backslash", '\\'),
        (b"parenleft", '('),
        (b"parenright", ')'),
        (b"underscore", '_'),
        (b"plus", '+'),
        (b"equal", '='),
        (b"numbersign", '#'),
        (b"dollar", '$'),
        (b"percent", '%'),
        (b"ampersand", '&'),
        (b"asterisk", '*'),
        (b"quotesingle", '\''),
        (b"quotedbl", '"'),
        (b"quoteright", '\''),
        (b"question", '?'),
        (b"exclam", '!'),
        (b"bracketleft", '['),
        (b"bracketright", ']'),
        (b"braceleft", '{'),
        (b"braceright", '}'),
        (b"bar", '|'),
        (b"less", '<'),
        (b"greater", '>'),
        (b"nbspace", ' '),
    ];
    if let Some(&(_, c)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Some(c);
    }
    // `uniXXXX` (its first four digits), `uXXXX` to `uXXXXXX`.
    let hex = match name.strip_prefix(b"uni") {
        Some(hex) => hex.get(..4)?,
        None => name
            .strip_prefix(b"u")
            .filter(|h| (4..=6).contains(&h.len()))?,
    };
    char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)
}

/// A font's codes' widths, in thousandths of its size: runs of codes from a first, and the
/// width of a code in none.
#[derive(Clone, Default)]
pub(super) struct Widths {
    pub(super) runs: Vec<(u32, Vec<f32>)>,
    pub(super) default: Option<f32>,
}

/// Most widths kept per font.
pub(super) const MAX_WIDTHS: usize = 65_536;

impl Widths {
    /// A code's width in the font's size, if the font says.
    pub(super) fn of(&self, code: u32) -> Option<f32> {
        self.runs
            .iter()
            .find_map(|(first, w)| {
                code.checked_sub(*first)
                    .and_then(|k| w.get(k as usize))
                    .copied()
            })
            .or(self.default)
            .map(|w| w / 1000.0)
    }

    pub(super) fn known(&self) -> bool {
        !self.runs.is_empty() || self.default.is_some()
    }

    /// A simple font's `/Widths` array (its text after the `[`), from code `first`.
    pub(super) fn simple(first: u32, array: &[u8]) -> Widths {
        let widths: Vec<f32> = numbers_in(array).take(MAX_WIDTHS).collect();
        Widths {
            runs: vec![(first, widths)],
            default: None,
        }
    }

    /// A CID font's `/W` array (its text after the `[`): `c [w1 w2 …]` runs and `c1 c2 w`
    /// ranges.
    pub(super) fn cid(array: &[u8], default: Option<f32>) -> Widths {
        let mut w = Widths {
            runs: Vec::new(),
            default,
        };
        let mut kept = 0;
        let mut loose: Vec<f32> = Vec::new();
        let mut i = 0;
        while i < array.len() && kept < MAX_WIDTHS {
            match array[i] {
                b'[' => {
                    let close = memchr::memchr(b']', &array[i..]).map_or(array.len(), |c| i + c);
                    if let Some(&first) = loose.last() {
                        let widths: Vec<f32> = numbers_in(&array[i + 1..close])
                            .take(MAX_WIDTHS - kept)
                            .collect();
                        kept += widths.len();
                        w.runs.push((first as u32, widths));
                    }
                    loose.clear();
                    i = close + 1;
                }
                // The end of the array.
                b']' => break,
                b if delimiter(b) => i += 1,
                _ => {
                    let len = array[i..]
                        .iter()
                        .position(|&b| delimiter(b))
                        .unwrap_or(array.len() - i);
                    if let Some(n) = numbers_in(&array[i..i + len]).next() {
                        loose.push(n);
                    }
                    i += len;
                    // `c1 c2 w`: the codes from c1 to c2 all of width w.
                    if let [c1, c2, width] = loose[..] {
                        let n = ((c2 - c1).clamp(0.0, MAX_WIDTHS as f32) as usize + 1)
                            .min(MAX_WIDTHS - kept);
                        w.runs.push((c1 as u32, vec![width; n]));
                        kept += n;
                        loose.clear();
                    }
                }
            }
        }
        w
    }
}

/// The numbers in `text`, read as they stand (white space and delimiters between).
pub(super) fn numbers_in(text: &[u8]) -> impl Iterator<Item = f32> + '_ {
    text.split(|&b| delimiter(b))
        .filter(|t| !t.is_empty())
        .filter_map(|t| std::str::from_utf8(t).ok()?.parse::<f32>().ok())
        .filter(|n| n.is_finite())
}

/// A font's map from codes to characters (a ToUnicode CMap). A range of codes mapped to a
/// first destination that counts up (`bfrange`'s `<lo> <hi> <dst>`) is kept as the range, not
/// a code at a time: a range over every two-byte code is one entry (each was a hash map's
/// insert, 131,072 of them some 25 ms, from a few bytes of map). Where entries map a code
/// twice, the later one holds, as it did when ranges were written out.
#[derive(Default)]
pub(super) struct CodeMap {
    /// Bytes per code (its code space's).
    pub(super) width: usize,
    /// Codes mapped one by one (`bfchar`, a range's array of destinations): the entry's place
    /// among the map's entries, and its characters.
    pub(super) codes: HashMap<u32, (u32, Box<str>)>,
    /// The ranges, as read.
    spans: Vec<Span>,
    /// The ranges' codes, each to the latest range that maps it: a first code, its last code
    /// and its range (disjoint pieces; made once the map is read, [`CodeMap::cover`]).
    pieces: BTreeMap<u32, (u32, u32)>,
    /// Entries read, kept or not (a map repeating its ranges is read no further).
    pub(super) read: usize,
    /// Most entries it reads.
    limit: usize,
    /// It had entries past its limit, not read.
    pub(super) limited: bool,
}

/// A range of codes whose characters are its first code's with the last UTF-16 unit counted
/// up (a `bfrange` entry).
struct Span {
    lo: u32,
    hi: u32,
    /// The first code's characters, UTF-16 big-endian, cut to [`MAX_MAP_DESTINATION`].
    first: Vec<u8>,
    /// Its place among the map's entries.
    place: u32,
}

impl Fonts {
    /// What object `number` (its text after the header, `body`) says of fonts: a page's
    /// font dictionary (`/Font << /F1 5 0 R >>`, or a reference to one), a font's map.
    pub(super) fn learn(&mut self, number: u32, body: &[u8]) {
        let mut from = 0;
        while let Some(at) = key_at(&body[from..], b"/Font") {
            let at = from + at;
            let rest = body[at..].trim_ascii_start();
            if let Some(dict) = rest.strip_prefix(b"<<") {
                self.learn_names(dict);
            } else if let Some(r) = reference(rest)
                && self.font_dictionaries.len() < MAX_KEPT_OBJECTS
            {
                self.font_dictionaries.push(r);
            }
            from = at;
        }
        let is_font = name_value(body, b"/Type").is_some_and(|t| t == b"Font")
            || key_at(body, b"/BaseFont").is_some();
        if is_font && self.fonts.len() < MAX_KEPT_OBJECTS {
            let to_unicode = key_at(body, b"/ToUnicode").and_then(|at| reference(&body[at..]));
            let two_bytes = memchr::memmem::find(body, b"/Type0").is_some()
                || memchr::memmem::find(body, b"/Identity-").is_some();
            let array_at = |key: &[u8]| {
                let rest = body[key_at(body, key)?..].trim_ascii_start();
                Some(match rest.strip_prefix(b"[") {
                    Some(array) => Ok(array),
                    None => Err(reference(rest)),
                })
            };
            let mut widths = Widths::default();
            let mut widths_object = None;
            let default = direct_integer(body, b"/DW").map(|w| w as f32);
            match (array_at(b"/Widths"), array_at(b"/W")) {
                (Some(Ok(array)), _) => {
                    let first = direct_integer(body, b"/FirstChar").unwrap_or(0);
                    widths = Widths::simple(first.min(u64::from(u32::MAX)) as u32, array);
                }
                (_, Some(Ok(array))) => widths = Widths::cid(array, default),
                (Some(Err(r)), _) | (_, Some(Err(r))) => widths_object = r,
                (None, None) => widths.default = default,
            }
            // A simple font's encoding: a dictionary with differences, or its object.
            let (mut differences_here, mut encoding_object) = (None, None);
            if let Some(at) = key_at(body, b"/Encoding") {
                let rest = body[at..].trim_ascii_start();
                if rest.starts_with(b"<<") {
                    differences_here = key_at(rest, b"/Differences")
                        .and_then(|d| rest[d..].trim_ascii_start().strip_prefix(b"["))
                        .map(differences);
                } else {
                    encoding_object = reference(rest);
                }
            }
            let descendant = key_at(body, b"/DescendantFonts").and_then(|at| {
                let rest = body[at..].trim_ascii_start();
                reference(rest.strip_prefix(b"[").unwrap_or(rest))
            });
            self.fonts.insert(
                number,
                Font {
                    to_unicode,
                    two_bytes,
                    widths,
                    widths_object,
                    descendant,
                    differences: differences_here,
                    encoding_object,
                },
            );
        }
        // A page (its contents' streams) or a form (itself): what its resources name; a page
        // without resources of its own inherits its page tree node's (`/Parent`).
        let parent = key_at(body, b"/Parent").and_then(|at| reference(&body[at..]));
        let node = name_value(body, b"/Type").is_some_and(|t| t == b"Pages");
        if node
            && let Some(parent) = parent
            && self.tree_parents.len() < 4 * MAX_KEPT_OBJECTS
        {
            self.tree_parents.insert(number, parent);
        }
        let resources = key_at(body, b"/Resources").and_then(|at| {
            let rest = body[at..].trim_ascii_start();
            if rest.starts_with(b"<<") {
                Some(balanced(rest))
                    .filter(|t| t.len() <= MAX_KEPT_OBJECT)
                    .map(|t| Resources::Text(t.to_vec()))
            } else {
                reference(rest).map(Resources::Object)
            }
        });
        if node
            && let Some(resources) = resources.clone()
            && self.tree_resources.len() < 4 * MAX_KEPT_OBJECTS
        {
            self.tree_resources.insert(number, resources);
        }
        if !node && self.resources.len() < 4 * MAX_KEPT_OBJECTS {
            let contents = if name_value(body, b"/Subtype").is_some_and(|t| t == b"Form") {
                vec![number]
            } else {
                key_at(body, b"/Contents").map_or(Vec::new(), |at| {
                    let rest = body[at..].trim_ascii_start();
                    match rest.strip_prefix(b"[") {
                        Some(array) => references_in(
                            &array[..memchr::memchr(b']', array).unwrap_or(array.len())],
                        ),
                        None => reference(rest).into_iter().collect(),
                    }
                })
            };
            for c in contents.into_iter().take(1024) {
                match (&resources, parent) {
                    (Some(r), _) => {
                        self.resources.insert(c, r.clone());
                    }
                    (None, Some(p)) if self.inheriting.len() < 4 * MAX_KEPT_OBJECTS => {
                        self.inheriting.insert(c, p);
                    }
                    // (No parent, or as many inheriting pages as are kept.)
                    (None, _) => {}
                }
            }
        }
        // (An encryption dictionary is kept whatever the count: a document of many objects
        // names it from its trailer, at the end.)
        let encryption = name_value(body, b"/Filter").is_some_and(|f| f == b"Standard")
            && self.small.len() < MAX_KEPT_OBJECTS + 16;
        if body.len() <= MAX_KEPT_OBJECT && (self.small.len() < MAX_KEPT_OBJECTS || encryption) {
            self.small.insert(number, body.to_vec());
        }
    }

    /// The pairs of a font dictionary's text (from after its `<<`), kept document-wide: a
    /// name's first meaning.
    pub(super) fn learn_names(&mut self, dict: &[u8]) {
        for (name, font) in font_names(dict) {
            if self.names.len() < MAX_KEPT_OBJECTS {
                self.names.entry(name).or_insert(font);
            }
        }
    }

    /// The font names of a page's or a form's resources (their text from its `<<`): its
    /// `/Font` dictionary's, inline or an object of its own.
    pub(super) fn resource_names(&self, resources: &[u8]) -> Vec<(Vec<u8>, u32)> {
        let Some(at) = key_at(resources, b"/Font") else {
            return Vec::new();
        };
        let rest = resources[at..].trim_ascii_start();
        if let Some(dict) = rest.strip_prefix(b"<<") {
            return font_names(dict);
        }
        reference(rest)
            .and_then(|r| self.small.get(&r))
            .and_then(|text| text.trim_ascii_start().strip_prefix(b"<<").map(font_names))
            .unwrap_or_default()
    }

    /// Reads the font dictionaries pages named by reference, and each page's and form's
    /// names, now that every object is known.
    pub(super) fn resolve_dictionaries(&mut self) {
        // Resources inherited from the page tree: the nearest node's that has them.
        for (contents, mut node) in std::mem::take(&mut self.inheriting) {
            for _ in 0..32 {
                if let Some(r) = self.tree_resources.get(&node) {
                    self.resources.entry(contents).or_insert_with(|| r.clone());
                    break;
                }
                match self.tree_parents.get(&node) {
                    Some(&up) => node = up,
                    None => break,
                }
            }
        }
        let resources = std::mem::take(&mut self.resources);
        for (contents, r) in resources {
            let text = match &r {
                Resources::Text(t) => Some(&t[..]),
                Resources::Object(o) => self.small.get(o).map(|t| t.trim_ascii_start()),
            };
            let names: HashMap<Vec<u8>, u32> = text
                .map(|t| self.resource_names(t))
                .unwrap_or_default()
                .into_iter()
                .collect();
            if !names.is_empty() {
                self.stream_names.insert(contents, names);
            }
        }
        // Widths in an array of their own, or a composite font's descendant's.
        let numbers: Vec<u32> = self.fonts.keys().copied().collect();
        for number in &numbers {
            let Some(font) = self.fonts.get(number).cloned() else {
                continue;
            };
            if let Some(array) = font.widths_object.and_then(|r| self.small.get(&r)) {
                let array = array.trim_ascii_start();
                let array = array.strip_prefix(b"[").unwrap_or(array);
                let widths = if font.two_bytes || memchr::memchr(b'[', array).is_some() {
                    Widths::cid(array, None)
                } else {
                    Widths::simple(0, array)
                };
                if let Some(f) = self.fonts.get_mut(number) {
                    f.widths = widths;
                }
            }
        }
        // Encodings in objects of their own.
        for number in &numbers {
            let Some(e) = self.fonts.get(number).and_then(|f| f.encoding_object) else {
                continue;
            };
            let table = self.small.get(&e).and_then(|text| {
                let at = key_at(text, b"/Differences")?;
                Some(differences(
                    text[at..].trim_ascii_start().strip_prefix(b"[")?,
                ))
            });
            if let (Some(table), Some(f)) = (table, self.fonts.get_mut(number)) {
                f.differences = Some(table);
            }
        }
        for number in &numbers {
            let Some(d) = self.fonts.get(number).and_then(|f| f.descendant) else {
                continue;
            };
            if let Some(widths) = self.fonts.get(&d).map(|f| f.widths.clone())
                && let Some(f) = self.fonts.get_mut(number)
            {
                f.widths = widths;
            }
        }
        let dictionaries = std::mem::take(&mut self.font_dictionaries);
        for number in dictionaries {
            if let Some(text) = self.small.get(&number).cloned() {
                let body = text.trim_ascii_start();
                if let Some(dict) = body.strip_prefix(b"<<") {
                    self.learn_names(dict);
                }
            }
        }
    }

    /// Reads the shown text through the fonts' maps, handing it to `text` in pieces: a line
    /// end where a string is placed on another line, a tab where it is placed well after the
    /// end of the last (the next cell of a table's row), a space for a word's gap.
    pub(super) fn read_shown(&self, shown: &[u8], text: &mut impl FnMut(&[u8])) -> Read {
        let mut read = Read::default();
        let mut out = Vec::with_capacity(64 << 10);
        let mut font: Option<&Font> = None;
        // The names the fonts of the contents being read have.
        let mut names: Option<&HashMap<Vec<u8>, u32>> = None;
        let mut place = Place::default();
        let f32_at = |at: usize| {
            shown
                .get(at..at + 4)
                .map_or(0.0, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let mut i = 0;
        while i < shown.len() {
            match shown[i] {
                FONT => {
                    let len = usize::from(*shown.get(i + 1).unwrap_or(&0));
                    let name = shown.get(i + 2..i + 2 + len).unwrap_or_default();
                    font = names
                        .and_then(|n| n.get(name))
                        .or_else(|| self.names.get(name))
                        .and_then(|n| self.fonts.get(n));
                    place.sized(f32_at(i + 2 + len));
                    i += 6 + len;
                }
                SHOW => {
                    let len = shown
                        .get(i + 1..i + 3)
                        .map_or(0, |l| usize::from(u16::from_le_bytes([l[0], l[1]])));
                    let codes = shown.get(i + 3..i + 3 + len).unwrap_or_default();
                    let from = out.len();
                    let map = font.and_then(|f| self.maps.get(&f.to_unicode?));
                    let two_bytes = font.is_some_and(|f| f.two_bytes);
                    let width = map.map_or(if two_bytes { 2 } else { 1 }, |m| m.width);
                    match map {
                        Some(map) => map.write(codes, &mut out, &mut read),
                        // Codes of two bytes with no map: what they are is not known.
                        None if two_bytes => read.unmapped += (codes.len() / 2) as u64,
                        None => latin1(
                            codes,
                            font.and_then(|f| f.differences.as_deref()),
                            &mut out,
                            &mut read,
                        ),
                    }
                    // The line's end moves by the codes' widths where the font gives them,
                    // else by the characters' usual widths.
                    match font.map(|f| &f.widths).filter(|w| w.known()) {
                        Some(widths) => place.advance(
                            codes
                                .chunks(width)
                                .map(|c| widths.of(code(c)).unwrap_or(0.5))
                                .sum(),
                        ),
                        None => place.shown(&out[from..]),
                    }
                    i += 3 + len;
                }
                AT => {
                    let absolute = shown.get(i + 13) == Some(&1);
                    place.at(
                        f32_at(i + 1),
                        f32_at(i + 5),
                        f32_at(i + 9),
                        absolute,
                        &mut out,
                    );
                    i += 14;
                }
                GAP => {
                    place.gap(f32_at(i + 1), &mut out);
                    i += 5;
                }
                TEXT => {
                    let len = shown
                        .get(i + 1..i + 3)
                        .map_or(0, |l| usize::from(u16::from_le_bytes([l[0], l[1]])));
                    let text = shown.get(i + 3..i + 3 + len).unwrap_or_default();
                    out.extend_from_slice(text);
                    read.characters += text.len() as u64;
                    place.line = None;
                    i += 3 + len;
                }
                STREAM => {
                    let object = shown
                        .get(i + 1..i + 5)
                        .map_or(u32::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    names = self.stream_names.get(&object);
                    i += 5;
                }
                b => {
                    out.push(b);
                    place.line = None;
                    i += 1;
                }
            }
            if out.len() >= 64 << 10 {
                text(&out);
                out.clear();
            }
        }
        text(&out);
        read
    }

    pub(super) fn held_bytes(&self) -> usize {
        let maps: usize = self.maps.values().map(|m| m.entries_kept() * 48).sum();
        let small: usize = self.small.values().map(|v| v.capacity() + 48).sum();
        maps + small + (self.names.len() + self.fonts.len()) * 48
    }
}

/// Where the reading of shown text is on the page: the line's place (none at a page's
/// start), where the last string shown ends along it and the font's size, in the page's units
/// (the end reckoned from the font's own widths where it has them, else from the characters'
/// usual widths).
#[derive(Default)]
pub(super) struct Place {
    line: Option<f32>,
    end: f32,
    em: f32,
    /// The end was reckoned from the font's own widths (else from the usual ones, which may
    /// be some way off).
    exact: bool,
}

impl Place {
    /// The font's size, where a font is named.
    pub(super) fn sized(&mut self, em: f32) {
        if em.is_finite() && em > 0.0 {
            self.em = em;
        }
    }

    /// The text placed at `x`, `y` with a font of size `em` (`absolute`: by a new text object
    /// or matrix).
    pub(super) fn at(&mut self, x: f32, y: f32, em: f32, absolute: bool, out: &mut Vec<u8>) {
        let em = if em.is_finite() && em > 0.0 { em } else { 1.0 };
        match self.line {
            // A line further down than twice the larger font's size: a blank line
            // between (an empty paragraph, which shows nothing: in wire instructions it keeps
            // an account from the routing number above it).
            Some(line) if line - y > 2.0 * em.max(self.em) => out.extend_from_slice(b"\n\n"),
            Some(line) if (line - y).abs() > 0.2 * em.max(self.em) => out.push(b'\n'),
            Some(_) => {
                let ems = (x - self.end) / em;
                if absolute {
                    // A string placed on its own apart from the last one's end: the next
                    // cell (a word going on in a string of its own is placed at the end of
                    // the last; a browser's cells are as close as their padding). Placed
                    // before the end the font's own widths give, it is the next cell too:
                    // the last one's text ran past its cell, which clips it (a spreadsheet
                    // printed with a name wider than its column).
                    let back = if self.exact { -0.1 } else { -0.6 };
                    if !(back..=0.1).contains(&ems) {
                        out.push(b'\t');
                    }
                } else {
                    // Placed after the last: a word's gap, or more than two characters' gap
                    // (the next column of a line laid out in columns).
                    if !(-0.6..=2.0).contains(&ems) {
                        out.push(b'\t');
                    } else if ems > 0.15 {
                        out.push(b' ');
                    }
                }
            }
            None => {}
        }
        self.line = Some(y);
        self.end = x;
        self.em = em;
    }

    /// A move along the line of `ems` of the font's size within a string's parts: the next
    /// cell (more than a word's gap, or back along the line), a word's gap, or none (kerning).
    pub(super) fn gap(&mut self, ems: f32, out: &mut Vec<u8>) {
        if ems.is_finite() {
            if !(-0.6..=0.8).contains(&ems) {
                out.push(b'\t');
            } else if ems > 0.15 {
                out.push(b' ');
            }
            self.end += ems * self.em;
        }
    }

    /// Codes shown of `ems` of the font's size in all.
    pub(super) fn advance(&mut self, ems: f32) {
        self.end += ems * if self.em > 0.0 { self.em } else { 1.0 };
        self.exact = true;
    }

    /// Characters shown (UTF-8): the line's end moves by their usual widths.
    pub(super) fn shown(&mut self, text: &[u8]) {
        let ems: f32 = text
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .map(|&b| match b {
                b'0'..=b'9' => 0.556,
                b' ' | b'.' | b',' | b':' | b';' | b'i' | b'l' | b'j' => 0.278,
                b'A'..=b'Z' => 0.667,
                b'm' | b'w' => 0.833,
                _ => 0.5,
            })
            .sum();
        self.end += ems * if self.em > 0.0 { self.em } else { 1.0 };
        self.exact = false;
    }
}

/// What reading the shown text came to: characters written, codes no map read.
#[derive(Default)]
pub(super) struct Read {
    pub(super) characters: u64,
    pub(super) unmapped: u64,
}

/// Codes of a font with one-byte codes and no map: as its encoding's differences name them,
/// else read as Latin-1 (the standard encodings agree with it on letters, digits and
/// punctuation).
pub(super) fn latin1(
    codes: &[u8],
    differences: Option<&Differences>,
    out: &mut Vec<u8>,
    read: &mut Read,
) {
    for &c in codes {
        let given = differences.map_or('\0', |d| d[usize::from(c)]);
        let ch = match given {
            '\0' if c >= 0x20 || c == b'\t' => char::from(c),
            '\0' => continue,
            given => given,
        };
        let mut s = String::new();
        push_unligated(ch, &mut s);
        out.extend_from_slice(s.as_bytes());
        read.characters += 1;
    }
}

/// Pushes `ch`, a ligature as its letters: a font's glyph for `fi` or `ffl` (as Chromium,
/// LaTeX and Word set `Beneficiary`, `Confirmation`) maps to the Unicode ligature, which no
/// keyword or label would match.
fn push_unligated(ch: char, out: &mut String) {
    match ch {
        '\u{FB00}' => out.push_str("ff"),
        '\u{FB01}' => out.push_str("fi"),
        '\u{FB02}' => out.push_str("fl"),
        '\u{FB03}' => out.push_str("ffi"),
        '\u{FB04}' => out.push_str("ffl"),
        '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
        ch => out.push(ch),
    }
}

impl CodeMap {
    /// Reads a ToUnicode CMap: its code space's width and its `bfchar` and `bfrange` entries.
    #[cfg(test)]
    pub(super) fn parse(text: &[u8]) -> CodeMap {
        Self::parse_within(text, 4 * MAX_MAP_CODES)
    }

    /// `CodeMap::parse`, reading at most `limit` entries (what the document's maps may still
    /// read) and [`MAX_MAP_DESTINATION`] bytes of each entry's characters.
    pub(super) fn parse_within(text: &[u8], limit: usize) -> CodeMap {
        #[derive(PartialEq)]
        enum Section {
            None,
            Space,
            Chars,
            Ranges,
        }
        let mut map = CodeMap {
            limit: limit.min(4 * MAX_MAP_CODES),
            ..CodeMap::default()
        };
        let mut section = Section::None;
        let mut strings: Vec<Vec<u8>> = Vec::new();
        let mut array: Option<Vec<Vec<u8>>> = None;
        let mut i = 0;
        while i < text.len() {
            let c = text[i];
            if c == b'<' {
                let Some(close) = memchr::memchr(b'>', &text[i..]) else {
                    break;
                };
                let s = hex_string(&text[i + 1..i + close]);
                i += close + 1;
                match array.as_mut() {
                    Some(a) => a.push(s),
                    None => strings.push(s),
                }
            } else if c == b'[' {
                array = Some(Vec::new());
                i += 1;
            } else if c == b']' {
                if let (Some(a), [lo, hi]) = (array.take(), strings.as_slice())
                    && section == Section::Ranges
                {
                    map.range_array(lo, hi, &a);
                }
                strings.clear();
                i += 1;
            } else if c.is_ascii_alphabetic() {
                let len = text[i..]
                    .iter()
                    .position(|&b| delimiter(b))
                    .unwrap_or(text.len() - i);
                section = match &text[i..i + len] {
                    b"begincodespacerange" => Section::Space,
                    b"beginbfchar" => Section::Chars,
                    b"beginbfrange" => Section::Ranges,
                    w if w.starts_with(b"end") => Section::None,
                    _ => section,
                };
                strings.clear();
                i += len;
            } else {
                i += 1;
            }
            match (&section, strings.len()) {
                (Section::Space, 2) => {
                    if map.width == 0 {
                        map.width = strings[0].len().clamp(1, 4);
                    }
                    strings.clear();
                }
                (Section::Chars, 2) => {
                    map.insert(code(&strings[0]), &strings[1]);
                    strings.clear();
                }
                (Section::Ranges, 3) => {
                    let (lo, hi) = (code(&strings[0]), code(&strings[1]));
                    map.range(lo, hi, &strings[2]);
                    strings.clear();
                }
                (Section::None | Section::Space | Section::Chars | Section::Ranges, _) => {}
            }
        }
        if map.width == 0 {
            map.width = 1;
        }
        map.cover();
        map
    }

    /// Maps codes `lo` to `hi` (at most 65,536 of them) to `first`'s characters counted up,
    /// while the map has room: whether it had.
    fn range(&mut self, lo: u32, hi: u32, first: &[u8]) -> bool {
        if lo > hi || self.spans.len() >= MAX_MAP_CODES {
            return false;
        }
        if self.read >= self.limit {
            self.limited = true;
            return false;
        }
        self.read += 1;
        self.spans.push(Span {
            lo,
            hi: hi.min(lo.saturating_add(0xFFFF)),
            first: first[..first.len().min(MAX_MAP_DESTINATION)].to_vec(),
            place: self.read as u32,
        });
        true
    }

    /// The ranges' codes as disjoint pieces, each to the latest range that maps it: the
    /// ranges latest first, each taking what no later one took. What is taken is kept merged
    /// beside the pieces, so each range passes over the stretches taken before it once.
    fn cover(&mut self) {
        let mut latest_first: Vec<usize> = (0..self.spans.len()).collect();
        latest_first.sort_by_key(|&i| std::cmp::Reverse(self.spans[i].place));
        // Stretches taken, merged: first code → last code.
        let mut taken: BTreeMap<u32, u32> = BTreeMap::new();
        for i in latest_first {
            let (lo, hi) = (self.spans[i].lo, self.spans[i].hi);
            // The taken stretches that touch lo..=hi, in order (one may begin before lo).
            let before = taken
                .range(..lo)
                .next_back()
                .filter(|&(_, &end)| end >= lo)
                .map(|(&start, &end)| (start, end));
            let within: Vec<(u32, u32)> = before
                .into_iter()
                .chain(taken.range(lo..=hi).map(|(&start, &end)| (start, end)))
                .collect();
            let mut next = u64::from(lo);
            for &(start, end) in &within {
                if u64::from(start) > next {
                    self.pieces.insert(next as u32, (start - 1, i as u32));
                }
                next = next.max(u64::from(end) + 1);
            }
            if next <= u64::from(hi) {
                self.pieces.insert(next as u32, (hi, i as u32));
            }
            // lo..=hi and what it touched are one stretch now.
            let (mut start, mut end) = (lo, hi);
            for (s, e) in within {
                taken.remove(&s);
                (start, end) = (start.min(s), end.max(e));
            }
            taken.insert(start, end);
        }
    }

    pub(super) fn range_array(&mut self, lo: &[u8], hi: &[u8], dst: &[Vec<u8>]) {
        for (c, d) in (code(lo)..=code(hi)).zip(dst) {
            if !self.insert(c, d) {
                break;
            }
        }
    }

    /// Maps code `c` to the characters of `utf16` (UTF-16, big-endian), while the map has room:
    /// whether it had.
    pub(super) fn insert(&mut self, c: u32, utf16: &[u8]) -> bool {
        if self.codes.len() >= MAX_MAP_CODES {
            return false;
        }
        if self.read >= self.limit {
            self.limited = true;
            return false;
        }
        self.read += 1;
        // (Room for what most entries hold: one character of up to three bytes, or a ligature.)
        let mut s = String::with_capacity(utf16.len().clamp(2, MAX_MAP_DESTINATION) * 3 / 2);
        characters(utf16, &mut s);
        self.codes.insert(c, (self.read as u32, s.into_boxed_str()));
        true
    }

    /// Writes the characters of `codes` to `out`.
    pub(super) fn write(&self, codes: &[u8], out: &mut Vec<u8>, read: &mut Read) {
        let mut counted = String::new();
        let mut dst = Vec::new();
        for c in codes.chunks(self.width) {
            let c = code(c);
            let one = self.codes.get(&c);
            // The range that maps it, unless an entry of its own came later.
            let span = self
                .pieces
                .range(..=c)
                .next_back()
                .filter(|&(_, &(last, _))| last >= c)
                .map(|(_, &(_, i))| &self.spans[i as usize])
                .filter(|span| one.is_none_or(|(place, _)| span.place > *place));
            let s = match (span, one) {
                (Some(span), _) => {
                    dst.clear();
                    dst.extend_from_slice(&span.first);
                    add_to_last(&mut dst, c - span.lo);
                    counted.clear();
                    characters(&dst, &mut counted);
                    counted.as_str()
                }
                (None, Some((_, s))) => s,
                (None, None) => {
                    read.unmapped += 1;
                    continue;
                }
            };
            out.extend_from_slice(s.as_bytes());
            read.characters += s.chars().count() as u64;
        }
    }

    /// The codes it maps one by one, and its ranges (what it keeps, [`Fonts::held_bytes`]).
    pub(super) fn entries_kept(&self) -> usize {
        self.codes.len() + self.spans.len() + self.pieces.len()
    }
}

/// A code's value from its bytes (big-endian, at most four).
pub(super) fn code(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |v, &b| (v << 8) | u32::from(b))
}

/// The characters of `utf16` (UTF-16, big-endian; at most [`MAX_MAP_DESTINATION`] bytes of it),
/// ligatures as their letters, pushed to `out`.
fn characters(utf16: &[u8], out: &mut String) {
    let utf16 = &utf16[..utf16.len().min(MAX_MAP_DESTINATION)];
    let units = utf16
        .chunks_exact(2)
        .map(|u| u16::from_be_bytes([u[0], u[1]]));
    for ch in char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)) {
        push_unligated(ch, out);
    }
}

/// Adds `k` to the last UTF-16 unit of `dst` (a range's characters follow its first's).
pub(super) fn add_to_last(dst: &mut [u8], k: u32) {
    if dst.len() >= 2 {
        let n = dst.len();
        let last = u32::from(u16::from_be_bytes([dst[n - 2], dst[n - 1]])).wrapping_add(k);
        dst[n - 2..].copy_from_slice(&(last as u16).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::{CodeMap, Place, Read, latin1};

    /// A font's ligature glyphs (`fi`, `ffl`), mapped to the Unicode ligatures as Chromium and
    /// LaTeX map them, read as their letters: `Beneficiary` is a word a label may hold.
    #[test]
    fn ligatures_read_as_their_letters() {
        let map = CodeMap::parse(
            b"1 begincodespacerange <00> <FF> endcodespacerange\n\
              3 beginbfchar <01> <0042> <02> <FB01> <03> <FB04> endbfchar",
        );
        let (mut out, mut read) = (Vec::new(), Read::default());
        map.write(&[1, 2, 3], &mut out, &mut read);
        assert_eq!(out, b"Bfiffl");
        let mut differences = ['\0'; 256];
        differences[0x80] = '\u{FB02}';
        out.clear();
        latin1(b"a\x80y", Some(&differences), &mut out, &mut read);
        assert_eq!(out, b"afly");
    }

    /// Entries that map a code twice: the later holds, a range's or one of its own, as when
    /// ranges were written out code by code; a range is one entry however many codes it
    /// spans.
    #[test]
    fn a_later_entry_holds_over_an_earlier_one() {
        let map = CodeMap::parse(
            b"1 begincodespacerange <00> <FF> endcodespacerange\n\
              1 beginbfchar <05> <0058> endbfchar\n\
              1 beginbfrange <01> <0A> <0041> endbfrange\n\
              1 beginbfchar <07> <0059> endbfchar\n\
              1 beginbfrange <09> <0C> <0061> endbfrange\n\
              1 beginbfrange <00> <FF> <0030> endbfrange\n\
              1 beginbfchar <00> <005A> endbfchar\n",
        );
        assert_eq!(map.read, 6);
        let (mut out, mut read) = (Vec::new(), Read::default());
        map.write(&[0, 1, 5, 7, 8, 9, 0x0B, 0x0C, 0x0D], &mut out, &mut read);
        // The last range maps every code: what it counts up to (`0` and on) holds where no
        // later entry of its own does (code 0).
        assert_eq!(out, "Z1578\u{39}\u{3B}\u{3C}\u{3D}".as_bytes());
        let earlier = CodeMap::parse(
            b"1 begincodespacerange <00> <FF> endcodespacerange\n\
              1 beginbfchar <05> <0058> endbfchar\n\
              1 beginbfrange <01> <0A> <0041> endbfrange\n\
              1 beginbfchar <07> <0059> endbfchar\n\
              1 beginbfrange <09> <0C> <0061> endbfrange\n",
        );
        let (mut out, mut read) = (Vec::new(), Read::default());
        earlier.write(&[1, 5, 7, 8, 9, 0x0B, 0x0C, 0x0D], &mut out, &mut read);
        assert_eq!(out, b"AEYHacd");
        assert_eq!((read.characters, read.unmapped), (7, 1));
    }

    /// Lines a line's height apart (a font of 12, 14 apart) are one line end apart; a blank
    /// line's worth further down (an empty paragraph) is a blank line; cells along a line are
    /// tabs apart.
    #[test]
    fn a_blank_lines_gap_is_a_blank_line() {
        let mut place = Place::default();
        let mut out = Vec::new();
        for (x, y) in [(72.0, 700.0), (72.0, 686.0), (72.0, 658.0), (300.0, 658.0)] {
            place.at(x, y, 12.0, true, &mut out);
            out.push(b'x');
            place.advance(1.0);
        }
        assert_eq!(out, b"x\nx\n\nx\tx");
    }

    /// A string placed by its own text object before the last one's end, as the font's own
    /// widths give it, is the next cell (the last ran past its column, clipped: a printed
    /// spreadsheet's long name); reckoned from the usual widths, which may be off, the same
    /// overlap is taken for the estimate's error and the word goes on.
    #[test]
    fn a_cell_placed_over_the_last_ones_clipped_end_is_the_next_cell() {
        let mut out = Vec::new();
        let mut exact = Place::default();
        exact.at(72.0, 700.0, 10.0, true, &mut out);
        exact.advance(5.0);
        exact.at(119.0, 700.0, 10.0, true, &mut out);
        assert_eq!(out, b"\t");
        out.clear();
        let mut estimated = Place::default();
        estimated.at(72.0, 700.0, 10.0, true, &mut out);
        estimated.shown(b"Emma Johnso");
        let end = estimated.end;
        estimated.at(end - 3.0, 700.0, 10.0, true, &mut out);
        assert!(out.is_empty());
    }
}
