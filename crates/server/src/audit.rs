//! The audit ledger writer: every event goes to the log and into the ledger database
//! (crates/catalog's `LedgerStore`, chained by crates/ledger). Events are batched; one
//! transaction commits a batch (group commit). [`Ledger::record`] returns only once its event
//! is durable, for operations that change state or grant access; [`EventSink::emit`] queues
//! without waiting. Checkpoints are signed with the vault's ledger key every
//! [`CHECKPOINT_SECS`] and at shutdown. No event is ever dropped here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use catalog::{LedgerMeta, LedgerStore};
use events::{Event, EventSink};
use ledger::CheckpointSigner;
use tokio::sync::{mpsc, oneshot};
use vault::{LedgerBodyKey, LedgerKey};

use crate::event_log::LogSink;
use crate::forward::{Forwarded, Forwarder};

/// Seconds between signed checkpoints (also made at shutdown).
pub const CHECKPOINT_SECS: u64 = 30;
/// Most events committed in one transaction.
const MAX_BATCH: usize = 1024;

enum Item {
    Event(Event),
    Durable(Event, oneshot::Sender<bool>),
    Checkpoint(oneshot::Sender<()>),
}

pub struct Ledger {
    tx: mpsc::UnboundedSender<Item>,
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
    /// Starts the writer task on `store`.
    pub fn start(
        store: LedgerStore,
        key: Arc<LedgerKey>,
        body_key: Arc<LedgerBodyKey>,
        forwarder: Forwarder,
    ) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_forever(store, Signer(key), body_key, forwarder, rx));
        (Arc::new(Self { tx }), task)
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

async fn write_forever(
    store: LedgerStore,
    signer: Signer,
    body_key: Arc<LedgerBodyKey>,
    forwarder: Forwarder,
    mut rx: mpsc::UnboundedReceiver<Item>,
) {
    let mut last_checkpoint = Instant::now();
    let mut since_checkpoint = 0usize;
    loop {
        let first = tokio::select! {
            item = rx.recv() => match item {
                Some(item) => item,
                None => break,
            },
            () = tokio::time::sleep(Duration::from_secs(CHECKPOINT_SECS)) => {
                if since_checkpoint > 0 {
                    sign_checkpoint(&store, &signer).await;
                    last_checkpoint = Instant::now();
                    since_checkpoint = 0;
                }
                continue;
            }
        };
        let mut batch = Vec::new();
        let mut plain: Vec<(i64, &'static str, String)> = Vec::new();
        let mut waiters = Vec::new();
        let mut checkpoint_waiters = Vec::new();
        let forwarding = !forwarder.is_empty();
        let mut push = |item: Item, batch: &mut Vec<(i64, LedgerMeta, Vec<u8>)>| {
            let e = match item {
                Item::Event(e) => e,
                Item::Durable(e, ack) => {
                    waiters.push(ack);
                    e
                }
                Item::Checkpoint(ack) => {
                    checkpoint_waiters.push(ack);
                    return;
                }
            };
            if forwarding {
                plain.push((e.time, e.kind_name(), e.to_json_line()));
            }
            batch.push(stored(&e, &body_key));
        };
        push(first, &mut batch);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => push(item, &mut batch),
                Err(_) => break,
            }
        }
        let ok = if batch.is_empty() {
            true
        } else {
            match store.append(&batch).await {
                Ok(head) => {
                    let first = head.seq + 1 - plain.len() as u64;
                    for (i, (time, kind, json)) in plain.into_iter().enumerate() {
                        forwarder.send(Arc::new(Forwarded {
                            seq: first + i as u64,
                            time,
                            kind,
                            json,
                        }));
                    }
                    true
                }
                Err(e) => {
                    tracing::error!(error = %e, records = batch.len(), "audit ledger write failed");
                    false
                }
            }
        };
        since_checkpoint += batch.len();
        for w in waiters {
            let _ = w.send(ok);
        }
        let due = last_checkpoint.elapsed() >= Duration::from_secs(CHECKPOINT_SECS)
            && since_checkpoint > 0;
        if !checkpoint_waiters.is_empty() || due {
            sign_checkpoint(&store, &signer).await;
            last_checkpoint = Instant::now();
            since_checkpoint = 0;
        }
        for w in checkpoint_waiters {
            let _ = w.send(());
        }
    }
    sign_checkpoint(&store, &signer).await;
}

async fn sign_checkpoint(store: &LedgerStore, signer: &Signer) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match store.head().await {
        Ok(head) if head.seq > 0 => {
            let c = ledger::checkpoint(&head, now, signer);
            if let Err(e) = store.add_checkpoint(&c).await {
                tracing::error!(error = %e, "could not store a ledger checkpoint");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "could not read the ledger head"),
    }
}
