//! Client paths to jailed path components. Every path is read against the tenant root `/`:
//! `.` and empty components vanish, `..` never climbs above the root, and NUL bytes or
//! over-long names are refused. The result names a place inside the jail or nothing.

use bytes::Bytes;

/// Longest file name, in bytes (as Linux's NAME_MAX).
pub const MAX_NAME_LEN: usize = 255;
/// Longest path, in bytes (as Linux's PATH_MAX).
pub const MAX_PATH_LEN: usize = 4096;

use super::FsError;

/// A normalised path inside the jail, as its components (never `.`, `..` or empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JailPath(pub Vec<Bytes>);

impl JailPath {
    pub fn parse(raw: &Bytes) -> Result<Self, FsError> {
        if raw.len() > MAX_PATH_LEN {
            return Err(FsError::InvalidPath("path too long"));
        }
        if raw.contains(&0) {
            return Err(FsError::InvalidPath("path contains a NUL byte"));
        }
        let mut comps: Vec<Bytes> = Vec::new();
        for part in raw.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    comps.pop();
                }
                name if name.len() > MAX_NAME_LEN => {
                    return Err(FsError::InvalidPath("file name too long"));
                }
                name => comps.push(raw.slice_ref(name)),
            }
        }
        Ok(Self(comps))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The parent's components and the last name; `None` for the root.
    pub fn split_last(&self) -> Option<(&[Bytes], &Bytes)> {
        self.0.split_last().map(|(last, rest)| (rest, last))
    }

    /// For logs: the absolute form, non-UTF-8 bytes replaced.
    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }

    /// The absolute form shown to the client (`/a/b`).
    pub fn to_bytes(&self) -> Bytes {
        if self.0.is_empty() {
            return Bytes::from_static(b"/");
        }
        let mut out = Vec::with_capacity(self.0.iter().map(|c| c.len() + 1).sum());
        for c in &self.0 {
            out.push(b'/');
            out.extend_from_slice(c);
        }
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &[u8]) -> Result<Vec<u8>, FsError> {
        JailPath::parse(&Bytes::copy_from_slice(p)).map(|j| j.to_bytes().to_vec())
    }

    #[test]
    fn dot_dot_never_leaves_the_jail() {
        assert_eq!(norm(b"../../etc/passwd").unwrap(), b"/etc/passwd");
        assert_eq!(norm(b"/a/../../..").unwrap(), b"/");
        assert_eq!(norm(b"a/./b//c/..").unwrap(), b"/a/b");
        assert_eq!(norm(b"").unwrap(), b"/");
        assert_eq!(norm(b"caf\xe9").unwrap(), b"/caf\xe9");
    }

    proptest::proptest! {
        /// Whatever the client sends, the result is an error or a path of plain names.
        #[test]
        fn every_parse_stays_inside(raw in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(b'/'), proptest::strategy::Just(b'.'),
                proptest::strategy::Just(0u8), proptest::prelude::any::<u8>()
            ], 0..300)) {
            if let Ok(p) = JailPath::parse(&Bytes::from(raw)) {
                for c in &p.0 {
                    proptest::prop_assert!(!c.is_empty() && c.as_ref() != b"." && c.as_ref() != b"..");
                    proptest::prop_assert!(!c.contains(&b'/') && !c.contains(&0));
                    proptest::prop_assert!(c.len() <= MAX_NAME_LEN);
                }
                // Normalising is idempotent.
                proptest::prop_assert_eq!(JailPath::parse(&p.to_bytes()).unwrap(), p);
            }
        }
    }

    #[test]
    fn refuses_nul_and_long_names() {
        assert!(matches!(norm(b"a\0b"), Err(FsError::InvalidPath(_))));
        assert!(matches!(norm(&[b'x'; 256]), Err(FsError::InvalidPath(_))));
        assert!(norm(&[b'x'; 255]).is_ok());
    }
}
