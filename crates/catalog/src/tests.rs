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
    StoredName {
        mac: s,
        sealed: s,
        retiring_mac: None,
    }
}

/// Re-keys as a test does: every new name MAC and sealed value is the old one prefixed with
/// `new:`; counts its calls.
#[derive(Default)]
struct Prefixing {
    calls: usize,
}

fn prefixed(v: &[u8]) -> Vec<u8> {
    [b"new:".as_slice(), v].concat()
}

impl Rekey for Prefixing {
    fn node(&mut self, n: &RekeyableNode) -> std::result::Result<Option<Rekeyed>, RekeyError> {
        self.calls += 1;
        if n.name_mac.starts_with(b"new:") {
            return Ok(None);
        }
        Ok(Some(Rekeyed {
            name_mac: prefixed(&n.name_mac),
            sealed_name: n.sealed_name.clone(),
            wrapped_key: n.wrapped_key.clone(),
            classes: n.classes.as_deref().map(prefixed),
        }))
    }

    fn class_history(
        &mut self,
        v: &RekeyableValue,
    ) -> std::result::Result<Option<Vec<u8>>, RekeyError> {
        self.calls += 1;
        Ok((!v.sealed.starts_with(b"new:")).then(|| prefixed(&v.sealed)))
    }

    fn totp_secret(&mut self, v: &RekeyableValue) -> std::result::Result<Vec<u8>, RekeyError> {
        self.calls += 1;
        Ok(prefixed(&v.sealed))
    }
}

/// Rotates tenant `tenant_id`'s key from `from` to `to` as the service does: begun, then
/// stepped to its end. Returns the nodes re-keyed.
async fn rotate(cat: &Catalog, tenant_id: i64, from: i64, to: &TenantKeyRow) -> Result<usize> {
    assert_eq!(to.tenant_id, tenant_id);
    let (mut rotation, mut rekey) = cat
        .begin_key_rotation(from, to, Prefixing::default(), 9)
        .await?;
    let mut nodes = 0;
    loop {
        let (step, r) = cat.rekey_step(&mut rotation, rekey).await?;
        rekey = r;
        nodes += step.nodes;
        if step.done {
            return Ok(nodes);
        }
    }
}

/// A tenant's usage counted from its files, less its canaries: what the triggers of migration
/// 0020 keep in `tenant_usage`, which `usage` reads.
async fn recounted(cat: &Catalog, tenant_id: i64) -> (u64, u64) {
    let (bytes, files): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM nodes n
          WHERE tenant_id = ? AND kind = 'file'
            AND NOT EXISTS (SELECT 1 FROM canaries c WHERE c.node_id = n.id)",
    )
    .bind(tenant_id)
    .fetch_one(&cat.pool)
    .await
    .unwrap();
    (bytes as u64, files as u64)
}

/// Removes tenant `name` to its end as `tenant remove --shred` does: the blob ids handed back.
async fn removed(cat: &Catalog, name: &str) -> Vec<String> {
    let mut removal = cat.begin_tenant_removal(name, 9).await.unwrap();
    let mut blobs = Vec::new();
    loop {
        let step = cat.remove_tenant_step(&mut removal).await.unwrap();
        blobs.extend(step.blobs);
        if step.done {
            return blobs;
        }
    }
}

/// Makes directory `n` in `parent` of tenant `tenant`, unrecorded: its id.
async fn mkdir_in(cat: &Catalog, tenant: i64, parent: i64, n: &'static [u8]) -> i64 {
    cat.mkdir(tenant, parent, name(n), 0o40755, 1, 1, None)
        .await
        .unwrap()
}

