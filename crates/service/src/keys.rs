//! Key lifecycle glue between the vault (which holds every cryptographic operation) and the
//! catalog (which stores wrapped keys): loading the master keyring, rotating a tenant key,
//! rotating the master key.

use std::path::{Path, PathBuf};

use catalog::{Catalog, TenantKeyRow};
use vault::{KeyError, Keyring, MasterKey};

use crate::config::MasterKeySource;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLifecycleError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error("the master key comes from STRONGROOM_MASTER_KEY; rotate it with a key file instead")]
    InlineMaster,
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("tenant '{0}' has no tenant key")]
    NoTenantKey(String),
    #[error(
        "this data directory's keys are wrapped under master key {0}, which is neither the \
         configured master key nor a pending one (a wrong or old key file?)"
    )]
    MasterNotHeld(String),
    #[error("the ledger's body key changed during the master key's rotation; run it again")]
    BodyKeyChanged,
    #[error(
        "master key file {path} is missing, and this data directory's keys are wrapped under \
         master key {id}: restore that file (or point the configuration at it); a new master \
         key is made only for a data directory that has none in use"
    )]
    MasterMissing { path: String, id: String },
}

/// Attempts of an operation on keys whose reading a concurrent one overtook (an upload or a
/// rename during a tenant key's rotation, a master key rotation during a tenant key's making,
/// a tenant key made during a master key rotation): each attempt reads again.
const KEY_ATTEMPTS: u32 = 5;

/// Runs `op` again while a concurrent change overtook its reading, up to [`KEY_ATTEMPTS`].
pub(crate) async fn with_attempts<T, Op, F>(mut op: Op) -> Result<T, KeyLifecycleError>
where
    Op: FnMut() -> F,
    F: std::future::Future<Output = Result<T, KeyLifecycleError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < KEY_ATTEMPTS && overtaken(&e) => attempt += 1,
            other => return other,
        }
    }
}

/// Whether `e` says that a concurrent change overtook the operation's reading. A master key
/// the key files do not hold is one too: a master key rotation that finished (its commit and
/// its rename) between the reading of the catalog's master key and of the files (seen once in
/// the E2E of rotations beside tenant additions); a wrong key file fails every attempt alike.
fn overtaken(e: &KeyLifecycleError) -> bool {
    matches!(
        e,
        KeyLifecycleError::Catalog(
            catalog::CatalogError::KeyRotated
                | catalog::CatalogError::MasterKeyRotated
                | catalog::CatalogError::TenantKeyMade,
        ) | KeyLifecycleError::MasterNotHeld(_)
    )
}

fn pending_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    p.into()
}

/// The running server's keyring, reloaded from its source when a tenant key names a master key
/// it does not hold (after `strongroom master rotate` ran beside the server).
pub struct KeyringHandle {
    source: MasterKeySource,
    current: std::sync::RwLock<std::sync::Arc<Keyring>>,
}

impl KeyringHandle {
    pub fn load(source: MasterKeySource, create: bool) -> Result<Self, KeyError> {
        let keyring = load_keyring(&source, create)?;
        Ok(Self::new(source, keyring))
    }

    /// A handle on `keyring`, loaded from `source` (reloaded from there when needed).
    pub fn new(source: MasterKeySource, keyring: Keyring) -> Self {
        Self {
            source,
            current: std::sync::RwLock::new(std::sync::Arc::new(keyring)),
        }
    }

    pub fn get(&self) -> std::sync::Arc<Keyring> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Unwraps a tenant key, reloading the keyring once if its master key is unknown.
    pub fn tenant_key(&self, row: &TenantKeyRow) -> Result<vault::TenantKey, KeyError> {
        let unwrap = |k: &Keyring| {
            k.tenant_key(row.tenant_id, row.version, &row.master_key_id, &row.wrapped)
        };
        match unwrap(&self.get()) {
            Err(KeyError::WrongMasterKey) => {
                let fresh = std::sync::Arc::new(load_keyring(&self.source, false)?);
                let result = unwrap(&fresh);
                if result.is_ok() {
                    tracing::info!("master keyring reloaded (the master key was rotated)");
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                }
                result
            }
            other => other,
        }
    }
}

