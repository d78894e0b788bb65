//! The table of a session's open handles. Bounded per connection (all its SFTP channels
//! together). A handle string is 16 random bytes drawn from the server's entropy: unguessable,
//! and (2^-128 aside) never reused, so a stale or forged handle names nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use service::files::{Listing, ReadFile, Upload};
use service::sessions::LiveSession;

// Each handle is allocated once, behind an `Arc`: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum OpenHandle {
    Read(ReadFile),
    Write(Upload),
    Dir(Listing),
}

/// A handle as the client holds it.
pub type HandleKey = [u8; HANDLE_LEN];

/// Bytes of a handle string.
pub const HANDLE_LEN: usize = 16;

pub struct HandleTable {
    /// Open handles, with their number in the connection's list of open files.
    open: HashMap<HandleKey, (Arc<OpenHandle>, u32)>,
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

    /// Registers a handle under `token` (random); `None` when the connection has `max` open
    /// already.
    pub fn insert(&mut self, h: Arc<OpenHandle>, token: HandleKey) -> Option<Bytes> {
        let max = self.max;
        let reserved =
            self.live
                .handles_open
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                });
        if reserved.is_err() || self.next == u32::MAX || self.open.contains_key(&token) {
            if reserved.is_ok() {
                self.live.handles_open.fetch_sub(1, Ordering::AcqRel);
            }
            return None;
        }
        let number = self.next;
        self.next += 1;
        match h.as_ref() {
            OpenHandle::Read(f) => self
                .live
                .file_opened(self.file_key(number), f.path.display()),
            OpenHandle::Write(up) => {
                let path = format!("{} (writing)", up.path.display());
                self.live.file_opened(self.file_key(number), path);
            }
            OpenHandle::Dir(_) => {}
        }
        self.open.insert(token, (h, number));
        Some(Bytes::copy_from_slice(&token))
    }

    pub fn get(&self, key: &HandleKey) -> Option<Arc<OpenHandle>> {
        self.open.get(key).map(|(h, _)| h.clone())
    }

    pub fn remove(&mut self, key: &HandleKey) -> Option<Arc<OpenHandle>> {
        let (h, number) = self.open.remove(key)?;
        self.live.handles_open.fetch_sub(1, Ordering::AcqRel);
        self.live.file_closed(self.file_key(number));
        Some(h)
    }

    /// Removes `h` wherever it is registered; whether it was.
    pub fn remove_handle(&mut self, h: &Arc<OpenHandle>) -> bool {
        let key = self
            .open
            .iter()
            .find(|(_, (open, _))| Arc::ptr_eq(open, h))
            .map(|(k, _)| *k);
        key.is_some_and(|k| self.remove(&k).is_some())
    }

    pub fn drain(&mut self) -> Vec<Arc<OpenHandle>> {
        let numbers: Vec<u32> = self.open.values().map(|(_, n)| *n).collect();
        for n in numbers {
            self.live.file_closed(self.file_key(n));
        }
        let all: Vec<_> = self.open.drain().map(|(_, (h, _))| h).collect();
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
pub fn parse(raw: &[u8]) -> Option<HandleKey> {
    HandleKey::try_from(raw).ok()
}
