//! One SFTP session per SSH channel: frames the inbound bytes, decodes requests, asks the gate,
//! and runs each request as its own task while keeping the result as if requests ran in order.
//!
//! Ordering: every request names the resources it touches: the namespace (path operations,
//! OPEN) or one handle (READ, WRITE, FSTAT, ...); CLOSE touches both, because committing an upload
//! changes the namespace. A request starts only after the previous request on each of its
//! resources has finished, so requests on different handles run concurrently while everything on
//! one handle, and everything on the namespace, keeps the client's order.
//!
//! Bounds, so that a client that sends without waiting or stops reading its replies makes itself
//! wait, never the server grow ([`Budgets`]): bytes of requests received and not yet answered
//! ([`CONNECTION_INBOUND_BUDGET`] per connection, all its channels together), bytes of READ
//! replies being read or waiting to be sent ([`CONNECTION_REPLY_BUDGET`]), both also drawn from
//! one server-wide budget (`[limits] buffer_mib`); requests in flight per channel
//! ([`MAX_IN_FLIGHT`]); open handles per connection (configured). When a bound is reached the
//! connection stops reading (back-pressure) or its READs wait for room. A reply the client does
//! not take for [`REPLY_STALL_TIMEOUT`] closes the connection, so that a stalled client cannot
//! hold its share of the server's budget for ever.

