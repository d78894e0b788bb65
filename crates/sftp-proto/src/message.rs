//! SFTP packets: requests decoded from a frame, replies encoded into one, and the OpenSSH
//! extensions served. Wire numbers are named constants in [`kind`]; decoding never reads past
//! its frame, and ignores bytes a request leaves unused at the end of it, as OpenSSH's
//! sftp-server does (Go's pkg/sftp, under rclone, sends its last WRITE of a file in a packet
//! padded to full size). [`Packet::encode`] is decoding's inverse, which the property tests
//! and the fuzz target check.

use bytes::{BufMut, Bytes, BytesMut};

use crate::attrs::Attrs;
use crate::codec::{DecodeError, Reader, put_string};
use crate::limits::{MAX_PATH_LEN, SFTP_VERSION};

/// Packet type numbers.
pub mod kind {
    pub const INIT: u8 = 1;
    pub const VERSION: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const CLOSE: u8 = 4;
    pub const READ: u8 = 5;
    pub const WRITE: u8 = 6;
    pub const LSTAT: u8 = 7;
    pub const FSTAT: u8 = 8;
    pub const SETSTAT: u8 = 9;
    pub const FSETSTAT: u8 = 10;
    pub const OPENDIR: u8 = 11;
    pub const READDIR: u8 = 12;
    pub const REMOVE: u8 = 13;
    pub const MKDIR: u8 = 14;
    pub const RMDIR: u8 = 15;
    pub const REALPATH: u8 = 16;
    pub const STAT: u8 = 17;
    pub const RENAME: u8 = 18;
    pub const READLINK: u8 = 19;
    pub const SYMLINK: u8 = 20;
    pub const STATUS: u8 = 101;
    pub const HANDLE: u8 = 102;
    pub const DATA: u8 = 103;
    pub const NAME: u8 = 104;
    pub const ATTRS: u8 = 105;
    pub const EXTENDED: u8 = 200;
    pub const EXTENDED_REPLY: u8 = 201;
}

/// Extension names (request names and, where advertised, VERSION pairs).
pub mod ext {
    pub const POSIX_RENAME: &[u8] = b"posix-rename@openssh.com";
    pub const STATVFS: &[u8] = b"statvfs@openssh.com";
    pub const FSTATVFS: &[u8] = b"fstatvfs@openssh.com";
    pub const FSYNC: &[u8] = b"fsync@openssh.com";
    pub const LIMITS: &[u8] = b"limits@openssh.com";
    pub const EXPAND_PATH: &[u8] = b"expand-path@openssh.com";
    pub const HOME_DIRECTORY: &[u8] = b"home-directory";
    pub const HARDLINK: &[u8] = b"hardlink@openssh.com";
    pub const LSETSTAT: &[u8] = b"lsetstat@openssh.com";
    pub const COPY_DATA: &[u8] = b"copy-data";
}

/// An SSH_FX_* status code. A newtype so unknown values survive decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCode(pub u32);

impl StatusCode {
    pub const OK: Self = Self(0);
    pub const EOF: Self = Self(1);
    pub const NO_SUCH_FILE: Self = Self(2);
    pub const PERMISSION_DENIED: Self = Self(3);
    pub const FAILURE: Self = Self(4);
    pub const BAD_MESSAGE: Self = Self(5);
    pub const NO_CONNECTION: Self = Self(6);
    pub const CONNECTION_LOST: Self = Self(7);
    pub const OP_UNSUPPORTED: Self = Self(8);
}

/// SSH_FXF_* open flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenFlags(pub u32);

impl OpenFlags {
    pub const READ: u32 = 0x01;
    pub const WRITE: u32 = 0x02;
    pub const APPEND: u32 = 0x04;
    pub const CREAT: u32 = 0x08;
    pub const TRUNC: u32 = 0x10;
    pub const EXCL: u32 = 0x20;

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
    pub fn read(self) -> bool {
        self.has(Self::READ)
    }
    pub fn write(self) -> bool {
        self.has(Self::WRITE) || self.has(Self::APPEND)
    }
}

/// Everything a client may send on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Init {
        version: u32,
        extensions: Vec<(Bytes, Bytes)>,
    },
    Request(Request),
}

