//! Admin commands of the gate: second-factor enrolment, account and tenant login policy (a
//! policy tightened ends the live sessions it would now refuse), certificate authorities and
//! revocations, and the defender's bans.

use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use catalog::{AccountSettings, Catalog, TrustedCa};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use service::gate::{credentials, network};
use vault::totp;

use crate::UsageError;
use crate::cli::{BanCommand, CaCommand};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A date (see `units::time`), or `never` (`None`).
pub fn date(v: &str, flag: &str) -> Result<Option<i64>, UsageError> {
    if v == "never" {
        return Ok(None);
    }
    crate::units::time(v, flag).map(Some)
}

fn yes_no(v: &str, flag: &str) -> Result<bool, UsageError> {
    match v {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err(UsageError(format!("{flag} takes yes or no, not '{v}'"))),
    }
}

fn networks(v: &str, flag: &str) -> Result<Option<String>, UsageError> {
    if v == "any" {
        return Ok(None);
    }
    network::normalise(v)
        .map(Some)
        .map_err(|e| UsageError(format!("{flag}: {e}")))
}

pub async fn user_mfa(
    data_dir: &Path,
    admin: &service::admin::Admin,
    name: &str,
) -> anyhow::Result<()> {
    let a = admin.catalog().account(name).await?;
    let e = admin.enrol_totp(name).await?;
    let uri = totp::otpauth_uri(&e.secret, &a.name, &a.tenant);
    // Its sessions that logged in without a code end, as a policy tightened ends them.
    let closed = close_refused_now(data_dir, &admin.catalog().account(name).await?).await?;
    println!("TOTP enrolled for {name}: from the next login, a verification code is required.");
    if !closed.one_factor.is_empty() {
        println!(
            "its sessions that logged in without one: {}",
            crate::session_admin::closed_ids(&closed.one_factor)
        );
    }
    println!("Shown once; add it to an authenticator app now.\n");
    println!("otpauth URI: {uri}");
    println!("secret:      {}", totp::secret_base32(&e.secret));
    if let Ok(code) = QrCode::new(uri.as_bytes()) {
        println!("\n{}", code.render::<Dense1x2>().quiet_zone(true).build());
    }
    println!("recovery codes (each works once, instead of a verification code):");
    for c in &e.recovery_codes {
        println!("  {c}");
    }
    Ok(())
}

pub async fn user_set(
    data_dir: &Path,
    cat: &Catalog,
    name: &str,
    methods: Option<String>,
    automation: Option<String>,
    nets: Option<String>,
    password_expires: Option<String>,
) -> anyhow::Result<()> {
    let methods = methods
        .map(|m| {
            let list: Vec<String> = m
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            let known = ["publickey", "certificate", "password"];
            match list.iter().find(|m| !known.contains(&m.as_str())) {
                Some(bad) => Err(UsageError(format!(
                    "--methods: '{bad}' is not one of publickey, certificate, password"
                ))),
                None if list.is_empty() => {
                    Err(UsageError("--methods needs at least one method".into()))
                }
                None => Ok(list),
            }
        })
        .transpose()?;
    let settings = AccountSettings {
        methods,
        automation: automation
            .as_deref()
            .map(|v| yes_no(v, "--automation"))
            .transpose()?,
        allowed_networks: nets
            .as_deref()
            .map(|v| networks(v, "--networks"))
            .transpose()?,
        password_expires_at: password_expires
            .as_deref()
            .map(|v| date(v, "--password-expires"))
            .transpose()?,
    };
    let narrowed = settings.allowed_networks.clone().flatten();
    cat.update_account(name, &settings).await?;
    let mut closed = match narrowed {
        // Its sessions from outside the networks it may now come from end.
        Some(list) => {
            let selection = service::sessions::Selection {
                account: Some(name.to_owned()),
                outside: Some(network::parse(&list).map_err(UsageError)?),
                ..Default::default()
            };
            format!(
                "; outside them: {}",
                crate::session_admin::close_for(data_dir, selection, "networks changed").await?
            )
        }
        None => String::new(),
    };
    closed.push_str(
        &close_refused_now(data_dir, &cat.account(name).await?)
            .await?
            .said(),
    );
    println!("account {name} updated{closed}");
    Ok(())
}

/// The account's live sessions a policy tightened closed: by a first factor no longer allowed,
/// and with one factor where a second is now required (their ids).
struct ClosedNow {
    by_method: Vec<String>,
    one_factor: Vec<String>,
}

