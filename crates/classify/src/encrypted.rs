//! Encrypted files, told by their first bytes: OpenPGP messages (binary packets, or ASCII
//! armor as `gpg --armor` writes it), CMS enveloped data (S/MIME's `.p7m`, DER) and age files.
//! Their contents cannot be read without the key, so their classes are unknown; the scheme is
//! named so that a report can tell an encrypted file from one that is merely not text (taken
//! encrypted, a file exposes nothing unless its key was taken too).
//!
//! Pure: a file's first bytes in, the scheme out. Nothing is decrypted or decoded beyond the
//! first packet's header.

/// OpenPGP's armor line for a message (encrypted, or signed and compressed).
const PGP_ARMOR: &[u8] = b"-----BEGIN PGP MESSAGE-----";
/// age's header, in binary and in armor.
const AGE: &[u8] = b"age-encryption.org/v1\n";
const AGE_ARMOR: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
/// The DER object identifiers of CMS enveloped data (1.2.840.113549.1.7.3) and authenticated
/// enveloped data (1.2.840.113549.1.9.16.1.23), with their tag and length.
const CMS_ENVELOPED: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03,
];
const CMS_AUTH_ENVELOPED: &[u8] = &[
    0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17,
];

/// What a file's `head` says of it: encrypted with a scheme (its name), or an OpenPGP message
/// in armor that is not encrypted (signed and compressed: encoded, not text to scan), or
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sealed {
    Encrypted(&'static str),
    Encoded,
}

/// Whether `head`, a file's first bytes, is an encrypted file, and with what.
pub(crate) fn sealed(head: &[u8]) -> Option<Sealed> {
    let text = head.trim_ascii_start();
    if text.starts_with(PGP_ARMOR) {
        let tag = armored_first_byte(&text[PGP_ARMOR.len()..]).and_then(packet_tag);
        return Some(match tag {
            Some(1 | 3) => Sealed::Encrypted("openpgp"),
            _ => Sealed::Encoded,
        });
    }
    if head.starts_with(AGE) || text.starts_with(AGE_ARMOR) {
        return Some(Sealed::Encrypted("age"));
    }
    if openpgp_encrypted(head) {
        return Some(Sealed::Encrypted("openpgp"));
    }
    if cms_enveloped(head) || smime_enveloped(head) {
        return Some(Sealed::Encrypted("cms"));
    }
    None
}

/// An S/MIME message whose part is CMS enveloped data (`Content-Type: application/pkcs7-mime;
/// smime-type=enveloped-data`, in its headers: the first kilobyte, before a blank line).
fn smime_enveloped(head: &[u8]) -> bool {
    // Built once, and run first: every file's head is searched.
    static MIME: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"7-mime"));
    static MIME_UPPER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"7-MIME"));
    let first = &head[..head.len().min(1024)];
    if MIME.find(first).is_none() && MIME_UPPER.find(first).is_none() {
        return false;
    }
    let headers = memchr::memmem::find(first, b"\n\n")
        .or_else(|| memchr::memmem::find(first, b"\r\n\r\n"))
        .map_or(first, |end| &first[..end]);
    let lower = headers.to_ascii_lowercase();
    memchr::memmem::find(&lower, b"pkcs7-mime").is_some()
        && memchr::memmem::find(&lower, b"enveloped-data").is_some()
}

/// A binary OpenPGP message that begins with a session key packet: public-key encrypted (tag
/// 1, version 3 or 6) or symmetric-key encrypted (tag 3, version 4, 5 or 6), as every
/// encrypted message does.
fn openpgp_encrypted(head: &[u8]) -> bool {
    let Some(&first) = head.first() else {
        return false;
    };
    let Some(tag) = packet_tag(first) else {
        return false;
    };
    // The body begins after the length: one byte (old format, length type 0; new format
    // under 192), two, or five.
    let length_bytes = if first & 0x40 == 0 {
        match first & 3 {
            0 => 1,
            1 => 2,
            2 => 4,
            _ => return false, // indeterminate: not a session key packet
        }
    } else {
        match head.get(1) {
            Some(0..=191) => 1,
            Some(192..=223) => 2,
            Some(255) => 5,
            _ => return false,
        }
    };
    let version = head.get(1 + length_bytes).copied();
    matches!((tag, version), (1, Some(3 | 6)) | (3, Some(4..=6)))
}

/// An OpenPGP packet's tag from its first byte (old or new format), if the byte begins one.
fn packet_tag(first: u8) -> Option<u8> {
    if first & 0x80 == 0 {
        return None;
    }
    Some(if first & 0x40 != 0 {
        first & 0x3F
    } else {
        (first >> 2) & 0x0F
    })
}

