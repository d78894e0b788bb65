//! The incident report's and `incident file`'s administration: the ledger's records of a
//! selection read through its indexes into the collector ([`crate::incident`]), joined with
//! what the catalog knows of each file now (its path, its classes). Never here: printing.

use catalog::{LedgerFilter, LedgerStore, Tenant};
use events::Exported;
use vault::{LedgerBodyKey, LedgerKey};

use super::{
    Admin, AdminError, AdminResult, class_counts, distinct_counts, ledger_public_key, records_of,
};
use crate::files::FsError;
use crate::incident::{FileAsked, FileReadersOf};
use crate::ledger_read::{self, LedgerReadError};
use crate::path_history::PathHistory;

impl Admin {
    /// The incident report of a selection: its sessions, every file it read (with its path
    /// then and now, bytes read, whole or partial, its data classes) and every change it made,
    /// per tenant, from the ledger's records within `[since, until)` (seconds).
    ///
    /// With `verify`, the part of the chain that holds the report's records is verified too,
    /// between the signed checkpoints around it (`audit verify` checks the whole chain), and
    /// the outcome goes into the evidence.
    ///
    /// With `to_checkpoint` (for an evidence file), only the records up to the latest signed
    /// checkpoint are read, so that every record the report rests on is under one and the
    /// file's account indexes end where the report does; those appended after it are counted
    /// ([`crate::incident::Report::after_checkpoint`]).
    pub async fn incident_report(
        &self,
        selection: &crate::incident::Selection,
        since: Option<i64>,
        until: Option<i64>,
        verify: bool,
        to_checkpoint: bool,
    ) -> AdminResult<crate::incident::Report> {
        use crate::incident::{Collector, Criterion};
        use std::collections::BTreeSet;
        let (store, key) = self.ledger()?;
        // The last record to read, and how many the ledger holds after it.
        let (through, after_checkpoint) = if to_checkpoint {
            let last = store.last_checkpoint()?;
            (Some(last), store.head()?.seq.saturating_sub(last))
        } else {
            (None, 0)
        };
        let range = LedgerFilter {
            since,
            until,
            before_seq: through.map(|s| s + 1),
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
            let named: Vec<String> = selection
                .credentials
                .iter()
                .flat_map(|k| crate::gate::certificate::credentials_named(k))
                .collect();
            Collector::opened_with(&named)
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
            // A certificate's key id as a person gives it, or as the records write it.
            let named: BTreeSet<String> = selection
                .credentials
                .iter()
                .flat_map(|k| crate::gate::certificate::credentials_named(k))
                .collect();
            for k in &named {
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
        // The sessions an alert names.
        let mut alert_sessions = Vec::new();
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
                    (false, ..) => {
                        alert_sessions.extend(alert.sessions.iter().cloned());
                        named.sessions.extend(alert.sessions);
                    }
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
        // A tenant's part of the report (to give to that client institution): matched on the
        // records the other criteria read. A refused login names its account's tenant when the
        // account exists; one that names none (an unknown name, or recorded before refusals
        // named it) is the tenant's when the account tried is one of its accounts now.
        let mut tenant_names = Vec::new();
        let mut tenant_accounts = BTreeSet::new();
        if !selection.tenants.is_empty() {
            let mut tenants = Criterion::default();
            for name in &selection.tenants {
                let t = self.catalog.tenant(name).await?;
                tenants.tenant_accounts.extend(
                    self.catalog
                        .list_accounts(Some(&t.name))
                        .await?
                        .into_iter()
                        .map(|a| a.name),
                );
                tenant_names.push(t.name.clone());
                tenants.tenants.insert(t.name);
            }
            tenant_accounts.clone_from(&tenants.tenant_accounts);
            matched.push(tenants);
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
        // The servers' starts: sessions with no end recorded that one follows were cut off.
        collector.server_starts(crate::server_runs::starts(&store, &key)?);
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
        let selection_named = selection.to_string();
        let mut report = collector.finish(selection_named);
        report.made = self.clock.now();
        report.scope = evidence_scope(
            selection,
            &alert_sessions,
            &report.accounts,
            (&tenant_names, &tenant_accounts),
            (since, until, through),
        );
        report.after_checkpoint = after_checkpoint;
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
                    f.distinct = distinct_counts(&c);
                    f.formats = c.formats.iter().map(|f| f.name()).collect();
                    f.sketches = Some(c.distinct);
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
        let (store, key) = self.ledger()?;
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

    /// Signs a checkpoint over the ledger's records since the last one, as the server does
    /// (every 30 seconds, at its stop): for an evidence file while the server is not running
    /// (records appended after its last checkpoint: this tool's own, or a crash's). Returns
    /// the checkpoint's sequence number (`None`: nothing since the last one).
    pub fn sign_checkpoint(&self) -> AdminResult<Option<u64>> {
        let (store, _) = self.ledger()?;
        let key = LedgerKey::load_or_create(&self.data_dir.join("ledger.key"), false)?;
        let signer = crate::audit::Signer(std::sync::Arc::new(key));
        Ok(store.sign_checkpoint(self.now(), &signer)?.map(|c| c.seq))
    }

    /// Writes the evidence file of `report` ([`write_evidence`]) to `out` from this data
    /// directory's ledger.
    pub fn incident_evidence(
        &self,
        report: &crate::incident::Report,
        out: &mut dyn std::io::Write,
    ) -> AdminResult<EvidenceWritten> {
        let (store, key) = self.ledger()?;
        write_evidence(
            &store,
            &key,
            &ledger_public_key(&self.data_dir)?,
            report,
            out,
        )
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
}

/// The most accounts a selection without accounts may name for its evidence file to show their
/// records complete: the file holds an index line per account per checkpoint (one every 30
/// seconds), so a spray of logins at ten thousand names would make it gigabytes a day.
pub const MAX_FOUND_ACCOUNTS: usize = 64;

/// Whose records a report's evidence file can show complete: the selection's accounts (in its
/// tenants, from its networks, in its sessions, opened with its credentials), or, for a
/// selection without accounts (addresses, sessions, credentials, alerts), the accounts its
/// records name, at most [`MAX_FOUND_ACCOUNTS`] of them (`None`: more, or none).
fn evidence_scope(
    selection: &crate::incident::Selection,
    alert_sessions: &[String],
    found: &[String],
    (tenants, tenant_accounts): (&[String], &std::collections::BTreeSet<String>),
    (since, until, through): (Option<i64>, Option<i64>, Option<u64>),
) -> Option<crate::incident::evidence_file::Scope> {
    let written = |nets: &[crate::gate::network::IpNet]| -> Vec<String> {
        nets.iter()
            .map(|n| crate::gate::network::written(*n))
            .collect()
    };
    let found_accounts = selection.accounts.is_empty();
    let accounts = if found_accounts {
        found.to_vec()
    } else {
        selection.accounts.clone()
    };
    if accounts.is_empty() || (found_accounts && accounts.len() > MAX_FOUND_ACCOUNTS) {
        return None;
    }
    let mut sessions: Vec<String> = selection
        .sessions
        .iter()
        .chain(alert_sessions)
        .cloned()
        .collect();
    sessions.sort();
    sessions.dedup();
    let credentials: std::collections::BTreeSet<String> = selection
        .credentials
        .iter()
        .flat_map(|k| crate::gate::certificate::credentials_named(k))
        .collect();
    Some(crate::incident::evidence_file::Scope {
        no_tenant: accounts
            .iter()
            .filter(|a| tenant_accounts.contains(*a))
            .cloned()
            .collect(),
        accounts,
        tenants: tenants.to_vec(),
        networks: written(&selection.networks),
        except_networks: written(&selection.except_networks),
        sessions,
        credentials: credentials.into_iter().collect(),
        found_accounts,
        since,
        until,
        through,
    })
}

/// A network selection refused as too wide is the caller's error (said with `hint`); a failure
/// to read the ledger is not.
pub(super) fn refused_network(e: LedgerReadError, hint: &str) -> AdminError {
    match e {
        LedgerReadError::TooWide(why) => AdminError::Invalid(format!("{why}{hint}")),
        other => other.into(),
    }
}

/// Writes the evidence file of `report` ([`crate::incident::evidence_file`]) to `out`: the
/// report and the ledger's public key; then for each signed checkpoint whose interval holds one
/// of its records, the checkpoint and those records, each with its inclusion proof and record
/// key (under a checkpoint signed before checkpoints signed their intervals: every record of
/// the interval, the report's own keyed). With a scope (`Report::scope`), also every record of
/// its accounts under each checkpoint whose account index covers the report's window (sealed
/// where not the report's; for credentials, with the openings of their sessions), and the
/// proof of each account's records there: the file then shows that it holds all of them.
/// Refused while a record of the report is not yet under a signed checkpoint.
pub fn write_evidence(
    store: &LedgerStore,
    key: &LedgerBodyKey,
    public_key: &[u8],
    report: &crate::incident::Report,
    out: &mut dyn std::io::Write,
) -> AdminResult<EvidenceWritten> {
    use crate::incident::evidence_file::{
        Complete, FORM, Header, IndexLine, Line, ProvenLine, RecordLine, checkpoints_holding,
        covered,
    };
    let checkpoints = store.checkpoints()?;
    let holding = |seqs: &[u64]| {
        checkpoints_holding(&checkpoints, seqs).map_err(|seq| {
            AdminError::Invalid(format!(
                "record {seq} of the report is under no signed checkpoint yet: the server signs \
                 one every 30 seconds, at its stop, and at once for a report made with --evidence"
            ))
        })
    };
    // The checkpoints whose intervals hold the report's records.
    let mut ends = holding(&report.rests_on)?;
    // Those whose account index covers the scope's window (`None`: no scope, or no checkpoint
    // with an index at its end).
    let scope = report.scope.as_ref();
    let last_end = ends.last().copied();
    let complete = scope.and_then(|s| covered(&checkpoints, s, last_end));
    // A selection of credentials: the openings of the scope's sessions within the window too
    // (those opened before it as well), which show the check whose credential each was; the
    // records after an opening with another credential are sealed.
    let mut opened = report.rests_on.clone();
    let mut openings = std::collections::BTreeMap::new();
    if let Some(s) = scope.filter(|s| complete.is_some() && !s.credentials.is_empty()) {
        openings = openings_in_window(store, key, s)?;
        opened.extend(openings.values().map(|(seq, _)| *seq));
        opened.sort_unstable();
        opened.dedup();
        ends = holding(&opened)?;
    }
    // Whether a record of `session` at `seq` is after its opening with another credential.
    let other_credentials = |session: Option<&str>, seq: u64| {
        session
            .and_then(|s| openings.get(s))
            .is_some_and(|&(at, theirs)| at < seq && !theirs)
    };
    let keys = scope.map(|s| s.keys()).unwrap_or_default();
    let narrowing = scope
        .map(|s| s.narrowing())
        .transpose()
        .map_err(AdminError::Invalid)?
        .unwrap_or_default();
    if let Some(range) = &complete {
        ends.extend(range.clone());
    }
    let written = |source| AdminError::Write {
        what: "the evidence file",
        source,
    };
    let mut line = |json: String| -> AdminResult<()> {
        out.write_all(json.as_bytes()).map_err(written)?;
        out.write_all(b"\n").map_err(written)
    };
    line(json_line(&Header {
        evidence: FORM,
        public_key: hex::encode(public_key),
        report,
        complete: match (&complete, scope) {
            (Some(range), Some(scope)) => Some(Complete {
                scope: scope.clone(),
                after: range
                    .start()
                    .checked_sub(1)
                    .map(|i| (&checkpoints[i]).into()),
            }),
            _ => None,
        },
    }))?;
    let mut records = 0u64;
    let mut keyed = 0u64;
    let mut withheld = 0u64;
    let mut unkeyed = 0u64;
    let key_of = |r: &ledger::Record| {
        catalog::sealed_event_of(&r.body)
            .and_then(|s| key.record_key(s))
            .map(|k| k.to_hex())
    };
    let missing = |what: String| AdminError::Invalid(format!("{what}: run audit verify"));
    for &at in &ends {
        let to = &checkpoints[at];
        let from = at.checked_sub(1).map(|i| &checkpoints[i]);
        let after = from.map_or(0, |c| c.seq);
        let ours: Vec<u64> = opened
            .iter()
            .copied()
            .filter(|&s| s > after && s <= to.seq)
            .collect();
        if to.interval.is_some_and(|i| i.after == after) {
            // The checkpoint signs its interval's root: the report's records alone, each with
            // its inclusion proof; under the scope's index, every record of its accounts too.
            line(json_line(&Line::Checkpoint(to.into())))?;
            let index = match &complete {
                Some(range) if range.contains(&at) => {
                    Some(store.account_index(after, to.seq, keys.iter().map(|k| k.key))?)
                }
                _ => None,
            };
            let mut shown = ours.clone();
            if let Some(index) = &index {
                for k in &keys {
                    shown.extend_from_slice(index.kept(&k.key).unwrap_or_default());
                }
                shown.sort_unstable();
                shown.dedup();
            }
            let leaves = store.record_hashes(after, to.seq)?;
            let places: Vec<usize> = shown.iter().map(|s| (s - after - 1) as usize).collect();
            if places.last().is_some_and(|&i| i >= leaves.len()) {
                return Err(missing(format!(
                    "records {}-{} are not all there",
                    after + 1,
                    to.seq
                )));
            }
            for (seq, proof) in shown.iter().zip(ledger::merkle::proofs(&leaves, &places)) {
                let mut record = None;
                store.chain_part(seq - 1, *seq, |r| record = Some(r))?;
                let Some(r) = record else {
                    return Err(missing(format!("record {seq} is not there")));
                };
                // A scope's record that the report does not rest on, outside its window,
                // networks or sessions (or, for credentials, after its session's opening with
                // another): shown sealed, for the index only.
                let owner = catalog::owner_of(&r.body).unwrap_or_default();
                let held = ours.binary_search(seq).is_err()
                    && scope.is_some_and(|s| {
                        !s.in_window(r.time)
                            || !narrowing.admits(&owner)
                            || other_credentials(owner.session, r.seq)
                    });
                let record_key = if held { None } else { key_of(&r) };
                records += 1;
                withheld += u64::from(held);
                keyed += u64::from(record_key.is_some());
                let r = RecordLine::of(&r, true, record_key);
                line(json_line(&Line::Proven(ProvenLine {
                    seq: r.seq,
                    time: r.time,
                    prev: r.prev,
                    body: r.body,
                    hash: r.hash,
                    key: r.key,
                    proof: proof.iter().map(hex::encode).collect(),
                    withheld: held,
                })))?;
            }
            if let Some(index) = &index {
                for k in &keys {
                    let proof = index.prove(&k.key);
                    line(json_line(&Line::Index(IndexLine::of(to.seq, k, &proof))))?;
                }
            }
            continue;
        }
        // Signed before checkpoints signed their intervals: every record of the interval.
        line(json_line(&Line::Interval {
            from: from.map(Into::into),
            to: to.into(),
        }))?;
        let mut failed = None;
        store.chain_part(after, to.seq, |r| {
            if failed.is_some() {
                return;
            }
            let rests = ours.binary_search(&r.seq).is_ok();
            let record_key = rests.then(|| key_of(&r)).flatten();
            unkeyed += u64::from(rests && record_key.is_none());
            records += 1;
            keyed += u64::from(record_key.is_some());
            if let Err(e) = line(json_line(&Line::Record(RecordLine::of(
                &r, rests, record_key,
            )))) {
                failed = Some(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    out.flush().map_err(written)?;
    Ok(EvidenceWritten {
        records,
        intervals: ends.len() as u64,
        keyed,
        unkeyed,
        withheld,
        complete: complete.map(|range| {
            let first = range.start().checked_sub(1).map(|i| &checkpoints[i]);
            (first.map(|c| c.time), checkpoints[*range.end()].time)
        }),
    })
}

/// The openings of the sessions of `scope`'s accounts' records within its window (from before
/// the window for a session open across its start): per session, its opening's sequence number
/// and whether one of the scope's credentials opened it. A credential's evidence file opens
/// them, so that the check can tell which of the sessions the credentials opened, and seals
/// the records of the others after their openings.
fn openings_in_window(
    store: &LedgerStore,
    key: &LedgerBodyKey,
    scope: &crate::incident::evidence_file::Scope,
) -> AdminResult<std::collections::BTreeMap<String, (u64, bool)>> {
    let theirs = |e: &events::Event| {
        scope
            .credentials
            .iter()
            .any(|c| crate::incident::opened_with(e, c))
    };
    let mut openings = std::collections::BTreeMap::new();
    let mut after_login = std::collections::BTreeSet::new();
    for account in &scope.accounts {
        let filter = LedgerFilter {
            account: Some(account.clone()),
            since: scope.since,
            until: scope.until,
            before_seq: scope.through.map(|s| s + 1),
            ..Default::default()
        };
        ledger_read::for_each(store, key, &filter, |r| {
            let Some(s) = &r.event.session else {
                return Ok::<(), AdminError>(());
            };
            match r.event.kind {
                events::EventKind::Session { opened: true, .. } => {
                    openings.insert(s.clone(), (r.seq, theirs(&r.event)));
                }
                events::EventKind::File { .. } | events::EventKind::Session { .. } => {
                    after_login.insert(s.clone());
                }
                _ => {}
            }
            Ok(())
        })?;
    }
    for s in after_login {
        if openings.contains_key(&s) {
            continue;
        }
        if let Some(opening) = ledger_read::opening_of(store, key, &s)? {
            openings.insert(s, (opening.seq, theirs(&opening.event)));
        }
    }
    Ok(openings)
}

/// What an evidence file holds.
#[derive(Debug, Clone, Copy)]
pub struct EvidenceWritten {
    /// Records, and the intervals between signed checkpoints they came in.
    pub records: u64,
    pub intervals: u64,
    /// The report's records with their keys, and those without (sealed before records had keys
    /// of their own: a check of the file will not hold).
    pub keyed: u64,
    pub unkeyed: u64,
    /// Records of the scope's accounts outside the report's window, shown sealed.
    pub withheld: u64,
    /// With a scope: the times of the checkpoints between which the file shows every record of
    /// its accounts (none at the start: the chain's start).
    pub complete: Option<(Option<i64>, i64)>,
}

/// One line of the evidence file (its forms always serialise).
fn json_line<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Selection;

    fn scope_of(selection: &Selection, found: &[&str]) -> Option<Scope> {
        let found: Vec<String> = found.iter().map(|a| a.to_string()).collect();
        evidence_scope(
            selection,
            &[],
            &found,
            (&[], &Default::default()),
            (Some(10), None, Some(99)),
        )
    }

    type Scope = crate::incident::evidence_file::Scope;

    #[test]
    fn a_selection_without_accounts_is_shown_complete_for_the_accounts_it_found() {
        let by_key = Selection {
            credentials: vec!["SHA256:k".into()],
            ..Default::default()
        };
        let s = scope_of(&by_key, &["eve", "ops"]).unwrap();
        assert_eq!(s.accounts, ["eve", "ops"]);
        assert!(s.found_accounts);
        assert_eq!(s.credentials, ["SHA256:k"]);
        assert_eq!((s.since, s.through), (Some(10), Some(99)));
        // Nothing found, or more accounts than a file can carry an index of each: no claim.
        assert_eq!(scope_of(&by_key, &[]), None);
        let many: Vec<String> = (0..=MAX_FOUND_ACCOUNTS).map(|i| format!("a{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(scope_of(&by_key, &many), None);
        // The selection's own accounts, however many, and not those found.
        let by_user = Selection {
            accounts: vec!["ops".into()],
            sessions: vec!["s1".into()],
            ..Default::default()
        };
        let s = scope_of(&by_user, &many).unwrap();
        assert_eq!(s.accounts, ["ops"]);
        assert!(!s.found_accounts);
        assert_eq!(s.sessions, ["s1"]);
        // An alert's sessions narrow it as --session does.
        let s = evidence_scope(
            &Selection {
                alerts: vec!["A1".into()],
                ..Default::default()
            },
            &["s2".into(), "s1".into(), "s2".into()],
            &["ops".into()],
            (&[], &Default::default()),
            (None, None, None),
        )
        .unwrap();
        assert_eq!(s.sessions, ["s1", "s2"]);
    }
}