impl ClosedNow {
    /// `; by a method no longer allowed: 1 live session(s) closed: …`, or nothing.
    fn said(&self) -> String {
        let mut said = String::new();
        for (why, ids) in [
            ("by a method no longer allowed", &self.by_method),
            ("with one factor where two are required", &self.one_factor),
        ] {
            if !ids.is_empty() {
                said.push_str(&format!(
                    "; {why}: {}",
                    crate::session_admin::closed_ids(ids)
                ));
            }
        }
        said
    }
}

/// Ends the account's live sessions that its login policy would refuse now (a method no longer
/// allowed, a password on an automation account or past its expiry, one factor where a second
/// is required: the session logged in before the change).
async fn close_refused_now(data_dir: &Path, a: &catalog::Account) -> anyhow::Result<ClosedNow> {
    let password_refused = a.automation || a.password_expires_at.is_some_and(|t| t <= now());
    let allowed: Vec<String> = a
        .methods
        .iter()
        .filter(|m| !(password_refused && m.as_str() == "password"))
        .cloned()
        .collect();
    let needs_second = a.totp_secret.is_some() || (a.tenant_require_mfa && !a.automation);
    let ask = |selection: service::sessions::Selection| {
        crate::session_admin::close_ids_for(data_dir, selection, "login policy changed")
    };
    let by_method = ask(service::sessions::Selection {
        account: Some(a.name.clone()),
        methods_outside: Some(allowed),
        ..Default::default()
    })
    .await?;
    let one_factor = if needs_second {
        ask(service::sessions::Selection {
            account: Some(a.name.clone()),
            single_factor: true,
            ..Default::default()
        })
        .await?
    } else {
        Vec::new()
    };
    Ok(ClosedNow {
        by_method,
        one_factor,
    })
}

pub async fn tenant_policy(
    data_dir: &Path,
    cat: &Catalog,
    name: &str,
    require_mfa: Option<String>,
    nets: Option<String>,
) -> anyhow::Result<()> {
    let mfa = require_mfa
        .as_deref()
        .map(|v| yes_no(v, "--require-mfa"))
        .transpose()?;
    let nets = nets
        .as_deref()
        .map(|v| networks(v, "--networks"))
        .transpose()?;
    let changed = nets.clone();
    cat.set_tenant_gate(name, mfa, nets).await?;
    // A second factor required now: the tenant's sessions that logged in with one end (but
    // automation accounts', which the minimum does not bind).
    // (Each such session closed by its id: a list of the tenant's automation accounts could
    // outgrow a control request.)
    let mut closed_single = String::new();
    if mfa == Some(true)
        && let Some(live) = crate::session_admin::live(data_dir).await?
    {
        let exempt: std::collections::BTreeSet<String> = cat
            .list_accounts(Some(name))
            .await?
            .into_iter()
            .filter(|a| a.automation)
            .map(|a| a.name)
            .collect();
        let mut ids = Vec::new();
        for s in live {
            let one_factor = s.methods.as_deref().is_some_and(|m| !m.contains('+'));
            let bound = s.account.as_ref().is_some_and(|a| !exempt.contains(a));
            if s.tenant.as_deref() != Some(name) || !one_factor || !bound {
                continue;
            }
            ids.extend(
                crate::session_admin::close_ids_for(
                    data_dir,
                    service::sessions::Selection {
                        session: Some(s.id),
                        tenant: Some(name.to_owned()),
                        single_factor: true,
                        ..Default::default()
                    },
                    "second factor required",
                )
                .await?,
            );
        }
        if !ids.is_empty() {
            closed_single = format!(
                "; with one factor: {}",
                crate::session_admin::closed_ids(&ids)
            );
        }
    }
    // The running server judges new connections by them at once (a login is checked against
    // the tenant's networks as stored; the accept, against every tenant's, as last reloaded),
    // and the tenant's sessions from outside narrowed networks end.
    let mut closed = String::new();
    if let Some(nets) = changed {
        let close = match nets {
            Some(list) => Some(service::sessions::Selection {
                tenant: Some(name.to_owned()),
                outside: Some(network::parse(&list).map_err(UsageError)?),
                ..Default::default()
            }),
            None => None,
        };
        let why = crate::session_admin::by_administrator("networks changed");
        let reply = crate::session_admin::gate_changed(data_dir, close.clone(), why).await?;
        if close.is_some() {
            closed = format!("; outside them: {reply}");
        }
    }
    let (mfa, nets) = cat.tenant_gate(name).await?;
    println!(
        "tenant {name}: second factor {}; networks {}",
        if mfa {
            "required for every non-automation account"
        } else {
            "as each account requires"
        },
        nets.as_deref().unwrap_or("any")
    );
    closed.push_str(&closed_single);
    if !closed.is_empty() {
        println!("{}", closed.trim_start_matches("; "));
    }
    Ok(())
}

