//! Classification of stored files: what data classes and bank formats a file holds
//! (`crates/classify` decides that). An upload is scanned while it is written when its writes
//! arrive in order (a large file is not read twice); otherwise, and for files stored before
//! classification, the file is read back after its commit. The result is sealed with the
//! tenant key, bound to the file's contents, and stored in the file's catalog row.
//!
//! Never here: what counts as a card number or an IBAN (crates/classify), sealing itself (the
//! vault).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use catalog::Node;
use classify::{Classification, Patterns, Scanner};
use vault::TenantKey;

use super::path::JailPath;
use super::{Files, FsError, FsResult, blocking};

/// Bytes of out-of-order writes held back per upload, waiting for the gap before them to be
/// written; beyond this the upload is classified by reading it back after its commit.
pub const MAX_REORDER_BYTES: usize = 2 << 20;
/// Bytes read back per step.
const READ_BACK_CHUNK: usize = 256 << 10;

/// An upload's scan as its writes arrive.
pub struct Streamed {
    /// The next offset the scanner expects.
    next: u64,
    /// `None` once the scan was given up (the file is then read back after its commit).
    scanner: Option<Scanner>,
    /// Writes that arrived ahead of `next`.
    ahead: BTreeMap<u64, Bytes>,
    ahead_bytes: usize,
}

impl Streamed {
    /// For a file written from empty; `None` scanner (read back later) for one that starts
    /// from earlier contents (a resumed or appended upload).
    pub fn new(from_empty: bool, patterns: Option<Arc<Patterns>>) -> Self {
        Self {
            next: 0,
            scanner: from_empty.then(|| Scanner::with_patterns(patterns)),
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
        }
    }

    /// `data` was written at `offset`.
    pub fn wrote(&mut self, offset: u64, data: &Bytes) {
        let Some(scanner) = self.scanner.as_mut() else {
            return;
        };
        if offset != self.next {
            if offset < self.next || self.ahead_bytes + data.len() > MAX_REORDER_BYTES {
                // Overwritten or too far ahead: read it back instead.
                self.give_up();
            } else {
                self.ahead_bytes += data.len();
                self.ahead.insert(offset, data.clone());
            }
            return;
        }
        scanner.feed(data);
        self.next += data.len() as u64;
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() != self.next {
                if *entry.key() < self.next {
                    self.give_up();
                }
                return;
            }
            let chunk = entry.remove();
            self.ahead_bytes -= chunk.len();
            scanner.feed(&chunk);
            self.next += chunk.len() as u64;
        }
    }

    fn give_up(&mut self) {
        self.scanner = None;
        self.ahead.clear();
        self.ahead_bytes = 0;
    }

    /// What the scan found, if it saw the whole file of `size` bytes in order.
    pub fn finish(&mut self, size: u64) -> Option<Classification> {
        let scanner = self.scanner.take()?;
        (self.next == size && self.ahead.is_empty()).then(|| scanner.finish())
    }
}

/// The sealed stored form of `c` for a file whose contents have `content_root` (empty when
/// unsealed).
pub(crate) fn seal(tk: &TenantKey, content_root: &[u8], c: &Classification) -> Vec<u8> {
    tk.seal_classes(content_root, c.encode().as_bytes())
}

impl Files {
    /// The tenant's own patterns (read once per session; a stored pattern that no longer
    /// compiles is skipped and logged).
    pub(crate) async fn patterns(&self) -> Option<Arc<Patterns>> {
        self.patterns
            .get_or_init(|| async {
                let stored = match self.catalog.classify_patterns(self.tenant_id).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "classification patterns could not be read");
                        return None;
                    }
                };
                let usable: Vec<(&str, &str)> = stored
                    .iter()
                    .filter(|(name, source)| {
                        let ok = classify::patterns::compile(name, source).is_ok();
                        if !ok {
                            tracing::warn!(pattern = %name, "a stored classification pattern does not compile; skipped");
                        }
                        ok
                    })
                    .map(|(n, s)| (n.as_str(), s.as_str()))
                    .collect();
                Patterns::new(usable)
                    .ok()
                    .filter(|p| !p.is_empty())
                    .map(Arc::new)
            })
            .await
            .clone()
    }

    /// What classification found in `node`, if it has been classified.
    pub async fn classes_of(&self, node: &Node) -> FsResult<Option<Classification>> {
        let Some(sealed) = &node.classes else {
            return Ok(None);
        };
        let tk = self.tenant_key().await?;
        let root = node.seal.as_ref().map_or(&[][..], |s| &s.content_root[..]);
        let plain = tk.open_classes(root, sealed)?;
        // Sealed, so only this code wrote it; a stored form that does not read is damage.
        let damaged = || FsError::Key(vault::KeyError::Name);
        let text = String::from_utf8(plain).map_err(|_| damaged())?;
        Classification::decode(&text).map(Some).ok_or_else(damaged)
    }

    /// Reads the file at `path` back, classifies it and stores the result (unless the file
    /// was replaced meanwhile). Returns what it found.
    pub async fn classify_stored(&self, path: &JailPath) -> FsResult<Classification> {
        let file = self.open_read(path).await?;
        let (blob, size) = (file.blob.clone(), file.node.size);
        let patterns = self.patterns().await;
        let found = blocking(move || {
            let mut scanner = Scanner::with_patterns(patterns);
            let mut buf = vec![0u8; READ_BACK_CHUNK];
            let mut at = 0u64;
            while at < size {
                let n = blob.read_at(&mut buf, at)?;
                if n == 0 {
                    break;
                }
                scanner.feed(&buf[..n]);
                at += n as u64;
            }
            Ok::<_, vault::BlobError>(scanner.finish())
        })
        .await
        .map_err(|e| FsError::from(e).at(path))?;
        let tk = self.tenant_key().await?;
        let root = file.node.seal.as_ref().map(|s| s.content_root.clone());
        let sealed = seal(&tk, root.as_deref().unwrap_or_default(), &found);
        self.catalog
            .set_classes(file.node.id, root, size, sealed)
            .await?;
        Ok(found)
    }

    /// After a commit whose writes could not be scanned as they came: reads the file back in
    /// the background.
    pub(crate) fn classify_later(&self, path: JailPath) {
        let files = self.clone();
        tokio::spawn(async move {
            if let Err(e) = files.classify_stored(&path).await {
                tracing::warn!(error = %e, "an upload could not be classified after its commit");
            }
        });
    }
}
