//! Hostile input over an authenticated SFTP channel: every request type truncated at every
//! byte, lengths far beyond the packet, unknown types and extensions, handles never issued or
//! already closed, extreme offsets and lengths, hostile paths. Each gets a status reply or the
//! closing of that channel only; the server stays up, other sessions are unaffected and nothing
//! changes on disk.

mod support;

use bytes::Bytes;
use sftp_proto::message::kind;
use sftp_proto::{Attrs, Extended, OpenFlags, Packet, Request, RequestOp, StatusCode};
use support::raw::Raw;
use support::{Client, Server, sqlite_query};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// One request of every type (and every extension served, and one not served), naming
/// handles that were never issued and paths that do not exist yet.
fn every_request() -> Vec<RequestOp> {
    let h = Bytes::from_static(&[0, 0, 0, 99]);
    let attrs = Attrs {
        size: Some(5),
        uid_gid: Some((1, 2)),
        permissions: Some(0o600),
        times: Some((1, 2)),
        extended: vec![(b("a@b"), b("c"))],
    };
    vec![
        RequestOp::Open {
            path: b("/new-file"),
            flags: OpenFlags(OpenFlags::WRITE | OpenFlags::CREAT),
            attrs: attrs.clone(),
        },
        RequestOp::Close { handle: h.clone() },
        RequestOp::Read {
            handle: h.clone(),
            offset: 1,
            len: 100,
        },
        RequestOp::Write {
            handle: h.clone(),
            offset: 0,
            data: b("data"),
        },
        RequestOp::Lstat { path: b("/d") },
        RequestOp::Fstat { handle: h.clone() },
        RequestOp::Setstat {
            path: b("/d/f"),
            attrs: attrs.clone(),
        },
        RequestOp::Fsetstat {
            handle: h.clone(),
            attrs: attrs.clone(),
        },
        RequestOp::Opendir { path: b("/d") },
        RequestOp::Readdir { handle: h.clone() },
        RequestOp::Remove { path: b("/d/f") },
        RequestOp::Mkdir {
            path: b("/new-dir"),
            attrs: attrs.clone(),
        },
        RequestOp::Rmdir { path: b("/d") },
        RequestOp::Realpath { path: b("/d/..") },
        RequestOp::Stat { path: b("/d/f") },
        RequestOp::Rename {
            from: b("/d/f"),
            to: b("/moved"),
        },
        RequestOp::Readlink { path: b("/d/f") },
        RequestOp::Symlink {
            link: b("/link"),
            target: b("/d/f"),
        },
        RequestOp::Extended(Extended::PosixRename {
            from: b("/d/f"),
            to: b("/moved"),
        }),
        RequestOp::Extended(Extended::Statvfs { path: b("/") }),
        RequestOp::Extended(Extended::Fstatvfs { handle: h.clone() }),
        RequestOp::Extended(Extended::Fsync { handle: h.clone() }),
        RequestOp::Extended(Extended::Limits),
        RequestOp::Extended(Extended::ExpandPath { path: b("~/d") }),
        RequestOp::Extended(Extended::HomeDirectory {
            username: b("alice"),
        }),
        RequestOp::Extended(Extended::Hardlink {
            from: b("/d/f"),
            to: b("/hard"),
        }),
        RequestOp::Extended(Extended::Lsetstat {
            path: b("/d/f"),
            attrs,
        }),
        RequestOp::Extended(Extended::CopyData {
            read_handle: h.clone(),
            read_offset: 0,
            len: 10,
            write_handle: h,
            write_offset: 0,
        }),
        RequestOp::Extended(Extended::Unknown {
            name: b("evil@example.com"),
            data: b("payload"),
        }),
    ]
}

/// A frame (length prefix + body) around `body`.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// What the namespace and the blob store hold: (`ls -laR`-like listing, rows, blob files).
fn state(server: &Server, alice: &Client) -> (String, String, usize) {
    let listing = alice.sftp_ok("ls -la /\nls -la /d\n");
    let rows = sqlite_query(
        &server.data_dir().join("catalog.db"),
        "SELECT id, parent_id, kind, size, mode FROM nodes ORDER BY id",
    );
    (listing, rows, server.blob_files().len())
}

fn setup() -> (Server, Client) {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), vec![3u8; 100_000]).unwrap();
    alice.sftp_ok("mkdir /d\nput f /d/f\n");
    (server, alice)
}

