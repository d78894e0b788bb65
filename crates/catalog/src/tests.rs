use super::*;

async fn catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("catalog.db")).await.unwrap();
    (dir, cat)
}

fn key(tenant_id: i64) -> TenantKeyRow {
    TenantKeyRow {
        tenant_id,
        version: 1,
        master_key_id: vec![1; 8],
        wrapped: vec![2; 60],
    }
}

fn name(s: &'static [u8]) -> StoredName<'static> {
    StoredName { mac: s, sealed: s }
}

#[tokio::test]
async fn tenants_accounts_and_keys() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    assert_eq!(t.retention_days, Some(DEFAULT_RETENTION_DAYS));
    assert_eq!(cat.tenant_key(t.id).await.unwrap().unwrap().version, 1);
    assert!(matches!(
        cat.add_tenant("acme", 2, key).await,
        Err(CatalogError::AlreadyExists { what: "tenant", .. })
    ));
    assert!(matches!(
        cat.add_tenant("../x", 2, key).await,
        Err(CatalogError::Invalid { .. })
    ));
    let k = NewKey {
        algorithm: "ssh-ed25519".into(),
        public_key: "ssh-ed25519 AAAA".into(),
        fingerprint: "SHA256:abc".into(),
        comment: "c".into(),
        expires_at: None,
    };
    let a = cat
        .add_account("acme", "alice", Access::ReadOnly, None, Some(&k), 3)
        .await
        .unwrap();
    assert_eq!((a.tenant.as_str(), a.access), ("acme", Access::ReadOnly));
    assert!(cat.find_key(a.id, "SHA256:abc").await.unwrap().is_some());
    assert!(cat.find_key(a.id, "SHA256:zzz").await.unwrap().is_none());
    cat.set_locked("alice", true).await.unwrap();
    assert!(cat.account("alice").await.unwrap().locked);
    cat.remove_key("alice", "SHA256:abc").await.unwrap();
    assert!(cat.list_keys("alice").await.unwrap().is_empty());
    cat.remove_account("alice").await.unwrap();
    assert!(cat.find_account("alice").await.unwrap().is_none());
}

#[tokio::test]
async fn namespace_quota_retention_and_shredding() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let d = cat
        .mkdir(t.id, root.id, name(b"in"), 0o40755, 1, 1)
        .await
        .unwrap();
    assert!(
        cat.mkdir(t.id, root.id, name(b"in"), 0o40755, 1, 1)
            .await
            .is_err()
    );
    assert!(matches!(
        cat.mkdir(t.id, root.id, name(b"x"), 0o40755, 2, 1).await,
        Err(CatalogError::KeyRotated)
    ));
    let up = |n: &'static [u8], blob: &'static str, size: u64, exclusive| Upload {
        tenant_id: t.id,
        parent_id: d,
        name: name(n),
        blob_id: Some(blob),
        size,
        mode: 0o100644,
        mtime: 5,
        seal: None,
        contents: None,
        exclusive,
        key_version: 1,
        now: 100,
    };
    assert_eq!(
        cat.commit_upload(&up(b"f", "b1", 3, true)).await.unwrap(),
        None
    );
    assert!(cat.commit_upload(&up(b"f", "b2", 3, true)).await.is_err());
    assert_eq!(
        cat.commit_upload(&up(b"f", "b2", 4, false)).await.unwrap(),
        Some("b1".into())
    );
    let f = cat.lookup(d, b"f").await.unwrap().unwrap();
    assert_eq!(f.size, 4);

    // Quotas: replacing counts the difference; a new file over the limit is refused.
    cat.update_tenant(
        "acme",
        &TenantSettings {
            quota_bytes: Some(Some(10)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(cat.byte_headroom(t.id, 10).await.unwrap(), 6);
    assert!(cat.commit_upload(&up(b"f", "b3", 10, false)).await.is_ok());
    assert!(matches!(
        cat.commit_upload(&up(b"g", "b4", 1, false)).await,
        Err(CatalogError::QuotaExceeded)
    ));
    cat.update_tenant(
        "acme",
        &TenantSettings {
            quota_bytes: Some(None),
            quota_files: Some(Some(1)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        cat.commit_upload(&up(b"g", "b4", 1, false)).await,
        Err(CatalogError::QuotaExceeded)
    ));

    // Retention: tenant default 30 days after upload; a folder rule overrides it below.
    let day = 86_400;
    assert!(
        cat.expired_files(100 + 29 * day, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        cat.expired_files(100 + 30 * day, 10).await.unwrap().len(),
        1
    );
    cat.set_folder_retention(d, None, Some(2)).await.unwrap();
    assert!(
        cat.expired_files(100 + 300 * day, 10)
            .await
            .unwrap()
            .is_empty()
    );
    cat.mark_downloaded(f.id, 1000).await.unwrap();
    cat.mark_downloaded(f.id, 5000).await.unwrap();
    assert!(cat.expired_files(1000 + 7199, 10).await.unwrap().is_empty());
    let exp = cat.expired_files(1000 + 7200, 10).await.unwrap();
    assert_eq!((exp[0].node_id, exp[0].tenant.as_str()), (f.id, "acme"));

    assert!(matches!(cat.rmdir(d).await, Err(CatalogError::NotEmpty)));
    assert!(matches!(
        cat.rename(t.id, d, d, name(b"x"), false, 1).await,
        Err(CatalogError::MoveIntoSelf)
    ));
    cat.rename(t.id, f.id, root.id, name(b"g"), false, 1)
        .await
        .unwrap();
    assert_eq!(cat.list_dir(root.id, None, 10).await.unwrap().len(), 2);
    assert_eq!(cat.usage(t.id).await.unwrap(), (10, 1));

    // Shredding removes the key and every row, and hands back the blobs.
    assert_eq!(
        cat.remove_tenant("acme").await.unwrap(),
        vec!["b3".to_string()]
    );
    assert!(cat.tenant_key(t.id).await.unwrap().is_none());
    assert!(cat.node(f.id).await.unwrap().is_none());
    assert!(cat.tenant("acme").await.is_err());
}
