//! The Strongroom server: the SSH/SFTP front end and the runtime. It glues the SFTP codec and
//! russh to the service core (crate `service`, where tenants, accounts, the gate, the files,
//! the ledger and live sessions are), on tokio.
//!
//! - [`ssh`]: the thin russh handler of one connection.
//! - [`sftp`]: one SFTP session per channel: framing, ordering, each request mapped to a domain
//!   operation (`sftp::operation`), checked by the service's gate, served by its files.
//! - [`control`]: the local control socket admin commands use to reach the running server.
//! - [`host_keys`]: generating and loading the SSH host keys.
//! - `contents_check`: the server's paced, resumable pass over every stored file's contents.
//!
//! [`Server::prepare`] opens everything on a data directory; [`Server::serve`] runs on an
//! already-bound listener until the shutdown future resolves, then closes every session.

mod contents_check;
pub mod control;
pub mod host_keys;
pub mod sftp;
pub mod ssh;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use catalog::Catalog;
use russh::{Preferred, cipher, compression};
use tokio::net::TcpListener;
use vault::{BlobStore, LocalBlobStore, Vault};

pub use service::config::{self, Limits, ServerConfig};
use service::{audit, clock, detection, files, forward, gate, keys, retention, sessions, throttle};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "ledger signing key {path} {why}; the ledger holds checkpoints signed by its key (the \
         last at record {seq}): restore that file (a new key would leave them unverifiable)"
    )]
    LedgerKeyNeeded {
        path: String,
        seq: u64,
        why: &'static str,
    },
    #[error(
        "the ledger {path} holds no signed checkpoint, but this data directory's ledger is \
         signed by the key {key}: it was removed or replaced by an empty one. Restore it (and \
         ledger.key); if it is lost for good, `strongroom audit new-ledger --reason TEXT` \
         begins a new one, on the record"
    )]
    LedgerGone { path: String, key: String },
    #[error(
        "{path}: {why}. Restore the ledger this data directory had; if an older copy was put \
         back on purpose (a backup restored), `strongroom audit accept-rollback --reason TEXT` \
         accepts it, on the record"
    )]
    LedgerBehind { path: String, why: String },
    #[error(
        "the blob store {path} holds none of the {referenced} blobs the catalog refers to: is \
         its volume mounted, its path right? (the server would fail every download)"
    )]
    BlobsAbsent { path: String, referenced: usize },
    #[error(
        "the blob store {path} is another data directory's (it is marked {mark}; this data \
         directory's is {ours}): is the right volume mounted? Nothing in it was removed"
    )]
    BlobsOfAnother {
        path: String,
        mark: String,
        ours: String,
    },
    #[error(
        "the blob store {path} holds {stored} blobs, none of which this data directory's \
         catalog refers to, and no mark of whose store it is: another data directory's? \
         Nothing in it was removed. If they are this data directory's own leftovers (uploads \
         cut off by a crash before its first start with this version), move them out of it"
    )]
    BlobsUnmarked { path: String, stored: usize },
    #[error("another strongroom server is already running on data directory {0}")]
    Locked(String),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error(transparent)]
    Blob(#[from] vault::BlobError),
    #[error(transparent)]
    HostKey(#[from] host_keys::HostKeyError),
    #[error(transparent)]
    Key(#[from] vault::KeyError),
    #[error(transparent)]
    KeyLifecycle(#[from] keys::KeyLifecycleError),
    #[error(transparent)]
    Credential(#[from] gate::credentials::CredentialError),
    #[error("listening socket: {0}")]
    Listen(#[source] std::io::Error),
    #[error("cannot start the audit ledger writer: {0}")]
    LedgerWriter(#[source] std::io::Error),
    #[error("the audit ledger could not record the server's start")]
    LedgerDown(#[from] service::audit::LedgerDown),
    #[error(transparent)]
    Control(#[from] control::ControlError),
    #[error(transparent)]
    Delivery(#[from] service::alert_delivery::DeliveryError),
    #[error(transparent)]
    Forward(#[from] service::forward::ForwardError),
}

/// What every connection shares.
pub struct Shared {
    pub config: ServerConfig,
    pub catalog: Catalog,
    pub vault: Vault,
    pub keyring: Arc<keys::KeyringHandle>,
    pub gate: Arc<gate::Gate>,
    pub registry: sessions::Registry,
    /// Where every event goes (the log, the ledger, the forwarder).
    pub ledger: Arc<audit::Ledger>,
    /// The one clock and the one source of identifiers.
    pub clock: Arc<dyn clock::Clock>,
    pub entropy: Arc<dyn clock::Entropy>,
    /// This server's node id (`<data-dir>/node-id`), stamped on every event.
    pub node: String,
    /// Byte-quota reservations of uploads still open, across all sessions.
    pub reservations: Arc<files::reserve::Reservations>,
    /// The server-wide budget of SFTP request and reply bytes held in memory
    /// (`Limits::buffer_bytes`); every connection's own budgets draw on it too.
    pub buffers: Arc<tokio::sync::Semaphore>,
    /// Free space uploads leave on the data directory's filesystem (`keep_free_bytes`).
    pub free_space: Arc<files::free_space::FreeSpace>,
    /// Per-account rate limits of live sessions (`user throttle`).
    pub throttles: Arc<throttle::Throttles>,
    /// The detector (absent when `[detect] enabled = false`).
    pub detection: Option<Arc<detection::Detection>>,
    /// Alert delivery by webhook and e-mail (`[alerts]`).
    pub deliveries: Arc<service::alert_delivery::Deliveries>,
    /// Files downloads found expired between sweeps, for the sweeper to delete at once.
    pub found_expired: retention::FoundExpired,
}

/// An SSH connection's goodbye: a disconnect message before the socket closes.
struct SshFarewell(russh::server::Handle);

impl sessions::Farewell for SshFarewell {
    fn farewell(
        &self,
        reason: &'static str,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let _ = self
                .0
                .disconnect(russh::Disconnect::ByApplication, reason.into(), "en".into())
                .await;
        })
    }
}

impl Shared {
    pub fn files_for(&self, tenant_id: i64) -> files::Files {
        files::Files::new(
            self.catalog.clone(),
            self.vault.clone(),
            self.keyring.clone(),
            tenant_id,
            self.config.seal_contents,
            self.reservations.clone(),
            self.free_space.clone(),
        )
        .with_sweeper(self.found_expired.clone())
    }
}

pub struct Server {
    shared: Arc<Shared>,
    ssh: Arc<russh::server::Config>,
    /// Host key (algorithm, SHA256 fingerprint) pairs, for printing at start.
    pub host_keys: Vec<(String, String)>,
    /// Connections held at once: the configured ceiling, lowered to what the open-file limit
    /// allows (see [`descriptor_ceiling`]).
    max_connections: usize,
    /// What the detector raises, until `serve` starts containment on it.
    raised: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<detection::Raised>>>,
    /// What downloads find expired, until `serve` starts the sweeper on it.
    found_expired: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<retention::Found>>>,
    _lock: File,
}

/// Descriptors kept free of connections: the catalog, the ledger, blob files of transfers in
/// progress, the log, and accepting the next login (so `accept` never fails for want of one).
pub const RESERVED_DESCRIPTORS: u64 = 1024;
/// The open-file limit the server asks for at start (as root the hard limit may be raised).
const WANTED_DESCRIPTORS: u64 = 65_536;

/// Raises this process's open-file limit (soft to hard, and the hard limit towards
/// `WANTED_DESCRIPTORS` where permitted) and returns how many connections fit under it with
/// [`RESERVED_DESCRIPTORS`] kept free and a quarter of the rest left for blob files.
pub fn descriptor_ceiling() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit with a properly sized out-parameter; no other memory is touched.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1;
        }
        if lim.rlim_max < WANTED_DESCRIPTORS {
            let raised = libc::rlimit {
                rlim_cur: WANTED_DESCRIPTORS,
                rlim_max: WANTED_DESCRIPTORS,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
        if lim.rlim_cur < lim.rlim_max {
            let soft = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &soft) == 0 {
                lim = soft;
            }
        }
    }
    // Each connection is one socket; a quarter of the rest is left for the blob files of
    // transfers in progress (one per open file handle).
    (lim.rlim_cur.saturating_sub(RESERVED_DESCRIPTORS) * 3 / 4).max(1) as usize
}

impl Server {
    /// Opens the catalog, blob store and host keys on `config.data_dir`, creating what is
    /// missing, and sweeps blobs left behind by a crash.
    pub async fn prepare(config: ServerConfig) -> Result<Self, ServerError> {
        service::admin::ensure_data_dir(&config.data_dir).map_err(|e| match e {
            service::admin::AdminError::DataDir { path, source } => {
                ServerError::DataDir { path, source }
            }
            other => ServerError::DataDir {
                path: config.data_dir.display().to_string(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        let lock = lock_data_dir(&config.data_dir)?;
        let buffers = Arc::new(tokio::sync::Semaphore::new(config.limits.buffer_bytes));
        let free_space = Arc::new(files::free_space::FreeSpace::new(
            config.data_dir.clone(),
            config.keep_free_bytes,
        ));
        let fits = descriptor_ceiling();
        let max_connections = config.limits.max_connections.min(fits);
        if max_connections < config.limits.max_connections {
            tracing::info!(
                configured = config.limits.max_connections,
                max_connections,
                "the open-file limit allows fewer connections than configured; raise it (e.g. LimitNOFILE)"
            );
        }
        let catalog = Catalog::open(&config.catalog_path()).await?;
        let store = catalog::LedgerStore::open(&config.data_dir.join("ledger.db"))?;
        // The master key file is made only for a data directory that has none in use.
        let in_use = keys::master_in_use(&catalog, &store).await?;
        let keyring = keys::load_keyring_for(&config.master_key, in_use)?;
        let keyring = Arc::new(keys::KeyringHandle::new(config.master_key.clone(), keyring));
        let blobs: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::open(&config.blob_dir())?);
        let clock: Arc<dyn clock::Clock> = Arc::new(clock::SystemClock);
        sweep_orphans(
            &catalog,
            blobs.as_ref(),
            &config.blob_dir(),
            clock.now().as_secs(),
        )
        .await?;
        if !config.seal_contents {
            tracing::warn!(
                "storage.seal_contents is off: new file contents are stored UNENCRYPTED"
            );
        }
        // A removal interrupted: its key and accounts are gone, some of its rows and blobs not.
        for (tenant, since) in catalog.tenants_being_removed().await? {
            tracing::warn!(
                tenant,
                since = %events::Time::from_secs(since),
                "a tenant's removal was interrupted: `strongroom tenant remove {tenant} --shred` \
                 finishes it"
            );
        }
        // A key rotation interrupted: served under both keys until it is finished.
        for (tenant, r) in catalog.key_rotations().await? {
            tracing::warn!(
                tenant,
                since = %events::Time::from_secs(r.since),
                from_version = r.from_version,
                "a tenant key rotation was interrupted; its old key stays until \
                 `strongroom tenant rotate-key {tenant}` finishes it"
            );
        }
        let keys = host_keys::load_or_generate(&config.host_key_dir())?;
        let host_keys = keys.iter().map(host_keys::describe).collect();
        let ssh = Arc::new(ssh_config(&config.limits, keys));
        let identity = catalog.ledger_identity().await?;
        let ledger_key = Arc::new(ledger_signing_key(
            &config.data_dir,
            &store,
            identity.as_ref().map(|n| n.public_key.as_slice()),
        )?);
        if let Some(named) = &identity
            && let Some(why) = service::admin::ledger_behind(&store, named)?
        {
            return Err(ServerError::LedgerBehind {
                path: config.data_dir.join("ledger.db").display().to_string(),
                why,
            });
        }
        let ledger_public_key = ledger_key.public_key();
        let body_key = Arc::new(keys::ledger_body_key(&store, &keyring.get())?);
        let source = forward::LedgerSource {
            ledger: config.data_dir.join("ledger.db"),
            body_key: body_key.clone(),
            catalog: catalog.clone(),
        };
        let forwarder =
            forward::Forwarder::start(&config.forward, source, store.head()?.seq, clock.clone())
                .await?;
        // The detector learns the recent history before the first new record reaches it.
        let entropy: Arc<dyn clock::Entropy> = Arc::new(clock::SystemEntropy);
        let registry = sessions::Registry::default();
        let (detection, raised) = if config.detect.enabled {
            let (d, rx) = detection::Detection::new(
                config.detect.rules.clone(),
                detection::FirstResponse {
                    registry: registry.clone(),
                    policy: config.detect.containment.clone(),
                    clock: clock.clone(),
                    entropy: entropy.clone(),
                },
            );
            let since = events::Time::from_millis(
                clock.now().as_millis() - config.detect.rebuild_days * 86_400_000,
            );
            let started = std::time::Instant::now();
            match d.rebuild(&store, &body_key, since) {
                Ok(n) => tracing::info!(
                    records = n,
                    ms = started.elapsed().as_millis() as u64,
                    "detector rebuilt from the ledger"
                ),
                Err(e) => tracing::error!(error = %e, "detector could not read the ledger"),
            }
            (Some(d), Some(rx))
        } else {
            tracing::warn!("detect.enabled is off: no detection, no containment");
            (None, None)
        };
        let node = service::node_id(&config.data_dir, clock.as_ref(), entropy.as_ref()).map_err(
            |source| ServerError::DataDir {
                path: config.data_dir.join("node-id").display().to_string(),
                source,
            },
        )?;
        // How the run before ended: its clean stop recorded, or not (a crash, kill -9).
        let previous =
            service::server_runs::previous_run(&store, &body_key, &node).unwrap_or_else(|e| {
                tracing::error!(error = %e, "could not read the previous run's records");
                service::server_runs::Previous::None
            });
        if let service::server_runs::Previous::Cut { started } = previous {
            tracing::warn!(%started, "the previous run recorded no stop (a crash, kill -9 or power loss)");
        }
        let ledger = audit::Ledger::start(audit::LedgerParts {
            store,
            outbox: catalog.outbox(),
            key: ledger_key,
            body_key,
            forwarder,
            node: node.clone(),
            clock: clock.clone(),
            entropy: entropy.clone(),
        })
        .map_err(ServerError::LedgerWriter)?;
        if let Some(d) = &detection {
            ledger.set_observer(d.clone());
        }
        let by = service::admin::operator();
        ledger
            .record(service::server_runs::started(clock.now(), previous, &by))
            .await?;
        if identity.is_none() {
            // From now on this ledger is the data directory's: one removed or replaced by an
            // empty one is refused at the next start ([`ledger_signing_key`]). A checkpoint
            // first, so that the ledger it names holds one (if it could not be signed, the
            // ledger is named at a later start).
            ledger.checkpoint().await;
            let signed = catalog::LedgerStore::open(&config.data_dir.join("ledger.db"))?
                .latest_checkpoint()?;
            if let Some(c) = signed {
                catalog
                    .set_ledger_identity(&ledger_public_key, clock.now().as_secs())
                    .await?;
                catalog.ledger_checkpointed(&c).await?;
            }
        }
        let gate = Arc::new(gate::Gate::new(
            catalog.clone(),
            keyring.clone(),
            gate::defender::Defender::new(config.defender.clone()),
            ledger.clone(),
            clock.clone(),
        )?);
        gate.refresh().await;
        let deliveries = Arc::new(
            service::alert_delivery::Deliveries::start(
                &config.alerts,
                catalog.clone(),
                clock.clone(),
                ledger.clone(),
            )
            .await?,
        );
        let reservations = Arc::new(files::reserve::Reservations::new(
            config.limits.classify_threads,
        ));
        let (found_expired, found) = retention::FoundExpired::channel();
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                catalog,
                vault: Vault::new(blobs),
                keyring,
                gate,
                registry,
                ledger,
                clock,
                entropy,
                node,
                reservations,
                free_space,
                throttles: Default::default(),
                buffers,
                detection,
                deliveries,
                found_expired,
            }),
            ssh,
            host_keys,
            max_connections,
            raised: std::sync::Mutex::new(raised),
            found_expired: std::sync::Mutex::new(Some(found)),
            _lock: lock,
        })
    }

    /// Accepts connections on `listener` until `shutdown` resolves, then disconnects every
    /// session and waits (bounded) for their uploads in progress to be discarded.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        tokio::pin!(shutdown);
        let found = self.found_expired.lock().ok().and_then(|mut r| r.take());
        let sweeper = tokio::spawn(sweep_forever(self.shared.clone(), found));
        let gate_refresh = tokio::spawn(refresh_gate_forever(self.shared.clone()));
        let overdue = tokio::spawn(end_overdue_forever(self.shared.clone()));
        let integrity = (self.shared.config.integrity_check)
            .map(|every| tokio::spawn(check_integrity_forever(self.shared.clone(), every)));
        let contents = (self.shared.config.contents_check).map(|every| {
            let rate = self.shared.config.contents_check_rate;
            tokio::spawn(contents_check::check_contents_forever(
                self.shared.clone(),
                every,
                rate,
            ))
        });
        let raised = self.raised.lock().ok().and_then(|mut r| r.take());
        let containment = match (&self.shared.detection, raised) {
            (Some(d), Some(rx)) => {
                let s = &self.shared;
                detection::refresh(&s.catalog, d, &s.config.detect.rules).await;
                let c = detection::Containment {
                    catalog: s.catalog.clone(),
                    registry: s.registry.clone(),
                    gate: s.gate.clone(),
                    throttles: s.throttles.clone(),
                    ledger: s.ledger.clone(),
                    detection: d.clone(),
                    policy: s.config.detect.containment.clone(),
                    clock: s.clock.clone(),
                    deliveries: s.deliveries.clone(),
                };
                Some(tokio::spawn(c.run(rx)))
            }
            _ => None,
        };
        let control = tokio::spawn(control::serve(
            control::bind(&self.shared.config.data_dir)?,
            self.shared.clone(),
        ));
        let mut failures = AcceptFailures::default();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        failures.ended();
                        self.accept(stream, peer);
                    }
                    Err(e) => {
                        failures.failed(&e, tokio::time::Instant::now());
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                },
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        sweeper.abort();
        gate_refresh.abort();
        overdue.abort();
        if let Some(i) = integrity {
            i.abort();
        }
        if let Some(c) = contents {
            c.abort();
        }
        if let Some(c) = containment {
            c.abort();
        }
        control.abort();
        let _ = std::fs::remove_file(control::socket_path(&self.shared.config.data_dir));
        let live = self.shared.registry.all();
        tracing::info!(sessions = live.len(), "shutting down: closing sessions");
        for h in live {
            h.farewell("server shutting down").await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.shared.registry.live() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let SFTP drivers finish discarding uploads that were never closed.
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The clean stop, after every session's end: a start with none before it was cut off.
        let stopped =
            service::server_runs::stopped(self.shared.clock.now(), &service::admin::operator());
        if self.shared.ledger.record(stopped).await.is_err() {
            tracing::error!("the audit ledger could not record the server's stop");
        }
        self.shared.ledger.checkpoint().await;
        self.shared.catalog.close().await;
        Ok(())
    }

    fn accept(&self, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let at = self.shared.clock.now();
        let now = at.as_secs();
        let connection = |accepted: bool, reason: Option<&str>, session: Option<&str>| {
            let mut e = events::Event::new(
                at,
                events::EventKind::Connection {
                    accepted,
                    reason: reason.map(str::to_owned),
                },
            );
            e.source = Some(peer);
            e.session = session.map(str::to_owned);
            events::EventSink::emit(self.shared.ledger.as_ref(), e);
        };
        let refused = |why: &str| connection(false, Some(why), None);
        // Banned or unreachable addresses cost a closed socket: no key exchange, no task.
        if let Err(why) = self.shared.gate.admits_connection(peer.ip(), now) {
            refused(why);
            return;
        }
        let limits = &self.shared.config.limits;
        let ceilings = sessions::Ceilings {
            per_address: limits.max_connections_per_address,
            total: self.max_connections,
            unauthenticated: limits.max_unauthenticated,
        };
        let slot = match self.shared.registry.admit(peer.ip(), ceilings) {
            Ok(slot) => slot,
            Err(refusal) => {
                refused(refusal.reason());
                return;
            }
        };
        let session_id =
            sessions::new_session_id(at.as_millis() as u64, self.shared.entropy.array());
        connection(true, None, Some(&session_id));
        let _ = stream.set_nodelay(true);
        let shared = self.shared.clone();
        let ssh = self.ssh.clone();
        let preauth = limits.preauth_timeout;
        tokio::spawn(async move {
            let authenticated = Arc::new(AtomicBool::new(false));
            let (stream, sever) = sessions::Severable::new(stream);
            let (stream, client_id) = service::event_log::ClientId::new(stream);
            let live = Arc::new(sessions::LiveSession::new(
                slot.id,
                session_id,
                peer,
                at.as_millis(),
                client_id.clone(),
            ));
            let handler = ssh::Connection::new(
                shared.clone(),
                peer,
                authenticated.clone(),
                client_id,
                slot.id,
                sever.clone(),
                live.clone(),
            );
            tracing::debug!(%peer, connection = slot.id, "connection accepted");
            let running = match tokio::time::timeout(
                preauth,
                russh::server::run_stream(ssh, stream, handler),
            )
            .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "connection ended before key exchange");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "connection closed: no SSH identification in time");
                    return;
                }
            };
            let handle = running.handle();
            shared.registry.attach(
                &slot,
                Arc::new(SshFarewell(handle.clone())),
                sever.clone(),
                live,
            );
            let timer = tokio::spawn(async move {
                tokio::time::sleep(preauth).await;
                if !authenticated.load(Ordering::SeqCst) {
                    tracing::info!(%peer, "connection closed: not authenticated in time");
                    // Say why if the session can still take a message, then cut the socket
                    // whatever state the session is in (a stalled key exchange ignores the
                    // disconnect message).
                    let _ = tokio::time::timeout(
                        Duration::from_millis(200),
                        handle.disconnect(
                            russh::Disconnect::ByApplication,
                            "authentication timeout".into(),
                            "en".into(),
                        ),
                    )
                    .await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    sever.sever();
                }
            });
            match running.await {
                Ok(()) => tracing::debug!(%peer, "connection closed"),
                Err(e) => tracing::info!(%peer, error = %e, "connection ended"),
            }
            timer.abort();
            drop(slot);
        });
    }
}

