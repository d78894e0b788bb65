//! The SFTP wire, driven byte by byte through a real `ssh -s sftp` channel: malformed and
//! oversized packets, unknown handles, limits, pipelining and never-closed uploads.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sftp_proto::message::kind;
use sftp_proto::{Attrs, Extended, OpenFlags, Packet, Request, RequestOp, StatusCode};
use support::Server;
use support::raw::Raw;

fn path(p: &str) -> Bytes {
    Bytes::copy_from_slice(p.as_bytes())
}

#[test]
fn malformed_requests_get_bad_message_and_the_session_goes_on() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);

    // OPEN whose path claims 4 GiB in a 17-byte packet.
    let mut p = vec![0, 0, 0, 13, kind::OPEN, 0, 0, 0, 7];
    p.extend_from_slice(&u32::MAX.to_be_bytes());
    p.extend_from_slice(b"abcd");
    raw.send_raw(&p);
    let r = raw.recv().unwrap();
    assert_eq!(r.id, 7);
    let (code, msg) = r.status();
    assert_eq!(code, StatusCode::BAD_MESSAGE);
    assert!(msg.contains("path"), "{msg}");

    // Unknown packet type: refused. Unused bytes after a valid request: ignored, as OpenSSH's
    // sftp-server does (pkg/sftp under rclone pads its last WRITE of a file).
    raw.send_raw(&[0, 0, 0, 5, 99, 0, 0, 0, 8]);
    let r = raw.recv().unwrap();
    assert_eq!((r.id, r.status().0), (8, StatusCode::BAD_MESSAGE));
    let mut stat = Packet::Request(Request {
        id: 9,
        op: RequestOp::Stat { path: path("/") },
    })
    .encode()
    .to_vec();
    stat.push(0xAA);
    let n = (stat.len() - 4) as u32;
    stat[..4].copy_from_slice(&n.to_be_bytes());
    raw.send_raw(&stat);
    let r = raw.recv().unwrap();
    assert_eq!((r.id, r.kind), (9, kind::ATTRS));

    // Unknown handles and unknown extensions are refused; the session still works.
    let r = raw.call(
        10,
        RequestOp::Read {
            handle: path("nope"),
            offset: 0,
            len: 10,
        },
    );
    assert_eq!(r.status(), (StatusCode::FAILURE, "invalid handle".into()));
    let r = raw.call(
        11,
        RequestOp::Extended(Extended::Unknown {
            name: path("evil@x"),
            data: path("z"),
        }),
    );
    assert_eq!(r.status().0, StatusCode::OP_UNSUPPORTED);
    let r = raw.call(
        12,
        RequestOp::Realpath {
            path: path("a/../b/./c"),
        },
    );
    assert_eq!(r.kind, kind::NAME);
    assert!(r.body.windows(4).any(|w| w == b"/b/c"));
    // A path with a NUL byte is an error, not a truncated name.
    let r = raw.call(
        13,
        RequestOp::Mkdir {
            path: path("ok\0../../x"),
            attrs: Attrs::default(),
        },
    );
    let (code, msg) = r.status();
    assert_eq!(code, StatusCode::FAILURE);
    assert!(msg.contains("NUL"), "{msg}");
}

#[test]
fn an_oversized_packet_closes_only_that_channel_with_a_logged_reason() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    raw.send_raw(&[0x7f, 0xff, 0xff, 0xff, kind::WRITE]);
    assert!(raw.recv().is_none(), "channel should close");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("exceeds the limit") {
        assert!(
            Instant::now() < deadline,
            "no reason logged:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The server is unharmed: a new session works.
    alice.sftp_ok("pwd\n");
}

#[test]
fn requests_before_init_close_the_channel() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut child = alice.sftp_subsystem();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            &Packet::Request(Request {
                id: 1,
                op: RequestOp::Stat { path: path("/") },
            })
            .encode(),
        )
        .unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    assert!(out.is_empty(), "got a reply before INIT");
    let _ = child.wait();
}

