//! RAR archives (`.rar`, RAR 1.5 to 4 and RAR 5), told by their signature: their contents are
//! not read (RAR's compression is its own), so an archive is `binary` beside `rar`; whether it
//! is encrypted is told from its first headers, where its first file says so (`rar -p`: the file
//! header's encryption flag, or RAR 5's file encryption record) or the archive's headers are
//! encrypted themselves (`rar -hp`): `encrypted:rar`, counted in the incident report among the
//! files exposed only with their password.
//!
//! Pure: the file's first bytes in, its formats out; every size read is checked against them.

use crate::Format;
use crate::little_endian::{u16_at, u32_at};

/// The signatures of RAR 1.5-4 and of RAR 5 archives.
const RAR4: &[u8] = b"Rar!\x1A\x07\x00";
const RAR5: &[u8] = b"Rar!\x1A\x07\x01\x00";

/// RAR 1.5-4 block types and flags: the archive header (its headers encrypted), a file
/// header (the file encrypted), and a block followed by data (`ADD_SIZE`).
const RAR4_MAIN: u8 = 0x73;
const RAR4_FILE: u8 = 0x74;
const RAR4_MAIN_ENCRYPTED_HEADERS: u16 = 0x0080;
const RAR4_FILE_ENCRYPTED: u16 = 0x0004;
const RAR4_ADD_SIZE: u16 = 0x8000;

/// RAR 5 header types, header flags and the file encryption record.
const RAR5_FILE: u64 = 2;
const RAR5_ENCRYPTION: u64 = 4;
const RAR5_END: u64 = 5;
const RAR5_EXTRA: u64 = 0x0001;
const RAR5_DATA: u64 = 0x0002;
const RAR5_FILE_ENCRYPTION_RECORD: u64 = 0x01;

/// The formats of a RAR archive whose first bytes are `head`: `binary`, `encrypted:rar` where
/// its first file or its headers are encrypted, `rar`; `None` for any other file.
pub(crate) fn formats(head: &[u8]) -> Option<Vec<Format>> {
    let encrypted = if let Some(rest) = head.strip_prefix(RAR5) {
        rar5_encrypted(rest)
    } else if let Some(rest) = head.strip_prefix(RAR4) {
        rar4_encrypted(rest)
    } else {
        return None;
    };
    let mut formats = vec![Format::Binary];
    if encrypted == Some(true) {
        formats.push(Format::Encrypted("rar".into()));
    }
    formats.push(Format::Rar);
    Some(formats)
}

/// RAR 1.5-4: its blocks in order until the first file's header (`None`: not within `blocks`).
fn rar4_encrypted(mut blocks: &[u8]) -> Option<bool> {
    loop {
        // HEAD_CRC, HEAD_TYPE, HEAD_FLAGS, HEAD_SIZE, then ADD_SIZE where the flags say.
        let kind = *blocks.get(2)?;
        let flags = u16_at(blocks, 3)?;
        let size = usize::from(u16_at(blocks, 5)?);
        match kind {
            RAR4_MAIN if flags & RAR4_MAIN_ENCRYPTED_HEADERS != 0 => return Some(true),
            RAR4_FILE => return Some(flags & RAR4_FILE_ENCRYPTED != 0),
            _ => {}
        }
        let data = if flags & RAR4_ADD_SIZE != 0 {
            u32_at(blocks, 7)? as usize
        } else {
            0
        };
        if size < 7 {
            return None;
        }
        blocks = blocks.get(size.checked_add(data)?..)?;
    }
}

/// A RAR 5 variable-length integer at `at` (seven bits a byte, at most ten bytes), moving on.
fn vint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// RAR 5: its headers in order until the first file's (`None`: not within `headers`).
fn rar5_encrypted(mut headers: &[u8]) -> Option<bool> {
    loop {
        // CRC32, the header's size (from its type on), its type and flags, the extra area's
        // and the data's sizes where the flags say; the extra area ends the header.
        let mut at = 4;
        let size = usize::try_from(vint(headers, &mut at)?).ok()?;
        let body_from = at;
        let end = body_from.checked_add(size)?;
        let header = headers.get(..end)?;
        let kind = vint(header, &mut at)?;
        let flags = vint(header, &mut at)?;
        let extra = if flags & RAR5_EXTRA != 0 {
            usize::try_from(vint(header, &mut at)?).ok()?
        } else {
            0
        };
        let data = if flags & RAR5_DATA != 0 {
            usize::try_from(vint(header, &mut at)?).ok()?
        } else {
            0
        };
        match kind {
            RAR5_ENCRYPTION => return Some(true),
            RAR5_END => return Some(false),
            RAR5_FILE => {
                let records = header.get(end.checked_sub(extra)?..)?;
                return has_encryption_record(records);
            }
            _ => {}
        }
        headers = headers.get(end.checked_add(data)?..)?;
    }
}

