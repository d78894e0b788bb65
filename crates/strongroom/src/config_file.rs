//! The config file (`strongroom.toml`) in two phases: the raw TOML as written (every key
//! optional, unknown keys refused), then a validated [`ServerConfig`]. Pure: text in, config or
//! one clear error out; no file is read here (so it is also fuzzed: `fuzz/` `config_file`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use server::{Limits, ServerConfig};
use service::config::MasterKeySource;

/// What was wrong with the config, as one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Parses and validates `text`: `sftp_listen` (the `--sftp-listen` flag) wins over the file's.
pub fn parse(
    text: &str,
    data_dir: &Path,
    sftp_listen: Option<SocketAddr>,
    master_key: MasterKeySource,
) -> Result<ServerConfig, ConfigError> {
    let raw = toml::from_str::<RawConfig>(text).map_err(|e| ConfigError(e.message().to_owned()))?;
    validate(data_dir, raw, sftp_listen, master_key)
}

/// The configuration of a data directory without a config file.
pub fn defaults(
    data_dir: &Path,
    sftp_listen: Option<SocketAddr>,
    master_key: MasterKeySource,
) -> Result<ServerConfig, ConfigError> {
    validate(data_dir, RawConfig::default(), sftp_listen, master_key)
}

/// The config file as written; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    sftp: RawSftp,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    defender: RawDefender,
    #[serde(default)]
    forward: RawForward,
    #[serde(default)]
    detect: RawDetect,
    #[serde(default)]
    alerts: RawAlerts,
    #[serde(default)]
    audit: RawAudit,
}

/// `[audit]`: the administrators' changes and the ledger.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    unrecorded_changes: Option<String>,
}

/// `[alerts]`: webhook and e-mail delivery of alerts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    webhook_url: Option<String>,
    webhook_secret_file: Option<PathBuf>,
    webhook_ca_file: Option<PathBuf>,
    smtp_server: Option<String>,
    smtp_ca_file: Option<PathBuf>,
    smtp_security: Option<String>,
    smtp_from: Option<String>,
    smtp_to: Option<Vec<String>>,
    queue: Option<usize>,
}