fn ssh_config(limits: &Limits, keys: Vec<russh::keys::PrivateKey>) -> russh::server::Config {
    russh::server::Config {
        server_id: russh::SshId::Standard(Cow::Borrowed("SSH-2.0-Strongroom")),
        methods: russh::MethodSet::from(
            &[russh::MethodKind::PublicKey, russh::MethodKind::Password][..],
        ),
        auth_rejection_time: limits.auth_rejection_time,
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys,
        max_auth_attempts: limits.max_auth_attempts,
        // Large windows and packets: measured to match OpenSSH throughput (DEPENDENCIES.md).
        window_size: 8 * 1024 * 1024,
        maximum_packet_size: 65535,
        channel_buffer_size: 1024,
        // Messages (replies among them, up to 255 KiB each) queued towards the connection's
        // writer beyond the SFTP reply budget: 64 bounds that to 16 MiB.
        event_buffer_size: 64,
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(60)),
        keepalive_max: 3,
        nodelay: true,
        preferred: Preferred {
            cipher: Cow::Borrowed(&[
                cipher::CHACHA20_POLY1305,
                cipher::AES_256_GCM,
                cipher::AES_128_GCM,
                cipher::AES_256_CTR,
                cipher::AES_128_CTR,
            ]),
            // Compression stays off: russh's zlib paths have had desync bugs.
            compression: Cow::Borrowed(&[compression::NONE]),
            ..Preferred::default()
        },
        ..Default::default()
    }
}

