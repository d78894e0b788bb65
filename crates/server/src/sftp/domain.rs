//! Translation between SFTP and the service's domain: each request as the [`Operation`] the
//! gate authorises (and a narrowed grant applied back to the request), and SFTP's attributes,
//! open flags and filesystem statistics to and from the service's types. Nothing else in the
//! front end decides what a request means.

use service::files::{self, AttrChange, SpaceReport, WriteMode};
use service::gate::access::{self, Denied, Grant, Operation};
use sftp_proto::{Attrs, Extended, OpenFlags, RequestOp, StatVfs};

/// The bits of an OPEN's flags that write.
const WRITES: u32 = OpenFlags::WRITE | OpenFlags::APPEND | OpenFlags::CREAT | OpenFlags::TRUNC;

/// The domain operations `op` performs (an OPEN for reading and writing is both).
pub fn operations(op: &RequestOp) -> Vec<Operation> {
    use Operation as D;
    use RequestOp as O;
    let one = |d| vec![d];
    match op {
        O::Open { flags, .. } => {
            let writes = flags.0 & WRITES != 0;
            let reads = flags.read() || !flags.write();
            let mut ops = Vec::with_capacity(2);
            if reads {
                ops.push(D::Read);
            }
            if writes {
                ops.push(D::Write);
            }
            ops
        }
        O::Close { .. } => one(D::Close),
        O::Read { .. } => one(D::Read),
        // Writing to an upload, its attributes, flushing it: all part of writing it.
        O::Write { .. } | O::Fsetstat { .. } | O::Extended(Extended::Fsync { .. }) => one(D::Write),
        O::Opendir { .. } | O::Readdir { .. } => one(D::List),
        O::Lstat { .. }
        | O::Fstat { .. }
        | O::Stat { .. }
        | O::Realpath { .. }
        | O::Readlink { .. }
        | O::Extended(
            Extended::Statvfs { .. }
            | Extended::Fstatvfs { .. }
            | Extended::Limits
            | Extended::ExpandPath { .. }
            | Extended::HomeDirectory { .. }
            | Extended::Unknown { .. },
        ) => one(D::Inspect),
        O::Setstat { .. } | O::Extended(Extended::Lsetstat { .. }) => one(D::SetAttributes),
        O::Remove { .. } => one(D::Remove),
        O::Mkdir { .. } => one(D::Mkdir),
        O::Rmdir { .. } => one(D::Rmdir),
        O::Rename { .. } | O::Extended(Extended::PosixRename { .. }) => one(D::Rename),
        O::Symlink { .. } | O::Extended(Extended::Hardlink { .. }) => one(D::Link),
        O::Extended(Extended::CopyData { .. }) => one(D::Copy),
    }
}

/// Asks the gate about every operation `op` performs, with the account's `access`, and applies
/// a narrowed grant to it. The one permission check of an SFTP request.
pub fn authorize(access: catalog::Access, op: &mut RequestOp) -> Result<(), Denied> {
    let mut grant = Grant::Granted;
    for d in operations(op) {
        if access::authorize(access, d)? == Grant::NewFilesOnly {
            grant = Grant::NewFilesOnly;
        }
    }
    narrow(op, grant);
    Ok(())
}

/// Applies a narrowed grant to the request: a drop box's opens create, exclusively, and never
/// append (so it never overwrites or extends what is already there).
pub fn narrow(op: &mut RequestOp, grant: Grant) {
    if let (Grant::NewFilesOnly, RequestOp::Open { flags, .. }) = (grant, op) {
        flags.0 |= OpenFlags::CREAT | OpenFlags::EXCL;
        flags.0 &= !OpenFlags::APPEND;
    }
}

/// Whether an OPEN with `flags` opens for writing (an upload).
pub fn opens_for_writing(flags: OpenFlags) -> bool {
    flags.0 & (OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC) != 0
}

pub fn write_mode(flags: OpenFlags) -> WriteMode {
    WriteMode {
        create: flags.has(OpenFlags::CREAT),
        truncate: flags.has(OpenFlags::TRUNC),
        exclusive: flags.has(OpenFlags::EXCL),
        append: flags.has(OpenFlags::APPEND),
        read: flags.read(),
    }
}

pub fn attr_change(a: &Attrs) -> AttrChange {
    AttrChange {
        size: a.size,
        permissions: a.permissions,
        times: a.times.map(|(at, mt)| (i64::from(at), i64::from(mt))),
    }
}

/// SFTP attributes of a catalog node.
pub fn attrs_of(n: &catalog::Node) -> Attrs {
    Attrs {
        size: Some(n.size),
        uid_gid: None,
        permissions: Some(files::mode_of(n)),
        times: Some((clamp_u32(n.atime), clamp_u32(n.mtime))),
        extended: Vec::new(),
    }
}

fn clamp_u32(t: i64) -> u32 {
    t.clamp(0, i64::from(u32::MAX)) as u32
}

/// statvfs@openssh.com's reply of a space report.
pub fn statvfs(s: &SpaceReport) -> StatVfs {
    /// SSH_FXE_STATVFS_ST_RDONLY.
    const ST_RDONLY: u64 = 1;
    StatVfs {
        bsize: s.block_size,
        frsize: s.fragment_size,
        blocks: s.blocks,
        bfree: s.blocks_free,
        bavail: s.blocks_available,
        files: s.files,
        ffree: s.files_free,
        favail: s.files_available,
        fsid: 0,
        flag: if s.read_only { ST_RDONLY } else { 0 },
        namemax: s.max_name_len,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use catalog::Access;

    use super::*;

    fn open(flags: u32) -> RequestOp {
        RequestOp::Open {
            path: Bytes::from_static(b"/f"),
            flags: OpenFlags(flags),
            attrs: Attrs::default(),
        }
    }

    fn check(access: Access, op: &mut RequestOp) -> bool {
        authorize(access, op).is_ok()
    }

    #[test]
    fn read_only_cannot_write() {
        assert!(check(Access::ReadOnly, &mut open(OpenFlags::READ)));
        assert!(!check(
            Access::ReadOnly,
            &mut open(OpenFlags::READ | OpenFlags::WRITE)
        ));
        assert!(!check(Access::ReadOnly, &mut open(OpenFlags::CREAT)));
        let mut rm = RequestOp::Remove {
            path: Bytes::from_static(b"/f"),
        };
        assert!(!check(Access::ReadOnly, &mut rm));
    }

    #[test]
    fn drop_box_creates_exclusively_and_cannot_read_or_list() {
        let mut op =
            open(OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC | OpenFlags::APPEND);
        assert!(check(Access::UploadOnly, &mut op));
        let RequestOp::Open { flags, .. } = op else {
            unreachable!()
        };
        assert!(flags.has(OpenFlags::EXCL) && flags.has(OpenFlags::CREAT));
        assert!(!flags.has(OpenFlags::APPEND));
        assert!(!check(Access::UploadOnly, &mut open(OpenFlags::READ)));
        assert!(!check(
            Access::UploadOnly,
            &mut open(OpenFlags::READ | OpenFlags::WRITE)
        ));
        // CREAT without WRITE opens nothing to write to: refused, as before.
        assert!(!check(Access::UploadOnly, &mut open(OpenFlags::CREAT)));
        let mut ls = RequestOp::Opendir {
            path: Bytes::from_static(b"/"),
        };
        assert!(!check(Access::UploadOnly, &mut ls));
        let mut rd = RequestOp::Read {
            handle: Bytes::new(),
            offset: 0,
            len: 1,
        };
        assert!(!check(Access::UploadOnly, &mut rd));
    }
}