#[test]
fn limits_are_advertised_and_enforced() {
    let server = Server::start_with_config(
        "[limits]\nmax_handles_per_session = 3\nauth_rejection_ms = 100\n",
    );
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    let r = raw.call(1, RequestOp::Extended(Extended::Limits));
    assert_eq!(r.kind, kind::EXTENDED_REPLY);
    let field = |i: usize| u64::from_be_bytes(r.body[i * 8..i * 8 + 8].try_into().unwrap());
    assert_eq!(
        (field(0), field(1), field(2), field(3)),
        (262_144, 261_120, 261_120, 3)
    );

    // A READ asking for 4 GiB gets at most the advertised length.
    let h = raw.open(2, "/big", OpenFlags::WRITE | OpenFlags::CREAT);
    let data = Bytes::from(vec![7u8; 261_120]);
    for i in 0..3u64 {
        let r = raw.call(
            3,
            RequestOp::Write {
                handle: h.clone(),
                offset: i * 261_120,
                data: data.clone(),
            },
        );
        assert_eq!(r.status().0, StatusCode::OK);
    }
    assert_eq!(
        raw.call(4, RequestOp::Close { handle: h }).status().0,
        StatusCode::OK
    );
    let h = raw.open(5, "/big", OpenFlags::READ);
    let r = raw.call(
        6,
        RequestOp::Read {
            handle: h.clone(),
            offset: 0,
            len: u32::MAX,
        },
    );
    assert_eq!(r.kind, kind::DATA);
    assert_eq!(r.body.len() - 4, 261_120);
    let r = raw.call(
        7,
        RequestOp::Read {
            handle: h.clone(),
            offset: 3 * 261_120,
            len: 10,
        },
    );
    assert_eq!(r.status().0, StatusCode::EOF);
    // The last byte is data; from the file's size on, the end.
    let r = raw.call(
        7,
        RequestOp::Read {
            handle: h.clone(),
            offset: 3 * 261_120 - 1,
            len: 10,
        },
    );
    assert_eq!((r.kind, r.body.len() - 4), (kind::DATA, 1));
    let r = raw.call(
        7,
        RequestOp::Read {
            handle: h.clone(),
            offset: u64::MAX,
            len: 10,
        },
    );
    assert_eq!(r.status().0, StatusCode::EOF);

    // Handle table: 3 open at most.
    let _d1 = raw.call(8, RequestOp::Opendir { path: path("/") }).handle();
    let _d2 = raw.call(9, RequestOp::Opendir { path: path("/") }).handle();
    let r = raw.call(10, RequestOp::Opendir { path: path("/") });
    let (code, msg) = r.status();
    assert_eq!(code, StatusCode::FAILURE);
    assert!(msg.contains("too many open handles"), "{msg}");
    // After closing one, opening works again; a closed handle is gone for good.
    assert_eq!(
        raw.call(11, RequestOp::Close { handle: h.clone() })
            .status()
            .0,
        StatusCode::OK
    );
    raw.call(12, RequestOp::Opendir { path: path("/") })
        .handle();
    let r = raw.call(
        13,
        RequestOp::Read {
            handle: h,
            offset: 0,
            len: 1,
        },
    );
    assert_eq!(r.status().0, StatusCode::FAILURE);
}

#[test]
fn a_write_far_past_the_end_is_refused_before_any_work() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let blobs_before = server.blob_files().len();
    let mut raw = Raw::connect(&alice);
    let h = raw.open(1, "/sparse", OpenFlags::WRITE | OpenFlags::CREAT);
    // A sealed file has no holes: without a bound this would fill a petabyte with zeros.
    let r = raw.write(2, &h, 1 << 50, b"x");
    assert_eq!(
        r.status(),
        (
            StatusCode::FAILURE,
            "write too far past the end of the file".into()
        )
    );
    let r = raw.call(
        3,
        RequestOp::Fsetstat {
            handle: h.clone(),
            attrs: Attrs {
                size: Some(1 << 50),
                ..Attrs::default()
            },
        },
    );
    assert_eq!(r.status().0, StatusCode::FAILURE);
    // Writing just past the end (a client's pipeline) is fine.
    let r = raw.write(4, &h, 1_000_000, b"y");
    assert_eq!(r.status().0, StatusCode::OK);
    assert_eq!(
        raw.call(5, RequestOp::Close { handle: h }).status().0,
        StatusCode::OK
    );
    let size: u64 = server
        .blob_files()
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(server.blob_files().len(), blobs_before + 1);
    assert!(size < 2_000_000, "{size} bytes on disk");
}

