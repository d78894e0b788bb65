//! The audit ledger writer: every event goes to the log and into the ledger database
//! (crates/catalog's `LedgerStore`, chained by crates/ledger). One dedicated thread owns the
//! ledger database and commits events in batches (group commit). [`Ledger::record`] returns
//! only once its event is durable, for operations that change state or grant access;
//! [`EventSink::emit`] queues without waiting, and such events may wait up to [`LINGER`] to
//! share a commit with others. Checkpoints are signed with the vault's ledger key every
//! [`CHECKPOINT_SECS`] and at shutdown. No event is ever dropped here.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use catalog::{LedgerMeta, LedgerStore};
use events::{Event, EventSink};
use ledger::CheckpointSigner;
use tokio::sync::oneshot;
use vault::{LedgerBodyKey, LedgerKey};

use crate::event_log::LogSink;
use crate::forward::{Forwarded, Forwarder};

/// Seconds between signed checkpoints (also made at shutdown).
pub const CHECKPOINT_SECS: u64 = 30;
/// Most events committed in one transaction.
const MAX_BATCH: usize = 1024;
/// How long events nobody waits for may be held to share a commit (a durable record, or a
/// full batch, commits them at once).
pub const LINGER: Duration = Duration::from_millis(20);

enum Item {
    Event(Event),
    Durable(Event, oneshot::Sender<bool>),
    Checkpoint(oneshot::Sender<()>),
}

pub struct Ledger {
    tx: Sender<Item>,
}

/// The ledger is not writing: the operation that needed a durable record must fail.
#[derive(Debug, thiserror::Error)]
#[error("the audit ledger is unavailable")]
pub struct LedgerDown;

struct Signer(Arc<LedgerKey>);

impl CheckpointSigner for Signer {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message)
    }
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key()
    }
}

/// The indexed fields of an event.
pub fn meta(e: &Event) -> LedgerMeta {
    LedgerMeta {
        kind: e.kind_name().to_owned(),
        account: e.account.clone(),
        tenant: e.tenant.clone(),
        source: e
            .source
            .map(|s| crate::gate::network::canonical(s.ip()).to_string()),
        session: e.session.clone(),
    }
}

