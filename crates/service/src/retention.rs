//! The retention sweeper: deletes expired files (catalog row, then blob) and logs each deletion.
//! The same sweep runs in the server every `retention_sweep` and from `strongroom retention run`.

use catalog::Catalog;
use vault::{BlobId, Vault};

/// Files deleted per catalog query.
const SWEEP_BATCH: u32 = 500;

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
        for f in batch {
            match catalog.remove_file(f.node_id, None).await {
                Ok(blob) => {
                    progressed = true;
                    if let Some(id) = blob.as_deref().and_then(|h| BlobId::from_hex(h).ok()) {
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
                    deleted.push(f);
                }
                Err(catalog::CatalogError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if !progressed {
            return Ok(deleted);
        }
    }
}
