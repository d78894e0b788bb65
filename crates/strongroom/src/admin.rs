//! `strongroom tenant`, `user`, `master`, `retention`: arguments parsed into the service's
//! administration operations (`service::admin`), results printed. They work while the server
//! runs and take effect at the next login (locks, bans and throttles also reach live sessions
//! through the control socket).

use std::io::{BufRead, IsTerminal as _, Write as _};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use catalog::{Access, TenantSettings};
use service::admin::{Admin, AdminError};

use crate::UsageError;
use crate::cli::{AccessArg, KeyCommand, ListFormat, TenantCommand, UserCommand};
use crate::settings::master_key_source;
use crate::units;

/// RFC 3339 (UTC) of a Unix time.
fn rfc3339(t: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The data directory, opened for administration. It must exist: only `tenant add` (and the
/// server's first start) make one ([`open_creating`]), so that a mistyped `--data-dir` is
/// said to be one, not made into a data directory with a master key of its own.
pub async fn open(data_dir: &Path) -> anyhow::Result<Admin> {
    existing(data_dir)?;
    Ok(Admin::open(data_dir, master_key_source(data_dir)).await?)
}

/// The data directory, made (owner-only) if there is none yet: for `tenant add`, an
/// installation's first command.
pub async fn open_creating(data_dir: &Path) -> anyhow::Result<Admin> {
    Ok(Admin::open(data_dir, master_key_source(data_dir)).await?)
}

/// The data directory, opened for a command that only reads it: read-only, nothing of it
/// created or changed ([`Admin::open_read_only`]).
pub async fn open_read_only(data_dir: &Path) -> anyhow::Result<Admin> {
    existing(data_dir)?;
    Ok(Admin::open_read_only(data_dir, master_key_source(data_dir)).await?)
}

/// Refuses a data directory that is not there, saying where it was looked for.
fn existing(data_dir: &Path) -> anyhow::Result<()> {
    if data_dir.is_dir() {
        return Ok(());
    }
    anyhow::bail!(
        "no data directory at {} (give --data-dir DIR or STRONGROOM_DATA_DIR; `strongroom tenant add` or the server's first start makes one)",
        data_dir.display()
    )
}

/// The data directory, opened for a command that `changes` it or only reads it.
/// How long a server that did not answer takes, at most, to end the sessions of accounts it
/// finds removed or locked in the catalog (it looks every 2 s).
const SESSIONS_ENDED_BY_THE_SERVER: std::time::Duration = std::time::Duration::from_secs(3);

pub async fn open_for(data_dir: &Path, changes: bool) -> anyhow::Result<Admin> {
    match changes {
        true => open(data_dir).await,
        false => open_read_only(data_dir).await,
    }
}

/// A service error, with a refused request reported as a usage error (exit code 2).
pub fn usage_or(e: AdminError) -> anyhow::Error {
    match e {
        AdminError::Invalid(why) => UsageError(why).into(),
        other => other.into(),
    }
}

/// [`usage_or`] for an error that may hold a service error.
pub fn usage_or_any(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<AdminError>() {
        Ok(e) => usage_or(e),
        Err(e) => e,
    }
}

fn show_opt(v: Option<i64>, unit: &str) -> String {
    v.map_or("off".into(), |v| format!("{v}{unit}"))
}

pub async fn tenant(data_dir: &Path, cmd: TenantCommand) -> anyhow::Result<()> {
    let admin = match cmd {
        TenantCommand::Add { .. } => open_creating(data_dir).await?,
        _ => open_for(data_dir, cmd.changes()).await?,
    };
    let cat = admin.catalog();
    match cmd {
        TenantCommand::Add { name } => {
            let t = admin.add_tenant(&name).await?;
            println!(
                "tenant {} created (retention {} after upload)",
                t.name,
                show_opt(t.retention_days, "d")
            );
        }
        TenantCommand::List => {
            // A key rotation interrupted: the tenant is served under both keys until it ends.
            let rotating: std::collections::HashSet<String> = cat
                .key_rotations()
                .await?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            for t in cat.list_tenants().await? {
                let under_way = match rotating.contains(&t.name) {
                    true => "\tkey-rotation=under-way",
                    false => "",
                };
                println!(
                    "{}\t{}\tretention={}\tafter-download={}\tquota-bytes={}\tquota-files={}{under_way}",
                    t.name,
                    rfc3339(t.created_at),
                    show_opt(t.retention_days, "d"),
                    show_opt(t.retention_after_download_hours, "h"),
                    show_opt(t.quota_bytes, ""),
                    show_opt(t.quota_files, "")
                );
            }
            // A removal interrupted: its key and accounts are gone, some of its files not yet.
            for (name, since) in cat.tenants_being_removed().await? {
                println!(
                    "{name}\tbeing removed since {} (run `strongroom tenant remove {name} --shred` to finish)",
                    rfc3339(since)
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
            if let Some(r) = cat.key_rotation(t.id).await? {
                println!(
                    "key rotation:            from version {} under way since {} (run `strongroom tenant rotate-key {}` to finish)",
                    r.from_version,
                    rfc3339(r.since),
                    t.name
                );
            }
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
            // `0h`: a file goes with its first complete download.
            let hours = retention_after_download
                .as_deref()
                .map(|v| match v {
                    "0" | "0h" => Ok(Some(0)),
                    v => units::whole(v, units::HOUR, "--retention-after-download"),
                })
                .transpose()?;
            if let Some(folder) = folder {
                if quota_bytes.is_some() || quota_files.is_some() {
                    return Err(
                        UsageError("quotas apply to whole tenants, not folders".into()).into(),
                    );
                }
                let (d, h) = (days.flatten(), hours.flatten());
                admin
                    .set_folder_retention(&name, &folder, d, h)
                    .await
                    .map_err(usage_or)?;
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
        TenantCommand::Ca(c) => crate::gate_admin::tenant_ca(data_dir, cat, c).await?,
        TenantCommand::Policy {
            name,
            require_mfa,
            networks,
        } => crate::gate_admin::tenant_policy(data_dir, cat, &name, require_mfa, networks).await?,
        TenantCommand::Check {
            name,
            contents,
            pace,
            format,
        } => {
            let pace = pace.map(|mib| mib << 20);
            check(&admin, name.as_deref(), contents, pace, format).await?
        }
        TenantCommand::Repair { name, reason } => repair(&admin, &name, &reason).await?,
        TenantCommand::RotateKey { name } => {
            // Progress on a terminal only; piped output stays clean.
            let tty = std::io::stderr().is_terminal();
            let told = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let telling = told.clone();
            let rotated = admin
                .rotate_tenant_key(
                    &name,
                    std::sync::Arc::new(move |told| {
                        use service::keys::RotationProgress::{Checked, Rekeyed};
                        if tty {
                            match told {
                                Checked(rows) => eprint!("\rchecked {rows} rows"),
                                Rekeyed(rows) => {
                                    eprint!("\rre-keyed {rows} names and file keys ")
                                }
                            }
                            let _ = std::io::stderr().flush();
                            telling.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    }),
                )
                .await
                .map_err(|e| {
                    // A row that does not re-key: the others are found by `tenant check`.
                    let damaged = matches!(
                        e,
                        AdminError::KeyLifecycle(service::keys::KeyLifecycleError::Catalog(
                            catalog::CatalogError::Rekey(_)
                        )) | AdminError::Catalog(catalog::CatalogError::Rekey(_))
                    );
                    let e = anyhow::Error::from(e);
                    match damaged {
                        true => e.context(format!(
                            "tenant {name}: a value does not open (`strongroom tenant check \
                             {name}` lists every one, `tenant repair` repairs what it can)"
                        )),
                        false => e,
                    }
                })?;
            if told.load(std::sync::atomic::Ordering::Relaxed) {
                eprintln!();
            }
            let service::keys::Rotated {
                version,
                nodes,
                resumed,
            } = rotated;
            if resumed {
                println!(
                    "tenant {name}: the interrupted key rotation finished: version {version} ({nodes} more names and file keys re-wrapped)"
                );
            } else {
                println!(
                    "tenant {name}: key rotated to version {version} ({nodes} names and file keys re-wrapped)"
                );
            }
        }
        TenantCommand::Remove { name, shred } => {
            if !shred {
                return Err(UsageError(format!(
                    "removing tenant {name} destroys its key and every file: add --shred to confirm"
                ))
                .into());
            }
            let mut removal = admin.begin_shred(&name).await?;
            // Its key and accounts are gone: so are their sessions, before its rows go (the
            // server holds its key for them until they end).
            let selection = service::sessions::Selection {
                tenant: Some(name.clone()),
                ..Default::default()
            };
            let (closed, answered) = crate::session_admin::close_or_leave_to_server(
                data_dir,
                selection,
                "tenant removed",
            )
            .await?;
            if answered {
                // Its detection overrides and its accounts' went with it: the server forgets
                // them.
                crate::session_admin::detection_changed(data_dir).await?;
            } else {
                // A server that did not answer ends the sessions of its removed accounts within
                // 2 s of reading the catalog: past that, before the rows go.
                tokio::time::sleep(SESSIONS_ENDED_BY_THE_SERVER).await;
            }
            // Progress on a terminal only; piped output stays clean.
            let tty = std::io::stderr().is_terminal();
            let (files, blobs) = admin
                .shred_rows(&mut removal, |done, total| {
                    if tty {
                        eprint!("\rremoved {done}/{total} files");
                        let _ = std::io::stderr().flush();
                    }
                })
                .await?;
            if tty && files > 0 {
                eprintln!();
            }
            println!(
                "tenant {name} shredded: key destroyed, {} and {} deleted; {closed}",
                crate::units::counted(files as usize, "file"),
                crate::units::counted(blobs, "blob")
            );
        }
    }
    admin.close().await;
    Ok(())
}

pub async fn master_rotate(data_dir: &Path) -> anyhow::Result<()> {
    let admin = open(data_dir).await?;
    let n = admin.rotate_master_key().await?;
    admin.close().await;
    println!("master key rotated: {n} tenant keys re-wrapped; the old master key is gone");
    Ok(())
}

pub async fn retention_run(data_dir: &Path, at: Option<&str>) -> anyhow::Result<()> {
    let admin = open(data_dir).await?;
    let now = match at {
        None => admin.now(),
        Some(t) => units::time(t, "--now")?,
    };
    let deleted = admin.run_retention(now).await?;
    admin.close().await;
    println!("retention: {} expired files deleted", deleted.len());
    Ok(())
}

/// A damaged value as people read it: which value of which row, and where.
fn described(d: &service::admin::Damaged) -> String {
    use service::admin::DamagedValue as V;
    match (d.value, &d.node, &d.account) {
        (V::TotpSecret, _, account) => format!(
            "TOTP secret of account {} (id {})",
            crate::printable::printable(account.as_deref().unwrap_or("?")),
            d.row
        ),
        (V::ClassHistory, _, _) => format!("class history row {}", d.row),
        (value, Some(n), _) => {
            let kind = match n.is_dir {
                true => "directory".to_owned(),
                false => format!("file of {} bytes", n.size),
            };
            let place = match (value, &n.path) {
                (V::Name, Some(dir)) => format!(" in {}", crate::printable::printable(dir)),
                (_, Some(path)) => format!(" {}", crate::printable::printable(path)),
                (_, None) => " under a directory whose name does not open".into(),
            };
            let value = match value {
                V::Name => "name",
                V::DataKey => "data key",
                V::Contents => "contents",
                _ => "data classes",
            };
            format!(
                "{value} of node {} ({kind}, stored {}){place}",
                d.row,
                rfc3339(n.created_at)
            )
        }
        (_, None, _) => format!("row {}", d.row),
    }
}

/// A progress line on a terminal (rows checked so far), quiet when piped; `cleared` after.
struct CheckProgress {
    told: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CheckProgress {
    fn new() -> (Self, impl Fn(service::admin::Checked) + Send + Sync) {
        use service::admin::Checked;
        let tty = std::io::stderr().is_terminal();
        let told = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let telling = told.clone();
        let checked = move |at: Checked| {
            if tty {
                match at {
                    Checked::Rows(rows) => eprint!("\rchecked {rows} rows"),
                    // Not at every file: a tenant's hundred thousand small ones.
                    Checked::Contents { files, bytes } if files % 100 == 0 => eprint!(
                        "\r\x1b[Kread the contents of {files} files ({})",
                        units::bytes_for_people(bytes)
                    ),
                    Checked::Contents { .. } => return,
                }
                let _ = std::io::stderr().flush();
                telling.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        };
        (Self { told }, checked)
    }

    fn cleared(self) {
        if self.told.load(std::sync::atomic::Ordering::Relaxed) {
            eprint!("\r\x1b[K");
        }
    }
}

/// `tenant repair`: what `tenant check` finds, repaired where nothing that opens is lost; a
/// line for each damaged value saying what became of it; exit 1 while any is left.
async fn repair(admin: &Admin, name: &str, reason: &str) -> anyhow::Result<()> {
    use service::admin::Repair;
    if reason.trim().is_empty() {
        return Err(UsageError("--reason must say something".into()).into());
    }
    let (progress, checked) = CheckProgress::new();
    let done = admin.repair_tenant(name, &checked).await;
    progress.cleared();
    let done = done.map_err(usage_or)?;
    if done.is_empty() {
        println!(
            "tenant {name}: every name, key, data class and secret opens; nothing to repair \
             (`tenant check --contents` reads the files' contents too)"
        );
        return Ok(());
    }
    let mut left = 0;
    for (d, repair) in &done {
        let what = described(d);
        match repair {
            Repair::Renamed(new) => println!("{what}: now named {new}"),
            Repair::ClassesCleared => println!(
                "{what}: cleared (`strongroom classify run --tenant {name}` finds them again)"
            ),
            Repair::HistoryRemoved => println!("{what}: removed"),
            Repair::ChangedMeanwhile => {
                println!("{what}: changed since it was checked; left as it is now")
            }
            Repair::Left(todo) => {
                left += 1;
                println!("{what}: not repaired: {todo}");
            }
        }
    }
    if left > 0 {
        anyhow::bail!(
            "tenant {name}: {} of {} damaged values repaired; {left} left (above: what to do)",
            done.len() - left,
            done.len()
        );
    }
    println!("tenant {name}: {} damaged values repaired", done.len());
    Ok(())
}

/// `tenant check`: every sealed value of the tenant (of every tenant, with no name) opened;
/// those that do not, listed (a line each for people, a JSON object each for machines), and
/// exit 1 if any.
async fn check(
    admin: &Admin,
    name: Option<&str>,
    contents: bool,
    pace: Option<u64>,
    format: ListFormat,
) -> anyhow::Result<()> {
    use service::admin::DamagedValue as V;
    let tenants: Vec<String> = match name {
        Some(n) => vec![n.to_owned()],
        None => (admin.catalog().list_tenants().await?)
            .into_iter()
            .map(|t| t.name)
            .collect(),
    };
    let (mut rows, mut damaged, mut with_damage) = (0, 0, Vec::new());
    let (mut files_read, mut bytes_read) = (0, 0);
    for tenant in &tenants {
        let (progress, checked) = CheckProgress::new();
        let found = admin.check_tenant(tenant, contents, pace, &checked).await;
        progress.cleared();
        let found = found.map_err(usage_or)?;
        let mut out = std::io::stdout().lock();
        for d in &found.damaged {
            match format {
                ListFormat::Jsonl => {
                    let node = d.node.as_ref();
                    let (path, directory) = match (d.value, node.and_then(|n| n.path.clone())) {
                        (V::Name, dir) => (None, dir),
                        (_, path) => (path, None),
                    };
                    let line = serde_json::json!({
                        "tenant": tenant,
                        "value": d.value.as_str(),
                        "row": d.row,
                        "kind": node.map(|n| if n.is_dir { "dir" } else { "file" }),
                        "size": node.map(|n| n.size),
                        "created": node.map(|n| rfc3339(n.created_at)),
                        "path": path,
                        "directory": directory,
                        "account": d.account,
                        "detail": d.detail,
                    });
                    writeln!(out, "{line}")?;
                }
                ListFormat::Table => {
                    // Every tenant's: each line says whose.
                    let whose = match name {
                        Some(_) => String::new(),
                        None => format!("tenant {tenant}: "),
                    };
                    let what = described(d);
                    let detail = match &d.detail {
                        Some(detail) => format!(" ({})", crate::printable::printable(detail)),
                        None => String::new(),
                    };
                    writeln!(
                        out,
                        "{whose}{what}: does not open{detail}; {}",
                        d.value.consequence()
                    )?;
                }
            }
        }
        out.flush()?;
        rows += found.rows;
        damaged += found.damaged.len();
        files_read += found.files_read;
        bytes_read += found.bytes_read;
        if !found.damaged.is_empty() {
            with_damage.push(tenant.as_str());
        }
    }
    // Without `--contents`, when the contents were last read: by the server's own pass (on
    // stderr, beside the progress: stdout lists what does not open, then the summary).
    if let (ListFormat::Table, false) = (format, contents)
        && let Some(pass) = admin.catalog().contents_check().await?
    {
        eprintln!("{}", server_contents_check(&pass));
    }
    let scope = match name {
        Some(n) => format!("tenant {n}"),
        None => units::counted(tenants.len(), "tenant"),
    };
    let read = match contents {
        true => format!(
            ", the contents of {files_read} files read ({})",
            units::bytes_for_people(bytes_read)
        ),
        false => String::new(),
    };
    if damaged == 0 {
        if let ListFormat::Table = format {
            println!("{scope}: {rows} rows checked{read}, every sealed value opens");
        }
        return Ok(());
    }
    let repair = match with_damage[..] {
        [one] => format!("`strongroom tenant repair {one} --reason TEXT`"),
        _ => format!(
            "`strongroom tenant repair TENANT --reason TEXT` (for {})",
            with_damage.join(", ")
        ),
    };
    anyhow::bail!(
        "{scope}: {rows} rows checked{read}; {damaged} sealed {} not open (damaged on disk or altered): {repair} repairs what it can (docs/REFERENCE.md, \"Damaged values\")",
        if damaged == 1 {
            "value does"
        } else {
            "values do"
        },
    )
}

/// Where the server's own pass over every file's contents stands, for `tenant check`'s table.
fn server_contents_check(pass: &catalog::ContentsCheck) -> String {
    let at = |ms: i64| rfc3339(ms.div_euclid(1000));
    let read = format!(
        "{} ({}), {} damaged",
        units::counted(pass.files_read as usize, "file"),
        units::bytes_for_people(pass.bytes_read),
        pass.damaged
    );
    match pass.finished_at {
        Some(end) => format!(
            "the server's contents check: its last pass read {read}, from {} to {}",
            at(pass.started_at),
            at(end)
        ),
        None => format!(
            "the server's contents check: a pass under way since {} has read {read} so far",
            at(pass.started_at)
        ),
    }
}

fn read_key_text(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file)
        .with_context(|| format!("cannot read key file {}", file.display()))
}

pub async fn user(data_dir: &Path, cmd: UserCommand) -> anyhow::Result<()> {
    let admin = open_for(data_dir, cmd.changes()).await?;
    let cat = admin.catalog();
    let now = admin.now();
    match cmd {
        UserCommand::Add {
            name,
            tenant,
            key,
            password_stdin,
            access,
        } => {
            let key = match key.as_deref() {
                Some(file) => Some(
                    service::gate::credentials::parse_public_key(&read_key_text(file)?)
                        .with_context(|| format!("key file {}", file.display()))?,
                ),
                None => None,
            };
            let password = if password_stdin {
                // Off this thread: a signal (Ctrl-C at the prompt) is seen meanwhile.
                let line = tokio::task::spawn_blocking(|| {
                    let mut line = zeroize::Zeroizing::new(String::new());
                    std::io::stdin().lock().read_line(&mut line).map(|_| line)
                })
                .await?
                .context("cannot read the password from standard input")?;
                Some(zeroize::Zeroizing::new(
                    line.trim_end_matches(['\r', '\n']).to_owned(),
                ))
            } else {
                None
            };
            let access = match access {
                AccessArg::Full => Access::Full,
                AccessArg::ReadOnly => Access::ReadOnly,
                AccessArg::UploadOnly => Access::UploadOnly,
            };
            let a = admin
                .add_account(
                    &tenant,
                    &name,
                    access,
                    password.as_deref().map(String::as_str),
                    key.as_ref(),
                )
                .await
                .map_err(usage_or)?;
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
            match (&a.locked, &a.lock_reason) {
                (true, Some(why)) => println!("state:     locked ({why})"),
                (true, None) => println!("state:     locked"),
                (false, _) => println!("state:     active"),
            }
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
            if a.under_attack_until.is_some_and(|t| t > now) {
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
        UserCommand::Lock { name, reason } => {
            cat.lock_account(&name, reason.as_deref().unwrap_or("by an administrator"))
                .await?;
            let selection = service::sessions::Selection {
                account: Some(name.clone()),
                ..Default::default()
            };
            let (closed, _) = crate::session_admin::close_or_leave_to_server(
                data_dir,
                selection,
                "account locked",
            )
            .await?;
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
        UserCommand::Unlock { name, reason } => {
            if reason.trim().is_empty() {
                return Err(UsageError("--reason must say why".into()).into());
            }
            cat.unlock_account(&name, admin.now_ms()).await?;
            let live = crate::session_admin::released(data_dir, &name).await?;
            println!("account {name} unlocked; {live}");
        }
        UserCommand::Remove { name } => {
            cat.remove_account(&name).await?;
            // An account that no longer exists has no business reading on.
            let selection = service::sessions::Selection {
                account: Some(name.clone()),
                ..Default::default()
            };
            let (closed, answered) = crate::session_admin::close_or_leave_to_server(
                data_dir,
                selection,
                "account removed",
            )
            .await?;
            // Its detection overrides went with it: the server forgets them (an account made
            // under the same name later starts from the thresholds in force; a server that did
            // not answer reads them again within 2 seconds).
            if answered {
                crate::session_admin::detection_changed(data_dir).await?;
            }
            println!("account {name} removed; {closed}");
        }
        UserCommand::Mfa { name } => crate::gate_admin::user_mfa(data_dir, &admin, &name).await?,
        UserCommand::Set {
            name,
            methods,
            automation,
            networks,
            password_expires,
        } => {
            crate::gate_admin::user_set(
                data_dir,
                cat,
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
            let expires_at = expires
                .as_deref()
                .map(|v| crate::gate_admin::date(v, "--expires"))
                .transpose()?
                .flatten();
            let k = admin
                .add_key(&name, &read_key_text(&file)?, expires_at)
                .await
                .with_context(|| format!("key file {}", file.display()))?;
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
            // A key removed is usually a key stolen: the sessions it opened end with it.
            let selection = service::sessions::Selection {
                account: Some(name.clone()),
                credential: Some(fingerprint.clone()),
                ..Default::default()
            };
            let (closed, _) =
                crate::session_admin::close_or_leave_to_server(data_dir, selection, "key removed")
                    .await?;
            println!("key {fingerprint} removed from {name}; {closed}");
        }
    }
    admin.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_servers_contents_check_is_told_done_or_under_way() {
        let mut pass = catalog::ContentsCheck {
            started_at: 1_000,
            finished_at: Some(61_999),
            until_node: 9,
            tenant_id: 1,
            after_node: Some(5),
            files_read: 3,
            bytes_read: 300_007,
            damaged: 1,
        };
        assert_eq!(
            super::server_contents_check(&pass),
            "the server's contents check: its last pass read 3 files (300,007 bytes (293.0 \
             KiB)), 1 damaged, from 1970-01-01T00:00:01Z to 1970-01-01T00:01:01Z"
        );
        pass.finished_at = None;
        pass.files_read = 1;
        assert_eq!(
            super::server_contents_check(&pass),
            "the server's contents check: a pass under way since 1970-01-01T00:00:01Z has read \
             1 file (300,007 bytes (293.0 KiB)), 1 damaged so far"
        );
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_763_700_000), "2025-11-21T04:40:00Z");
    }
}
