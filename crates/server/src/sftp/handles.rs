//! The table of a session's open handles. Bounded per connection (all its SFTP channels
//! together); handle strings are 4-byte counters that are never reused within a session, so a
//! stale handle can never name a newer file.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::files::{Listing, ReadFile, Upload};
use crate::sessions::LiveSession;

// Each handle is allocated once, behind an `Arc`: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum OpenHandle {
    Read(ReadFile),
    Write(Upload),
    Dir(Listing),
}

pub struct HandleTable {
    open: HashMap<u32, Arc<OpenHandle>>,
    next: u32,
    max: usize,
    /// The connection: its count of handles open on every channel (shared by their tables)
    /// and its list of open files (for `session list`).
    live: Arc<LiveSession>,
    /// This table's number within the connection.
    table: u64,
}

impl HandleTable {
    /// A channel's table; the connection's channels together hold at most `max` handles.
    pub fn new(max: usize, live: Arc<LiveSession>) -> Self {
        Self {
            open: HashMap::new(),
            next: 1,
            max,
            table: live.new_table(),
            live,
        }
    }

    fn file_key(&self, handle: u32) -> u64 {
        (self.table << 32) | u64::from(handle)
    }

    /// Registers a handle; `Err` gives it back when the connection has `max` open already.
    pub fn insert(&mut self, h: Arc<OpenHandle>) -> Result<Bytes, Arc<OpenHandle>> {
        let max = self.max;
        let reserved =
            self.live
                .handles_open
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                });
        if reserved.is_err() || self.next == u32::MAX {
            if reserved.is_ok() {
                self.live.handles_open.fetch_sub(1, Ordering::AcqRel);
            }
            return Err(h);
        }
        let key = self.next;
        self.next += 1;
        match h.as_ref() {
            OpenHandle::Read(f) => self.live.file_opened(self.file_key(key), f.path.display()),
            OpenHandle::Write(up) => {
                let path = format!("{} (writing)", up.path.display());
                self.live.file_opened(self.file_key(key), path);
            }
            OpenHandle::Dir(_) => {}
        }
        self.open.insert(key, h);
        Ok(Bytes::copy_from_slice(&key.to_be_bytes()))
    }

    pub fn get(&self, key: u32) -> Option<Arc<OpenHandle>> {
        self.open.get(&key).cloned()
    }

    pub fn remove(&mut self, key: u32) -> Option<Arc<OpenHandle>> {
        let h = self.open.remove(&key);
        if h.is_some() {
            self.live.handles_open.fetch_sub(1, Ordering::AcqRel);
            self.live.file_closed(self.file_key(key));
        }
        h
    }

    pub fn drain(&mut self) -> Vec<Arc<OpenHandle>> {
        let keys: Vec<u32> = self.open.keys().copied().collect();
        for k in keys {
            self.live.file_closed(self.file_key(k));
        }
        let all: Vec<_> = self.open.drain().map(|(_, h)| h).collect();
        self.live
            .handles_open
            .fetch_sub(all.len(), Ordering::AcqRel);
        all
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

/// The table key of a handle string, if it has the shape of one of ours.
pub fn parse(raw: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(raw).ok().map(u32::from_be_bytes)
}
