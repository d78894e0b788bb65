//! `strongroom alert`, `canary` and `detect`: alerts listed, shown and acknowledged; canary
//! files placed and removed; the rules and thresholds in force, their overrides, and replay of
//! a history through the rules. The operations are the service's; this parses and prints.

use std::io::{BufRead, Write};
use std::path::Path;

use catalog::AlertFilter;
use detect::rules::{self, Thresholds};
use detect::{Detector, Mode};
use events::{Exported, Severity, Time};
use service::detection::AlertRecord;

use crate::UsageError;
use crate::cli::{AlertCommand, CanaryCommand, DetectCommand, ListFormat, ShowFormat};
use crate::printable::printable;
use crate::settings;

/// Alerts `alert list` reads at a time.
const ALERT_PAGE: u32 = 1000;

/// `--since`: RFC 3339 / a date, or a duration back from now (`24h`, `7d`).
fn since_ms(v: &str, now: i64) -> Result<i64, UsageError> {
    if let Ok(d) = humantime::parse_duration(v) {
        return Ok((now - d.as_secs() as i64) * 1000);
    }
    crate::units::time(v, "--since").map(|s| s * 1000)
}

pub async fn alert(data_dir: &Path, cmd: AlertCommand) -> anyhow::Result<()> {
    let admin = crate::admin::open_for(data_dir, cmd.changes()).await?;
    let cat = admin.catalog();
    match cmd {
        AlertCommand::List {
            since,
            severity,
            user,
            undelivered,
            format,
        } => {
            let severities = match severity.as_deref() {
                None => Vec::new(),
                Some(s) => {
                    let min = Severity::parse(s).ok_or_else(|| {
                        UsageError(format!(
                            "--severity takes low, medium, high or critical, not '{s}'"
                        ))
                    })?;
                    [
                        Severity::Low,
                        Severity::Medium,
                        Severity::High,
                        Severity::Critical,
                    ]
                    .into_iter()
                    .filter(|x| *x >= min)
                    .map(|x| x.as_str().to_owned())
                    .collect()
                }
            };
            let filter = AlertFilter {
                since_ms: since
                    .as_deref()
                    .map(|v| since_ms(v, admin.now()))
                    .transpose()?,
                severities,
                account: user,
                undelivered,
            };
            let out = std::io::stdout();
            let mut out = out.lock();
            if matches!(format, ListFormat::Table) {
                writeln!(
                    out,
                    "{:<36}  {:<24}  {:<8}  {:<14}  {:<12}  {:<5}  summary",
                    "id", "time", "severity", "rule", "account", "acked"
                )?;
            }
            // A page at a time, written as it is read: years of alerts are never held at once.
            let mut after = None;
            loop {
                let alerts = cat.alerts(&filter, after.as_ref(), ALERT_PAGE).await?;
                for a in &alerts {
                    match format {
                        ListFormat::Jsonl => writeln!(out, "{}", a.body)?,
                        ListFormat::Table => writeln!(
                            out,
                            "{:<36}  {:<24}  {:<8}  {:<14}  {:<12}  {:<5}  {}",
                            a.id,
                            Time::from_millis(a.time_ms).to_string(),
                            a.severity,
                            a.rule,
                            printable(a.account.as_deref().unwrap_or("-")),
                            if a.acked_at.is_some() { "yes" } else { "no" },
                            printable(
                                &serde_json::from_str::<AlertRecord>(&a.body)
                                    .map(|r| r.summary)
                                    .unwrap_or_default()
                            )
                        )?,
                    }
                }
                if alerts.len() < ALERT_PAGE as usize {
                    break;
                }
                after = alerts.into_iter().next_back();
            }
        }
        AlertCommand::Show { id, format } => {
            let a = cat.alert(&id).await?;
            let record: AlertRecord = serde_json::from_str(&a.body)?;
            let deliveries = cat.alert_deliveries(&id).await?;
            match format {
                ShowFormat::Json => {
                    let mut v = serde_json::to_value(&record)?;
                    if let Some(o) = v.as_object_mut() {
                        o.insert(
                            "deliveries".into(),
                            deliveries.iter().map(delivery_json).collect(),
                        );
                        o.insert(
                            "acknowledged".into(),
                            a.acked_at.map_or(serde_json::Value::Null, |at| {
                                serde_json::json!({
                                    "time": Time::from_secs(at).to_string(),
                                    "by": a.acked_by,
                                    "note": a.ack_note,
                                })
                            }),
                        );
                    }
                    println!("{v}");
                }
                ShowFormat::Table => {
                    println!("alert:      {}", record.id);
                    println!("time:       {}", record.time);
                    println!("severity:   {}", record.severity.as_str());
                    println!(
                        "rule:       {} ({})",
                        record.rule,
                        record.techniques.join(", ")
                    );
                    println!(
                        "account:    {} (tenant {})",
                        printable(record.account.as_deref().unwrap_or("-")),
                        record.tenant.as_deref().unwrap_or("-")
                    );
                    println!(
                        "source:     {}",
                        record.source.map(|s| s.to_string()).unwrap_or("-".into())
                    );
                    println!("summary:    {}", printable(&record.summary));
                    println!("sessions:   {}", record.sessions.join(", "));
                    println!(
                        "evidence:   ledger records {}",
                        record
                            .evidence
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    println!("actions:    {}", record.actions.join(", "));
                    match a.acked_at {
                        Some(at) => println!(
                            "acked:      {} by {}: {}",
                            Time::from_secs(at),
                            a.acked_by.as_deref().unwrap_or("-"),
                            a.ack_note.as_deref().unwrap_or("")
                        ),
                        None => println!("acked:      no"),
                    }
                    for d in &deliveries {
                        println!("delivery:   {}", delivery_said(d));
                    }
                }
            }
        }
        AlertCommand::Ack { id, note } => {
            if note.trim().is_empty() {
                return Err(UsageError("--note must say something".into()).into());
            }
            let by = std::env::var("SUDO_USER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "root".into());
            cat.ack_alert(&id, admin.now(), &by, &note).await?;
            println!("alert {id} acknowledged");
        }
    }
    admin.close().await;
    Ok(())
}

/// How an alert's delivery to one destination stands: `delivered`, `given_up` or `waiting`,
/// and when (the delivery, the giving up, the next attempt).
fn delivery_state(d: &catalog::AlertDelivery) -> (&'static str, Time) {
    match (d.delivered_at, d.gave_up_at) {
        (Some(at), _) => ("delivered", Time::from_millis(at)),
        (None, Some(at)) => ("given_up", Time::from_millis(at)),
        (None, None) => ("waiting", Time::from_millis(d.next_at)),
    }
}

/// `webhook: delivered at T (attempt 2)`, for people.
fn delivery_said(d: &catalog::AlertDelivery) -> String {
    let last = (d.last_error.as_deref())
        .map(|e| format!("; last failure: {}", printable(e)))
        .unwrap_or_default();
    match delivery_state(d) {
        ("delivered", at) => format!(
            "{}: delivered at {at} (attempt {})",
            d.destination, d.attempts
        ),
        ("given_up", at) => format!(
            "{}: NOT DELIVERED, given up at {at} after {} attempt(s){last}",
            d.destination, d.attempts
        ),
        (_, at) => format!(
            "{}: waiting, {} attempt(s) so far{last}; next at {at}",
            d.destination, d.attempts
        ),
    }
}

fn delivery_json(d: &catalog::AlertDelivery) -> serde_json::Value {
    let (state, at) = delivery_state(d);
    serde_json::json!({
        "destination": d.destination,
        "state": state,
        "time": at.to_string(),
        "attempts": d.attempts,
        "last_error": d.last_error,
    })
}

pub async fn canary(data_dir: &Path, cmd: CanaryCommand) -> anyhow::Result<()> {
    let admin = crate::admin::open_for(data_dir, cmd.changes()).await?;
    match cmd {
        CanaryCommand::Add { tenant, path } => {
            let id = admin
                .add_canary(&tenant, &path)
                .await
                .map_err(crate::admin::usage_or)?;
            let live = crate::session_admin::detection_changed(data_dir).await?;
            println!(
                "canary {path} placed in {tenant} (file {id}); opening, renaming, removing or \
                 replacing it is critical ({live})"
            );
        }
        CanaryCommand::List { tenant } => {
            for c in admin.catalog().canaries(tenant.as_deref()).await? {
                let path = admin
                    .path_of(c.node_id)
                    .await?
                    .unwrap_or_else(|| "?".into());
                println!(
                    "{}\t{}\tfile {}\tplaced {}",
                    c.tenant,
                    path,
                    c.node_id,
                    Time::from_secs(c.created_at)
                );
            }
        }
        CanaryCommand::Remove { tenant, path } => {
            admin
                .remove_canary(&tenant, &path)
                .await
                .map_err(crate::admin::usage_or)?;
            let live = crate::session_admin::detection_changed(data_dir).await?;
            println!("canary {path} removed from {tenant} ({live})");
        }
    }
    admin.close().await;
    Ok(())
}

/// Sets `name=value` on `t` (the names `detect rules` prints).
fn set_threshold(t: &mut Thresholds, assignment: &str) -> Result<(), UsageError> {
    let (name, value) = assignment
        .split_once('=')
        .ok_or_else(|| UsageError(format!("--set takes NAME=VALUE, not '{assignment}'")))?;
    let parsed = crate::units::size(value)?
        .ok_or_else(|| UsageError(format!("--set {name}: 'off' is not a threshold")))?;
    let mut v = serde_json::to_value(*t).map_err(|e| UsageError(e.to_string()))?;
    let slot = v
        .get_mut(name)
        .ok_or_else(|| UsageError(format!("--set: no threshold named '{name}'")))?;
    *slot = serde_json::Value::from(parsed.max(0) as u64);
    *t = serde_json::from_value(v).map_err(|e| UsageError(e.to_string()))?;
    Ok(())
}

pub async fn detect(data_dir: &Path, cmd: DetectCommand) -> anyhow::Result<()> {
    let config = settings::load_default(data_dir)?;
    let changes = cmd.changes();
    match cmd {
        DetectCommand::Rules { user, tenant } => {
            let admin = crate::admin::open_for(data_dir, changes).await?;
            let overrides = admin.catalog().detection_overrides().await?;
            let tenant = match (&tenant, &user) {
                (Some(t), _) => Some(t.clone()),
                (None, Some(u)) => Some(admin.catalog().account(u).await?.tenant),
                _ => None,
            };
            admin.close().await;
            let rules = service::detection::config_with_overrides(&config.detect.rules, &overrides);
            let t = rules.thresholds_for(tenant.as_deref(), user.as_deref());
            let scope = match (&user, &tenant) {
                (Some(u), _) => format!("account {u}"),
                (None, Some(t)) => format!("tenant {t}"),
                _ => "defaults".into(),
            };
            println!("rules:");
            for r in rules::ALL {
                let actions: Vec<&str> = config
                    .detect
                    .containment
                    .for_severity(r.severity)
                    .iter()
                    .map(|a| a.as_str())
                    .collect();
                println!(
                    "  {:<16} {:<8} {:<22} containment: {}",
                    r.id,
                    r.severity.as_str(),
                    r.techniques.join(","),
                    if actions.is_empty() {
                        "alert only".to_owned()
                    } else {
                        actions.join(", ")
                    }
                );
                println!("  {:<16} {}", "", r.checks);
            }
            println!("thresholds ({scope}):");
            if let serde_json::Value::Object(m) = serde_json::to_value(t)? {
                for (k, v) in m {
                    println!("  {k:<26} {v}");
                }
            }
            println!(
                "networks: IPv4 /{}, IPv6 /{}",
                rules.prefixes.v4, rules.prefixes.v6
            );
        }
        DetectCommand::Override {
            tenant,
            user,
            set,
            clear,
        } => {
            let admin = crate::admin::open_for(data_dir, changes).await?;
            let (scope, name) = match (&tenant, &user) {
                (Some(t), _) => ("tenant", t.clone()),
                (None, Some(u)) => ("account", u.clone()),
                _ => unreachable!("clap requires one"),
            };
            let cat = admin.catalog();
            if scope == "tenant" {
                cat.tenant(&name).await?;
            } else {
                cat.account(&name).await?;
            }
            if clear {
                cat.set_detection_override(scope, &name, None).await?;
                let live = crate::session_admin::detection_changed(data_dir).await?;
                println!("{scope} {name}: overrides removed ({live})");
            } else {
                if set.is_empty() {
                    return Err(UsageError("give --set NAME=VALUE or --clear".into()).into());
                }
                let existing = cat
                    .detection_overrides()
                    .await?
                    .into_iter()
                    .find(|(s, n, _)| s == scope && *n == name)
                    .and_then(|(_, _, j)| serde_json::from_str::<Thresholds>(&j).ok());
                let mut t = existing.unwrap_or(config.detect.rules.thresholds);
                for a in &set {
                    set_threshold(&mut t, a)?;
                }
                cat.set_detection_override(scope, &name, Some(&serde_json::to_string(&t)?))
                    .await?;
                let live = crate::session_admin::detection_changed(data_dir).await?;
                println!("{scope} {name}: {} ({live})", set.join(", "));
            }
            admin.close().await;
        }
        DetectCommand::Simulate {
            days,
            accounts,
            seed,
            attack,
        } => {
            use detect::simulate::{Attack, Plan, records};
            if days <= 0 || accounts == 0 {
                return Err(UsageError("--days and --accounts must be above 0".into()).into());
            }
            let attack = match attack.as_deref() {
                None => None,
                Some("low-and-slow") => Some(Attack::LowAndSlow {
                    day: 20.min(days - 1),
                }),
                Some(other) => {
                    return Err(
                        UsageError(format!("--attack takes low-and-slow, not '{other}'")).into(),
                    );
                }
            };
            let plan = Plan {
                seed,
                start: Time::from_millis(1_793_491_200_000),
                days,
                accounts,
                attack,
            };
            let out = std::io::stdout();
            let mut out = std::io::BufWriter::new(out.lock());
            for r in records(&plan) {
                serde_json::to_writer(&mut out, &r)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        DetectCommand::Replay {
            file,
            ledger,
            since,
        } => replay(
            data_dir,
            &config.detect.rules,
            file,
            ledger,
            since.as_deref(),
        )?,
    }
    Ok(())
}

/// Longest line of a replayed history: a ledger record is a few KiB at most (a path, a
/// download's ranges), so a longer line is no record and is not read whole.
const MAX_REPLAY_LINE: u64 = 1 << 20;

/// Runs the rules over a history and prints the alerts as JSON lines (nothing is acted on).
fn replay(
    data_dir: &Path,
    rules: &detect::Config,
    file: Option<std::path::PathBuf>,
    ledger: bool,
    since: Option<&str>,
) -> anyhow::Result<()> {
    let mut detector = Detector::new(rules.clone());
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let mut raised = 0u64;
    let mut seen = 0u64;
    let mut each = |r: Exported, out: &mut dyn Write| -> anyhow::Result<()> {
        if seen == 0 {
            // The accounts of the history's first day existed before it.
            detector.assume_established_before(Time::from_millis(
                r.event.time.as_millis() + 86_400_000,
            ));
        }
        seen += 1;
        for a in detector.observe(Some(r.seq), &r.event, Mode::Replay) {
            raised += 1;
            let record = service::detection::record_of(&a, format!("replay-{raised}"), Vec::new());
            serde_json::to_writer(&mut *out, &record)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    };
    if ledger {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let filter = catalog::LedgerFilter {
            since: since
                .map(|v| since_ms(v, now).map(|ms| ms / 1000))
                .transpose()?,
            ..Default::default()
        };
        service::admin::export(
            data_dir,
            &settings::master_key_source(data_dir),
            &filter,
            service::admin::ExportNarrowed::No,
            |r| each(r, &mut out),
        )?;
    } else {
        let path = file.unwrap_or_else(|| "-".into());
        let mut input: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(&path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?,
            ))
        };
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            // A line is read no further than a record can reach.
            if std::io::Read::take(&mut input, MAX_REPLAY_LINE + 1).read_until(b'\n', &mut line)?
                == 0
            {
                break;
            }
            n += 1;
            if line.len() as u64 > MAX_REPLAY_LINE {
                return Err(UsageError(format!(
                    "line {n}: longer than {} KiB: not a ledger record",
                    MAX_REPLAY_LINE >> 10
                ))
                .into());
            }
            if line.trim_ascii().is_empty() {
                continue;
            }
            let r: Exported = serde_json::from_slice(&line)
                .map_err(|e| UsageError(format!("line {n}: not a ledger record: {e}")))?;
            each(r, &mut out)?;
        }
    }
    out.flush()?;
    eprintln!("replayed {seen} records: {raised} alerts");
    Ok(())
}
