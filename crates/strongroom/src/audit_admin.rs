//! `strongroom audit`: verify the ledger's chain and checkpoints, print the latest signed
//! checkpoint for anchoring elsewhere, export records (JSON lines or CSV) with filters; and the
//! records admin commands add to the ledger themselves.

use std::io::Write;
use std::path::Path;
use std::time::UNIX_EPOCH;

use catalog::{LedgerFilter, LedgerStore};
use vault::LedgerKey;

use crate::cli::{AuditCommand, ExportFormat};

/// Records scanned per query by verify and export.
const PAGE: u32 = 50_000;

/// The ledger and the key that seals (and opens) its record bodies.
pub fn open_ledger(data_dir: &Path) -> anyhow::Result<(LedgerStore, vault::LedgerBodyKey)> {
    let store = LedgerStore::open(&data_dir.join("ledger.db"))?;
    let keyring = server::keys::load_keyring(&crate::settings::master_key_source(data_dir), true)?;
    let key = server::keys::ledger_body_key(&store, &keyring)?;
    Ok((store, key))
}

/// Runs an audit command (synchronously: the ledger is read on this thread).
pub fn audit(data_dir: &Path, cmd: AuditCommand) -> anyhow::Result<()> {
    let (store, body_key) = open_ledger(data_dir)?;
    match cmd {
        AuditCommand::Verify => {
            let key = LedgerKey::load_or_create(&data_dir.join("ledger.key"), false)?;
            let pk = key.public_key();
            match store.verify(&pk)? {
                Ok(v) => println!(
                    "ledger intact: {} records, head {} {}, {} signed checkpoints",
                    v.records,
                    v.head.seq,
                    hex::encode(v.head.hash),
                    v.checkpoints
                ),
                Err(b) => anyhow::bail!("ledger broken at record {}: {b}", b.first_bad()),
            }
        }
        AuditCommand::Head => {
            let key = LedgerKey::load_or_create(&data_dir.join("ledger.key"), false)?;
            match store.checkpoints()?.last() {
                None => println!("no checkpoint yet"),
                Some(c) => {
                    println!("seq:        {}", c.seq);
                    println!("hash:       {}", hex::encode(c.hash));
                    println!(
                        "time:       {}",
                        humantime::format_rfc3339_seconds(
                            UNIX_EPOCH + std::time::Duration::from_secs(c.time.max(0) as u64)
                        )
                    );
                    println!("signature:  {}", hex::encode(&c.signature));
                    println!("public key: {} (Ed25519)", hex::encode(key.public_key()));
                }
            }
        }
        AuditCommand::Export {
            format,
            since,
            until,
            user,
            tenant,
            ip,
            session,
        } => {
            let filter = LedgerFilter {
                since: since
                    .as_deref()
                    .map(|v| crate::units::time(v, "--since"))
                    .transpose()?,
                until: until
                    .as_deref()
                    .map(|v| crate::units::time(v, "--until"))
                    .transpose()?,
                account: user,
                tenant,
                source: ip,
                session,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            if matches!(format, ExportFormat::Csv) {
                writeln!(
                    out,
                    "seq,time,kind,account,tenant,source,session,hash,event"
                )?;
            }
            let mut after = 0;
            loop {
                let page = store.export(&filter, after, PAGE)?;
                if page.is_empty() {
                    break;
                }
                for e in &page {
                    after = e.seq;
                    let body = body_key
                        .open(&e.sealed_event)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "record {}: its body does not open with the ledger key",
                                e.seq
                            )
                        })?;
                    match format {
                        ExportFormat::Jsonl => writeln!(
                            out,
                            r#"{{"seq":{},"hash":"{}","event":{}}}"#,
                            e.seq,
                            hex::encode(e.hash),
                            body
                        )?,
                        ExportFormat::Csv => writeln!(
                            out,
                            "{},{},{},{},{},{},{},{},{}",
                            e.seq,
                            e.time,
                            e.meta.kind,
                            csv(e.meta.account.as_deref()),
                            csv(e.meta.tenant.as_deref()),
                            csv(e.meta.source.as_deref()),
                            csv(e.meta.session.as_deref()),
                            hex::encode(e.hash),
                            csv(Some(&body))
                        )?,
                    }
                }
            }
            out.flush()?;
        }
    }
    Ok(())
}

/// A CSV field, quoted when needed.
fn csv(v: Option<&str>) -> String {
    match v {
        None => String::new(),
        Some(s) if s.contains([',', '"', '\n']) => format!("\"{}\"", s.replace('"', "\"\"")),
        Some(s) => s.to_owned(),
    }
}

/// Adds an admin command's record to the ledger (durable before the command reports success).
pub fn record_admin(data_dir: &Path, command: &str, outcome: &str) -> anyhow::Result<()> {
    let (store, body_key) = open_ledger(data_dir)?;
    let by = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| format!("uid {}", unsafe_uid()));
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let event = events::Event::new(
        now,
        events::EventKind::Admin {
            command: command.to_owned(),
            by,
            outcome: outcome.to_owned(),
        },
    );
    store.append(&[server::audit::stored(&event, &body_key)])?;
    // Into the indexed table at once: no server may be running to fold it.
    store.fold()?;
    Ok(())
}

fn unsafe_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}
