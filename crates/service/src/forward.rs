//! Forwarding ledger records to a SIEM: RFC 5424 syslog over TCP (octet-counted framing,
//! RFC 6587) and UDP, and JSON lines appended to a file. The ledger writer hands over each
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
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use vault::LedgerBodyKey;

/// Where to forward, from `[forward]` in the config.
#[derive(Debug, Clone, Default)]
pub struct ForwardConfig {
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_udp: Option<SocketAddr>,
    pub jsonl_file: Option<PathBuf>,
    /// Records each destination may hold while it is slow or down (beyond, they are sent from
    /// the ledger once it takes them again).
    pub buffer: usize,
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
    /// start: a new destination is not sent the ledger's past).
    pub async fn start(config: &ForwardConfig, source: LedgerSource, head: u64) -> Self {
        let buffer = config.buffer.max(1);
        let host = hostname();
        let mut transports = Vec::new();
        if let Some(addr) = config.syslog_tcp {
            transports.push(Transport::SyslogTcp {
                addr,
                host: host.clone(),
                stream: None,
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
            };
            tokio::spawn(run(transport, rx, cursor, source.clone()));
            destinations.push(Destination {
                name,
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            });
        }
        Self { destinations }
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
}

impl Cursor {
    async fn save(&mut self) {
        if self.sent == self.saved {
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
                cursor.save().await;
                continue;
            }
        };
        let Some(record) = record else {
            cursor.save().await;
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
        transport.send(&record).await;
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
                    transport.send(&record).await;
                }
                None => tracing::error!(destination = %cursor.name, seq,
                    "a ledger record's body does not open; not forwarded"),
            }
            cursor.sent = seq;
        }
        cursor.save().await;
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

/// How records reach a destination.
enum Transport {
    SyslogTcp {
        addr: SocketAddr,
        host: String,
        stream: Option<tokio::net::TcpStream>,
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
            Transport::SyslogTcp { addr, .. } => format!("syslog-tcp {addr}"),
            Transport::SyslogUdp { addr, .. } => format!("syslog-udp {addr}"),
            Transport::JsonlFile { path, .. } => format!("jsonl-file {}", path.display()),
        }
    }

    /// Sends `r`: over TCP, reconnecting with a growing pause until it is written; over UDP,
    /// one datagram (no answer to wait for); to the file, again after a pause while writing
    /// fails.
    async fn send(&mut self, r: &Forwarded) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let sent = match self {
                Transport::SyslogTcp { addr, host, stream } => {
                    let msg = syslog_line(r, host);
                    let framed = format!("{} {msg}", msg.len());
                    let connected = match stream {
                        Some(s) => Ok(s),
                        None => {
                            (tokio::net::TcpStream::connect(*addr).await).map(|s| stream.insert(s))
                        }
                    };
                    match connected {
                        Ok(s) => match s.write_all(framed.as_bytes()).await {
                            Ok(()) => Ok(()),
                            Err(e) => {
                                *stream = None;
                                Err(e.to_string())
                            }
                        },
                        Err(e) => Err(e.to_string()),
                    }
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
                Ok(()) => return,
                Err(why) => {
                    let name = self.name();
                    tracing::warn!(destination = %name, error = %why, "forwarding failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
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
