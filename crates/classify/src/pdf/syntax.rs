//! The syntax of a PDF's objects and pages' contents, read from their text: delimiters and
//! white space, numbers, strings (literal and hexadecimal), names, references, an object's
//! header, a dictionary's entries (looked up by key, without parsing the dictionary whole).
//!
//! Pure: bytes in, values out; every read is bounded by the text it is given. Never here:
//! what an object means (the reader and the fonts decide).

/// Whether `b` ends a token.
pub(super) fn delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    ) || white(b)
}

pub(super) fn white(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

/// A number of a page's contents (`12`, `-3.5`, `.25`; 0 where it is not one): the usual
/// forms read directly, others by the standard library.
pub(super) fn number(token: &[u8]) -> f64 {
    let (negative, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, token),
    };
    let (whole, fraction) = match memchr::memchr(b'.', digits) {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &[][..]),
    };
    if whole.len() + fraction.len() <= 15 && whole.iter().chain(fraction).all(u8::is_ascii_digit) {
        let value = |d: &[u8]| d.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
        let n = value(whole) as f64 + value(fraction) as f64 / 10f64.powi(fraction.len() as i32);
        return if negative { -n } else { n };
    }
    std::str::from_utf8(token)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|n| n.is_finite())
        .unwrap_or(0.0)
}

/// A literal string at the start of `t` (`(` … `)`, nested parentheses balanced, escapes
/// read): its bytes and the bytes it took; `None` where it does not end in `t`.
pub(crate) fn literal_string(t: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < t.len() {
        let c = t[i];
        match c {
            b'(' => {
                depth += 1;
                if depth > 1 {
                    out.push(c);
                }
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((out, i + 1));
                }
                out.push(c);
            }
            b'\\' => {
                i += 1;
                let e = *t.get(i)?;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'0'..=b'7' => {
                        let digits = t[i..]
                            .iter()
                            .take(3)
                            .take_while(|d| (b'0'..=b'7').contains(d))
                            .count();
                        let v = t[i..i + digits]
                            .iter()
                            .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
                        out.push(v as u8);
                        i += digits - 1;
                    }
                    // A line end escaped: the string goes on on the next line.
                    b'\r' => {
                        if t.get(i + 1) == Some(&b'\n') {
                            i += 1;
                        }
                    }
                    b'\n' => {}
                    _ => out.push(e),
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    None
}

/// The bytes of a hexadecimal string's digits (white space passed over; an odd last digit
/// is followed by 0).
pub(super) fn hex_string(digits: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(digits.len() / 2);
    let mut high = None;
    for d in digits.iter().filter_map(|&c| (c as char).to_digit(16)) {
        match high.take() {
            Some(h) => out.push((h << 4 | d) as u8),
            None => high = Some(d),
        }
    }
    if let Some(h) = high {
        out.push((h << 4) as u8);
    }
    out
}

/// The last object header (`12 0 obj`) in `text`: its number and the text after it.
pub(super) fn object_header(text: &[u8]) -> Option<(u32, &[u8])> {
    let trailing_digits = |t: &[u8]| t.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    memchr::memmem::rfind_iter(text, b"obj").find_map(|at| {
        // `obj` as a word after a number and a generation, each a token of its own.
        if text.get(at + 3).is_some_and(|&b| !delimiter(b)) {
            return None;
        }
        let before = text[..at].trim_ascii_end();
        let generation = trailing_digits(before);
        let rest = &before[..before.len() - generation];
        if generation == 0 || !rest.last().is_some_and(|&b| white(b)) {
            return None;
        }
        let rest = rest.trim_ascii_end();
        let digits = trailing_digits(rest);
        let start = rest.len() - digits;
        if digits == 0 || digits > 9 || start > 0 && !delimiter(rest[start - 1]) {
            return None;
        }
        let number = std::str::from_utf8(&rest[start..]).ok()?.parse().ok()?;
        Some((number, &text[at + 3..]))
    })
}

/// The generation of the last object header in `text` (`12 3 obj`: 3), 0 where there is none.
pub(super) fn object_generation(text: &[u8]) -> u16 {
    let Some(at) =
        memchr::memmem::rfind(text, b" obj").or_else(|| memchr::memmem::rfind(text, b"obj"))
    else {
        return 0;
    };
    let before = text[..at].trim_ascii_end();
    let digits = before
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&before[before.len() - digits..])
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(0)
}

/// Where the value of `key` (a name with its slash) begins in a dictionary's text: after the
/// key as a whole name (`/Length` not `/Length1`).
pub(crate) fn key_at(dict: &[u8], key: &[u8]) -> Option<usize> {
    // (By its first byte, a key's slash: building a substring search for each key looked up
    // cost more than reading a small dictionary, a file of many small objects most of all.)
    let first = *key.first()?;
    memchr::memchr_iter(first, dict)
        .filter(|&at| dict[at..].starts_with(key))
        .map(|at| at + key.len())
        .find(|&end| dict.get(end).is_none_or(|&b| delimiter(b)))
}

/// The name that is `key`'s value, without its slash.
pub(crate) fn name_value(dict: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let rest = dict[key_at(dict, key)?..].trim_ascii_start();
    let name = rest.strip_prefix(b"/")?;
    let len = name
        .iter()
        .position(|&b| delimiter(b))
        .unwrap_or(name.len());
    Some(name[..len].to_vec())
}

/// The string that is `key`'s value (literal or hexadecimal), its bytes.
pub(crate) fn string_value(dict: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    string_at(dict[key_at(dict, key)?..].trim_ascii_start())
}

/// The string `text` begins with (literal or hexadecimal), its bytes.
pub(super) fn string_at(text: &[u8]) -> Option<Vec<u8>> {
    match text.first()? {
        b'(' => literal_string(text).map(|(s, _)| s),
        b'<' if text.get(1) != Some(&b'<') => {
            let close = memchr::memchr(b'>', text)?;
            Some(hex_string(&text[1..close]))
        }
        _ => None,
    }
}

/// The integer that is `key`'s value, where it is given directly (not a reference).
pub(super) fn direct_integer(dict: &[u8], key: &[u8]) -> Option<u64> {
    let rest = dict[key_at(dict, key)?..].trim_ascii_start();
    let (n, after) = leading_integer(rest)?;
    // `12 0 R` is a reference to the value, not the value.
    if let Some((_, after_generation)) = leading_integer(after.trim_ascii_start())
        && after_generation.trim_ascii_start().starts_with(b"R")
    {
        return None;
    }
    Some(n)
}

/// The integer `text` begins with (at most 18 digits) and what follows it.
pub(super) fn leading_integer(text: &[u8]) -> Option<(u64, &[u8])> {
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 18 {
        return None;
    }
    let n = std::str::from_utf8(&text[..digits]).ok()?.parse().ok()?;
    Some((n, &text[digits..]))
}

/// The object a reference at the start of `text` (`12 0 R`) names.
pub(super) fn reference(text: &[u8]) -> Option<u32> {
    let (n, after) = leading_integer(text.trim_ascii_start())?;
    let (_, after) = leading_integer(after.trim_ascii_start())?;
    after
        .trim_ascii_start()
        .starts_with(b"R")
        .then_some(u32::try_from(n).ok()?)
}

/// The names in `text` (without their slashes).
pub(super) fn names_in(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&b| b == b'/')
        .skip(1)
        .map(|n| {
            let len = n.iter().position(|&b| delimiter(b)).unwrap_or(n.len());
            n[..len].to_vec()
        })
        .collect()
}