/// The first byte of an armored message's body: after the armor line, its header lines
/// (`Version: …`) and the blank line, the first four characters of base64.
fn armored_first_byte(after_line: &[u8]) -> Option<u8> {
    let mut rest = after_line;
    // The end of the armor line, then header lines until a blank one (some writers put none).
    rest = &rest[rest.iter().position(|&b| b == b'\n')? + 1..];
    loop {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let line = rest[..end].trim_ascii();
        if line.is_empty() {
            rest = &rest[end + 1..];
            break;
        }
        if !line.contains(&b':') {
            break; // no header lines: the body begins
        }
        rest = &rest[end + 1..];
    }
    let body = rest.trim_ascii_start();
    let value = |c: u8| -> Option<u8> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let (a, b) = (value(*body.first()?)?, value(*body.get(1)?)?);
    Some((a << 2) | (b >> 4))
}

/// A DER (or BER) CMS content info whose content type is enveloped or authenticated
/// enveloped data: a sequence, its length, then that object identifier.
fn cms_enveloped(head: &[u8]) -> bool {
    if head.first() != Some(&0x30) {
        return false;
    }
    let skip = match head.get(1) {
        Some(0x80) => 2, // indefinite (BER)
        Some(n @ 0x81..=0x84) => 2 + usize::from(n - 0x80),
        Some(0..=0x7F) => 2,
        _ => return false,
    };
    let rest = head.get(skip..).unwrap_or_default();
    rest.starts_with(CMS_ENVELOPED) || rest.starts_with(CMS_AUTH_ENVELOPED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_files_are_told_by_their_first_bytes() {
        // gpg --encrypt (new format PKESK, version 3), old format (as gpg 1 wrote it), and a
        // symmetric one (gpg -c: SKESK version 4).
        assert_eq!(
            sealed(&[
                0xC1, 0x4C, 0x03, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81, 0x01
            ]),
            Some(Sealed::Encrypted("openpgp"))
        );
        assert_eq!(
            sealed(&[0x85, 0x01, 0x0C, 0x03, 0x1A, 0x2B]),
            Some(Sealed::Encrypted("openpgp"))
        );
        assert_eq!(
            sealed(&[0x8C, 0x0D, 0x04, 0x09, 0x03, 0x08]),
            Some(Sealed::Encrypted("openpgp"))
        );
        assert_eq!(
            sealed(&[0xC3, 0x0D, 0x04, 0x09, 0x03, 0x08]),
            Some(Sealed::Encrypted("openpgp"))
        );
        // Armored: its first packet read from the base64 (`hQ` is 0x85, `wc` 0xC1; `owE` a
        // compressed packet, signed and not encrypted).
        let armored = |body: &str| {
            format!(
                "{}\nVersion: GnuPG v2\n\n{body}\n=abcd\n-----END PGP MESSAGE-----\n",
                "-----BEGIN PGP MESSAGE-----"
            )
        };
        assert_eq!(
            sealed(armored("hQEMA1234567890").as_bytes()),
            Some(Sealed::Encrypted("openpgp"))
        );
        assert_eq!(
            sealed(b"\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nwcFMA1234\r\n"),
            Some(Sealed::Encrypted("openpgp"))
        );
        assert_eq!(
            sealed(armored("owEBbQGS/pANAwAI").as_bytes()),
            Some(Sealed::Encoded)
        );
        // age, binary and armored; CMS enveloped data.
        assert_eq!(
            sealed(b"age-encryption.org/v1\n-> X25519 abc\n"),
            Some(Sealed::Encrypted("age"))
        );
        assert_eq!(
            sealed(b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n"),
            Some(Sealed::Encrypted("age"))
        );
        let mut cms = vec![0x30, 0x82, 0x01, 0x00];
        cms.extend(CMS_ENVELOPED);
        assert_eq!(sealed(&cms), Some(Sealed::Encrypted("cms")));
        let mut cms = vec![0x30, 0x80];
        cms.extend(CMS_AUTH_ENVELOPED);
        assert_eq!(sealed(&cms), Some(Sealed::Encrypted("cms")));
        // S/MIME, as `openssl cms -encrypt` writes it.
        let smime = b"MIME-Version: 1.0\nContent-Disposition: attachment; filename=\"smime.p7m\"\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\nContent-Transfer-Encoding: base64\n\nMIIB";
        assert_eq!(sealed(smime), Some(Sealed::Encrypted("cms")));
        // A mail that only mentions it in its text, after its headers: read.
        assert_eq!(
            sealed(b"Subject: keys\n\nSend pkcs7-mime enveloped-data files.\n"),
            None
        );
        // Neither: text, a signed (cleartext) message, a PNG, signed CMS, a public key block,
        // a PKESK of an unknown version, and nothing.
        for head in [
            &b"card 4111 1111 1111 1111\n"[..],
            b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nPay 100\n",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            &[
                0x30, 0x82, 0x01, 0x00, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07,
                0x02,
            ],
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n",
            &[0xC1, 0x4C, 0x09, 0x00],
            &[0x85],
            b"",
        ] {
            assert_eq!(sealed(head), None, "{head:?}");
        }
    }
}
