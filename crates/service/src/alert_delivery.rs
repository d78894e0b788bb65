//! Delivery of alerts beyond the ledger (whose forwarder already sends every alert record to
//! syslog and JSON lines): a webhook (an HTTP POST of the alert's JSON, signed with
//! HMAC-SHA256 by the vault) and e-mail over SMTP. Delivery never holds up containment or a
//! transfer: each destination has a bounded queue (an alert that does not fit is dropped,
//! counted and logged) and its own task, which retries with backoff.
//!
//! Never here: deciding what is an alert, storing it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::mpsc;
use vault::webhook::WebhookSecret;

use crate::clock::Clock;
use crate::detection::AlertRecord;

/// Attempts per alert and destination (1 s, 2 s, 4 s, ... apart).
pub const ATTEMPTS: u32 = 6;
/// Longest a webhook request may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// How a connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (port 465).
    Tls,
    /// STARTTLS, required (port 587).
    StartTls,
    /// None: only for a relay on the same host or a test receiver on loopback.
    None,
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `https://…`; `http://` only to a receiver on loopback.
    pub url: String,
    /// The owner-only file holding the shared secret every delivery is signed with.
    pub secret_file: PathBuf,
}

/// Why alert delivery could not start (the server refuses to start: an operator who
/// configured a destination expects alerts to arrive there).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Secret(#[from] vault::webhook::WebhookSecretError),
    #[error("alerts.webhook_url '{0}' is not a URL")]
    Url(String),
    #[error("alerts.webhook_url '{0}' must use https (plain http only to a receiver on loopback)")]
    PlainHttp(String),
    #[error("alerts.smtp_security = \"none\" is only allowed to a relay on loopback, not {0}")]
    PlainSmtp(String),
    #[error("alerts.{0} '{1}' is not an e-mail address")]
    Address(&'static str, String),
    #[error("alert delivery could not start: {0}")]
    Start(String),
}

#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub from: String,
    pub to: Vec<String>,
}

/// `[alerts]`: where alerts go besides the ledger.
#[derive(Debug, Clone, Default)]
pub struct DeliveryConfig {
    pub webhook: Option<WebhookConfig>,
    pub email: Option<EmailConfig>,
    /// Alerts queued per destination before new ones are dropped.
    pub queue: usize,
}