/// Loads the keyring of a data directory: the master key file is made only while nothing is
/// wrapped under a master key yet (`in_use`: the master key the catalog records, else the
/// one that wraps the ledger's body key). Once one is in use, a missing file is an error that
/// names it, never a new key written where the old one was expected.
pub fn load_keyring_for(
    source: &MasterKeySource,
    in_use: Option<Vec<u8>>,
) -> Result<Keyring, KeyLifecycleError> {
    let keyring = match load_keyring(source, in_use.is_none()) {
        Err(KeyError::MasterFile { path, source })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(match in_use {
                Some(id) => KeyLifecycleError::MasterMissing {
                    path,
                    id: hex::encode(id),
                },
                None => KeyError::MasterFile { path, source }.into(),
            });
        }
        other => other?,
    };
    match in_use {
        Some(id) if keyring.by_id(&id).is_err() => {
            Err(KeyLifecycleError::MasterNotHeld(hex::encode(id)))
        }
        _ => Ok(keyring),
    }
}

/// The master key in use in a data directory: the one the catalog records, else the one that
/// wraps the ledger's body key; `None` for a new data directory.
pub async fn master_in_use(
    catalog: &Catalog,
    ledger: &catalog::LedgerStore,
) -> Result<Option<Vec<u8>>, KeyLifecycleError> {
    Ok(match catalog.master_key_id().await? {
        Some(id) => Some(id),
        None => ledger.body_key()?.map(|(id, _)| id),
    })
}

/// Loads the master keyring, creating the key file on first use when `create`.
pub fn load_keyring(source: &MasterKeySource, create: bool) -> Result<Keyring, KeyError> {
    match source {
        MasterKeySource::Inline(text) => Ok(Keyring::new(
            MasterKey::parse(text, "STRONGROOM_MASTER_KEY")?,
            None,
        )),
        MasterKeySource::File(path) => {
            let current = MasterKey::load_or_create(path, create)?;
            let pending = pending_path(path);
            let pending = pending
                .exists()
                .then(|| MasterKey::load_or_create(&pending, false))
                .transpose()?;
            Ok(Keyring::new(current, pending))
        }
    }
}

/// The ledger's body key: unwrapped from the ledger database, or made (and stored) on first use.
pub fn ledger_body_key(
    store: &catalog::LedgerStore,
    keyring: &Keyring,
) -> Result<vault::LedgerBodyKey, KeyLifecycleError> {
    let (id, wrapped) = match store.body_key()? {
        Some(stored) => stored,
        None => {
            let master = keyring.current();
            let (_, wrapped) = master.new_ledger_body_key();
            // Another process may have stored one first: the stored one is the key.
            store.add_body_key(&master.id, &wrapped)?
        }
    };
    Ok(keyring.by_id(&id)?.unwrap_ledger_body_key(&wrapped)?)
}

/// The keyring, loaded afresh from `source`, and the master key new tenant keys are wrapped
/// under: the one the catalog records (after a master key rotation committed and before its
/// key file replaced the old one, the keyring's pending key), or before the first tenant key
/// the current one. The catalog refuses a tenant key under any other.
async fn keyring_for_new_keys(
    catalog: &Catalog,
    source: &MasterKeySource,
    in_use: Option<Vec<u8>>,
) -> Result<(Keyring, MasterKey), KeyLifecycleError> {
    let keyring = load_keyring_for(source, in_use)?;
    let master = match catalog.master_key_id().await? {
        None => keyring.current().clone(),
        Some(id) => keyring
            .by_id(&id)
            .map_err(|_| KeyLifecycleError::MasterNotHeld(hex::encode(&id)))?
            .clone(),
    };
    Ok((keyring, master))
}

