//! `strongroom session list|kill`, and closing an account's sessions for `user lock`: asks the
//! running server over its control socket (`server::control`) and prints the answer. When no
//! server runs on the data directory, says so: no live session was affected.

use std::path::Path;

use anyhow::Context;
use server::control::{self, Reply, Request};
use service::sessions::{Selection, SessionSnapshot};

use crate::UsageError;
use crate::cli::{ListFormat, SessionCommand};
use crate::printable::printable;

pub async fn session(data_dir: &Path, command: SessionCommand) -> anyhow::Result<()> {
    match command {
        SessionCommand::List {
            user,
            tenant,
            format,
        } => {
            let Some(all) = live(data_dir).await? else {
                eprintln!("strongroom: no server is running on {}", data_dir.display());
                return Ok(());
            };
            let shown: Vec<SessionSnapshot> = all
                .into_iter()
                .filter(|s| user.as_ref().is_none_or(|u| s.account.as_ref() == Some(u)))
                .filter(|s| tenant.as_ref().is_none_or(|t| s.tenant.as_ref() == Some(t)))
                .collect();
            match format {
                ListFormat::Jsonl => {
                    for s in &shown {
                        println!("{}", json_line(s));
                    }
                }
                ListFormat::Table => print_table(&shown),
            }
            Ok(())
        }
        SessionCommand::Kill { id, user, ip, key } => {
            if id.is_none() && user.is_none() && ip.is_none() && key.is_none() {
                return Err(UsageError(
                    "session kill needs a session id, --user NAME, --ip ADDRESS or --key \
                     SHA256:..."
                        .into(),
                )
                .into());
            }
            let selection = Selection {
                session: id,
                account: user,
                address: ip,
                credential: key,
                ..Default::default()
            };
            let why = by_administrator("killed");
            // Recorded in the catalog first: every server on it ends the sessions named that
            // began by now, whether or not it answers here.
            if data_dir.is_dir() {
                let admin = crate::admin::open_for(data_dir, true).await?;
                admin.record_session_kill(&selection, &why).await?;
                admin.close().await;
            }
            let (said, _) = close_or_leave(data_dir, &Request::Kill { selection, why }).await?;
            println!("{said}");
            Ok(())
        }
    }
}

/// The running server's live sessions (`None`: no server runs on `data_dir`).
pub async fn live(data_dir: &Path) -> anyhow::Result<Option<Vec<SessionSnapshot>>> {
    match ask(data_dir, &Request::List).await? {
        None => Ok(None),
        Some(Reply::Sessions(all)) => Ok(Some(all)),
        Some(other) => anyhow::bail!("unexpected reply from the server: {other:?}"),
    }
}

/// Closes the sessions `selection` names for an administrator's command that did `what` (an
/// account locked or removed, a key removed), as [`close_for`]; where the running server does
/// not answer (out of file descriptors, stuck), says so on stderr and returns what follows for
/// people: the server ends those sessions itself once it reads the catalog
/// (`service::gate::Gate::end_sessions_out_of_service`), so the command's change stands and
/// its containment with it. With what happened, whether the server answered.
pub async fn close_or_leave_to_server(
    data_dir: &Path,
    selection: Selection,
    what: &str,
) -> anyhow::Result<(String, bool)> {
    let why = by_administrator(what);
    close_or_leave(data_dir, &Request::Kill { selection, why }).await
}

/// Asks the running server for `request` (a kill, or a gate change that closes sessions); where
/// it does not answer, says so on stderr and returns what follows for people (the server ends
/// the sessions itself from the catalog, where the change was made or the kill recorded:
/// [`close_or_leave_to_server`]). With what happened, whether the server answered.
async fn close_or_leave(data_dir: &Path, request: &Request) -> anyhow::Result<(String, bool)> {
    let taken_up = "it ends the live sessions this change concerns itself within 2 seconds of \
                    reading it";
    match ask_or_leave(data_dir, request, taken_up).await? {
        Some(reply) => Ok((closed(reply)?, true)),
        None => {
            let said = "the live sessions it concerns are ended by the server within 2 seconds";
            Ok((said.to_owned(), false))
        }
    }
}

/// Asks the running server for `request`, what is also done without it (a change it takes up
/// from the catalog by itself, a checkpoint the caller signs; `taken_up` says how, for people);
/// where it does not answer, says so on stderr and returns `None`.
async fn ask_or_leave(
    data_dir: &Path,
    request: &Request,
    taken_up: &str,
) -> anyhow::Result<Option<Option<Reply>>> {
    match control::call(data_dir, request).await {
        Ok(reply) => Ok(Some(checked(reply)?)),
        Err(e) => {
            eprintln!("strongroom: warning: cannot reach the running server: {e}; {taken_up}");
            Ok(None)
        }
    }
}

