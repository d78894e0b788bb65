//! The registry of live connections: counts per source address and per account (the configured
//! limits), and a handle on each connection so that shutdown can close them all; and
//! [`Severable`], the connection's socket as the SSH session sees it, which the server can cut
//! whatever state the session is in (a key exchange that never ends included).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use russh::server::Handle;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Default)]
struct Inner {
    /// Connections not authenticated yet, by id.
    unauthenticated: std::collections::HashSet<u64>,
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

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source address is at its limit.
    Address,
    /// The server holds as many connections as its descriptors allow (some are kept in reserve).
    Full,
    /// Too many connections are still authenticating.
    Unauthenticated,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Address => "too many connections from this address",
            Refusal::Full => "too many connections",
            Refusal::Unauthenticated => "too many connections still authenticating",
        }
    }
}

/// Ceilings on connections held at once.
#[derive(Debug, Clone, Copy)]
pub struct Ceilings {
    pub per_address: usize,
    pub total: usize,
    pub unauthenticated: usize,
}

impl Registry {
    /// Counts a new connection from `address`, unless a ceiling is reached.
    pub fn admit(&self, address: IpAddr, c: Ceilings) -> Result<ConnectionSlot, Refusal> {
        let mut g = self.inner.lock().map_err(|_| Refusal::Full)?;
        let total: usize = g.by_address.values().sum();
        if total >= c.total {
            return Err(Refusal::Full);
        }
        if g.unauthenticated.len() >= c.unauthenticated {
            return Err(Refusal::Unauthenticated);
        }
        let n = g.by_address.entry(address).or_default();
        if *n >= c.per_address {
            return Err(Refusal::Address);
        }
        *n += 1;
        g.next_id += 1;
        let id = g.next_id;
        g.unauthenticated.insert(id);
        Ok(ConnectionSlot {
            registry: self.clone(),
            id,
            address,
        })
    }

    pub fn attach(&self, slot: &ConnectionSlot, handle: Handle) {
        if let Ok(mut g) = self.inner.lock() {
            g.connections.insert(slot.id, handle);
        }
    }

    /// Counts a session of `account_id` on connection `connection` (no longer counted as
    /// authenticating); `None` when the account is at its limit.
    pub fn login(&self, connection: u64, account_id: i64, max: usize) -> Option<AccountSlot> {
        let mut g = self.inner.lock().ok()?;
        let n = g.by_account.entry(account_id).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        g.unauthenticated.remove(&connection);
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
            g.unauthenticated.remove(&self.id);
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

/// A stream that fails every read and write once [`Sever::sever`] is called, waking a pending
/// read so the session ends at once and drops (closes) the socket. A russh `Handle` cannot do
/// this: its disconnect is a message the session does not take while a key exchange is
/// pending, so a client that stalls mid-handshake would keep its socket.
pub struct Severable<S> {
    inner: S,
    switch: Arc<Switch>,
}

#[derive(Default)]
struct Switch {
    cut: AtomicBool,
    reader: Mutex<Option<Waker>>,
}

/// Cuts its [`Severable`] stream.
#[derive(Clone)]
pub struct Sever(Arc<Switch>);

impl Sever {
    pub fn sever(&self) {
        self.0.cut.store(true, Ordering::SeqCst);
        let waker = self.0.reader.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<S> Severable<S> {
    pub fn new(inner: S) -> (Self, Sever) {
        let switch = Arc::new(Switch::default());
        (
            Self {
                inner,
                switch: switch.clone(),
            },
            Sever(switch),
        )
    }

    fn check(&self) -> std::io::Result<()> {
        if self.switch.cut.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "connection closed by the server",
            ));
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Severable<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.check()?;
        if let Ok(mut w) = self.switch.reader.lock() {
            *w = Some(cx.waker().clone());
        }
        // Cut between the check and the registration: seen here.
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Severable<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn severing_ends_a_pending_read() {
        let (client, server) = tokio::io::duplex(64);
        let (mut s, sever) = Severable::new(server);
        let read = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            s.read(&mut buf).await
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        sever.sever();
        let r = tokio::time::timeout(std::time::Duration::from_secs(1), read)
            .await
            .expect("the read was not woken")
            .unwrap();
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::ConnectionAborted);
        drop(client);
    }
}
