use super::*;

async fn catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("catalog.db")).await.unwrap();
    (dir, cat)
}

#[tokio::test]
async fn tenants_accounts_and_keys() {
    let (_d, cat) = catalog().await;
    cat.add_tenant("acme", 1).await.unwrap();
    assert!(matches!(
        cat.add_tenant("acme", 2).await,
        Err(CatalogError::AlreadyExists { what: "tenant", .. })
    ));
    assert!(matches!(
        cat.add_tenant("../x", 2).await,
        Err(CatalogError::Invalid { .. })
    ));
    let key = NewKey {
        algorithm: "ssh-ed25519".into(),
        public_key: "ssh-ed25519 AAAA".into(),
        fingerprint: "SHA256:abc".into(),
        comment: "c".into(),
    };
    let a = cat
        .add_account("acme", "alice", Access::ReadOnly, None, Some(&key), 3)
        .await
        .unwrap();
    assert_eq!(a.tenant, "acme");
    assert_eq!(a.access, Access::ReadOnly);
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
async fn namespace_operations() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let d = cat.mkdir(t.id, root.id, b"in", 0o40755, 1).await.unwrap();
    assert!(cat.mkdir(t.id, root.id, b"in", 0o40755, 1).await.is_err());
    let up = |name: &'static [u8], blob: &'static str, exclusive| Upload {
        tenant_id: t.id,
        parent_id: d.id,
        name,
        blob_id: Some(blob),
        size: 3,
        mode: 0o100644,
        mtime: 5,
        exclusive,
    };
    assert_eq!(
        cat.commit_upload(&up(b"f\xff", "b1", true)).await.unwrap(),
        None
    );
    assert!(cat.commit_upload(&up(b"f\xff", "b2", true)).await.is_err());
    assert_eq!(
        cat.commit_upload(&up(b"f\xff", "b2", false)).await.unwrap(),
        Some("b1".into())
    );
    let f = cat.lookup(d.id, b"f\xff").await.unwrap().unwrap();
    assert_eq!(f.name, b"f\xff");
    assert!(matches!(cat.rmdir(d.id).await, Err(CatalogError::NotEmpty)));
    assert!(matches!(
        cat.rename(d.id, d.id, b"x", false).await,
        Err(CatalogError::MoveIntoSelf)
    ));
    cat.rename(f.id, root.id, b"g", false).await.unwrap();
    assert_eq!(cat.list_dir(root.id, None, 10).await.unwrap().len(), 2);
    assert_eq!(cat.usage(t.id).await.unwrap(), (3, 1));
    assert_eq!(cat.remove_file(f.id).await.unwrap(), Some("b2".into()));
    cat.rmdir(d.id).await.unwrap();
    assert!(cat.rmdir(root.id).await.is_err());
}
