//! `strongroom audit`: verify the ledger's chain and checkpoints, print the latest signed
//! checkpoint for anchoring elsewhere, export records (JSON lines or CSV) with filters; and the
//! records admin commands add to the ledger themselves. The ledger operations are the
//! service's (`service::admin`); this prints them.

use std::io::{IsTerminal as _, Write};
use std::path::Path;
use std::time::UNIX_EPOCH;

use catalog::{LedgerFilter, LedgerStore};

use crate::cli::{AuditCommand, ExportFormat};
use crate::settings::master_key_source;

/// `audit new-ledger`: the catalog forgets the lost ledger; the server's next start begins a
/// new one (this command's record, with its reason, among its first).
async fn new_ledger(data_dir: &Path, reason: &str) -> anyhow::Result<()> {
    let admin = crate::admin::open(data_dir).await?;
    let forgotten = admin.new_ledger(reason).await;
    admin.close().await;
    if forgotten? {
        println!(
            "the lost ledger is forgotten: the server's next start begins a new one (this \
             command, with its reason, is recorded in it)"
        );
    } else {
        println!("this data directory named no ledger yet: the server's next start begins one");
    }
    Ok(())
}

/// `audit accept-rollback`: the catalog accepts the ledger as it is, behind its record.
async fn accept_rollback(data_dir: &Path, reason: &str) -> anyhow::Result<()> {
    let admin = crate::admin::open(data_dir).await?;
    let accepted = admin.accept_rollback(reason).await;
    admin.close().await;
    let (recorded, latest) = accepted?;
    println!(
        "accepted: the ledger ends at record {latest}; the catalog had recorded it holding \
         records to {recorded} (the records it lacks are not in this ledger). The server \
         starts on it again; this command is recorded in it"
    );
    Ok(())
}