/// An upload of an empty file `n` into directory `parent_id`, kept inline, at key version 1;
/// tests change what they need with struct update syntax.
fn upload(tenant_id: i64, parent_id: i64, n: &'static [u8]) -> Upload<'static> {
    Upload {
        tenant_id,
        parent_id,
        name: name(n),
        blob_id: None,
        size: 0,
        mode: 0o100644,
        mtime: 5,
        seal: None,
        contents: None,
        exclusive: false,
        key_version: 1,
        now: 1,
        record: None,
        opened: None,
        classes: None,
    }
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
    let bob = cat
        .add_account("acme", "bob", Access::ReadOnly, None, None, 3)
        .await
        .unwrap();
    assert!(
        cat.accounts_out_of_service(&[a.id, bob.id])
            .await
            .unwrap()
            .is_empty()
    );
    // The live accounts' login policies: as each account's own, an account gone left out.
    let policies = |ids: Vec<i64>| {
        let cat = cat.clone();
        async move { cat.login_policies(&ids).await.unwrap().read }
    };
    let alice_policy = cat.account("alice").await.unwrap().login_policy();
    assert_eq!(
        policies(vec![bob.id, a.id, 999]).await,
        [
            alice_policy.clone(),
            cat.account("bob").await.unwrap().login_policy()
        ]
    );
    cat.update_account(
        "alice",
        &crate::AccountSettings {
            methods: Some(vec!["publickey".into(), "password".into()]),
            automation: Some(true),
            allowed_networks: Some(Some("10.0.0.0/8".into())),
            password_expires_at: Some(Some(7)),
        },
    )
    .await
    .unwrap();
    cat.set_tenant_gate("acme", Some(true), Some(Some("10.1.0.0/16".into())))
        .await
        .unwrap();
    let now = policies(vec![a.id]).await;
    assert_eq!(now, [cat.account("alice").await.unwrap().login_policy()]);
    assert_eq!(
        now[0],
        catalog_login_policy(a.id, &["publickey", "password"], Some(7))
    );
    assert!(policies(Vec::new()).await.is_empty());
    cat.lock_account("alice", "a test").await.unwrap();
    assert!(cat.account("alice").await.unwrap().locked);
    // Locked, removed (or never there): out of service; the others not named.
    cat.remove_account("bob").await.unwrap();
    assert_eq!(
        cat.accounts_out_of_service(&[bob.id, a.id, 999])
            .await
            .unwrap(),
        [(a.id, true), (bob.id, false), (999, false)]
    );
    assert!(cat.accounts_out_of_service(&[]).await.unwrap().is_empty());
    // Keys an account no longer holds: out of service.
    let live = |f: &str| (a.id, f.to_owned());
    assert_eq!(
        cat.keys_out_of_service(&[live("SHA256:abc"), live("SHA256:zzz")])
            .await
            .unwrap(),
        [live("SHA256:zzz")]
    );
    assert!(cat.keys_out_of_service(&[live("x\"]")]).await.is_err());
    cat.remove_key("alice", "SHA256:abc").await.unwrap();
    assert_eq!(
        cat.keys_out_of_service(&[live("SHA256:abc")])
            .await
            .unwrap(),
        [live("SHA256:abc")]
    );
    assert!(cat.list_keys("alice").await.unwrap().is_empty());
    cat.remove_account("alice").await.unwrap();
    assert!(cat.find_account("alice").await.unwrap().is_none());
    // Certificate revocations, read for the tenants asked about only.
    let other = cat.add_tenant("other", 1, key).await.unwrap();
    cat.revoke_certificate("acme", "key-id", "laptop \"1\"", 5)
        .await
        .unwrap();
    cat.revoke_certificate("other", "fingerprint", "SHA256:x", 5)
        .await
        .unwrap();
    let acme_id = cat.tenant("acme").await.unwrap().id;
    assert_eq!(
        cat.revocations_of(&[acme_id]).await.unwrap(),
        [(acme_id, "key-id".to_owned(), "laptop \"1\"".to_owned())]
    );
    assert_eq!(
        cat.revocations_of(&[acme_id, other.id])
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(cat.revocations_of(&[]).await.unwrap().is_empty());
    // Session kills: read after an id, in order; a day's kept.
    let day = crate::SESSION_KILLS_KEPT_MS;
    let first = cat
        .record_session_kill("{\"account\":\"a\"}", "one", 100)
        .await
        .unwrap();
    let second = cat.record_session_kill("{}", "two", 200).await.unwrap();
    let kills = cat.session_kills_after(0, 10).await.unwrap();
    assert_eq!(
        kills.iter().map(|k| k.id).collect::<Vec<_>>(),
        [first, second]
    );
    assert_eq!((kills[0].why.as_str(), kills[0].created_at), ("one", 100));
    assert_eq!(kills[0].selection, "{\"account\":\"a\"}");
    assert_eq!(cat.session_kills_after(first, 10).await.unwrap().len(), 1);
    assert_eq!(cat.session_kills_after(0, 1).await.unwrap().len(), 1);
    // A kill made a day after the first: the first is forgotten.
    let third = cat
        .record_session_kill("{}", "three", 150 + day)
        .await
        .unwrap();
    let ids: Vec<i64> = (cat.session_kills_after(0, 10).await.unwrap())
        .iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, [second, third]);
}

#[tokio::test]
async fn namespace_quota_retention_and_shredding() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let d = cat
        .mkdir(t.id, root.id, name(b"in"), 0o40755, 1, 1, None)
        .await
        .unwrap();
    assert!(
        cat.mkdir(t.id, root.id, name(b"in"), 0o40755, 1, 1, None)
            .await
            .is_err()
    );
    assert!(matches!(
        cat.mkdir(t.id, root.id, name(b"x"), 0o40755, 2, 1, None)
            .await,
        Err(CatalogError::KeyRotated)
    ));
    let up = |n: &'static [u8], blob: &'static str, size: u64, exclusive| Upload {
        blob_id: Some(blob),
        size,
        exclusive,
        now: 100,
        ..upload(t.id, d, n)
    };
    assert_eq!(
        cat.commit_upload(up(b"f", "b1", 3, true)).await.unwrap(),
        None
    );
    assert!(cat.commit_upload(up(b"f", "b2", 3, true)).await.is_err());
    assert_eq!(
        cat.commit_upload(up(b"f", "b2", 4, false)).await.unwrap(),
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
    assert!(cat.commit_upload(up(b"f", "b3", 10, false)).await.is_ok());
    assert!(matches!(
        cat.commit_upload(up(b"g", "b4", 1, false)).await,
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
        cat.commit_upload(up(b"g", "b4", 1, false)).await,
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
    // No rule may expire a file within a day of its upload (downloads rely on it).
    for (days, hours) in [(Some(0), None), (Some(-1), Some(2)), (None, Some(-1))] {
        assert!(matches!(
            cat.set_folder_retention(d, days, hours).await,
            Err(CatalogError::Invalid { .. })
        ));
    }
    assert!(matches!(
        cat.update_tenant(
            "acme",
            &TenantSettings {
                retention_days: Some(Some(0)),
                ..Default::default()
            },
        )
        .await,
        Err(CatalogError::Invalid { .. })
    ));
    cat.set_folder_retention(d, None, Some(2)).await.unwrap();
    assert!(
        cat.expired_files(100 + 300 * day, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A download of contents replaced since it opened does not start the new ones' clock.
    cat.close_download(&f, Some(500), None).await.unwrap();
    let f = cat.node(f.id).await.unwrap().unwrap();
    assert_eq!(
        (f.blob_id.as_deref(), f.first_download_at),
        (Some("b3"), None)
    );
    cat.close_download(&f, Some(1000), None).await.unwrap();
    cat.close_download(&f, Some(5000), None).await.unwrap();
    assert!(cat.expired_files(1000 + 7199, 10).await.unwrap().is_empty());
    assert_eq!(cat.expired_file(f.id, 1000 + 7199).await.unwrap(), None);
    let exp = cat.expired_files(1000 + 7200, 10).await.unwrap();
    assert_eq!((exp[0].node_id, exp[0].tenant.as_str()), (f.id, "acme"));
    // One file judged alone, by the same rule: the folder's, not the tenant's.
    assert_eq!(
        cat.expired_file(f.id, 1000 + 7200).await.unwrap().as_ref(),
        Some(&exp[0])
    );
    assert_eq!(cat.expired_file(d, 1000 + 7200).await.unwrap(), None);
    // A page of a listing asks about its files at once: a directory and a missing id are none.
    let page = [d, f.id, f.id + 1000];
    assert_eq!(
        cat.expired_among(&page, 1000 + 7200).await.unwrap(),
        vec![f.id]
    );
    assert!(
        cat.expired_among(&page, 1000 + 7199)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        cat.expired_among(&[], 1000 + 7200)
            .await
            .unwrap()
            .is_empty()
    );
    // Under a directory, at any depth.
    for dir in [d, root.id] {
        let under = cat.expired_under(dir, 1000 + 7200, 10).await.unwrap();
        assert_eq!(under, vec![f.id]);
        assert!(
            cat.expired_under(dir, 1000 + 7199, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(
        cat.expired_file(f.id + 1000, 1000 + 7200).await.unwrap(),
        None
    );

    assert!(matches!(
        cat.rmdir(d, None).await,
        Err(CatalogError::NotEmpty)
    ));
    assert!(matches!(
        cat.rename(t.id, d, d, name(b"x"), false, 1, None).await,
        Err(CatalogError::MoveIntoSelf)
    ));
    cat.rename(t.id, f.id, root.id, name(b"g"), false, 1, None)
        .await
        .unwrap();
    assert_eq!(cat.list_dir(root.id, None, 10).await.unwrap().len(), 2);
    assert_eq!(cat.usage(t.id).await.unwrap(), (10, 1));
    assert_eq!(cat.usage(t.id).await.unwrap(), recounted(&cat, t.id).await);

    // Shredding removes the key and every row, and hands back the blobs.
    assert_eq!(removed(&cat, "acme").await, vec!["b3".to_string()]);
    assert!(cat.tenant_key(t.id).await.unwrap().is_none());
    assert!(cat.node(f.id).await.unwrap().is_none());
    assert!(cat.tenant("acme").await.is_err());
    let usage_rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tenant_usage")
        .fetch_one(&cat.pool)
        .await
        .unwrap();
    assert_eq!(usage_rows, (0,), "its usage goes with it");
}

/// A master key rotation stores its re-wraps only if no tenant key was made under the old master
/// key since its reading (that key would be lost with the old master key); once it commits, a
/// tenant key made under the old master key is refused.
#[tokio::test]
async fn a_master_rotation_overtaken_by_a_new_tenant_key_stores_nothing() {
    let (_d, cat) = catalog().await;
    let (old, new) = (vec![1u8; 8], vec![3u8; 8]);
    let acme = cat.add_tenant("acme", 1, key).await.unwrap();
    assert_eq!(cat.master_key_id().await.unwrap(), Some(old.clone()));
    let rewrap = |rows: Vec<TenantKeyRow>| -> Vec<TenantKeyRow> {
        rows.into_iter()
            .map(|r| TenantKeyRow {
                master_key_id: new.clone(),
                wrapped: vec![4; 60],
                ..r
            })
            .collect()
    };
    let read = rewrap(cat.all_tenant_keys().await.unwrap());
    // Another administrator adds a tenant between the reading and the rotation's transaction.
    let globex = cat.add_tenant("globex", 2, key).await.unwrap();
    assert!(matches!(
        cat.rewrap_tenant_keys(&new, &read).await,
        Err(CatalogError::TenantKeyMade)
    ));
    assert_eq!(cat.master_key_id().await.unwrap(), Some(old.clone()));
    for t in [acme.id, globex.id] {
        assert_eq!(cat.tenant_key(t).await.unwrap().unwrap().master_key_id, old);
    }
    // Read again, it goes through: both keys under the new master key, which is recorded.
    let read = rewrap(cat.all_tenant_keys().await.unwrap());
    assert_eq!(read.len(), 2);
    cat.rewrap_tenant_keys(&new, &read).await.unwrap();
    assert_eq!(cat.master_key_id().await.unwrap(), Some(new.clone()));
    for t in [acme.id, globex.id] {
        assert_eq!(cat.tenant_key(t).await.unwrap().unwrap().master_key_id, new);
    }
    // A keyring loaded before the rotation makes keys under the old master key: refused, and
    // nothing of the tenant or the new key version is stored.
    assert!(matches!(
        cat.add_tenant("initech", 3, key).await,
        Err(CatalogError::MasterKeyRotated)
    ));
    assert!(cat.tenant("initech").await.is_err());
    let v2 = TenantKeyRow {
        version: 2,
        ..key(acme.id)
    };
    assert!(matches!(
        rotate(&cat, acme.id, 1, &v2).await,
        Err(CatalogError::MasterKeyRotated)
    ));
    assert_eq!(cat.tenant_key(acme.id).await.unwrap().unwrap().version, 1);
    // Under the recorded master key, both go through.
    let under_new = |t| TenantKeyRow {
        master_key_id: new.clone(),
        ..key(t)
    };
    cat.add_tenant("initech", 5, under_new).await.unwrap();
    let v2 = TenantKeyRow {
        version: 2,
        ..under_new(acme.id)
    };
    rotate(&cat, acme.id, 1, &v2).await.unwrap();
}

/// A key rotation goes in steps (16 rows in tests), the new key in force from its beginning:
/// what is written meanwhile is under the new key (its names checked against the old forms
/// too), rows changed between a step's reading and its transaction are re-keyed again inside
/// it, every row ends under the new key exactly once, class history rows after the nodes, TOTP
/// secrets at the beginning; the old key goes with the last step.
#[tokio::test]
async fn a_rotation_rekeys_every_row_in_steps_beside_changes() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let names: Vec<&'static [u8]> = (0..40)
        .map(|i| &*Box::leak(format!("d{i:02}").into_bytes().into_boxed_slice()))
        .collect();
    for n in &names {
        mkdir_in(&cat, t.id, root.id, n).await;
    }
    // A file whose contents were replaced: a class history row (under the old key).
    for classes in [b"c1", b"c2"] {
        let u = Upload {
            classes: Some(classes.to_vec()),
            contents: Some(classes.to_vec()),
            ..upload(t.id, root.id, b"f")
        };
        cat.commit_upload(u).await.unwrap();
    }
    let alice = cat
        .add_account("acme", "alice", Access::ReadOnly, None, None, 2)
        .await
        .unwrap();
    cat.set_totp(&alice, 1, b"secret", &[]).await.unwrap();
    let v2 = TenantKeyRow {
        version: 2,
        ..key(t.id)
    };
    let (mut rotation, rekey) = cat
        .begin_key_rotation(1, &v2, Prefixing::default(), 9)
        .await
        .unwrap();
    assert_eq!((rotation.from_version, rotation.to_version), (1, 2));
    assert_eq!(
        cat.tenant_totp_secrets(t.id).await.unwrap(),
        [(alice.id, b"new:secret".to_vec())]
    );
    // Another rotation cannot begin; writes under the old key are refused.
    assert!(matches!(
        cat.begin_key_rotation(
            2,
            &TenantKeyRow {
                version: 3,
                ..key(t.id)
            },
            Prefixing::default(),
            9
        )
        .await,
        Err(CatalogError::RotationUnderWay)
    ));
    assert!(matches!(
        cat.mkdir(t.id, root.id, name(b"x"), 0o40755, 1, 1, None)
            .await,
        Err(CatalogError::KeyRotated)
    ));
    let (first, rekey) = cat.rekey_step(&mut rotation, rekey).await.unwrap();
    assert_eq!((first.nodes, first.done), (16, false));
    // Between steps: a name not re-keyed yet is taken under either form, and found by either.
    let under_new =
        |n: &'static [u8]| -> &'static [u8] { Box::leak(prefixed(n).into_boxed_slice()) };
    let taken = StoredName {
        mac: under_new(b"d30"),
        sealed: b"d30",
        retiring_mac: Some(b"d30"),
    };
    assert!(matches!(
        cat.mkdir(t.id, root.id, taken, 0o40755, 2, 1, None).await,
        Err(CatalogError::AlreadyExists { .. })
    ));
    let d30 = cat
        .lookup_forms(root.id, &[prefixed(b"d30"), b"d30".to_vec()])
        .await
        .unwrap()
        .unwrap();
    // One renamed, under the new key; a new one made; one re-keyed already renamed again.
    let d31 = cat.lookup(root.id, b"d31").await.unwrap().unwrap();
    let renamed = StoredName {
        mac: under_new(b"d31b"),
        sealed: b"d31b",
        retiring_mac: Some(b"d31b"),
    };
    cat.rename(t.id, d31.id, root.id, renamed, false, 2, None)
        .await
        .unwrap();
    let late = StoredName {
        mac: under_new(b"late"),
        sealed: b"late",
        retiring_mac: Some(b"late"),
    };
    cat.mkdir(t.id, root.id, late, 0o40755, 2, 1, None)
        .await
        .unwrap();
    // An upload over `d30`'s name replaces nothing: a directory.
    let over = Upload {
        name: StoredName {
            mac: under_new(b"d30"),
            sealed: b"d30",
            retiring_mac: Some(b"d30"),
        },
        key_version: 2,
        ..upload(t.id, root.id, b"")
    };
    assert!(matches!(
        cat.commit_upload(over).await,
        Err(CatalogError::IsADirectory)
    ));
    let mut rekey = rekey;
    let mut nodes = first.nodes;
    let mut history = 0;
    loop {
        let (step, r) = cat.rekey_step(&mut rotation, rekey).await.unwrap();
        rekey = r;
        nodes += step.nodes;
        history += step.history;
        if step.done {
            break;
        }
    }
    // 40 directories and the file, less the one renamed under the new key; one history row.
    assert_eq!((nodes, history), (40, 1));
    assert!(cat.key_rotation(t.id).await.unwrap().is_none());
    let state = cat.tenant_state(t.id).await.unwrap().unwrap();
    assert_eq!((state.key.version, state.retiring), (2, None));
    for n in names
        .iter()
        .filter(|n| **n != b"d31")
        .copied()
        .chain([&b"d31b"[..], b"late", b"f"])
    {
        let node = cat.lookup(root.id, &prefixed(n)).await.unwrap();
        assert!(node.is_some(), "{n:?}");
    }
    assert_eq!(
        cat.lookup(root.id, &prefixed(b"d30"))
            .await
            .unwrap()
            .unwrap()
            .id,
        d30.id
    );
    // Nothing was re-keyed twice, nothing left under the old key.
    let macs: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT name_mac FROM nodes WHERE tenant_id = ? AND parent_id IS NOT NULL",
    )
    .bind(t.id)
    .fetch_all(&cat.pool)
    .await
    .unwrap();
    assert_eq!(macs.len(), 42);
    assert!(
        macs.iter()
            .all(|m| m.starts_with(b"new:") && !m.starts_with(b"new:new:"))
    );
    let history: Vec<Vec<u8>> = cat
        .tenant_class_history(t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.classes)
        .collect();
    assert_eq!(history, [b"new:c1".to_vec()]);
    let f = cat.lookup(root.id, &prefixed(b"f")).await.unwrap().unwrap();
    assert_eq!(f.classes, Some(b"new:c2".to_vec()));
}

/// A rotation interrupted goes on where it stopped (a step another process took meanwhile
/// stores nothing twice); the key it replaces is re-wrapped by a master key rotation like the
/// key in force; a tenant's removal deletes both and ends the rotation.
#[tokio::test]
async fn an_interrupted_rotation_goes_on_and_its_old_key_is_kept_wrapped_until_it_ends() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    for i in 0..40 {
        let n: &'static [u8] = Box::leak(format!("d{i:02}").into_bytes().into_boxed_slice());
        mkdir_in(&cat, t.id, root.id, n).await;
    }
    let v2 = TenantKeyRow {
        version: 2,
        ..key(t.id)
    };
    let (mut stale, rekey) = cat
        .begin_key_rotation(1, &v2, Prefixing::default(), 9)
        .await
        .unwrap();
    // Another process (the command run again) takes the first step.
    let mut again = cat.key_rotation(t.id).await.unwrap().unwrap();
    let (step, _) = cat
        .rekey_step(&mut again, Prefixing::default())
        .await
        .unwrap();
    assert_eq!(step.nodes, 16);
    let (step, rekey) = cat.rekey_step(&mut stale, rekey).await.unwrap();
    assert_eq!(step, RekeyStep::default(), "overtaken: stores nothing");
    let (step, _) = cat.rekey_step(&mut stale, rekey).await.unwrap();
    assert_eq!(step.nodes, 16, "goes on after the other's step");
    // Both keys are re-wrapped by a master key rotation; one left under the old master refuses.
    let keys = cat.all_tenant_keys().await.unwrap();
    assert_eq!(keys.iter().map(|k| k.version).collect::<Vec<_>>(), [1, 2]);
    let rewrapped: Vec<TenantKeyRow> = keys
        .iter()
        .map(|k| TenantKeyRow {
            master_key_id: vec![3; 8],
            wrapped: vec![4; 60],
            ..k.clone()
        })
        .collect();
    assert!(matches!(
        cat.rewrap_tenant_keys(&[3; 8], &rewrapped[1..]).await,
        Err(CatalogError::TenantKeyMade)
    ));
    cat.rewrap_tenant_keys(&[3; 8], &rewrapped).await.unwrap();
    let state = cat.tenant_state(t.id).await.unwrap().unwrap();
    assert_eq!(state.key.master_key_id, [3; 8]);
    assert_eq!(state.retiring.unwrap().master_key_id, [3; 8]);
    // The tenant's removal deletes the old key with the new; the rotation ends there.
    cat.begin_tenant_removal("acme", 20).await.unwrap();
    assert!(cat.tenant_state(t.id).await.unwrap().is_none());
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retiring_tenant_keys")
        .fetch_one(&cat.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(matches!(
        cat.rekey_step(&mut again, Prefixing::default()).await,
        Err(CatalogError::KeyRotated)
    ));
}

#[tokio::test]
async fn a_file_replaced_after_it_was_found_expired_is_not_removed() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let day = 86_400;
    let up = |blob: &'static str, now| Upload {
        blob_id: Some(blob),
        size: 3,
        now,
        ..upload(t.id, root.id, b"statement.csv")
    };
    cat.commit_upload(up("b1", 100)).await.unwrap();
    let expiry = 100 + DEFAULT_RETENTION_DAYS * day;
    let found = cat.expired_files(expiry, 10).await.unwrap();
    assert_eq!(found.len(), 1);
    // The next day's file replaces it (same id) between the sweep's look and its delete.
    assert_eq!(
        cat.commit_upload(up("b2", expiry)).await.unwrap(),
        Some("b1".into())
    );
    // Each deletion's record is made from the file judged in its transaction.
    let record: RecordOfExpired = std::sync::Arc::new(|f: &Expired| {
        outbox_record(
            f.node_id,
            format!("{} {:?}", f.tenant, f.blob_id).as_bytes(),
        )
    });
    assert_eq!(
        cat.remove_expired_file(found[0].node_id, expiry, Some(record.clone()))
            .await
            .unwrap(),
        None
    );
    let kept = cat.node(found[0].node_id).await.unwrap().unwrap();
    assert_eq!(kept.blob_id.as_deref(), Some("b2"));
    assert!(cat.outbox().pending().unwrap().is_empty());
    // Expired in its turn, it goes, and the blob handed back is its own.
    let later = expiry + DEFAULT_RETENTION_DAYS * day;
    let gone = cat
        .remove_expired_file(kept.id, later, Some(record.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (gone.node_id, gone.blob_id.as_deref()),
        (kept.id, Some("b2"))
    );
    assert!(cat.node(kept.id).await.unwrap().is_none());
    assert_eq!(cat.usage(t.id).await.unwrap(), recounted(&cat, t.id).await);
    let committed = cat.outbox().pending().unwrap();
    assert_eq!(committed.len(), 1);
    assert_eq!(committed[0].sealed_event, b"acme Some(\"b2\")");
    assert_eq!(
        cat.remove_expired_file(kept.id, later, Some(record))
            .await
            .unwrap(),
        None
    );
    assert_eq!(cat.outbox().pending().unwrap().len(), 1);
}

fn outbox_record(id: i64, sealed: &[u8]) -> OutboxRecord {
    OutboxRecord {
        id,
        queued_ns: id,
        time: 100 + id,
        meta: LedgerMeta {
            kind: "file".into(),
            account: Some("alice".into()),
            // Kept through the outbox, as the ledger indexes them.
            file_id: Some(10 * id),
            path_tag: Some(format!("{id:032x}")),
            to_tag: (id % 2 == 0).then(|| format!("{:032x}", id + 1)),
            ..LedgerMeta::default()
        },
        sealed_event: sealed.to_vec(),
    }
}

#[tokio::test]
async fn audit_records_ride_the_changes_they_record() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let (put, refused, removed, closed) = (
        outbox_record(3, b"put"),
        outbox_record(1, b"refused"),
        outbox_record(2, b"removed"),
        outbox_record(4, b"closed"),
    );
    let up = |record, exclusive| Upload {
        size: 1,
        contents: Some(vec![7]),
        exclusive,
        now: 100,
        record,
        ..upload(t.id, root.id, b"f")
    };
    cat.commit_upload(up(Some(ready(put.clone())), true))
        .await
        .unwrap();
    // A change that fails commits no record.
    assert!(
        cat.commit_upload(up(Some(ready(refused.clone())), true))
            .await
            .is_err()
    );
    let f = cat.lookup(root.id, b"f").await.unwrap().unwrap();
    cat.close_download(&f, None, Some(ready(closed.clone())))
        .await
        .unwrap();
    cat.remove_file(f.id, Some(ready(removed.clone())))
        .await
        .unwrap();
    assert!(
        cat.remove_file(f.id, Some(ready(refused.clone())))
            .await
            .is_err()
    );

    let outbox = cat.outbox();
    let pending = outbox.pending().unwrap();
    assert_eq!(pending, vec![removed.clone(), put.clone(), closed.clone()]);

    // Recovery appends what the ledger lacks, once.
    let dir = tempfile::tempdir().unwrap();
    let ledger = LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
    ledger
        .append(&[(put.time, put.meta.clone(), put.sealed_event.clone())])
        .unwrap();
    // `pending` is removed, put, closed; put is there already (seq 1).
    assert_eq!(ledger.append_missing(&pending).unwrap(), [(2, 0), (3, 2)]);
    assert_eq!(ledger.append_missing(&pending).unwrap(), []);
    let stored: Vec<_> = ledger
        .export(&LedgerFilter::default(), 0, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.sealed_event)
        .collect();
    assert_eq!(stored, [&b"put"[..], b"removed", b"closed"]);
    assert_eq!(ledger.verify(b"").unwrap().unwrap().records, 3);

    outbox.settled(&[removed.id, put.id], None, 0).unwrap();
    assert_eq!(outbox.pending().unwrap(), vec![closed.clone()]);

    // Directories, renames and attributes likewise; a refused one leaves no record.
    let (made, moved, changed, gone) = (
        outbox_record(5, b"mkdir"),
        outbox_record(6, b"rename"),
        outbox_record(7, b"setstat"),
        outbox_record(8, b"rmdir"),
    );
    let d = cat
        .mkdir(
            t.id,
            root.id,
            name(b"d"),
            0o40755,
            1,
            1,
            Some(ready(made.clone())),
        )
        .await
        .unwrap();
    assert!(
        cat.mkdir(
            t.id,
            root.id,
            name(b"d"),
            0o40755,
            1,
            1,
            Some(ready(refused.clone()))
        )
        .await
        .is_err()
    );
    cat.rename(
        t.id,
        d,
        root.id,
        name(b"e"),
        false,
        1,
        Some(ready(moved.clone())),
    )
    .await
    .unwrap();
    cat.set_attrs(d, Some(0o700), None, Some(ready(changed.clone())))
        .await
        .unwrap();
    cat.rmdir(d, Some(ready(gone.clone()))).await.unwrap();
    assert!(cat.rmdir(d, Some(ready(refused))).await.is_err());
    assert_eq!(
        outbox.pending().unwrap(),
        vec![closed, made, moved, changed, gone]
    );
}

/// A record made in the change's transaction names the node: a new file's id, which a
/// replacing upload and a rename keep.
#[tokio::test]
async fn records_name_the_node_they_touched() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let made = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let naming = |tag: &'static str| -> RecordOf {
        let made = made.clone();
        std::sync::Arc::new(move |n: NodeRef| {
            let id = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            outbox_record(id, format!("{tag} {} {}", n.id, n.size).as_bytes())
        })
    };
    let up = |size: u64, record| Upload {
        size,
        contents: Some(vec![7; size as usize]),
        now: 100,
        record: Some(record),
        opened: Some(naming("opened")),
        ..upload(t.id, root.id, b"f")
    };
    cat.commit_upload(up(3, naming("put"))).await.unwrap();
    let f = cat.lookup(root.id, b"f").await.unwrap().unwrap();
    cat.commit_upload(up(5, naming("replaced"))).await.unwrap();
    cat.rename(
        t.id,
        f.id,
        root.id,
        name(b"g"),
        false,
        1,
        Some(naming("moved")),
    )
    .await
    .unwrap();
    let bodies: Vec<String> = cat
        .outbox()
        .pending()
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8(r.sealed_event).unwrap())
        .collect();
    let id = f.id;
    assert_eq!(
        bodies,
        [
            format!("opened {id} 3"),
            format!("put {id} 3"),
            format!("opened {id} 5"),
            format!("replaced {id} 5"),
            format!("moved {id} 5"),
        ]
    );
}

/// A directory's rename names the files under it, at any depth, in its record: how many, and
/// the first ids (bounded); a file's rename names none.
#[tokio::test]
async fn a_directorys_rename_names_the_files_that_moved_with_it() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let mkdir = |n: &'static [u8], parent: i64| mkdir_in(&cat, t.id, parent, n);
    let out = mkdir(b"out", root.id).await;
    let deeper = mkdir(b"deeper", mkdir(b"sub", out).await).await;
    let big = mkdir(b"big", root.id).await;
    mkdir(b"empty", big).await;
    let mut ids = Vec::new();
    for (parent, n) in [
        (out, &b"a"[..]),
        (deeper, b"b"),
        (deeper, b"c"),
        (root.id, b"d"),
    ] {
        cat.commit_upload(upload(t.id, parent, n)).await.unwrap();
        ids.push(cat.lookup(parent, n).await.unwrap().unwrap().id);
    }
    for i in 0..MAX_MOVED_IDS + 20 {
        let n = format!("f{i}").into_bytes();
        let named = StoredName {
            mac: &n,
            sealed: &n,
            retiring_mac: None,
        };
        let u = Upload {
            name: named,
            ..upload(t.id, big, b"")
        };
        cat.commit_upload(u).await.unwrap();
    }
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = || -> RecordOf {
        let seen = seen.clone();
        std::sync::Arc::new(move |n: NodeRef| {
            let mut seen = seen.lock().unwrap();
            seen.push(n.moved.clone());
            outbox_record(seen.len() as i64, b"moved")
        })
    };
    cat.rename(
        t.id,
        out,
        root.id,
        name(b"hidden"),
        false,
        1,
        Some(record()),
    )
    .await
    .unwrap();
    cat.rename(t.id, ids[3], out, name(b"d"), false, 1, Some(record()))
        .await
        .unwrap();
    cat.rename(t.id, big, out, name(b"big"), false, 1, Some(record()))
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let sorted = |m: &MovedNodes| {
        let mut ids = m.ids.clone();
        ids.sort();
        (m.count, ids)
    };
    assert_eq!(seen[0].as_ref().map(sorted), Some((3, ids[..3].to_vec())));
    assert_eq!(seen[1], None);
    // Of a directory of more: the count of all (its subdirectory not among them), 500 ids.
    let (count, many) = sorted(seen[2].as_ref().unwrap());
    assert_eq!(
        (count, many.len()),
        (MAX_MOVED_IDS as u64 + 20, MAX_MOVED_IDS)
    );
    many.windows(2)
        .for_each(|w| assert!(w[0] < w[1], "an id named twice"));
}