fn alerts_config(raw: RawAlerts) -> Result<service::alert_delivery::DeliveryConfig, ConfigError> {
    use service::alert_delivery::{DeliveryConfig, EmailConfig, SmtpSecurity, WebhookConfig};
    if raw.webhook_url.is_none() && raw.webhook_ca_file.is_some() {
        return Err(ConfigError(
            "config: alerts.webhook_ca_file is set but alerts.webhook_url is not".into(),
        ));
    }
    let webhook = match (raw.webhook_url, raw.webhook_secret_file) {
        (None, None) => None,
        (Some(url), Some(secret_file)) => Some(WebhookConfig {
            url,
            secret_file,
            ca_file: raw.webhook_ca_file,
        }),
        (Some(_), None) => {
            return Err(ConfigError(
                "config: alerts.webhook_url needs alerts.webhook_secret_file (deliveries are signed)"
                    .into(),
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError(
                "config: alerts.webhook_secret_file is set but alerts.webhook_url is not".into(),
            ));
        }
    };
    let email = match raw.smtp_server {
        None => {
            if raw.smtp_to.is_some() || raw.smtp_from.is_some() || raw.smtp_ca_file.is_some() {
                return Err(ConfigError(
                    "config: alerts.smtp_to, smtp_from and smtp_ca_file need alerts.smtp_server"
                        .into(),
                ));
            }
            None
        }
        Some(server) => {
            let (host, port) = server
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.trim_start_matches('[').trim_end_matches(']'), p.parse::<u16>().ok()?)))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "config: alerts.smtp_server '{server}' is not host:port like mail.example.com:587"
                    ))
                })?;
            let security = match raw.smtp_security.as_deref().unwrap_or("starttls") {
                "tls" => SmtpSecurity::Tls,
                "starttls" => SmtpSecurity::StartTls,
                "none" => SmtpSecurity::None,
                other => {
                    return Err(ConfigError(format!(
                        "config: alerts.smtp_security '{other}' must be tls, starttls or none"
                    )));
                }
            };
            let from = raw.smtp_from.ok_or_else(|| {
                ConfigError("config: alerts.smtp_server needs alerts.smtp_from".into())
            })?;
            let to = match raw.smtp_to {
                Some(to) if !to.is_empty() => to,
                _ => {
                    return Err(ConfigError(
                        "config: alerts.smtp_server needs alerts.smtp_to (a list of addresses)"
                            .into(),
                    ));
                }
            };
            Some(EmailConfig {
                host: host.to_owned(),
                port,
                security,
                from,
                to,
                ca_file: raw.smtp_ca_file,
            })
        }
    };
    Ok(DeliveryConfig {
        webhook,
        email,
        queue: positive("alerts.queue", raw.queue, 1_000)?,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetect {
    enabled: Option<bool>,
    network_prefix_v4: Option<u8>,
    network_prefix_v6: Option<u8>,
    rebuild_days: Option<i64>,
    /// Every threshold optional (the rest keep their defaults); names as `detect rules` shows.
    thresholds: Option<detect::rules::Thresholds>,
    #[serde(default)]
    containment: RawContainment,
    /// Per-tenant overrides: `[detect.tenant.NAME]`, thresholds by name; the rest are the
    /// `[detect.thresholds]` in force.
    #[serde(default)]
    tenant: std::collections::BTreeMap<String, toml::Table>,
    /// Per-account overrides: `[detect.account.NAME]`, likewise (an account's wins over its
    /// tenant's; an override made with `detect override` wins over the file's).
    #[serde(default)]
    account: std::collections::BTreeMap<String, toml::Table>,
}

/// `base` with the thresholds `given` names replaced; an unknown name or a wrong type is an
/// error naming the table.
fn overlay(
    base: &detect::rules::Thresholds,
    given: toml::Table,
    table: &str,
) -> Result<detect::rules::Thresholds, ConfigError> {
    use serde::Deserialize as _;
    let mut merged =
        toml::Table::try_from(base).map_err(|e| ConfigError(format!("config: {table}: {e}")))?;
    merged.extend(given);
    detect::rules::Thresholds::deserialize(toml::Value::Table(merged))
        .map_err(|e| ConfigError(format!("config: {table}: {}", e.message())))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContainment {
    critical: Option<Vec<detect::rules::Action>>,
    high: Option<Vec<detect::rules::Action>>,
    medium: Option<Vec<detect::rules::Action>>,
    low: Option<Vec<detect::rules::Action>>,
}

fn detect_config(raw: RawDetect) -> Result<service::config::DetectConfig, ConfigError> {
    let mut c = service::config::DetectConfig::default();
    if let Some(e) = raw.enabled {
        c.enabled = e;
    }
    if let Some(p) = raw.network_prefix_v4 {
        if p > 32 {
            return Err(ConfigError(
                "config: detect.network_prefix_v4 must be 0 to 32".into(),
            ));
        }
        c.rules.prefixes.v4 = p;
    }
    if let Some(p) = raw.network_prefix_v6 {
        if p > 128 {
            return Err(ConfigError(
                "config: detect.network_prefix_v6 must be 0 to 128".into(),
            ));
        }
        c.rules.prefixes.v6 = p;
    }
    if let Some(d) = raw.rebuild_days {
        c.rebuild_days = positive("detect.rebuild_days", Some(d), 30)?;
    }
    if let Some(t) = raw.thresholds {
        c.rules.thresholds = t;
    }
    for (name, given) in raw.tenant {
        let t = overlay(&c.rules.thresholds, given, &format!("detect.tenant.{name}"))?;
        c.rules.tenant_overrides.insert(name, t);
    }
    for (name, given) in raw.account {
        let t = overlay(
            &c.rules.thresholds,
            given,
            &format!("detect.account.{name}"),
        )?;
        c.rules.account_overrides.insert(name, t);
    }
    let r = raw.containment;
    let d = &mut c.containment;
    for (slot, given) in [
        (&mut d.critical, r.critical),
        (&mut d.high, r.high),
        (&mut d.medium, r.medium),
        (&mut d.low, r.low),
    ] {
        if let Some(v) = given {
            *slot = v;
        }
    }
    Ok(c)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForward {
    syslog_tls: Option<String>,
    syslog_tls_ca_file: Option<PathBuf>,
    syslog_tls_client_cert: Option<PathBuf>,
    syslog_tls_client_key: Option<PathBuf>,
    syslog_tcp: Option<String>,
    syslog_udp: Option<String>,
    jsonl_file: Option<PathBuf>,
    buffer: Option<usize>,
}

fn address(name: &str, v: Option<String>) -> Result<Option<SocketAddr>, ConfigError> {
    v.map(|s| {
        s.parse::<SocketAddr>().map_err(|_| {
            ConfigError(format!(
                "config: {name} '{s}' is not an address like 127.0.0.1:514"
            ))
        })
    })
    .transpose()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefender {
    window_secs: Option<i64>,
    max_failures_per_address: Option<usize>,
    spray_accounts: Option<usize>,
    stuffing_addresses: Option<usize>,
    ban_secs: Option<Vec<i64>>,
    attack_secs: Option<i64>,
    ipv6_prefix: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    seal_contents: Option<bool>,
    min_free_mib: Option<u64>,
    integrity_check_hours: Option<u64>,
    contents_check_days: Option<u64>,
    contents_check_mib_per_s: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    sweep_interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSftp {
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_handles_per_session: Option<usize>,
    max_sessions_per_account: Option<usize>,
    max_connections_per_address: Option<usize>,
    max_connections: Option<usize>,
    max_unauthenticated: Option<usize>,
    buffer_mib: Option<usize>,
    preauth_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_auth_attempts: Option<usize>,
    auth_rejection_ms: Option<u64>,
    classify_threads: Option<usize>,
}

fn positive<T: PartialOrd + Default + std::fmt::Display>(
    name: &str,
    v: Option<T>,
    default: T,
) -> Result<T, ConfigError> {
    match v {
        Some(v) if v <= T::default() => Err(ConfigError(format!(
            "config: {name} must be greater than 0 (got {v})"
        ))),
        Some(v) => Ok(v),
        None => Ok(default),
    }
}

fn validate(
    data_dir: &Path,
    raw: RawConfig,
    sftp_listen: Option<SocketAddr>,
    master_key: MasterKeySource,
) -> Result<ServerConfig, ConfigError> {
    let d = Limits::default();
    let l = raw.limits;
    let limits = Limits {
        max_handles_per_session: positive(
            "limits.max_handles_per_session",
            l.max_handles_per_session,
            d.max_handles_per_session,
        )?,
        max_sessions_per_account: positive(
            "limits.max_sessions_per_account",
            l.max_sessions_per_account,
            d.max_sessions_per_account,
        )?,
        max_connections_per_address: positive(
            "limits.max_connections_per_address",
            l.max_connections_per_address,
            d.max_connections_per_address,
        )?,
        max_connections: positive(
            "limits.max_connections",
            l.max_connections,
            d.max_connections,
        )?,
        max_unauthenticated: positive(
            "limits.max_unauthenticated",
            l.max_unauthenticated,
            d.max_unauthenticated,
        )?,
        buffer_bytes: match positive("limits.buffer_mib", l.buffer_mib, d.buffer_bytes >> 20)? {
            mib if mib < 64 => {
                return Err(ConfigError(format!(
                    "config: limits.buffer_mib must be at least 64 (got {mib})"
                )));
            }
            mib => mib.saturating_mul(1 << 20),
        },
        preauth_timeout: l.preauth_timeout_secs.map_or(Ok(d.preauth_timeout), |s| {
            positive("limits.preauth_timeout_secs", Some(s), 0).map(Duration::from_secs)
        })?,
        idle_timeout: l.idle_timeout_secs.map_or(Ok(d.idle_timeout), |s| {
            positive("limits.idle_timeout_secs", Some(s), 0).map(Duration::from_secs)
        })?,
        max_auth_attempts: positive(
            "limits.max_auth_attempts",
            l.max_auth_attempts,
            d.max_auth_attempts,
        )?,
        auth_rejection_time: l
            .auth_rejection_ms
            .map_or(d.auth_rejection_time, Duration::from_millis),
        classify_threads: positive(
            "limits.classify_threads",
            l.classify_threads,
            d.classify_threads,
        )?,
    };
    let listen = match (sftp_listen, raw.sftp.listen) {
        (Some(a), _) => a,
        (None, Some(s)) => s.parse::<SocketAddr>().map_err(|_| {
            ConfigError(format!(
                "config: sftp.listen '{s}' is not an address like 127.0.0.1:2222"
            ))
        })?,
        (None, None) => service::config::DEFAULT_SFTP_LISTEN
            .parse()
            .map_err(|_| ConfigError("built-in listen address".into()))?,
    };
    let dd = service::gate::defender::DefenderConfig::default();
    let rd = raw.defender;
    let ban_secs = match rd.ban_secs {
        Some(list) if list.is_empty() || list.iter().any(|s| *s <= 0) => {
            return Err(ConfigError(
                "config: defender.ban_secs must be a non-empty list of positive durations".into(),
            ));
        }
        Some(list) => list,
        None => dd.ban_secs,
    };
    let ipv6_prefix = match rd.ipv6_prefix {
        Some(p) if !(32..=128).contains(&p) => {
            return Err(ConfigError(format!(
                "config: defender.ipv6_prefix must be 32 to 128 (got {p}): the bits of an IPv6 \
                 address that are one source (64: its network; 128: each address)"
            )));
        }
        Some(p) => p,
        None => dd.ipv6_prefix,
    };
    let defender = service::gate::defender::DefenderConfig {
        window_secs: positive("defender.window_secs", rd.window_secs, dd.window_secs)?,
        max_failures_per_address: positive(
            "defender.max_failures_per_address",
            rd.max_failures_per_address,
            dd.max_failures_per_address,
        )?,
        spray_accounts: positive(
            "defender.spray_accounts",
            rd.spray_accounts,
            dd.spray_accounts,
        )?,
        stuffing_addresses: positive(
            "defender.stuffing_addresses",
            rd.stuffing_addresses,
            dd.stuffing_addresses,
        )?,
        ban_secs,
        attack_secs: positive("defender.attack_secs", rd.attack_secs, dd.attack_secs)?,
        ipv6_prefix,
    };
    let rf = raw.forward;
    let syslog_tls = match rf.syslog_tls {
        Some(server) => Some(service::forward::SyslogTlsConfig {
            server,
            ca_file: rf.syslog_tls_ca_file,
            client_cert: rf.syslog_tls_client_cert,
            client_key: rf.syslog_tls_client_key,
        }),
        None if rf.syslog_tls_ca_file.is_some()
            || rf.syslog_tls_client_cert.is_some()
            || rf.syslog_tls_client_key.is_some() =>
        {
            return Err(ConfigError(
                "config: forward.syslog_tls_ca_file, syslog_tls_client_cert and syslog_tls_client_key need forward.syslog_tls".into(),
            ));
        }
        None => None,
    };
    let forward = service::forward::ForwardConfig {
        syslog_tls,
        syslog_tcp: address("forward.syslog_tcp", rf.syslog_tcp)?,
        syslog_udp: address("forward.syslog_udp", rf.syslog_udp)?,
        jsonl_file: rf.jsonl_file,
        buffer: positive("forward.buffer", rf.buffer, 10_000)?,
    };
    Ok(ServerConfig {
        detect: detect_config(raw.detect)?,
        alerts: alerts_config(raw.alerts)?,
        forward,
        defender,
        data_dir: data_dir.to_path_buf(),
        sftp_listen: listen,
        limits,
        master_key,
        seal_contents: raw.storage.seal_contents.unwrap_or(true),
        keep_free_bytes: raw
            .storage
            .min_free_mib
            .unwrap_or(256)
            .saturating_mul(1 << 20),
        integrity_check: match raw.storage.integrity_check_hours.unwrap_or(24) {
            0 => None,
            // At most a year: a longer one is a mistake, not a wish.
            h if h <= 24 * 366 => Some(Duration::from_secs(h * 3600)),
            h => {
                return Err(ConfigError(format!(
                    "config: storage.integrity_check_hours must be at most a year, 8784 (got \
                     {h}; 0 turns the check off)"
                )));
            }
        },
        contents_check: match raw.storage.contents_check_days.unwrap_or(7) {
            0 => None,
            d if d <= 366 => Some(Duration::from_secs(d * 86_400)),
            d => {
                return Err(ConfigError(format!(
                    "config: storage.contents_check_days must be at most a year, 366 (got {d}; \
                     0 turns the check off)"
                )));
            }
        },
        contents_check_rate: match raw.storage.contents_check_mib_per_s.unwrap_or(16) {
            m @ 1..=MAX_CONTENTS_CHECK_MIB_PER_S => m << 20,
            m => {
                return Err(ConfigError(format!(
                    "config: storage.contents_check_mib_per_s must be from 1 to \
                     {MAX_CONTENTS_CHECK_MIB_PER_S} (got {m}; contents_check_days = 0 turns the \
                     check off)"
                )));
            }
        },
        unrecorded_changes: match raw.audit.unrecorded_changes.as_deref() {
            None | Some("warn") => service::config::UnrecordedChanges::Warn,
            Some("refuse") => service::config::UnrecordedChanges::Refuse,
            Some(other) => {
                return Err(ConfigError(format!(
                    "config: audit.unrecorded_changes must be \"warn\" or \"refuse\" (got {other:?})"
                )));
            }
        },
        retention_sweep: Duration::from_secs(positive(
            "retention.sweep_interval_secs",
            raw.retention.sweep_interval_secs,
            300,
        )?),
    })
}

/// The fastest pace a contents check may be given: a disk's whole speed, and some (a pace
/// above what the disk gives is no pace).
const MAX_CONTENTS_CHECK_MIB_PER_S: u64 = 10_240;

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's config from config file text alone.
    fn config_of(text: &str) -> Result<ServerConfig, ConfigError> {
        parse(
            text,
            Path::new("/nonexistent"),
            None,
            MasterKeySource::Inline(String::new()),
        )
    }

    fn detect_of(text: &str) -> Result<service::config::DetectConfig, ConfigError> {
        config_of(text).map(|c| c.detect)
    }

    #[test]
    fn per_tenant_and_per_account_overrides_inherit_the_configured_thresholds() {
        let d = detect_of(
            "[detect.thresholds]\ncautious_bytes = 1000\nbreadth_percent = 40\n\
             [detect.tenant.acme]\nbreadth_percent = 80\n\
             [detect.account.nightly-sync]\nhour_bytes = 999999\n",
        )
        .unwrap();
        let acme = d.rules.thresholds_for(Some("acme"), None);
        assert_eq!((acme.breadth_percent, acme.cautious_bytes), (80, 1000));
        let sync = d.rules.thresholds_for(Some("acme"), Some("nightly-sync"));
        assert_eq!(
            (sync.hour_bytes, sync.breadth_percent, sync.cautious_bytes),
            (999_999, 40, 1000)
        );
        let other = d.rules.thresholds_for(Some("other"), Some("bob"));
        assert_eq!(other.breadth_percent, 40);
    }

    #[test]
    fn the_integrity_check_is_daily_unless_configured_within_a_year_or_off() {
        let every = |text: &str| config_of(text).map(|c| c.integrity_check);
        assert_eq!(every("").unwrap(), Some(Duration::from_secs(86_400)));
        let six = every("[storage]\nintegrity_check_hours = 6\n").unwrap();
        assert_eq!(six, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(
            every("[storage]\nintegrity_check_hours = 0\n").unwrap(),
            None
        );
        let e = every("[storage]\nintegrity_check_hours = 9000\n").unwrap_err();
        assert!(e.0.contains("storage.integrity_check_hours"), "{e}");
    }

    #[test]
    fn the_contents_check_is_weekly_at_16_mib_per_s_unless_configured_within_bounds() {
        let of = |text: &str| config_of(text).map(|c| (c.contents_check, c.contents_check_rate));
        assert_eq!(
            of("").unwrap(),
            (Some(Duration::from_secs(7 * 86_400)), 16 << 20)
        );
        assert_eq!(
            of("[storage]\ncontents_check_days = 1\ncontents_check_mib_per_s = 200\n").unwrap(),
            (Some(Duration::from_secs(86_400)), 200 << 20)
        );
        assert_eq!(of("[storage]\ncontents_check_days = 0\n").unwrap().0, None);
        for (text, named) in [
            ("contents_check_days = 400", "storage.contents_check_days"),
            (
                "contents_check_mib_per_s = 0",
                "storage.contents_check_mib_per_s",
            ),
            (
                "contents_check_mib_per_s = 99999",
                "storage.contents_check_mib_per_s",
            ),
        ] {
            let e = of(&format!("[storage]\n{text}\n")).unwrap_err();
            assert!(e.0.contains(named), "{e}");
        }
    }

    #[test]
    fn unrecorded_changes_are_made_with_a_warning_unless_configured_refused() {
        use service::config::UnrecordedChanges as U;
        let of = |text: &str| config_of(text).map(|c| c.unrecorded_changes);
        assert_eq!(of("").unwrap(), U::Warn);
        assert_eq!(
            of("[audit]\nunrecorded_changes = \"refuse\"\n").unwrap(),
            U::Refuse
        );
        assert_eq!(
            of("[audit]\nunrecorded_changes = \"warn\"\n").unwrap(),
            U::Warn
        );
        let e = of("[audit]\nunrecorded_changes = \"halt\"\n").unwrap_err();
        assert!(e.0.contains("audit.unrecorded_changes"), "{e}");
    }

    #[test]
    fn an_unknown_threshold_in_an_override_is_refused_by_name() {
        let e = detect_of("[detect.account.bob]\nbredth_percent = 80\n").unwrap_err();
        assert!(e.0.contains("detect.account.bob"), "{e}");
        assert!(e.0.contains("bredth_percent"), "{e}");
        let e = detect_of("[detect.tenant.acme]\nbreadth_percent = \"lots\"\n").unwrap_err();
        assert!(e.0.contains("detect.tenant.acme"), "{e}");
    }

    #[test]
    fn an_ipv6_source_is_a_64_unless_configured_within_bounds() {
        let prefix = |text: &str| config_of(text).map(|c| c.defender.ipv6_prefix);
        assert_eq!(prefix("").unwrap(), 64);
        assert_eq!(prefix("[defender]\nipv6_prefix = 128\n").unwrap(), 128);
        for bad in [0, 31, 129] {
            let e = prefix(&format!("[defender]\nipv6_prefix = {bad}\n")).unwrap_err();
            assert!(
                e.0.contains("defender.ipv6_prefix must be 32 to 128"),
                "{e}"
            );
        }
    }
}
