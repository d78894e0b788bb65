//! The table of a session's open handles. Bounded; handle strings are 4-byte counters that are
//! never reused within a session, so a stale handle can never name a newer file.

use std::collections::HashMap;
use std::sync::Arc;

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
}

impl HandleTable {
    pub fn new(max: usize) -> Self {
        Self {
            open: HashMap::new(),
            next: 1,
            max,
        }
    }

    /// Registers a handle; `Err` gives it back when the table is full.
    pub fn insert(&mut self, h: Arc<OpenHandle>) -> Result<Bytes, Arc<OpenHandle>> {
        if self.open.len() >= self.max || self.next == u32::MAX {
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
        self.open.remove(&key)
    }

    pub fn drain(&mut self) -> Vec<Arc<OpenHandle>> {
        self.open.drain().map(|(_, h)| h).collect()
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

/// The table key of a handle string, if it has the shape of one of ours.
pub fn parse(raw: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(raw).ok().map(u32::from_be_bytes)
}
