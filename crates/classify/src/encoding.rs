//! Text the scanner reads in another encoding than ASCII's supersets: UTF-16, as Windows tools
//! and spreadsheets export "Unicode text", told by its byte order mark. Each 16-bit code unit
//! becomes one byte: itself when it is ASCII, else a byte that is no letter, digit or delimiter
//! (as a UTF-8 sequence's bytes are to the scanner), so the scanner's rules read the text as
//! they read ASCII and nothing it holds is passed over as binary.
//!
//! Pure: bytes in, bytes out; a code unit cut by a chunk's end is kept for the next.

/// What a code unit that is not ASCII becomes.
const OTHER: u8 = 0x80;

/// A UTF-16 text being narrowed, chunk by chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Utf16 {
    big_endian: bool,
    /// The first byte of a code unit the last chunk cut.
    cut: Option<u8>,
}

impl Utf16 {
    /// The encoding a file's first two bytes say, as a byte order mark (`FF FE`: UTF-16
    /// little-endian; `FE FF`: big-endian); `None` for any other.
    pub(crate) fn from_bom(first: [u8; 2]) -> Option<Self> {
        let big_endian = match first {
            [0xFF, 0xFE] => false,
            [0xFE, 0xFF] => true,
            _ => return None,
        };
        Some(Utf16 {
            big_endian,
            cut: None,
        })
    }

    /// Appends the narrowed form of `data` (the bytes after the last chunk's) to `out`.
    pub(crate) fn narrow(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if let Some(first) = self.cut.take() {
            let Some((&second, rest)) = data.split_first() else {
                self.cut = Some(first);
                return;
            };
            out.push(self.unit(first, second));
            data = rest;
        }
        let units = data.chunks_exact(2);
        self.cut = units.remainder().first().copied();
        out.reserve(data.len() / 2);
        out.extend(units.map(|u| self.unit(u[0], u[1])));
    }

    /// One code unit's byte.
    fn unit(&self, a: u8, b: u8) -> u8 {
        let (high, low) = if self.big_endian { (a, b) } else { (b, a) };
        if high == 0 && low < 0x80 { low } else { OTHER }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn narrowed(bom: [u8; 2], bytes: &[u8], cut: usize) -> Vec<u8> {
        let mut u = Utf16::from_bom(bom).unwrap();
        let mut out = Vec::new();
        for chunk in bytes.chunks(cut) {
            u.narrow(chunk, &mut out);
        }
        out
    }

    #[test]
    fn code_units_become_bytes_whatever_the_chunks() {
        let text = "Card 4111 1111 1111 1111, café, 日本\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let want: Vec<u8> = text
            .encode_utf16()
            .map(|u| if u < 0x80 { u as u8 } else { OTHER })
            .collect();
        for cut in 1..=9 {
            assert_eq!(narrowed([0xFF, 0xFE], &le, cut), want, "{cut}");
            assert_eq!(narrowed([0xFE, 0xFF], &be, cut), want, "{cut}");
        }
        assert!(Utf16::from_bom([0xEF, 0xBB]).is_none());
        assert!(Utf16::from_bom(*b"ca").is_none());
    }
}
