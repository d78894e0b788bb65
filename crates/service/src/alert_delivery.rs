//! Delivery of alerts beyond the ledger (whose forwarder already sends every alert record to
//! syslog and JSON lines): a webhook (an HTTP POST of the alert's JSON, signed with
//! HMAC-SHA256 by the vault) and e-mail over SMTP. Delivery never holds up containment or a
//! transfer: an alert is queued in the catalog for each destination (`alert_deliveries`: a
//! bounded number waiting, beyond which it is given up there, counted and logged) and each
//! destination's task tries it, again after a failure with a growing pause, for a day. The
//! queue outlives the process: an alert raised before a restart, or while its receiver was
//! down, is delivered once it can be, by whichever server on the catalog holds it first.
//!
//! Never here: deciding what is an alert, storing it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use catalog::Catalog;
use lettre::message::Mailbox;
use tokio::sync::Notify;
use vault::webhook::WebhookSecret;

use crate::clock::Clock;
use crate::detection::AlertRecord;

/// How long an alert's delivery is tried, from the alert's time: a day. A receiver down longer
/// is an outage its log and `alert show` say; the alert is in the ledger and the catalog.
pub const TRY_FOR: Duration = Duration::from_secs(86_400);
/// The pause before an alert's second attempt, doubling after each failure to [`LONGEST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(300);
/// After a failed attempt, how long a destination's task waits before its next (doubling while
/// they fail, from [`FIRST_RETRY`]): a receiver that is down is not tried for every alert
/// waiting at once.
const LONGEST_DESTINATION_PAUSE: Duration = Duration::from_secs(60);
/// How long a delivery being tried is held (past a webhook's timeout and an SMTP exchange): no
/// other server tries it meanwhile, and one that stopped mid-attempt leaves it to be tried again
/// then.
const HOLD: Duration = Duration::from_secs(120);
/// How often a destination's task looks for deliveries due when nothing woke it (retries come
/// due; another server's alerts).
const LOOK_EVERY: Duration = Duration::from_secs(2);
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
    /// PEM certificates of the authorities the receiver's certificate is checked against
    /// (the system's trusted roots when not given).
    pub ca_file: Option<PathBuf>,
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
    #[error("alerts.smtp_ca_file is for a relay reached over TLS (smtp_security tls or starttls)")]
    CaWithoutTls,
    #[error("alerts.{option} {path}: {why}")]
    CaFile {
        option: &'static str,
        path: String,
        why: String,
    },
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
    /// PEM certificates of the authorities the relay's certificate is checked against (the
    /// system's trusted roots when not given).
    pub ca_file: Option<PathBuf>,
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
pub struct Deliveries {
    catalog: Catalog,
    clock: Arc<dyn Clock>,
    /// Each configured destination's name and what wakes its task.
    destinations: Vec<(&'static str, Arc<Notify>)>,
    /// Deliveries waiting per destination before new ones are given up.
    queue: i64,
    dropped: AtomicU64,
}

impl Deliveries {
    /// Checks the configuration, reads the webhook secret and starts a task per configured
    /// destination (on the current tokio runtime), which takes up the deliveries left waiting
    /// (those of destinations no longer configured are given up).
    pub async fn start(
        config: &DeliveryConfig,
        catalog: Catalog,
        clock: Arc<dyn Clock>,
        events: Arc<dyn events::EventSink>,
    ) -> Result<Self, DeliveryError> {
        let mut destinations = Vec::new();
        if let Some(w) = &config.webhook {
            let url = reqwest::Url::parse(&w.url).map_err(|_| DeliveryError::Url(w.url.clone()))?;
            match url.scheme() {
                "https" => {}
                "http" if is_loopback(url.host_str().unwrap_or_default()) => {}
                _ => return Err(DeliveryError::PlainHttp(w.url.clone())),
            }
            let secret = WebhookSecret::load(&w.secret_file)?;
            let mut client = reqwest::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("strongroom/", env!("CARGO_PKG_VERSION")));
            if let Some(path) = &w.ca_file {
                let ca = ca_file("webhook_ca_file", path)?;
                let roots = reqwest::Certificate::from_pem_bundle(&ca.pem)
                    .map_err(|e| DeliveryError::Start(e.to_string()))?;
                client = client.tls_certs_only(roots);
            }
            let client = client
                .build()
                .map_err(|e| DeliveryError::Start(e.to_string()))?;
            destinations.push(Destination::Webhook {
                client,
                url,
                secret,
                clock: clock.clone(),
            });
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
            destinations.push(Destination::Email {
                transport,
                from,
                to,
            });
        }
        let names: Vec<&'static str> = destinations.iter().map(Destination::name).collect();
        let now = clock.now().as_millis();
        let why = "its destination is no longer configured";
        match catalog
            .give_up_alert_deliveries_except(&names, now, why)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                deliveries = n,
                "alert deliveries to destinations no longer configured given up"
            ),
            Err(e) => tracing::error!(error = %e, "could not read the alert deliveries waiting"),
        }
        let mut started = Vec::new();
        for destination in destinations {
            let wake = Arc::new(Notify::new());
            started.push((destination.name(), wake.clone()));
            let parts = Parts {
                catalog: catalog.clone(),
                clock: clock.clone(),
                events: events.clone(),
            };
            tokio::spawn(run(destination, parts, wake));
        }
        Ok(Self {
            catalog,
            clock,
            destinations: started,
            queue: i64::try_from(config.queue.max(1)).unwrap_or(i64::MAX),
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues `alert` (stored in the catalog already) for every destination and wakes their
    /// tasks; never waits for a delivery.
    pub async fn deliver(&self, alert: &AlertRecord) {
        let now = self.clock.now().as_millis();
        for (name, wake) in &self.destinations {
            match (self.catalog)
                .queue_alert_delivery(&alert.id, name, now, self.queue)
                .await
            {
                Ok(true) => wake.notify_one(),
                Ok(false) => {
                    let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::error!(destination = name, alert = %alert.id, dropped = n,
                        "alert delivery queue full: an alert is not delivered there (it is in the ledger)");
                }
                Err(e) => tracing::error!(destination = name, alert = %alert.id, error = %e,
                    "an alert's delivery could not be queued (it is in the ledger)"),
            }
        }
    }

    /// Alerts given up so far because their destination's queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A configured destination and what it needs to send.
enum Destination {
    Webhook {
        client: reqwest::Client,
        url: reqwest::Url,
        secret: WebhookSecret,
        clock: Arc<dyn Clock>,
    },
    Email {
        transport: SmtpTransport,
        from: Mailbox,
        to: Vec<Mailbox>,
    },
}

impl Destination {
    /// As the catalog's queue names it.
    fn name(&self) -> &'static str {
        match self {
            Destination::Webhook { .. } => "webhook",
            Destination::Email { .. } => "email",
        }
    }

    /// One attempt at delivering `alert` (`body`: its JSON as stored); why it failed.
    async fn attempt(&self, alert: &AlertRecord, body: &str) -> Result<(), String> {
        match self {
            Destination::Webhook {
                client,
                url,
                secret,
                clock,
            } => {
                // Signed at each attempt, so a retry carries a fresh timestamp.
                let signature = secret.sign(clock.now().as_millis() / 1000, body.as_bytes());
                let response = (client.post(url.clone()))
                    .header("content-type", "application/json")
                    .header("x-strongroom-signature", signature)
                    .body(body.to_owned())
                    .send()
                    .await
                    // Without the URL: a receiver's URL may carry its token, and the failure
                    // is kept in the catalog and the ledger.
                    .map_err(|e| with_causes(&e.without_url()))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("HTTP {}", response.status()))
                }
            }
            Destination::Email {
                transport,
                from,
                to,
            } => {
                use lettre::AsyncTransport;
                let message = email_of(alert, from, to).map_err(|e| e.to_string())?;
                (transport.send(message).await)
                    .map(|_| ())
                    .map_err(|e| with_causes(&e))
            }
        }
    }
}

