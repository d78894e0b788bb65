//! Admin commands over the catalog. They work while the server runs (SQLite in WAL mode) and take
//! effect at the next login.

use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use catalog::{Access, Catalog, NodeKind, TenantSettings};
use server::files::Files;
use server::files::path::JailPath;
use server::gate::credentials;
use vault::{BlobId, Keyring, LocalBlobStore, Vault};

use crate::UsageError;
use crate::cli::{AccessArg, KeyCommand, TenantCommand, UserCommand};
use crate::settings::master_key_source;
use crate::units;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// RFC 3339 (UTC) of a Unix time.
fn rfc3339(t: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

async fn open(data_dir: &Path) -> anyhow::Result<Catalog> {
    server::ensure_data_dir(data_dir)?;
    Ok(Catalog::open(&data_dir.join("catalog.db")).await?)
}

fn keyring(data_dir: &Path, create: bool) -> anyhow::Result<Keyring> {
    Ok(server::keys::load_keyring(
        &master_key_source(data_dir),
        create,
    )?)
}

fn vault(data_dir: &Path) -> anyhow::Result<Vault> {
    let store = LocalBlobStore::open(&data_dir.join("blobs"))?;
    Ok(Vault::new(Arc::new(store)))
}

fn show_opt(v: Option<i64>, unit: &str) -> String {
    v.map_or("off".into(), |v| format!("{v}{unit}"))
}

pub async fn tenant(data_dir: &Path, cmd: TenantCommand) -> anyhow::Result<()> {
    let cat = open(data_dir).await?;
    match cmd {
        TenantCommand::Add { name } => {
            let keys = keyring(data_dir, true)?;
            let t = cat
                .add_tenant(&name, now(), |id| {
                    server::keys::new_tenant_key(&keys, id, 1)
                })
                .await?;
            println!(
                "tenant {} created (retention {} after upload)",
                t.name,
                show_opt(t.retention_days, "d")
            );
        }
        TenantCommand::List => {
            for t in cat.list_tenants().await? {
                println!(
                    "{}\t{}\tretention={}\tafter-download={}\tquota-bytes={}\tquota-files={}",
                    t.name,
                    rfc3339(t.created_at),
                    show_opt(t.retention_days, "d"),
                    show_opt(t.retention_after_download_hours, "h"),
                    show_opt(t.quota_bytes, ""),
                    show_opt(t.quota_files, "")
                );
            }
        }
        TenantCommand::Show { name } => {
            let t = cat.tenant(&name).await?;
            let (bytes, files) = cat.usage(t.id).await?;
            let key = cat.tenant_key(t.id).await?;
            println!("tenant:                  {}", t.name);
            println!("created:                 {}", rfc3339(t.created_at));
            println!(
                "retention after upload:  {}",
                show_opt(t.retention_days, " days")
            );
            println!(
                "retention after download: {}",
                show_opt(t.retention_after_download_hours, " hours")
            );
            println!("quota bytes:             {}", show_opt(t.quota_bytes, ""));
            println!("quota files:             {}", show_opt(t.quota_files, ""));
            println!("usage:                   {bytes} bytes in {files} files");
            println!(
                "tenant key version:      {}",
                key.map_or("none".into(), |k| k.version.to_string())
            );
        }
        TenantCommand::Set {
            name,
            folder,
            retention,
            retention_after_download,
            quota_bytes,
            quota_files,
        } => {
            let days = retention
                .as_deref()
                .map(|v| units::whole(v, units::DAY, "--retention"))
                .transpose()?;
            let hours = retention_after_download
                .as_deref()
                .map(|v| units::whole(v, units::HOUR, "--retention-after-download"))
                .transpose()?;
            if let Some(folder) = folder {
                if quota_bytes.is_some() || quota_files.is_some() {
                    return Err(
                        UsageError("quotas apply to whole tenants, not folders".into()).into(),
                    );
                }
                let t = cat.tenant(&name).await?;
                let files = Files::new(
                    cat.clone(),
                    vault(data_dir)?,
                    Arc::new(server::keys::KeyringHandle::load(
                        master_key_source(data_dir),
                        false,
                    )?),
                    t.id,
                    true,
                    Default::default(),
                    Arc::new(server::files::free_space::FreeSpace::unchecked()),
                );
                let path = JailPath::parse(&Bytes::from(folder.clone().into_bytes()))?;
                if path.is_root() {
                    return Err(
                        UsageError("for the tenant's root, leave out --folder".into()).into(),
                    );
                }
                let node = files
                    .resolve(&path)
                    .await
                    .with_context(|| format!("folder {folder}"))?;
                if node.kind != NodeKind::Dir {
                    return Err(UsageError(format!("{folder} is not a folder")).into());
                }
                let (d, h) = (days.flatten(), hours.flatten());
                cat.set_folder_retention(node.id, d, h).await?;
                println!(
                    "folder {folder} of {name}: retention {} after upload, {} after download",
                    show_opt(d, "d"),
                    show_opt(h, "h")
                );
            } else {
                let settings = TenantSettings {
                    retention_days: days,
                    retention_after_download_hours: hours,
                    quota_bytes: quota_bytes.as_deref().map(units::size).transpose()?,
                    quota_files: quota_files.as_deref().map(units::count).transpose()?,
                };
                let t = cat.update_tenant(&name, &settings).await?;
                println!(
                    "tenant {}: retention {} after upload, {} after download; quota {} bytes, {} files",
                    t.name,
                    show_opt(t.retention_days, "d"),
                    show_opt(t.retention_after_download_hours, "h"),
                    show_opt(t.quota_bytes, ""),
                    show_opt(t.quota_files, "")
                );
            }
        }
        TenantCommand::Ca(c) => crate::gate_admin::tenant_ca(&cat, c).await?,
        TenantCommand::Policy {
            name,
            require_mfa,
            networks,
        } => crate::gate_admin::tenant_policy(&cat, &name, require_mfa, networks).await?,
        TenantCommand::RotateKey { name } => {
            let keys = keyring(data_dir, false)?;
            let (version, nodes) =
                server::keys::rotate_tenant_key(&cat, &keys, &name, now()).await?;
            println!(
                "tenant {name}: key rotated to version {version} ({nodes} names and file keys re-wrapped)"
            );
        }
        TenantCommand::Remove { name, shred } => {
            if !shred {
                return Err(UsageError(format!(
                    "removing tenant {name} destroys its key and every file: add --shred to confirm"
                ))
                .into());
            }
            let blobs = cat.remove_tenant(&name).await?;
            let v = vault(data_dir)?;
            for b in &blobs {
                if let Ok(id) = BlobId::from_hex(b) {
                    v.remove(id)?;
                }
            }
            println!(
                "tenant {name} shredded: key destroyed, {} blobs deleted",
                blobs.len()
            );
        }
    }
    cat.close().await;
    Ok(())
}

pub async fn master_rotate(data_dir: &Path) -> anyhow::Result<()> {
    let cat = open(data_dir).await?;
    let ledger = catalog::LedgerStore::open(&data_dir.join("ledger.db"))?;
    let n = server::keys::rotate_master(&cat, &ledger, &master_key_source(data_dir)).await?;
    cat.close().await;
    println!("master key rotated: {n} tenant keys re-wrapped; the old master key is gone");
    Ok(())
}

pub async fn retention_run(data_dir: &Path, at: Option<&str>) -> anyhow::Result<()> {
    let now = match at {
        None => now(),
        Some(t) => units::time(t, "--now")?,
    };
    let cat = open(data_dir).await?;
    let deleted = server::retention::sweep(&cat, &vault(data_dir)?, now).await?;
    cat.close().await;
    let (ledger, body_key) = crate::audit_admin::open_ledger(data_dir)?;
    let node = server::node_id(
        data_dir,
        &server::clock::SystemClock,
        &server::clock::SystemEntropy,
    )?;
    let records: Vec<_> = deleted
        .iter()
        .map(|f| {
            let mut e = events::Event::new(
                events::Time::from_secs(now),
                events::EventKind::RetentionDelete {
                    file_id: f.node_id,
                    size: f.size,
                },
            );
            e.tenant = Some(f.tenant.clone());
            e.node = Some(node.clone());
            server::audit::stored(&e, &body_key)
        })
        .collect();
    if !records.is_empty() {
        ledger.append(&records)?;
    }
    println!("retention: {} expired files deleted", deleted.len());
    Ok(())
}

fn read_key(file: &Path) -> anyhow::Result<catalog::NewKey> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read key file {}", file.display()))?;
    credentials::parse_public_key(&text).with_context(|| format!("key file {}", file.display()))
}

