//! Administration: the operations the admin command line (and the coming HTTP API) perform on
//! a data directory: tenants and their keys, accounts and their credentials, folder retention,
//! shredding, the retention sweep, bans, and the ledger (admin records, verification, export).
//! Each is a domain operation here; the front end parses its arguments and prints the result.
//! They work while a server runs on the same directory (SQLite in WAL mode; the ledger's
//! writers serialise on its lock) and take effect at the next login, unless the front end also
//! asks the running server to act on live sessions (its control socket).
//!
//! Never here: argument syntax, terminal output, reaching the running server.

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
use crate::incident::{FileAsked, FileReadersOf};
use crate::keys::{KeyLifecycleError, KeyringHandle};
use crate::ledger_read::{self, LedgerReadError};
use crate::path_history::PathHistory;

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
    /// The request itself is wrong (the front end reports it as a usage error).
    #[error("{0}")]
    Invalid(String),
}

pub type AdminResult<T> = Result<T, AdminError>;

/// A data directory opened for administration.
pub struct Admin {
    data_dir: PathBuf,
    master: MasterKeySource,
    catalog: Catalog,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
}

impl Admin {
    /// Opens the catalog of `data_dir` (creating the directory, owner-only, if needed).
    pub async fn open(data_dir: &Path, master: MasterKeySource) -> AdminResult<Self> {
        ensure_data_dir(data_dir)?;
        let catalog = Catalog::open(&data_dir.join("catalog.db")).await?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            master,
            catalog,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(SystemEntropy),
        })
    }

    /// The catalog, for what is only read and shown (listings, an account's details).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn now(&self) -> i64 {
        self.clock.unix_secs()
    }

    /// Closes the catalog (its last writes checkpointed).
    pub async fn close(self) {
        self.catalog.close().await;
    }

    fn keyring(&self, create: bool) -> AdminResult<vault::Keyring> {
        Ok(crate::keys::load_keyring(&self.master, create)?)
    }

    fn vault(&self) -> AdminResult<Vault> {
        let store = LocalBlobStore::open(&self.data_dir.join("blobs"))?;
        Ok(Vault::new(Arc::new(store)))
    }

    /// A tenant, with its first tenant key (the master key is made if there is none yet).
    pub async fn add_tenant(&self, name: &str) -> AdminResult<Tenant> {
        let keys = self.keyring(true)?;
        Ok(self
            .catalog
            .add_tenant(name, self.now(), |id| {
                crate::keys::new_tenant_key(&keys, id, 1)
            })
            .await?)
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

    /// A new version of the tenant's key; every name and file key re-wrapped under it.
    /// Returns the version and the number of nodes re-wrapped.
    pub async fn rotate_tenant_key(&self, tenant: &str) -> AdminResult<(i64, usize)> {
        let keys = self.keyring(false)?;
        Ok(crate::keys::rotate_tenant_key(&self.catalog, &keys, tenant, self.now()).await?)
    }

    /// A new master key; every tenant key and the ledger body key re-wrapped under it.
    /// Returns the number of tenant keys re-wrapped.
    pub async fn rotate_master_key(&self) -> AdminResult<usize> {
        let ledger = LedgerStore::open(&self.data_dir.join("ledger.db"))?;
        Ok(crate::keys::rotate_master(&self.catalog, &ledger, &self.master).await?)
    }

    /// Crypto-shreds a tenant: its key destroyed, its rows removed, its blobs deleted.
    /// Returns the number of blobs deleted.
    pub async fn shred_tenant(&self, tenant: &str) -> AdminResult<usize> {
        let blobs = self.catalog.remove_tenant(tenant).await?;
        let v = self.vault()?;
        for b in &blobs {
            if let Ok(id) = BlobId::from_hex(b) {
                v.remove(id)?;
            }
        }
        Ok(blobs.len())
    }

    /// Deletes every file expired at `at` (Unix seconds), each deletion a ledger record.
    pub async fn run_retention(&self, at: i64) -> AdminResult<Vec<catalog::Expired>> {
        let deleted = crate::retention::sweep(&self.catalog, &self.vault()?, at).await?;
        let (ledger, body_key) = self.ledger()?;
        let node = self.node()?;
        let records: Vec<_> = deleted
            .iter()
            .map(|f| {
                let mut e = Event::new(
                    events::Time::from_secs(at),
                    EventKind::RetentionDelete {
                        file_id: f.node_id,
                        size: f.size,
                    },
                );
                e.tenant = Some(f.tenant.clone());
                e.node = Some(node.clone());
                crate::audit::stored(&e, &body_key)
            })
            .collect();
        if !records.is_empty() {
            ledger.append(&records)?;
            ledger.fold()?;
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

    /// The incident report of a selection: its sessions, every file it read (with its path
    /// then and now, bytes read, whole or partial, its data classes) and every change it made,
    /// per tenant, from the ledger's records within `[since, until)` (seconds).
    ///
    /// With `verify`, the part of the chain that holds the report's records is verified too,
    /// between the signed checkpoints around it (`audit verify` checks the whole chain), and
    /// the outcome goes into the evidence.
    pub async fn incident_report(
        &self,
        selection: &crate::incident::Selection,
        since: Option<i64>,
        until: Option<i64>,
        verify: bool,
    ) -> AdminResult<crate::incident::Report> {
        use crate::incident::{Collector, Criterion};
        use std::collections::BTreeSet;
        let (store, key) = open_ledger(&self.data_dir, &self.master)?;
        let range = LedgerFilter {
            since,
            until,
            ..Default::default()
        };
        if selection.is_empty() {
            return Err(AdminError::Invalid(
                "give --user, --ip, --session, --key or --alert".into(),
            ));
        }
        let mut collector = if selection.credentials.is_empty() {
            Collector::default()
        } else {
            Collector::opened_with(&selection.credentials)
        };
        // Each kind of the selection as the records show it, with the ledger's indexed filters
        // that read its records (one per session, account and address).
        let read_through = |c: Criterion| -> AdminResult<(Criterion, Vec<LedgerFilter>)> {
            let mut filters: Vec<LedgerFilter> = c
                .sessions
                .iter()
                .map(|s| LedgerFilter {
                    session: Some(s.clone()),
                    ..range.clone()
                })
                .chain(c.accounts.iter().map(|a| LedgerFilter {
                    account: Some(a.clone()),
                    ..range.clone()
                }))
                .collect();
            let mut addresses = Vec::new();
            for net in &c.networks {
                addresses.extend(
                    ledger_read::address_filters(&store, net, &range)
                        .map_err(|e| refused_network(e, ", or select by --user or --key"))?,
                );
            }
            // Overlapping networks: each address read once.
            addresses.sort_by(|a, b| a.source.cmp(&b.source));
            addresses.dedup_by(|a, b| a.source == b.source);
            filters.extend(addresses);
            Ok((c, filters))
        };
        let mut kinds: Vec<(Criterion, Vec<LedgerFilter>)> = Vec::new();
        if !selection.accounts.is_empty() {
            kinds.push(read_through(Criterion {
                accounts: selection.accounts.iter().cloned().collect(),
                ..Default::default()
            })?);
        }
        if !selection.sessions.is_empty() {
            kinds.push(read_through(Criterion {
                sessions: selection.sessions.iter().cloned().collect(),
                ..Default::default()
            })?);
        }
        if !selection.credentials.is_empty() {
            // Which sessions the credentials opened before the range's end: one opened before
            // its start may still have read within it (a session open overnight).
            let opened_by_end = LedgerFilter {
                since: None,
                ..range.clone()
            };
            let mut sessions = BTreeSet::new();
            let mut opened_before = Vec::new();
            for k in &selection.credentials {
                for (s, at) in
                    crate::incident::sessions_opened_with(&store, &key, &opened_by_end, k)?
                {
                    if since.is_some_and(|since| at.as_secs() < since) {
                        opened_before.push(s.clone());
                    }
                    sessions.insert(s);
                }
            }
            collector = collector.admitting(opened_before);
            kinds.push(read_through(Criterion {
                sessions,
                ..Default::default()
            })?);
        }
        if !selection.alerts.is_empty() {
            let mut named = Criterion::default();
            for id in &selection.alerts {
                let stored = self.catalog.alert(id).await?;
                let alert: crate::detection::AlertRecord = serde_json::from_str(&stored.body)
                    .map_err(|e| AdminError::Invalid(format!("alert {id} does not read: {e}")))?;
                // The alert's own record names no session: say here which ones it closed.
                if alert.actions.iter().any(|a| a == "close_sessions") {
                    for s in &alert.sessions {
                        collector.contained(s, format!("contained by alert {id} ({})", alert.rule));
                    }
                }
                // Its sessions; else its account's; else its source's (a spray of logins).
                match (alert.sessions.is_empty(), alert.account, alert.source) {
                    (false, ..) => named.sessions.extend(alert.sessions),
                    (true, Some(account), _) => {
                        named.accounts.insert(account);
                    }
                    (true, None, Some(source)) => named
                        .networks
                        .push(crate::gate::network::canonical(source).into()),
                    (true, None, None) => {
                        return Err(AdminError::Invalid(format!(
                            "alert {id} names no session, account or address to report on"
                        )));
                    }
                }
            }
            kinds.push(read_through(named)?);
        }
        // Networks are read through only when nothing else selects: with another criterion
        // they are matched on the records it reads, so that a network too wide to read address
        // by address (`--user ops --ip 2001:db8::/32`) can still narrow it.
        let mut matched = Vec::new();
        if !selection.networks.is_empty() {
            let networks = Criterion {
                networks: selection.networks.clone(),
                ..Default::default()
            };
            if kinds.is_empty() {
                kinds.push(read_through(networks)?);
            } else {
                matched.push(networks);
            }
        }
        // The ledger reads the records of the kind with the fewest filters; every record read
        // must match the other kinds too.
        let driving = kinds
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, filters))| filters.len())
            .map_or(0, |(i, _)| i);
        let filters = kinds.swap_remove(driving).1;
        collector = collector
            .matching(kinds.into_iter().map(|(c, _)| c).chain(matched).collect())
            .excluding(selection.except_networks.clone());
        collector.read(&store, &key, &filters)?;
        // Sessions opened before the range's start: their opening (when, how, with what
        // credential) from their first record, for their rows (through the session index).
        if since.is_some() {
            for s in collector.openings_missing() {
                if let Some(opening) = ledger_read::opening_of(&store, &key, &s)? {
                    collector.opening(&opening);
                }
            }
        }
        // Reads recorded before file ids: which files they were, from each tenant's path replay.
        let before_ids = collector.reads_before_ids();
        let mut replays = std::collections::BTreeMap::new();
        for (tenant, seqs) in &before_ids {
            // A tenant shredded since (its files gone with its key): its reads stay by path.
            let Ok(t) = self.catalog.tenant(tenant).await else {
                continue;
            };
            let (history, lineages) = self.replay_paths(&store, &key, &t, seqs)?;
            replays.insert(tenant.clone(), (history, lineages));
        }
        collector.tie_reads_before_ids(
            |tenant, seq| replays.get(tenant)?.1.get(&seq).copied(),
            |tenant, l| replays.get(tenant).map(|r| r.0.fate(l)).unwrap_or_default(),
        );
        let selection = selection.to_string();
        let mut report = collector.finish(selection);
        let end = report.evidence.last_seq.unwrap_or(0);
        report.evidence.checkpoint = store
            .checkpoints()?
            .into_iter()
            .filter(|c| c.seq >= end)
            .min_by_key(|c| c.seq)
            .map(|c| crate::incident::CheckpointRef {
                seq: c.seq,
                time: events::Time::from_secs(c.time),
                hash: hex::encode(c.hash),
                signature: hex::encode(&c.signature),
            });
        if verify {
            // The part of the chain holding the records read, on the store already open.
            let outcome = match (report.evidence.first_seq, report.evidence.last_seq) {
                (Some(first), Some(last)) => {
                    Some(store.verify_range(&ledger_public_key(&self.data_dir)?, first, last)?)
                }
                _ => None,
            };
            report.evidence.chain = Some(crate::incident::chain_outcome(outcome));
        } else {
            // Said, so that nobody takes an unverified range for a verified one.
            report.evidence.chain = Some(crate::incident::NOT_VERIFIED.to_owned());
        }
        for section in &mut report.tenants {
            let files = match self.catalog.tenant(&section.tenant).await {
                Ok(t) => Some(self.files_of(t.id)?),
                // A tenant shredded since: its files are gone with its key.
                Err(_) => None,
            };
            for f in &mut section.files_read {
                // Read before file ids, its id never recorded: the file now at the path its
                // replay left it at, if any.
                if f.file_id.is_none()
                    && let (Some(files), Some(now)) = (&files, &f.path_now)
                {
                    match files.resolve(&Self::jail(now)?).await {
                        Ok(node) => f.file_id = Some(node.id),
                        Err(_) => {
                            f.path_now = None;
                            f.deleted = true;
                        }
                    }
                }
                // Read before file ids and not followed (no replay): by its path only.
                let Some(file_id) = f.file_id else {
                    continue;
                };
                let node = self.catalog.node(file_id).await?;
                f.deleted = node.is_none();
                let Some(files) = &files else {
                    f.deleted = true;
                    continue;
                };
                if let Some(node) = &node {
                    f.path_now = files.path_of(node).await.ok();
                    f.replaced_since = f
                        .last_access
                        .is_some_and(|t| node.created_at * 1000 > t.as_millis());
                }
                // The classes of the contents the selection read, even if replaced or deleted.
                let read_ms = f.last_access.map_or(i64::MAX, |t| t.as_millis());
                let then = files
                    .classes_then(file_id, node.as_ref(), f.size, read_ms)
                    .await;
                if let Ok(Some(c)) = then {
                    f.classes = Some(class_counts(&c));
                    f.formats = c.formats.iter().map(|f| f.name()).collect();
                }
            }
            // Where the directories listed are now (a listing recorded before file ids: by the
            // path it had, if a directory is still there).
            for d in &mut section.directories_listed {
                let node = match (&files, d.dir_id) {
                    (None, _) => None,
                    (Some(_), Some(id)) => self.catalog.node(id).await?,
                    (Some(files), None) => files.resolve(&Self::jail(&d.path_then)?).await.ok(),
                };
                d.path_now = match (&files, &node) {
                    (Some(files), Some(node)) => files.path_of(node).await.ok(),
                    _ => None,
                };
                d.deleted = d.path_now.is_none();
            }
            // What the contents a change replaced held (an overwritten payment file): from the
            // file's class history, the contents of that size committed before the change.
            let Some(files) = &files else {
                continue;
            };
            for c in &mut section.changes {
                // What an upload put there: the contents of the size it made, committed with it
                // (in the second of its record, or before), now or in the file's class history.
                if c.op == "upload"
                    && let Some(id) = c.file_id
                {
                    let node = self.catalog.node(id).await?;
                    let made = files
                        .classes_then(id, node.as_ref(), c.size_after, c.time.as_millis() + 999)
                        .await;
                    if let Ok(Some(found)) = made {
                        c.classes = Some(class_counts(&found));
                    }
                }
                let Some(r) = &mut c.replaced else {
                    continue;
                };
                let then = files
                    .classes_then(r.file_id, None, Some(r.size), c.time.as_millis())
                    .await;
                if let Ok(Some(found)) = then {
                    r.classes = Some(class_counts(&found));
                }
            }
        }
        report.total();
        Ok(report)
    }

    /// Every session that read a file of `tenant` ([`FileAsked`]), with bytes and times,
    /// within `[since, until)` (seconds): the records that name its id (so through renames),
    /// and those from before file ids (schema 1) at the paths its history puts it, replayed
    /// from the tenant's records ([`crate::path_history`]): one pass over the tenant's records
    /// since its creation (the time range selects the reads, not the replay). A path where no
    /// file is now (deleted since, by a person, retention or an attacker) asks about the files
    /// the records show there before: a first pass finds their ids; so does
    /// [`FileAsked::EveryAt`], for the file there now and every one before it.
    pub async fn file_readers(
        &self,
        tenant: &str,
        asked: &FileAsked,
        since: Option<i64>,
        until: Option<i64>,
    ) -> AdminResult<Vec<FileReadersOf>> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let (store, key) = open_ledger(&self.data_dir, &self.master)?;
        let filter = records_of(&t);
        // The records found by an index alone (ids and tags are never shared between tenants,
        // but a tenant removed and added again under its name is another tenant) kept to this
        // tenant's.
        let this_tenant = |r: &Exported| {
            r.event.tenant.as_deref() == Some(t.name.as_str())
                && r.event.time.as_secs() >= t.created_at
        };
        // The files the tenant's records show at `path`, in the order they first appear there:
        // the records that name it (as their path, or as a rename's `to`), through the tag
        // indexes; else one pass over all of its records.
        let files_once_at = |path: &str| -> AdminResult<Vec<i64>> {
            let shown = Self::jail(path)?.display();
            let by_tags = ledger_read::naming_path(&key, &t.name, &shown);
            // Through the tags where every record of the tenant carries them (ledger
            // migration 0006).
            let filters = if ledger_read::none_before(&store, &filter, store.path_tag_from()?)? {
                &by_tags[..]
            } else {
                std::slice::from_ref(&filter)
            };
            let mut ids = Vec::new();
            ledger_read::for_each_of(&store, &key, filters, |r| {
                if this_tenant(&r)
                    && let Some(id) = crate::incident::file_at(&r, &shown)
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
                Ok::<(), AdminError>(())
            })?;
            Ok(ids)
        };
        let nowhere = |path: &str| AdminError::Files {
            what: format!("{tenant}:{path}, now or in the ledger"),
            source: FsError::NotFound,
        };
        let ids: Vec<i64> = match asked {
            FileAsked::Id(id) => vec![*id],
            FileAsked::Path(path) => match files.resolve(&Self::jail(path)?).await {
                Ok(node) => vec![node.id],
                Err(FsError::NotFound) => {
                    let ids = files_once_at(path)?;
                    if ids.is_empty() {
                        return Err(nowhere(path));
                    }
                    ids
                }
                Err(e) => {
                    return Err(AdminError::Files {
                        what: format!("{tenant}:{path}"),
                        source: e,
                    });
                }
            },
            FileAsked::EveryAt(path) => {
                let mut ids = files_once_at(path)?;
                match files.resolve(&Self::jail(path)?).await {
                    // The one there now, whatever the records show (a file placed there before
                    // file ids were recorded), last.
                    Ok(node) => {
                        ids.retain(|id| *id != node.id);
                        ids.push(node.id);
                    }
                    Err(FsError::NotFound) => {}
                    Err(e) => {
                        return Err(AdminError::Files {
                            what: format!("{tenant}:{path}"),
                            source: e,
                        });
                    }
                }
                if ids.is_empty() {
                    return Err(nowhere(path));
                }
                ids
            }
        };
        let mut history = PathHistory::default();
        let mut readers: Vec<crate::incident::FileReaders> = ids
            .iter()
            .map(|id| crate::incident::FileReaders::new(*id, since, until))
            .collect();
        // Which of the ids the tenant's records name (an id asked for must be the tenant's).
        let mut named = vec![false; ids.len()];
        // Records since ledger migration 0005 carry their file's id in an indexed field. A
        // tenant with no records before that has every read tied to its file by id: only each
        // file's own records are read. Otherwise its whole history is replayed (reads recorded
        // before file ids are tied through its paths, which only a replay follows).
        if ledger_read::none_before(&store, &filter, store.file_id_from()?)? {
            for (file, named) in readers.iter_mut().zip(&mut named) {
                // By id alone (ids are never given twice), then kept to this tenant's records.
                let of_file = LedgerFilter {
                    file_id: Some(file.file_id()),
                    ..Default::default()
                };
                ledger_read::for_each(&store, &key, &of_file, |r| {
                    if this_tenant(&r) {
                        file.add(&r, None);
                        *named |= crate::incident::names_file(&r, file.file_id());
                    }
                    Ok::<(), AdminError>(())
                })?;
            }
        } else {
            ledger_read::for_each(&store, &key, &filter, |r| {
                let lineage = history.add(&r);
                for (file, named) in readers.iter_mut().zip(&mut named) {
                    file.add(&r, lineage);
                    *named |= crate::incident::names_file(&r, file.file_id());
                }
                Ok::<(), AdminError>(())
            })?;
        }
        let mut out = Vec::new();
        for ((id, file), named) in ids.into_iter().zip(readers).zip(named) {
            let node = self.catalog.node(id).await?.filter(|n| n.tenant_id == t.id);
            if node.is_none() && !named {
                return Err(AdminError::Files {
                    what: format!("{tenant}: file {id}, now or in the ledger"),
                    source: FsError::NotFound,
                });
            }
            let path_now = match node {
                Some(node) => files.path_of(&node).await.ok(),
                None => None,
            };
            // Reads before file ids are tied through the path the file is at now.
            let lineage = history.file(id, path_now.as_deref().unwrap_or(""));
            out.push(FileReadersOf {
                file_id: id,
                path_now,
                readers: file.finish(lineage.as_ref()),
            });
        }
        Ok(out)
    }

    /// Replays the records of tenant `t` ([`records_of`]) through a [`PathHistory`]; with the
    /// lineage of each read of `seqs` (reads recorded before file ids).
    fn replay_paths(
        &self,
        store: &LedgerStore,
        key: &LedgerBodyKey,
        t: &Tenant,
        seqs: &std::collections::BTreeSet<u64>,
    ) -> AdminResult<(PathHistory, std::collections::HashMap<u64, usize>)> {
        let filter = records_of(t);
        let mut history = PathHistory::default();
        let mut lineages = std::collections::HashMap::new();
        ledger_read::for_each(store, key, &filter, |r| {
            if let Some(l) = history.add(&r)
                && seqs.contains(&r.seq)
            {
                lineages.insert(r.seq, l);
            }
            Ok::<(), AdminError>(())
        })?;
        Ok((history, lineages))
    }

    /// The entries of a directory as administrators see them: files with their classes, in
    /// order of their names (the catalog keeps them in the order of their names' MACs).
    pub async fn file_list(&self, tenant: &str, dir: &str) -> AdminResult<Vec<ListedEntry>> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let fail = |e| AdminError::Files {
            what: format!("{tenant}:{dir}"),
            source: e,
        };
        let listing = files.open_dir(&Self::jail_any(dir)?).await.map_err(fail)?;
        let mut out = Vec::new();
        loop {
            let page = files.read_dir(&listing, 500).await.map_err(fail)?;
            if page.is_empty() {
                break;
            }
            for (name, node) in page {
                let is_dir = node.kind == catalog::NodeKind::Dir;
                let classification = if is_dir {
                    None
                } else {
                    files.classes_of(&node).await.map_err(fail)?
                };
                out.push(ListedEntry {
                    name: String::from_utf8_lossy(&name).into_owned(),
                    id: node.id,
                    is_dir,
                    size: node.size,
                    canary: !is_dir && self.catalog.is_canary(node.id).await?,
                    classification,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Adds a classification pattern to `tenant` (checked first: a clear error and nothing
    /// stored for a bad name or expression). New sessions count it in their uploads;
    /// `classify run --again` applies it to stored files.
    pub async fn add_classify_pattern(
        &self,
        tenant: &str,
        name: &str,
        pattern: &str,
    ) -> AdminResult<()> {
        let t = self.catalog.tenant(tenant).await?;
        classify::patterns::compile(name, pattern)
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        if self.catalog.classify_patterns(t.id).await?.len() >= classify::patterns::MAX_PATTERNS {
            return Err(AdminError::Invalid(
                classify::PatternError::TooMany.to_string(),
            ));
        }
        self.catalog
            .add_classify_pattern(t.id, name, pattern, self.now())
            .await?;
        Ok(())
    }

    /// A tenant's classification patterns (name, expression).
    pub async fn classify_patterns(&self, tenant: &str) -> AdminResult<Vec<(String, String)>> {
        let t = self.catalog.tenant(tenant).await?;
        Ok(self.catalog.classify_patterns(t.id).await?)
    }

    /// Removes a tenant's classification pattern.
    pub async fn remove_classify_pattern(&self, tenant: &str, name: &str) -> AdminResult<()> {
        let t = self.catalog.tenant(tenant).await?;
        if !self.catalog.remove_classify_pattern(t.id, name).await? {
            return Err(AdminError::Invalid(format!(
                "tenant {tenant} has no pattern named {name}"
            )));
        }
        Ok(())
    }

    /// A stored file as administrators see it, with what classification found in it.
    pub async fn file_show(&self, tenant: &str, path: &str) -> AdminResult<FileReport> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let jail = Self::jail(path)?;
        let fail = |e| AdminError::Files {
            what: format!("{tenant}:{path}"),
            source: e,
        };
        let node = files.resolve(&jail).await.map_err(fail)?;
        if node.kind != catalog::NodeKind::File {
            return Err(fail(crate::files::FsError::IsADirectory));
        }
        let classification = files.classes_of(&node).await.map_err(fail)?;
        Ok(FileReport {
            tenant: t.name,
            path: path.to_owned(),
            id: node.id,
            size: node.size,
            mtime: node.mtime,
            created_at: node.created_at,
            canary: self.catalog.is_canary(node.id).await?,
            classification,
        })
    }

    /// Classifies the stored files of `tenant` (every tenant when `None`) that have no
    /// classification yet or one found under earlier rules ([`classify::RULES`]: a file may
    /// hold classes they did not know), every file when `again`, reading each back; `progress`
    /// is told of each file done (for a progress bar). Canaries are left alone (their contents
    /// are decoys).
    pub async fn classify_run(
        &self,
        tenant: Option<&str>,
        again: bool,
        mut progress: impl FnMut(&ClassifiedFile, usize, usize),
    ) -> AdminResult<Vec<ClassifiedFile>> {
        let tenants = match tenant {
            Some(t) => vec![self.catalog.tenant(t).await?],
            None => self.catalog.list_tenants().await?,
        };
        let mut todo = Vec::new();
        for t in tenants {
            let files = self.files_of(t.id)?;
            for n in self.catalog.tenant_nodes(t.id).await? {
                if n.kind != catalog::NodeKind::File || self.catalog.is_canary(n.id).await? {
                    continue;
                }
                // A stored classification that does not open is classified again too.
                let stale = again
                    || match files.classes_of(&n).await {
                        Ok(Some(c)) => c.rules < classify::RULES,
                        Ok(None) | Err(_) => true,
                    };
                if stale {
                    todo.push((t.name.clone(), t.id, n));
                }
            }
        }
        let total = todo.len();
        let mut done = Vec::with_capacity(total);
        for (i, (tenant, tenant_id, node)) in todo.into_iter().enumerate() {
            let files = self.files_of(tenant_id)?;
            let path = files.path_of(&node).await.map_err(|e| AdminError::Files {
                what: format!("file {}", node.id),
                source: e,
            })?;
            let jail = Self::jail(&path)?;
            let found = files
                .classify_stored(&jail)
                .await
                .map_err(|e| AdminError::Files {
                    what: format!("{tenant}:{path}"),
                    source: e,
                })?;
            let file = ClassifiedFile {
                tenant,
                path,
                id: node.id,
                size: node.size,
                classification: found,
            };
            progress(&file, i + 1, total);
            done.push(file);
        }
        Ok(done)
    }

    pub async fn path_of(&self, node_id: i64) -> AdminResult<Option<String>> {
        let Some(node) = self.catalog.node(node_id).await? else {
            return Ok(None);
        };
        let files = self.files_of(node.tenant_id)?;
        Ok(files.path_of(&node).await.ok())
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

    /// The ledger and the key that seals (and opens) its record bodies.
    pub fn ledger(&self) -> AdminResult<(LedgerStore, LedgerBodyKey)> {
        open_ledger(&self.data_dir, &self.master)
    }

    /// Adds an admin command's record to the ledger, durable before this returns. `by` is who
    /// ran it (the operating-system user).
    pub fn record(&self, command: &str, by: &str, outcome: &str) -> AdminResult<()> {
        record_admin(&self.data_dir, &self.master, command, by, outcome)
    }
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
    let keyring = crate::keys::load_keyring(master, true)?;
    let key = crate::keys::ledger_body_key(&store, &keyring)?;
    Ok((store, key))
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

/// Adds an admin command's record to the ledger of `data_dir`, folded into the indexed table
/// at once (no server may be running to fold it).
pub fn record_admin(
    data_dir: &Path,
    master: &MasterKeySource,
    command: &str,
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
    store.append(&[crate::audit::stored(&event, &body_key)])?;
    store.fold()?;
    Ok(())
}

/// Whether the ledger's chain and checkpoints verify (with the ledger key's public half).
pub fn verify_ledger(data_dir: &Path) -> AdminResult<Result<catalog::Verified, ledger::Break>> {
    let store = LedgerStore::open(&data_dir.join("ledger.db"))?;
    Ok(store.verify(&ledger_public_key(data_dir)?)?)
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
    let (store, body_key) = open_ledger(data_dir, master)?;
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

/// A stored file as `file show` prints it.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub tenant: String,
    pub path: String,
    pub id: i64,
    pub size: u64,
    pub mtime: i64,
    pub created_at: i64,
    pub canary: bool,
    /// `None`: not classified yet (`classify run`).
    pub classification: Option<classify::Classification>,
}

/// A file `classify run` classified.
#[derive(Debug, Clone)]
pub struct ClassifiedFile {
    pub tenant: String,
    pub path: String,
    pub id: i64,
    pub size: u64,
    pub classification: classify::Classification,
}

/// An entry of `file list`.
#[derive(Debug, Clone)]
pub struct ListedEntry {
    pub name: String,
    pub id: i64,
    pub is_dir: bool,
    pub size: u64,
    pub canary: bool,
    /// `None` for a directory or a file not classified yet.
    pub classification: Option<classify::Classification>,
}

/// A network selection refused as too wide is the caller's error (said with `hint`); a failure
/// to read the ledger is not.
fn refused_network(e: LedgerReadError, hint: &str) -> AdminError {
    match e {
        LedgerReadError::TooWide(why) => AdminError::Invalid(format!("{why}{hint}")),
        other => other.into(),
    }
}

/// A classification's counts as reports list them: each class present, then the tenant's own
/// patterns as `custom.NAME`.
fn class_counts(c: &classify::Classification) -> std::collections::BTreeMap<String, u64> {
    c.counts
        .present()
        .map(|(class, n)| (class.as_str().to_owned(), n))
        .chain(c.custom.iter().map(|(k, n)| (format!("custom.{k}"), *n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use classify::{Class, Classification};

    /// `classify run` classifies again a file whose stored classification was found under
    /// earlier rules (a server upgrade whose classifier finds more), and leaves alone one found
    /// under these rules; `--again` takes both.
    #[tokio::test]
    async fn classify_run_takes_files_classified_under_earlier_rules() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let master = MasterKeySource::File(dir.path().join("master.key"));
        let admin = Admin::open(&data, master).await.unwrap();
        let tenant = admin.add_tenant("acme").await.unwrap();
        let files = admin.files_of(tenant.id).unwrap();
        let text = b"Pay to routing number 021000021 account 0012345678.\n".to_vec();
        let tk = files.tenant_key().await.unwrap();
        for (path, rules) in [("/old.txt", 1), ("/new.txt", classify::RULES)] {
            let jail = Admin::jail(path).unwrap();
            files.put_new(&jail, text.clone(), 0).await.unwrap();
            // Its upload is classified after its commit, in the background: then it is
            // stored as an earlier classifier stored it (the routing number, no account).
            let mut waited = 0;
            let node = loop {
                let node = files.resolve(&jail).await.unwrap();
                if files.classes_of(&node).await.unwrap().is_some() {
                    break node;
                }
                waited += 1;
                assert!(waited < 1000, "{path} not classified within 10 s");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            };
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
            let set = admin.catalog.set_classes(node.id, root, node.size, sealed);
            assert!(set.await.unwrap());
        }
        let done = admin.classify_run(None, false, |_, _, _| {}).await.unwrap();
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
        assert!(
            admin
                .classify_run(None, false, |_, _, _| {})
                .await
                .unwrap()
                .is_empty()
        );
        let again = admin.classify_run(None, true, |_, _, _| {}).await.unwrap();
        assert_eq!(again.len(), 2);
    }
}