/// Runs the retention sweep at the configured interval until aborted, and deletes each file a
/// download found expired in between as it is found.
async fn sweep_forever(
    shared: Arc<Shared>,
    mut found: Option<tokio::sync::mpsc::Receiver<retention::Found>>,
) {
    let mut tick = tokio::time::interval(shared.config.retention_sweep);
    loop {
        let (one, done) = tokio::select! {
            _ = tick.tick() => (None, None),
            Some(f) = async { found.as_mut()?.recv().await } => (Some(f.id), f.done),
        };
        let at = shared.clock.now();
        let now = at.as_secs();
        let recorded = retention::Recorded::new(shared.ledger.clone(), at);
        let (catalog, vault) = (&shared.catalog, &shared.vault);
        let swept = match one {
            None => retention::sweep(catalog, vault, now, Some(&recorded))
                .await
                .map(drop),
            Some(id) => retention::sweep_file(catalog, vault, id, now, Some(&recorded))
                .await
                .map(drop),
        };
        if let Err(e) = swept {
            tracing::error!(error = %e, "retention sweep failed");
        }
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
}

/// How long after the start the first integrity check waits: the start's own work first.
const INTEGRITY_FIRST: Duration = Duration::from_secs(2);

/// Checks that every tenant's sealed values open, shortly after the start and then every
/// `every`, raising an `integrity` alert for each tenant where some do not (stored, on the
/// ledger's record, delivered, and logged as an error); no containment: no account is at
/// fault. A tenant whose check fails is logged and the others are checked.
async fn check_integrity_forever(shared: Arc<Shared>, every: Duration) {
    let first = tokio::time::Instant::now() + INTEGRITY_FIRST;
    let mut tick = tokio::time::interval_at(first, every);
    loop {
        tick.tick().await;
        let tenants = match shared.catalog.list_tenants().await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "integrity check: the tenants could not be read");
                continue;
            }
        };
        for t in tenants {
            let found = match inspect_tenant(&shared, t.id).await {
                Ok(found) => found,
                Err(e) => {
                    // Not for a tenant removed since it was listed: nothing is left to check.
                    if shared.catalog.tenant(&t.name).await.is_ok() {
                        tracing::error!(tenant = %t.name, error = %e, "integrity check failed");
                    }
                    continue;
                }
            };
            if found.is_empty() {
                continue;
            }
            let now = shared.clock.now();
            let id =
                service::sessions::new_session_id(now.as_millis() as u64, shared.entropy.array());
            let record = service::integrity::alert_of(&t.name, &found, id, now);
            tracing::error!(alert = %record.id, tenant = %t.name, "{}", record.summary);
            service::detection::store_and_record(&shared.catalog, &shared.ledger, &record).await;
            shared.deliveries.deliver(&record).await;
        }
    }
}