/// Verifies the ledger, its progress shown on a terminal (cleared at the end).
fn verify(data_dir: &Path) -> anyhow::Result<Result<catalog::Verified, ledger::Break>> {
    let tty = std::io::stderr().is_terminal();
    let verified = service::admin::verify_ledger(data_dir, |n, total| {
        if tty {
            eprint!("\rverified {n} of {total} records");
            let _ = std::io::stderr().flush();
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    Ok(verified?)
}

/// Runs an audit command (the ledger is read on this thread, synchronously).
pub async fn audit(data_dir: &Path, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::NewLedger { reason } => new_ledger(data_dir, &reason).await?,
        AuditCommand::AcceptRollback { reason } => accept_rollback(data_dir, &reason).await?,
        AuditCommand::Verify => match verify(data_dir)? {
            Ok(_) if let Some(why) = service::admin::ledger_not_the_named_one(data_dir)? => {
                anyhow::bail!("ledger broken: {why}")
            }
            Ok(v) => println!(
                "ledger intact: {} records, head {} {}, {} signed checkpoints",
                v.records,
                v.head.seq,
                hex::encode(v.head.hash),
                v.checkpoints
            ),
            Err(b) => anyhow::bail!("ledger broken at record {}: {b}", b.first_bad()),
        },
        AuditCommand::Head => {
            let store = LedgerStore::open_read_only(&data_dir.join("ledger.db"))?;
            let public_key = service::admin::ledger_public_key(data_dir)?;
            match store.checkpoints()?.last() {
                // The key already: it is what an evidence file is checked with, kept apart.
                None => {
                    println!("no checkpoint yet");
                    println!("public key: {} (Ed25519)", hex::encode(&public_key));
                }
                Some(c) => {
                    println!("seq:        {}", c.seq);
                    println!("hash:       {}", hex::encode(c.hash));
                    println!(
                        "time:       {}",
                        humantime::format_rfc3339_seconds(
                            UNIX_EPOCH + std::time::Duration::from_secs(c.time.max(0) as u64)
                        )
                    );
                    // What the signature covers beside the head (checkpoint message v2 and
                    // v3): without them it cannot be checked.
                    if let Some(i) = &c.interval {
                        println!("after:      {}", i.after);
                        println!("root:       {}", hex::encode(i.root));
                        if let Some(accounts) = &i.accounts {
                            println!("accounts:   {}", hex::encode(accounts));
                        }
                    }
                    println!("signature:  {}", hex::encode(&c.signature));
                    println!("public key: {} (Ed25519)", hex::encode(&public_key));
                }
            }
        }
        AuditCommand::Forwarding { format } => forwarding(data_dir, format).await?,
        AuditCommand::Export {
            format,
            since,
            until,
            user,
            tenant,
            ip,
            session,
            kind,
            path,
        } => {
            let (since, until) = crate::units::time_range(since.as_deref(), until.as_deref())?;
            let narrowed = match (&ip, &path) {
                (Some(net), _) => service::admin::ExportNarrowed::Network(net),
                (None, Some(path)) => service::admin::ExportNarrowed::Path(path),
                (None, None) => service::admin::ExportNarrowed::No,
            };
            let filter = LedgerFilter {
                since,
                until,
                account: user,
                tenant,
                session,
                kind,
                ..Default::default()
            };
            let master = master_key_source(data_dir);
            let stdout = std::io::stdout();
            let out = std::io::BufWriter::new(stdout.lock());
            match format {
                ExportFormat::Jsonl => {
                    let mut out = out;
                    service::admin::export(data_dir, &master, &filter, narrowed, |r| {
                        serde_json::to_writer(&mut out, &r)?;
                        out.write_all(b"\n")?;
                        anyhow::Ok(())
                    })
                    .map_err(crate::admin::usage_or_any)?;
                    out.flush()?;
                }
                ExportFormat::Csv => {
                    let mut out = csv::Writer::from_writer(out);
                    out.write_record(events::csv::COLUMNS)?;
                    service::admin::export(data_dir, &master, &filter, narrowed, |r| {
                        out.write_record(events::csv::row(&r))?;
                        anyhow::Ok(())
                    })
                    .map_err(crate::admin::usage_or_any)?;
                    out.flush()?;
                }
            }
        }
    }
    Ok(())
}

/// Who runs this command: the operating-system user (the one behind `sudo`, if any).
pub fn operator() -> String {
    service::admin::operator()
}

/// Adds an admin command's record to the ledger (durable before the command reports success),
/// naming the operating-system user who ran it.
pub fn record_admin(
    data_dir: &Path,
    command: &str,
    run: &str,
    outcome: &str,
) -> anyhow::Result<()> {
    let by = operator();
    service::admin::record_admin(
        data_dir,
        &master_key_source(data_dir),
        command,
        run,
        &by,
        outcome,
    )?;
    Ok(())
}

/// `audit forwarding`: each SIEM destination's cursor against the ledger's head.
async fn forwarding(data_dir: &Path, format: crate::cli::ListFormat) -> anyhow::Result<()> {
    let head = LedgerStore::open_read_only(&data_dir.join("ledger.db"))?
        .head()?
        .seq;
    let admin = crate::admin::open_for(data_dir, false).await?;
    let cursors = admin.catalog().forward_cursors().await?;
    admin.close().await;
    let time = |ms: Option<i64>| ms.map(|ms| events::Time::from_millis(ms).to_string());
    let rows = cursors.iter().map(|c| {
        let sent = u64::try_from(c.seq).unwrap_or(0);
        (c, sent, head.saturating_sub(sent))
    });
    match format {
        crate::cli::ListFormat::Jsonl => {
            for (c, sent, behind) in rows {
                let line = serde_json::json!({
                    "destination": c.destination,
                    "last_sent": sent,
                    "behind": behind,
                    "failing_since": time(c.failing_since),
                    "last_failure": c.last_failure,
                    "last_failure_at": time(c.last_failure_at),
                });
                println!("{line}");
            }
        }
        crate::cli::ListFormat::Table => {
            if cursors.is_empty() {
                println!("no destination has been forwarded to (`[forward]` in the configuration)");
                return Ok(());
            }
            println!(
                "{:<48}  {:>12}  {:>10}",
                "destination", "last sent", "behind"
            );
            for (c, sent, behind) in rows {
                println!(
                    "{:<48}  {sent:>12}  {behind:>10}",
                    crate::printable::printable(&c.destination)
                );
                let why = || crate::printable::printable(c.last_failure.as_deref().unwrap_or(""));
                match (time(c.failing_since), time(c.last_failure_at)) {
                    (Some(since), Some(last)) => {
                        println!("  FAILING since {since}; last failure at {last}: {}", why())
                    }
                    (None, Some(last)) => {
                        println!("  last failure at {last}: {} (working since)", why())
                    }
                    _ => {}
                }
            }
            println!("(the ledger's last record: {head})");
        }
    }
    Ok(())
}