#[test]
fn every_request_truncated_at_every_byte_gets_a_status_and_changes_nothing() {
    let (server, alice) = setup();
    let before = state(&server, &alice);
    let mut raw = Raw::connect(&alice);
    let mut sent = 0u32;
    let mut burst = Vec::new();
    for (n, op) in every_request().into_iter().enumerate() {
        let id = 1000 + n as u32;
        let wire = Packet::Request(Request { id, op }).encode();
        let body = &wire[4..];
        // Every cut that keeps the type and the id: a reply to that id is due.
        for cut in 5..body.len() {
            burst.extend_from_slice(&frame(&body[..cut]));
            sent += 1;
        }
    }
    raw.send_raw(&burst);
    let mut codes = std::collections::BTreeMap::new();
    for _ in 0..sent {
        let r = raw
            .recv()
            .expect("the channel was closed by a truncated request");
        // A truncation that still holds whole fields (the payload of an unknown extension)
        // is a request like any other; everything else is a malformed request.
        assert_eq!(r.kind, kind::STATUS, "id {}", r.id);
        *codes.entry(r.status().0.0).or_insert(0) += 1;
    }
    assert!(codes[&StatusCode::BAD_MESSAGE.0] > 500, "{codes:?}");
    // The channel still works, and nothing changed.
    let r = raw.call(1, RequestOp::Stat { path: b("/d/f") });
    assert_eq!(r.kind, kind::ATTRS);
    drop(raw);
    assert_eq!(state(&server, &alice), before);
}