/// A request with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: u32,
    pub op: RequestOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOp {
    Open {
        path: Bytes,
        flags: OpenFlags,
        attrs: Attrs,
    },
    Close {
        handle: Bytes,
    },
    Read {
        handle: Bytes,
        offset: u64,
        len: u32,
    },
    Write {
        handle: Bytes,
        offset: u64,
        data: Bytes,
    },
    Lstat {
        path: Bytes,
    },
    Fstat {
        handle: Bytes,
    },
    Setstat {
        path: Bytes,
        attrs: Attrs,
    },
    Fsetstat {
        handle: Bytes,
        attrs: Attrs,
    },
    Opendir {
        path: Bytes,
    },
    Readdir {
        handle: Bytes,
    },
    Remove {
        path: Bytes,
    },
    Mkdir {
        path: Bytes,
        attrs: Attrs,
    },
    Rmdir {
        path: Bytes,
    },
    Realpath {
        path: Bytes,
    },
    Stat {
        path: Bytes,
    },
    Rename {
        from: Bytes,
        to: Bytes,
    },
    Readlink {
        path: Bytes,
    },
    /// Argument order as OpenSSH sends it (linkpath, targetpath), which is reversed from the draft.
    Symlink {
        link: Bytes,
        target: Bytes,
    },
    Extended(Extended),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extended {
    PosixRename {
        from: Bytes,
        to: Bytes,
    },
    Statvfs {
        path: Bytes,
    },
    Fstatvfs {
        handle: Bytes,
    },
    Fsync {
        handle: Bytes,
    },
    Limits,
    ExpandPath {
        path: Bytes,
    },
    HomeDirectory {
        username: Bytes,
    },
    Hardlink {
        from: Bytes,
        to: Bytes,
    },
    Lsetstat {
        path: Bytes,
        attrs: Attrs,
    },
    CopyData {
        read_handle: Bytes,
        read_offset: u64,
        len: u64,
        write_handle: Bytes,
        write_offset: u64,
    },
    /// An extension we do not serve; answered with OP_UNSUPPORTED.
    Unknown {
        name: Bytes,
        data: Bytes,
    },
}

/// Handles are opaque strings we issue; anything longer than this is not one of ours.
pub const MAX_HANDLE_LEN: usize = 256;

impl Packet {
    /// Decodes one frame (without its length prefix).
    ///
    /// On error the request id is returned when it could be read, so that the caller can answer
    /// SSH_FX_BAD_MESSAGE to that id. Bytes after a request's last field are ignored.
    pub fn decode(frame: Bytes) -> Result<Packet, (Option<u32>, DecodeError)> {
        let mut r = Reader::new(frame);
        let ty = r.u8("type").map_err(|_| (None, DecodeError::Empty))?;
        if ty == kind::INIT {
            return decode_init(r).map_err(|e| (None, e));
        }
        let id = r.u32("request id").map_err(|e| (None, e))?;
        decode_op(ty, &mut r)
            .map(|op| Packet::Request(Request { id, op }))
            .map_err(|e| (Some(id), e))
    }

    /// Encodes as a client would send it (length prefix included). Used by tests and the
    /// fuzz target to check that decoding is exact.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u32(0);
        match self {
            Packet::Init {
                version,
                extensions,
            } => {
                b.put_u8(kind::INIT);
                b.put_u32(*version);
                for (k, v) in extensions {
                    put_string(&mut b, k);
                    put_string(&mut b, v);
                }
            }
            Packet::Request(req) => req.encode_body(&mut b),
        }
        finish_frame(b)
    }
}

fn decode_init(mut r: Reader) -> Result<Packet, DecodeError> {
    let version = r.u32("version")?;
    let mut extensions = Vec::new();
    while r.remaining() > 0 {
        let k = r.string("extension name")?;
        let v = r.string("extension data")?;
        extensions.push((k, v));
    }
    Ok(Packet::Init {
        version,
        extensions,
    })
}

fn path(r: &mut Reader, field: &'static str) -> Result<Bytes, DecodeError> {
    r.bounded_string(field, MAX_PATH_LEN)
}

fn handle(r: &mut Reader) -> Result<Bytes, DecodeError> {
    r.bounded_string("handle", MAX_HANDLE_LEN)
}

