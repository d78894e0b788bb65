//! The one mapping from errors to SFTP status codes and messages. Internal failures are logged
//! here with their detail and reach the client only as a generic message.

use bytes::Bytes;
use sftp_proto::{Response, StatusCode};

use crate::files::FsError;

pub fn reply(id: u32, code: StatusCode, message: &str) -> Bytes {
    Response::Status {
        id,
        code,
        message: message.to_owned(),
    }
    .encode()
}

pub fn ok(id: u32) -> Bytes {
    reply(id, StatusCode::OK, "ok")
}

/// Whether `e` comes from storage that is full (`ENOSPC`, `EDQUOT`, SQLite's "disk is full").
fn out_of_space(e: &FsError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && matches!(io.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        {
            return true;
        }
        if c.to_string().contains("disk is full") {
            return true;
        }
        cause = c.source();
    }
    false
}

pub fn from_fs(id: u32, e: &FsError) -> Bytes {
    if out_of_space(e) {
        tracing::warn!(error = %e, "storage is full: request refused");
        return reply(
            id,
            StatusCode::FAILURE,
            "no space left on the server's storage; nothing was stored",
        );
    }
    let code = match e {
        FsError::NotFound => StatusCode::NO_SUCH_FILE,
        FsError::PermissionDenied(_) => StatusCode::PERMISSION_DENIED,
        FsError::Unsupported(_) => StatusCode::OP_UNSUPPORTED,
        FsError::AlreadyExists
        | FsError::NotEmpty
        | FsError::NotADirectory
        | FsError::IsADirectory
        | FsError::InvalidPath(_) => StatusCode::FAILURE,
        FsError::QuotaExceeded | FsError::NoSpace | FsError::OutOfRange(_) => StatusCode::FAILURE,
        FsError::Integrity { path, reason } => {
            tracing::error!(file = %path, %reason, "integrity check failed: contents withheld");
            StatusCode::FAILURE
        }
        FsError::Storage(_) | FsError::Catalog(_) | FsError::Key(_) => {
            tracing::error!(error = %e, detail = ?e, "request failed");
            StatusCode::FAILURE
        }
    };
    reply(id, code, &e.to_string())
}

/// The status code of `reply` (an encoded packet), if it is a STATUS.
pub fn code_of(reply: &[u8]) -> Option<StatusCode> {
    if reply.get(4) != Some(&sftp_proto::message::kind::STATUS) {
        return None;
    }
    let b = reply.get(9..13)?;
    Some(StatusCode(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
}

/// Whether `reply` is a STATUS with code OK.
pub fn is_ok(reply: &[u8]) -> bool {
    code_of(reply) == Some(StatusCode::OK)
}
