//! A raw SFTP client over a real `ssh -s sftp` channel, for byte-level tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, ChildStdout};

use bytes::Bytes;
use sftp_proto::message::kind;
use sftp_proto::{Attrs, OpenFlags, Packet, Request, RequestOp, StatusCode};

use super::Client;

pub struct Raw {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
}

pub struct Reply {
    pub kind: u8,
    pub id: u32,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn status(&self) -> (StatusCode, String) {
        assert_eq!(
            self.kind,
            kind::STATUS,
            "expected STATUS, got type {}",
            self.kind
        );
        let code = u32::from_be_bytes(self.body[0..4].try_into().unwrap());
        let len = u32::from_be_bytes(self.body[4..8].try_into().unwrap()) as usize;
        (
            StatusCode(code),
            String::from_utf8_lossy(&self.body[8..8 + len]).into_owned(),
        )
    }

    pub fn handle(&self) -> Bytes {
        assert_eq!(
            self.kind,
            kind::HANDLE,
            "expected HANDLE, got {}",
            self.kind
        );
        Bytes::copy_from_slice(&self.body[4..])
    }
}

impl Raw {
    pub fn connect(c: &Client) -> Raw {
        Self::connect_from(c, "127.0.0.1")
    }

    /// [`Raw::connect`] from source address `from` (another loopback address).
    pub fn connect_from(c: &Client, from: &str) -> Raw {
        let mut child = c.sftp_subsystem_from(from);
        let mut raw = Raw {
            stdin: child.stdin.take(),
            stdout: child.stdout.take().unwrap(),
            child,
        };
        raw.send_raw(
            &Packet::Init {
                version: 3,
                extensions: vec![],
            }
            .encode(),
        );
        let mut len = [0u8; 4];
        raw.stdout.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        raw.stdout.read_exact(&mut body).unwrap();
        assert_eq!(body[0], kind::VERSION);
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("limits@openssh.com") && text.contains("posix-rename@openssh.com"));
        raw
    }

    /// Like [`Raw::connect`], `None` when the server does not answer (it is down).
    pub fn try_connect(c: &Client) -> Option<Raw> {
        let mut child = c.sftp_subsystem();
        let stdout = child.stdout.take().expect("piped stdout");
        // From here on, dropping `raw` kills and reaps the child.
        let mut raw = Raw {
            stdin: child.stdin.take(),
            stdout,
            child,
        };
        let init = Packet::Init {
            version: 3,
            extensions: vec![],
        }
        .encode();
        raw.stdin.as_mut()?.write_all(&init).ok()?;
        raw.stdin.as_mut()?.flush().ok()?;
        let mut len = [0u8; 4];
        raw.stdout.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        raw.stdout.read_exact(&mut body).ok()?;
        (body.first() == Some(&kind::VERSION)).then_some(raw)
    }

    /// Sends `op` and waits for its reply; `None` if the connection is gone first.
    pub fn try_call(&mut self, id: u32, op: RequestOp) -> Option<Reply> {
        let bytes = Packet::Request(Request { id, op }).encode();
        let stdin = self.stdin.as_mut()?;
        stdin.write_all(&bytes).ok()?;
        stdin.flush().ok()?;
        let r = self.recv()?;
        (r.id == id).then_some(r)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, id: u32, op: RequestOp) {
        self.send_raw(&Packet::Request(Request { id, op }).encode());
    }

    /// The next reply, or `None` once the channel is closed.
    pub fn recv(&mut self) -> Option<Reply> {
        let mut len = [0u8; 4];
        self.stdout.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stdout.read_exact(&mut body).ok()?;
        Some(Reply {
            kind: body[0],
            id: u32::from_be_bytes(body[1..5].try_into().unwrap()),
            body: body[5..].to_vec(),
        })
    }

    pub fn call(&mut self, id: u32, op: RequestOp) -> Reply {
        self.send(id, op);
        let r = self.recv().expect("channel closed");
        assert_eq!(r.id, id);
        r
    }

    /// WRITE of `data` at `offset` into `handle`, answered.
    pub fn write(&mut self, id: u32, handle: &Bytes, offset: u64, data: &[u8]) -> Reply {
        self.call(
            id,
            RequestOp::Write {
                handle: handle.clone(),
                offset,
                data: Bytes::copy_from_slice(data),
            },
        )
    }

    pub fn open(&mut self, id: u32, path: &str, flags: u32) -> Bytes {
        self.call(
            id,
            RequestOp::Open {
                path: Bytes::copy_from_slice(path.as_bytes()),
                flags: OpenFlags(flags),
                attrs: Attrs::default(),
            },
        )
        .handle()
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
