//! Detection in the running server: the pure detector (crate `detect`) fed with every record
//! the ledger commits (with its sequence number) and with the live byte counts of sessions as
//! they read, so that a large file is seen while it is read; and containment of what it
//! raises: the account's sessions closed at once, on the thread that made the observation
//! (before the request that crossed the threshold is answered, so that a client waiting for
//! each reply gets no further), then within a second the account locked, the address banned
//! (per severity, configurable), every alert and action stored and recorded in the ledger.
//!
//! The ledger observes a request some milliseconds after it is answered (its record goes
//! through the catalog's outbox or is group-committed): a request that touches a canary, and
//! a change or an open for reading that may cross a limit, wait for the detector to have seen
//! them before their reply ([`Detection::observe_before_reply`]), so that the client learns
//! nothing of a canary it touched and the request that crosses a limit is the last one done.
//!
//! At start the detector's state is rebuilt from the ledger's recent history
//! ([`Detection::rebuild`]) so that a restart forgets nothing.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use catalog::{Catalog, LedgerFilter, LedgerStore, StoredAlert};
use detect::rules::{Action, CONTAINMENT_THROTTLE};
use detect::{Alert, Detector, Mode};
use events::{Event, EventKind, Severity, Time};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use vault::LedgerBodyKey;

use crate::audit::{Ledger, RecordObserver};
use crate::clock::{Clock, Entropy};
use crate::gate::Gate;
use crate::sessions::{Registry, Selection};
use crate::throttle::Throttles;

/// Bytes a session reads between two looks of the detector at its counters.
pub const BYTES_BETWEEN_LOOKS: u64 = 1 << 20;
/// Days of ledger history the detector's state is rebuilt from at start (by default).
pub const REBUILD_DAYS: i64 = 30;

/// An alert as stored, shown (`alert show --format json`) and delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: String,
    pub time: Time,
    pub severity: Severity,
    pub rule: String,
    pub techniques: Vec<String>,
    pub account: Option<String>,
    pub tenant: Option<String>,
    pub source: Option<IpAddr>,
    pub sessions: Vec<String>,
    pub summary: String,
    pub evidence: Vec<u64>,
    pub actions: Vec<String>,
}

/// An alert as the detector raised it, with the id it was given and the sessions closed at
/// once; containment does the rest.
pub struct Raised {
    pub id: String,
    pub alert: Alert,
    pub closed: Vec<String>,
}

/// What is done the moment an alert is raised: its id given, and the account's sessions
/// closed when its severity's containment closes them.
pub struct FirstResponse {
    pub registry: Registry,
    pub policy: detect::rules::Containment,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
}

/// The detector, shared by the ledger writer (records) and the SFTP sessions (byte counts).
pub struct Detection {
    detector: Mutex<Detector>,
    first: FirstResponse,
    raised: mpsc::UnboundedSender<Raised>,
    /// Held by a refresh from its catalog reads to its update ([`refresh`]): the one that
    /// updates last read last (a canary added while a periodic refresh was reading would
    /// otherwise be dropped again by that refresh's older reads).
    refreshing: tokio::sync::Mutex<()>,
}

impl RecordObserver for Detection {
    fn observe(&self, seq: u64, e: &Event) {
        let alerts = match self.detector.lock() {
            Ok(mut d) => d.observe(Some(seq), e, Mode::Live),
            Err(_) => return,
        };
        tracing::trace!(
            seq,
            kind = e.kind_name(),
            alerts = alerts.len(),
            "detector observed"
        );
        self.raise(alerts);
    }
}

impl Detection {
    /// A detector with `config`, answering alerts with `first`; containment takes what it
    /// raises from the receiver.
    pub fn new(
        config: detect::Config,
        first: FirstResponse,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<Raised>) {
        let (raised, rx) = mpsc::unbounded_channel();
        (
            Arc::new(Self {
                detector: Mutex::new(Detector::new(config)),
                first,
                raised,
                refreshing: tokio::sync::Mutex::new(()),
            }),
            rx,
        )
    }

