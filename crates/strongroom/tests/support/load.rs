//! A load generator for soak and idle-session tests: many SFTP sessions in one process (russh's
//! client and our SFTP codec on tokio), each bound to one of several 127.x source addresses, each
//! doing its own mix of uploads, downloads (contents checked), listings, renames and removes in
//! a directory of its own, one request at a time. Loopback only; bounded in count and time.
//! Compiled into the test binaries that use it only (`#[path]`), so the others do not build
//! russh's client.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use russh::ChannelMsg;
use russh::client;
use russh::keys::PrivateKeyWithHashAlg;
use sftp_proto::message::kind;
use sftp_proto::{Attrs, FrameDecoder, OpenFlags, Packet, Request, RequestOp};

struct Trusting;

impl client::Handler for Trusting {
    type Error = russh::Error;
    async fn check_server_key(
        &mut self,
        _key: &russh::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// One SFTP session over a russh client channel; requests one at a time.
pub struct Session {
    _handle: client::Handle<Trusting>,
    channel: russh::Channel<client::Msg>,
    framer: FrameDecoder,
    next_id: u32,
}

/// A reply: its type and body after the id.
pub struct Reply {
    pub kind: u8,
    pub body: Bytes,
}

impl Reply {
    pub fn status(&self) -> Option<u32> {
        (self.kind == kind::STATUS).then(|| u32::from_be_bytes(self.body[..4].try_into().unwrap()))
    }

    fn string(&self) -> Bytes {
        let n = u32::from_be_bytes(self.body[..4].try_into().unwrap()) as usize;
        self.body.slice(4..4 + n)
    }
}

#[derive(Debug)]
pub struct LoadError(pub String);

fn err(e: impl std::fmt::Display) -> LoadError {
    LoadError(e.to_string())
}

impl Session {
    /// Connects from `source` to `server` as `user` with the key at `key`, and starts SFTP.
    pub async fn open(
        source: Ipv4Addr,
        server: SocketAddr,
        user: &str,
        key: Arc<russh::keys::PrivateKey>,
    ) -> Result<Session, LoadError> {
        let socket = tokio::net::TcpSocket::new_v4().map_err(err)?;
        socket
            .bind(SocketAddr::new(source.into(), 0))
            .map_err(err)?;
        let stream = socket.connect(server).await.map_err(err)?;
        let config = Arc::new(client::Config {
            window_size: 2 * 1024 * 1024,
            ..Default::default()
        });
        let mut handle = client::connect_stream(config, stream, Trusting)
            .await
            .map_err(err)?;
        let auth = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, None))
            .await
            .map_err(err)?;
        if !auth.success() {
            return Err(LoadError(format!("{user}: authentication failed")));
        }
        let channel = handle.channel_open_session().await.map_err(err)?;
        channel.request_subsystem(true, "sftp").await.map_err(err)?;
        let mut s = Session {
            _handle: handle,
            channel,
            framer: FrameDecoder::new(),
            next_id: 1,
        };
        s.channel
            .data_bytes(
                Packet::Init {
                    version: 3,
                    extensions: vec![],
                }
                .encode(),
            )
            .await
            .map_err(err)?;
        let frame = s.next_frame().await?;
        if frame.first() != Some(&kind::VERSION) {
            return Err(LoadError("no VERSION".into()));
        }
        Ok(s)
    }