#[tokio::test]
async fn replacing_rename_follows_posix() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let mkdir = |n: &'static [u8], parent: i64| mkdir_in(&cat, t.id, parent, n);
    let victim_dir = mkdir(b"victimdir", root.id).await;
    let full = mkdir(b"full", root.id).await;
    let empty = mkdir(b"empty", root.id).await;
    mkdir(b"inner", full).await;
    let file = |n: &'static [u8], blob: &'static str| Upload {
        blob_id: Some(blob),
        size: 7,
        exclusive: true,
        now: 100,
        ..upload(t.id, root.id, n)
    };
    cat.commit_upload(file(b"report.csv", "b1")).await.unwrap();
    cat.commit_upload(file(b"other.csv", "b2")).await.unwrap();
    let report = cat.lookup(root.id, b"report.csv").await.unwrap().unwrap();
    let other = cat.lookup(root.id, b"other.csv").await.unwrap().unwrap();

    // A directory over a file: ENOTDIR, and the file is untouched.
    assert!(matches!(
        cat.rename(
            t.id,
            victim_dir,
            root.id,
            name(b"report.csv"),
            true,
            1,
            None
        )
        .await,
        Err(CatalogError::NotADirectory)
    ));
    let still = cat.lookup(root.id, b"report.csv").await.unwrap().unwrap();
    assert_eq!(
        (still.id, still.kind, still.size),
        (report.id, NodeKind::File, 7)
    );
    assert_eq!(cat.usage(t.id).await.unwrap(), (14, 2));
    assert_eq!(cat.usage(t.id).await.unwrap(), recounted(&cat, t.id).await);
    // A file over a directory: EISDIR.
    assert!(matches!(
        cat.rename(t.id, report.id, root.id, name(b"empty"), true, 1, None)
            .await,
        Err(CatalogError::IsADirectory)
    ));
    // A directory over a non-empty directory: ENOTEMPTY.
    assert!(matches!(
        cat.rename(t.id, victim_dir, root.id, name(b"full"), true, 1, None)
            .await,
        Err(CatalogError::NotEmpty)
    ));
    assert!(cat.node(full).await.unwrap().is_some());
    // A directory over an empty directory: allowed, the empty one goes.
    cat.rename(t.id, victim_dir, root.id, name(b"empty"), true, 1, None)
        .await
        .unwrap();
    assert!(cat.node(empty).await.unwrap().is_none());
    assert_eq!(
        cat.lookup(root.id, b"empty").await.unwrap().unwrap().id,
        victim_dir
    );
    // A file over a file: replaced, its blob handed back.
    assert_eq!(
        cat.rename(t.id, other.id, root.id, name(b"report.csv"), true, 1, None)
            .await
            .unwrap(),
        Some("b1".to_string())
    );
    assert_eq!(cat.usage(t.id).await.unwrap(), (7, 1));
    assert_eq!(cat.usage(t.id).await.unwrap(), recounted(&cat, t.id).await);
}