    fn raise(&self, alerts: Vec<Alert>) {
        for alert in alerts {
            let first = &self.first;
            let id = crate::sessions::new_session_id(
                first.clock.now().as_millis() as u64,
                first.entropy.array(),
            );
            let closes = first
                .policy
                .for_severity(alert.severity)
                .contains(&Action::CloseSessions);
            let closed = match &alert.account {
                Some(account) if closes => first
                    .registry
                    .kill(&account_sessions(account), &contained_by(&id, &alert)),
                _ => Vec::new(),
            };
            let _ = self.raised.send(Raised { id, alert, closed });
        }
    }

    /// Whether the request `e` records should wait, before its reply, until the detector has
    /// seen `e` ([`Ledger::observed`]): it touches a canary, or it may cross a limit (see
    /// [`Detector::observe_before_reply`]).
    pub fn observe_before_reply(&self, e: &Event) -> bool {
        // Most requests (stats, listings, reads on open handles) never wait: no lock for them.
        if !matches!(&e.kind, EventKind::File { op, .. } if detect::may_wait(op)) {
            return false;
        }
        self.detector
            .lock()
            .is_ok_and(|mut d| d.observe_before_reply(e))
    }

    /// For a directory's rename about to be done (`e`, its record naming the files it would
    /// move): how many files of others it would move, when that would take its account past
    /// the `mass_change` limit (see [`Detector::would_hide`]): the rename is then refused.
    pub fn would_hide(&self, e: &Event) -> Option<u64> {
        self.detector.lock().ok()?.would_hide(e)
    }

    /// A live session's read counter (a monotonic total), reported as it grows.
    pub fn session_bytes(&self, session: &str, total_read: u64, now: Time) {
        let alerts = match self.detector.lock() {
            Ok(mut d) => d.session_bytes(session, total_read, now),
            Err(_) => return,
        };
        self.raise(alerts);
    }

    /// Runs `f` on the detector (refreshing tenant sizes, canaries, configuration).
    pub fn with<R>(&self, f: impl FnOnce(&mut Detector) -> R) -> Option<R> {
        self.detector.lock().ok().map(|mut d| f(&mut d))
    }

    /// Replays the ledger's records since `since` into the detector (alerts they would raise
    /// are history, not raised again). Returns the records read.
    pub fn rebuild(
        &self,
        store: &LedgerStore,
        body_key: &LedgerBodyKey,
        since: Time,
    ) -> Result<u64, crate::ledger_read::LedgerReadError> {
        let filter = LedgerFilter {
            since: Some(since.as_secs()),
            ..Default::default()
        };
        let mut n = 0;
        let Ok(mut d) = self.detector.lock() else {
            return Ok(0);
        };
        crate::ledger_read::for_each(store, body_key, &filter, |r| {
            n += 1;
            d.observe(Some(r.seq), &r.event, Mode::Replay);
            Ok::<_, crate::ledger_read::LedgerReadError>(())
        })?;
        // Every connection of the previous run is gone.
        d.end_sessions();
        Ok(n)
    }
}

/// What containment needs of the server.
pub struct Containment {
    pub catalog: Catalog,
    pub registry: Registry,
    pub gate: Arc<Gate>,
    pub throttles: Arc<Throttles>,
    pub ledger: Arc<Ledger>,
    pub detection: Arc<Detection>,
    pub policy: detect::rules::Containment,
    pub clock: Arc<dyn Clock>,
    /// Webhook and e-mail (never waited for).
    pub deliveries: Arc<crate::alert_delivery::Deliveries>,
}

impl Containment {
    /// Acts on every alert raised until the detector is dropped.
    pub async fn run(self, mut raised: mpsc::UnboundedReceiver<Raised>) {
        while let Some(r) = raised.recv().await {
            self.act(r).await;
        }
    }