/// The running destinations.
#[derive(Default)]
pub struct Deliveries {
    queues: Vec<(&'static str, mpsc::Sender<Arc<AlertRecord>>)>,
    dropped: AtomicU64,
}

impl Deliveries {
    /// Checks the configuration, reads the webhook secret and starts a task per configured
    /// destination (on the current tokio runtime).
    pub fn start(config: &DeliveryConfig, clock: Arc<dyn Clock>) -> Result<Self, DeliveryError> {
        let mut queues = Vec::new();
        let capacity = config.queue.max(1);
        if let Some(w) = &config.webhook {
            let url = reqwest::Url::parse(&w.url).map_err(|_| DeliveryError::Url(w.url.clone()))?;
            match url.scheme() {
                "https" => {}
                "http" if is_loopback(url.host_str().unwrap_or_default()) => {}
                _ => return Err(DeliveryError::PlainHttp(w.url.clone())),
            }
            let secret = WebhookSecret::load(&w.secret_file)?;
            let client = reqwest::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("strongroom/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| DeliveryError::Start(e.to_string()))?;
            let (tx, rx) = mpsc::channel(capacity);
            tokio::spawn(webhook(client, url, secret, clock.clone(), rx));
            queues.push(("webhook", tx));
        }
        if let Some(e) = &config.email {
            if e.security == SmtpSecurity::None && !is_loopback(&e.host) {
                return Err(DeliveryError::PlainSmtp(e.host.clone()));
            }
            let from: Mailbox = e
                .from
                .parse()
                .map_err(|_| DeliveryError::Address("smtp_from", e.from.clone()))?;
            let to =
                e.to.iter()
                    .map(|a| {
                        a.parse::<Mailbox>()
                            .map_err(|_| DeliveryError::Address("smtp_to", a.clone()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
            let transport = smtp_transport(e)?;
            let (tx, rx) = mpsc::channel(capacity);
            tokio::spawn(email(transport, from, to, rx));
            queues.push(("email", tx));
        }
        Ok(Self {
            queues,
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues `alert` for every destination, without waiting.
    pub fn deliver(&self, alert: &AlertRecord) {
        let alert = Arc::new(alert.clone());
        for (name, q) in &self.queues {
            if q.try_send(alert.clone()).is_err() {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(destination = name, alert = %alert.id, dropped = n,
                    "alert delivery queue full: an alert was not delivered there (it is in the ledger)");
            }
        }
    }

    /// Alerts dropped so far (queues full).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Tries `attempt` up to [`ATTEMPTS`] times with doubling pauses; logs the outcome.
async fn with_retries<F, Fut>(destination: &str, alert: &str, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut pause = Duration::from_secs(1);
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(()) => {
                tracing::info!(destination, alert, attempt = n, "alert delivered");
                return;
            }
            Err(why) if n == ATTEMPTS => {
                tracing::error!(destination, alert, %why, "alert not delivered; giving up");
            }
            Err(why) => {
                tracing::warn!(destination, alert, %why, attempt = n, "alert delivery failed; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
}

/// Whether `host` (a name or an address, IPv6 possibly in brackets) is this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn webhook(
    client: reqwest::Client,
    url: reqwest::Url,
    secret: WebhookSecret,
    clock: Arc<dyn Clock>,
    mut rx: mpsc::Receiver<Arc<AlertRecord>>,
) {
    while let Some(alert) = rx.recv().await {
        let body = serde_json::to_vec(alert.as_ref()).unwrap_or_default();
        with_retries("webhook", &alert.id, || {
            // Signed at each attempt, so a retry carries a fresh timestamp.
            let request = client
                .post(url.clone())
                .header("content-type", "application/json")
                .header(
                    "x-strongroom-signature",
                    secret.sign(clock.now().as_millis() / 1000, &body),
                )
                .body(body.clone());
            async move {
                let response = request.send().await.map_err(|e| e.to_string())?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("HTTP {}", response.status()))
                }
            }
        })
        .await;
    }
}

type SmtpTransport = lettre::AsyncSmtpTransport<lettre::Tokio1Executor>;

fn smtp_transport(config: &EmailConfig) -> Result<SmtpTransport, DeliveryError> {
    let builder = match config.security {
        SmtpSecurity::Tls => SmtpTransport::relay(&config.host),
        SmtpSecurity::StartTls => SmtpTransport::starttls_relay(&config.host),
        SmtpSecurity::None => Ok(SmtpTransport::builder_dangerous(&config.host)),
    };
    builder
        .map(|b| b.port(config.port).build())
        .map_err(|e| DeliveryError::Start(e.to_string()))
}

async fn email(
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    mut rx: mpsc::Receiver<Arc<AlertRecord>>,
) {
    use lettre::message::header::ContentType;
    use lettre::{AsyncTransport, Message};
    while let Some(alert) = rx.recv().await {
        let subject = format!(
            "[Strongroom] {} alert: {} ({})",
            alert.severity.as_str(),
            alert.rule,
            alert.account.as_deref().unwrap_or("-")
        );
        let text = format!(
            "{}\n\nActions taken: {}\nAlert {} at {}\n\n{}\n",
            alert.summary,
            if alert.actions.is_empty() {
                "none (alert only)".to_owned()
            } else {
                alert.actions.join(", ")
            },
            alert.id,
            alert.time,
            serde_json::to_string_pretty(alert.as_ref()).unwrap_or_default()
        );
        let mut message = Message::builder()
            .from(from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for m in &to {
            message = message.to(m.clone());
        }
        let message = match message.body(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "an alert e-mail could not be built");
                continue;
            }
        };
        with_retries("email", &alert.id, || {
            let (transport, message) = (transport.clone(), message.clone());
            async move {
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await;
    }
}
