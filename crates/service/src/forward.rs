//! Forwarding ledger records to a SIEM: RFC 5424 syslog over TLS (RFC 5425: the SIEM's
//! certificate verified, a client certificate shown where it asks for one), over TCP
//! (octet-counted framing, RFC 6587) and UDP, and JSON lines appended to a file. The records
//! name accounts, addresses and paths, so syslog in clear goes only to a relay on loopback (as
//! alerts' plain HTTP and SMTP do). The ledger writer hands over each
//! committed record without waiting: every destination has a bounded queue, and forwarding
//! never slows a transfer. What a queue could not hold (a destination down or slow), and what
//! was committed while the server was stopped, is not lost to the SIEM: each destination's
//! cursor (the last record handed to it) is kept in the catalog, and a record that comes after
//! a gap is preceded by the records of the gap, read back from the ledger.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use catalog::{Catalog, LedgerFilter, LedgerStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use vault::LedgerBodyKey;

/// Where to forward, from `[forward]` in the config.
#[derive(Debug, Clone, Default)]
pub struct ForwardConfig {
    pub syslog_tls: Option<SyslogTlsConfig>,
    /// In clear: only to a relay on loopback.
    pub syslog_tcp: Option<SocketAddr>,
    /// In clear: only to a relay on loopback.
    pub syslog_udp: Option<SocketAddr>,
    pub jsonl_file: Option<PathBuf>,
    /// Records each destination may hold while it is slow or down (beyond, they are sent from
    /// the ledger once it takes them again).
    pub buffer: usize,
}

/// `[forward] syslog_tls` and the certificates of its connection.
#[derive(Debug, Clone)]
pub struct SyslogTlsConfig {
    /// The SIEM as `host:port` (`siem.bank.example:6514`): its certificate must name the host.
    pub server: String,
    /// PEM certificates of the authorities the SIEM's certificate is checked against (the
    /// system's trusted roots when not given).
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM chain) and its private key (PEM, an owner-only file), shown to
    /// a SIEM that asks for one.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// Why forwarding could not start (the server refuses to start: an operator who configured a
/// destination expects the records to arrive there, and in confidence).
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(
        "forward.{option} would send the ledger's records in clear: only to a relay on loopback, not {addr} (use forward.syslog_tls)"
    )]
    Cleartext {
        option: &'static str,
        addr: SocketAddr,
    },
    #[error("forward.syslog_tls '{0}' is not host:port like siem.bank.example:6514")]
    Server(String),
    #[error("forward.{option} {path}: {why}")]
    Certificates {
        option: &'static str,
        path: String,
        why: String,
    },
    #[error(transparent)]
    ClientKey(#[from] vault::OwnerOnlyError),
    #[error("forward.syslog_tls_client_cert and forward.syslog_tls_client_key go together")]
    ClientPair,
    #[error("forward.syslog_tls: {0}")]
    Tls(String),
}

/// A committed record, as forwarded.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub seq: u64,
    pub time: i64,
    pub kind: Cow<'static, str>,
    /// The event as JSON (in clear: the SIEM is the reader).
    pub json: String,
}

/// Where a destination reads the records it missed: the ledger (its own read-only connection,
/// opened when first needed) and the key that opens their bodies, and the catalog that keeps
/// its cursor.
#[derive(Clone)]
pub struct LedgerSource {
    pub ledger: PathBuf,
    pub body_key: Arc<LedgerBodyKey>,
    pub catalog: Catalog,
}

/// syslog facility 13 (log audit) at severity 6 (informational).
const PRI: u8 = 13 * 8 + 6;
/// Largest UDP datagram sent (longer messages are cut).
const MAX_DATAGRAM: usize = 8192;

/// Records read from the ledger at a time when a destination catches up.
const CATCH_UP_PAGE: u32 = 1_000;
/// Reads of the ledger that may fail in a row before a gap's records are skipped (logged).
const CATCH_UP_TRIES: u32 = 5;
/// How often a destination's cursor is written to the catalog while it moves.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// Longest a connection to a SIEM may take to open (TCP, then the TLS handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a message may take to be written: a SIEM that stopped reading is connected to
/// afresh (the message written again), not waited on for ever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages written again on the connection that replaces a failed one: those of the last
/// this many seconds …
const RESEND_SECS: u64 = 30;
/// … at most this many bytes of them.
const RESEND_BYTES: usize = 4 << 20;
/// How long a new TLS connection is watched before its first message: a SIEM that refuses
/// the client certificate says so after the handshake has ended on this side (TLS 1.3), and
/// what was written meanwhile would be lost.
const REFUSAL_WAIT: Duration = Duration::from_millis(250);

