//! The local control channel: how admin commands reach the running server (`session list`,
//! `session kill`, `user lock`). A Unix socket, `<data-dir>/control.sock`, mode 0600 inside the
//! 0700 data directory; every connection's peer credentials are checked (root or the server's
//! own user only). Nothing else listens on it and no SSH client can reach it.
//!
//! Protocol: one JSON request line, one JSON reply line, then the connection closes. Requests
//! are bounded ([`MAX_REQUEST_LEN`]) and decoded into a closed, typed enum.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::Shared;
use service::sessions::{Selection, SessionSnapshot};

/// The socket's file name in the data directory.
pub const SOCKET_NAME: &str = "control.sock";
/// Longest request line accepted.
pub const MAX_REQUEST_LEN: usize = 4096;
/// How long a peer has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an admin command waits for the server's answer (a checkpoint signed under load
/// takes seconds): a server that cannot accept (out of file descriptors) or is stuck is then
/// reported, not waited for without end. Locks and removals reach its sessions through the
/// catalog all the same (`service::gate::Gate::end_sessions_out_of_service`).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Every live session.
    List,
    /// Close the sessions the selection names, at once; `why` is recorded with each close.
    Kill { selection: Selection, why: String },
    /// Set (or lift, with `None`) an account's rate limit on its live sessions.
    Throttle {
        account: String,
        bytes_per_sec: Option<u64>,
    },
    /// An administrator unlocked the account: detection may raise alerts for it again.
    Released { account: String },
    /// Canaries or detection overrides changed in the catalog: take them up now.
    DetectionChanged,
    /// Bans or allowed networks changed in the catalog (`ban add`, `ban remove`): reload them
    /// now, so that new connections are judged by them at once, not at the next periodic
    /// reload; then close the sessions `close` names (a ban's address), `why` recorded with
    /// each. Reloaded first: a connection that the close misses (not yet counted among the
    /// live ones) logs in after the reload, and a login is asked about bans again once counted.
    GateChanged {
        close: Option<Selection>,
        why: String,
    },
    /// A login policy changed in the catalog (`user set`, `user mfa`, `tenant policy`): reload
    /// the networks new connections are judged by, then end the live sessions of the tenant (of
    /// its one account, if given) that the policy would no longer let in, each recording its
    /// reason and `by` after it (`service::gate::Gate::end_sessions_policy_refuses`).
    PolicyChanged {
        tenant: String,
        account: Option<String>,
        by: String,
    },
    /// Commit what is queued for the ledger and sign a checkpoint now (`incident report
    /// --evidence`: the report's last records are under a signed checkpoint at once, not at
    /// the next one, up to 30 seconds later).
    Checkpoint,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Sessions(Vec<SessionSnapshot>),
    /// Ids of the sessions closed.
    Killed(Vec<String>),
    /// Ids of the sessions closed, each with its reason (`networks changed`).
    Ended(Vec<(String, String)>),
    /// Whether the account had live sessions the new rate applies to.
    Throttled(bool),
    Released,
    /// Whether a detector runs (and has taken the change up).
    DetectionRefreshed(bool),
    /// The ledger's queue is committed and a checkpoint signed.
    Checkpointed,
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    #[error("control socket {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the server's reply could not be read: {0}")]
    BadReply(String),
    #[error(
        "the server on {path} did not answer within {secs} seconds (short of file descriptors \
         or stuck: its log says which)"
    )]
    NoAnswer { path: String, secs: u64 },
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// Binds the control socket (replacing one a crashed server left; the data directory's lock
/// says no other server runs) with mode 0600.
pub fn bind(data_dir: &Path) -> Result<UnixListener, ControlError> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    let io = |source| ControlError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let listener = UnixListener::bind(&path).map_err(io)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

/// Serves the control socket until the task is dropped.
pub async fn serve(listener: UnixListener, shared: std::sync::Arc<Shared>) {
    // SAFETY: geteuid has no preconditions.
    let own_uid = unsafe { libc::geteuid() };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let allowed = stream
            .peer_cred()
            .is_ok_and(|c| c.uid() == 0 || c.uid() == own_uid);
        if !allowed {
            tracing::warn!("control socket: connection from another user refused");
            continue;
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &shared).await {
                tracing::info!(error = %e, "control request failed");
            }
        });
    }
}