/// `2 live session(s) closed: a, b`, for people.
pub fn closed_ids(ids: &[String]) -> String {
    format!("{} live session(s) closed: {}", ids.len(), ids.join(", "))
}

/// Why an administrator's command closed sessions, as their records say it: `what` (`key
/// removed`) by the administrator who ran it.
pub fn by_administrator(what: &str) -> String {
    format!("{what} {}", by_an_administrator())
}

/// `by an administrator (USER)`: who closed a session, after what was done.
fn by_an_administrator() -> String {
    format!("by an administrator ({})", crate::audit_admin::operator())
}

/// Tells the running server that a login policy changed in the catalog (of `tenant`, or of its
/// `account`): it reloads the networks new connections are judged by and ends the live sessions
/// the policy would no longer let in (`service::gate::Gate::end_sessions_policy_refuses`, the
/// one judgement). Returns what happened, for people: `; networks changed: 1 live session(s)
/// closed: …`, one part per reason, or nothing. Where the server does not answer, warns and
/// says it ends them itself within 2 seconds of reading the change.
pub async fn policy_changed(
    data_dir: &Path,
    tenant: &str,
    account: Option<&str>,
) -> anyhow::Result<String> {
    let request = Request::PolicyChanged {
        tenant: tenant.to_owned(),
        account: account.map(str::to_owned),
        by: by_an_administrator(),
    };
    let taken_up = "it ends the live sessions the policy no longer lets in itself within 2 \
                    seconds of reading it";
    let ended = match ask_or_leave(data_dir, &request, taken_up).await? {
        None => {
            let said = "; the live sessions it no longer lets in are ended by the server within 2 \
                        seconds";
            return Ok(said.to_owned());
        }
        Some(None) => return Ok(String::new()),
        Some(Some(Reply::Ended(ended))) => ended,
        Some(Some(other)) => anyhow::bail!("unexpected reply from the server: {other:?}"),
    };
    let mut by_reason: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (id, reason) in ended {
        by_reason.entry(reason).or_default().push(id);
    }
    Ok((by_reason.iter())
        .map(|(reason, ids)| format!("; {reason}: {}", closed_ids(ids)))
        .collect())
}

/// Tells the running server that a ban was lifted in the catalog: it reloads the bans at once.
/// Where it does not answer, warns: it reads the lift with the bans made since its last reading,
/// within 2 seconds (`catalog::Catalog::lift_ban`).
pub async fn ban_lifted(data_dir: &Path) -> anyhow::Result<()> {
    let request = Request::GateChanged {
        close: None,
        why: String::new(),
    };
    let taken_up = "it reads the lift itself within 2 seconds";
    ask_or_leave(data_dir, &request, taken_up).await?;
    Ok(())
}

/// [`gate_changed`] for a change the server also reads from the catalog by itself (a ban, and
/// the kill of its sessions recorded there), as [`close_or_leave_to_server`]: where the server
/// does not answer, a warning, and what follows for people.
pub async fn gate_changed_or_leave(
    data_dir: &Path,
    close: Option<Selection>,
    why: String,
) -> anyhow::Result<String> {
    let (said, _) = close_or_leave(data_dir, &Request::GateChanged { close, why }).await?;
    Ok(said)
}

/// A kill's reply, for people.
fn closed(reply: Option<Reply>) -> anyhow::Result<String> {
    match reply {
        None => Ok("no server is running: no live session was affected".into()),
        Some(Reply::Killed(ids)) if ids.is_empty() => Ok("no live session matched".into()),
        Some(Reply::Killed(ids)) => Ok(closed_ids(&ids)),
        Some(other) => anyhow::bail!("unexpected reply from the server: {other:?}"),
    }
}

/// Applies an account's new rate to its live sessions; returns what happened, for people.
pub async fn throttle(
    data_dir: &Path,
    account: &str,
    bytes_per_sec: Option<u64>,
) -> anyhow::Result<String> {
    let request = Request::Throttle {
        account: account.to_owned(),
        bytes_per_sec,
    };
    // A server that does not answer takes the rate from the catalog (`Gate::follow_throttles`).
    let taken_up = "it applies the account's rate to its live sessions itself within 2 seconds \
                    of reading it";
    let Some(reply) = ask_or_leave(data_dir, &request, taken_up).await? else {
        return Ok("its live sessions take it from the server within 2 seconds".into());
    };
    match reply {
        None => Ok("no server is running: no live session was affected".into()),
        Some(Reply::Throttled(true)) => Ok("applied to its live sessions".into()),
        Some(Reply::Throttled(false)) => {
            Ok("it has no live session (applies at its next login)".into())
        }
        Some(other) => anyhow::bail!("unexpected reply from the server: {other:?}"),
    }
}

