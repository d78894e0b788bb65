//! Pivot caches: a workbook's copies of its sheets' rows, counted only when their definition says
//! they come from elsewhere. Never here: the sheets.

use crate::encoding::held;
use crate::scan::Classification;

/// Which part of a workbook's pivot cache an archive's entry is (`xl/pivotCache/`), and the
/// cache's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PivotPart {
    /// `pivotCacheDefinitionN.xml`: where the cache's rows come from, its fields' items.
    Definition,
    /// `pivotCacheRecordsN.xml`: the rows.
    Records,
}

/// The pivot cache part an entry named `name` is, and its cache's number.
pub(crate) fn pivot_part(name: &[u8]) -> Option<(u32, PivotPart)> {
    let file = name
        .strip_prefix(b"xl/pivotCache/")?
        .strip_suffix(b".xml")?;
    let (kind, n) = if let Some(n) = file.strip_prefix(b"pivotCacheDefinition") {
        (PivotPart::Definition, n)
    } else {
        (PivotPart::Records, file.strip_prefix(b"pivotCacheRecords")?)
    };
    let n = std::str::from_utf8(n).ok()?.parse().ok()?;
    Some((n, kind))
}

/// Bytes of a cache definition's beginning read for its source (`<cacheSource>` follows the
/// root element's attributes).
pub(crate) const PIVOT_HEAD: usize = 4096;

/// Whether a pivot cache definition (its first [`PIVOT_HEAD`] bytes) says its rows are a
/// worksheet's of the same workbook: a `cacheSource` of type `worksheet` whose
/// `worksheetSource` names no other workbook (`r:id`).
pub(crate) fn from_own_sheet(head: &[u8]) -> bool {
    let found = |what: &[u8]| memchr::memmem::find(head, what);
    let Some(source) = found(b"<cacheSource") else {
        return false;
    };
    let tag_end = |at: usize| head[at..].iter().position(|&b| b == b'>').map(|e| at + e);
    let Some(end) = tag_end(source) else {
        return false;
    };
    if memchr::memmem::find(&head[source..end], b"type=\"worksheet\"").is_none() {
        return false;
    }
    let Some(sheet) = found(b"<worksheetSource") else {
        return false;
    };
    tag_end(sheet).is_some_and(|end| memchr::memmem::find(&head[sheet..end], b"r:id=").is_none())
}

/// Pivot caches kept to be judged at the archive's end (beyond, each part counts as read).
const MAX_PIVOT_CACHES: usize = 4096;

/// A workbook's pivot caches: a copy of the rows a pivot table summarises, kept in the file
/// beside them. A cache whose rows are a worksheet of the same workbook holds nothing the
/// sheet does not (counting it too would count its customers twice); one whose rows came from
/// elsewhere (a database's query, another workbook) may be the only copy, and counts. Its
/// parts may come in either order, so what each holds is kept until the archive ends.
#[derive(Default)]
pub(crate) struct PivotCaches {
    caches: Vec<PivotCache>,
}

/// A pivot cache's number, whether its rows are a sheet's of the workbook, and what its parts
/// hold (with their bytes).
struct PivotCache {
    n: u32,
    own_sheet: bool,
    parts: Vec<(Classification, u64)>,
}

impl PivotCaches {
    /// A part of cache `n` read (`own_sheet`: a definition's verdict on its source): kept, or
    /// handed back when too many caches are kept.
    pub(crate) fn add(
        &mut self,
        n: u32,
        found: Classification,
        bytes: u64,
        own_sheet: Option<bool>,
    ) -> Option<(Classification, u64)> {
        let i = match self.caches.iter().position(|c| c.n == n) {
            Some(i) => i,
            None if self.caches.len() < MAX_PIVOT_CACHES => {
                self.caches.push(PivotCache {
                    n,
                    own_sheet: false,
                    parts: Vec::new(),
                });
                self.caches.len() - 1
            }
            None => return Some((found, bytes)),
        };
        let cache = &mut self.caches[i];
        cache.own_sheet |= own_sheet.unwrap_or(false);
        cache.parts.push((found, bytes));
        None
    }

    /// What counts of the caches: all of those whose rows came from elsewhere; of those that
    /// copy a sheet, only what could not be read (the workbook stays a lower bound).
    pub(crate) fn finish(self) -> Vec<(Classification, u64)> {
        let mut counted = Vec::new();
        for cache in self.caches {
            for (found, bytes) in cache.parts {
                if !cache.own_sheet {
                    counted.push((found, bytes));
                    continue;
                }
                counted.push((found.unread_only(), 0));
            }
        }
        counted
    }

    pub(crate) fn held_bytes(&self) -> usize {
        held(&self.caches) + self.caches.iter().map(|c| held(&c.parts)).sum::<usize>()
    }
}