/// `e` and what caused it, each once (`error sending request: client error (Connect):
/// invalid peer certificate: UnknownIssuer`): a failure's record says why.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut said = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !said.contains(&more) {
            said = format!("{said}: {more}");
        }
        cause = c.source();
    }
    said
}

/// What a destination's task works with: the catalog's queue, the clock, and the ledger (each
/// delivery's end is a record).
struct Parts {
    catalog: Catalog,
    clock: Arc<dyn Clock>,
    events: Arc<dyn events::EventSink>,
}

/// A destination's task: holds the delivery due first, tries it once and records how it went
/// (its end in the ledger too), again and again; waits when none is due (or, after a failure,
/// while its receiver may be down).
async fn run(destination: Destination, parts: Parts, wake: Arc<Notify>) {
    let Parts {
        catalog,
        clock,
        events,
    } = parts;
    let name = destination.name();
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let mut pause = Duration::ZERO;
    loop {
        let now = clock.now().as_millis();
        let held = catalog
            .hold_due_alert_delivery(name, now, now + ms(HOLD))
            .await;
        let (id, attempts) = match held {
            Ok(Some(held)) => held,
            Ok(None) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(LOOK_EVERY) => {}
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(destination = name, error = %e, "could not read the alert deliveries due");
                tokio::time::sleep(LOOK_EVERY).await;
                continue;
            }
        };
        let stored = match catalog.alert(&id).await {
            Err(e @ catalog::CatalogError::NotFound { .. }) => Err(e.to_string()),
            Err(e) => {
                // The catalog failing now says nothing of the alert: tried again once its hold
                // ends.
                tracing::warn!(destination = name, alert = %id, error = %e, "could not read an alert to deliver");
                tokio::time::sleep(LOOK_EVERY).await;
                continue;
            }
            Ok(a) => Ok(a),
        };
        let read = stored.and_then(|a| {
            let record = serde_json::from_str::<AlertRecord>(&a.body).map_err(|e| e.to_string())?;
            Ok((record, a.body))
        });
        let outcome = match read {
            Err(e) => Err((format!("the alert could not be read: {e}"), None)),
            Ok((alert, body)) => match destination.attempt(&alert, &body).await {
                Ok(()) => Ok(()),
                Err(why) => {
                    let retry = (FIRST_RETRY * 2u32.saturating_pow(attempts.clamp(0, 20) as u32))
                        .min(LONGEST_RETRY);
                    let next = now + ms(retry);
                    let until = alert.time.as_millis() + ms(TRY_FOR);
                    Err((why, (next < until).then_some(next)))
                }
            },
        };
        let attempt = attempts + 1;
        match &outcome {
            Ok(()) => {
                tracing::info!(destination = name, alert = %id, attempt, "alert delivered");
                pause = Duration::ZERO;
            }
            Err((why, Some(_))) => {
                tracing::warn!(destination = name, alert = %id, %why, attempt, "alert delivery failed; it is tried again");
                pause = (pause * 2).clamp(FIRST_RETRY, LONGEST_DESTINATION_PAUSE);
            }
            Err((why, None)) => {
                tracing::error!(destination = name, alert = %id, %why, attempt, "alert not delivered; given up");
            }
        }
        let recorded = catalog
            .record_alert_delivery(
                &id,
                name,
                clock.now().as_millis(),
                outcome
                    .as_ref()
                    .map(|_| ())
                    .map_err(|(w, n)| (w.as_str(), *n)),
            )
            .await;
        if let Err(e) = recorded {
            tracing::warn!(destination = name, alert = %id, error = %e,
                "an alert delivery's outcome could not be recorded (it is tried again when its hold ends)");
        }
        let ended = match &outcome {
            Ok(()) => Some(("delivered", None)),
            Err((why, None)) => Some(("given_up", Some(why.clone()))),
            Err((_, Some(_))) => None,
        };
        if let Some((outcome, reason)) = ended {
            let kind = events::EventKind::AlertDelivery {
                id: id.clone(),
                destination: name.to_owned(),
                outcome: outcome.to_owned(),
                attempts: u32::try_from(attempt).unwrap_or(u32::MAX),
                reason,
            };
            events.emit(events::Event::new(clock.now(), kind));
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
}

/// Whether `host` (a name or an address, IPv6 possibly in brackets) is this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

type SmtpTransport = lettre::AsyncSmtpTransport<lettre::Tokio1Executor>;

/// The PEM certificates of `alerts.OPTION` at `path`.
fn ca_file(
    option: &'static str,
    path: &std::path::Path,
) -> Result<crate::ca_file::CaFile, DeliveryError> {
    crate::ca_file::read(path).map_err(|why| DeliveryError::CaFile {
        option,
        path: path.display().to_string(),
        why,
    })
}

fn smtp_transport(config: &EmailConfig) -> Result<SmtpTransport, DeliveryError> {
    use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
    let start = |e: lettre::transport::smtp::Error| DeliveryError::Start(e.to_string());
    let builder = match (&config.ca_file, config.security) {
        (None, SmtpSecurity::Tls) => SmtpTransport::relay(&config.host).map_err(start)?,
        (None, SmtpSecurity::StartTls) => {
            SmtpTransport::starttls_relay(&config.host).map_err(start)?
        }
        (None, SmtpSecurity::None) => SmtpTransport::builder_dangerous(&config.host),
        (Some(_), SmtpSecurity::None) => return Err(DeliveryError::CaWithoutTls),
        // The relay's certificate checked against the given authorities alone.
        (Some(path), security) => {
            let ca = ca_file("smtp_ca_file", path)?;
            let parameters = TlsParameters::builder(config.host.clone())
                .certificate_store(CertificateStore::None)
                .add_root_certificate(Certificate::from_pem(&ca.pem).map_err(start)?)
                .build_rustls()
                .map_err(start)?;
            SmtpTransport::builder_dangerous(&config.host).tls(match security {
                SmtpSecurity::Tls => Tls::Wrapper(parameters),
                _ => Tls::Required(parameters),
            })
        }
    };
    Ok(builder.port(config.port).build())
}

/// The e-mail of `alert`: its subject names the severity, the rule and the account; its text
/// the summary, the actions taken and the alert's JSON.
fn email_of(
    alert: &AlertRecord,
    from: &Mailbox,
    to: &[Mailbox],
) -> Result<lettre::Message, lettre::error::Error> {
    use lettre::message::header::ContentType;
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
        serde_json::to_string_pretty(alert).unwrap_or_default()
    );
    let mut message = lettre::Message::builder()
        .from(from.clone())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for m in to {
        message = message.to(m.clone());
    }
    message.body(text)
}