/// Adds a tenant with its first tenant key, wrapped under the catalog's master key (the master
/// key file is made if there is none yet and the data directory has none in use).
pub async fn add_tenant(
    catalog: &Catalog,
    ledger: &catalog::LedgerStore,
    source: &MasterKeySource,
    name: &str,
    now: i64,
) -> Result<catalog::Tenant, KeyLifecycleError> {
    with_attempts(|| async {
        let in_use = master_in_use(catalog, ledger).await?;
        let (_, master) = keyring_for_new_keys(catalog, source, in_use).await?;
        Ok(catalog
            .add_tenant(name, now, |id| new_tenant_key(&master, id, 1))
            .await?)
    })
    .await
}

/// A new tenant key row for tenant `tenant_id`, wrapped by `master`.
fn new_tenant_key(master: &MasterKey, tenant_id: i64, version: i64) -> TenantKeyRow {
    let (_, wrapped) = master.new_tenant_key(tenant_id, version);
    TenantKeyRow {
        tenant_id,
        version,
        master_key_id: master.id.to_vec(),
        wrapped,
    }
}

/// Replaces a tenant's key: every name, data key, class history row and TOTP secret is re-keyed
/// under the new key, in steps (the catalog's `key_rotation`) that leave the catalog's writer to
/// other tenants' uploads between them; file contents are not rewritten. The new key is in
/// force from the first step on (a server serving meanwhile reads under both); the old key is
/// deleted with the last. A rotation begun and interrupted is finished, not begun again
/// ([`Rotated::resumed`]). Another rotation or a master key rotation committed while it begins
/// makes it begin again. Before it begins, every row is re-keyed once as a check that changes
/// nothing: a damaged or altered value fails the command, naming its row, with nothing begun.
/// `progress` is told the rows checked, then the names and file keys re-keyed, so far (a
/// tenant of a million files takes a few minutes).
pub async fn rotate_tenant_key(
    catalog: &Catalog,
    source: &MasterKeySource,
    tenant: &str,
    now: i64,
    progress: RekeyProgress,
) -> Result<Rotated, KeyLifecycleError> {
    let t = catalog.tenant(tenant).await?;
    let (mut rotation, mut rekey, resumed) = match catalog.key_rotation(t.id).await? {
        Some(rotation) => {
            let no_key = || KeyLifecycleError::NoTenantKey(tenant.to_owned());
            let state = catalog.tenant_state(t.id).await?.ok_or_else(no_key)?;
            let (current, retiring) = (state.key, state.retiring.ok_or_else(no_key)?);
            let keyring = load_keyring_for(source, catalog.master_key_id().await?)?;
            let key = |r: &TenantKeyRow| {
                keyring.tenant_key(r.tenant_id, r.version, &r.master_key_id, &r.wrapped)
            };
            let rekey = Rekeying {
                old: key(&retiring)?,
                new: key(&current)?,
            };
            (rotation, rekey, true)
        }
        None => {
            let (rotation, rekey) = with_attempts(|| {
                begin_tenant_key_rotation(catalog, source, &t, now, progress.clone())
            })
            .await?;
            (rotation, rekey, false)
        }
    };
    let mut nodes = 0;
    loop {
        let (step, r) = catalog.rekey_step(&mut rotation, rekey).await?;
        rekey = r;
        nodes += step.nodes;
        if step.nodes > 0 {
            progress(RotationProgress::Rekeyed(nodes));
        }
        if step.done {
            break;
        }
    }
    Ok(Rotated {
        version: rotation.to_version,
        nodes,
        resumed,
    })
}

/// What a tenant key rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The version of the key now in force.
    pub version: i64,
    /// Names and file keys re-keyed (by this run, where it finished an interrupted one).
    pub nodes: usize,
    /// It finished a rotation begun before and interrupted.
    pub resumed: bool,
}

/// Told how far a tenant key rotation has come.
pub type RekeyProgress = std::sync::Arc<dyn Fn(RotationProgress) + Send + Sync>;

/// How far a tenant key rotation has come: the rows checked before it begins, then the names
/// and file keys re-keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationProgress {
    Checked(usize),
    Rekeyed(usize),
}

