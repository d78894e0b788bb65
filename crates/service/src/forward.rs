//! Forwarding ledger records to a SIEM: RFC 5424 syslog over TCP (octet-counted framing,
//! RFC 6587) and UDP, and JSON lines appended to a file. The ledger writer hands over each
//! committed record without waiting: every destination has a bounded queue, and what does not
//! fit is dropped, counted and reported in the log. Forwarding never slows a transfer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Where to forward, from `[forward]` in the config.
#[derive(Debug, Clone, Default)]
pub struct ForwardConfig {
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_udp: Option<SocketAddr>,
    pub jsonl_file: Option<PathBuf>,
    /// Records each destination may hold while it is slow or down.
    pub buffer: usize,
}

/// A committed record, as forwarded.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub seq: u64,
    pub time: i64,
    pub kind: &'static str,
    /// The event as JSON (in clear: the SIEM is the reader).
    pub json: String,
}

/// syslog facility 13 (log audit) at severity 6 (informational).
const PRI: u8 = 13 * 8 + 6;
/// Largest UDP datagram sent (longer messages are cut).
const MAX_DATAGRAM: usize = 8192;

struct Destination {
    name: &'static str,
    tx: mpsc::Sender<Arc<Forwarded>>,
    dropped: Arc<AtomicU64>,
}

#[derive(Default)]
pub struct Forwarder {
    destinations: Vec<Destination>,
}

impl Forwarder {
    /// Starts one task per configured destination.
    pub fn start(config: &ForwardConfig) -> Self {
        let mut destinations = Vec::new();
        let buffer = config.buffer.max(1);
        let host = hostname();
        let mut add = |name: &'static str, spawn: &dyn Fn(mpsc::Receiver<Arc<Forwarded>>)| {
            let (tx, rx) = mpsc::channel(buffer);
            spawn(rx);
            destinations.push(Destination {
                name,
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            });
        };
        if let Some(addr) = config.syslog_tcp {
            let host = host.clone();
            add("syslog-tcp", &|rx| {
                tokio::spawn(syslog_tcp(addr, host.clone(), rx));
            });
        }
        if let Some(addr) = config.syslog_udp {
            let host = host.clone();
            add("syslog-udp", &|rx| {
                tokio::spawn(syslog_udp(addr, host.clone(), rx));
            });
        }
        if let Some(path) = &config.jsonl_file {
            let path = path.clone();
            add("jsonl-file", &|rx| {
                tokio::spawn(jsonl_file(path.clone(), rx));
            });
        }
        Self { destinations }
    }

    /// Hands a record to every destination without waiting.
    pub fn send(&self, record: Arc<Forwarded>) {
        for d in &self.destinations {
            if d.tx.try_send(record.clone()).is_err() {
                let n = d.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        destination = d.name,
                        dropped = n,
                        "forwarder queue full: records dropped (they remain in the ledger)"
                    );
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.destinations.is_empty()
    }
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

async fn syslog_tcp(addr: SocketAddr, host: String, mut rx: mpsc::Receiver<Arc<Forwarded>>) {
    let mut backoff = Duration::from_millis(200);
    let mut pending: Option<Arc<Forwarded>> = None;
    loop {
        let mut stream = match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => {
                backoff = Duration::from_millis(200);
                s
            }
            Err(e) => {
                tracing::warn!(%addr, error = %e, "syslog (tcp) unreachable; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        loop {
            let record = match pending.take() {
                Some(r) => r,
                None => match rx.recv().await {
                    Some(r) => r,
                    None => return,
                },
            };
            let msg = syslog_line(&record, &host);
            let framed = format!("{} {msg}", msg.len());
            if stream.write_all(framed.as_bytes()).await.is_err() {
                pending = Some(record);
                break;
            }
        }
    }
}

async fn syslog_udp(addr: SocketAddr, host: String, mut rx: mpsc::Receiver<Arc<Forwarded>>) {
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .unwrap_or(addr);
    let socket = match tokio::net::UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "syslog (udp): cannot open a socket; forwarding off");
            return;
        }
    };
    while let Some(record) = rx.recv().await {
        let msg = syslog_line(&record, &host);
        let bytes = &msg.as_bytes()[..msg.len().min(MAX_DATAGRAM)];
        let _ = socket.send_to(bytes, addr).await;
    }
}

async fn jsonl_file(path: PathBuf, mut rx: mpsc::Receiver<Arc<Forwarded>>) {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path);
    let mut file = match file {
        Ok(f) => tokio::fs::File::from_std(f),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "events file: cannot open; forwarding off");
            return;
        }
    };
    while let Some(r) = rx.recv().await {
        let line = format!("{{\"seq\":{},\"event\":{}}}\n", r.seq, r.json);
        if let Err(e) = file.write_all(line.as_bytes()).await {
            tracing::warn!(path = %path.display(), error = %e, "events file: write failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_lines_follow_rfc5424() {
        let r = Forwarded {
            seq: 42,
            time: 1_763_700_000,
            kind: "auth",
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