pub async fn user(data_dir: &Path, cmd: UserCommand) -> anyhow::Result<()> {
    let cat = open(data_dir).await?;
    match cmd {
        UserCommand::Add {
            name,
            tenant,
            key,
            password_stdin,
            access,
        } => {
            let key = key.as_deref().map(read_key).transpose()?;
            let hash = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                let password = line.trim_end_matches(['\r', '\n']);
                Some(credentials::hash_password(password)?)
            } else {
                None
            };
            if key.is_none() && hash.is_none() {
                return Err(UsageError(
                    "an account needs a credential: give --key FILE.pub and/or --password-stdin"
                        .into(),
                )
                .into());
            }
            let access = match access {
                AccessArg::Full => Access::Full,
                AccessArg::ReadOnly => Access::ReadOnly,
                AccessArg::UploadOnly => Access::UploadOnly,
            };
            let a = cat
                .add_account(&tenant, &name, access, hash.as_deref(), key.as_ref(), now())
                .await?;
            println!(
                "account {} created in tenant {} ({})",
                a.name,
                a.tenant,
                a.access.as_str()
            );
        }
        UserCommand::List { tenant } => {
            for a in cat.list_accounts(tenant.as_deref()).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    a.name,
                    a.tenant,
                    a.access.as_str(),
                    if a.locked { "locked" } else { "active" }
                );
            }
        }
        UserCommand::Show { name } => {
            let a = cat.account(&name).await?;
            let when = |t: Option<i64>| t.map_or("never".to_owned(), rfc3339);
            let second = if a.totp_secret.is_some() {
                "TOTP (enrolled)"
            } else if a.tenant_require_mfa && !a.automation {
                "required by the tenant, NOT ENROLLED (logins refused until `user mfa`)"
            } else {
                "none"
            };
            println!("account:   {}", a.name);
            println!("tenant:    {}", a.tenant);
            println!("access:    {}", a.access.as_str());
            println!("state:     {}", if a.locked { "locked" } else { "active" });
            println!(
                "throttle:  {}",
                a.throttle_bytes_per_sec
                    .map_or("none".to_owned(), |t| format!("{t} bytes/s"))
            );
            println!("created:   {}", rfc3339(a.created_at));
            println!(
                "kind:      {}",
                if a.automation { "automation" } else { "human" }
            );
            println!(
                "policy:    first factor {}; second factor {second}",
                a.methods.join(" | ")
            );
            println!(
                "networks:  account {}; tenant {}",
                a.allowed_networks.as_deref().unwrap_or("any"),
                a.tenant_allowed_networks.as_deref().unwrap_or("any")
            );
            if a.under_attack_until.is_some_and(|t| t > now()) {
                println!(
                    "ALERT:     under credential stuffing until {}",
                    when(a.under_attack_until)
                );
            }
            println!("credentials:");
            if a.password_hash.is_some() {
                println!(
                    "  password  expires {}  last used {} from {}",
                    when(a.password_expires_at),
                    when(a.password_last_used_at),
                    a.password_last_used_from.as_deref().unwrap_or("-")
                );
            }
            if a.totp_secret.is_some() {
                println!(
                    "  totp      recovery codes left: {}",
                    cat.unused_recovery_codes(a.id).await?
                );
            }
            for k in cat.list_keys(&name).await? {
                println!(
                    "  key       {} {} {}  expires {}  last used {} from {}",
                    k.algorithm,
                    k.fingerprint,
                    k.comment,
                    when(k.expires_at),
                    when(k.last_used_at),
                    k.last_used_from.as_deref().unwrap_or("-")
                );
            }
        }
        UserCommand::Lock { name, reason: _ } => {
            cat.set_locked(&name, true).await?;
            let selection = server::sessions::Selection {
                account: Some(name.clone()),
                ..Default::default()
            };
            let closed = crate::session_admin::close(data_dir, selection).await?;
            println!("account {name} locked; {closed}");
        }
        UserCommand::Throttle { name, rate } => {
            let bytes_per_sec = match units::size(&rate)? {
                Some(0) => {
                    return Err(UsageError(
                        "a throttle must be above 0 (or `off` to lift it)".into(),
                    )
                    .into());
                }
                other => other,
            };
            cat.set_throttle(&name, bytes_per_sec).await?;
            let live =
                crate::session_admin::throttle(data_dir, &name, bytes_per_sec.map(|b| b as u64))
                    .await?;
            match bytes_per_sec {
                Some(b) => println!("account {name} throttled to {b} bytes/s; {live}"),
                None => println!("account {name}: throttle lifted; {live}"),
            }
        }
        UserCommand::Unlock { name } => {
            cat.set_locked(&name, false).await?;
            println!("account {name} unlocked");
        }
        UserCommand::Remove { name } => {
            cat.remove_account(&name).await?;
            println!("account {name} removed");
        }
        UserCommand::Mfa { name } => crate::gate_admin::user_mfa(&cat, data_dir, &name).await?,
        UserCommand::Set {
            name,
            methods,
            automation,
            networks,
            password_expires,
        } => {
            crate::gate_admin::user_set(
                &cat,
                &name,
                methods,
                automation,
                networks,
                password_expires,
            )
            .await?
        }
        UserCommand::Key(KeyCommand::Add {
            name,
            file,
            expires,
        }) => {
            let mut key = read_key(&file)?;
            key.expires_at = expires
                .as_deref()
                .map(|v| crate::gate_admin::date(v, "--expires"))
                .transpose()?
                .flatten();
            let k = cat.add_key(&name, &key, now()).await?;
            println!("key {} added to {name}", k.fingerprint);
        }
        UserCommand::Key(KeyCommand::List { name }) => {
            for k in cat.list_keys(&name).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    k.fingerprint,
                    k.algorithm,
                    rfc3339(k.created_at),
                    k.comment
                );
            }
        }
        UserCommand::Key(KeyCommand::Remove { name, fingerprint }) => {
            cat.remove_key(&name, &fingerprint).await?;
            println!("key {fingerprint} removed from {name}");
        }
    }
    cat.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_763_700_000), "2025-11-21T04:40:00Z");
    }
}