    async fn act(&self, raised: Raised) {
        let Raised { id, alert, closed } = raised;
        let mut taken = Vec::new();
        // Sessions are closed last, after the lock and the ban are committed: one that logged
        // in meanwhile is closed then, and a later login sees the lock (the first response
        // closed the sessions there were at once).
        let actions = self.policy.for_severity(alert.severity);
        let closing_last = actions
            .iter()
            .filter(|a| **a != Action::CloseSessions)
            .chain(actions.iter().filter(|a| **a == Action::CloseSessions));
        let mut done = Vec::new();
        for action in closing_last {
            if self.apply(*action, &alert, &id, &closed).await {
                done.push(*action);
            }
        }
        // Said in the policy's order.
        for action in actions.iter().filter(|a| done.contains(a)) {
            taken.push(action.as_str().to_owned());
        }
        if !taken.is_empty()
            && let Some(account) = &alert.account
        {
            let at = alert.time.as_millis();
            self.detection.with(|d| d.contained(account, at));
        }
        let record = record_of(&alert, id.clone(), taken);
        tracing::warn!(
            alert = %id,
            severity = record.severity.as_str(),
            rule = %record.rule,
            account = record.account.as_deref().unwrap_or("-"),
            actions = %record.actions.join(","),
            "{}",
            record.summary
        );
        store_and_record(&self.catalog, &self.ledger, &record).await;
        self.deliveries.deliver(&record).await;
    }

    /// Applies one action; whether it did something. `closed`: the sessions the first
    /// response closed.
    /// Locks or throttles `account` for `alert`, only if it is the account that existed at the
    /// alert's time (one removed and made again under the name since is left alone): whether
    /// it was stored, `None` if it could not be (logged).
    async fn contain(
        &self,
        account: &str,
        alert: &Alert,
        containment: catalog::Containment<'_>,
    ) -> Option<bool> {
        let at = alert.time.as_secs();
        match self.catalog.contain_account(account, at, containment).await {
            Ok(true) => Some(true),
            Ok(false) => {
                tracing::warn!(
                    %account,
                    "containment: the account was removed, or made again under its name, since \
                     the alert; left alone"
                );
                Some(false)
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "containment: could not store its action");
                None
            }
        }
    }

    async fn apply(&self, action: Action, alert: &Alert, id: &str, closed: &[String]) -> bool {
        let account = alert.account.as_deref();
        match (action, account) {
            (Action::CloseSessions, Some(account)) => {
                // Again: a session that logged in since.
                let killed = self
                    .registry
                    .kill(&account_sessions(account), &contained_by(id, alert));
                !closed.is_empty() || !killed.is_empty() || !alert.sessions.is_empty()
            }
            (Action::LockAccount, Some(account)) => {
                let why = format!("alert {id}: {}", alert.rule.id);
                let lock = catalog::Containment::Lock { reason: &why };
                self.contain(account, alert, lock).await == Some(true)
            }
            (Action::Throttle, Some(account)) => {
                let rate = CONTAINMENT_THROTTLE as i64;
                let throttle = catalog::Containment::Throttle {
                    bytes_per_sec: rate,
                };
                let stored = self.contain(account, alert, throttle).await;
                // Live sessions too, even if it could not be stored (not if the account is
                // another one now).
                if stored != Some(false) {
                    self.throttles.set(account, Some(CONTAINMENT_THROTTLE));
                }
                stored == Some(true)
            }
            (Action::BanAddress, _) => {
                let Some(ip) = alert.source else {
                    return false;
                };
                let ip = crate::gate::network::canonical(ip);
                let now = self.clock.unix_secs();
                let ban = catalog::Ban {
                    address: ip.to_string(),
                    level: 1,
                    until: now + 86_400,
                    reason: format!("alert {id}: {}", alert.rule.id),
                    created_at: now,
                };
                if let Err(e) = self.catalog.upsert_ban(&ban).await {
                    tracing::error!(address = %ip, error = %e, "containment: could not ban");
                    return false;
                }
                // The gate first (new connections refused; a login on its way in is asked
                // about bans again once counted), then the address's sessions closed.
                self.gate.refresh().await;
                self.registry.kill(
                    &Selection {
                        address: Some(ipnet::IpNet::from(ip)),
                        ..Default::default()
                    },
                    &contained_by(id, alert),
                );
                true
            }
            _ => false,
        }
    }
}

