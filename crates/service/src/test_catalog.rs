//! For unit tests: a catalog on disk with one tenant, as the server makes them (a real SQLite
//! catalog; the tenant key row holds placeholder bytes, as no test here opens it).

use catalog::{Catalog, Tenant, TenantKeyRow};

/// A catalog in `dir` with the tenant `acme`.
pub(crate) async fn with_tenant(dir: &std::path::Path) -> (Catalog, Tenant) {
    let catalog = Catalog::open(&dir.join("catalog.db")).await.unwrap();
    let tenant = catalog
        .add_tenant("acme", 1, |tenant_id| TenantKeyRow {
            tenant_id,
            version: 1,
            master_key_id: vec![1; 8],
            wrapped: vec![2; 60],
        })
        .await
        .unwrap();
    (catalog, tenant)
}
