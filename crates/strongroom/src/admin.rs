//! Admin commands over the catalog. They work while the server runs (SQLite in WAL mode) and take
//! effect at the next login.

use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use catalog::{Access, Catalog};
use server::gate::credentials;

use crate::cli::{AccessArg, KeyCommand, TenantCommand, UserCommand};

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

pub async fn tenant(data_dir: &Path, cmd: TenantCommand) -> anyhow::Result<()> {
    let cat = open(data_dir).await?;
    match cmd {
        TenantCommand::Add { name } => {
            let t = cat.add_tenant(&name, now()).await?;
            println!("tenant {} created", t.name);
        }
        TenantCommand::List => {
            for t in cat.list_tenants().await? {
                println!("{}\t{}", t.name, rfc3339(t.created_at));
            }
        }
    }
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
                return Err(crate::UsageError(
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
            println!("account:   {}", a.name);
            println!("tenant:    {}", a.tenant);
            println!("access:    {}", a.access.as_str());
            println!("state:     {}", if a.locked { "locked" } else { "active" });
            println!(
                "password:  {}",
                if a.password_hash.is_some() {
                    "set"
                } else {
                    "none"
                }
            );
            println!("created:   {}", rfc3339(a.created_at));
            let keys = cat.list_keys(&name).await?;
            println!("keys:      {}", keys.len());
            for k in keys {
                println!("  {} {} {}", k.algorithm, k.fingerprint, k.comment);
            }
        }
        UserCommand::Lock { name } => {
            cat.set_locked(&name, true).await?;
            println!("account {name} locked");
        }
        UserCommand::Unlock { name } => {
            cat.set_locked(&name, false).await?;
            println!("account {name} unlocked");
        }
        UserCommand::Remove { name } => {
            cat.remove_account(&name).await?;
            println!("account {name} removed");
        }
        UserCommand::Key(KeyCommand::Add { name, file }) => {
            let k = cat.add_key(&name, &read_key(&file)?, now()).await?;
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