/// The stored and shown form of an alert the detector raised.
pub fn record_of(alert: &Alert, id: String, actions: Vec<String>) -> AlertRecord {
    AlertRecord {
        id,
        time: alert.time,
        severity: alert.severity,
        rule: alert.rule.id.to_owned(),
        techniques: alert
            .rule
            .techniques
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
        account: alert.account.clone(),
        tenant: alert.tenant.clone(),
        source: alert.source,
        sessions: alert.sessions.clone(),
        summary: alert.summary.clone(),
        evidence: alert.evidence.clone(),
        actions,
    }
}

/// Stores an alert and records it in the ledger (durable).
pub async fn store_and_record(catalog: &Catalog, ledger: &Ledger, r: &AlertRecord) {
    let stored = StoredAlert {
        id: r.id.clone(),
        time_ms: r.time.as_millis(),
        severity: r.severity.as_str().to_owned(),
        rule: r.rule.clone(),
        account: r.account.clone(),
        tenant: r.tenant.clone(),
        source: r.source.map(|s| s.to_string()),
        body: serde_json::to_string(r).unwrap_or_default(),
        acked_at: None,
        acked_by: None,
        ack_note: None,
    };
    if let Err(e) = catalog.add_alert(&stored).await {
        tracing::error!(alert = %r.id, error = %e, "could not store an alert");
    }
    let mut e = Event::new(
        r.time,
        EventKind::Alert {
            id: r.id.clone(),
            severity: r.severity,
            rule: r.rule.clone(),
            techniques: r.techniques.clone(),
            summary: r.summary.clone(),
            sessions: r.sessions.clone(),
            evidence: r.evidence.clone(),
            actions: r.actions.clone(),
        },
    );
    e.account = r.account.clone();
    e.tenant = r.tenant.clone();
    e.source = r.source.map(|ip| std::net::SocketAddr::new(ip, 0));
    if ledger.record(e).await.is_err() {
        tracing::error!(alert = %r.id, "the ledger could not record an alert");
    }
}

/// Refreshes what the detector knows of the catalog: each tenant's size and canaries, and the
/// threshold overrides.
pub async fn refresh(catalog: &Catalog, detection: &Detection, base: &detect::Config) {
    let _one_at_a_time = detection.refreshing.lock().await;
    let Ok(tenants) = catalog.list_tenants().await else {
        return;
    };
    let canaries = catalog.canaries(None).await.unwrap_or_default();
    // Read, or nothing is forgotten (an empty list would forget every account's state).
    let listed_at = detection.first.clock.now();
    let accounts = catalog.accounts_created().ok();
    let overrides = catalog.detection_overrides().await.unwrap_or_default();
    let mut sizes = Vec::with_capacity(tenants.len());
    for t in &tenants {
        if let Ok((bytes, files)) = catalog.usage(t.id).await {
            sizes.push((t.name.clone(), bytes, files));
        }
    }
    let config = config_with_overrides(base, &overrides);
    // A canary whose file is gone (removed, or replaced by a rename over it) leaves the
    // catalog with its file, but the record of the change that removed it may reach the
    // detector after this refresh: it stays known (ids are never given twice, so nothing else
    // can be touched under its id). One an administrator removed, its file still there, goes.
    let known: Vec<(String, i64)> = detection
        .with(|d| d.canaries().map(|(t, id)| (t.to_owned(), id)).collect())
        .unwrap_or_default();
    let mut gone = Vec::new();
    for (tenant, id) in known {
        if !canaries.iter().any(|c| c.node_id == id) && matches!(catalog.node(id).await, Ok(None)) {
            gone.push((tenant, id));
        }
    }
    tracing::trace!(
        tenants = sizes.len(),
        canaries = canaries.len(),
        accounts = accounts.as_ref().map_or(0, Vec::len),
        "detector refreshed"
    );
    detection.with(|d| {
        for (name, bytes, files) in &sizes {
            d.set_tenant_size(name, *bytes, *files);
            d.set_canaries(
                name,
                canaries
                    .iter()
                    .filter(|c| &c.tenant == name)
                    .map(|c| c.node_id)
                    .chain(gone.iter().filter(|(t, _)| t == name).map(|(_, id)| *id)),
            );
        }
        if let Some(accounts) = &accounts {
            let existing = accounts.iter().map(|a| a.name.as_str()).collect();
            d.forget_removed_accounts(&existing, listed_at);
            for a in accounts {
                d.set_account_created(&a.name, &a.tenant, Time::from_secs(a.created_at));
                // An unlock this server was not told of releases the account too.
                if let Some(at) = a.released_at {
                    d.unlocked_at(&a.name, at);
                }
            }
        }
        d.set_config(config);
    });
}

