//! Administration: the operations the admin command line (and the coming HTTP API) perform on
//! a data directory: tenants and their keys, accounts and their credentials, folder retention,
//! shredding, the retention sweep, bans, and the ledger (admin records, verification, export).
//! Each is a domain operation here; the front end parses its arguments and prints the result.
//! They work while a server runs on the same directory (SQLite in WAL mode; the ledger's
//! writers serialise on its lock) and take effect at the next login, unless the front end also
//! asks the running server to act on live sessions (its control socket).
//!
//! Never here: argument syntax, terminal output, reaching the running server.

mod damaged;
mod files;
mod incident;

pub use damaged::{Checked, Damaged, DamagedNode, DamagedValue, Repair, TenantCheck};
pub use files::{ClassifiedFile, FileReport, ListedEntry};
pub use incident::{EvidenceWritten, MAX_FOUND_ACCOUNTS, write_evidence};

use files::{class_counts, distinct_counts};
use incident::refused_network;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use catalog::{Access, Account, Catalog, LedgerFilter, LedgerStore, NewKey, NodeKind, Tenant};
use events::{Event, EventKind, Exported};
use vault::{BlobId, LedgerBodyKey, LedgerKey, LocalBlobStore, Vault};

use crate::clock::{Clock, Entropy, SystemClock, SystemEntropy};
use crate::config::MasterKeySource;
use crate::files::path::JailPath;
use crate::files::{Files, FsError};
use crate::gate::credentials::{self, CredentialError};
use crate::keys::{KeyLifecycleError, KeyringHandle};
use crate::ledger_read::{self, LedgerReadError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error(transparent)]
    Key(#[from] vault::KeyError),
    #[error(transparent)]
    KeyLifecycle(#[from] KeyLifecycleError),
    #[error(transparent)]
    Blob(#[from] vault::BlobError),
    #[error(transparent)]
    Credential(#[from] CredentialError),
    #[error(transparent)]
    Ledger(#[from] LedgerReadError),
    #[error("{what}: {source}")]
    Files {
        what: String,
        #[source]
        source: FsError,
    },
    #[error("writing {what}: {source}")]
    Write {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The request itself is wrong (the front end reports it as a usage error).
    #[error("{0}")]
    Invalid(String),
    /// A file's contents could not be read for a passing lack of resources (the server's
    /// storage or catalog, not the file): a contents check stops there rather than call it
    /// damaged.
    #[error(
        "file {row} could not be read now ({failed}); this says nothing of its contents: run \
         the check again"
    )]
    NotReadNow { row: i64, failed: String },
}

pub type AdminResult<T> = Result<T, AdminError>;

/// A data directory opened for administration.
pub struct Admin {
    data_dir: PathBuf,
    master: MasterKeySource,
    catalog: Catalog,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    /// Opened by [`Admin::open_read_only`]: nothing of the data directory is created or changed.
    read_only: bool,
}

impl Admin {
    /// Opens the catalog of `data_dir` (creating the directory, owner-only, if needed).
    pub async fn open(data_dir: &Path, master: MasterKeySource) -> AdminResult<Self> {
        ensure_data_dir(data_dir)?;
        let catalog = Catalog::open(&data_dir.join("catalog.db")).await?;
        Ok(Self::on(data_dir, master, catalog, false))
    }

    fn on(data_dir: &Path, master: MasterKeySource, catalog: Catalog, read_only: bool) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            master,
            catalog,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(SystemEntropy),
            read_only,
        }
    }

    /// Opens `data_dir` to read it only, for what only shows (listings, a file's facts, the
    /// alerts, the incident report): the directory, its catalog and its ledger must exist and
    /// are not created, migrated or changed, nor is a key made (an investigator's copy keeps
    /// its bytes; a wrong `--data-dir` is an error, not a new empty data directory; a build
    /// that only looks does not upgrade a data directory another build still serves). An
    /// older schema is refused, naming how to upgrade it ([`catalog::CatalogError::SchemaBehind`]).
    pub async fn open_read_only(data_dir: &Path, master: MasterKeySource) -> AdminResult<Self> {
        if let Err(source) = std::fs::metadata(data_dir) {
            return Err(AdminError::DataDir {
                path: data_dir.display().to_string(),
                source,
            });
        }
        let catalog = Catalog::open_read_only(&data_dir.join("catalog.db")).await?;
        Ok(Self::on(data_dir, master, catalog, true))
    }

    /// The catalog, for what is only read and shown (listings, an account's details).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn now(&self) -> i64 {
        self.clock.unix_secs()
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().as_millis()
    }

    /// Closes the catalog (its last writes checkpointed).
    pub async fn close(self) {
        self.catalog.close().await;
    }

    fn vault(&self) -> AdminResult<Vault> {
        let root = self.data_dir.join("blobs");
        let store = match self.read_only {
            true => LocalBlobStore::existing(&root),
            false => LocalBlobStore::open(&root)?,
        };
        Ok(Vault::new(Arc::new(store)))
    }

    /// A tenant, with its first tenant key (the master key is made if there is none yet).
    pub async fn add_tenant(&self, name: &str) -> AdminResult<Tenant> {
        let ledger = LedgerStore::open(&self.data_dir.join("ledger.db"))?;
        let now = self.now();
        Ok(crate::keys::add_tenant(&self.catalog, &ledger, &self.master, name, now).await?)
    }

    /// Retention of one folder of a tenant (`None`: as the tenant's), in days after upload and
    /// hours after the first complete download.
    pub async fn set_folder_retention(
        &self,
        tenant: &str,
        folder: &str,
        days: Option<i64>,
        hours: Option<i64>,
    ) -> AdminResult<()> {
        let t = self.catalog.tenant(tenant).await?;
        let files = Files::new(
            self.catalog.clone(),
            self.vault()?,
            Arc::new(KeyringHandle::load(self.master.clone(), false)?),
            t.id,
            true,
            Default::default(),
            Arc::new(crate::files::free_space::FreeSpace::unchecked()),
        );
        let path = JailPath::parse(&Bytes::from(folder.as_bytes().to_vec())).map_err(|e| {
            AdminError::Files {
                what: format!("folder {folder}"),
                source: e,
            }
        })?;
        if path.is_root() {
            return Err(AdminError::Invalid(
                "for the tenant's root, leave out --folder".into(),
            ));
        }
        let node = files.resolve(&path).await.map_err(|e| AdminError::Files {
            what: format!("folder {folder}"),
            source: e,
        })?;
        if node.kind != NodeKind::Dir {
            return Err(AdminError::Invalid(format!("{folder} is not a folder")));
        }
        Ok(self
            .catalog
            .set_folder_retention(node.id, days, hours)
            .await?)
    }

    /// A new version of the tenant's key; every name and file key re-wrapped under it, in
    /// steps (or the rotation begun before and interrupted, finished).
    pub async fn rotate_tenant_key(
        &self,
        tenant: &str,
        progress: crate::keys::RekeyProgress,
    ) -> AdminResult<crate::keys::Rotated> {
        Ok(crate::keys::rotate_tenant_key(
            &self.catalog,
            &self.master,
            tenant,
            self.now(),
            progress,
        )
        .await?)
    }

    /// Begins a new ledger where the data directory's was lost for good: the catalog forgets
    /// which ledger it named, so that the server's next start signs a new one (the command's
    /// own record, with `reason`, is among its first). Refused while the ledger holds a signed
    /// checkpoint (it is not lost: nothing is changed). Whether the catalog named one.
    pub async fn new_ledger(&self, reason: &str) -> AdminResult<bool> {
        if reason.trim().is_empty() {
            return Err(AdminError::Invalid(
                "--reason must say why the ledger is lost".into(),
            ));
        }
        let store = LedgerStore::open(&self.data_dir.join("ledger.db"))?;
        if let Some(c) = store.latest_checkpoint()? {
            return Err(AdminError::Invalid(format!(
                "the ledger holds signed checkpoints (the last at record {}): it is not lost; \
                 nothing changed",
                c.seq
            )));
        }
        Ok(self.catalog.forget_ledger_identity().await?)
    }

    /// Accepts the ledger as it is where it fell short of the catalog's record of it (restored
    /// from a backup older than the catalog, on purpose): the catalog records its last
    /// checkpoint instead, and the server starts on it again (the command's own record, with
    /// `reason`, is appended to it). Refused, changing nothing, where the ledger is not behind,
    /// holds no checkpoint (`new_ledger`) or is signed by another key. Returns the last record
    /// the catalog had recorded the ledger holding and the ledger's last record.
    pub async fn accept_rollback(&self, reason: &str) -> AdminResult<(u64, u64)> {
        if reason.trim().is_empty() {
            return Err(AdminError::Invalid(
                "--reason must say why the ledger is behind (a backup restored: which, by whom)"
                    .into(),
            ));
        }
        let refused = |why: String| Err(AdminError::Invalid(format!("{why}; nothing changed")));
        let Some(named) = self.catalog.ledger_identity().await? else {
            return refused("this data directory names no ledger yet".into());
        };
        let store = LedgerStore::open(&self.data_dir.join("ledger.db"))?;
        let Some(latest) = store.latest_checkpoint()? else {
            return refused(
                "the ledger holds no signed checkpoint: if it is lost, `audit new-ledger`".into(),
            );
        };
        if ledger_public_key(&self.data_dir)? != named.public_key {
            return refused("the ledger's key (ledger.key) is not this data directory's".into());
        }
        let recorded = named.head.or(named.checkpoint).map_or(0, |c| c.seq);
        if named.behind(&store)?.is_none() {
            return refused(format!(
                "the ledger holds the records this data directory's catalog recorded (to \
                 record {recorded}): it is not behind"
            ));
        }
        self.catalog.accept_ledger_as_it_is(Some(&latest)).await?;
        Ok((recorded, store.head()?.seq))
    }

    /// A new master key; every tenant key and the ledger body key re-wrapped under it.
    /// Returns the number of tenant keys re-wrapped.
    pub async fn rotate_master_key(&self) -> AdminResult<usize> {
        let ledger = LedgerStore::open(&self.data_dir.join("ledger.db"))?;
        Ok(crate::keys::rotate_master(&self.catalog, &ledger, &self.master).await?)
    }

    /// Begins crypto-shredding a tenant (or goes on with a removal interrupted before): its
    /// key destroyed with its accounts, in one short transaction. The caller closes its live
    /// sessions then (the server still holds its key for them), and calls [`Admin::shred_rows`].
    pub async fn begin_shred(&self, tenant: &str) -> AdminResult<catalog::TenantRemoval> {
        Ok(self
            .catalog
            .begin_tenant_removal(tenant, self.now())
            .await?)
    }

    /// Goes on with a tenant's removal begun by [`Admin::begin_shred`] to its end: its rows
    /// removed a batch a transaction (other tenants' uploads commit between them), each batch's
    /// blobs deleted once it commits; `progress(files removed, files)` after each batch.
    /// Returns the files and the blobs deleted.
    pub async fn shred_rows(
        &self,
        removal: &mut catalog::TenantRemoval,
        mut progress: impl FnMut(u64, u64),
    ) -> AdminResult<(u64, usize)> {
        let v = self.vault()?;
        let (mut files, mut blobs) = (0u64, 0usize);
        loop {
            let step = self.catalog.remove_tenant_step(removal).await?;
            for b in &step.blobs {
                if let Ok(id) = BlobId::from_hex(b) {
                    v.remove(id)?;
                }
            }
            files += step.files as u64;
            blobs += step.blobs.len();
            if step.done {
                return Ok((files, blobs));
            }
            progress(files, removal.files.max(files));
        }
    }

    /// Deletes every file expired at `at` (Unix seconds), each deletion a ledger record.
    pub async fn run_retention(&self, at: i64) -> AdminResult<Vec<catalog::Expired>> {
        let deleted = crate::retention::sweep(&self.catalog, &self.vault()?, at, None).await?;
        let (ledger, body_key) = self.ledger()?;
        let node = self.node()?;
        let records: Vec<_> = deleted
            .iter()
            .map(|f| {
                let mut e = crate::retention::deletion_event(f, events::Time::from_secs(at));
                e.node = Some(node.clone());
                crate::audit::stored(&e, &body_key)
            })
            .collect();
        if !records.is_empty() {
            let head = ledger.append(&records)?;
            ledger.fold()?;
            catalog::record_ledger_head(
                &self.data_dir.join("catalog.db"),
                &ledger,
                &head,
                self.now(),
            )?;
        }
        Ok(deleted)
    }

    /// An account, with a public key and/or a password (which must meet the strength bar).
    pub async fn add_account(
        &self,
        tenant: &str,
        name: &str,
        access: Access,
        password: Option<&str>,
        key: Option<&NewKey>,
    ) -> AdminResult<Account> {
        let hash = password.map(credentials::hash_password).transpose()?;
        if key.is_none() && hash.is_none() {
            return Err(AdminError::Invalid(
                "an account needs a credential: give --key FILE.pub and/or --password-stdin".into(),
            ));
        }
        Ok(self
            .catalog
            .add_account(tenant, name, access, hash.as_deref(), key, self.now())
            .await?)
    }

    /// Adds a public key (OpenSSH text) to an account, valid until `expires_at` if given.
    pub async fn add_key(
        &self,
        account: &str,
        key_text: &str,
        expires_at: Option<i64>,
    ) -> AdminResult<catalog::AccountKey> {
        let mut key = credentials::parse_public_key(key_text)?;
        key.expires_at = expires_at;
        Ok(self.catalog.add_key(account, &key, self.now()).await?)
    }

    /// Enrols (or re-enrols) an account in TOTP: the secret and recovery codes, shown once.
    pub async fn enrol_totp(&self, account: &str) -> AdminResult<crate::gate::Enrolment> {
        let keyring = KeyringHandle::load(self.master.clone(), false)?;
        Ok(crate::gate::enrol_totp(&self.catalog, &keyring, account).await?)
    }

    fn files_of(&self, tenant_id: i64) -> AdminResult<Files> {
        Ok(Files::new(
            self.catalog.clone(),
            self.vault()?,
            Arc::new(KeyringHandle::load(self.master.clone(), false)?),
            tenant_id,
            true,
            Default::default(),
            Arc::new(crate::files::free_space::FreeSpace::unchecked()),
        ))
    }

    /// A file's path (not the root).
    fn jail(path: &str) -> AdminResult<JailPath> {
        let p = Self::jail_any(path)?;
        if p.is_root() {
            return Err(AdminError::Invalid(
                "that is the tenant's root directory; give a file's path".into(),
            ));
        }
        Ok(p)
    }

    /// A path in a tenant's namespace, the root included.
    fn jail_any(path: &str) -> AdminResult<JailPath> {
        JailPath::parse(&Bytes::from(path.as_bytes().to_vec())).map_err(|e| AdminError::Files {
            what: path.to_owned(),
            source: e,
        })
    }

    /// Places a canary file at `path` in `tenant`: a plausible customer extract (sealed like
    /// any file), listed like any other, never expired, not counted against quotas. Returns
    /// its file id.
    pub async fn add_canary(&self, tenant: &str, path: &str) -> AdminResult<i64> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let jail = Self::jail(path)?;
        let contents = detect::canary::extract(self.entropy.u64(), 200).into_bytes();
        let node = files
            .put_new(&jail, contents, self.now())
            .await
            .map_err(|e| AdminError::Files {
                what: format!("canary {path}"),
                source: e,
            })?;
        self.catalog.add_canary(t.id, node.id, self.now()).await?;
        Ok(node.id)
    }

    /// Removes a canary (the file with it).
    pub async fn remove_canary(&self, tenant: &str, path: &str) -> AdminResult<()> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let jail = Self::jail(path)?;
        let fs = |e| AdminError::Files {
            what: format!("canary {path}"),
            source: e,
        };
        let node = files.resolve(&jail).await.map_err(fs)?;
        if !self.catalog.is_canary(node.id).await? {
            return Err(AdminError::Invalid(format!(
                "{path} in {tenant} is not a canary"
            )));
        }
        files.remove(&jail, None).await.map_err(fs)
    }

    pub async fn path_of(&self, node_id: i64) -> AdminResult<Option<String>> {
        let Some(node) = self.catalog.node(node_id).await? else {
            return Ok(None);
        };
        let files = self.files_of(node.tenant_id)?;
        Ok(files.path_of(&node).await.ok())
    }

    /// Records in the catalog that the live sessions `selection` names end, for `why`: every
    /// server on the catalog ends those that began by now within seconds
    /// (`Gate::end_sessions_out_of_service`), whether or not it is reached over its control
    /// socket (out of file descriptors, stuck, another node's).
    pub async fn record_session_kill(
        &self,
        selection: &crate::sessions::Selection,
        why: &str,
    ) -> AdminResult<()> {
        let json = serde_json::to_string(selection)
            .map_err(|e| AdminError::Invalid(format!("the sessions named: {e}")))?;
        self.catalog
            .record_session_kill(&json, why, self.now_ms())
            .await?;
        Ok(())
    }

    /// Bans an address or a network (canonical: [`crate::gate::network::one`]) for `secs`
    /// seconds (by an administrator, for `reason`).
    pub async fn ban(
        &self,
        address: crate::gate::network::IpNet,
        secs: i64,
        reason: Option<&str>,
    ) -> AdminResult<crate::gate::network::IpNet> {
        if secs <= 0 {
            return Err(AdminError::Invalid(
                "--for must be a positive duration".into(),
            ));
        }
        let now = self.now();
        self.catalog
            .upsert_ban(&catalog::Ban {
                address: crate::gate::network::written(address),
                level: 1,
                until: now + secs,
                reason: format!(
                    "by an administrator{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
                created_at: now,
            })
            .await?;
        Ok(address)
    }

    /// This node's id (made at the first start).
    pub fn node(&self) -> AdminResult<String> {
        crate::node_id(&self.data_dir, self.clock.as_ref(), self.entropy.as_ref()).map_err(
            |source| AdminError::DataDir {
                path: self.data_dir.join("node-id").display().to_string(),
                source,
            },
        )
    }

    /// The ledger and the key that seals (and opens) its record bodies; opened read-only by
    /// an admin opened so ([`read_ledger`]: a ledger with no body key yet holds no record, and
    /// is refused here as having none to read).
    pub fn ledger(&self) -> AdminResult<(LedgerStore, LedgerBodyKey)> {
        if !self.read_only {
            return open_ledger(&self.data_dir, &self.master);
        }
        read_ledger(&self.data_dir, &self.master)?.ok_or_else(|| AdminError::DataDir {
            path: self.data_dir.display().to_string(),
            source: std::io::Error::other("its ledger holds no record yet: nothing to read"),
        })
    }
}