/// Makes tenant `tenant_id`'s next key, checks that every row re-keys under it, and puts it in
/// force, the old one kept as retiring.
async fn begin_tenant_key_rotation(
    catalog: &Catalog,
    source: &MasterKeySource,
    tenant: &catalog::Tenant,
    now: i64,
    progress: RekeyProgress,
) -> Result<(catalog::KeyRotation, Rekeying), KeyLifecycleError> {
    let tenant_id = tenant.id;
    let in_use = catalog.master_key_id().await?;
    let (keyring, master) = keyring_for_new_keys(catalog, source, in_use).await?;
    let row = catalog
        .tenant_key(tenant_id)
        .await?
        .ok_or_else(|| KeyLifecycleError::NoTenantKey(tenant.name.clone()))?;
    let old = keyring.tenant_key(tenant_id, row.version, &row.master_key_id, &row.wrapped)?;
    let version = row.version + 1;
    let (new, wrapped) = master.new_tenant_key(tenant_id, version);
    let new_row = TenantKeyRow {
        tenant_id,
        version,
        master_key_id: master.id.to_vec(),
        wrapped,
    };
    let mut rekey = Rekeying { old, new };
    let checked = move |rows| progress(RotationProgress::Checked(rows));
    catalog
        .check_rekeyable(tenant_id, &mut rekey, &checked)
        .await?;
    Ok(catalog
        .begin_key_rotation(row.version, &new_row, rekey, now)
        .await?)
}

/// Re-keys a tenant's rows from its old key to its new one (names, data keys, classes, TOTP
/// secrets), for the catalog's rotation steps: each value under the old key is re-sealed under
/// the new one; one under the new key already (written since the rotation began) is kept.
struct Rekeying {
    old: vault::TenantKey,
    new: vault::TenantKey,
}

/// A row that did not re-key, named by what it is and its id (a damaged or altered one is then
/// found by the administrator; its bytes are never said).
fn of_row(what: &str, id: i64) -> impl FnOnce(catalog::RekeyError) -> catalog::RekeyError + '_ {
    move |e| format!("{what} {id}: {e}").into()
}

impl catalog::Rekey for Rekeying {
    fn node(
        &mut self,
        n: &catalog::RekeyableNode,
    ) -> Result<Option<catalog::Rekeyed>, catalog::RekeyError> {
        self.rekeyed_node(n).map_err(of_row("catalog node", n.id))
    }

    fn class_history(
        &mut self,
        v: &catalog::RekeyableValue,
    ) -> Result<Option<Vec<u8>>, catalog::RekeyError> {
        let content = v.content_root.as_deref().unwrap_or_default();
        match self.old.open_classes(content, &v.sealed) {
            Ok(classes) => Ok(Some(self.new.seal_classes(content, &classes))),
            Err(e) => match self.new.open_classes(content, &v.sealed) {
                Ok(_) => Ok(None),
                Err(_) => Err(of_row("class history row", v.id)(e.into())),
            },
        }
    }

    fn totp_secret(&mut self, v: &catalog::RekeyableValue) -> Result<Vec<u8>, catalog::RekeyError> {
        let secret = self
            .old
            .open_account_secret(v.id, &v.sealed)
            .map_err(|e| of_row("the TOTP secret of account", v.id)(e.into()))?;
        Ok(self.new.seal_account_secret(v.id, &secret))
    }
}

