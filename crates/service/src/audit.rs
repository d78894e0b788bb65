//! The audit ledger writer: every event goes to the log and into the ledger database
//! (crates/catalog's `LedgerStore`, chained by crates/ledger). One dedicated thread owns the
//! ledger database and commits events in batches (group commit). [`Ledger::record`] returns
//! only once its event is durable, for operations that change state or grant access;
//! [`EventSink::emit`] queues without waiting, and such events may wait up to [`LINGER`] to
//! share a commit with others. The record of a change the catalog commits is instead written in
//! that change's own transaction (the catalog's ledger outbox: one flush for both, and never a
//! change without its record); [`Ledger::outboxed`] then hands it to the writer, which appends
//! it like any other and deletes it from the outbox. At start, before the server takes
//! requests, what a crash left in the outbox is appended. Once a second (`SETTLE_EVERY`) the
//! writer settles: deletes from the outbox what the ledger now holds, and folds the ledger's
//! unindexed tail into its indexed table (`LedgerStore::fold`), after answering whoever waits.
//! Checkpoints are signed with the vault's ledger key every [`CHECKPOINT_SECS`] and at
//! shutdown, and each is recorded in the catalog (a ledger rolled back behind it is refused at
//! the next start). No event is ever dropped here: a batch that fails to commit (a disk error, the
//! ledger file locked past the busy timeout) fails the operations that waited for it (they are
//! not carried out, so their records are not kept), and carries the records nobody waited for
//! (stats, listings, refused logins, progress, closes of downloads, denials) into the next
//! commit, retried every `RETRY_EVERY` until one succeeds (up to `MAX_CARRIED`; beyond
//! that, an outage's oldest are given up, and the log says how many).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use catalog::{LedgerMeta, LedgerStore, Outbox, OutboxRecord};
use events::{Event, EventSink};
use ledger::CheckpointSigner;
use tokio::sync::oneshot;
use vault::{LedgerBodyKey, LedgerKey};

use crate::clock::{Clock, Entropy};
use crate::event_log::LogSink;
use crate::forward::{Forwarded, Forwarder};

/// Seconds between signed checkpoints (also made at shutdown).
pub const CHECKPOINT_SECS: u64 = 30;
/// Most events committed in one transaction.
const MAX_BATCH: usize = 1024;
/// How often the writer settles (also at checkpoints, start and shutdown): records appended
/// from the outbox are deleted there (one catalog transaction for all of them; until then a
/// crash only means that they are offered again at the next start and found in the ledger),
/// and the ledger's tail is folded into its indexed table (one ledger transaction; until then
/// exports read the tail unindexed).
const SETTLE_EVERY: Duration = Duration::from_secs(1);
/// How long events nobody waits for may be held to share a commit (a durable record, or a
/// full batch, commits them at once).
pub const LINGER: Duration = Duration::from_millis(20);
/// How often records carried from a failed commit are tried again when nothing else comes.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Most records nobody waited for kept through a ledger outage (some 50 MiB of sealed
/// records); the oldest beyond it are given up.
const MAX_CARRIED: usize = 100_000;

enum Item {
    Event(Event),
    Durable(Event, oneshot::Sender<bool>),
    /// Already durable in the catalog's outbox.
    Outboxed(Event, Box<OutboxRecord>),
    Checkpoint(oneshot::Sender<()>),
    /// Answered once everything queued before it is written and observed.
    Observed(oneshot::Sender<bool>),
}

pub struct Ledger {
    tx: Sender<Item>,
    /// The writer thread, unparked for items someone waits for (see [`Writer::run`]).
    writer: std::thread::Thread,
    body_key: Arc<LedgerBodyKey>,
    /// This server's node id, stamped on every event that does not name one.
    node: String,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    /// The last outbox record's queue time (ns), so that each is later than the one before.
    last_queued_ns: AtomicI64,
    observer: ObserverSlot,
}

/// Sees every record once it is committed, with its sequence number (the detector). Called
/// on the writer thread: it must not block.
pub trait RecordObserver: Send + Sync + 'static {
    fn observe(&self, seq: u64, e: &Event);
}

/// Where the writer hands committed records (set once, after start).
type ObserverSlot = Arc<std::sync::OnceLock<Arc<dyn RecordObserver>>>;