#[tokio::test]
async fn earlier_contents_keep_their_classes_until_the_tenant_goes() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let up = |n: &'static [u8], blob: &'static str, size: u64, now: i64, classes: &[u8]| Upload {
        blob_id: Some(blob),
        size,
        now,
        classes: Some(classes.to_vec()),
        ..upload(t.id, root.id, n)
    };
    cat.commit_upload(up(b"f", "b1", 3, 100, b"first"))
        .await
        .unwrap();
    let f = cat.lookup(root.id, b"f").await.unwrap().unwrap();
    assert!(cat.class_history(f.id).await.unwrap().is_empty());
    // Replaced: the first contents' classes are kept, with their size and commit time.
    cat.commit_upload(up(b"f", "b2", 4, 200, b"second"))
        .await
        .unwrap();
    // Attributes and classes set again do not count as new contents.
    cat.set_attrs(f.id, Some(0o600), None, None).await.unwrap();
    let h = cat.class_history(f.id).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].created_at, h[0].size, &h[0].classes[..]),
        (100, 3, &b"first"[..])
    );
    // Deleted: the last contents' classes are kept too.
    cat.remove_file(f.id, None).await.unwrap();
    let h = cat.class_history(f.id).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[1].created_at, h[1].size, &h[1].classes[..]),
        (200, 4, &b"second"[..])
    );
    assert_eq!(cat.tenant_class_history(t.id).await.unwrap().len(), 2);
    // A file never classified leaves nothing.
    let mut plain = up(b"p", "b3", 1, 300, b"");
    plain.classes = None;
    cat.commit_upload(plain).await.unwrap();
    let p = cat.lookup(root.id, b"p").await.unwrap().unwrap();
    cat.remove_file(p.id, None).await.unwrap();
    assert!(cat.class_history(p.id).await.unwrap().is_empty());
    // The tenant's removal takes its history with it (and is not stopped by it).
    cat.commit_upload(up(b"g", "b4", 1, 400, b"third"))
        .await
        .unwrap();
    removed(&cat, "acme").await;
    assert!(cat.tenant_class_history(t.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_deleted_files_id_is_never_given_again() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let up = |n: &'static [u8]| Upload {
        contents: Some(Vec::new()),
        exclusive: true,
        ..upload(t.id, root.id, n)
    };
    cat.commit_upload(up(b"newest")).await.unwrap();
    let newest = cat.lookup(root.id, b"newest").await.unwrap().unwrap();
    cat.remove_file(newest.id, None).await.unwrap();
    cat.commit_upload(up(b"next")).await.unwrap();
    let next = cat.lookup(root.id, b"next").await.unwrap().unwrap();
    assert!(next.id > newest.id, "{} reused", newest.id);
    let d = cat
        .mkdir(t.id, root.id, name(b"dir"), 0o40755, 1, 1, None)
        .await
        .unwrap();
    assert!(d > next.id);
}