/// Who runs this process: the operating-system user (the one behind `sudo`, if any), as admin
/// records and the server's own (`serve`) name it.
pub fn operator() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| {
            // SAFETY: getuid has no preconditions and cannot fail.
            format!("uid {}", unsafe { libc::getuid() })
        })
}

/// Opens (creating if needed) the data directory with owner-only permissions. An existing
/// directory is narrowed to 0700 too: it holds keys and the catalog.
pub fn ensure_data_dir(path: &Path) -> AdminResult<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |source| AdminError::DataDir {
        path: path.display().to_string(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(err)
}

/// The ledger of `data_dir` and its body key (no catalog needed: the ledger has its own file).
pub fn open_ledger(
    data_dir: &Path,
    master: &MasterKeySource,
) -> AdminResult<(LedgerStore, LedgerBodyKey)> {
    let store = LedgerStore::open(&data_dir.join("ledger.db"))?;
    // A new master key only for a ledger that has no body key (one wrapped under it is in use).
    let in_use = store.body_key()?.map(|(id, _)| id);
    let keyring = crate::keys::load_keyring_for(master, in_use)?;
    let key = crate::keys::ledger_body_key(&store, &keyring)?;
    Ok((store, key))
}

/// The ledger of `data_dir` and its body key, to read only (`audit export`): nothing of the
/// ledger is created, migrated or changed (see [`verify_ledger`]); `None` when it has no body
/// key yet (then it holds no record to read).
pub fn read_ledger(
    data_dir: &Path,
    master: &MasterKeySource,
) -> AdminResult<Option<(LedgerStore, LedgerBodyKey)>> {
    let store = LedgerStore::open_read_only(&data_dir.join("ledger.db"))?;
    let Some((id, wrapped)) = store.body_key()? else {
        return Ok(None);
    };
    let keyring = crate::keys::load_keyring_for(master, Some(id.clone()))?;
    let key = keyring
        .by_id(&id)
        .map_err(crate::keys::KeyLifecycleError::from)?
        .unwrap_ledger_body_key(&wrapped)
        .map_err(crate::keys::KeyLifecycleError::from)?;
    Ok(Some((store, key)))
}

/// The records of tenant `t`: from its creation (records of an earlier tenant of the same name,
/// removed and added again, are not its).
fn records_of(t: &Tenant) -> LedgerFilter {
    LedgerFilter {
        since: Some(t.created_at),
        tenant: Some(t.name.clone()),
        ..Default::default()
    }
}

/// A new id for one run of an admin command (a UUID v7, as a session's): its records (`begun`,
/// then its end) carry it as their `session`, so that a `begun` whose run has no other record
/// tells a change cut short (kill -9, a power loss) or still running.
pub fn new_run_id() -> String {
    let entropy: &dyn Entropy = &SystemEntropy;
    crate::sessions::new_session_id(SystemClock.now().as_millis() as u64, entropy.array())
}

/// Adds an admin command's record to the ledger of `data_dir`, folded into the indexed table
/// at once (no server may be running to fold it); `run` is the command's run ([`new_run_id`]).
pub fn record_admin(
    data_dir: &Path,
    master: &MasterKeySource,
    command: &str,
    run: &str,
    by: &str,
    outcome: &str,
) -> AdminResult<()> {
    let (store, body_key) = open_ledger(data_dir, master)?;
    let node = crate::node_id(data_dir, &SystemClock, &SystemEntropy).map_err(|source| {
        AdminError::DataDir {
            path: data_dir.join("node-id").display().to_string(),
            source,
        }
    })?;
    let mut event = Event::new(
        SystemClock.now(),
        EventKind::Admin {
            command: command.to_owned(),
            by: by.to_owned(),
            outcome: outcome.to_owned(),
        },
    );
    event.node = Some(node);
    event.session = Some(run.to_owned());
    let head = store.append(&[crate::audit::stored(&event, &body_key)])?;
    store.fold()?;
    // The catalog records it as it does the server's: a copy of the ledger from before this
    // command, put back, is refused at the next start.
    catalog::record_ledger_head(
        &data_dir.join("catalog.db"),
        &store,
        &head,
        event.time.as_secs(),
    )?;
    Ok(())
}

/// Records verified between two reports of `audit verify`'s progress (some 0.13 s apart).
pub const VERIFY_PROGRESS_EVERY: u64 = 100_000;

/// Whether the ledger's chain and checkpoints verify (with the ledger key's public half). The
/// ledger is read only: not created, migrated or changed (a copy kept as evidence keeps its
/// bytes), and one at an older schema than this build's is refused, not upgraded. `progress`
/// is told how many records have been checked, of how many, as the check goes
/// ([`LedgerStore::verify_telling`]: some 13 s for 10 million records).
pub fn verify_ledger(
    data_dir: &Path,
    progress: impl FnMut(u64, u64),
) -> AdminResult<Result<catalog::Verified, ledger::Break>> {
    let store = LedgerStore::open_read_only(&data_dir.join("ledger.db"))?;
    Ok(store.verify_telling(
        &ledger_public_key(data_dir)?,
        VERIFY_PROGRESS_EVERY,
        progress,
    )?)
}

/// Why the ledger of `data_dir` is not the one its catalog names (by its signing key's public
/// half, recorded at the server's first start), if it is not: a ledger replaced with its key,
/// or removed and begun afresh, would otherwise verify as intact. `None` when it is, or when
/// there is no catalog (a ledger copied elsewhere to be verified) or it names none yet. Both
/// are read only, as by [`verify_ledger`].
pub fn ledger_not_the_named_one(data_dir: &Path) -> AdminResult<Option<String>> {
    let catalog_path = data_dir.join("catalog.db");
    if !catalog_path.exists() {
        return Ok(None);
    }
    let Some(named) = catalog::named_ledger_read_only(&catalog_path)? else {
        return Ok(None);
    };
    let store = LedgerStore::open_read_only(&data_dir.join("ledger.db"))?;
    let why = if store.latest_checkpoint()?.is_none() {
        "it holds no signed checkpoint: removed or replaced by an empty one"
    } else if ledger_public_key(data_dir)? != named.public_key {
        "its key (ledger.key) is another: replaced with its key"
    } else if let Some(why) = ledger_behind(&store, &named)? {
        return Ok(Some(format!(
            "{why} (a copy put back on purpose is accepted, on the record, with `strongroom \
             audit accept-rollback --reason TEXT`)"
        )));
    } else {
        return Ok(None);
    };
    Ok(Some(format!(
        "this is not the data directory's ledger, which is signed by the key {}: {why}",
        hex::encode(named.public_key)
    )))
}

/// Why the ledger in `store` falls short of the catalog's record of it (the last checkpoint
/// the server saw it hold, the head its writer last settled), in words; `None` if it does not.
/// Such a ledger verifies under its key, but records are gone from it.
pub fn ledger_behind(
    store: &LedgerStore,
    named: &catalog::NamedLedger,
) -> catalog::Result<Option<String>> {
    let signed = |c: &catalog::SeenCheckpoint| events::Time::from_secs(c.time);
    Ok(named.behind(store)?.map(|behind| match behind {
        catalog::Behind::Missing(c) => format!(
            "the ledger lacks its checkpoint at record {} (signed {}), which this data \
             directory's catalog recorded it holding: it was rolled back to an older copy of \
             itself or cut short, and the records after it are gone",
            c.seq,
            signed(&c)
        ),
        catalog::Behind::Differs(c) => format!(
            "the ledger's checkpoint at record {} is not the one this data directory's catalog \
             recorded it holding (signed {}): it was rewritten",
            c.seq,
            signed(&c)
        ),
        catalog::Behind::HeadMissing(c) => format!(
            "the ledger lacks record {}, which this data directory's catalog recorded it \
             holding (stored by {}): it was rolled back to an older copy of itself or cut \
             short, and the records from it on are gone",
            c.seq,
            signed(&c)
        ),
        catalog::Behind::HeadDiffers(c) => format!(
            "the ledger's record {} is not the one this data directory's catalog recorded it \
             holding (stored by {}): it was rewritten",
            c.seq,
            signed(&c)
        ),
    }))
}

/// The public half of the key that signs the ledger's checkpoints.
pub fn ledger_public_key(data_dir: &Path) -> AdminResult<Vec<u8>> {
    Ok(LedgerKey::load_or_create(&data_dir.join("ledger.key"), false)?.public_key())
}

/// What an export narrows to beyond a [`LedgerFilter`].
#[derive(Debug, Clone, Copy, Default)]
pub enum ExportNarrowed<'a> {
    #[default]
    No,
    /// Records whose source is any address in a network ([`ledger_read::address_filters`];
    /// the filter's `source` is then not used).
    Network(&'a crate::gate::network::IpNet),
    /// Records naming a path of the filter's tenant (as their path, or as a rename's `to`):
    /// through the path tag indexes where every record of the tenant carries tags, else by
    /// reading the tenant's records.
    Path(&'a str),
}

/// Calls `each` with every ledger record `filter` selects, as typed events, in order, narrowed
/// as `narrowed` says.
pub fn export<E>(
    data_dir: &Path,
    master: &MasterKeySource,
    filter: &LedgerFilter,
    narrowed: ExportNarrowed<'_>,
    mut each: impl FnMut(Exported) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<AdminError> + From<LedgerReadError>,
{
    // Read only: an export of a copy kept as evidence leaves its bytes as they were.
    let Some((store, body_key)) = read_ledger(data_dir, master)? else {
        return Ok(());
    };
    match narrowed {
        ExportNarrowed::No => ledger_read::for_each(&store, &body_key, filter, each),
        ExportNarrowed::Network(net) => {
            let filters = ledger_read::address_filters(&store, net, filter)
                .map_err(|e| refused_network(e, ""))?;
            ledger_read::for_each_of(&store, &body_key, &filters, each)
        }
        ExportNarrowed::Path(path) => {
            let Some(tenant) = filter.tenant.as_deref() else {
                return Err(AdminError::Invalid(
                    "a path is a tenant's: give --tenant with --path".into(),
                ))?;
            };
            let shown = Admin::jail_any(path)?.display();
            let names = |r: &Exported| crate::incident::names_path(r, &shown);
            let first_tagged = store.path_tag_from().map_err(AdminError::from)?;
            if !ledger_read::none_before(&store, filter, first_tagged)? {
                return ledger_read::for_each(&store, &body_key, filter, |r| {
                    if names(&r) { each(r) } else { Ok(()) }
                });
            }
            // By tag alone (their indexes), then kept to what the filter's other fields say.
            let filters = ledger_read::naming_path(&body_key, tenant, &shown);
            let kept = |r: &Exported| {
                let e = &r.event;
                let secs = e.time.as_secs();
                let same = |want: &Option<String>, have: &Option<String>| {
                    want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
                };
                e.tenant.as_deref() == Some(tenant)
                    && same(&filter.account, &e.account)
                    && same(&filter.session, &e.session)
                    && filter.kind.as_deref().is_none_or(|k| k == e.kind_name())
                    && filter.since.is_none_or(|t| secs >= t)
                    && filter.until.is_none_or(|t| secs < t)
                    && names(r)
            };
            ledger_read::for_each_of(&store, &body_key, &filters, |r| {
                if kept(&r) { each(r) } else { Ok(()) }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use classify::{Class, Classification};

    /// An administration of a fresh data directory under `dir` with tenant `acme`, and acme's
    /// files.
    async fn acme(dir: &std::path::Path) -> (Admin, crate::files::Files, i64) {
        let master = MasterKeySource::File(dir.join("master.key"));
        let admin = Admin::open(&dir.join("data"), master).await.unwrap();
        let tenant = admin.add_tenant("acme").await.unwrap();
        let files = admin.files_of(tenant.id).unwrap();
        (admin, files, tenant.id)
    }

    /// The file at `jail` once its upload is classified (after its commit, in the background).
    async fn classified(files: &crate::files::Files, jail: &JailPath) -> catalog::Node {
        for _ in 0..1000 {
            let node = files.resolve(jail).await.unwrap();
            if files.classes_of(&node).await.unwrap().is_some() {
                return node;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{jail:?} not classified within 10 s");
    }

    const TEXT: &[u8] = b"Pay to routing number 021000021 account 0012345678.\n";

    /// `classify run` classifies again a file whose stored classification was found under
    /// earlier rules (a server upgrade whose classifier finds more), and leaves alone one found
    /// under these rules; `--again` takes both.
    #[tokio::test]
    async fn classify_run_takes_files_classified_under_earlier_rules() {
        let dir = tempfile::tempdir().unwrap();
        let (admin, files, tenant_id) = acme(dir.path()).await;
        let tk = files.tenant_key().await.unwrap();
        for (path, rules) in [("/old.txt", 1), ("/new.txt", classify::RULES)] {
            let jail = Admin::jail(path).unwrap();
            files.put_new(&jail, TEXT.to_vec(), 0).await.unwrap();
            // Once classified, it is stored as an earlier classifier stored it (the routing
            // number, no account).
            let node = classified(&files, &jail).await;
            let mut stored = Classification {
                rules,
                ..Classification::default()
            };
            stored.counts.add(Class::AbaRouting, 1);
            let root = node.seal.as_ref().map(|s| s.content_root.clone());
            let sealed = crate::files::classification::seal(
                &tk,
                root.as_deref().unwrap_or_default(),
                &stored,
            );
            let set = (admin.catalog)
                .set_classes(tenant_id, node.id, tk.version, root, node.size, sealed);
            assert!(set.await.unwrap());
        }
        let admin = &admin;
        let run = |again| async move {
            let mut done = Vec::new();
            let n = admin
                .classify_run(None, again, |f, _, _| {
                    done.push(f);
                    Ok(())
                })
                .await
                .unwrap();
            assert_eq!(n, done.len());
            done
        };
        let done = run(false).await;
        let paths: Vec<&str> = done.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/old.txt"]);
        let found = &done[0].classification;
        assert_eq!(found.counts.get(Class::UsBankAccount), 1);
        assert_eq!(found.rules, classify::RULES);
        let old = files
            .resolve(&Admin::jail("/old.txt").unwrap())
            .await
            .unwrap();
        let now = files.classes_of(&old).await.unwrap().unwrap();
        assert_eq!(now, *found, "stored");
        // Nothing is left to do; --again takes every file.
        assert!(run(false).await.is_empty());
        assert_eq!(run(true).await.len(), 2);
    }

    /// A session that read the tenant key before a rotation (its key cached) goes on after it:
    /// names looked up and listed, classes opened, under the key read again.
    #[tokio::test]
    async fn a_key_cached_before_a_rotation_is_read_again_for_what_it_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let (admin, files, _) = acme(dir.path()).await;
        let jail = Admin::jail("/pay.txt").unwrap();
        files.put_new(&jail, TEXT.to_vec(), 0).await.unwrap();
        let id = classified(&files, &jail).await.id;
        assert_eq!(files.tenant_key().await.unwrap().version, 1);
        let rotated = admin
            .rotate_tenant_key("acme", std::sync::Arc::new(|_| {}))
            .await
            .unwrap();
        assert_eq!(
            (rotated.version, rotated.nodes, rotated.resumed),
            (2, 1, false)
        );
        assert_eq!(files.tenant_key().await.unwrap().version, 1, "still cached");
        // The file as a handle reads it again, by id (its classes under the new key).
        let node = admin.catalog.node(id).await.unwrap().unwrap();
        let classes = files.classes_of(&node).await.unwrap().unwrap();
        assert_eq!(classes.counts.get(Class::AbaRouting), 1);
        assert_eq!(files.resolve(&jail).await.unwrap().id, id);
        let root = crate::files::path::JailPath::parse(&bytes::Bytes::from_static(b"/")).unwrap();
        let listing = files.open_dir(&root).await.unwrap();
        let names: Vec<_> = files
            .read_dir(&listing, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, [bytes::Bytes::from_static(b"pay.txt")]);
    }
}