/// The dictionary `text` begins with (`<<` … `>>`, dictionaries inside it balanced), or all
/// of `text` where it does not close.
pub(super) fn balanced(text: &[u8]) -> &[u8] {
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < text.len() {
        match &text[i..i + 2] {
            b"<<" => {
                depth += 1;
                i += 2;
            }
            b">>" => {
                depth = depth.saturating_sub(1);
                i += 2;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => i += 1,
        }
    }
    text
}

/// The objects the references in `text` (`6 0 R 7 0 R`) name.
pub(super) fn references_in(text: &[u8]) -> Vec<u32> {
    let words: Vec<&[u8]> = text
        .split(|&b| delimiter(b))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(3)
        .filter(|w| w[2] == b"R")
        .filter_map(|w| {
            let number = std::str::from_utf8(w[0]).ok()?.parse().ok()?;
            std::str::from_utf8(w[1]).ok()?.parse::<u32>().ok()?;
            Some(number)
        })
        .collect()
}

/// A text string's characters (UTF-16 with its byte order mark, UTF-8 with its, else
/// PDFDocEncoding, read as Latin-1: they agree on letters, digits and punctuation).
pub(super) fn text_string(bytes: &[u8]) -> String {
    if let Some(utf16) = bytes.strip_prefix(b"\xFE\xFF") {
        let units = utf16
            .chunks_exact(2)
            .map(|u| u16::from_be_bytes([u[0], u[1]]));
        return char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
    }
    if let Some(utf8) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(utf8).into_owned();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The names and fonts of a font dictionary's text (from after its `<<`, up to its `>>`).
pub(super) fn font_names(dict: &[u8]) -> Vec<(Vec<u8>, u32)> {
    let end = memchr::memmem::find(dict, b">>").unwrap_or(dict.len());
    let mut rest = &dict[..end];
    let mut found = Vec::new();
    while let Some(slash) = memchr::memchr(b'/', rest) {
        let name = &rest[slash + 1..];
        let len = name
            .iter()
            .position(|&b| delimiter(b))
            .unwrap_or(name.len());
        let after = &name[len..];
        if let Some(font) = reference(after) {
            found.push((name[..len].to_vec(), font));
        }
        rest = after;
    }
    found
}

/// Whether `text` names an encryption dictionary (`/Encrypt 5 0 R` or `/Encrypt <<`, in a
/// trailer or a cross-reference stream's dictionary).
pub(super) fn names_encryption(text: &[u8]) -> bool {
    key_at(text, b"/Encrypt").is_some_and(|at| {
        let rest = text[at..].trim_ascii_start();
        rest.starts_with(b"<<") || reference(rest).is_some()
    })
}