/// Every limit in the catalog's SQL is written `LIMIT +?N` (the crate's documentation says
/// why: a bare parameter makes SQLite prepare the statement again at every run).
#[test]
fn no_limit_is_a_bare_parameter() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 5, "{files:?}");
    // Spelt apart so that this test does not find itself.
    let bare = ["LIMIT", "OFFSET"].map(|k| format!("{k} ?"));
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for b in &bare {
                assert!(
                    !line.contains(b.as_str()),
                    "{}:{}: {b} (write LIMIT +?N)",
                    path.display(),
                    n + 1
                );
            }
        }
    }
}

/// (scope, name) of every detection override.
async fn overridden(cat: &Catalog) -> Vec<(String, String)> {
    cat.detection_overrides()
        .await
        .unwrap()
        .into_iter()
        .map(|(s, n, _)| (s, n))
        .collect()
}

/// Detection overrides go with their tenant or account: one made later under the same name
/// starts from the thresholds in force, not from relaxed ones set for another.
#[tokio::test]
async fn detection_overrides_go_with_their_tenant_or_account() {
    let (_d, cat) = catalog().await;
    cat.add_tenant("acme", 1, key).await.unwrap();
    cat.add_tenant("globex", 1, key).await.unwrap();
    for (t, a) in [("acme", "alice"), ("globex", "bob"), ("globex", "carol")] {
        cat.add_account(t, a, Access::ReadOnly, None, None, 2)
            .await
            .unwrap();
    }
    let set = |scope: &'static str, name: &'static str| {
        cat.set_detection_override(scope, name, Some(r#"{"relaxed":true}"#))
    };
    for (scope, name) in [
        ("account", "alice"),
        ("account", "bob"),
        ("account", "carol"),
        ("tenant", "acme"),
        ("tenant", "globex"),
    ] {
        set(scope, name).await.unwrap();
    }
    // Set again: replaced, not added.
    set("account", "alice").await.unwrap();
    assert_eq!(cat.detection_overrides().await.unwrap().len(), 5);
    // None for what does not exist.
    for (scope, name) in [("account", "mallory"), ("tenant", "initech")] {
        assert!(matches!(
            set(scope, name).await,
            Err(CatalogError::NotFound { name: n, .. }) if n == name
        ));
    }
    cat.remove_account("alice").await.unwrap();
    removed(&cat, "globex").await;
    let left = overridden(&cat).await;
    assert_eq!(left, [("tenant".to_owned(), "acme".to_owned())]);
    // Made again under the same names, they have none.
    cat.add_tenant("globex", 3, key).await.unwrap();
    cat.add_account("acme", "alice", Access::ReadOnly, None, None, 3)
        .await
        .unwrap();
    assert_eq!(cat.detection_overrides().await.unwrap().len(), 1);
}

/// A file's classes and a TOTP secret are sealed under the tenant key read before their
/// transaction: once a rotation has replaced that key they are refused (they would be stored
/// under a key that is gone: the classes unreadable, the account locked out of its second
/// factor), and nothing is stored; under the new key they go through.
#[tokio::test]
async fn classes_and_totp_secrets_sealed_under_a_rotated_key_are_refused() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    cat.commit_upload(upload(t.id, root.id, b"a"))
        .await
        .unwrap();
    let alice = cat
        .add_account("acme", "alice", Access::ReadOnly, None, None, 2)
        .await
        .unwrap();
    let a = cat.lookup(root.id, b"a").await.unwrap().unwrap();
    let v2 = TenantKeyRow {
        version: 2,
        ..key(t.id)
    };
    rotate(&cat, t.id, 1, &v2).await.unwrap();

    assert!(matches!(
        cat.set_classes(t.id, a.id, 1, None, 0, vec![9; 40]).await,
        Err(CatalogError::KeyRotated)
    ));
    assert_eq!(cat.node(a.id).await.unwrap().unwrap().classes, None);
    assert!(matches!(
        cat.set_totp(&alice, 1, &[7; 40], &[vec![1; 32]]).await,
        Err(CatalogError::KeyRotated)
    ));
    assert!(cat.tenant_totp_secrets(t.id).await.unwrap().is_empty());

    assert!(
        cat.set_classes(t.id, a.id, 2, None, 0, vec![9; 40])
            .await
            .unwrap()
    );
    assert_eq!(
        cat.node(a.id).await.unwrap().unwrap().classes,
        Some(vec![9; 40])
    );
    cat.set_totp(&alice, 2, &[7; 40], &[vec![1; 32]])
        .await
        .unwrap();
    assert_eq!(
        cat.tenant_totp_secrets(t.id).await.unwrap(),
        [(alice.id, vec![7; 40])]
    );
}

/// Containment acts on the account that existed when the alert was raised: an account removed
/// and made again under the name since is another one, left alone.
#[tokio::test]
async fn containment_leaves_an_account_made_since_the_alert_alone() {
    let (_d, cat) = catalog().await;
    cat.add_tenant("acme", 1, key).await.unwrap();
    cat.add_account("acme", "sync", Access::Full, None, None, 100)
        .await
        .unwrap();
    let lock = Containment::Lock { reason: "alert a" };
    let throttle = Containment::Throttle { bytes_per_sec: 1 };
    // Raised at 90, before this account was made.
    assert!(!cat.contain_account("sync", 90, lock).await.unwrap());
    assert!(!cat.contain_account("sync", 90, throttle).await.unwrap());
    let a = cat.account("sync").await.unwrap();
    assert!(!a.locked && a.throttle_bytes_per_sec.is_none());
    // Raised at 100 or later: this account.
    assert!(cat.contain_account("sync", 100, lock).await.unwrap());
    assert!(cat.contain_account("sync", 150, throttle).await.unwrap());
    let a = cat.account("sync").await.unwrap();
    assert!(a.locked && a.throttle_bytes_per_sec == Some(1));
    assert_eq!(a.lock_reason.as_deref(), Some("alert a"));
    assert!(!cat.contain_account("nobody", 150, lock).await.unwrap());
}

/// A catalog of schema 12 (before this session's migrations) with tenants, accounts and
/// overrides, opened by this build: the master key its tenant keys are wrapped under is
/// recorded (the newest key's: a catalog mid-rotation holds two), the overrides of removed
/// accounts and tenants are gone and the others kept, and no ledger is named yet.
#[tokio::test]
async fn a_catalog_of_schema_12_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let pool = crate::open_pool(&path, 1).await.unwrap();
    crate::migrate::run(&pool, &crate::migrate::CATALOG[..12])
        .await
        .unwrap();
    for sql in [
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 'acme', 1), (2, 'globex', 2)",
        "INSERT INTO tenant_keys (tenant_id, version, master_key_id, wrapped, created_at)
         VALUES (1, 1, x'01', x'00', 10), (2, 3, x'02', x'00', 20)",
        "INSERT INTO accounts (id, tenant_id, name, access, created_at)
         VALUES (1, 1, 'alice', 'full', 5)",
        "INSERT INTO detection_overrides (scope, name, thresholds) VALUES
         ('account', 'alice', '{}'), ('account', 'ghost', '{}'),
         ('tenant', 'acme', '{}'), ('tenant', 'gone', '{}')",
    ] {
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let cat = Catalog::open(&path).await.unwrap();
    assert_eq!(cat.master_key_id().await.unwrap(), Some(vec![2]));
    let kept = overridden(&cat).await;
    assert_eq!(
        kept,
        [
            ("account".to_owned(), "alice".to_owned()),
            ("tenant".to_owned(), "acme".to_owned())
        ]
    );
    assert_eq!(cat.ledger_identity().await.unwrap(), None);
}