/// What the ledger writer is started with.
pub struct LedgerParts {
    pub store: LedgerStore,
    pub outbox: Outbox,
    pub key: Arc<LedgerKey>,
    pub body_key: Arc<LedgerBodyKey>,
    pub forwarder: Forwarder,
    pub node: String,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
}

/// The ledger is not writing: the operation that needed a durable record must fail.
#[derive(Debug, thiserror::Error)]
#[error("the audit ledger is unavailable")]
pub struct LedgerDown;

/// The ledger key as the chain's checkpoint signer.
pub(crate) struct Signer(pub(crate) Arc<LedgerKey>);

impl CheckpointSigner for Signer {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message)
    }
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key()
    }
}

/// The indexed fields of an event (paths by their tags under `body_key`).
pub fn meta(e: &Event, body_key: &LedgerBodyKey) -> LedgerMeta {
    let tag = |path: &str| {
        e.tenant
            .as_deref()
            .filter(|_| !path.is_empty())
            .map(|tenant| body_key.path_tag(tenant, path))
    };
    LedgerMeta {
        kind: e.kind_name().to_owned(),
        account: e.account.clone(),
        tenant: e.tenant.clone(),
        source: e
            .source
            .map(|s| crate::gate::network::canonical(s.ip()).to_string()),
        session: e.session.clone(),
        credential: match &e.kind {
            events::EventKind::Session { credential, .. }
            | events::EventKind::Auth { credential, .. } => credential.clone(),
            _ => None,
        },
        file_id: match &e.kind {
            events::EventKind::File { file, .. } => file.map(|f| f.id),
            events::EventKind::RetentionDelete { file_id, .. } => Some(*file_id),
            _ => None,
        },
        path_tag: match &e.kind {
            events::EventKind::File { path, .. } => tag(path),
            _ => None,
        },
        to_tag: match &e.kind {
            events::EventKind::File {
                op: events::FileOp::Rename { to: Some(to), .. },
                ..
            } => tag(to),
            _ => None,
        },
    }
}

impl Ledger {
    /// Appends what `outbox` holds (before the server takes requests), then starts the writer
    /// thread on `store`.
    pub fn start(parts: LedgerParts) -> std::io::Result<Arc<Self>> {
        let LedgerParts {
            store,
            outbox,
            key,
            body_key,
            forwarder,
            node,
            clock,
            entropy,
        } = parts;
        let (tx, rx) = mpsc::channel();
        let observer = ObserverSlot::default();
        let mut writer = Writer {
            store,
            outbox,
            outbox_state: OutboxState::default(),
            signer: Signer(key),
            body_key: body_key.clone(),
            forwarder,
            settled_at: Instant::now(),
            unsettled: true,
            appended_head: None,
            clock: clock.clone(),
            observer: observer.clone(),
            carried: Batch::default(),
        };
        writer.recover();
        // Nothing is queued yet: no item can repeat what was just recovered.
        writer.outbox_state.recovered.clear();
        writer.settle();
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(&rx))?;
        Ok(Arc::new(Self {
            tx,
            writer: thread.thread().clone(),
            body_key,
            node,
            clock,
            entropy,
            last_queued_ns: AtomicI64::new(0),
            observer,
        }))
    }

    /// Hands every record committed from now on to `observer` (once; later calls are ignored).
    pub fn set_observer(&self, observer: Arc<dyn RecordObserver>) {
        let _ = self.observer.set(observer);
    }

    /// Names this node on `e` unless it names one.
    fn stamp(&self, e: &mut Event) {
        if e.node.is_none() {
            e.node = Some(self.node.clone());
        }
    }

    /// `e` as a record for the catalog's outbox, to be committed with the change it records.
    pub fn outbox_record(&self, e: &Event) -> OutboxRecord {
        let mut e = e.clone();
        self.stamp(&mut e);
        let (time, meta, sealed_event) = stored(&e, &self.body_key);
        let now_ns = self.clock.now().as_millis().saturating_mul(1_000_000);
        let queued_ns =
            match self
                .last_queued_ns
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                    Some(now_ns.max(last + 1))
                }) {
                Ok(last) | Err(last) => now_ns.max(last + 1),
            };
        OutboxRecord {
            id: i64::from_le_bytes(self.entropy.array()),
            queued_ns,
            time,
            meta,
            sealed_event,
        }
    }

    /// Hands over `e`, whose `record` the catalog committed with its change (so it is durable
    /// already): the writer appends it to the ledger and deletes it from the outbox.
    pub fn outboxed(&self, mut e: Event, record: OutboxRecord) {
        self.stamp(&mut e);
        LogSink.emit(e.clone());
        if self.tx.send(Item::Outboxed(e, Box::new(record))).is_err() {
            tracing::error!(
                "audit ledger writer is gone: a record stays in the outbox until the next start"
            );
        }
    }

    /// Queues `e` and waits until it is durable.
    pub async fn record(&self, mut e: Event) -> Result<(), LedgerDown> {
        self.stamp(&mut e);
        LogSink.emit(e.clone());
        let (tx, rx) = oneshot::channel();
        self.tx.send(Item::Durable(e, tx)).map_err(|_| LedgerDown)?;
        self.writer.unpark();
        match rx.await {
            Ok(true) => Ok(()),
            _ => Err(LedgerDown),
        }
    }

    /// Waits until everything queued before is written and the observer (the detector) has
    /// seen it: a change whose record went through the catalog's outbox is otherwise observed
    /// some milliseconds after its reply. `false` if the write failed.
    pub async fn observed(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Observed(tx)).is_err() {
            return false;
        }
        self.writer.unpark();
        rx.await.unwrap_or(false)
    }

    /// Writes everything queued and a signed checkpoint.
    pub async fn checkpoint(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Checkpoint(tx)).is_ok() {
            self.writer.unpark();
            let _ = rx.await;
        }
    }
}

