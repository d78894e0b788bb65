//! SFTP version 3 (draft-ietf-secsh-filexfer-02) wire codec, plus the OpenSSH extensions that
//! Strongroom serves.
//!
//! This crate owns the bytes: framing ([`frame`]), decoding requests and encoding replies
//! ([`message`]), the attribute block ([`attrs`]), the `ls -l` long name ([`longname`]) and the
//! named hard limits ([`limits`]). It never does I/O, never reads a clock and never allocates a
//! length it has not first bounded: every length read off the wire is checked against the bytes
//! actually present (and the frame against [`limits::MAX_PACKET_LEN`]) before anything is reserved.
//!
//! Names are bytes ([`bytes::Bytes`]), never `String`: non-UTF-8 file names round-trip exactly.

pub mod attrs;
pub mod codec;
pub mod frame;
pub mod limits;
pub mod longname;
pub mod message;

pub use attrs::Attrs;
pub use codec::DecodeError;
pub use frame::{FrameDecoder, FrameError};
pub use message::{
    Extended, NameEntry, OpenFlags, Packet, Request, RequestOp, Response, StatVfs, StatusCode,
};