/// Signs with zeros: the checkpoints here are compared, never verified.
struct Unsigned;

impl ledger::CheckpointSigner for Unsigned {
    fn sign(&self, _: &[u8]) -> Vec<u8> {
        vec![0; 64]
    }
    fn public_key(&self) -> Vec<u8> {
        vec![7; 32]
    }
}

/// A ledger at `path` of `bodies` (one record each), checkpointed after each; its checkpoints.
fn checkpointed_ledger(
    path: &std::path::Path,
    bodies: &[u8],
) -> (LedgerStore, Vec<ledger::Checkpoint>) {
    let store = LedgerStore::open(path).unwrap();
    let signed = bodies
        .iter()
        .enumerate()
        .map(|(t, b)| {
            let head = store
                .append(&[(t as i64, LedgerMeta::default(), vec![*b; 8])])
                .unwrap();
            let c = ledger::checkpoint(&head, t as i64 + 100, None, &Unsigned);
            store.add_checkpoint(&c).unwrap();
            c
        })
        .collect();
    (store, signed)
}

/// The catalog remembers the last checkpoint its ledger was seen holding (never lowered, and
/// only for a named ledger), and tells a ledger that lacks it (an older copy) or holds another
/// in its place (rewritten); an administrator's acceptance records the ledger's own instead.
#[tokio::test]
async fn a_ledger_behind_the_checkpoint_recorded_for_it_is_told() {
    let (dir, cat) = catalog().await;
    let (full, c) = checkpointed_ledger(&dir.path().join("full.db"), &[1, 2, 3]);
    let (older, _) = checkpointed_ledger(&dir.path().join("older.db"), &[1]);
    let (rewritten, _) = checkpointed_ledger(&dir.path().join("rewritten.db"), &[1, 9, 3]);
    let seen = |i: usize| Some(SeenCheckpoint::from(&c[i]));

    // Nothing recorded before the ledger is named.
    cat.ledger_checkpointed(&c[0]).await.unwrap();
    assert_eq!(cat.ledger_identity().await.unwrap(), None);
    cat.set_ledger_identity(&[7; 32], 1).await.unwrap();
    let named = cat.ledger_identity().await.unwrap().unwrap();
    assert_eq!(
        (named.public_key.as_slice(), named.checkpoint),
        (&[7u8; 32][..], None)
    );
    assert_eq!(named.behind(&older).unwrap(), None);

    cat.ledger_checkpointed(&c[1]).await.unwrap();
    cat.ledger_checkpointed(&c[0]).await.unwrap();
    let named = cat.ledger_identity().await.unwrap().unwrap();
    assert_eq!(
        named.checkpoint,
        seen(1),
        "a later checkpoint is never lowered"
    );
    assert_eq!(named.behind(&full).unwrap(), None);
    assert_eq!(
        named.behind(&older).unwrap(),
        Some(Behind::Missing(SeenCheckpoint::from(&c[1])))
    );
    assert_eq!(
        named.behind(&rewritten).unwrap(),
        Some(Behind::Differs(SeenCheckpoint::from(&c[1])))
    );

    // The writer's thread records through the outbox's connection.
    let outbox = cat.outbox();
    let last = c[2].clone();
    tokio::task::spawn_blocking(move || outbox.ledger_checkpointed(&last))
        .await
        .unwrap()
        .unwrap();
    let named = cat.ledger_identity().await.unwrap().unwrap();
    assert_eq!(named.checkpoint.map(|c| c.seq), Some(3));

    // Records after the last checkpoint: the head the writer settled, recorded as the outbox
    // is cleared (never lowered either), tells a copy without the record, or with another.
    let fourth = |store: &LedgerStore, body: u8| {
        store
            .append(&[(4, LedgerMeta::default(), vec![body; 8])])
            .unwrap()
    };
    let head = fourth(&full, 4);
    let (three, _) = checkpointed_ledger(&dir.path().join("three.db"), &[1, 2, 3]);
    let (another_fourth, _) = checkpointed_ledger(&dir.path().join("another.db"), &[1, 2, 3]);
    fourth(&another_fourth, 5);
    let outbox = cat.outbox();
    let lower = ledger::Head {
        seq: 2,
        hash: head.hash,
    };
    tokio::task::spawn_blocking(move || {
        outbox.settled(&[], Some(&head), 50)?;
        outbox.settled(&[], Some(&lower), 60)
    })
    .await
    .unwrap()
    .unwrap();
    let named = cat.ledger_identity().await.unwrap().unwrap();
    let settled = named.head.unwrap();
    assert_eq!((settled.seq, settled.time), (4, 50));
    assert_eq!(named.behind(&full).unwrap(), None);
    assert_eq!(
        named.behind(&three).unwrap(),
        Some(Behind::HeadMissing(settled))
    );
    assert_eq!(
        named.behind(&another_fourth).unwrap(),
        Some(Behind::HeadDiffers(settled))
    );

    let (_, c_older) = checkpointed_ledger(&dir.path().join("older2.db"), &[1]);
    assert!(cat.accept_ledger_as_it_is(Some(&c_older[0])).await.unwrap());
    let named = cat.ledger_identity().await.unwrap().unwrap();
    assert_eq!(named.checkpoint, Some(SeenCheckpoint::from(&c_older[0])));
    assert_eq!(named.head, None, "recorded again at the next settle");
    assert_eq!(named.behind(&older).unwrap(), None);

    assert!(cat.forget_ledger_identity().await.unwrap());
    assert!(!cat.accept_ledger_as_it_is(None).await.unwrap());
}

/// A name of its own for the `i`th of many files.
fn nth_name(i: usize) -> &'static [u8] {
    Box::leak(format!("f{i}").into_bytes().into_boxed_slice())
}