fn decode_op(ty: u8, r: &mut Reader) -> Result<RequestOp, DecodeError> {
    use RequestOp as O;
    Ok(match ty {
        kind::OPEN => O::Open {
            path: path(r, "path")?,
            flags: OpenFlags(r.u32("pflags")?),
            attrs: Attrs::decode(r)?,
        },
        kind::CLOSE => O::Close { handle: handle(r)? },
        kind::READ => O::Read {
            handle: handle(r)?,
            offset: r.u64("offset")?,
            len: r.u32("length")?,
        },
        kind::WRITE => O::Write {
            handle: handle(r)?,
            offset: r.u64("offset")?,
            data: r.string("data")?,
        },
        kind::LSTAT => O::Lstat {
            path: path(r, "path")?,
        },
        kind::FSTAT => O::Fstat { handle: handle(r)? },
        kind::SETSTAT => O::Setstat {
            path: path(r, "path")?,
            attrs: Attrs::decode(r)?,
        },
        kind::FSETSTAT => O::Fsetstat {
            handle: handle(r)?,
            attrs: Attrs::decode(r)?,
        },
        kind::OPENDIR => O::Opendir {
            path: path(r, "path")?,
        },
        kind::READDIR => O::Readdir { handle: handle(r)? },
        kind::REMOVE => O::Remove {
            path: path(r, "path")?,
        },
        kind::MKDIR => O::Mkdir {
            path: path(r, "path")?,
            attrs: Attrs::decode(r)?,
        },
        kind::RMDIR => O::Rmdir {
            path: path(r, "path")?,
        },
        kind::REALPATH => O::Realpath {
            path: path(r, "path")?,
        },
        kind::STAT => O::Stat {
            path: path(r, "path")?,
        },
        kind::RENAME => O::Rename {
            from: path(r, "old path")?,
            to: path(r, "new path")?,
        },
        kind::READLINK => O::Readlink {
            path: path(r, "path")?,
        },
        kind::SYMLINK => O::Symlink {
            link: path(r, "link path")?,
            target: path(r, "target path")?,
        },
        kind::EXTENDED => O::Extended(decode_extended(r)?),
        other => return Err(DecodeError::UnknownType(other)),
    })
}

fn decode_extended(r: &mut Reader) -> Result<Extended, DecodeError> {
    use Extended as E;
    let name = r.bounded_string("extension name", 256)?;
    Ok(match name.as_ref() {
        ext::POSIX_RENAME => E::PosixRename {
            from: path(r, "old path")?,
            to: path(r, "new path")?,
        },
        ext::STATVFS => E::Statvfs {
            path: path(r, "path")?,
        },
        ext::FSTATVFS => E::Fstatvfs { handle: handle(r)? },
        ext::FSYNC => E::Fsync { handle: handle(r)? },
        ext::LIMITS => E::Limits,
        ext::EXPAND_PATH => E::ExpandPath {
            path: path(r, "path")?,
        },
        ext::HOME_DIRECTORY => E::HomeDirectory {
            username: r.bounded_string("username", 256)?,
        },
        ext::HARDLINK => E::Hardlink {
            from: path(r, "old path")?,
            to: path(r, "new path")?,
        },
        ext::LSETSTAT => E::Lsetstat {
            path: path(r, "path")?,
            attrs: Attrs::decode(r)?,
        },
        ext::COPY_DATA => E::CopyData {
            read_handle: handle(r)?,
            read_offset: r.u64("read offset")?,
            len: r.u64("length")?,
            write_handle: handle(r)?,
            write_offset: r.u64("write offset")?,
        },
        _ => E::Unknown {
            name,
            data: r.rest(),
        },
    })
}

impl RequestOp {
    /// The operation's name, for logs (never its arguments).
    pub fn name(&self) -> &'static str {
        use RequestOp as O;
        match self {
            O::Open { .. } => "open",
            O::Close { .. } => "close",
            O::Read { .. } => "read",
            O::Write { .. } => "write",
            O::Lstat { .. } => "lstat",
            O::Fstat { .. } => "fstat",
            O::Setstat { .. } => "setstat",
            O::Fsetstat { .. } => "fsetstat",
            O::Opendir { .. } => "opendir",
            O::Readdir { .. } => "readdir",
            O::Remove { .. } => "remove",
            O::Mkdir { .. } => "mkdir",
            O::Rmdir { .. } => "rmdir",
            O::Realpath { .. } => "realpath",
            O::Stat { .. } => "stat",
            O::Rename { .. } => "rename",
            O::Readlink { .. } => "readlink",
            O::Symlink { .. } => "symlink",
            O::Extended(Extended::PosixRename { .. }) => "posix-rename",
            O::Extended(Extended::Statvfs { .. }) => "statvfs",
            O::Extended(Extended::Fstatvfs { .. }) => "fstatvfs",
            O::Extended(Extended::Fsync { .. }) => "fsync",
            O::Extended(Extended::Limits) => "limits",
            O::Extended(Extended::ExpandPath { .. }) => "expand-path",
            O::Extended(Extended::HomeDirectory { .. }) => "home-directory",
            O::Extended(Extended::Hardlink { .. }) => "hardlink",
            O::Extended(Extended::Lsetstat { .. }) => "lsetstat",
            O::Extended(Extended::CopyData { .. }) => "copy-data",
            O::Extended(Extended::Unknown { .. }) => "unknown-extension",
        }
    }
}

