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
    let closed = crate::session_admin::policy_changed(data_dir, &a.tenant, Some(name)).await?;
    println!("TOTP enrolled for {name}: from the next login, a verification code is required.");
    if !closed.is_empty() {
        println!("{}", closed.trim_start_matches("; "));
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
    cat.update_account(name, &settings).await?;
    // Its live sessions that the policy would now refuse end.
    let tenant = cat.account(name).await?.tenant;
    let closed = crate::session_admin::policy_changed(data_dir, &tenant, Some(name)).await?;
    println!("account {name} updated{closed}");
    Ok(())
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
    cat.set_tenant_gate(name, mfa, nets).await?;
    // The running server judges new connections by them at once (a login is checked against
    // the tenant's networks as stored; the accept, against every tenant's, as last reloaded),
    // and the tenant's live sessions that the policy would now refuse end: from outside
    // narrowed networks, with one factor where a second is now required (but automation
    // accounts', which the minimum does not bind).
    let closed = crate::session_admin::policy_changed(data_dir, name, None).await?;
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
            let why = crate::session_admin::by_administrator("lifted");
            cat.lift_ban(&address, admin.now(), &why).await?;
            // The running server takes it up at once (each server would within 2 s).
            crate::session_admin::ban_lifted(data_dir).await?;
            println!("ban of {address} lifted");
        }
    }
    admin.close().await;
    Ok(())
}