/// The sealed values of tenant `tenant_id` that do not open (`service::integrity::inspect`),
/// its pages read and opened off the async runtime's threads: a page is some milliseconds of
/// reading and opening seals, which the sessions' requests on those threads must not wait for.
async fn inspect_tenant(
    shared: &Shared,
    tenant_id: i64,
) -> Result<Vec<(service::integrity::DamagedValue, i64)>, String> {
    let key = (shared.files_for(tenant_id).tenant_key().await)
        .map_err(|e| format!("its key could not be read: {e}"))?;
    let catalog = shared.catalog.clone();
    let inspected = tokio::task::spawn_blocking(move || {
        let inspect = service::integrity::inspect(&catalog, key, tenant_id, &|_| {});
        tokio::runtime::Handle::current().block_on(inspect)
    })
    .await;
    match inspected {
        Ok(Ok((_, found))) => Ok(found),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// How often bans (`strongroom ban remove`) and allowed networks are re-read.
const GATE_REFRESH: Duration = Duration::from_secs(2);

async fn refresh_gate_forever(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(GATE_REFRESH);
    loop {
        tick.tick().await;
        shared.gate.refresh_new().await;
        // Containment holds without the control socket: a lock, an account's or a key's
        // removal, a certificate's revocation in the catalog ends its sessions here too.
        let ended = shared
            .gate
            .end_sessions_out_of_service(&shared.registry)
            .await;
        if !ended.is_empty() {
            tracing::info!(sessions = ?ended, "sessions the catalog no longer allows closed");
        }
        let changed = (shared.gate)
            .follow_throttles(&shared.registry, &shared.throttles)
            .await;
        if !changed.is_empty() {
            tracing::info!(accounts = ?changed, "live sessions' rates set to the catalog's");
        }
        if let Some(d) = &shared.detection {
            detection::refresh(&shared.catalog, d, &shared.config.detect.rules).await;
        }
    }
}

/// After a failed accept (too many open files, most often), the wait before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// While accepts go on failing, how often the log says so.
const ACCEPT_FAILURES_LOGGED_EVERY: Duration = Duration::from_secs(10);

/// Failed accepts in a row, logged the first at once and then once per
/// [`ACCEPT_FAILURES_LOGGED_EVERY`] with their count: a server out of file descriptors with
/// clients waiting fails twenty accepts a second, which would otherwise be twenty lines.
#[derive(Default)]
struct AcceptFailures {
    /// Failures since the last line, and when it was written.
    unlogged: u64,
    logged_at: Option<tokio::time::Instant>,
    /// Failures in a row.
    in_a_row: u64,
}

impl AcceptFailures {
    fn failed(&mut self, e: &std::io::Error, now: tokio::time::Instant) {
        self.in_a_row += 1;
        self.unlogged += 1;
        let due = self
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= ACCEPT_FAILURES_LOGGED_EVERY);
        if due {
            tracing::warn!(error = %e, failures = self.unlogged, in_a_row = self.in_a_row,
                "accept failed; connections wait in the listen queue");
            self.unlogged = 0;
            self.logged_at = Some(now);
        }
    }

    /// An accept succeeded: the failures before it, if any, ended.
    fn ended(&mut self) {
        if self.in_a_row > 0 {
            tracing::info!(failures = self.in_a_row, "accepting connections again");
            *self = Self::default();
        }
    }
}

/// Closes the sessions whose clients sent no request for the configured idle time, and those
/// whose first factor stopped being valid (a key's or a password's expiry), looking a few times
/// per idle period (at least every second, at most every 30 seconds), until aborted.
async fn end_overdue_forever(shared: Arc<Shared>) {
    let idle = shared.config.limits.idle_timeout;
    let mut tick =
        tokio::time::interval((idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(30)));
    let idle_why = idle_reason(idle);
    loop {
        tick.tick().await;
        let now = shared.clock.now();
        let idle_before = now.as_millis() - i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
        for (selection, why) in [
            (
                sessions::Selection {
                    idle_before: Some(idle_before),
                    ..Default::default()
                },
                idle_why.as_str(),
            ),
            (
                sessions::Selection {
                    expired_by: Some(now.as_secs()),
                    ..Default::default()
                },
                "its credential expired",
            ),
        ] {
            let closed = shared.registry.kill(&selection, why);
            if !closed.is_empty() {
                tracing::info!(?closed, why, "sessions closed");
            }
        }
    }
}

/// `idle for 15 minutes`, `idle for 90 seconds`: why an idle session ended, as its record says.
fn idle_reason(idle: Duration) -> String {
    let secs = idle.as_secs();
    match secs {
        s if s % 60 == 0 && s >= 60 => format!(
            "idle for {} minute{}",
            s / 60,
            if s == 60 { "" } else { "s" }
        ),
        s => format!("idle for {s} second{}", if s == 1 { "" } else { "s" }),
    }
}

/// One server per data directory: an exclusive advisory lock on `<data-dir>/server.lock`.
fn lock_data_dir(dir: &std::path::Path) -> Result<File, ServerError> {
    let path = dir.join("server.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| ServerError::DataDir {
            path: path.display().to_string(),
            source,
        })?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(ServerError::Locked(dir.display().to_string()));
    }
    Ok(file)
}