impl Request {
    fn encode_body(&self, b: &mut BytesMut) {
        use RequestOp as O;
        let (ty, body): (u8, &dyn Fn(&mut BytesMut)) = match &self.op {
            O::Open { path, flags, attrs } => (kind::OPEN, &|b| {
                put_string(b, path);
                b.put_u32(flags.0);
                attrs.encode(b);
            }),
            O::Close { handle } => (kind::CLOSE, &|b| put_string(b, handle)),
            O::Read {
                handle,
                offset,
                len,
            } => (kind::READ, &|b| {
                put_string(b, handle);
                b.put_u64(*offset);
                b.put_u32(*len);
            }),
            O::Write {
                handle,
                offset,
                data,
            } => (kind::WRITE, &|b| {
                put_string(b, handle);
                b.put_u64(*offset);
                put_string(b, data);
            }),
            O::Lstat { path } => (kind::LSTAT, &|b| put_string(b, path)),
            O::Fstat { handle } => (kind::FSTAT, &|b| put_string(b, handle)),
            O::Setstat { path, attrs } => (kind::SETSTAT, &|b| {
                put_string(b, path);
                attrs.encode(b);
            }),
            O::Fsetstat { handle, attrs } => (kind::FSETSTAT, &|b| {
                put_string(b, handle);
                attrs.encode(b);
            }),
            O::Opendir { path } => (kind::OPENDIR, &|b| put_string(b, path)),
            O::Readdir { handle } => (kind::READDIR, &|b| put_string(b, handle)),
            O::Remove { path } => (kind::REMOVE, &|b| put_string(b, path)),
            O::Mkdir { path, attrs } => (kind::MKDIR, &|b| {
                put_string(b, path);
                attrs.encode(b);
            }),
            O::Rmdir { path } => (kind::RMDIR, &|b| put_string(b, path)),
            O::Realpath { path } => (kind::REALPATH, &|b| put_string(b, path)),
            O::Stat { path } => (kind::STAT, &|b| put_string(b, path)),
            O::Rename { from, to } => (kind::RENAME, &|b| {
                put_string(b, from);
                put_string(b, to);
            }),
            O::Readlink { path } => (kind::READLINK, &|b| put_string(b, path)),
            O::Symlink { link, target } => (kind::SYMLINK, &|b| {
                put_string(b, link);
                put_string(b, target);
            }),
            O::Extended(e) => (kind::EXTENDED, &|b| e.encode(b)),
        };
        b.put_u8(ty);
        b.put_u32(self.id);
        body(b);
    }
}

impl Extended {
    fn encode(&self, b: &mut BytesMut) {
        use Extended as E;
        match self {
            E::PosixRename { from, to } => {
                put_string(b, ext::POSIX_RENAME);
                put_string(b, from);
                put_string(b, to);
            }
            E::Statvfs { path } => {
                put_string(b, ext::STATVFS);
                put_string(b, path);
            }
            E::Fstatvfs { handle } => {
                put_string(b, ext::FSTATVFS);
                put_string(b, handle);
            }
            E::Fsync { handle } => {
                put_string(b, ext::FSYNC);
                put_string(b, handle);
            }
            E::Limits => put_string(b, ext::LIMITS),
            E::ExpandPath { path } => {
                put_string(b, ext::EXPAND_PATH);
                put_string(b, path);
            }
            E::HomeDirectory { username } => {
                put_string(b, ext::HOME_DIRECTORY);
                put_string(b, username);
            }
            E::Hardlink { from, to } => {
                put_string(b, ext::HARDLINK);
                put_string(b, from);
                put_string(b, to);
            }
            E::Lsetstat { path, attrs } => {
                put_string(b, ext::LSETSTAT);
                put_string(b, path);
                attrs.encode(b);
            }
            E::CopyData {
                read_handle,
                read_offset,
                len,
                write_handle,
                write_offset,
            } => {
                put_string(b, ext::COPY_DATA);
                put_string(b, read_handle);
                b.put_u64(*read_offset);
                b.put_u64(*len);
                put_string(b, write_handle);
                b.put_u64(*write_offset);
            }
            E::Unknown { name, data } => {
                put_string(b, name);
                b.put_slice(data);
            }
        }
    }
}