impl EventSink for Ledger {
    fn emit(&self, mut e: Event) {
        self.stamp(&mut e);
        LogSink.emit(e.clone());
        if self.tx.send(Item::Event(e)).is_err() {
            tracing::error!("audit ledger writer is gone: an event was not recorded");
        }
    }
}

/// (time, indexed fields, sealed body) of an event, as stored.
pub fn stored(e: &Event, body_key: &LedgerBodyKey) -> (i64, LedgerMeta, Vec<u8>) {
    (
        e.time.as_secs(),
        meta(e, body_key),
        body_key.seal(e.to_json_line().as_bytes()),
    )
}

struct Writer {
    store: LedgerStore,
    outbox: Outbox,
    outbox_state: OutboxState,
    signer: Signer,
    body_key: Arc<LedgerBodyKey>,
    forwarder: Forwarder,
    /// When the writer last settled, and whether it has appended since.
    settled_at: Instant,
    unsettled: bool,
    /// The ledger's head after the writer's last append, until the settle that records it in
    /// the catalog.
    appended_head: Option<ledger::Head>,
    clock: Arc<dyn Clock>,
    observer: ObserverSlot,
    /// Records nobody waited for whose commit failed: the next batch starts with them.
    carried: Batch,
}

/// What the writer knows of the catalog's outbox.
#[derive(Default)]
struct OutboxState {
    /// A failed commit left records there that are not in the ledger.
    behind: bool,
    /// Records appended by [`Writer::recover`] while running whose items may still arrive
    /// (they are skipped then).
    recovered: std::collections::HashSet<i64>,
    /// Records now in the ledger, to delete from the outbox.
    appended: Vec<i64>,
}

/// The items of `v` whose flag in `keep` is set, in order.
fn flagged<T>(v: Vec<T>, keep: &[bool]) -> Vec<T> {
    v.into_iter()
        .zip(keep)
        .filter_map(|(x, &k)| k.then_some(x))
        .collect()
}

