//! The SFTP v3 ATTRS block: optional size, uid/gid, permissions, access/modify times and
//! extended pairs, each present when its flag bit is set.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{DecodeError, Reader, put_string};

pub const ATTR_SIZE: u32 = 0x0000_0001;
pub const ATTR_UIDGID: u32 = 0x0000_0002;
pub const ATTR_PERMISSIONS: u32 = 0x0000_0004;
pub const ATTR_ACMODTIME: u32 = 0x0000_0008;
pub const ATTR_EXTENDED: u32 = 0x8000_0000;

/// File type bits carried in `permissions` (as in `st_mode`).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFLNK: u32 = 0o120000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    pub size: Option<u64>,
    pub uid_gid: Option<(u32, u32)>,
    pub permissions: Option<u32>,
    /// (atime, mtime), seconds since the Unix epoch.
    pub times: Option<(u32, u32)>,
    pub extended: Vec<(Bytes, Bytes)>,
}

impl Attrs {
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let flags = r.u32("attrs flags")?;
        let mut a = Attrs::default();
        if flags & ATTR_SIZE != 0 {
            a.size = Some(r.u64("attrs size")?);
        }
        if flags & ATTR_UIDGID != 0 {
            a.uid_gid = Some((r.u32("attrs uid")?, r.u32("attrs gid")?));
        }
        if flags & ATTR_PERMISSIONS != 0 {
            a.permissions = Some(r.u32("attrs permissions")?);
        }
        if flags & ATTR_ACMODTIME != 0 {
            a.times = Some((r.u32("attrs atime")?, r.u32("attrs mtime")?));
        }
        if flags & ATTR_EXTENDED != 0 {
            let count = r.u32("attrs extended count")?;
            // No reservation from `count`: each pair consumes at least 8 bytes of the frame,
            // so the loop is bounded by the packet size.
            for _ in 0..count {
                let k = r.string("attrs extended type")?;
                let v = r.string("attrs extended data")?;
                a.extended.push((k, v));
            }
        }
        Ok(a)
    }

    pub fn encode(&self, out: &mut BytesMut) {
        let mut flags = 0;
        if self.size.is_some() {
            flags |= ATTR_SIZE;
        }
        if self.uid_gid.is_some() {
            flags |= ATTR_UIDGID;
        }
        if self.permissions.is_some() {
            flags |= ATTR_PERMISSIONS;
        }
        if self.times.is_some() {
            flags |= ATTR_ACMODTIME;
        }
        if !self.extended.is_empty() {
            flags |= ATTR_EXTENDED;
        }
        out.put_u32(flags);
        if let Some(s) = self.size {
            out.put_u64(s);
        }
        if let Some((u, g)) = self.uid_gid {
            out.put_u32(u);
            out.put_u32(g);
        }
        if let Some(p) = self.permissions {
            out.put_u32(p);
        }
        if let Some((at, mt)) = self.times {
            out.put_u32(at);
            out.put_u32(mt);
        }
        if !self.extended.is_empty() {
            out.put_u32(self.extended.len() as u32);
            for (k, v) in &self.extended {
                put_string(out, k);
                put_string(out, v);
            }
        }
    }

    pub fn is_dir(&self) -> bool {
        self.permissions.is_some_and(|p| p & S_IFMT == S_IFDIR)
    }
}