/// Whether a RAR 5 file header's extra area holds a file encryption record.
fn has_encryption_record(records: &[u8]) -> Option<bool> {
    let mut at = 0;
    while at < records.len() {
        let size = usize::try_from(vint(records, &mut at)?).ok()?;
        let next = at.checked_add(size)?;
        let mut field = at;
        if vint(records, &mut field)? == RAR5_FILE_ENCRYPTION_RECORD {
            return Some(true);
        }
        at = next;
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RAR 5 variable-length integer.
    fn v(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    /// A RAR 5 header of `kind` with `fields`, an extra area of `extra` records and `data`
    /// bytes after it (CRCs left zero: not checked here).
    fn header5(kind: u64, fields: &[u8], extra: &[Vec<u8>], data: &[u8]) -> Vec<u8> {
        let extra: Vec<u8> = extra.iter().flatten().copied().collect();
        let mut flags = 0;
        let mut sizes = Vec::new();
        if !extra.is_empty() {
            flags |= RAR5_EXTRA;
            sizes.extend(v(extra.len() as u64));
        }
        if !data.is_empty() {
            flags |= RAR5_DATA;
            sizes.extend(v(data.len() as u64));
        }
        let body = [v(kind), v(flags), sizes, fields.to_vec(), extra].concat();
        [vec![0; 4], v(body.len() as u64), body, data.to_vec()].concat()
    }

    /// A record of the extra area: its size, then its type and data.
    fn record(kind: u64, data: &[u8]) -> Vec<u8> {
        let body = [v(kind), data.to_vec()].concat();
        [v(body.len() as u64), body].concat()
    }

    fn archive5(encrypted_file: bool, encrypted_headers: bool) -> Vec<u8> {
        let mut out = RAR5.to_vec();
        if encrypted_headers {
            out.extend(header5(RAR5_ENCRYPTION, &[0, 0, 15], &[], &[]));
            out.extend([0xAB; 48]);
            return out;
        }
        out.extend(header5(1, &[0], &[], &[]));
        // A comment (a service header) before the file, as `rar -z` writes one.
        out.extend(header5(3, &[0, 0, 0, 0, 0, 3], &[], b"CMTa comment"));
        let name = b"customers.csv";
        let fields = [
            v(0),
            v(1000),
            v(0x20),
            v(0x30),
            v(0),
            v(name.len() as u64),
            name.to_vec(),
        ]
        .concat();
        let mut extra = vec![record(3, &[0x02, 0, 0, 0, 0])];
        if encrypted_file {
            extra.push(record(RAR5_FILE_ENCRYPTION_RECORD, &[0, 0, 15, 0xCD, 0xCD]));
        }
        out.extend(header5(RAR5_FILE, &fields, &extra, &[0x55; 300]));
        out.extend(header5(RAR5_END, &[0], &[], &[]));
        out
    }

    /// A RAR 1.5-4 block: HEAD_CRC, type, flags, size, ADD_SIZE where data follows.
    fn block4(kind: u8, flags: u16, fields: &[u8], data: &[u8]) -> Vec<u8> {
        let flags = flags | if data.is_empty() { 0 } else { RAR4_ADD_SIZE };
        let add = if data.is_empty() { 0 } else { 4 };
        let size = 7 + add + fields.len();
        let mut out = vec![0, 0, kind];
        out.extend(flags.to_le_bytes());
        out.extend((size as u16).to_le_bytes());
        if !data.is_empty() {
            out.extend((data.len() as u32).to_le_bytes());
        }
        out.extend(fields);
        out.extend(data);
        out
    }

    fn archive4(encrypted_file: bool, encrypted_headers: bool) -> Vec<u8> {
        let mut out = RAR4.to_vec();
        let main_flags = if encrypted_headers {
            RAR4_MAIN_ENCRYPTED_HEADERS
        } else {
            0
        };
        out.extend(block4(RAR4_MAIN, main_flags, &[0; 6], &[]));
        // A comment block, then the file.
        out.extend(block4(0x75, 0, &[0; 6], b"a comment"));
        let file_flags = if encrypted_file {
            RAR4_FILE_ENCRYPTED
        } else {
            0
        };
        out.extend(block4(RAR4_FILE, file_flags, &[0; 21], &[0x55; 300]));
        out
    }

    #[test]
    fn rar_archives_are_named_and_their_encryption_told() {
        let rar = |encrypted: bool| {
            let mut f = vec![Format::Binary];
            if encrypted {
                f.push(Format::Encrypted("rar".into()));
            }
            f.push(Format::Rar);
            f
        };
        for (file, headers) in [(false, false), (true, false), (false, true)] {
            let want = rar(file || headers);
            assert_eq!(
                formats(&archive5(file, headers)),
                Some(want.clone()),
                "5 {file} {headers}"
            );
            assert_eq!(
                formats(&archive4(file, headers)),
                Some(want.clone()),
                "4 {file} {headers}"
            );
            // Through the scanner, in any chunks.
            for bytes in [archive5(file, headers), archive4(file, headers)] {
                for size in [1, 7, 4096] {
                    assert_eq!(crate::scan::in_chunks(&bytes, size).formats, want);
                }
            }
        }
        // Its first file beyond the bytes read: named, its encryption not known.
        let cut = archive5(true, false);
        assert_eq!(formats(&cut[..40]), Some(rar(false)));
        // Not a RAR archive.
        assert_eq!(formats(b"Rar! is not a signature"), None);
    }

    proptest::proptest! {
        /// Any bytes after either signature: a verdict, never a panic.
        #[test]
        fn any_headers_give_a_verdict(
            five in proptest::prelude::any::<bool>(),
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        ) {
            let head = [if five { RAR5 } else { RAR4 }, &rest].concat();
            let found = formats(&head).unwrap();
            proptest::prop_assert!(found.contains(&Format::Rar));
        }
    }
}