#[tokio::test]
async fn a_tenant_is_removed_in_steps_that_an_interruption_does_not_undo() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let other = cat.add_tenant("globex", 1, key).await.unwrap();
    cat.add_account("acme", "alice", Access::Full, None, None, 1)
        .await
        .unwrap();
    let root = cat.root(t.id).await.unwrap();
    let sub = mkdir_in(&cat, t.id, root.id, b"sub").await;
    let deeper = mkdir_in(&cat, t.id, sub, b"deeper").await;
    // 40 files (steps take 16 in tests) in three directories, half of them blobs and
    // classified; one replaced, so that the tenant has class history too.
    let mut blobs = Vec::new();
    for i in 0..40 {
        let parent = [root.id, sub, deeper][i % 3];
        let blob: Option<&'static str> = (i % 2 == 0).then(|| &*format!("b{i}").leak());
        blobs.extend(blob.map(str::to_owned));
        cat.commit_upload(Upload {
            blob_id: blob,
            size: 10,
            classes: Some(b"c".to_vec()),
            ..upload(t.id, parent, nth_name(i))
        })
        .await
        .unwrap();
    }
    // (Its blob handed back to the upload's caller, inline now.)
    cat.commit_upload(Upload {
        size: 3,
        classes: Some(b"again".to_vec()),
        ..upload(t.id, root.id, nth_name(0))
    })
    .await
    .unwrap();
    blobs.retain(|b| b != "b0");
    cat.commit_upload(upload(
        other.id,
        cat.root(other.id).await.unwrap().id,
        b"kept",
    ))
    .await
    .unwrap();
    assert_eq!(cat.tenant_class_history(t.id).await.unwrap().len(), 1);

    // The first transaction: its key and account gone, the tenant marked.
    let mut removal = cat.begin_tenant_removal("acme", 50).await.unwrap();
    assert_eq!((removal.since, removal.files), (50, 40));
    assert!(cat.tenant_key(t.id).await.unwrap().is_none());
    assert!(matches!(
        cat.account("alice").await,
        Err(CatalogError::NotFound { .. })
    ));
    assert!(matches!(
        cat.tenant("acme").await,
        Err(CatalogError::BeingRemoved { name }) if name == "acme"
    ));
    let listed: Vec<String> = cat
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(listed, ["globex"]);
    assert_eq!(
        cat.tenants_being_removed().await.unwrap(),
        [("acme".to_owned(), 50)]
    );
    assert!(matches!(
        cat.add_tenant("acme", 60, key).await,
        Err(CatalogError::BeingRemoved { .. })
    ));
    assert!(matches!(
        cat.add_account("acme", "bob", Access::Full, None, None, 60)
            .await,
        Err(CatalogError::BeingRemoved { .. })
    ));
    // Its files are not retention's (its rule would have them all expired; the other
    // tenant's one is).
    let expired = cat.expired_files(1 << 40, 100).await.unwrap();
    assert_eq!(
        expired
            .iter()
            .map(|f| f.tenant.as_str())
            .collect::<Vec<_>>(),
        ["globex"]
    );

    // One step: 16 files, their blobs handed back, no class history made of them.
    let step = cat.remove_tenant_step(&mut removal).await.unwrap();
    assert_eq!((step.files, step.done), (16, false));
    let mut handed = step.blobs;
    assert_eq!(cat.tenant_class_history(t.id).await.unwrap().len(), 1);
    assert_eq!(cat.usage(t.id).await.unwrap().1, 24);

    // Interrupted here; begun again later, it goes on from where it was.
    let mut again = cat.begin_tenant_removal("acme", 90).await.unwrap();
    assert_eq!((again.since, again.files), (50, 24));
    // An upload whose key was read before the removal began does not commit, nor is a
    // directory made (the key its names were sealed under is gone).
    assert!(matches!(
        cat.commit_upload(Upload {
            blob_id: Some("late"),
            ..upload(t.id, deeper, b"late")
        })
        .await,
        Err(CatalogError::KeyRotated)
    ));
    assert!(matches!(
        cat.mkdir(t.id, deeper, name(b"late"), 0o40755, 1, 1, None)
            .await,
        Err(CatalogError::KeyRotated)
    ));
    let mut steps = Vec::new();
    loop {
        let step = cat.remove_tenant_step(&mut again).await.unwrap();
        handed.extend(step.blobs.iter().cloned());
        steps.push((step.files, step.other_rows, step.done));
        if step.done {
            break;
        }
    }
    // 24 files in two steps, the history row, the three directories (the deepest first, a
    // level a step), the tenant.
    assert_eq!(
        steps,
        [
            (16, 0, false),
            (8, 0, false),
            (0, 1, false),
            (0, 1, false),
            (0, 1, false),
            (0, 1, false),
            (0, 0, true)
        ]
    );
    handed.sort();
    blobs.sort();
    assert_eq!(handed, blobs, "every blob handed back once");
    for table in ["nodes", "class_history", "tenant_usage", "accounts"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = ?");
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(t.id)
            .fetch_one(&cat.pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert!(cat.tenants_being_removed().await.unwrap().is_empty());
    assert!(matches!(
        cat.tenant("acme").await,
        Err(CatalogError::NotFound { .. })
    ));
    // A step of a removal finished meanwhile (by another command) is done at once.
    assert!(cat.remove_tenant_step(&mut removal).await.unwrap().done);
    // The other tenant is untouched, and the name can be given again.
    assert_eq!(cat.usage(other.id).await.unwrap(), (0, 1));
    cat.add_tenant("acme", 100, key).await.unwrap();
    assert!(matches!(
        cat.remove_tenant_step(&mut removal).await,
        Ok(RemovalStep { done: true, .. })
    ));
}

/// Alerts are read a page at a time in (time, id) order, each page after the last one's end:
/// alerts of one millisecond are neither repeated nor skipped across pages, and the filters
/// hold on every page.
#[tokio::test]
async fn alerts_are_read_a_page_at_a_time() {
    let (_d, cat) = catalog().await;
    let alert = |id: &str, time_ms, account: &str| StoredAlert {
        id: id.into(),
        time_ms,
        severity: "high".into(),
        rule: "bulk_read".into(),
        account: Some(account.into()),
        tenant: Some("acme".into()),
        source: None,
        body: "{}".into(),
        acked_at: None,
        acked_by: None,
        ack_note: None,
    };
    for (id, t, account) in [
        ("d", 20, "bob"),
        ("a", 10, "alice"),
        ("e", 30, "alice"),
        ("c", 20, "alice"),
        ("b", 20, "alice"),
    ] {
        cat.add_alert(&alert(id, t, account)).await.unwrap();
    }
    let paged = |f: AlertFilter| {
        let cat = &cat;
        async move {
            let (mut all, mut after) = (Vec::new(), None::<StoredAlert>);
            loop {
                let page = cat.alerts(&f, after.as_ref(), 2).await.unwrap();
                all.extend(page.iter().map(|a| a.id.clone()));
                if page.len() < 2 {
                    return all;
                }
                after = page.into_iter().next_back();
            }
        }
    };
    let every = AlertFilter {
        since_ms: None,
        severities: Vec::new(),
        account: None,
        undelivered: false,
    };
    assert_eq!(paged(every.clone()).await, ["a", "b", "c", "d", "e"]);
    let alices_since_20 = AlertFilter {
        since_ms: Some(20),
        severities: vec!["high".into()],
        account: Some("alice".into()),
        undelivered: false,
    };
    assert_eq!(paged(alices_since_20).await, ["b", "c", "e"]);
    // Undelivered: a delivery waiting (b) or given up (c); not a delivered one (d), nor one
    // never queued (no destination: a, e).
    for id in ["b", "c", "d"] {
        cat.queue_alert_delivery(id, "webhook", 1, 10)
            .await
            .unwrap();
    }
    (cat.record_alert_delivery("c", "webhook", 2, Err(("HTTP 500", None))))
        .await
        .unwrap();
    cat.record_alert_delivery("d", "webhook", 2, Ok(()))
        .await
        .unwrap();
    let undelivered = AlertFilter {
        undelivered: true,
        ..every
    };
    assert_eq!(paged(undelivered).await, ["b", "c"]);
}

#[tokio::test]
async fn a_damaged_value_is_replaced_only_while_it_is_as_it_was_judged() {
    let (_d, cat) = catalog().await;
    let t = cat.add_tenant("acme", 1, key).await.unwrap();
    let root = cat.root(t.id).await.unwrap();
    let up = |n: &'static [u8], blob: &'static str, classes: &[u8]| Upload {
        blob_id: Some(blob),
        size: 1,
        classes: Some(classes.to_vec()),
        ..upload(t.id, root.id, n)
    };
    cat.commit_upload(up(b"f", "b1", b"bad")).await.unwrap();
    cat.commit_upload(up(b"g", "b2", b"fine")).await.unwrap();
    let f = cat.lookup(root.id, b"f").await.unwrap().unwrap();
    // A name: not while its bytes differ from those judged; not to a name its directory holds.
    let rename = |judged: &'static [u8], to: &'static [u8]| {
        cat.replace_damaged_name(f.id, judged.to_vec(), to.to_vec(), to.to_vec())
    };
    assert_eq!(rename(b"other", b"new").await.unwrap(), Replaced::Changed);
    assert!(matches!(
        rename(b"f", b"g").await,
        Err(CatalogError::AlreadyExists { .. })
    ));
    assert_eq!(cat.lookup(root.id, b"f").await.unwrap().unwrap().id, f.id);
    assert_eq!(rename(b"f", b"new").await.unwrap(), Replaced::Done);
    assert_eq!(cat.lookup(root.id, b"new").await.unwrap().unwrap().id, f.id);
    assert!(cat.lookup(root.id, b"f").await.unwrap().is_none());
    // Classes: the same.
    let cat = &cat;
    let classes = |id| async move { cat.node(id).await.unwrap().unwrap().classes };
    let clear = |judged: &'static [u8]| cat.clear_damaged_classes(f.id, judged.to_vec());
    assert_eq!(clear(b"fine").await.unwrap(), Replaced::Changed);
    assert_eq!(classes(f.id).await, Some(b"bad".to_vec()));
    assert_eq!(clear(b"bad").await.unwrap(), Replaced::Done);
    assert_eq!(classes(f.id).await, None);
    // A class history row: the same, and only the tenant's own is read.
    cat.commit_upload(up(b"g", "b3", b"later")).await.unwrap();
    let g = cat.lookup(root.id, b"g").await.unwrap().unwrap();
    let h = cat.class_history(g.id).await.unwrap();
    assert_eq!(h.len(), 1);
    let row = h[0].id;
    assert_eq!(
        cat.class_history_value(t.id, row).await.unwrap(),
        Some((None, b"fine".to_vec()))
    );
    assert_eq!(cat.class_history_value(t.id + 1, row).await.unwrap(), None);
    let remove = |judged: &'static [u8]| cat.remove_damaged_class_history(row, judged.to_vec());
    assert_eq!(remove(b"bad").await.unwrap(), Replaced::Changed);
    assert_eq!(cat.class_history(g.id).await.unwrap().len(), 1);
    assert_eq!(remove(b"fine").await.unwrap(), Replaced::Done);
    assert!(cat.class_history(g.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_contents_check_keeps_where_its_pass_reached() {
    let (dir, cat) = catalog().await;
    assert_eq!(cat.contents_check().await.unwrap(), None);
    let mut c = ContentsCheck {
        started_at: 1_000,
        finished_at: None,
        until_node: 40,
        tenant_id: 3,
        after_node: None,
        files_read: 0,
        bytes_read: 0,
        damaged: 0,
    };
    cat.save_contents_check(&c).await.unwrap();
    assert_eq!(cat.contents_check().await.unwrap(), Some(c));
    c.after_node = Some(77);
    c.files_read = 5;
    c.bytes_read = u64::MAX;
    c.damaged = 1;
    c.finished_at = Some(2_000);
    cat.save_contents_check(&c).await.unwrap();
    // Kept across an opening: one row, the last saved (a count past i64 kept at its ceiling).
    cat.close().await;
    let cat = Catalog::open(&dir.path().join("catalog.db")).await.unwrap();
    let kept = cat.contents_check().await.unwrap().unwrap();
    assert_eq!(
        kept,
        ContentsCheck {
            bytes_read: i64::MAX as u64,
            ..c
        }
    );
}

/// Alice's policy after the test's changes (enrolment aside: none).
fn catalog_login_policy(id: i64, methods: &[&str], expires: Option<i64>) -> crate::LoginPolicy {
    crate::LoginPolicy {
        account_id: id,
        methods: methods.iter().map(|m| m.to_string()).collect(),
        automation: true,
        second_factor_enrolled: false,
        allowed_networks: Some("10.0.0.0/8".into()),
        password_expires_at: expires,
        tenant_require_mfa: true,
        tenant_allowed_networks: Some("10.1.0.0/16".into()),
    }
}

/// Alert deliveries: queued once per alert and destination, given up beyond the limit waiting;
/// held one at a time, due first, not again while held; attempts recorded, delivered or given up;
/// those of a destination no longer configured given up.
#[tokio::test]
async fn alert_deliveries_are_queued_held_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("c.db")).await.unwrap();
    assert!(
        cat.queue_alert_delivery("a1", "webhook", 100, 2)
            .await
            .unwrap()
    );
    assert!(
        !cat.queue_alert_delivery("a1", "webhook", 100, 2)
            .await
            .unwrap()
    );
    assert!(
        cat.queue_alert_delivery("a1", "email", 100, 2)
            .await
            .unwrap()
    );
    assert!(
        cat.queue_alert_delivery("a2", "webhook", 90, 2)
            .await
            .unwrap()
    );
    // Two wait for the webhook: a third is given up at once.
    assert!(
        !cat.queue_alert_delivery("a3", "webhook", 110, 2)
            .await
            .unwrap()
    );
    let a3 = cat.alert_deliveries("a3").await.unwrap();
    assert_eq!(
        (a3[0].gave_up_at, a3[0].last_error.as_deref()),
        (Some(110), Some(crate::QUEUE_FULL))
    );
    // Due first: a2 (90), then a1; none before its time, none held twice.
    assert_eq!(
        cat.hold_due_alert_delivery("webhook", 80, 1000)
            .await
            .unwrap(),
        None
    );
    let held = cat
        .hold_due_alert_delivery("webhook", 120, 1000)
        .await
        .unwrap();
    assert_eq!(held, Some(("a2".to_owned(), 0)));
    let held = cat
        .hold_due_alert_delivery("webhook", 120, 1000)
        .await
        .unwrap();
    assert_eq!(held, Some(("a1".to_owned(), 0)));
    assert_eq!(
        cat.hold_due_alert_delivery("webhook", 120, 1000)
            .await
            .unwrap(),
        None
    );
    // a2 failed, tried again at 500; a1 delivered.
    cat.record_alert_delivery("a2", "webhook", 130, Err(("HTTP 503", Some(500))))
        .await
        .unwrap();
    cat.record_alert_delivery("a1", "webhook", 140, Ok(()))
        .await
        .unwrap();
    assert_eq!(
        cat.hold_due_alert_delivery("webhook", 499, 2000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        cat.hold_due_alert_delivery("webhook", 500, 2000)
            .await
            .unwrap(),
        Some(("a2".to_owned(), 1))
    );
    cat.record_alert_delivery("a2", "webhook", 600, Err(("timed out", None)))
        .await
        .unwrap();
    let a2 = &cat.alert_deliveries("a2").await.unwrap()[0];
    assert_eq!(
        (a2.attempts, a2.gave_up_at, a2.last_error.as_deref()),
        (2, Some(600), Some("timed out"))
    );
    let a1 = cat.alert_deliveries("a1").await.unwrap();
    assert_eq!(
        a1.iter()
            .map(|d| (d.destination.as_str(), d.attempts, d.delivered_at))
            .collect::<Vec<_>>(),
        [("email", 0, None), ("webhook", 1, Some(140))]
    );
    // E-mail no longer configured: its waiting delivery is given up, the webhook's not touched.
    assert_eq!(
        cat.give_up_alert_deliveries_except(&["webhook"], 700, "not configured")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        cat.hold_due_alert_delivery("email", 800, 900)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        cat.alert_deliveries("a1").await.unwrap()[0].gave_up_at,
        Some(700)
    );
}

/// A SIEM destination's cursor: none before it is started, then the highest handed.
#[tokio::test]
async fn forward_cursors_only_move_on() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("c.db")).await.unwrap();
    let tcp = "syslog-tcp 127.0.0.1:514";
    assert_eq!(cat.forward_cursor(tcp).await.unwrap(), None);
    cat.set_forward_cursor(tcp, 10).await.unwrap();
    cat.set_forward_cursor(tcp, 7).await.unwrap();
    assert_eq!(cat.forward_cursor(tcp).await.unwrap(), Some(10));
    cat.set_forward_cursor(tcp, 12).await.unwrap();
    assert_eq!(cat.forward_cursor(tcp).await.unwrap(), Some(12));
    assert_eq!(cat.forward_cursor("jsonl-file /x").await.unwrap(), None);
    cat.set_forward_cursor("jsonl-file /x", 3).await.unwrap();
    cat.reset_forward_cursor(tcp, 5).await.unwrap();
    assert_eq!(cat.forward_cursor(tcp).await.unwrap(), Some(5));
    cat.set_forward_cursor(tcp, 12).await.unwrap();
    let cursors = || async {
        (cat.forward_cursors().await.unwrap().into_iter())
            .map(|c| (c.destination, c.seq))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        cursors().await,
        [("jsonl-file /x".to_owned(), 3), (tcp.to_owned(), 12)]
    );
    // A destination no longer configured is forgotten.
    let gone = cat
        .forget_forward_cursors_except(&[tcp.to_owned(), "syslog-udp 127.0.0.1:514".to_owned()])
        .await
        .unwrap();
    assert_eq!(gone, ["jsonl-file /x"]);
    assert_eq!(cursors().await, [(tcp.to_owned(), 12)]);
}

/// A destination's failures: failing since the first of a run of them, the last one's why and
/// time; working again clears the first and keeps the last.
#[tokio::test]
async fn a_forward_destinations_failures_are_kept_until_it_works() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("c.db")).await.unwrap();
    let tls = "syslog-tls siem.bank.example:6514";
    cat.set_forward_cursor(tls, 4).await.unwrap();
    let of = |cursors: Vec<ForwardCursor>| {
        let c = cursors.into_iter().next().unwrap();
        (c.failing_since, c.last_failure, c.last_failure_at)
    };
    assert_eq!(of(cat.forward_cursors().await.unwrap()), (None, None, None));
    cat.record_forward_failure(tls, "connection refused", 1_000)
        .await
        .unwrap();
    cat.record_forward_failure(tls, "invalid peer certificate: UnknownIssuer", 5_000)
        .await
        .unwrap();
    let failing = (
        Some(1_000),
        Some("invalid peer certificate: UnknownIssuer".to_owned()),
        Some(5_000),
    );
    assert_eq!(of(cat.forward_cursors().await.unwrap()), failing);
    cat.record_forward_working(tls).await.unwrap();
    assert_eq!(
        of(cat.forward_cursors().await.unwrap()),
        (None, failing.1.clone(), failing.2)
    );
    cat.record_forward_failure(tls, "timed out", 9_000)
        .await
        .unwrap();
    assert_eq!(
        of(cat.forward_cursors().await.unwrap()),
        (Some(9_000), Some("timed out".to_owned()), Some(9_000))
    );
}