/// Tells the running server an administrator unlocked the account (detection may raise its
/// alerts again); returns what happened, for people.
pub async fn released(data_dir: &Path, account: &str) -> anyhow::Result<String> {
    let request = Request::Released {
        account: account.to_owned(),
    };
    // Not told, the server's detector reads the unlock from the catalog (`released_at`).
    let taken_up = "its detection reads the unlock itself within 2 seconds";
    let Some(reply) = ask_or_leave(data_dir, &request, taken_up).await? else {
        return Ok("detection watches it afresh within 2 seconds".into());
    };
    match reply {
        None => Ok("no server is running".into()),
        Some(Reply::Released) => Ok("detection watches it afresh".into()),
        Some(other) => anyhow::bail!("unexpected reply from the server: {other:?}"),
    }
}

/// Tells the running server that canaries or overrides changed, so they apply at once;
/// returns what happened, for people.
pub async fn detection_changed(data_dir: &Path) -> anyhow::Result<String> {
    // A server that does not answer reads canaries and overrides from the catalog every 2 s.
    let taken_up = "it takes the change up itself within 2 seconds of reading it";
    let Some(reply) = ask_or_leave(data_dir, &Request::DetectionChanged, taken_up).await? else {
        return Ok("the server takes it up within 2 seconds".into());
    };
    match reply {
        None => Ok("no server is running; it applies when the server starts".into()),
        Some(Reply::DetectionRefreshed(true)) => Ok("in force now".into()),
        Some(Reply::DetectionRefreshed(false)) => {
            Ok("the server runs with detection off: not in force".into())
        }
        Some(other) => anyhow::bail!("unexpected reply from the server: {other:?}"),
    }
}

/// Asks the server running on `data_dir`, if one runs, to commit what it has queued for the
/// ledger and sign a checkpoint now; whether one did. A server that does not answer (out of
/// file descriptors, stuck: in the middle of an incident, perhaps) is warned of, and the caller
/// signs the checkpoint itself, as where none runs: the ledger's own transaction keeps the two
/// signers apart, and what the server has not yet written is not in the ledger to be read.
pub async fn checkpoint_now(data_dir: &Path) -> anyhow::Result<bool> {
    let taken_up = "the checkpoint is signed here instead (records the server has not written \
                    to the ledger yet are not in the report)";
    Ok(matches!(
        ask_or_leave(data_dir, &Request::Checkpoint, taken_up).await?,
        Some(Some(Reply::Checkpointed))
    ))
}

/// Asks the running server for what only it can give (its live sessions): one that does not
/// answer is an error. (A change is asked with [`ask_or_leave`]: every server
/// takes it up from the catalog by itself too.)
async fn ask(data_dir: &Path, request: &Request) -> anyhow::Result<Option<Reply>> {
    let reply =
        (control::call(data_dir, request).await).context("cannot reach the running server")?;
    checked(reply)
}

/// A reply, or the server's refusal as an error.
fn checked(reply: Option<Reply>) -> anyhow::Result<Option<Reply>> {
    if let Some(Reply::Refused(why)) = &reply {
        anyhow::bail!("the server refused the request: {why}");
    }
    Ok(reply)
}

fn rfc3339(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn json_line(s: &SessionSnapshot) -> String {
    serde_json::json!({
        "id": s.id,
        "account": s.account,
        "tenant": s.tenant,
        "source": s.source.to_string(),
        "client_version": s.client_version,
        "credential": s.credential,
        "methods": s.methods,
        "started": rfc3339(s.started),
        "last_active": events::Time::from_millis(s.last_active).to_string(),
        "bytes_read": s.bytes_read,
        "bytes_written": s.bytes_written,
        "open_files": s.open_files,
    })
    .to_string()
}

/// `0s`, `42s`, `14m`, `3h`: how long a session has sent nothing, for people.
fn idle_for(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

fn print_table(sessions: &[SessionSnapshot]) {
    let dash = || "-".to_owned();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let rows: Vec<[String; 10]> = sessions
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.account.clone().unwrap_or_else(dash),
                s.tenant.clone().unwrap_or_else(dash),
                s.source.to_string(),
                rfc3339(s.started),
                idle_for(now_ms.saturating_sub(s.last_active)),
                s.bytes_read.to_string(),
                s.bytes_written.to_string(),
                s.credential
                    .as_deref()
                    .map_or_else(dash, |c| printable(c).into_owned()),
                if s.open_files.is_empty() {
                    dash()
                } else {
                    printable(&s.open_files.join(", ")).into_owned()
                },
            ]
        })
        .collect();
    let head = [
        "ID",
        "ACCOUNT",
        "TENANT",
        "SOURCE",
        "STARTED",
        "IDLE",
        "READ",
        "WRITTEN",
        "CREDENTIAL",
        "FILES",
    ];
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(head.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
}
