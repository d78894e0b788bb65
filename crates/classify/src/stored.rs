//! A stored file read at places: what the readers of formats read from their end or by their
//! pages (Parquet's footer, SQLite's page trees, 7-Zip's header) are handed when an upload is
//! read back after its commit ([`crate::classify_stored`]), so that all of such a file is read
//! whatever its size.
//!
//! Pure: it asks its caller for bytes at places; it never opens a file.

/// A stored file: its size, and how to read it at a place (fill a buffer from there and say
/// how many bytes it gave; `None` for an error).
#[derive(Clone, Copy)]
pub(crate) struct Stored<'a> {
    pub(crate) size: u64,
    read_at: &'a dyn Fn(u64, &mut [u8]) -> Option<usize>,
}

impl<'a> Stored<'a> {
    pub(crate) fn new(size: u64, read_at: &'a dyn Fn(u64, &mut [u8]) -> Option<usize>) -> Self {
        Stored { size, read_at }
    }

    /// Fills `buf` from `at`: `None` where the file ends before it is full or cannot be read.
    pub(crate) fn fill(&self, at: u64, buf: &mut [u8]) -> Option<()> {
        let mut got = 0;
        while got < buf.len() {
            let k = (self.read_at)(at.checked_add(got as u64)?, &mut buf[got..])?;
            if k == 0 {
                return None;
            }
            got += k;
        }
        Some(())
    }

    /// `n` bytes from `at` (fewer at the file's end).
    pub(crate) fn read(&self, at: u64, n: usize) -> Option<Vec<u8>> {
        let n = n.min(usize::try_from(self.size.checked_sub(at)?).unwrap_or(usize::MAX));
        let mut buf = vec![0u8; n];
        self.fill(at, &mut buf)?;
        Some(buf)
    }
}