/// A stored value holding the separators the login policies are read with (written behind the
/// catalog's back) cannot make another row: each account's policy reads as stored, the empty
/// list apart from none.
#[tokio::test]
async fn login_policies_read_every_stored_value_as_it_is() {
    let (_d, cat) = catalog().await;
    cat.add_tenant("acme", 1, key).await.unwrap();
    let a = cat
        .add_account("acme", "alice", Access::Full, None, None, 3)
        .await
        .unwrap();
    let b = cat
        .add_account("acme", "bob", Access::Full, None, None, 3)
        .await
        .unwrap();
    let forged = format!("10.0.0.0/8\u{1e}{}\u{1f}7072\u{1f}0", b.id);
    sqlx::query("UPDATE accounts SET allowed_networks = ? WHERE id = ?")
        .bind(&forged)
        .bind(a.id)
        .execute(&cat.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE accounts SET allowed_networks = '' WHERE id = ?")
        .bind(b.id)
        .execute(&cat.pool)
        .await
        .unwrap();
    let read = cat.login_policies(&[a.id, b.id]).await.unwrap().read;
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(read[0].allowed_networks.as_deref(), Some(forged.as_str()));
    assert_eq!(read[1].allowed_networks.as_deref(), Some(""));
    assert_eq!(read[1].tenant_allowed_networks, None);
    // A value that is not text: that account apart, by its row; the other read.
    sqlx::query("UPDATE accounts SET methods = CAST(x'ff' AS TEXT) WHERE id = ?")
        .bind(a.id)
        .execute(&cat.pool)
        .await
        .unwrap();
    let policies = cat.login_policies(&[a.id, b.id]).await.unwrap();
    assert_eq!(policies.unreadable, [a.id]);
    assert_eq!(
        policies
            .read
            .iter()
            .map(|p| p.account_id)
            .collect::<Vec<_>>(),
        [b.id]
    );
}
