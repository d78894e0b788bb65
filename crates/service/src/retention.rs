//! The retention sweeper: deletes expired files (catalog row, then blob) and logs each deletion.
//! The same sweep runs in the server every `retention_sweep` and from `strongroom retention run`;
//! between sweeps, a file a download finds expired ([`crate::files::Files::open_download`]) is
//! handed to the server's sweeper through [`FoundExpired`] and deleted at once.

use catalog::Catalog;
use vault::{BlobId, Vault};

/// Files deleted per catalog query.
const SWEEP_BATCH: u32 = 500;

/// Files found expired between sweeps waiting for the sweeper; beyond them a file waits for
/// the next sweep (it is refused to downloads either way).
const FOUND_EXPIRED_QUEUE: usize = 1024;

/// Where files found expired between sweeps go: the server's sweeper, which deletes each.
#[derive(Clone, Debug)]
pub struct FoundExpired(tokio::sync::mpsc::Sender<i64>);

impl FoundExpired {
    /// The sender, and the receiver the sweeper reads file ids from.
    pub fn channel() -> (Self, tokio::sync::mpsc::Receiver<i64>) {
        let (tx, rx) = tokio::sync::mpsc::channel(FOUND_EXPIRED_QUEUE);
        (Self(tx), rx)
    }

    /// Hands file `id` to the sweeper, if its queue has room (never waits).
    pub fn found(&self, id: i64) {
        let _ = self.0.try_send(id);
    }
}

/// Deletes every file expired at `now`; returns what was deleted (for the ledger).
pub async fn sweep(
    catalog: &Catalog,
    vault: &Vault,
    now: i64,
) -> Result<Vec<catalog::Expired>, catalog::CatalogError> {
    let mut deleted = Vec::new();
    loop {
        let batch = catalog.expired_files(now, SWEEP_BATCH).await?;
        if batch.is_empty() {
            return Ok(deleted);
        }
        let mut progressed = false;
        for found in batch {
            if let Some(f) = sweep_file(catalog, vault, found.node_id, now).await? {
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
/// have replaced it (same id, new contents) or its rule changed, or it may be gone.
pub async fn sweep_file(
    catalog: &Catalog,
    vault: &Vault,
    id: i64,
    now: i64,
) -> Result<Option<catalog::Expired>, catalog::CatalogError> {
    match catalog.remove_expired_file(id, now).await? {
        None => Ok(None),
        Some(f) => {
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