pub async fn tenant_ca(data_dir: &Path, cat: &Catalog, cmd: CaCommand) -> anyhow::Result<()> {
    match cmd {
        CaCommand::Add { tenant, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let key = credentials::parse_public_key(&text)
                .with_context(|| format!("CA key file {}", file.display()))?;
            cat.add_ca(
                &tenant,
                &TrustedCa {
                    public_key: key.public_key,
                    fingerprint: key.fingerprint.clone(),
                    comment: key.comment,
                    created_at: now(),
                },
            )
            .await?;
            println!("tenant {tenant} now trusts CA {}", key.fingerprint);
        }
        CaCommand::List { tenant } => {
            for ca in cat.list_cas(&tenant).await? {
                println!("ca\t{}\t{}", ca.fingerprint, ca.comment);
            }
            for (kind, value, _) in cat.list_revocations(&tenant).await? {
                println!("revoked\t{kind}\t{value}");
            }
        }
        CaCommand::Remove {
            tenant,
            fingerprint,
        } => {
            cat.remove_ca(&tenant, &fingerprint).await?;
            println!("tenant {tenant} no longer trusts CA {fingerprint}");
        }
        CaCommand::Revoke {
            tenant,
            key_id,
            fingerprint,
        } => {
            let (kind, value) = match (key_id, fingerprint) {
                (Some(k), _) => ("key-id", k),
                (None, Some(f)) => ("fingerprint", f),
                (None, None) => {
                    return Err(UsageError("give --key-id or --fingerprint".into()).into());
                }
            };
            cat.revoke_certificate(&tenant, kind, &value, now()).await?;
            // The sessions such a certificate opened end with it (a live session knows its
            // certificate's key id and the certified key).
            let selection = service::sessions::Selection {
                tenant: Some(tenant.clone()),
                credential: Some(value.clone()),
                ..Default::default()
            };
            let (closed, _) = crate::session_admin::close_or_leave_to_server(
                data_dir,
                selection,
                "certificate revoked",
            )
            .await?;
            println!("tenant {tenant}: certificates with {kind} {value} revoked; {closed}");
        }
    }
    Ok(())
}

pub async fn ban(data_dir: &Path, cmd: BanCommand) -> anyhow::Result<()> {
    let admin = crate::admin::open_for(data_dir, cmd.changes()).await?;
    let cat = admin.catalog();
    match cmd {
        BanCommand::List => {
            let now = admin.now();
            for b in cat.bans().await?.into_iter().filter(|b| b.until > now) {
                println!(
                    "{}\tlevel {}\tuntil {}\t{}",
                    b.address,
                    b.level,
                    humantime::format_rfc3339_seconds(
                        UNIX_EPOCH + std::time::Duration::from_secs(b.until as u64)
                    ),
                    b.reason
                );
            }
        }
        BanCommand::Add {
            address,
            duration,
            reason,
        } => {
            let secs = match duration.as_deref() {
                None => 86_400,
                Some(d) => humantime::parse_duration(d)
                    .map_err(|e| UsageError(format!("--for {d}: {e}")))?
                    .as_secs() as i64,
            };
            let address = admin
                .ban(address, secs, reason.as_deref())
                .await
                .map_err(crate::admin::usage_or)?;
            let selection = service::sessions::Selection {
                address: Some(address),
                ..Default::default()
            };
            let why = crate::session_admin::by_administrator("address banned");
            // The address's sessions end from the catalog too (a server that does not answer
            // reads the ban at its next refresh, and this kill with it).
            admin.record_session_kill(&selection, &why).await?;
            let closed =
                crate::session_admin::gate_changed_or_leave(data_dir, Some(selection), why).await?;
            let address = service::gate::network::written(address);
            println!("{address} banned for {secs} s; {closed}");
        }
        BanCommand::Remove { address } => {
            let address = service::gate::network::written(address);
            cat.remove_ban(&address).await?;
            // The running server takes it up at once (it would at its next reload).
            crate::session_admin::gate_changed(data_dir, None, String::new()).await?;
            println!("ban of {address} lifted");
        }
    }
    admin.close().await;
    Ok(())
}