async fn answer(stream: UnixStream, shared: &Shared) -> std::io::Result<()> {
    let registry = &shared.registry;
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut limited = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST_LEN as u64));
    tokio::time::timeout(REQUEST_TIMEOUT, limited.read_until(b'\n', &mut line))
        .await
        .map_err(|_| std::io::Error::other("no request in time"))??;
    let reply = match serde_json::from_slice::<Request>(&line) {
        Ok(Request::List) => Reply::Sessions(registry.sessions()),
        Ok(Request::Kill { selection, why }) => {
            let killed = registry.kill(&selection, &why);
            if !killed.is_empty() {
                tracing::info!(?selection, ?killed, "sessions closed by an administrator");
            }
            Reply::Killed(killed)
        }
        Ok(Request::GateChanged { close, why }) => {
            shared.gate.refresh().await;
            let killed = close.map_or_else(Vec::new, |selection| {
                let killed = registry.kill(&selection, &why);
                if !killed.is_empty() {
                    tracing::info!(?selection, ?killed, "sessions closed by an administrator");
                }
                killed
            });
            Reply::Killed(killed)
        }
        Ok(Request::PolicyChanged {
            tenant,
            account,
            by,
        }) => {
            shared.gate.refresh().await;
            let scope = Selection {
                tenant: Some(tenant),
                account,
                ..Default::default()
            };
            match (shared.gate)
                .end_sessions_policy_refuses(registry, Some(&scope), &by)
                .await
            {
                Ok(ended) => {
                    if !ended.is_empty() {
                        tracing::info!(
                            ?scope,
                            ?ended,
                            "sessions a login policy no longer admits closed"
                        );
                    }
                    let ended = ended.into_iter();
                    Reply::Ended(ended.map(|(id, why)| (id, why.to_string())).collect())
                }
                Err(e) => Reply::Refused(format!("the login policies could not be read: {e}")),
            }
        }
        Ok(Request::Throttle {
            account,
            bytes_per_sec,
        }) => {
            let live = shared.throttles.set(&account, bytes_per_sec);
            tracing::info!(%account, ?bytes_per_sec, live, "account throttle changed");
            Reply::Throttled(live)
        }
        Ok(Request::Released { account }) => {
            if let Some(d) = &shared.detection {
                d.with(|d| d.release(&account));
            }
            Reply::Released
        }
        Ok(Request::Checkpoint) => {
            shared.ledger.checkpoint().await;
            Reply::Checkpointed
        }
        Ok(Request::DetectionChanged) => match &shared.detection {
            Some(d) => {
                service::detection::refresh(&shared.catalog, d, &shared.config.detect.rules).await;
                Reply::DetectionRefreshed(true)
            }
            None => Reply::DetectionRefreshed(false),
        },
        Err(e) => Reply::Refused(format!("bad request: {e}")),
    };
    let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await
}

/// Sends `request` to the server running on `data_dir`; `Ok(None)` when no server runs there.
/// A server that does not answer within [`CALL_TIMEOUT`] is an error, not a wait without end.
pub async fn call(data_dir: &Path, request: &Request) -> Result<Option<Reply>, ControlError> {
    tokio::time::timeout(CALL_TIMEOUT, exchange(data_dir, request))
        .await
        .unwrap_or_else(|_| {
            Err(ControlError::NoAnswer {
                path: data_dir.display().to_string(),
                secs: CALL_TIMEOUT.as_secs(),
            })
        })
}

async fn exchange(data_dir: &Path, request: &Request) -> Result<Option<Reply>, ControlError> {
    let path = socket_path(data_dir);
    let io = |source| ControlError::Io {
        path: path.display().to_string(),
        source,
    };
    let stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io(e)),
    };
    let (read, mut write) = stream.into_split();
    let mut line =
        serde_json::to_vec(request).map_err(|e| ControlError::BadReply(e.to_string()))?;
    line.push(b'\n');
    write.write_all(&line).await.map_err(io)?;
    let mut reply = Vec::new();
    BufReader::new(read)
        .read_until(b'\n', &mut reply)
        .await
        .map_err(io)?;
    serde_json::from_slice(&reply)
        .map(Some)
        .map_err(|e| ControlError::BadReply(e.to_string()))
}