    async fn next_frame(&mut self) -> Result<Bytes, LoadError> {
        loop {
            if let Some(f) = self.framer.next_packet().map_err(err)? {
                return Ok(f);
            }
            match self.channel.wait().await {
                Some(ChannelMsg::Data { data }) => self.framer.push(&data),
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                    return Err(LoadError("channel closed".into()));
                }
                Some(_) => {}
            }
        }
    }

    pub async fn call(&mut self, op: RequestOp) -> Result<Reply, LoadError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.channel
            .data_bytes(Packet::Request(Request { id, op }).encode())
            .await
            .map_err(err)?;
        let frame = self.next_frame().await?;
        if frame.len() < 5 || u32::from_be_bytes(frame[1..5].try_into().unwrap()) != id {
            return Err(LoadError("reply to another request".into()));
        }
        Ok(Reply {
            kind: frame[0],
            body: frame.slice(5..),
        })
    }

    async fn ok(&mut self, op: RequestOp, what: &str) -> Result<(), LoadError> {
        match self.call(op).await?.status() {
            Some(0) => Ok(()),
            other => Err(LoadError(format!("{what}: status {other:?}"))),
        }
    }

    pub async fn mkdir(&mut self, path: &str) -> Result<(), LoadError> {
        self.ok(
            RequestOp::Mkdir {
                path: Bytes::copy_from_slice(path.as_bytes()),
                attrs: Attrs::default(),
            },
            path,
        )
        .await
    }

    pub async fn upload(&mut self, path: &str, data: &[u8]) -> Result<(), LoadError> {
        let r = self
            .call(RequestOp::Open {
                path: Bytes::copy_from_slice(path.as_bytes()),
                flags: OpenFlags(OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC),
                attrs: Attrs::default(),
            })
            .await?;
        if r.kind != kind::HANDLE {
            return Err(LoadError(format!(
                "open {path} for writing: {:?}",
                r.status()
            )));
        }
        let handle = r.string();
        for (i, piece) in data.chunks(65_536).enumerate() {
            self.ok(
                RequestOp::Write {
                    handle: handle.clone(),
                    offset: (i * 65_536) as u64,
                    data: Bytes::copy_from_slice(piece),
                },
                path,
            )
            .await?;
        }
        self.ok(RequestOp::Close { handle }, path).await
    }

    pub async fn download(&mut self, path: &str) -> Result<Vec<u8>, LoadError> {
        let r = self
            .call(RequestOp::Open {
                path: Bytes::copy_from_slice(path.as_bytes()),
                flags: OpenFlags(OpenFlags::READ),
                attrs: Attrs::default(),
            })
            .await?;
        if r.kind != kind::HANDLE {
            return Err(LoadError(format!("open {path}: {:?}", r.status())));
        }
        let handle = r.string();
        let mut out = Vec::new();
        loop {
            let r = self
                .call(RequestOp::Read {
                    handle: handle.clone(),
                    offset: out.len() as u64,
                    len: 65_536,
                })
                .await?;
            match r.kind {
                kind::DATA => out.extend_from_slice(&r.string()),
                _ if r.status() == Some(1) => break,
                _ => return Err(LoadError(format!("read {path}: {:?}", r.status()))),
            }
        }
        self.ok(RequestOp::Close { handle }, path).await?;
        Ok(out)
    }

    /// Names in `dir` (reads the whole listing).
    pub async fn list(&mut self, dir: &str) -> Result<usize, LoadError> {
        let r = self
            .call(RequestOp::Opendir {
                path: Bytes::copy_from_slice(dir.as_bytes()),
            })
            .await?;
        if r.kind != kind::HANDLE {
            return Err(LoadError(format!("opendir {dir}: {:?}", r.status())));
        }
        let handle = r.string();
        let mut n = 0;
        loop {
            let r = self
                .call(RequestOp::Readdir {
                    handle: handle.clone(),
                })
                .await?;
            match r.kind {
                kind::NAME => n += u32::from_be_bytes(r.body[..4].try_into().unwrap()) as usize,
                _ if r.status() == Some(1) => break,
                _ => return Err(LoadError(format!("readdir {dir}: {:?}", r.status()))),
            }
        }
        self.ok(RequestOp::Close { handle }, dir).await?;
        Ok(n)
    }

    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), LoadError> {
        self.ok(
            RequestOp::Rename {
                from: Bytes::copy_from_slice(from.as_bytes()),
                to: Bytes::copy_from_slice(to.as_bytes()),
            },
            from,
        )
        .await
    }

    pub async fn remove(&mut self, path: &str) -> Result<(), LoadError> {
        self.ok(
            RequestOp::Remove {
                path: Bytes::copy_from_slice(path.as_bytes()),
            },
            path,
        )
        .await
    }
}

/// Counters every session adds to.
#[derive(Default)]
pub struct Totals {
    pub ops: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
    pub verified: AtomicU64,
}

/// Deterministic contents for (session, n).
fn contents(session: usize, n: u64) -> Vec<u8> {
    let len = ((session as u64 * 7919 + n * 104_729) % 200_000) as usize;
    crate::support::pseudo_random(session as u64 * 1_000_003 + n, len)
}

/// One session's mixed work until `until`, in `/load/s{index}`; every download is compared
/// with what was uploaded. The first error ends the session and is returned.
pub async fn mixed_work(
    index: usize,
    mut s: Session,
    until: Instant,
    totals: Arc<Totals>,
) -> Result<(), LoadError> {
    let dir = format!("/load/s{index}");
    s.mkdir(&dir).await?;
    let mut files: Vec<(String, u64)> = Vec::new();
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        match n % 6 {
            0 | 1 => {
                let path = format!("{dir}/f{n}");
                let data = contents(index, n);
                s.upload(&path, &data).await?;
                totals.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                files.push((path, n));
            }
            2 | 3 if !files.is_empty() => {
                let (path, m) = &files[(n as usize) % files.len()];
                let got = s.download(path).await?;
                if got != contents(index, *m) {
                    totals.errors.fetch_add(1, Ordering::Relaxed);
                    return Err(LoadError(format!("{path}: contents differ")));
                }
                totals.bytes.fetch_add(got.len() as u64, Ordering::Relaxed);
                totals.verified.fetch_add(1, Ordering::Relaxed);
            }
            4 if !files.is_empty() => {
                let i = (n as usize) % files.len();
                let to = format!("{dir}/r{n}");
                s.rename(&files[i].0, &to).await?;
                files[i].0 = to;
            }
            5 if files.len() > 8 => {
                let (path, _) = files.remove(0);
                s.remove(&path).await?;
            }
            _ => {
                let listed = s.list(&dir).await?;
                if listed != files.len() {
                    return Err(LoadError(format!(
                        "{dir}: {listed} names listed, {} expected",
                        files.len()
                    )));
                }
            }
        }
        totals.ops.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// The server's resident memory (KiB) and open descriptors.
pub fn server_footprint(pid: u32) -> (u64, usize) {
    let rss = crate::support::rss_kib(pid);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    (rss, fds)
}

pub fn load_key(path: PathBuf) -> Arc<russh::keys::PrivateKey> {
    Arc::new(russh::keys::load_secret_key(path, None).unwrap())
}