impl Rekeying {
    /// The node's name, data key and classes under the new key, each re-keyed where it is
    /// under the old one; `None` when all are under the new one already.
    fn rekeyed_node(
        &mut self,
        n: &catalog::RekeyableNode,
    ) -> Result<Option<catalog::Rekeyed>, catalog::RekeyError> {
        let (old, new) = (&self.old, &self.new);
        let mut changed = false;
        let (name_mac, sealed_name) = match old.open_name(&n.sealed_name, &n.name_mac) {
            Ok(name) => {
                changed = true;
                let mac = new.name_mac(&name);
                let sealed = new.seal_name(&name, &mac);
                (mac, sealed)
            }
            Err(e) => {
                new.open_name(&n.sealed_name, &n.name_mac).map_err(|_| e)?;
                (n.name_mac.clone(), n.sealed_name.clone())
            }
        };
        let wrapped_key = match (&n.key_id, &n.wrapped_key, n.key_version) {
            (Some(id), Some(w), Some(v)) if v == old.version => {
                changed = true;
                Some(new.wrap_data_key(&old.unwrap_data_key(id, w)?))
            }
            // Under neither key: kept, it would be left under a key that is gone.
            (Some(_), Some(_), Some(v)) if v != new.version => {
                return Err(format!("its data key is wrapped under tenant key version {v}").into());
            }
            _ => None,
        };
        // Classes are bound to the contents' root when the contents are sealed (see
        // `files::classification::seal`), else to nothing.
        let content = match (&n.key_id, &n.content_root) {
            (Some(_), Some(root)) => &root[..],
            _ => &[][..],
        };
        let classes = match &n.classes {
            Some(sealed) => match old.open_classes(content, sealed) {
                Ok(classes) => {
                    changed = true;
                    Some(new.seal_classes(content, &classes))
                }
                Err(e) => {
                    new.open_classes(content, sealed).map_err(|_| e)?;
                    Some(sealed.clone())
                }
            },
            None => None,
        };
        Ok(changed.then_some(catalog::Rekeyed {
            name_mac,
            sealed_name,
            wrapped_key,
            classes,
        }))
    }
}

