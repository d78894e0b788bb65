//! The table of a session's open handles. Bounded per connection (all its SFTP channels
//! together); handle strings are 4-byte counters that are never reused within a session, so a
//! stale handle can never name a newer file.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use crate::files::{Listing, ReadFile, Upload};

pub enum OpenHandle {
    Read(ReadFile),
    Write(Upload),
    Dir(Listing),
}

pub struct HandleTable {
    open: HashMap<u32, Arc<OpenHandle>>,
    next: u32,
    max: usize,
    /// Handles open on every channel of the connection (shared by their tables).
    connection_open: Arc<AtomicUsize>,
}

impl HandleTable {
    /// A channel's table; `connection_open` counts the handles of all the connection's
    /// channels, which together hold at most `max`.
    pub fn new(max: usize, connection_open: Arc<AtomicUsize>) -> Self {
        Self {
            open: HashMap::new(),
            next: 1,
            max,
            connection_open,
        }
    }

    /// Registers a handle; `Err` gives it back when the connection has `max` open already.
    pub fn insert(&mut self, h: Arc<OpenHandle>) -> Result<Bytes, Arc<OpenHandle>> {
        let max = self.max;
        let reserved =
            self.connection_open
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                });
        if reserved.is_err() || self.next == u32::MAX {
            if reserved.is_ok() {
                self.connection_open.fetch_sub(1, Ordering::AcqRel);
            }
            return Err(h);
        }
        let key = self.next;
        self.next += 1;
        self.open.insert(key, h);
        Ok(Bytes::copy_from_slice(&key.to_be_bytes()))
    }

    pub fn get(&self, key: u32) -> Option<Arc<OpenHandle>> {
        self.open.get(&key).cloned()
    }

    pub fn remove(&mut self, key: u32) -> Option<Arc<OpenHandle>> {
        let h = self.open.remove(&key);
        if h.is_some() {
            self.connection_open.fetch_sub(1, Ordering::AcqRel);
        }
        h
    }

    pub fn drain(&mut self) -> Vec<Arc<OpenHandle>> {
        let all: Vec<_> = self.open.drain().map(|(_, h)| h).collect();
        self.connection_open.fetch_sub(all.len(), Ordering::AcqRel);
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