/// One entry of a NAME reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    pub filename: Bytes,
    pub longname: Bytes,
    pub attrs: Attrs,
}

/// The statvfs@openssh.com reply body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatVfs {
    pub bsize: u64,
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub favail: u64,
    pub fsid: u64,
    pub flag: u64,
    pub namemax: u64,
}

impl StatVfs {
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(88);
        for v in [
            self.bsize,
            self.frsize,
            self.blocks,
            self.bfree,
            self.bavail,
            self.files,
            self.ffree,
            self.favail,
            self.fsid,
            self.flag,
            self.namemax,
        ] {
            b.put_u64(v);
        }
        b.freeze()
    }
}

/// Everything the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Version {
        extensions: Vec<(&'static [u8], &'static [u8])>,
    },
    Status {
        id: u32,
        code: StatusCode,
        message: String,
    },
    Handle {
        id: u32,
        handle: Bytes,
    },
    Data {
        id: u32,
        data: Bytes,
    },
    Name {
        id: u32,
        entries: Vec<NameEntry>,
    },
    Attrs {
        id: u32,
        attrs: Attrs,
    },
    ExtendedReply {
        id: u32,
        data: Bytes,
    },
}

/// Bytes in front of the payload of a DATA reply: length, type, id, data length.
pub const DATA_HEADER_LEN: usize = 4 + 1 + 4 + 4;

/// Writes the header of a DATA reply carrying `len` bytes into `out[..DATA_HEADER_LEN]`, so that
/// the payload can be read straight into the rest of the same buffer.
pub fn data_header(id: u32, len: u32) -> [u8; DATA_HEADER_LEN] {
    let mut h = [0u8; DATA_HEADER_LEN];
    h[0..4].copy_from_slice(&(1 + 4 + 4 + len).to_be_bytes());
    h[4] = kind::DATA;
    h[5..9].copy_from_slice(&id.to_be_bytes());
    h[9..13].copy_from_slice(&len.to_be_bytes());
    h
}

impl Response {
    /// Encodes the reply with its length prefix.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u32(0);
        match self {
            Response::Version { extensions } => {
                b.put_u8(kind::VERSION);
                b.put_u32(SFTP_VERSION);
                for (k, v) in extensions {
                    put_string(&mut b, k);
                    put_string(&mut b, v);
                }
            }
            Response::Status { id, code, message } => {
                b.put_u8(kind::STATUS);
                b.put_u32(*id);
                b.put_u32(code.0);
                put_string(&mut b, message.as_bytes());
                put_string(&mut b, b"en");
            }
            Response::Handle { id, handle } => {
                b.put_u8(kind::HANDLE);
                b.put_u32(*id);
                put_string(&mut b, handle);
            }
            Response::Data { id, data } => {
                b.put_u8(kind::DATA);
                b.put_u32(*id);
                put_string(&mut b, data);
            }
            Response::Name { id, entries } => {
                b.put_u8(kind::NAME);
                b.put_u32(*id);
                b.put_u32(entries.len() as u32);
                for e in entries {
                    put_string(&mut b, &e.filename);
                    put_string(&mut b, &e.longname);
                    e.attrs.encode(&mut b);
                }
            }
            Response::Attrs { id, attrs } => {
                b.put_u8(kind::ATTRS);
                b.put_u32(*id);
                attrs.encode(&mut b);
            }
            Response::ExtendedReply { id, data } => {
                b.put_u8(kind::EXTENDED_REPLY);
                b.put_u32(*id);
                b.put_slice(data);
            }
        }
        finish_frame(b)
    }
}

fn finish_frame(mut b: BytesMut) -> Bytes {
    let len = (b.len() - 4) as u32;
    b[0..4].copy_from_slice(&len.to_be_bytes());
    b.freeze()
}

#[cfg(test)]
mod tests;