/// One group commit being gathered.
#[derive(Default)]
struct Batch {
    stored: Vec<(i64, LedgerMeta, Vec<u8>)>,
    /// (time, kind, JSON) of each event, for the forwarder.
    plain: Vec<(i64, &'static str, String)>,
    waiters: Vec<oneshot::Sender<bool>>,
    checkpoint_waiters: Vec<oneshot::Sender<()>>,
    /// Outbox records in this batch, to delete from the outbox once it is committed.
    outboxed: Vec<i64>,
    /// The events, in order, for the observer (when there is one).
    events: Vec<Event>,
    /// Per entry of `stored`: whether nobody waits for it (an event queued, or carried from a
    /// failed commit), so that a failed commit carries it on.
    unawaited: Vec<bool>,
}

impl Batch {
    /// Whether someone waits for this batch (then it commits without lingering).
    fn awaited(&self) -> bool {
        !self.waiters.is_empty() || !self.checkpoint_waiters.is_empty()
    }
}

impl Writer {
    fn run(mut self, rx: &Receiver<Item>) {
        let checkpoint_every = Duration::from_secs(CHECKPOINT_SECS);
        let mut last_checkpoint = Instant::now();
        let mut since_checkpoint = 0usize;
        loop {
            let mut wait = checkpoint_every.saturating_sub(last_checkpoint.elapsed());
            if self.unsettled {
                wait = wait.min(SETTLE_EVERY.saturating_sub(self.settled_at.elapsed()));
            }
            if !self.carried.stored.is_empty() {
                wait = wait.min(RETRY_EVERY);
            }
            let first = match rx.recv_timeout(wait) {
                Ok(item) => item,
                Err(RecvTimeoutError::Timeout) => {
                    if !self.carried.stored.is_empty() {
                        let mut batch = std::mem::take(&mut self.carried);
                        since_checkpoint += batch.stored.len();
                        self.commit(&mut batch);
                    }
                    if self.unsettled && self.settled_at.elapsed() >= SETTLE_EVERY {
                        self.settle();
                    }
                    if last_checkpoint.elapsed() < checkpoint_every {
                        continue;
                    }
                    if since_checkpoint > 0 {
                        self.sign_checkpoint();
                        since_checkpoint = 0;
                    }
                    last_checkpoint = Instant::now();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            // What a failed commit left first, in the order it was queued.
            let mut batch = std::mem::take(&mut self.carried);
            self.add(&mut batch, first);
            // Gather more: everything queued meanwhile; while nobody waits, keep gathering
            // until LINGER has passed. Lingering parks the thread instead of blocking on the
            // channel, so that queueing an event nobody waits for costs its sender no wake-up
            // of this thread; `record` and `checkpoint` unpark it.
            let linger_until = Instant::now() + LINGER;
            while batch.stored.len() < MAX_BATCH {
                if let Ok(item) = rx.try_recv() {
                    self.add(&mut batch, item);
                    continue;
                }
                let left = linger_until.saturating_duration_since(Instant::now());
                if batch.awaited() || left.is_zero() {
                    break;
                }
                std::thread::park_timeout(left);
            }
            since_checkpoint += batch.stored.len();
            let ok = self.commit(&mut batch);
            for w in batch.waiters {
                let _ = w.send(ok);
            }
            if self.unsettled && self.settled_at.elapsed() >= SETTLE_EVERY {
                self.settle();
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

    /// Appends what the catalog's outbox holds beyond what is on its way here: at start, what
    /// a crash left (records of committed changes not yet in the ledger); while running, what a
    /// failed commit left. Skips any record the ledger already holds, then empties the outbox.
    /// Records whose items are still queued for this thread are remembered, so that they are
    /// not appended twice; those appended are forwarded. On failure the records stay in the
    /// outbox (and it is `behind`).
    fn recover(&mut self) {
        let recovered = self.outbox.pending().and_then(|mut pending| {
            // Indexed as this server indexes: a record a server from before an index (path
            // tags, file ids) left in the outbox gets the fields its event gives.
            for r in &mut pending {
                if let Ok(json) = self.body_key.open(&r.sealed_event)
                    && let Ok(e) = Event::from_stored(&json)
                {
                    r.meta = meta(&e, &self.body_key);
                }
            }
            let appended = self.store.append_missing(&pending)?;
            let ids: Vec<i64> = pending.iter().map(|r| r.id).collect();
            self.outbox.settled(&ids, None, 0)?;
            Ok((pending, appended))
        });
        match recovered {
            Ok((pending, appended)) => {
                if !pending.is_empty() {
                    tracing::warn!(
                        found = pending.len(),
                        appended = appended.len(),
                        "appended audit records left in the catalog's outbox"
                    );
                }
                if !self.forwarder.is_empty() {
                    for (seq, i) in appended {
                        self.forward_recovered(seq, &pending[i]);
                    }
                }
                self.outbox_state.behind = false;
                self.outbox_state
                    .recovered
                    .extend(pending.iter().map(|r| r.id));
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    "could not append the audit records in the catalog's outbox; they stay there"
                );
                self.outbox_state.behind = true;
            }
        }
    }

    /// Hands a record appended by [`Writer::recover`] to the forwarder, as any other.
    fn forward_recovered(&self, seq: u64, r: &OutboxRecord) {
        match self.body_key.open(&r.sealed_event) {
            Ok(json) => self.forwarder.send(Arc::new(Forwarded {
                seq,
                time: r.time,
                // Only file operations go through the outbox.
                kind: "file".into(),
                json: String::from_utf8_lossy(&json).into_owned(),
            })),
            Err(e) => {
                tracing::error!(seq, error = %e, "could not open a recovered record to forward it")
            }
        }
    }

    fn add(&mut self, batch: &mut Batch, item: Item) {
        let unawaited = matches!(item, Item::Event(_));
        let (e, stored) = match item {
            Item::Event(e) => {
                let s = stored(&e, &self.body_key);
                (e, s)
            }
            Item::Durable(e, ack) => {
                batch.waiters.push(ack);
                let s = stored(&e, &self.body_key);
                (e, s)
            }
            Item::Outboxed(e, r) => {
                if self.outbox_state.recovered.remove(&r.id) {
                    return;
                }
                batch.outboxed.push(r.id);
                let r = *r;
                (e, (r.time, r.meta, r.sealed_event))
            }
            Item::Checkpoint(ack) => {
                batch.checkpoint_waiters.push(ack);
                return;
            }
            Item::Observed(ack) => {
                batch.waiters.push(ack);
                return;
            }
        };
        if !self.forwarder.is_empty() {
            batch
                .plain
                .push((e.time.as_secs(), e.kind_name(), e.to_json_line()));
        }
        if self.observer.get().is_some() {
            batch.events.push(e);
        }
        batch.stored.push(stored);
        batch.unawaited.push(unawaited);
    }

    /// Keeps what nobody waited for of a batch that failed to commit, for the next commit (an
    /// outbox record is retried from the outbox; one somebody waited for was refused with its
    /// operation). At most [`MAX_CARRIED`]: beyond, the oldest are given up.
    fn carry(&mut self, batch: &mut Batch) {
        let keep = std::mem::take(&mut batch.unawaited);
        // The forwarder's and the observer's lists run beside `stored` when they are kept.
        let beside = |len: usize| len == keep.len();
        let plain = std::mem::take(&mut batch.plain);
        let events = std::mem::take(&mut batch.events);
        self.carried = Batch {
            stored: flagged(std::mem::take(&mut batch.stored), &keep),
            plain: if beside(plain.len()) {
                flagged(plain, &keep)
            } else {
                Vec::new()
            },
            events: if beside(events.len()) {
                flagged(events, &keep)
            } else {
                Vec::new()
            },
            ..Batch::default()
        };
        self.carried.unawaited = vec![true; self.carried.stored.len()];
        let over = self.carried.stored.len().saturating_sub(MAX_CARRIED);
        if over > 0 {
            self.carried.stored.drain(..over);
            self.carried.unawaited.drain(..over);
            let plain = self.carried.plain.len().saturating_sub(MAX_CARRIED);
            self.carried.plain.drain(..plain);
            let events = self.carried.events.len().saturating_sub(MAX_CARRIED);
            self.carried.events.drain(..events);
            tracing::error!(
                lost = over,
                "audit ledger down for long: the oldest records nobody waited for were given up"
            );
        }
    }

    /// Stores the batch (see [`Writer::append`]); then, if an earlier failure left outboxed
    /// records behind, appends them from the outbox. `false` if the batch was not stored.
    fn commit(&mut self, batch: &mut Batch) -> bool {
        let ok = self.append(batch);
        if ok && self.outbox_state.behind {
            self.recover();
        }
        ok
    }

    /// Stores the batch; then hands its events to the forwarder. `false` if the store failed.
    fn append(&mut self, batch: &mut Batch) -> bool {
        if batch.stored.is_empty() {
            return true;
        }
        match self.store.append(&batch.stored) {
            Ok(head) => {
                self.unsettled = true;
                self.appended_head = Some(head);
                self.outbox_state.appended.append(&mut batch.outboxed);
                // (A batch gathered while the observer was being set is not observed.)
                if let Some(o) = self.observer.get()
                    && batch.events.len() == batch.stored.len()
                {
                    let first = head.seq + 1 - batch.events.len() as u64;
                    for (i, e) in batch.events.iter().enumerate() {
                        o.observe(first + i as u64, e);
                    }
                }
                batch.events.clear();
                let first = head.seq + 1 - batch.plain.len() as u64;
                for (i, (time, kind, json)) in batch.plain.drain(..).enumerate() {
                    self.forwarder.send(Arc::new(Forwarded {
                        seq: first + i as u64,
                        time,
                        kind: kind.into(),
                        json,
                    }));
                }
                true
            }
            Err(e) => {
                tracing::error!(error = %e, records = batch.stored.len(), "audit ledger write failed; the records nobody waited for are kept for the next commit");
                // Outboxed records stay in the outbox; the next commits retry them from there.
                if !batch.outboxed.is_empty() {
                    self.outbox_state.behind = true;
                }
                self.carry(batch);
                false
            }
        }
    }

    /// Deletes from the outbox what the ledger now holds and records the ledger's head in the
    /// catalog (a later start whose ledger lacks it was rolled back), and folds the ledger's
    /// tail into its indexed table.
    fn settle(&mut self) {
        let state = &mut self.outbox_state;
        let head = self.appended_head.take();
        if !state.appended.is_empty() || head.is_some() {
            let now = self.clock.unix_secs();
            if let Err(e) = self.outbox.settled(&state.appended, head.as_ref(), now) {
                // They will be offered again at the next start, and found in the ledger; the
                // head recorded before is still in it.
                tracing::warn!(error = %e, "could not clear appended records from the outbox");
            }
            state.appended.clear();
        }
        if let Err(e) = self.store.fold() {
            // They stay in the tail, where export and verification read them too.
            tracing::warn!(error = %e, "could not fold the ledger's tail into its indexed table");
        }
        self.settled_at = Instant::now();
        self.unsettled = false;
    }

    fn sign_checkpoint(&mut self) {
        self.settle();
        let now = self.clock.unix_secs();
        match self.store.sign_checkpoint(now, &self.signer) {
            Err(e) => tracing::error!(error = %e, "could not sign a ledger checkpoint"),
            // The catalog remembers it: a ledger found without it at a later start was rolled
            // back. Not remembered (a crash first, the catalog busy), an older one is compared.
            Ok(Some(c)) => {
                if let Err(e) = self.outbox.ledger_checkpointed(&c) {
                    tracing::warn!(error = %e, "could not record the ledger's checkpoint in the catalog");
                }
            }
            Ok(None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::{Catalog, LedgerFilter, StoredName};

    /// A catalog with one tenant, an empty ledger, and a writer over them (not started).
    async fn setup(dir: &std::path::Path) -> (Catalog, i64, i64, Writer) {
        let (catalog, tenant) = crate::test_catalog::with_tenant(dir).await;
        let root = catalog.root(tenant.id).await.unwrap().id;
        let (body_key, _) = vault::MasterKey::generate().new_ledger_body_key();
        let writer = Writer {
            store: LedgerStore::open(&dir.join("ledger.db")).unwrap(),
            outbox: catalog.outbox(),
            outbox_state: OutboxState::default(),
            signer: Signer(Arc::new(
                LedgerKey::load_or_create(&dir.join("ledger.key"), true).unwrap(),
            )),
            body_key: Arc::new(body_key),
            forwarder: Forwarder::none(),
            settled_at: Instant::now(),
            unsettled: false,
            appended_head: None,
            clock: Arc::new(crate::clock::SystemClock),
            observer: Default::default(),
            carried: Batch::default(),
        };
        (catalog, tenant.id, root, writer)
    }

    /// Commits a mkdir of `name` with its record in the outbox; returns the record's item.
    async fn mkdir(c: &Catalog, w: &Writer, tenant: i64, root: i64, name: &[u8]) -> Item {
        mkdir_as(c, w, tenant, root, name, |_| {}).await
    }

    /// [`mkdir`], its outbox record's indexed fields changed by `indexed` (as an older server
    /// wrote them).
    async fn mkdir_as(
        c: &Catalog,
        w: &Writer,
        tenant: i64,
        root: i64,
        name: &[u8],
        indexed: impl Fn(&mut LedgerMeta),
    ) -> Item {
        let mut e = Event::new(
            events::Time::from_secs(7),
            events::EventKind::File {
                op: events::FileOp::Mkdir,
                path: String::from_utf8_lossy(name).into_owned(),
                file: None,
                outcome: events::Outcome::Ok,
            },
        );
        e.tenant = Some("acme".into());
        let (time, mut meta, sealed_event) = stored(&e, &w.body_key);
        indexed(&mut meta);
        let r = OutboxRecord {
            id: rand::random(),
            queued_ns: 0,
            time,
            meta,
            sealed_event,
        };
        let name = StoredName {
            mac: name,
            sealed: name,
            retiring_mac: None,
        };
        c.mkdir(
            tenant,
            root,
            name,
            0o40755,
            1,
            7,
            Some(catalog::ready(r.clone())),
        )
        .await
        .unwrap();
        Item::Outboxed(e, Box::new(r))
    }

    fn ledger_paths(w: &Writer) -> Vec<String> {
        w.store
            .export(&LedgerFilter::default(), 0, 100)
            .unwrap()
            .iter()
            .map(|r| {
                let json = String::from_utf8(w.body_key.open(&r.sealed_event).unwrap()).unwrap();
                let path = json.split(r#""path":""#).nth(1).unwrap();
                path[..path.find('"').unwrap()].to_owned()
            })
            .collect()
    }

    /// A batch whose commit failed: what nobody waited for is carried, in order, into the next
    /// commit; what somebody waited for is not (its operation was refused), nor an outbox
    /// record (retried from the outbox).
    #[tokio::test]
    async fn a_failed_commit_carries_what_nobody_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let (c, t, root, mut w) = setup(dir.path()).await;
        let queued = |name: &str| {
            let mut e = Event::new(
                events::Time::from_secs(7),
                events::EventKind::File {
                    op: events::FileOp::Stat,
                    path: name.to_owned(),
                    file: None,
                    outcome: events::Outcome::Ok,
                },
            );
            e.tenant = Some("acme".into());
            e
        };
        let mut batch = Batch::default();
        w.add(&mut batch, Item::Event(queued("q1")));
        let (ack, mut refused) = oneshot::channel();
        w.add(&mut batch, Item::Durable(queued("waited"), ack));
        let outboxed = mkdir(&c, &w, t, root, b"dir").await;
        w.add(&mut batch, outboxed);
        w.add(&mut batch, Item::Event(queued("q2")));
        // As `append` does when the store fails.
        w.outbox_state.behind = true;
        w.carry(&mut batch);
        for w in batch.waiters.drain(..) {
            let _ = w.send(false);
        }
        assert_eq!(refused.try_recv(), Ok(false));
        let mut next = std::mem::take(&mut w.carried);
        w.add(&mut next, Item::Event(queued("q3")));
        assert!(w.commit(&mut next));
        assert_eq!(ledger_paths(&w), ["q1", "q2", "q3", "dir"]);
        assert!(w.carried.stored.is_empty());
        assert!(w.store.verify(&w.signer.public_key()).unwrap().is_ok());
    }

    #[tokio::test]
    async fn outbox_records_reach_the_ledger_once_whichever_way_they_come() {
        let dir = tempfile::tempdir().unwrap();
        let (c, t, root, mut w) = setup(dir.path()).await;

        // Left by a crash, by a server from before path tags: appended at start, with them.
        let _lost = mkdir_as(&c, &w, t, root, b"a", |m| m.path_tag = None).await;
        w.recover();
        assert_eq!(ledger_paths(&w), ["a"]);
        assert!(w.outbox.pending().unwrap().is_empty());
        let tags: Vec<Option<String>> = w
            .store
            .export(&LedgerFilter::default(), 0, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.meta.path_tag)
            .collect();
        assert_eq!(tags, [Some(w.body_key.path_tag("acme", "a"))]);

        // The ordinary way: the item arrives, is appended, and leaves the outbox.
        let item = mkdir(&c, &w, t, root, b"b").await;
        let mut batch = Batch::default();
        w.add(&mut batch, item);
        assert!(w.commit(&mut batch));
        w.settle();
        assert_eq!(ledger_paths(&w), ["a", "b"]);
        assert!(w.outbox.pending().unwrap().is_empty());

        // Recovered while running (after a failed commit) before its item arrived: the item
        // is then skipped, not appended a second time.
        let item = mkdir(&c, &w, t, root, b"c").await;
        w.outbox_state.behind = true;
        let mut empty = Batch::default();
        assert!(w.commit(&mut empty));
        assert!(!w.outbox_state.behind);
        let mut batch = Batch::default();
        w.add(&mut batch, item);
        assert!(batch.stored.is_empty());
        assert_eq!(ledger_paths(&w), ["a", "b", "c"]);
        assert!(w.outbox.pending().unwrap().is_empty());
        assert!(w.store.verify(&w.signer.public_key()).unwrap().is_ok());
    }
}