/// The ledger's checkpoint signing key: made only for a ledger with no signed checkpoint in a
/// data directory whose catalog names no ledger yet (`identity`: the public key the catalog
/// recorded). A ledger that has checkpoints needs the key that signed them: a missing file,
/// or another key, is an error (a new key would leave every earlier checkpoint unverifiable,
/// and `audit verify` would report the ledger broken). And a catalog that names a ledger
/// needs it: a ledger without checkpoints then was removed or replaced by an empty one (with
/// its key, the history would otherwise be begun afresh, "intact", without a trace).
fn ledger_signing_key(
    data_dir: &std::path::Path,
    store: &catalog::LedgerStore,
    identity: Option<&[u8]>,
) -> Result<vault::LedgerKey, ServerError> {
    let path = data_dir.join("ledger.key");
    let latest = store.latest_checkpoint()?;
    if let Some(public_key) = identity
        && latest.is_none()
    {
        return Err(ServerError::LedgerGone {
            path: data_dir.join("ledger.db").display().to_string(),
            key: hex::encode(public_key),
        });
    }
    let key = match vault::LedgerKey::load_or_create(&path, latest.is_none() && identity.is_none())
    {
        Err(vault::KeyError::MasterFile { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(ServerError::LedgerKeyNeeded {
                path: path.display().to_string(),
                seq: latest.map_or(0, |c| c.seq),
                why: "is missing",
            });
        }
        other => other?,
    };
    if identity.is_some_and(|i| i != key.public_key()) {
        return Err(ServerError::LedgerKeyNeeded {
            path: path.display().to_string(),
            seq: latest.map_or(0, |c| c.seq),
            why: "is not the key of this data directory's ledger",
        });
    }
    if let Some(c) = latest
        && !c.verify_signature(&key.public_key())
    {
        return Err(ServerError::LedgerKeyNeeded {
            path: path.display().to_string(),
            seq: c.seq,
            why: "is not the key that signed the ledger's checkpoints",
        });
    }
    Ok(key)
}

/// The marks of whose a blob store is: the catalog's record, and the store's own.
struct Marks {
    catalog: Option<String>,
    store: Option<String>,
}

/// Whose a blob store is ([`store_owner`]).
#[derive(Debug, PartialEq, Eq)]
enum StoreOwner {
    /// This data directory's: swept of orphans, and marked where a mark is missing.
    Ours,
    /// Marked as another data directory's.
    Another,
    /// Holds blobs, none of which the catalog refers to, and no mark to tell whose they are.
    Unmarked,
    /// Holds none of the blobs the catalog refers to.
    Absent,
}

/// Whose a blob store is, from the marks, how many of the catalog's `referenced` blobs are
/// `present` in it, and how many it holds (`stored`). A store that holds some of the catalog's
/// blobs is this data directory's (a mark missing on either side is written: a store from
/// before marks, a catalog restored from before them); so is an empty one (a new data
/// directory). Blobs but none of the catalog's are another's, unless both marks say otherwise.
fn store_owner(marks: &Marks, present: usize, referenced: usize, stored: usize) -> StoreOwner {
    match (&marks.catalog, &marks.store) {
        (Some(c), Some(s)) if c != s => StoreOwner::Another,
        _ if present == 0 && referenced > 0 => StoreOwner::Absent,
        (Some(_), Some(_)) => StoreOwner::Ours,
        _ if present > 0 => StoreOwner::Ours,
        (None, Some(_)) => StoreOwner::Another,
        (_, None) if stored == 0 => StoreOwner::Ours,
        (_, None) => StoreOwner::Unmarked,
    }
}

/// Removes blobs that no file refers to: uploads cut off by a crash or kill -9, from this data
/// directory's blob store only ([`store_owner`]: one marked as another's, or one that holds
/// blobs but none of the catalog's and no mark, is refused, nothing in it removed). A blob
/// store that holds none of the blobs the catalog refers to (a volume not mounted, a path
/// mistyped) is refused too: serving would fail every download and put uploads where they do
/// not belong. Some missing (lost files) is logged.
async fn sweep_orphans(
    catalog: &Catalog,
    blobs: &dyn BlobStore,
    dir: &std::path::Path,
    now: i64,
) -> Result<(), ServerError> {
    let referenced: HashSet<String> = catalog.referenced_blobs().await?.into_iter().collect();
    let stored = blobs.list()?;
    let present = stored
        .iter()
        .filter(|id| referenced.contains(&id.to_hex()))
        .count();
    let path = || dir.display().to_string();
    let marks = Marks {
        catalog: catalog.blob_store_owner().await?,
        store: blobs.owner()?,
    };
    match store_owner(&marks, present, referenced.len(), stored.len()) {
        StoreOwner::Absent => {
            return Err(ServerError::BlobsAbsent {
                path: path(),
                referenced: referenced.len(),
            });
        }
        StoreOwner::Another => {
            return Err(ServerError::BlobsOfAnother {
                path: path(),
                mark: marks.store.unwrap_or_default(),
                ours: marks.catalog.unwrap_or_else(|| "not marked yet".into()),
            });
        }
        StoreOwner::Unmarked => {
            return Err(ServerError::BlobsUnmarked {
                path: path(),
                stored: stored.len(),
            });
        }
        StoreOwner::Ours => {
            // The catalog's mark first: a crash before the store's leaves a store that the
            // next start marks (it is empty, or holds the catalog's blobs).
            let mark = match (&marks.catalog, &marks.store) {
                (Some(c), _) => c.clone(),
                (None, known) => {
                    let new = known
                        .clone()
                        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
                    catalog.set_blob_store_owner(&new, now).await?
                }
            };
            if marks.store.is_none() {
                blobs.mark_owner(&mark)?;
            }
        }
    }
    if present < referenced.len() {
        tracing::error!(
            missing = referenced.len() - present,
            "blobs the catalog refers to are missing from the blob store: those files cannot be read"
        );
    }
    let mut removed = 0;
    for id in stored {
        if !referenced.contains(&id.to_hex()) {
            blobs.remove(id)?;
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed blobs of uploads that never completed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(catalog: Option<&str>, store: Option<&str>) -> Marks {
        Marks {
            catalog: catalog.map(str::to_owned),
            store: store.map(str::to_owned),
        }
    }

    /// Whose a store is, case by case (present, referenced, stored).
    #[test]
    fn a_store_is_this_data_directorys_by_its_mark_or_by_holding_its_blobs() {
        use StoreOwner::*;
        let (a, b) = (Some("a"), Some("b"));
        // Marked alike: ours (swept), unless the catalog's blobs are all missing.
        assert_eq!(store_owner(&marks(a, a), 3, 3, 5), Ours);
        assert_eq!(store_owner(&marks(a, a), 0, 0, 5), Ours);
        assert_eq!(store_owner(&marks(a, a), 0, 3, 5), Absent);
        // Marked otherwise: another's, whatever it holds.
        assert_eq!(store_owner(&marks(a, b), 3, 3, 5), Another);
        assert_eq!(store_owner(&marks(a, b), 0, 0, 0), Another);
        assert_eq!(store_owner(&marks(None, b), 0, 0, 1), Another);
        assert_eq!(store_owner(&marks(None, b), 0, 0, 0), Another);
        // A mark missing: ours if it holds the catalog's blobs, or nothing.
        for m in [marks(None, None), marks(a, None)] {
            assert_eq!(store_owner(&m, 1, 3, 5), Ours);
            assert_eq!(store_owner(&m, 0, 0, 0), Ours);
            assert_eq!(store_owner(&m, 0, 3, 0), Absent);
            assert_eq!(store_owner(&m, 0, 0, 2), Unmarked);
        }
        assert_eq!(store_owner(&marks(None, b), 1, 3, 5), Ours);
    }
}
