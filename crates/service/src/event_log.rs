//! Event sinks of the server: [`LogSink`] writes each event as one JSON line to the log (target
//! `strongroom::event`) beside the ledger that persists it; and the capture of the client's SSH
//! identification line ([`ClientId`]), which events carry.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use events::{Event, EventSink};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct LogSink;

impl EventSink for LogSink {
    /// Connections, authentication, sessions, bans, denials, retention and admin commands at
    /// `info`; the file operations a session performs at `debug`: they are the bulk of the
    /// events (every stat, open, close and progress step) and name every file, and the ledger
    /// (bodies sealed) and the forwarder carry them. As OpenSSH's sftp-server, which logs file
    /// operations only when asked to.
    fn emit(&self, event: Event) {
        if event.is_permitted_file_operation() {
            tracing::debug!(target: "strongroom::event", event = %event.to_json_line());
        } else {
            tracing::info!(target: "strongroom::event", event = %event.to_json_line());
        }
    }
}

/// Longest identification line kept (RFC 4253 allows 255 bytes).
const MAX_ID_LEN: usize = 255;

/// Wraps a connection's stream and keeps the first line the client sends that starts with
/// `SSH-` (its version), without changing a byte of the stream.
pub struct ClientId<S> {
    inner: S,
    seen: Vec<u8>,
    id: Arc<OnceLock<String>>,
}

impl<S> ClientId<S> {
    pub fn new(inner: S) -> (Self, Arc<OnceLock<String>>) {
        let id = Arc::new(OnceLock::new());
        (
            Self {
                inner,
                seen: Vec::new(),
                id: id.clone(),
            },
            id,
        )
    }

    fn observe(&mut self, data: &[u8]) {
        if self.id.get().is_some() || self.seen.len() > 4 * MAX_ID_LEN {
            return;
        }
        self.seen.extend_from_slice(data);
        while let Some(end) = self.seen.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.seen.drain(..=end).collect();
            if line.starts_with(b"SSH-") {
                let text: String = String::from_utf8_lossy(&line)
                    .trim_end()
                    .chars()
                    .take(MAX_ID_LEN)
                    .map(|c| {
                        if c.is_ascii_graphic() || c == ' ' {
                            c
                        } else {
                            '?'
                        }
                    })
                    .collect();
                let _ = self.id.set(text);
                self.seen = Vec::new();
                return;
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ClientId<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled
            && self.id.get().is_none()
        {
            let new = buf.filled()[before..].to_vec();
            self.observe(&new);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ClientId<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn keeps_the_version_line_and_passes_everything_through() {
        let data = b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n\x00\x00\x01\x00binary".to_vec();
        let (mut s, id) = ClientId::new(&data[..]);
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, data);
        assert_eq!(id.get().unwrap(), "SSH-2.0-OpenSSH_9.2p1 Debian");
    }
}
