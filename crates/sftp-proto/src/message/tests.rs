use proptest::prelude::*;

use super::*;
use crate::frame::FrameDecoder;

fn bytes_upto(n: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..n).prop_map(Bytes::from)
}

fn attrs() -> impl Strategy<Value = Attrs> {
    (
        any::<Option<u64>>(),
        any::<Option<(u32, u32)>>(),
        any::<Option<u32>>(),
        any::<Option<(u32, u32)>>(),
        proptest::collection::vec((bytes_upto(16), bytes_upto(16)), 0..3),
    )
        .prop_map(|(size, uid_gid, permissions, times, extended)| Attrs {
            size,
            uid_gid,
            permissions,
            times,
            extended,
        })
}

fn op() -> impl Strategy<Value = RequestOp> {
    let p = || bytes_upto(64);
    let h = || bytes_upto(32);
    prop_oneof![
        (p(), any::<u32>(), attrs()).prop_map(|(path, f, attrs)| RequestOp::Open {
            path,
            flags: OpenFlags(f),
            attrs
        }),
        h().prop_map(|handle| RequestOp::Close { handle }),
        (h(), any::<u64>(), any::<u32>()).prop_map(|(handle, offset, len)| RequestOp::Read {
            handle,
            offset,
            len
        }),
        (h(), any::<u64>(), bytes_upto(300)).prop_map(|(handle, offset, data)| {
            RequestOp::Write {
                handle,
                offset,
                data,
            }
        }),
        p().prop_map(|path| RequestOp::Lstat { path }),
        (p(), attrs()).prop_map(|(path, attrs)| RequestOp::Setstat { path, attrs }),
        (h(), attrs()).prop_map(|(handle, attrs)| RequestOp::Fsetstat { handle, attrs }),
        (p(), attrs()).prop_map(|(path, attrs)| RequestOp::Mkdir { path, attrs }),
        (p(), p()).prop_map(|(from, to)| RequestOp::Rename { from, to }),
        (p(), p()).prop_map(|(link, target)| RequestOp::Symlink { link, target }),
        p().prop_map(|path| RequestOp::Realpath { path }),
        (p(), p()).prop_map(|(from, to)| RequestOp::Extended(Extended::PosixRename { from, to })),
        Just(RequestOp::Extended(Extended::Limits)),
        p().prop_map(|path| RequestOp::Extended(Extended::Statvfs { path })),
        (h(), any::<u64>(), any::<u64>(), h(), any::<u64>()).prop_map(|(a, b, c, d, e)| {
            RequestOp::Extended(Extended::CopyData {
                read_handle: a,
                read_offset: b,
                len: c,
                write_handle: d,
                write_offset: e,
            })
        }),
        // Names are bytes (non-UTF-8 included); an unknown extension keeps its payload.
        (bytes_upto(40), bytes_upto(40)).prop_map(|(mut name, data)| {
            if [
                ext::POSIX_RENAME,
                ext::STATVFS,
                ext::FSTATVFS,
                ext::FSYNC,
                ext::LIMITS,
                ext::EXPAND_PATH,
                ext::HOME_DIRECTORY,
                ext::HARDLINK,
                ext::LSETSTAT,
                ext::COPY_DATA,
            ]
            .contains(&name.as_ref())
            {
                name = Bytes::from_static(b"x-unknown");
            }
            RequestOp::Extended(Extended::Unknown { name, data })
        }),
    ]
}

proptest! {
    #[test]
    fn request_round_trips(id in any::<u32>(), op in op()) {
        let packet = Packet::Request(Request { id, op });
        let wire = packet.encode();
        let mut framer = FrameDecoder::new();
        framer.push(&wire);
        let frame = framer.next_packet().unwrap().unwrap();
        prop_assert_eq!(Packet::decode(frame).unwrap(), packet);
    }

    #[test]
    fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Packet::decode(Bytes::from(data));
    }

    #[test]
    fn truncation_is_an_error_with_the_id(id in any::<u32>(), op in op(), cut in 1usize..64) {
        let wire = Packet::Request(Request { id, op }).encode();
        let body = wire.slice(4..);
        if cut < body.len() && body.len() - cut > 5 {
            // Dropping the tail of a packet must fail, naming the id (bytes 1..5).
            let truncated = body.slice(..body.len() - cut);
            if let Err((got, _)) = Packet::decode(truncated) {
                prop_assert_eq!(got, Some(id));
            }
        }
    }
}

/// As OpenSSH's sftp-server: bytes after a request's last field are ignored, for every request
/// (pkg/sftp pads its last WRITE of a file to a full packet), and the fields keep their values.
#[test]
fn trailing_bytes_are_ignored() {
    let requests = [
        RequestOp::Close {
            handle: Bytes::from_static(b"h"),
        },
        RequestOp::Write {
            handle: Bytes::from_static(b"h"),
            offset: 294_912,
            data: Bytes::from_static(b"last bytes of the file"),
        },
        RequestOp::Stat {
            path: Bytes::from_static(b"/a"),
        },
    ];
    for op in requests {
        let mut wire = Packet::Request(Request {
            id: 7,
            op: op.clone(),
        })
        .encode()
        .to_vec();
        wire.extend_from_slice(&[0xEE; 27_680]);
        let got = Packet::decode(Bytes::from(wire[4..].to_vec())).unwrap();
        assert_eq!(got, Packet::Request(Request { id: 7, op }));
    }
}

#[test]
fn oversized_string_length_is_bounded_by_the_frame() {
    // OPEN with a path length of 4 GiB - 1 in a 20-byte packet.
    let mut p = vec![kind::OPEN, 0, 0, 0, 9];
    p.extend_from_slice(&u32::MAX.to_be_bytes());
    p.extend_from_slice(b"abc");
    let err = Packet::decode(Bytes::from(p)).unwrap_err();
    assert_eq!(err.0, Some(9));
    assert!(matches!(
        err.1,
        DecodeError::Truncated { field: "path", .. }
    ));
}

#[test]
fn unknown_type_is_reported() {
    let err = Packet::decode(Bytes::from_static(&[99, 0, 0, 0, 1])).unwrap_err();
    assert_eq!(err, (Some(1), DecodeError::UnknownType(99)));
}

#[test]
fn data_header_matches_encode() {
    let data = Bytes::from_static(b"hello");
    let full = Response::Data { id: 42, data }.encode();
    assert_eq!(&full[..DATA_HEADER_LEN], &data_header(42, 5));
}

#[test]
fn status_encoding() {
    let b = Response::Status {
        id: 3,
        code: StatusCode::NO_SUCH_FILE,
        message: "no such file".into(),
    }
    .encode();
    assert_eq!(&b[4..9], &[kind::STATUS, 0, 0, 0, 3]);
    assert_eq!(&b[9..13], &[0, 0, 0, 2]);
}
