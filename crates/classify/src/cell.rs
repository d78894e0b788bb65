//! A typed value written as a table's cell: what the readers of data files (Parquet, Avro,
//! SQLite, dBase, SQL dumps) write for the scanner, so that the same value reads the same
//! whichever file held it. Text keeps its bytes, the table's separators and other control
//! bytes as spaces (a blob's bytes would make the rows look binary); a whole number in
//! decimal, a decimal with its scale, a floating-point number that is whole as its digits (a
//! card number kept as a double).
//!
//! Pure: values in, bytes out; never a value's meaning.

use std::io::Write as _;

/// Text: its bytes, control bytes (tabs and line ends among them) as spaces.
pub(crate) fn text(out: &mut Vec<u8>, v: &[u8]) {
    out.extend(v.iter().map(|&b| text_byte(b)));
}

/// A text's byte as a cell's: a control byte as a space.
pub(crate) fn text_byte(b: u8) -> u8 {
    if b < 0x20 || b == 0x7F { b' ' } else { b }
}

/// A whole number with `scale` digits after a decimal point (0: an integer).
pub(crate) fn decimal(out: &mut Vec<u8>, n: i128, scale: u32) {
    if scale == 0 {
        let _ = write!(out, "{n}");
        return;
    }
    let digits = n.unsigned_abs().to_string();
    let scale = scale as usize;
    if n < 0 {
        out.push(b'-');
    }
    if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(whole.as_bytes());
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    }
}

/// A decimal stored as a big-endian two's complement of at most 16 bytes (a longer one is
/// not written).
pub(crate) fn big_endian_decimal(out: &mut Vec<u8>, v: &[u8], scale: u32) {
    if v.len() > 16 {
        return;
    }
    let fill = if v.first().is_some_and(|b| b & 0x80 != 0) {
        0xFF
    } else {
        0
    };
    let mut b = [fill; 16];
    b[16 - v.len()..].copy_from_slice(v);
    decimal(out, i128::from_be_bytes(b), scale);
}

/// A floating-point number: a whole one as its digits, else as Rust writes it; nothing for
/// one that is not finite.
pub(crate) fn float(out: &mut Vec<u8>, f: f64) {
    if !f.is_finite() {
        return;
    }
    if f.fract() == 0.0 && f.abs() < 1e18 {
        let _ = write!(out, "{}", f as i64);
    } else {
        let _ = write!(out, "{f}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_written_as_their_text() {
        assert_eq!(written(|o| decimal(o, 123456, 2)), "1234.56");
        assert_eq!(written(|o| decimal(o, -5, 3)), "-0.005");
        assert_eq!(written(|o| decimal(o, 4000000, 0)), "4000000");
        assert_eq!(
            written(|o| big_endian_decimal(o, &[0xFF, 0x85], 1)),
            "-12.3"
        );
        assert_eq!(
            written(|o| float(o, 4111111111111111.0)),
            "4111111111111111"
        );
        assert_eq!(written(|o| float(o, 0.5)), "0.5");
        assert_eq!(written(|o| float(o, f64::NAN)), "");
        assert_eq!(written(|o| text(o, b"a\tb\nc\x00d")), "a b c d");
    }
}
