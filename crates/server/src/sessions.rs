//! The registry of live connections: counts per source address and per account (the configured
//! limits), and a handle on each connection so that shutdown can close them all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use russh::server::Handle;

#[derive(Default)]
struct Inner {
    by_address: HashMap<IpAddr, usize>,
    by_account: HashMap<i64, usize>,
    connections: HashMap<u64, Handle>,
    next_id: u64,
}

#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

/// Held while a connection lives; releases its counts when dropped.
pub struct ConnectionSlot {
    registry: Registry,
    pub id: u64,
    address: IpAddr,
}

/// Held while an authenticated session lives.
pub struct AccountSlot {
    registry: Registry,
    account_id: i64,
}

impl Registry {
    /// Counts a new connection from `address`; `None` when that address is at its limit.
    pub fn admit(&self, address: IpAddr, max: usize) -> Option<ConnectionSlot> {
        let mut g = self.inner.lock().ok()?;
        let n = g.by_address.entry(address).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        g.next_id += 1;
        Some(ConnectionSlot {
            registry: self.clone(),
            id: g.next_id,
            address,
        })
    }

    pub fn attach(&self, slot: &ConnectionSlot, handle: Handle) {
        if let Ok(mut g) = self.inner.lock() {
            g.connections.insert(slot.id, handle);
        }
    }

    /// Counts a session of `account_id`; `None` when the account is at its limit.
    pub fn login(&self, account_id: i64, max: usize) -> Option<AccountSlot> {
        let mut g = self.inner.lock().ok()?;
        let n = g.by_account.entry(account_id).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(AccountSlot {
            registry: self.clone(),
            account_id,
        })
    }

    /// Handles of every live connection (for shutdown).
    pub fn all(&self) -> Vec<Handle> {
        self.inner
            .lock()
            .map(|g| g.connections.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn live(&self) -> usize {
        self.inner.lock().map(|g| g.connections.len()).unwrap_or(0)
    }
}

fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut g) = self.registry.inner.lock() {
            release(&mut g.by_address, &self.address);
            g.connections.remove(&self.id);
        }
    }
}

impl Drop for AccountSlot {
    fn drop(&mut self) {
        if let Ok(mut g) = self.registry.inner.lock() {
            release(&mut g.by_account, &self.account_id);
        }
    }
}