/// Replaces the master key in `path`: the new key is written to `<path>.new`, every tenant key
/// is re-wrapped under it in one transaction (which also records it as the catalog's master
/// key: from then on a tenant key made under the old one is refused, and a tenant key made
/// between the reading and that transaction makes it read again), then the ledger's body key,
/// then the new file replaces the old one. A rotation cut short is finished by running it
/// again. Returns the number of tenant keys re-wrapped.
pub async fn rotate_master(
    catalog: &Catalog,
    ledger: &catalog::LedgerStore,
    source: &MasterKeySource,
) -> Result<usize, KeyLifecycleError> {
    let MasterKeySource::File(path) = source else {
        return Err(KeyLifecycleError::InlineMaster);
    };
    let keyring = load_keyring(source, false)?;
    let pending = pending_path(path);
    let new = match keyring.pending() {
        Some(k) => k.clone(),
        None => {
            let k = MasterKey::generate();
            k.write_new(&pending)?;
            k
        }
    };
    let rewrapped = with_attempts(|| rewrap_tenant_keys(catalog, &keyring, &new)).await?;
    rewrap_body_key(ledger, &keyring, &new)?;
    std::fs::rename(&pending, path).map_err(|source| KeyLifecycleError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(rewrapped)
}

/// Re-wraps every tenant key not yet under `new` and stores them in one transaction, with
/// `new` recorded as the catalog's master key. Returns how many it re-wrapped.
async fn rewrap_tenant_keys(
    catalog: &Catalog,
    keyring: &Keyring,
    new: &MasterKey,
) -> Result<usize, KeyLifecycleError> {
    let mut rows = Vec::new();
    for r in catalog.all_tenant_keys().await? {
        if r.master_key_id == new.id {
            continue;
        }
        let old = keyring.by_id(&r.master_key_id)?;
        rows.push(TenantKeyRow {
            wrapped: old.rewrap_tenant_key(new, r.tenant_id, r.version, &r.wrapped)?,
            master_key_id: new.id.to_vec(),
            ..r
        });
    }
    catalog.rewrap_tenant_keys(&new.id, &rows).await?;
    Ok(rows.len())
}

/// Re-wraps the ledger's body key under `new`; made under `new` if the ledger has none yet (so
/// that a server starting beside the rotation cannot store one under the old master key after
/// this step: the first stored is kept).
fn rewrap_body_key(
    ledger: &catalog::LedgerStore,
    keyring: &Keyring,
    new: &MasterKey,
) -> Result<(), KeyLifecycleError> {
    let (id, wrapped) = match ledger.body_key()? {
        Some(stored) => stored,
        None => ledger.add_body_key(&new.id, &new.new_ledger_body_key().1)?,
    };
    if id == new.id {
        return Ok(());
    }
    let rewrapped = keyring.by_id(&id)?.rewrap_ledger_body_key(new, &wrapped)?;
    if ledger.rewrap_body_key(&id, &new.id, &rewrapped)? {
        Ok(())
    } else {
        Err(KeyLifecycleError::BodyKeyChanged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Between a master key rotation's commit and the replacement of its key file (a rotation
    /// cut short, or another administrator's command meanwhile), a tenant key is made under the
    /// new master key, which the catalog records, not under the old one the rotation deletes.
    #[tokio::test]
    async fn tenant_keys_made_during_a_master_rotation_are_wrapped_under_the_new_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let source = MasterKeySource::File(path.clone());
        let catalog = Catalog::open(&dir.path().join("catalog.db")).await.unwrap();
        let ledger = catalog::LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
        let acme = add_tenant(&catalog, &ledger, &source, "acme", 1)
            .await
            .unwrap();
        let old = load_keyring(&source, false).unwrap().current().clone();

        // A rotation that committed its catalog transaction and stopped there.
        let keyring = load_keyring(&source, false).unwrap();
        let new = MasterKey::generate();
        new.write_new(&pending_path(&path)).unwrap();
        assert_eq!(
            rewrap_tenant_keys(&catalog, &keyring, &new).await.unwrap(),
            1
        );
        assert_eq!(
            catalog.master_key_id().await.unwrap(),
            Some(new.id.to_vec())
        );

        let globex = add_tenant(&catalog, &ledger, &source, "globex", 2)
            .await
            .unwrap();
        // Its progress told after each batch checked, then each step (two directories: one
        // of each).
        let row = catalog.tenant_key(acme.id).await.unwrap().unwrap();
        let tk = load_keyring(&source, false)
            .unwrap()
            .tenant_key(acme.id, row.version, &row.master_key_id, &row.wrapped)
            .unwrap();
        let root = catalog.root(acme.id).await.unwrap().id;
        for n in [&b"in"[..], b"out"] {
            let mac = tk.name_mac(n);
            let sealed = tk.seal_name(n, &mac);
            let name = catalog::StoredName {
                mac: &mac,
                sealed: &sealed,
                retiring_mac: None,
            };
            catalog
                .mkdir(acme.id, root, name, 0o40755, row.version, 2, None)
                .await
                .unwrap();
        }
        let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let progress = told.clone();
        let progress: RekeyProgress = std::sync::Arc::new(move |told| {
            progress.lock().unwrap().push(told);
        });
        rotate_tenant_key(&catalog, &source, "acme", 3, progress)
            .await
            .unwrap();
        assert_eq!(
            *told.lock().unwrap(),
            [RotationProgress::Checked(2), RotationProgress::Rekeyed(2)]
        );
        for t in [acme.id, globex.id] {
            let row = catalog.tenant_key(t).await.unwrap().unwrap();
            assert_eq!(row.master_key_id, new.id, "tenant {t}");
        }
        // Run again, the rotation finishes: nothing left to re-wrap, the ledger's body key made
        // under the new master key, the file replaced; every tenant key opens with it alone.
        assert_eq!(rotate_master(&catalog, &ledger, &source).await.unwrap(), 0);
        let keyring = load_keyring(&source, false).unwrap();
        assert_eq!(keyring.current().id, new.id);
        assert!(keyring.pending().is_none());
        for r in catalog.all_tenant_keys().await.unwrap() {
            keyring
                .tenant_key(r.tenant_id, r.version, &r.master_key_id, &r.wrapped)
                .unwrap();
        }
        assert_eq!(ledger.body_key().unwrap().unwrap().0, new.id);
        ledger_body_key(&ledger, &keyring).unwrap();
        assert!(matches!(
            ledger_body_key(&ledger, &Keyring::new(old, None)),
            Err(KeyLifecycleError::Key(KeyError::WrongMasterKey))
        ));
    }
}