struct Destination {
    name: String,
    tx: mpsc::Sender<Arc<Forwarded>>,
    dropped: Arc<AtomicU64>,
}

#[derive(Default)]
pub struct Forwarder {
    destinations: Vec<Destination>,
}

impl Forwarder {
    /// Starts one task per configured destination. Each goes on from its cursor in the
    /// catalog; one never started before begins after record `head` (the ledger's last at
    /// start: a new destination is not sent the ledger's past); the cursors of destinations
    /// no longer configured are forgotten. Refuses syslog in clear to an address that is not
    /// loopback, and a TLS destination whose address or files do not serve.
    pub async fn start(
        config: &ForwardConfig,
        source: LedgerSource,
        head: u64,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Result<Self, ForwardError> {
        let buffer = config.buffer.max(1);
        let host = hostname();
        in_clear_to_loopback(config)?;
        let mut transports = Vec::new();
        if let Some(tls) = &config.syslog_tls {
            let (server, port) = host_and_port(&tls.server)
                .ok_or_else(|| ForwardError::Server(tls.server.clone()))?;
            let name = rustls::pki_types::ServerName::try_from(server.clone())
                .map_err(|_| ForwardError::Server(tls.server.clone()))?;
            transports.push(Transport::SyslogTls {
                configured: tls.server.clone(),
                server,
                port,
                name,
                connector: tokio_rustls::TlsConnector::from(Arc::new(tls_client(tls)?)),
                host: host.clone(),
                stream: Stream::default(),
            });
        }
        if let Some(addr) = config.syslog_tcp {
            transports.push(Transport::SyslogTcp {
                addr,
                host: host.clone(),
                stream: Stream::default(),
            });
        }
        if let Some(addr) = config.syslog_udp {
            transports.push(Transport::SyslogUdp {
                addr,
                host: host.clone(),
                socket: None,
            });
        }
        if let Some(path) = &config.jsonl_file {
            transports.push(Transport::JsonlFile {
                path: path.clone(),
                file: None,
            });
        }
        let names: Vec<String> = transports.iter().map(Transport::name).collect();
        match source.catalog.forget_forward_cursors_except(&names).await {
            Ok(gone) => {
                for destination in gone {
                    tracing::info!(%destination,
                        "a SIEM destination no longer configured is forgotten (configured again, it starts at the ledger's head)");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the SIEM destinations kept"),
        }
        let mut destinations = Vec::new();
        for transport in transports {
            let name = transport.name();
            let sent = match source.catalog.forward_cursor(&name).await {
                // A ledger behind the cursor is another one (`audit new-ledger`) or an older
                // copy accepted (`audit accept-rollback`): its records from its head on are new
                // to the destination, not ones it had.
                Ok(Some(seq)) if u64::try_from(seq).unwrap_or(0) > head => {
                    tracing::warn!(destination = %name, cursor = seq, head,
                        "the ledger is behind where forwarding had reached (a new ledger, or an older copy accepted): it goes on from the ledger's head");
                    let at = i64::try_from(head).unwrap_or(i64::MAX);
                    if let Err(e) = source.catalog.reset_forward_cursor(&name, at).await {
                        tracing::warn!(destination = %name, error = %e,
                            "could not keep where forwarding goes on");
                    }
                    head
                }
                Ok(Some(seq)) => u64::try_from(seq).unwrap_or(0),
                Ok(None) => {
                    // Kept at once: a server stopped before it sent anything goes on from here.
                    let at = i64::try_from(head).unwrap_or(i64::MAX);
                    if let Err(e) = source.catalog.set_forward_cursor(&name, at).await {
                        tracing::warn!(destination = %name, error = %e,
                            "could not keep where forwarding begins");
                    }
                    head
                }
                Err(e) => {
                    tracing::error!(destination = %name, error = %e,
                        "could not read where forwarding stopped; it goes on from now");
                    head
                }
            };
            let (tx, rx) = mpsc::channel(buffer);
            let cursor = Cursor {
                name: name.clone(),
                sent,
                saved: sent,
                catalog: source.catalog.clone(),
                health: Health {
                    name: name.clone(),
                    catalog: source.catalog.clone(),
                    clock: clock.clone(),
                    failing: true,
                },
            };
            tokio::spawn(run(transport, rx, cursor, source.clone()));
            destinations.push(Destination {
                name,
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            });
        }
        Ok(Self { destinations })
    }

    /// A forwarder with no destination.
    pub fn none() -> Self {
        Self::default()
    }

    /// Hands a record to every destination without waiting.
    pub fn send(&self, record: Arc<Forwarded>) {
        for d in &self.destinations {
            if d.tx.try_send(record.clone()).is_err() {
                let n = d.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        destination = %d.name,
                        not_queued = n,
                        "forwarder queue full: records not queued (they are sent from the ledger once the destination takes them)"
                    );
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.destinations.is_empty()
    }
}

/// How far a destination has been handed the ledger, and what of it the catalog holds.
struct Cursor {
    name: String,
    sent: u64,
    saved: u64,
    catalog: Catalog,
    health: Health,
}

/// How a destination's sends stand, kept in the catalog for `audit forwarding`: each failure
/// (one a pause between attempts), and its working again.
struct Health {
    name: String,
    catalog: Catalog,
    clock: Arc<dyn crate::clock::Clock>,
    /// Whether the catalog may say it is failing (at the start: it may, from the run before).
    failing: bool,
}

impl Health {
    async fn failed(&mut self, why: &str) {
        self.failing = true;
        let at = self.clock.now().as_millis();
        if let Err(e) = self
            .catalog
            .record_forward_failure(&self.name, why, at)
            .await
        {
            tracing::warn!(destination = %self.name, error = %e, "could not keep a forwarding failure");
        }
    }

    async fn working(&mut self) {
        if self.failing {
            match self.catalog.record_forward_working(&self.name).await {
                Ok(()) => self.failing = false,
                Err(e) => tracing::warn!(destination = %self.name, error = %e,
                    "could not keep that forwarding works again"),
            }
        }
    }
}

impl Cursor {
    /// Keeps the cursor in the catalog, once what was handed to `transport` is as durable as
    /// it can be made (the events file's data on its disk): a power cut cannot leave the
    /// catalog saying records were sent that the file lost.
    async fn save(&mut self, transport: &mut Transport) {
        if self.sent == self.saved {
            return;
        }
        if let Err(e) = transport.sync().await {
            tracing::warn!(destination = %self.name, error = %e,
                "could not flush what was forwarded (tried again)");
            return;
        }
        let seq = i64::try_from(self.sent).unwrap_or(i64::MAX);
        match self.catalog.set_forward_cursor(&self.name, seq).await {
            Ok(()) => self.saved = self.sent,
            Err(e) => tracing::warn!(destination = %self.name, error = %e,
                "could not keep where forwarding is (tried again)"),
        }
    }
}

/// A destination's task: each record queued for it, after the records of any gap before it
/// (read from the ledger); every second, its cursor kept and, with nothing queued, the records
/// the ledger holds beyond it sent (an administrator's command writes its records itself: an
/// idle server would otherwise leave them until its own next record).
async fn run(
    mut transport: Transport,
    mut rx: mpsc::Receiver<Arc<Forwarded>>,
    mut cursor: Cursor,
    source: LedgerSource,
) {
    let mut ledger: Option<LedgerStore> = None;
    let mut tick = tokio::time::interval(SAVE_EVERY);
    loop {
        let record = tokio::select! {
            r = rx.recv() => r,
            _ = tick.tick() => {
                if rx.is_empty() {
                    let head = match opened(&mut ledger, &source, &cursor.name) {
                        Some(store) => tokio::task::spawn_blocking(move || store.head()).await,
                        None => continue,
                    };
                    if let Ok(Ok(head)) = head
                        && head.seq > cursor.sent
                    {
                        catch_up(&mut transport, &mut cursor, &source, &mut ledger, head.seq).await;
                    }
                }
                cursor.save(&mut transport).await;
                continue;
            }
        };
        let Some(record) = record else {
            cursor.save(&mut transport).await;
            return;
        };
        if record.seq <= cursor.sent {
            continue;
        }
        if record.seq > cursor.sent + 1 {
            catch_up(
                &mut transport,
                &mut cursor,
                &source,
                &mut ledger,
                record.seq - 1,
            )
            .await;
        }
        transport.send(&record, &mut cursor.health).await;
        cursor.sent = record.seq;
    }
}

/// Sends the ledger's records after the cursor up to `upto` (those the queue did not hold, or
/// committed while the server was stopped), a page at a time.
async fn catch_up(
    transport: &mut Transport,
    cursor: &mut Cursor,
    source: &LedgerSource,
    ledger: &mut Option<LedgerStore>,
    upto: u64,
) {
    let first = cursor.sent + 1;
    tracing::info!(destination = %cursor.name, first, last = upto, "forwarding records from the ledger");
    let mut failures = 0;
    while cursor.sent < upto {
        // A ledger that cannot be read now is tried again a few times before the records are
        // skipped (the live ones are not held back for ever).
        let failed = |failures: &mut u32| {
            *failures += 1;
            *failures > CATCH_UP_TRIES
        };
        let Some(store) = opened(ledger, source, &cursor.name) else {
            if failed(&mut failures) {
                return;
            }
            tokio::time::sleep(SAVE_EVERY).await;
            continue;
        };
        let (after, key) = (cursor.sent, source.body_key.clone());
        let page = tokio::task::spawn_blocking(move || {
            let filter = LedgerFilter {
                before_seq: Some(upto + 1),
                ..Default::default()
            };
            let entries = store.export(&filter, after, CATCH_UP_PAGE)?;
            Ok::<_, catalog::CatalogError>(
                (entries.into_iter())
                    .map(|e| {
                        let json = key
                            .open(&e.sealed_event)
                            .ok()
                            .map(|b| String::from_utf8_lossy(&b).into_owned());
                        (e.seq, e.time, e.meta.kind, json)
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await;
        let page = match page {
            Ok(Ok(page)) if !page.is_empty() => page,
            Ok(Ok(_)) => {
                tracing::error!(destination = %cursor.name, from = cursor.sent + 1, to = upto,
                    "the ledger does not hold the records to forward; skipped");
                return;
            }
            Ok(Err(e)) => {
                let skipped = failed(&mut failures);
                tracing::error!(destination = %cursor.name, error = %e, skipped,
                    "could not read the ledger to forward what was missed");
                if skipped {
                    return;
                }
                tokio::time::sleep(SAVE_EVERY).await;
                continue;
            }
            Err(e) => {
                tracing::error!(destination = %cursor.name, error = %e, "forwarding from the ledger stopped");
                return;
            }
        };
        for (seq, time, kind, json) in page {
            match json {
                Some(json) => {
                    let record = Forwarded {
                        seq,
                        time,
                        kind: Cow::Owned(kind),
                        json,
                    };
                    transport.send(&record, &mut cursor.health).await;
                }
                None => tracing::error!(destination = %cursor.name, seq,
                    "a ledger record's body does not open; not forwarded"),
            }
            cursor.sent = seq;
        }
        cursor.save(transport).await;
    }
}

/// The ledger's read-only connection, opened when first needed.
fn opened(
    ledger: &mut Option<LedgerStore>,
    source: &LedgerSource,
    destination: &str,
) -> Option<LedgerStore> {
    if let Some(store) = ledger {
        return Some(store.clone());
    }
    match LedgerStore::open_read_only(&source.ledger) {
        Ok(store) => Some(ledger.insert(store).clone()),
        Err(e) => {
            tracing::error!(destination, error = %e,
                "could not open the ledger to forward what was missed (tried again)");
            None
        }
    }
}

/// Syslog in clear goes only to a relay on loopback.
fn in_clear_to_loopback(config: &ForwardConfig) -> Result<(), ForwardError> {
    for (option, addr) in [
        ("syslog_tcp", config.syslog_tcp),
        ("syslog_udp", config.syslog_udp),
    ] {
        if let Some(addr) = addr.filter(|a| !a.ip().is_loopback()) {
            return Err(ForwardError::Cleartext { option, addr });
        }
    }
    Ok(())
}

/// `host:port` (a bracketed IPv6 address as the host).
fn host_and_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = match host.strip_prefix('[') {
        Some(h) => h
            .strip_suffix(']')?
            .parse::<std::net::Ipv6Addr>()
            .ok()?
            .to_string(),
        None if !host.is_empty() && !host.contains(':') => host.to_owned(),
        None => return None,
    };
    Some((host, port))
}

/// The TLS client of `[forward] syslog_tls`: the SIEM's certificate checked against the given
/// authorities or the system's roots, and the client certificate where one is given.
fn tls_client(c: &SyslogTlsConfig) -> Result<rustls::ClientConfig, ForwardError> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    use rustls_platform_verifier::BuilderVerifierExt;
    let tls = |e: rustls::Error| ForwardError::Tls(e.to_string());
    let certificates = |option: &'static str, path: &PathBuf| {
        crate::ca_file::read(path)
            .map(|f| f.certificates)
            .map_err(|why| ForwardError::Certificates {
                option,
                path: path.display().to_string(),
                why,
            })
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls)?;
    let builder = match &c.ca_file {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates("syslog_tls_ca_file", path)? {
                roots.add(cert).map_err(|e| ForwardError::Certificates {
                    option: "syslog_tls_ca_file",
                    path: path.display().to_string(),
                    why: e.to_string(),
                })?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder.with_platform_verifier().map_err(tls)?,
    };
    match (&c.client_cert, &c.client_key) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = certificates("syslog_tls_client_cert", cert)?;
            let pem = vault::owner_only::read(key, "forward.syslog_tls_client_key")?;
            let key =
                PrivateKeyDer::from_pem_slice(&pem).map_err(|e| ForwardError::Certificates {
                    option: "syslog_tls_client_key",
                    path: key.display().to_string(),
                    why: format!("not a PEM private key ({e})"),
                })?;
            builder.with_client_auth_cert(chain, key).map_err(tls)
        }
        _ => Err(ForwardError::ClientPair),
    }
}

/// How records reach a destination.
enum Transport {
    SyslogTls {
        /// As configured (the destination's name).
        configured: String,
        server: String,
        port: u16,
        name: rustls::pki_types::ServerName<'static>,
        connector: tokio_rustls::TlsConnector,
        host: String,
        stream: Stream<Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>>,
    },
    SyslogTcp {
        addr: SocketAddr,
        host: String,
        stream: Stream<tokio::net::TcpStream>,
    },
    SyslogUdp {
        addr: SocketAddr,
        host: String,
        socket: Option<tokio::net::UdpSocket>,
    },
    JsonlFile {
        path: PathBuf,
        file: Option<tokio::fs::File>,
    },
}

impl Transport {
    /// The destination as its cursor is named: its kind and address or path (a destination
    /// moved elsewhere starts afresh).
    fn name(&self) -> String {
        match self {
            Transport::SyslogTls { configured, .. } => format!("syslog-tls {configured}"),
            Transport::SyslogTcp { addr, .. } => format!("syslog-tcp {addr}"),
            Transport::SyslogUdp { addr, .. } => format!("syslog-udp {addr}"),
            Transport::JsonlFile { path, .. } => format!("jsonl-file {}", path.display()),
        }
    }

    /// Makes what was sent durable where this host can: the events file's data flushed to its
    /// disk (a SIEM's socket gives no such answer: [`Stream`] writes the last messages again
    /// where a connection fails).
    async fn sync(&mut self) -> std::io::Result<()> {
        match self {
            Transport::JsonlFile { file: Some(f), .. } => f.sync_data().await,
            _ => Ok(()),
        }
    }

    /// Sends `r`: over TLS and TCP, reconnecting with a growing pause until it is written; over
    /// UDP, one datagram (no answer to wait for); to the file, again after a pause while
    /// writing fails.
    async fn send(&mut self, r: &Forwarded, health: &mut Health) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let sent = match self {
                Transport::SyslogTls {
                    server,
                    port,
                    name,
                    connector,
                    host,
                    stream,
                    ..
                } => {
                    let connect = async {
                        let tcp = within(
                            CONNECT_TIMEOUT,
                            tokio::net::TcpStream::connect((server.as_str(), *port)),
                        )
                        .await?;
                        let mut tls = Box::new(
                            within(CONNECT_TIMEOUT, connector.connect(name.clone(), tcp)).await?,
                        );
                        // A SIEM that refuses the client certificate (or any) says so now.
                        refused(&mut tls, REFUSAL_WAIT).await?;
                        Ok(tls)
                    };
                    stream.write(connect, &syslog_line(r, host)).await
                }
                Transport::SyslogTcp { addr, host, stream } => {
                    let connect = within(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(*addr));
                    stream.write(connect, &syslog_line(r, host)).await
                }
                Transport::SyslogUdp { addr, host, socket } => {
                    let socket = match socket {
                        Some(s) => s,
                        None => {
                            let bind: SocketAddr = if addr.is_ipv4() {
                                "0.0.0.0:0"
                            } else {
                                "[::]:0"
                            }
                            .parse()
                            .unwrap_or(*addr);
                            match tokio::net::UdpSocket::bind(bind).await {
                                Ok(s) => socket.insert(s),
                                Err(e) => {
                                    tracing::error!(error = %e, "syslog (udp): cannot open a socket; retrying");
                                    tokio::time::sleep(backoff).await;
                                    backoff = (backoff * 2).min(Duration::from_secs(30));
                                    continue;
                                }
                            }
                        }
                    };
                    let msg = syslog_line(r, host);
                    let bytes = &msg.as_bytes()[..msg.len().min(MAX_DATAGRAM)];
                    let _ = socket.send_to(bytes, *addr).await;
                    health.working().await;
                    return;
                }
                Transport::JsonlFile { path, file } => {
                    let line = format!("{{\"seq\":{},\"event\":{}}}\n", r.seq, r.json);
                    match open_append(path, file).await {
                        Ok(f) => match f.write_all(line.as_bytes()).await {
                            Ok(()) => Ok(()),
                            Err(e) => {
                                *file = None;
                                Err(e.to_string())
                            }
                        },
                        Err(e) => Err(e.to_string()),
                    }
                }
            };
            match sent {
                Ok(()) => {
                    health.working().await;
                    return;
                }
                Err(why) => {
                    let name = self.name();
                    tracing::warn!(destination = %name, error = %why, "forwarding failed; retrying");
                    health.failed(&why).await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

/// `f`, failed after `limit`.
async fn within<T>(
    limit: Duration,
    f: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
    }
}

/// Whether the peer of a syslog stream (which never sends anything) has closed it or sent an
/// alert within `wait` (zero: only what has arrived already): the stream is not to be written.
async fn refused(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    wait: Duration,
) -> Result<(), String> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(wait, stream.read(&mut byte)).await {
        Err(_) | Ok(Ok(1..)) => Ok(()),
        Ok(Ok(0)) => Err("the receiver closed the connection".into()),
        Ok(Err(e)) => Err(e.to_string()),
    }
}

/// A syslog connection to a SIEM (TCP or TLS), and the messages lately written to it. A
/// write that succeeded only handed the message to this host's socket: a receiver that dies or
/// drops the connection loses what sat unread in the buffers between. So the messages written
/// in the last [`RESEND_SECS`] (at most [`RESEND_BYTES`] of them) are written again, first, on
/// the connection that replaces a failed one; a receiver knows a record it had by its `seq`.
struct Stream<S> {
    conn: Option<S>,
    /// Framed messages, with when each was written.
    recent: std::collections::VecDeque<(std::time::Instant, String)>,
    recent_bytes: usize,
}

impl<S> Default for Stream<S> {
    fn default() -> Self {
        Self {
            conn: None,
            recent: std::collections::VecDeque::new(),
            recent_bytes: 0,
        }
    }
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Stream<S> {
    /// Writes `msg` octet-counted (RFC 6587, RFC 5425), connected first by `connect` when there
    /// is no connection (and then the recent messages again); a connection the receiver has
    /// closed, or that fails or takes longer than [`WRITE_TIMEOUT`], is dropped (the message is
    /// then written to the next one).
    async fn write(
        &mut self,
        connect: impl std::future::Future<Output = Result<S, String>>,
        msg: &str,
    ) -> Result<(), String> {
        let framed = format!("{} {msg}", msg.len());
        let fresh = self.conn.is_none();
        let Stream { conn, recent, .. } = self;
        let s = match conn {
            Some(s) => s,
            None => conn.insert(connect.await?),
        };
        if fresh && !recent.is_empty() {
            tracing::info!(
                messages = recent.len(),
                "syslog: the messages written lately to the connection that failed are written again"
            );
        }
        let written = async {
            refused(s, Duration::ZERO).await?;
            within(WRITE_TIMEOUT, async {
                if fresh {
                    for (_, m) in recent.iter() {
                        s.write_all(m.as_bytes()).await?;
                    }
                }
                s.write_all(framed.as_bytes()).await?;
                s.flush().await
            })
            .await
        };
        let outcome = written.await;
        let now = std::time::Instant::now();
        match outcome {
            Ok(()) if fresh => {
                self.written_again(now);
                self.wrote(framed, now);
            }
            Ok(()) => self.wrote(framed, now),
            Err(_) => self.conn = None,
        }
        outcome
    }

    /// The recent messages were written again, at `at`, on a new connection: they are kept as
    /// written then, so that only a connection that lasts lets them go (a SIEM that refuses
    /// every connection, once its refusal comes after the first message, would otherwise see
    /// them age out, unread, after [`RESEND_SECS`]).
    fn written_again(&mut self, at: std::time::Instant) {
        for (t, _) in self.recent.iter_mut() {
            *t = at;
        }
    }

    /// `framed` was written at `at`: kept, and what is now too old or too much forgotten.
    fn wrote(&mut self, framed: String, at: std::time::Instant) {
        self.recent_bytes += framed.len();
        self.recent.push_back((at, framed));
        while let Some((t, m)) = self.recent.front() {
            if self.recent_bytes <= RESEND_BYTES
                && at.duration_since(*t) <= Duration::from_secs(RESEND_SECS)
            {
                break;
            }
            self.recent_bytes -= m.len();
            self.recent.pop_front();
        }
    }
}

/// The events file, opened (created 0600) for appending if it is not yet.
async fn open_append<'a>(
    path: &PathBuf,
    file: &'a mut Option<tokio::fs::File>,
) -> std::io::Result<&'a mut tokio::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(f) = file {
        return Ok(f);
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    Ok(file.insert(tokio::fs::File::from_std(f)))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "-".into())
}

/// One RFC 5424 message.
pub fn syslog_line(r: &Forwarded, host: &str) -> String {
    let ts = humantime_rfc3339(r.time);
    format!(
        "<{PRI}>1 {ts} {host} strongroom {} {} [strongroom@32473 seq=\"{}\"] {}",
        std::process::id(),
        r.kind,
        r.seq,
        r.json
    )
}

fn humantime_rfc3339(t: i64) -> String {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_in_clear_goes_only_to_loopback() {
        let config = |tcp: &str, udp: &str| ForwardConfig {
            syslog_tcp: Some(tcp.parse().unwrap()),
            syslog_udp: Some(udp.parse().unwrap()),
            ..ForwardConfig::default()
        };
        assert!(in_clear_to_loopback(&config("127.0.0.1:514", "[::1]:514")).is_ok());
        assert!(in_clear_to_loopback(&config("127.9.9.9:514", "127.0.0.1:514")).is_ok());
        assert!(in_clear_to_loopback(&ForwardConfig::default()).is_ok());
        for (tcp, udp, refused) in [
            (
                "10.0.0.5:514",
                "127.0.0.1:514",
                "syslog_tcp would send the ledger's records in clear: only to a relay on loopback, not 10.0.0.5:514",
            ),
            (
                "127.0.0.1:514",
                "[2001:db8::5]:514",
                "syslog_udp would send the ledger's records in clear: only to a relay on loopback, not [2001:db8::5]:514",
            ),
            (
                "127.0.0.1:514",
                "[::ffff:10.0.0.5]:514",
                "not [::ffff:10.0.0.5]:514",
            ),
        ] {
            let e = in_clear_to_loopback(&config(tcp, udp))
                .unwrap_err()
                .to_string();
            assert!(e.contains(refused), "{e}");
        }
    }

    #[test]
    fn the_messages_kept_to_write_again_are_the_last_seconds_and_bounded() {
        let mut s: Stream<tokio::net::TcpStream> = Stream::default();
        let t0 = std::time::Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        s.wrote("a".repeat(100), at(0));
        s.wrote("b".repeat(100), at(10));
        s.wrote("c".repeat(100), at(RESEND_SECS));
        assert_eq!((s.recent.len(), s.recent_bytes), (3, 300));
        // Older than RESEND_SECS at the newest message's time: forgotten.
        s.wrote("d".repeat(100), at(RESEND_SECS + 5));
        let kept: Vec<char> = s
            .recent
            .iter()
            .map(|(_, m)| m.chars().next().unwrap())
            .collect();
        assert_eq!(kept, ['b', 'c', 'd']);
        assert_eq!(s.recent_bytes, 300);
        // Beyond RESEND_BYTES: the oldest forgotten, whatever their age.
        s.wrote("e".repeat(RESEND_BYTES - 150), at(RESEND_SECS + 6));
        let kept: Vec<char> = s
            .recent
            .iter()
            .map(|(_, m)| m.chars().next().unwrap())
            .collect();
        assert_eq!(kept, ['d', 'e']);
        assert_eq!(s.recent_bytes, RESEND_BYTES - 50);
    }

    #[test]
    fn messages_written_again_are_kept_as_new() {
        let mut s: Stream<tokio::net::TcpStream> = Stream::default();
        let t0 = std::time::Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        s.wrote("a".into(), at(0));
        s.wrote("b".into(), at(10));
        // A new connection at 25 s: both written again then.
        s.written_again(at(25));
        s.wrote("c".into(), at(50));
        assert_eq!(s.recent.len(), 3);
        // 30 s after they were written again, they go.
        s.wrote("d".into(), at(56));
        let kept: Vec<&str> = s.recent.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(kept, ["c", "d"]);
    }

    #[test]
    fn a_siem_is_a_host_and_a_port() {
        let hp = |s: &str| host_and_port(s);
        assert_eq!(
            hp("siem.bank.example:6514"),
            Some(("siem.bank.example".into(), 6514))
        );
        assert_eq!(hp("10.0.0.5:6514"), Some(("10.0.0.5".into(), 6514)));
        assert_eq!(hp("[2001:db8::5]:6514"), Some(("2001:db8::5".into(), 6514)));
        for bad in [
            "siem.bank.example",
            ":6514",
            "2001:db8::5:6514",
            "[siem]:6514",
            "siem:65536",
            "siem:",
        ] {
            assert_eq!(hp(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_tls_clients_files_are_checked_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let config = |ca: Option<&str>, cert: Option<&str>, key: Option<&str>| SyslogTlsConfig {
            server: "siem.bank.example:6514".into(),
            ca_file: ca.map(|f| dir.path().join(f)),
            client_cert: cert.map(|f| dir.path().join(f)),
            client_key: key.map(|f| dir.path().join(f)),
        };
        let refused = |c: SyslogTlsConfig| tls_client(&c).err().unwrap().to_string();
        let e = refused(config(Some("gone.pem"), None, None));
        assert!(
            e.starts_with(&format!(
                "forward.syslog_tls_ca_file {}: ",
                dir.path().join("gone.pem").display()
            )),
            "{e}"
        );
        std::fs::write(dir.path().join("empty.pem"), "not a certificate\n").unwrap();
        let e = refused(config(Some("empty.pem"), None, None));
        assert!(e.ends_with("empty.pem: holds no PEM certificate"), "{e}");
        let e = refused(config(None, Some("empty.pem"), None));
        assert_eq!(
            e,
            "forward.syslog_tls_client_cert and forward.syslog_tls_client_key go together"
        );
        // The system's roots, no client certificate: a client.
        assert!(tls_client(&config(None, None, None)).is_ok());
    }

    #[test]
    fn syslog_lines_follow_rfc5424() {
        let r = Forwarded {
            seq: 42,
            time: 1_763_700_000,
            kind: "auth".into(),
            json: r#"{"kind":"auth"}"#.into(),
        };
        assert_eq!(
            syslog_line(&r, "vault1"),
            format!(
                "<110>1 2025-11-21T04:40:00Z vault1 strongroom {} auth [strongroom@32473 seq=\"42\"] {{\"kind\":\"auth\"}}",
                std::process::id()
            )
        );
    }
}