#[test]
fn pipelined_requests_on_several_handles_behave_as_if_in_order() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    let a = raw.open(
        1,
        "/a",
        OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC,
    );
    let b = raw.open(
        2,
        "/b",
        OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC,
    );
    // Interleave 200 writes to two files, then close both and stat both, all without waiting.
    let mut id = 100;
    for i in 0..100u64 {
        for (h, byte) in [(&a, b'a'), (&b, b'b')] {
            let data = Bytes::from(vec![byte + (i % 20) as u8; 1000]);
            raw.send(
                id,
                RequestOp::Write {
                    handle: h.clone(),
                    offset: i * 1000,
                    data,
                },
            );
            id += 1;
        }
    }
    raw.send(id, RequestOp::Close { handle: a });
    raw.send(id + 1, RequestOp::Close { handle: b });
    raw.send(id + 2, RequestOp::Stat { path: path("/a") });
    raw.send(
        id + 3,
        RequestOp::Rename {
            from: path("/b"),
            to: path("/c"),
        },
    );
    let mut replies = std::collections::HashMap::new();
    for _ in 0..204 {
        let r = raw.recv().unwrap();
        replies.insert(r.id, r);
    }
    for i in 100..id + 2 {
        assert_eq!(replies[&i].status().0, StatusCode::OK, "request {i}");
    }
    // The STAT sent after CLOSE sees the committed size; the RENAME sees the committed file.
    let st = &replies[&(id + 2)];
    assert_eq!(st.kind, kind::ATTRS);
    assert_eq!(
        u64::from_be_bytes(st.body[4..12].try_into().unwrap()),
        100_000
    );
    assert_eq!(replies[&(id + 3)].status().0, StatusCode::OK);
    alice.sftp_ok("get a a.out\nget c c.out\n");
    let got = std::fs::read(alice.work().join("c.out")).unwrap();
    assert_eq!(got.len(), 100_000);
    assert!(
        got.chunks(1000)
            .enumerate()
            .all(|(i, c)| c.iter().all(|&x| x == b'b' + (i % 20) as u8))
    );
}

#[test]
fn an_upload_that_is_never_closed_is_never_visible() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("v1"), b"version one").unwrap();
    alice.sftp_ok("put v1 report\n");
    let blobs_before = server.blob_files().len();
    {
        let mut raw = Raw::connect(&alice);
        let h = raw.open(1, "/report", OpenFlags::WRITE | OpenFlags::TRUNC);
        let r = raw.write(2, &h, 0, b"half-written");
        assert_eq!(r.status().0, StatusCode::OK);
        let h2 = raw.open(3, "/new-file", OpenFlags::WRITE | OpenFlags::CREAT);
        raw.write(4, &h2, 0, b"partial");
        // While the upload is open, others still see the previous version and no new file.
        alice.sftp_ok("get report during\n");
        assert_eq!(
            std::fs::read(alice.work().join("during")).unwrap(),
            b"version one"
        );
        let (code, _, _) = alice.sftp("get new-file x\n");
        assert_eq!(code, 1);
        // Disconnect without CLOSE.
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.blob_files().len() != blobs_before {
        assert!(
            Instant::now() < deadline,
            "discarded upload blobs were not removed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    alice.sftp_ok("get report after\n");
    assert_eq!(
        std::fs::read(alice.work().join("after")).unwrap(),
        b"version one"
    );
    let (code, _, _) = alice.sftp("get new-file x\n");
    assert_eq!(code, 1);
}

#[test]
fn fsync_of_an_upload_is_answered_without_moving_it_out_of_memory() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let blobs_before = server.blob_files().len();
    let mut raw = Raw::connect(&alice);
    let h = raw.open(1, "/small", OpenFlags::WRITE | OpenFlags::CREAT);
    let r = raw.write(2, &h, 0, b"statement");
    assert_eq!(r.status().0, StatusCode::OK);
    let r = raw.call(
        3,
        RequestOp::Extended(Extended::Fsync { handle: h.clone() }),
    );
    assert_eq!(r.status().0, StatusCode::OK);
    // The upload is private until its close commits it (durably): flushing it before would
    // only write a file of its own for a small upload kept in memory.
    assert_eq!(server.blob_files().len(), blobs_before);
    assert_eq!(
        raw.call(4, RequestOp::Close { handle: h }).status().0,
        StatusCode::OK
    );
    assert_eq!(server.blob_files().len(), blobs_before);
    drop(raw);
    let w = alice.work();
    alice.sftp_ok("get /small small.back\n");
    assert_eq!(std::fs::read(w.join("small.back")).unwrap(), b"statement");
}
