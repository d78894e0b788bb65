//! Key lifecycle glue between the vault (which holds every cryptographic operation) and the
//! catalog (which stores wrapped keys): loading the master keyring, rotating a tenant key,
//! rotating the master key.

use std::path::{Path, PathBuf};

use catalog::{Catalog, Rekeyed, TenantKeyRow};
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
        Ok(Self {
            source,
            current: std::sync::RwLock::new(std::sync::Arc::new(keyring)),
        })
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
    match store.body_key()? {
        Some((id, wrapped)) => Ok(keyring.by_id(&id)?.unwrap_ledger_body_key(&wrapped)?),
        None => {
            let master = keyring.current();
            let (key, wrapped) = master.new_ledger_body_key();
            store.set_body_key(&master.id, &wrapped)?;
            Ok(key)
        }
    }
}

/// A new tenant key row for tenant `tenant_id`, wrapped by the current master key.
pub fn new_tenant_key(keyring: &Keyring, tenant_id: i64, version: i64) -> TenantKeyRow {
    let master = keyring.current();
    let (_, wrapped) = master.new_tenant_key(tenant_id, version);
    TenantKeyRow {
        tenant_id,
        version,
        master_key_id: master.id.to_vec(),
        wrapped,
    }
}

/// Attempts of a tenant key rotation whose reading a concurrent change overtook (an upload,
/// a rename: each attempt reads the tenant's rows again).
const ROTATION_ATTEMPTS: u32 = 5;

/// Replaces a tenant's key: every name and data key is re-derived and re-wrapped under the new
/// key in one transaction; file contents are not rewritten. Returns (new version, nodes). The
/// rows are re-keyed as read, then stored only if they are still as read (the catalog checks
/// in its transaction); a change in between makes it read and re-key again.
pub async fn rotate_tenant_key(
    catalog: &Catalog,
    keyring: &Keyring,
    tenant: &str,
    now: i64,
) -> Result<(i64, usize), KeyLifecycleError> {
    let mut attempt = 1;
    loop {
        match rotate_tenant_key_once(catalog, keyring, tenant, now).await {
            Err(KeyLifecycleError::Catalog(catalog::CatalogError::KeyRotated))
                if attempt < ROTATION_ATTEMPTS =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn rotate_tenant_key_once(
    catalog: &Catalog,
    keyring: &Keyring,
    tenant: &str,
    now: i64,
) -> Result<(i64, usize), KeyLifecycleError> {
    let t = catalog.tenant(tenant).await?;
    let row = catalog
        .tenant_key(t.id)
        .await?
        .ok_or_else(|| KeyLifecycleError::NoTenantKey(tenant.to_owned()))?;
    let old = keyring.tenant_key(t.id, row.version, &row.master_key_id, &row.wrapped)?;
    let version = row.version + 1;
    let master = keyring.current();
    let (new, wrapped) = master.new_tenant_key(t.id, version);
    let mut rekeyed = Vec::new();
    for n in catalog.tenant_nodes(t.id).await? {
        let name = old.open_name(&n.sealed_name, &n.name_mac)?;
        let mac = new.name_mac(&name);
        let wrapped_key = match &n.seal {
            Some(s) => Some(new.wrap_data_key(&old.unwrap_data_key(&s.key_id, &s.wrapped_key)?)),
            None => None,
        };
        let content = n.seal.as_ref().map_or(&[][..], |s| &s.content_root[..]);
        let classes = match &n.classes {
            Some(sealed) => Some(new.seal_classes(content, &old.open_classes(content, sealed)?)),
            None => None,
        };
        rekeyed.push(Rekeyed {
            node_id: n.id,
            sealed_name: new.seal_name(&name, &mac),
            name_mac: mac,
            wrapped_key,
            classes,
            was: (
                n.name_mac.clone(),
                n.seal.as_ref().map(|s| s.wrapped_key.clone()),
                n.classes.clone(),
            ),
        });
    }
    let mut history = Vec::new();
    for v in catalog.tenant_class_history(t.id).await? {
        let content = v.content_root.as_deref().unwrap_or_default();
        let classes = old.open_classes(content, &v.classes)?;
        history.push((v.id, new.seal_classes(content, &classes), v.classes.clone()));
    }
    let mut totp = Vec::new();
    for (account_id, sealed) in catalog.tenant_totp_secrets(t.id).await? {
        let secret = old.open_account_secret(account_id, &sealed)?;
        totp.push((
            account_id,
            new.seal_account_secret(account_id, &secret),
            sealed.clone(),
        ));
    }
    let new_row = TenantKeyRow {
        tenant_id: t.id,
        version,
        master_key_id: master.id.to_vec(),
        wrapped,
    };
    catalog
        .rotate_tenant_key(row.version, &new_row, &rekeyed, &history, &totp, now)
        .await?;
    Ok((version, rekeyed.len()))
}

/// Replaces the master key in `path`: the new key is written to `<path>.new`, every tenant key
/// is re-wrapped under it in one transaction, then the new file replaces the old one. A rotation
/// cut short is finished by running it again. Returns the number of tenant keys re-wrapped.
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
    let mut rows = Vec::new();
    for r in catalog.all_tenant_keys().await? {
        if r.master_key_id == new.id {
            continue;
        }
        let old = keyring.by_id(&r.master_key_id)?;
        rows.push(TenantKeyRow {
            wrapped: old.rewrap_tenant_key(&new, r.tenant_id, r.version, &r.wrapped)?,
            master_key_id: new.id.to_vec(),
            ..r
        });
    }
    catalog.rewrap_tenant_keys(&rows).await?;
    if let Some((id, wrapped)) = ledger.body_key()?
        && id != new.id
    {
        let rewrapped = keyring.by_id(&id)?.rewrap_ledger_body_key(&new, &wrapped)?;
        ledger.set_body_key(&new.id, &rewrapped)?;
    }
    std::fs::rename(&pending, path).map_err(|source| KeyLifecycleError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(rows.len())
}