#[test]
fn whole_requests_with_bad_handles_paths_offsets_and_lengths_are_refused() {
    let (server, alice) = setup();
    let before = state(&server, &alice);
    let mut raw = Raw::connect(&alice);
    // Every request type, whole, naming a handle never issued (the ones that would change the
    // namespace legitimately, as this account may, are left to the truncation test).
    for (n, op) in every_request().into_iter().enumerate() {
        let changes = matches!(
            op,
            RequestOp::Open { .. }
                | RequestOp::Mkdir { .. }
                | RequestOp::Setstat { .. }
                | RequestOp::Rename { .. }
                | RequestOp::Remove { .. }
                | RequestOp::Extended(Extended::PosixRename { .. } | Extended::Lsetstat { .. })
        );
        if changes {
            continue;
        }
        let r = raw.call(2000 + n as u32, op.clone());
        match r.kind {
            kind::STATUS | kind::ATTRS | kind::NAME | kind::EXTENDED_REPLY => {}
            kind::HANDLE => {
                raw.call(3000, RequestOp::Close { handle: r.handle() });
            }
            other => panic!("{op:?}: reply type {other}"),
        }
    }
    // A closed handle is gone for good.
    let h = raw.open(10, "/d/f", OpenFlags::READ);
    raw.call(11, RequestOp::Close { handle: h.clone() });
    for op in [
        RequestOp::Read {
            handle: h.clone(),
            offset: 0,
            len: 10,
        },
        RequestOp::Close { handle: h.clone() },
        RequestOp::Fstat { handle: h.clone() },
    ] {
        assert_eq!(raw.call(12, op).status().0, StatusCode::FAILURE);
    }
    // Handles of the wrong shape: empty, long, another session's.
    for handle in [Bytes::new(), Bytes::from(vec![b'h'; 300])] {
        let r = raw.call(13, RequestOp::Fstat { handle });
        assert_eq!(r.kind, kind::STATUS);
    }
    // Extreme offsets and lengths.
    let h = raw.open(20, "/d/f", OpenFlags::READ);
    for offset in [u64::MAX, 1 << 63, (1 << 63) - 1] {
        let r = raw.call(
            21,
            RequestOp::Read {
                handle: h.clone(),
                offset,
                len: u32::MAX,
            },
        );
        assert_eq!(r.status().0, StatusCode::EOF);
    }
    let r = raw.call(
        22,
        RequestOp::Read {
            handle: h.clone(),
            offset: 0,
            len: u32::MAX,
        },
    );
    assert_eq!((r.kind, r.body.len() - 4), (kind::DATA, 100_000));
    raw.call(23, RequestOp::Close { handle: h });
    let w = raw.open(24, "/scratch", OpenFlags::WRITE | OpenFlags::CREAT);
    for offset in [u64::MAX - 1, 1 << 63, 1 << 40] {
        let (code, msg) = raw.write(25, &w, offset, b"0123456789").status();
        assert_eq!(code, StatusCode::FAILURE, "{offset}: {msg}");
    }
    // A write of exactly the largest payload is accepted; one byte more closes nothing but
    // is refused (the packet limit).
    let r = raw.write(26, &w, 0, &vec![1u8; 261_120]);
    assert_eq!(r.status().0, StatusCode::OK);
    assert_eq!(
        raw.call(27, RequestOp::Close { handle: w }).status().0,
        StatusCode::OK
    );
    assert_eq!(
        raw.call(
            28,
            RequestOp::Remove {
                path: b("/scratch")
            }
        )
        .status()
        .0,
        StatusCode::OK
    );
    // Hostile paths: NUL, escapes, absolute forms, overlong names and paths, invalid UTF-8.
    let long_name = format!("/{}", "n".repeat(256));
    let long_path = format!("/{}", "d/".repeat(2100));
    for p in [
        "/d\0/f",
        "/../../../../etc/passwd",
        "//d//f/../../../..",
        "/./d/./f/..",
        long_name.as_str(),
        long_path.as_str(),
    ] {
        let r = raw.call(30, RequestOp::Remove { path: b(p) });
        assert_eq!(r.kind, kind::STATUS, "{p:?}");
        assert_ne!(r.status().0, StatusCode::OK, "{p:?}");
        let r = raw.call(31, RequestOp::Opendir { path: b(p) });
        if r.kind == kind::HANDLE {
            // `..` above the root stays at the root, as in a chroot.
            raw.call(32, RequestOp::Close { handle: r.handle() });
        }
    }
    let r = raw.call(
        33,
        RequestOp::Realpath {
            path: b("/../../../../etc/passwd"),
        },
    );
    assert!(r.body.windows(11).any(|w| w == b"/etc/passwd"));
    assert_eq!(
        raw.call(
            34,
            RequestOp::Stat {
                path: b("/etc/passwd")
            }
        )
        .status()
        .0,
        StatusCode::NO_SUCH_FILE
    );
    let r = raw.call(
        35,
        RequestOp::Stat {
            path: Bytes::from_static(b"/d/\xff\xfe"),
        },
    );
    assert_eq!(r.status().0, StatusCode::NO_SUCH_FILE);
    // An attribute block claiming 4 billion extended pairs in a small packet.
    let mut body = vec![kind::SETSTAT, 0, 0, 0, 40];
    body.extend_from_slice(&4u32.to_be_bytes());
    body.extend_from_slice(b"/d/f");
    body.extend_from_slice(&0x8000_0000u32.to_be_bytes());
    body.extend_from_slice(&u32::MAX.to_be_bytes());
    raw.send_raw(&frame(&body));
    let r = raw.recv().unwrap();
    assert_eq!((r.id, r.status().0), (40, StatusCode::BAD_MESSAGE));
    // Unknown request types.
    for ty in [0u8, 21, 99, 100, 199, 202, 255] {
        raw.send_raw(&frame(&[ty, 0, 0, 0, 50]));
        let r = raw.recv().unwrap();
        assert_eq!(
            (r.id, r.status().0),
            (50, StatusCode::BAD_MESSAGE),
            "type {ty}"
        );
    }
    drop(raw);
    assert_eq!(state(&server, &alice), before);
}

#[test]
fn a_second_init_or_an_empty_frame_closes_only_that_channel() {
    let (server, alice) = setup();
    let init = Packet::Init {
        version: 3,
        extensions: vec![],
    }
    .encode();
    for bad in [
        init.to_vec(),
        vec![0, 0, 0, 0],
        vec![0, 0, 0, 1, kind::READ],
    ] {
        let mut raw = Raw::connect(&alice);
        // A session beside it, mid-transfer, is unaffected.
        let mut other = Raw::connect(&alice);
        let h = other.open(1, "/d/f", OpenFlags::READ);
        raw.send_raw(&bad);
        assert!(raw.recv().is_none(), "{bad:?} did not close the channel");
        let r = other.call(
            2,
            RequestOp::Read {
                handle: h,
                offset: 0,
                len: 10,
            },
        );
        assert_eq!(r.kind, kind::DATA);
    }
    alice.sftp_ok("ls /d\n");
    drop(server);
}

