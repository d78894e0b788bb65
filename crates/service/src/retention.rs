//! The retention sweeper: deletes expired files (catalog row, then blob) and logs each deletion;
//! in the server each deletion's ledger record is committed with it ([`Recorded`]).
//! The same sweep runs in the server every `retention_sweep` and from `strongroom retention run`;
//! between sweeps, a file a download finds expired ([`crate::files::Files::open_download`]) is
//! handed to the server's sweeper through [`FoundExpired`] and deleted at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use catalog::{Catalog, Expired, OutboxRecord, RecordOfExpired};
use events::{Event, EventKind, Time};
use vault::{BlobId, Vault};

use crate::audit::Ledger;

/// Files deleted per catalog query.
const SWEEP_BATCH: u32 = 500;

/// Files found expired between sweeps waiting for the sweeper; beyond them a file waits for
/// the next sweep (it is refused to downloads either way).
const FOUND_EXPIRED_QUEUE: usize = 1024;

/// How long an exclusive create waits for the sweeper to delete the expired file in its way.
const SWEPT_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// A file found expired, handed to the sweeper; `done` is told once it has been dealt with
/// (deleted, or found not to be expired any more) when someone waits for it.
#[derive(Debug)]
pub struct Found {
    pub id: i64,
    pub done: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Where files found expired between sweeps go: the server's sweeper, which deletes each.
#[derive(Clone, Debug)]
pub struct FoundExpired(tokio::sync::mpsc::Sender<Found>);

impl FoundExpired {
    /// The sender, and the receiver the sweeper reads found files from.
    pub fn channel() -> (Self, tokio::sync::mpsc::Receiver<Found>) {
        let (tx, rx) = tokio::sync::mpsc::channel(FOUND_EXPIRED_QUEUE);
        (Self(tx), rx)
    }

    /// Hands file `id` to the sweeper, if its queue has room (never waits).
    pub fn found(&self, id: i64) {
        let _ = self.0.try_send(Found { id, done: None });
    }

    /// Hands file `id` to the sweeper and waits until it has been dealt with (at most
    /// 5 s); whether it was.
    pub async fn swept(&self, id: i64) -> bool {
        let (done, dealt) = tokio::sync::oneshot::channel();
        let waited = tokio::time::timeout(SWEPT_WITHIN, async {
            self.0
                .send(Found {
                    id,
                    done: Some(done),
                })
                .await
                .is_ok()
                && dealt.await.is_ok()
        });
        waited.await.unwrap_or(false)
    }
}

/// A deletion's `retention_delete` event, at `at`.
pub fn deletion_event(f: &Expired, at: Time) -> Event {
    let mut e = Event::new(
        at,
        EventKind::RetentionDelete {
            file_id: f.node_id,
            size: f.size,
        },
    );
    e.tenant = Some(f.tenant.clone());
    e
}

/// Records a sweep's deletions in the server's ledger, each committed with its deletion (the
/// catalog's outbox): a crash after a deletion cannot lose its record.
pub struct Recorded {
    ledger: Arc<Ledger>,
    at: Time,
    made: Arc<Mutex<HashMap<i64, (Event, OutboxRecord)>>>,
}

impl Recorded {
    /// Records deletions in `ledger` as made at `at`.
    pub fn new(ledger: Arc<Ledger>, at: Time) -> Self {
        Self {
            ledger,
            at,
            made: Arc::default(),
        }
    }

    /// The record maker the catalog calls in each deleting transaction.
    fn record_of(&self) -> RecordOfExpired {
        let (ledger, at, made) = (self.ledger.clone(), self.at, self.made.clone());
        Arc::new(move |f: &Expired| {
            let e = deletion_event(f, at);
            let r = ledger.outbox_record(&e);
            if let Ok(mut m) = made.lock() {
                m.insert(f.node_id, (e, r.clone()));
            }
            r
        })
    }

    /// File `f`'s deletion committed: hands its record to the ledger writer.
    fn committed(&self, f: &Expired) {
        let made = self.made.lock().ok().and_then(|mut m| m.remove(&f.node_id));
        if let Some((e, r)) = made {
            self.ledger.outboxed(e, r);
        }
    }
}

/// Deletes every file expired at `now`; returns what was deleted. With `recorded`, each
/// deletion's record is committed with it; without, the caller records them.
pub async fn sweep(
    catalog: &Catalog,
    vault: &Vault,
    now: i64,
    recorded: Option<&Recorded>,
) -> Result<Vec<Expired>, catalog::CatalogError> {
    let mut deleted = Vec::new();
    loop {
        let batch = catalog.expired_files(now, SWEEP_BATCH).await?;
        if batch.is_empty() {
            return Ok(deleted);
        }
        let mut progressed = false;
        for found in batch {
            if let Some(f) = sweep_file(catalog, vault, found.node_id, now, recorded).await? {
                progressed = true;
                deleted.push(f);
            }
        }
        if !progressed {
            return Ok(deleted);
        }
    }
}

/// Deletes file `id`'s row if it has expired at `now`, then its blob; returns it if it was
/// deleted. The catalog judges it again as it deletes it: since it was found, an upload may
/// have replaced it (same id, new contents) or its rule changed, or it may be gone. With
/// `recorded`, its record is committed with the deletion.
pub async fn sweep_file(
    catalog: &Catalog,
    vault: &Vault,
    id: i64,
    now: i64,
    recorded: Option<&Recorded>,
) -> Result<Option<Expired>, catalog::CatalogError> {
    let record = recorded.map(Recorded::record_of);
    match catalog.remove_expired_file(id, now, record).await? {
        None => Ok(None),
        Some(f) => {
            if let Some(r) = recorded {
                r.committed(&f);
            }
            if let Some(id) = f.blob_id.as_deref().and_then(|h| BlobId::from_hex(h).ok()) {
                let v = vault.clone();
                let removed = tokio::task::spawn_blocking(move || v.remove(id)).await;
                if !matches!(removed, Ok(Ok(()))) {
                    tracing::warn!(blob = %id, "retention: could not remove blob (swept at next start)");
                }
            }
            tracing::info!(
                tenant = %f.tenant,
                file = f.node_id,
                size = f.size,
                uploaded = f.created_at,
                "retention: expired file deleted"
            );
            Ok(Some(f))
        }
    }
}