/// `base` with the stored overrides applied (an override that does not read is skipped).
pub fn config_with_overrides(
    base: &detect::Config,
    overrides: &[(String, String, String)],
) -> detect::Config {
    let mut config = base.clone();
    for (scope, name, json) in overrides {
        let Ok(t) = serde_json::from_str::<detect::rules::Thresholds>(json) else {
            tracing::warn!(%scope, %name, "a detection override does not read; ignored");
            continue;
        };
        match scope.as_str() {
            "tenant" => config.tenant_overrides.insert(name.clone(), t),
            _ => config.account_overrides.insert(name.clone(), t),
        };
    }
    config
}

/// Every live session of `account`.
fn account_sessions(account: &str) -> Selection {
    Selection {
        account: Some(account.to_owned()),
        ..Default::default()
    }
}

/// How a session closed by `alert`'s containment says it ended (the incident report prints it).
fn contained_by(id: &str, alert: &Alert) -> String {
    format!("contained by alert {id} ({})", alert.rule.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::StoredName;

    /// A canary whose file is removed stays known to the detector through later refreshes:
    /// the record of the change that removed it may reach the detector after them (a rename
    /// over a canary went unnoticed when a periodic refresh fell in between).
    #[tokio::test]
    async fn a_canary_whose_file_is_gone_stays_known() {
        let dir = tempfile::tempdir().unwrap();
        let (catalog, tenant) = crate::test_catalog::with_tenant(dir.path()).await;
        let root = catalog.root(tenant.id).await.unwrap().id;
        let mut ids = Vec::new();
        for name in [&b"decoy-a"[..], b"decoy-b"] {
            let name = StoredName {
                mac: name,
                sealed: name,
                retiring_mac: None,
            };
            let id = catalog
                .mkdir(tenant.id, root, name, 0o755, 1, 7, None)
                .await
                .unwrap();
            catalog.add_canary(tenant.id, id, 7).await.unwrap();
            ids.push(id);
        }
        let (detection, _raised) = Detection::new(
            detect::Config::default(),
            FirstResponse {
                registry: Registry::default(),
                policy: detect::rules::Containment::default(),
                clock: Arc::new(crate::clock::SystemClock),
                entropy: Arc::new(crate::clock::SystemEntropy),
            },
        );
        let base = detect::Config::default();
        let known = |d: &Detection| {
            let mut v: Vec<i64> = d
                .with(|d| d.canaries().map(|(_, id)| id).collect())
                .unwrap();
            v.sort_unstable();
            v
        };
        refresh(&catalog, &detection, &base).await;
        assert_eq!(known(&detection), ids);
        // The first decoy goes with its node (as a removal or a rename over it takes it).
        catalog.rmdir(ids[0], None).await.unwrap();
        assert_eq!(catalog.canaries(None).await.unwrap().len(), 1);
        refresh(&catalog, &detection, &base).await;
        assert_eq!(known(&detection), ids);
    }
}