mod audit;
pub mod domain;
mod handlers;
mod handles;
mod status;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use russh::ChannelId;
use russh::server::Handle;
use sftp_proto::message::ext;
use sftp_proto::{FrameDecoder, FrameError, Packet, RequestOp, Response, StatusCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

pub use handles::{HandleKey, HandleTable, OpenHandle};
use service::files::Files;
use service::gate::Principal;

/// What a request's handler returns when it succeeds: the reply, and what its audit record
/// needs to know that only the handler learned.
pub struct Served {
    pub reply: Bytes,
    /// Entries a READDIR returned.
    pub entries: Option<u64>,
    /// The file the request resolved (STAT).
    pub file: Option<events::FileRef>,
    /// The handle an OPEN or OPENDIR registered.
    pub opened: Option<Arc<OpenHandle>>,
    /// Bytes a READ returned.
    pub transferred: u64,
}

impl Served {
    pub fn new(reply: Bytes) -> Self {
        Self {
            reply,
            entries: None,
            file: None,
            opened: None,
            transferred: 0,
        }
    }
}

/// Bytes of requests one connection may have received and not yet answered (all channels).
/// OpenSSH's client keeps at most 64 requests of 255 KiB (16 MiB) outstanding.
pub const CONNECTION_INBOUND_BUDGET: usize = 32 << 20;

/// Bytes of READ replies one connection may hold: being read from storage or waiting for the
/// client to take them (64 replies of 255 KiB: OpenSSH's download pipeline).
pub const CONNECTION_REPLY_BUDGET: usize = 16 << 20;

/// A reply the client has not taken for this long (its window stays shut) closes the connection.
pub const REPLY_STALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The memory budgets a connection's SFTP channels draw from: its own, and the server's.
#[derive(Clone)]
pub struct Budgets {
    inbound: Arc<Semaphore>,
    replies: Arc<Semaphore>,
    server: Arc<Semaphore>,
}

/// Bytes held from a connection's budget and the server's; given back when dropped.
pub struct Held {
    _own: OwnedSemaphorePermit,
    _server: OwnedSemaphorePermit,
}

impl Budgets {
    /// A new connection's budgets, drawing also on `server` (shared by all connections).
    pub fn for_connection(server: Arc<Semaphore>) -> Self {
        Self {
            inbound: Arc::new(Semaphore::new(CONNECTION_INBOUND_BUDGET)),
            replies: Arc::new(Semaphore::new(CONNECTION_REPLY_BUDGET)),
            server,
        }
    }

    /// Waits for `n` bytes of `own` and of the server's budget (in that order, always, so
    /// that two waiters never hold each other's half). `None` once closed.
    async fn take(&self, own: &Arc<Semaphore>, n: usize) -> Option<Held> {
        let n = u32::try_from(n).ok()?;
        let own = own.clone().acquire_many_owned(n).await.ok()?;
        let server = self.server.clone().acquire_many_owned(n).await.ok()?;
        Some(Held {
            _own: own,
            _server: server,
        })
    }
}

/// Requests of one channel being served at once.
pub const MAX_IN_FLIGHT: usize = 128;

/// Extensions announced in VERSION (name, version).
const EXTENSIONS: &[(&[u8], &[u8])] = &[
    (ext::POSIX_RENAME, b"1"),
    (ext::STATVFS, b"2"),
    (ext::FSTATVFS, b"2"),
    (ext::FSYNC, b"1"),
    (ext::LIMITS, b"1"),
    (ext::EXPAND_PATH, b"1"),
    (ext::HOME_DIRECTORY, b"1"),
    (ext::LSETSTAT, b"1"),
];

/// What a request's handler needs: shared by all requests of one session.
pub struct SessionContext {
    /// Who, from where, on which connection: the template of this session's events.
    pub event: events::Event,
    pub ledger: Arc<service::audit::Ledger>,
    pub principal: Principal,
    pub files: Files,
    pub handles: Mutex<HandleTable>,
    pub data_dir: PathBuf,
    /// The connection's memory budgets (shared by its channels).
    pub budgets: Budgets,
    /// Cuts the connection (a client that stops taking replies).
    pub sever: service::sessions::Sever,
    /// The connection's live record: bytes read and written so far are counted into it.
    pub live: Arc<service::sessions::LiveSession>,
    /// The account's rate limit, shared by its sessions (`user throttle`).
    pub pacer: Arc<service::throttle::Pacer>,
    /// The detector, told of the session's reads as they grow.
    pub detection: Option<Arc<service::detection::Detection>>,
    /// The server's clock and entropy.
    pub clock: Arc<dyn service::clock::Clock>,
    pub entropy: Arc<dyn service::clock::Entropy>,
}

/// The SSH side's end of a channel: frames the bytes as they arrive (one copy, into the
/// framer) and queues whole packets for the driver. Dropping it ends the session.
pub struct Inbound {
    framer: FrameDecoder,
    tx: mpsc::UnboundedSender<Result<(Bytes, Held), FrameError>>,
    budgets: Budgets,
}

impl Inbound {
    /// Takes bytes received on the channel; waits only when the connection's (or the
    /// server's) budget of requests not yet answered is spent. `false` once the session is over.
    pub async fn push(&mut self, data: &[u8]) -> bool {
        self.framer.push(data);
        loop {
            match self.framer.next_packet() {
                Ok(None) => return true,
                Ok(Some(frame)) => {
                    let Some(held) = self.budgets.take(&self.budgets.inbound, frame.len()).await
                    else {
                        return false;
                    };
                    if self.tx.send(Ok((frame, held))).is_err() {
                        return false;
                    }
                }
                Err(e) => {
                    let _ = self.tx.send(Err(e));
                    return false;
                }
            }
        }
    }
}

/// Starts serving SFTP on `channel`; feed it through the returned [`Inbound`].
pub fn start(ctx: Arc<SessionContext>, handle: Handle, channel: ChannelId) -> Inbound {
    use events::EventSink;
    ctx.ledger.emit(ctx.event.clone());
    let (tx, rx) = mpsc::unbounded_channel();
    let budgets = ctx.budgets.clone();
    let driver = Driver {
        out: Outbound {
            handle,
            channel,
            sever: ctx.sever.clone(),
        },
        ctx,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        lanes: Lanes::default(),
        initialized: false,
    };
    tokio::spawn(driver.run(rx));
    Inbound {
        framer: FrameDecoder::new(),
        tx,
        budgets,
    }
}

/// Ends a handle its session left open: an upload dropped uncommitted (its open recorded as
/// having changed nothing), a download's bytes so far recorded.
async fn abandon(ctx: &SessionContext, h: &OpenHandle) {
    match h {
        OpenHandle::Write(up) => {
            audit::opened_never_committed(ctx, up);
            tracing::info!(account = %ctx.principal.account, "discarding upload that was never closed");
            ctx.files.discard(up).await;
        }
        read @ OpenHandle::Read(_) => audit::read_cut_short(ctx, read),
        OpenHandle::Dir(_) => {}
    }
}

/// Where replies go.
#[derive(Clone)]
struct Outbound {
    handle: Handle,
    channel: ChannelId,
    sever: service::sessions::Sever,
}

impl Outbound {
    async fn send(&self, frame: Bytes) {
        // An error means the connection is gone; the driver notices through its inbound queue.
        let sent =
            tokio::time::timeout(REPLY_STALL_TIMEOUT, self.handle.data(self.channel, frame)).await;
        if sent.is_err() {
            tracing::warn!(
                "closing connection: the client has not taken a reply for {} s",
                REPLY_STALL_TIMEOUT.as_secs()
            );
            self.sever.sever();
        }
    }
}

/// What a request waits for and what it signals, one link per resource.
#[derive(Default)]
struct Lanes {
    namespace: Option<oneshot::Receiver<()>>,
    handles: HashMap<HandleKey, oneshot::Receiver<()>>,
}

enum Resources {
    Namespace,
    Handle(HandleKey),
    HandleAndNamespace(HandleKey),
}

impl Lanes {
    fn enter(&mut self, r: &Resources) -> (Vec<oneshot::Receiver<()>>, Vec<oneshot::Sender<()>>) {
        let mut waits = Vec::with_capacity(2);
        let mut dones = Vec::with_capacity(2);
        let mut link = |slot: &mut Option<oneshot::Receiver<()>>| {
            let (tx, rx) = oneshot::channel();
            if let Some(prev) = slot.replace(rx) {
                waits.push(prev);
            }
            dones.push(tx);
        };
        match r {
            Resources::Namespace => link(&mut self.namespace),
            Resources::Handle(h) => {
                let mut slot = self.handles.remove(h);
                link(&mut slot);
                self.handles.extend(slot.map(|s| (*h, s)));
            }
            Resources::HandleAndNamespace(h) => {
                link(&mut self.namespace);
                // The handle is closing: later requests on it are refused at dispatch.
                let mut slot = self.handles.remove(h);
                link(&mut slot);
            }
        }
        (waits, dones)
    }
}

struct Driver {
    ctx: Arc<SessionContext>,
    out: Outbound,
    in_flight: Arc<Semaphore>,
    lanes: Lanes,
    initialized: bool,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Result<(Bytes, Held), FrameError>>) {
        let account = self.ctx.principal.account.clone();
        while let Some(item) = rx.recv().await {
            match item {
                Ok((frame, held)) => {
                    self.ctx.live.active(self.ctx.clock.now());
                    if let Err(reason) = self.dispatch(frame, held).await {
                        tracing::warn!(%account, reason, "closing SFTP channel");
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(%account, error = %e, "closing SFTP channel: unframeable input");
                    break;
                }
            }
        }
        drop(rx);
        // Let requests in flight finish, then drop uploads that were never closed.
        let _ = self.in_flight.acquire_many(MAX_IN_FLIGHT as u32).await;
        let leftovers = self
            .ctx
            .handles
            .lock()
            .map(|mut t| t.drain())
            .unwrap_or_default();
        for h in leftovers {
            abandon(&self.ctx, &h).await;
        }
        {
            use events::EventSink;
            let mut closed = self.ctx.event.clone();
            closed.time = self.ctx.clock.now();
            closed.kind = events::EventKind::Session {
                opened: false,
                methods: None,
                credential: None,
                ended_by: self.ctx.live.ended_by().map(str::to_owned),
            };
            self.ctx.ledger.emit(closed);
        }
        // scp (and anything that waits for ssh) reads the exit status of the subsystem.
        let _ = self
            .out
            .handle
            .exit_status_request(self.out.channel, 0)
            .await;
        let _ = self.out.handle.eof(self.out.channel).await;
        let _ = self.out.handle.close(self.out.channel).await;
    }

    /// Handles one packet; `held` is its share of the inbound budget, given back once it is
    /// answered. An `Err` closes the channel (the stream cannot be trusted any more).
    async fn dispatch(&mut self, frame: Bytes, held: Held) -> Result<(), &'static str> {
        let req = match Packet::decode(frame) {
            Ok(Packet::Init { .. }) if !self.initialized => {
                self.initialized = true;
                let version = Response::Version {
                    extensions: EXTENSIONS.to_vec(),
                };
                self.out.send(version.encode()).await;
                return Ok(());
            }
            Ok(Packet::Init { .. }) => return Err("second INIT"),
            Ok(Packet::Request(_)) if !self.initialized => return Err("request before INIT"),
            Ok(Packet::Request(req)) => req,
            Err((Some(id), e)) => {
                tracing::debug!(error = %e, "malformed SFTP request");
                let reply =
                    status::reply(id, StatusCode::BAD_MESSAGE, &format!("bad message: {e}"));
                self.out.send(reply).await;
                return Ok(());
            }
            Err((None, _)) => return Err("packet too short to carry a request id"),
        };
        let id = req.id;
        let mut op = req.op;
        if let Err(denied) = domain::authorize(self.ctx.principal.access, &mut op) {
            self.out
                .send(status::reply(id, StatusCode::PERMISSION_DENIED, denied.0))
                .await;
            // Recorded apart from the reply and from the requests after it: naming the file
            // attempted takes longer for a path that exists, which must not tell an account
            // that may not list what exists. Within the session's in-flight limit.
            let permit = self.in_flight_permit().await?;
            let ctx = self.ctx.clone();
            tokio::spawn(async move {
                handlers::record_denial(&ctx, &op, denied.0).await;
                drop(permit);
            });
            return Ok(());
        }
        let (resources, handle) = match self.claim(&op) {
            Ok(r) => r,
            Err(reply) => {
                self.out
                    .send(status::reply(id, reply, "invalid handle"))
                    .await;
                return Ok(());
            }
        };
        let permit = self.in_flight_permit().await?;
        let (waits, dones) = self.lanes.enter(&resources);
        let ctx = self.ctx.clone();
        let out = self.out.clone();
        // A READ's reply is room to take before the bytes are read, so that replies a client
        // does not take hold its READs back instead of filling memory.
        let reply_room = match &op {
            RequestOp::Read { len, .. } => {
                sftp_proto::message::DATA_HEADER_LEN
                    + (*len).min(sftp_proto::limits::MAX_READ_WRITE_LEN) as usize
            }
            _ => 0,
        };
        let paced = match &op {
            RequestOp::Read { len, .. } => {
                u64::from((*len).min(sftp_proto::limits::MAX_READ_WRITE_LEN))
            }
            RequestOp::Write { data, .. } => data.len() as u64,
            _ => 0,
        };
        tokio::spawn(async move {
            for w in waits {
                let _ = w.await;
            }
            if paced > 0 {
                ctx.pacer.pace(paced).await;
            }
            let room = match reply_room {
                0 => None,
                n => ctx.budgets.take(&ctx.budgets.replies, n).await,
            };
            // A session the server closed (containment, `session kill`) does nothing more,
            // whatever it had queued: an upload it was closing is dropped uncommitted; what it
            // asked for by name is recorded as refused, with why (an incident report lists
            // what it tried).
            if let Some(why) = ctx.live.ended_by() {
                match handle {
                    Some(h) if matches!(op, RequestOp::Close { .. }) => abandon(&ctx, &h).await,
                    None if audit::of(&op, None).is_some() => {
                        let why = format!("not done: the server had closed the session, {why}");
                        handlers::record_denial(&ctx, &op, &why).await;
                    }
                    _ => {}
                }
                return;
            }
            let reply = handlers::handle(&ctx, id, op, handle).await;
            out.send(reply).await;
            drop(room);
            drop(dones);
            drop(permit);
            drop(held);
        });
        Ok(())
    }

    /// Which resources `op` touches, and the open handle it names (removed from the table for
    /// CLOSE). An unknown handle is refused here, before any task is started.
    /// A place among the requests this session may have in flight ([`MAX_IN_FLIGHT`]): waits
    /// for one to finish when all are taken.
    async fn in_flight_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, &'static str> {
        self.in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "in-flight limiter closed")
    }

    fn claim(&self, op: &RequestOp) -> Result<(Resources, Option<Arc<OpenHandle>>), StatusCode> {
        use sftp_proto::Extended as E;
        let (raw, closing) = match op {
            RequestOp::Close { handle } => (handle, true),
            RequestOp::Read { handle, .. }
            | RequestOp::Write { handle, .. }
            | RequestOp::Fstat { handle }
            | RequestOp::Fsetstat { handle, .. }
            | RequestOp::Readdir { handle }
            | RequestOp::Extended(E::Fsync { handle } | E::Fstatvfs { handle }) => (handle, false),
            _ => return Ok((Resources::Namespace, None)),
        };
        let mut table = self.ctx.handles.lock().map_err(|_| StatusCode::FAILURE)?;
        let key = handles::parse(raw).ok_or(StatusCode::FAILURE)?;
        if closing {
            let h = table.remove(&key).ok_or(StatusCode::FAILURE)?;
            Ok((Resources::HandleAndNamespace(key), Some(h)))
        } else {
            let h = table.get(&key).ok_or(StatusCode::FAILURE)?;
            Ok((Resources::Handle(key), Some(h)))
        }
    }
}
