//! The one mapping from errors to SFTP status codes and messages. Internal failures are logged
//! here with their detail and reach the client only as a generic message.

use bytes::Bytes;
use sftp_proto::{Response, StatusCode};

use service::files::FsError;

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

/// What a request whose record could not be made durable is told (it was not carried out).
pub const LEDGER_DOWN: &str = "audit ledger unavailable; the operation was not recorded";

/// What a request that failed for the server's passing lack of resources (too many open
/// files, no memory) is told: the same request may succeed later.
pub const SHORT_OF_RESOURCES: &str = "the server is short of resources for now; try again later";

pub fn from_fs(id: u32, e: &FsError) -> Bytes {
    let (code, message) = status_of(e);
    reply(id, code, &message)
}

/// The status code and message a client is sent for `e` (internal failures are logged here,
/// once, with their detail).
pub fn status_of(e: &FsError) -> (StatusCode, String) {
    if e.is_out_of_space() {
        tracing::warn!(error = %e, "storage is full: request refused");
        return (StatusCode::FAILURE, FsError::NoSpace.to_string());
    }
    if e.is_passing() {
        tracing::warn!(error = %e, "the server is short of resources: request refused");
        return (StatusCode::FAILURE, SHORT_OF_RESOURCES.to_owned());
    }
    let code = match e {
        FsError::NotFound => StatusCode::NO_SUCH_FILE,
        FsError::PermissionDenied(_) | FsError::WouldHide { .. } => StatusCode::PERMISSION_DENIED,
        FsError::Unsupported(_) => StatusCode::OP_UNSUPPORTED,
        FsError::AlreadyExists
        | FsError::NotEmpty
        | FsError::NotADirectory
        | FsError::IsADirectory
        | FsError::InvalidPath(_)
        | FsError::NotASymlink
        | FsError::InvalidHandle(_)
        | FsError::TooManyHandles => StatusCode::FAILURE,
        FsError::QuotaExceeded | FsError::NoSpace | FsError::OutOfRange(_) => StatusCode::FAILURE,
        FsError::Integrity { path, reason } => {
            tracing::error!(file = %path, %reason, "integrity check failed: contents withheld");
            StatusCode::FAILURE
        }
        // Storage, catalog and key failures, and whatever the service adds later.
        _ => {
            tracing::error!(error = %e, detail = ?e, "request failed");
            StatusCode::FAILURE
        }
    };
    (code, e.to_string())
}