impl Ledger {
    /// Starts the writer thread on `store`.
    pub fn start(
        store: LedgerStore,
        key: Arc<LedgerKey>,
        body_key: Arc<LedgerBodyKey>,
        forwarder: Forwarder,
    ) -> std::io::Result<Arc<Self>> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || {
                Writer {
                    store,
                    signer: Signer(key),
                    body_key,
                    forwarder,
                }
                .run(&rx)
            })?;
        Ok(Arc::new(Self { tx }))
    }

    /// Queues `e` and waits until it is durable.
    pub async fn record(&self, e: Event) -> Result<(), LedgerDown> {
        LogSink.emit(e.clone());
        let (tx, rx) = oneshot::channel();
        self.tx.send(Item::Durable(e, tx)).map_err(|_| LedgerDown)?;
        match rx.await {
            Ok(true) => Ok(()),
            _ => Err(LedgerDown),
        }
    }

    /// Writes everything queued and a signed checkpoint.
    pub async fn checkpoint(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Checkpoint(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

impl EventSink for Ledger {
    fn emit(&self, e: Event) {
        LogSink.emit(e.clone());
        if self.tx.send(Item::Event(e)).is_err() {
            tracing::error!("audit ledger writer is gone: an event was not recorded");
        }
    }
}

/// (time, indexed fields, sealed body) of an event, as stored.
pub fn stored(e: &Event, body_key: &LedgerBodyKey) -> (i64, LedgerMeta, Vec<u8>) {
    (e.time, meta(e), body_key.seal(e.to_json_line().as_bytes()))
}

struct Writer {
    store: LedgerStore,
    signer: Signer,
    body_key: Arc<LedgerBodyKey>,
    forwarder: Forwarder,
}

/// One group commit being gathered.
#[derive(Default)]
struct Batch {
    stored: Vec<(i64, LedgerMeta, Vec<u8>)>,
    /// (time, kind, JSON) of each event, for the forwarder.
    plain: Vec<(i64, &'static str, String)>,
    waiters: Vec<oneshot::Sender<bool>>,
    checkpoint_waiters: Vec<oneshot::Sender<()>>,
}

impl Batch {
    /// Whether someone waits for this batch (then it commits without lingering).
    fn awaited(&self) -> bool {
        !self.waiters.is_empty() || !self.checkpoint_waiters.is_empty()
    }
}

impl Writer {
    fn run(self, rx: &Receiver<Item>) {
        let checkpoint_every = Duration::from_secs(CHECKPOINT_SECS);
        let mut last_checkpoint = Instant::now();
        let mut since_checkpoint = 0usize;
        loop {
            let wait = checkpoint_every.saturating_sub(last_checkpoint.elapsed());
            let first = match rx.recv_timeout(wait) {
                Ok(item) => item,
                Err(RecvTimeoutError::Timeout) => {
                    if since_checkpoint > 0 {
                        self.sign_checkpoint();
                        since_checkpoint = 0;
                    }
                    last_checkpoint = Instant::now();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = Batch::default();
            self.add(&mut batch, first);
            let linger_until = Instant::now() + LINGER;
            while batch.stored.len() < MAX_BATCH {
                let next = if batch.awaited() {
                    rx.try_recv().ok()
                } else {
                    rx.recv_timeout(linger_until.saturating_duration_since(Instant::now()))
                        .ok()
                };
                match next {
                    Some(item) => self.add(&mut batch, item),
                    None => break,
                }
            }
            since_checkpoint += batch.stored.len();
            let ok = self.commit(&mut batch);
            for w in batch.waiters {
                let _ = w.send(ok);
            }
            let due = last_checkpoint.elapsed() >= checkpoint_every && since_checkpoint > 0;
            if !batch.checkpoint_waiters.is_empty() || due {
                self.sign_checkpoint();
                last_checkpoint = Instant::now();
                since_checkpoint = 0;
            }
            for w in batch.checkpoint_waiters {
                let _ = w.send(());
            }
        }
        self.sign_checkpoint();
    }

    fn add(&self, batch: &mut Batch, item: Item) {
        let e = match item {
            Item::Event(e) => e,
            Item::Durable(e, ack) => {
                batch.waiters.push(ack);
                e
            }
            Item::Checkpoint(ack) => {
                batch.checkpoint_waiters.push(ack);
                return;
            }
        };
        if !self.forwarder.is_empty() {
            batch.plain.push((e.time, e.kind_name(), e.to_json_line()));
        }
        batch.stored.push(stored(&e, &self.body_key));
    }

    /// Stores the batch; then hands its events to the forwarder. `false` if the store failed.
    fn commit(&self, batch: &mut Batch) -> bool {
        if batch.stored.is_empty() {
            return true;
        }
        match self.store.append(&batch.stored) {
            Ok(head) => {
                let first = head.seq + 1 - batch.plain.len() as u64;
                for (i, (time, kind, json)) in batch.plain.drain(..).enumerate() {
                    self.forwarder.send(Arc::new(Forwarded {
                        seq: first + i as u64,
                        time,
                        kind,
                        json,
                    }));
                }
                true
            }
            Err(e) => {
                tracing::error!(error = %e, records = batch.stored.len(), "audit ledger write failed");
                false
            }
        }
    }

    fn sign_checkpoint(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        match self.store.head() {
            Ok(head) if head.seq > 0 => {
                let c = ledger::checkpoint(&head, now, &self.signer);
                if let Err(e) = self.store.add_checkpoint(&c) {
                    tracing::error!(error = %e, "could not store a ledger checkpoint");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not read the ledger head"),
        }
    }
}