/// Handles are 16 random bytes: two opens give unrelated handles, and a handle one bit away
/// from a live one (what a counter would make guessable) names nothing.
#[test]
fn handles_are_unguessable() {
    let (_server, alice) = setup();
    let mut raw = Raw::connect(&alice);
    let flags = sftp_proto::OpenFlags::WRITE | sftp_proto::OpenFlags::CREAT;
    let first = raw.open(1, "/h1", flags);
    let second = raw.open(2, "/h2", flags);
    assert_eq!((first.len(), second.len()), (16, 16));
    let same = first
        .iter()
        .zip(second.iter())
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        same < 8,
        "handles share {same} of 16 bytes: {first:?} {second:?}"
    );
    for h in [&first, &second] {
        let mut near = h.to_vec();
        near[15] ^= 1;
        let r = raw.call(
            10,
            RequestOp::Fstat {
                handle: Bytes::from(near),
            },
        );
        assert_eq!(r.status().0, sftp_proto::StatusCode::FAILURE);
    }
    let r = raw.call(11, RequestOp::Fstat { handle: first });
    assert_eq!(r.kind, kind::ATTRS);
}

/// A stored file's contents leave only through a handle opened for reading: the one whose open
/// is recorded as a read, durable before its reply, whose bytes count against the file (and
/// its canaries and retention are judged). A handle opened for writing is not read from (as
/// OpenSSH's `sftp-server` refuses, its file open write-only); one opened for reading and
/// writing over a stored file without truncating it holds that file's contents, so reads
/// through it are refused too, while one that began empty reads back what was written.
#[test]
fn a_stored_file_is_never_read_through_a_handle_for_writing() {
    let (server, alice) = setup();
    let read = |raw: &mut Raw, id, h: &Bytes| {
        raw.call(
            id,
            RequestOp::Read {
                handle: h.clone(),
                offset: 0,
                len: 1000,
            },
        )
    };
    let mut raw = Raw::connect(&alice);
    let refused = [
        (
            OpenFlags::WRITE,
            "permission denied: handle not open for reading",
        ),
        (
            OpenFlags::READ | OpenFlags::WRITE,
            "permission denied: this handle writes over a stored file; open the file for reading to read it",
        ),
        (
            OpenFlags::READ | OpenFlags::WRITE | OpenFlags::APPEND,
            "permission denied: this handle writes over a stored file; open the file for reading to read it",
        ),
        (
            OpenFlags::READ | OpenFlags::WRITE | OpenFlags::CREAT,
            "permission denied: this handle writes over a stored file; open the file for reading to read it",
        ),
    ];
    for (i, (flags, message)) in refused.into_iter().enumerate() {
        let id = 10 * i as u32;
        let h = raw.open(id + 1, "/d/f", flags);
        let r = read(&mut raw, id + 2, &h);
        assert_eq!(
            r.status(),
            (StatusCode::PERMISSION_DENIED, message.to_owned()),
            "flags {flags:#x}"
        );
        let r = raw.call(id + 3, RequestOp::Close { handle: h });
        assert_eq!(r.status().0, StatusCode::OK);
    }
    // What a handle that began empty holds is the client's own: read back.
    for (i, flags) in [
        OpenFlags::READ | OpenFlags::WRITE | OpenFlags::CREAT,
        OpenFlags::READ | OpenFlags::WRITE | OpenFlags::TRUNC,
    ]
    .into_iter()
    .enumerate()
    {
        let id = 100 + 10 * i as u32;
        let h = raw.open(id + 1, &format!("/d/new{i}"), flags | OpenFlags::CREAT);
        assert_eq!(
            raw.write(id + 2, &h, 0, b"written here").status().0,
            StatusCode::OK
        );
        let r = read(&mut raw, id + 3, &h);
        assert_eq!((r.kind, &r.body[4..]), (kind::DATA, &b"written here"[..]));
        let r = raw.call(id + 4, RequestOp::Close { handle: h });
        assert_eq!(r.status().0, StatusCode::OK);
    }
    // Through a handle for reading, as ever; the stored file is unchanged.
    let h = raw.open(201, "/d/f", OpenFlags::READ);
    let r = read(&mut raw, 202, &h);
    assert_eq!((r.kind, &r.body[4..]), (kind::DATA, &[3u8; 1000][..]));
    drop(raw);
    alice.sftp_ok("get /d/f back\n");
    assert_eq!(
        std::fs::read(alice.work().join("back")).unwrap(),
        vec![3u8; 100_000]
    );
    // The refused reads sent nothing: the only reads the ledger holds of the file are the
    // handle for reading's and the `get`'s.
    let export = server.ok(&["audit", "export", "--user", "alice"]);
    let opened_for_reading = export
        .lines()
        .filter(|l| l.contains(r#""op":"open_read""#) && l.contains("/d/f"))
        .count();
    assert_eq!(opened_for_reading, 2, "{export}");
}
