//! The one permission check, run before dispatch (as OpenSSH's `request_permitted()`): given the
//! account's access level, is this SFTP request allowed? It may also narrow a request (a drop
//! box's opens become create-exclusive). Handlers never re-check it.

use catalog::Access;
use sftp_proto::{Extended, OpenFlags, RequestOp};

/// The request is not allowed for this account; the text is sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub &'static str);

pub fn authorize(access: Access, op: &mut RequestOp) -> Result<(), Denied> {
    match access {
        Access::Full => Ok(()),
        Access::ReadOnly => read_only(op),
        Access::UploadOnly => upload_only(op),
    }
}

fn read_only(op: &RequestOp) -> Result<(), Denied> {
    use RequestOp as O;
    const DENIED: Denied = Denied("permission denied: this account is read-only");
    match op {
        O::Open { flags, .. } => {
            let writes = OpenFlags::WRITE | OpenFlags::APPEND | OpenFlags::CREAT | OpenFlags::TRUNC;
            if flags.0 & writes != 0 {
                Err(DENIED)
            } else {
                Ok(())
            }
        }
        O::Close { .. }
        | O::Read { .. }
        | O::Lstat { .. }
        | O::Fstat { .. }
        | O::Opendir { .. }
        | O::Readdir { .. }
        | O::Realpath { .. }
        | O::Stat { .. }
        | O::Readlink { .. } => Ok(()),
        O::Extended(
            Extended::Statvfs { .. }
            | Extended::Fstatvfs { .. }
            | Extended::Limits
            | Extended::ExpandPath { .. }
            | Extended::HomeDirectory { .. }
            | Extended::Unknown { .. },
        ) => Ok(()),
        _ => Err(DENIED),
    }
}

fn upload_only(op: &mut RequestOp) -> Result<(), Denied> {
    use RequestOp as O;
    const DENIED: Denied = Denied("permission denied: this account may only upload new files");
    match op {
        O::Open { flags, .. } => {
            if flags.read() || !flags.write() {
                return Err(DENIED);
            }
            // A drop box never overwrites or appends to what is already there.
            flags.0 |= OpenFlags::CREAT | OpenFlags::EXCL;
            flags.0 &= !OpenFlags::APPEND;
            Ok(())
        }
        O::Close { .. }
        | O::Write { .. }
        | O::Fstat { .. }
        | O::Fsetstat { .. }
        | O::Mkdir { .. }
        | O::Realpath { .. }
        | O::Stat { .. }
        | O::Lstat { .. } => Ok(()),
        O::Extended(
            Extended::Statvfs { .. }
            | Extended::Fstatvfs { .. }
            | Extended::Fsync { .. }
            | Extended::Limits
            | Extended::ExpandPath { .. }
            | Extended::HomeDirectory { .. }
            | Extended::Unknown { .. },
        ) => Ok(()),
        _ => Err(DENIED),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use sftp_proto::Attrs;

    use super::*;

    fn open(flags: u32) -> RequestOp {
        RequestOp::Open {
            path: Bytes::from_static(b"/f"),
            flags: OpenFlags(flags),
            attrs: Attrs::default(),
        }
    }

    #[test]
    fn read_only_cannot_write() {
        assert!(authorize(Access::ReadOnly, &mut open(OpenFlags::READ)).is_ok());
        assert!(
            authorize(
                Access::ReadOnly,
                &mut open(OpenFlags::READ | OpenFlags::WRITE)
            )
            .is_err()
        );
        let mut rm = RequestOp::Remove {
            path: Bytes::from_static(b"/f"),
        };
        assert!(authorize(Access::ReadOnly, &mut rm).is_err());
    }

    #[test]
    fn drop_box_creates_exclusively_and_cannot_read_or_list() {
        let mut op = open(OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC);
        authorize(Access::UploadOnly, &mut op).unwrap();
        let RequestOp::Open { flags, .. } = op else {
            unreachable!()
        };
        assert!(flags.has(OpenFlags::EXCL));
        assert!(authorize(Access::UploadOnly, &mut open(OpenFlags::READ)).is_err());
        let mut ls = RequestOp::Opendir {
            path: Bytes::from_static(b"/"),
        };
        assert!(authorize(Access::UploadOnly, &mut ls).is_err());
        let mut rd = RequestOp::Read {
            handle: Bytes::new(),
            offset: 0,
            len: 1,
        };
        assert!(authorize(Access::UploadOnly, &mut rd).is_err());
    }
}
