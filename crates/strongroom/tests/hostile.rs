//! Defects a hostile client found (issue 14), each driven through the real server: a rename
//! that destroyed a file, sparse writes and open uploads that filled the disk, unread replies
//! that grew memory, and a pre-authentication timeout that did not close the socket.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sftp_proto::message::kind;
use sftp_proto::{Extended, OpenFlags, RequestOp, StatusCode};
use support::raw::Raw;
use support::{Server, rss_kib};

fn path(p: &str) -> Bytes {
    Bytes::copy_from_slice(p.as_bytes())
}

/// Bytes the files under `dir` take on disk (allocated blocks, not apparent sizes).
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            disk_usage(&e.path())
        } else {
            m.blocks() * 512
        };
    }
    total
}

fn upload(raw: &mut Raw, id: u32, name: &str, data: &[u8]) {
    let h = raw.open(
        id,
        name,
        OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC,
    );
    for (i, piece) in data.chunks(261_120).enumerate() {
        let r = raw.write(id + 1, &h, (i * 261_120) as u64, piece);
        assert_eq!(r.status().0, StatusCode::OK);
    }
    let r = raw.call(id + 2, RequestOp::Close { handle: h });
    assert_eq!(r.status().0, StatusCode::OK);
}

fn posix_rename(raw: &mut Raw, id: u32, from: &str, to: &str) -> (StatusCode, String) {
    raw.call(
        id,
        RequestOp::Extended(Extended::PosixRename {
            from: path(from),
            to: path(to),
        }),
    )
    .status()
}

#[test]
fn posix_rename_never_replaces_a_file_with_a_directory() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    let mkdir = |raw: &mut Raw, id, p: &str| {
        let r = raw.call(
            id,
            RequestOp::Mkdir {
                path: path(p),
                attrs: Default::default(),
            },
        );
        assert_eq!(r.status().0, StatusCode::OK);
    };
    mkdir(&mut raw, 1, "/victimdir");
    upload(&mut raw, 2, "/report.csv", b"iban,amount\n");

    // A directory over a file: refused (ENOTDIR), the file intact.
    let (code, msg) = posix_rename(&mut raw, 10, "/victimdir", "/report.csv");
    assert_eq!(code, StatusCode::FAILURE);
    assert!(msg.contains("not a directory"), "{msg}");
    let out = alice.sftp_ok("get /report.csv back.csv\nls -l /\n");
    assert_eq!(
        std::fs::read(alice.work().join("back.csv")).unwrap(),
        b"iban,amount\n"
    );
    assert!(out.contains("victimdir"), "{out}");

    // A file over a directory: refused (EISDIR).
    let (code, msg) = posix_rename(&mut raw, 11, "/report.csv", "/victimdir");
    assert_eq!(code, StatusCode::FAILURE);
    assert!(msg.contains("is a directory"), "{msg}");

    // A directory over a non-empty directory: refused; over an empty one: done, as POSIX.
    mkdir(&mut raw, 12, "/full");
    mkdir(&mut raw, 13, "/full/inner");
    let (code, msg) = posix_rename(&mut raw, 14, "/victimdir", "/full");
    assert_eq!(code, StatusCode::FAILURE);
    assert!(msg.contains("not empty"), "{msg}");
    mkdir(&mut raw, 15, "/empty");
    upload(&mut raw, 16, "/victimdir/kept.txt", b"kept");
    assert_eq!(
        posix_rename(&mut raw, 20, "/victimdir", "/empty").0,
        StatusCode::OK
    );
    let out = alice.sftp_ok("get /empty/kept.txt kept.txt\nls /\n");
    assert_eq!(
        std::fs::read(alice.work().join("kept.txt")).unwrap(),
        b"kept"
    );
    assert!(!out.contains("victimdir"), "{out}");
    // The refused renames are in the ledger as failures.
    let export = server.ok(&["audit", "export"]);
    let refused = export
        .lines()
        .filter(|l| l.contains("\"rename\"") && l.contains("not a directory"))
        .count();
    assert_eq!(refused, 1, "{export}");
}

#[test]
fn sparse_writes_cost_nothing_on_disk_until_written() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    let before = disk_usage(&server.data_dir());
    let h = raw.open(1, "/sparse", OpenFlags::WRITE | OpenFlags::CREAT);
    let gap = 64u64 << 20;
    for i in 0..16u64 {
        let r = raw.write(2, &h, i * gap, &[i as u8 + 1]);
        assert_eq!(r.status().0, StatusCode::OK);
    }
    let grown = disk_usage(&server.data_dir()) - before;
    assert!(grown < 8 << 20, "16 one-byte writes took {grown} bytes");
    assert_eq!(
        raw.call(3, RequestOp::Close { handle: h }).status().0,
        StatusCode::OK
    );
    let grown = disk_usage(&server.data_dir()) - before;
    assert!(
        grown < 8 << 20,
        "the committed sparse file takes {grown} bytes"
    );

    // It reads back as written: the bytes where they were put, zeros between.
    let h = raw.open(4, "/sparse", OpenFlags::READ);
    let r = raw.call(
        5,
        RequestOp::Read {
            handle: h.clone(),
            offset: 5 * gap - 1000,
            len: 2000,
        },
    );
    assert_eq!(r.kind, kind::DATA);
    let data = &r.body[4..];
    assert_eq!(data.len(), 2000);
    assert!(data[..1000].iter().all(|&b| b == 0));
    assert_eq!(data[1000], 6);
    assert!(data[1001..].iter().all(|&b| b == 0));
    let st = raw.call(6, RequestOp::Fstat { handle: h });
    assert_eq!(st.kind, kind::ATTRS);
    assert_eq!(
        u64::from_be_bytes(st.body[4..12].try_into().unwrap()),
        15 * gap + 1
    );
}

#[test]
fn the_quota_counts_uploads_still_open() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    server.ok(&["tenant", "set", "acme", "--quota-bytes", "10M"]);
    let mut raw = Raw::connect(&alice);
    let before = disk_usage(&server.data_dir());
    let mut handles = Vec::new();
    for i in 0..64u32 {
        handles.push(raw.open(
            100 + i,
            &format!("/up{i}"),
            OpenFlags::WRITE | OpenFlags::CREAT,
        ));
    }
    // One upload may reach 9 MiB; the others cannot, as the first already holds that much.
    let mut refused = 0;
    for (i, h) in handles.iter().enumerate() {
        let (code, msg) = raw.write(300 + i as u32, h, 9 << 20, b"x").status();
        if code != StatusCode::OK {
            assert!(msg.contains("quota exceeded"), "{msg}");
            refused += 1;
        }
    }
    assert_eq!(refused, 63);
    let grown = disk_usage(&server.data_dir()) - before;
    assert!(grown < 16 << 20, "64 open uploads took {grown} bytes");
    // A second session of the tenant is held to the same reservation.
    let mut other = Raw::connect(&alice);
    let h = other.open(1, "/other", OpenFlags::WRITE | OpenFlags::CREAT);
    let (code, msg) = other.write(2, &h, 2 << 20, b"x").status();
    assert_eq!(code, StatusCode::FAILURE);
    assert!(msg.contains("quota exceeded"), "{msg}");
    // Closing the big upload commits it; closing the refused ones discards them.
    for (i, h) in handles.into_iter().enumerate() {
        raw.call(500 + i as u32, RequestOp::Close { handle: h });
    }
    let out = alice.sftp_ok("ls -l /\n");
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    let ups: Vec<&&str> = names.iter().filter(|n| n.starts_with("up")).collect();
    assert_eq!(ups, [&"up0"], "{out}");
}

#[test]
fn replies_a_client_does_not_read_do_not_grow_the_server() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    upload(&mut raw, 1, "/big", &vec![5u8; 1 << 20]);
    drop(raw);
    let base = rss_kib(server.pid());
    // Eight sessions, each sending 1,000 READs of 255 KiB and reading no reply.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut raw = Raw::connect(&alice);
        let h = raw.open(1, "/big", OpenFlags::READ);
        let mut burst = Vec::new();
        for i in 0..1000u32 {
            burst.extend_from_slice(
                &sftp_proto::Packet::Request(sftp_proto::Request {
                    id: 10 + i,
                    op: RequestOp::Read {
                        handle: h.clone(),
                        offset: u64::from(i % 4) * 261_120,
                        len: 261_120,
                    },
                })
                .encode(),
            );
        }
        raw.send_raw(&burst);
        stalled.push(raw);
    }
    std::thread::sleep(Duration::from_secs(3));
    let grown_mib = rss_kib(server.pid()).saturating_sub(base) / 1024;
    // Before the budgets: about 60 MB per session (480 MB here).
    assert!(
        grown_mib < 200,
        "8 stalled sessions grew the server by {grown_mib} MiB"
    );
    // Others are still served.
    let bob = server.account("acme", "bob", "full");
    let out = bob.sftp_ok("ls -l /\n");
    assert!(out.contains("big"), "{out}");
    // The stalled sessions were made to wait, not dropped: one reads its replies in full.
    let mut raw = stalled.pop().unwrap();
    for _ in 0..1000 {
        let r = raw.recv().expect("a stalled session was closed");
        assert_eq!(r.kind, kind::DATA);
    }
}

/// Sends `bytes` on a fresh connection and returns how long the server kept it open after.
fn open_for(port: u16, bytes: &[u8], echo_kexinit: bool) -> Duration {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(bytes).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    let mut echoed = false;
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                // The server's banner line, then its KEXINIT packet: sent back as ours, it is a
                // valid KEXINIT, and the key exchange then waits for us for ever.
                if echo_kexinit
                    && !echoed
                    && let Some(end) = seen.windows(2).position(|w| w == b"\r\n")
                {
                    let pkt = &seen[end + 2..];
                    if pkt.len() >= 4 {
                        let len = u32::from_be_bytes(pkt[..4].try_into().unwrap()) as usize;
                        if pkt.len() >= 4 + len {
                            s.write_all(&pkt[..4 + len]).unwrap();
                            echoed = true;
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_preauth_timeout_closes_stalled_handshakes() {
    let server = Server::start_with_config("[limits]\npreauth_timeout_secs = 2\n");
    let port = server.port;
    let banner_only = std::thread::spawn(move || open_for(port, b"SSH-2.0-Stall_1.0\r\n", false));
    let with_kexinit = std::thread::spawn(move || open_for(port, b"SSH-2.0-Stall_1.0\r\n", true));
    let nothing = std::thread::spawn(move || open_for(port, b"", false));
    for (what, t) in [
        ("banner", banner_only),
        ("banner and KEXINIT", with_kexinit),
        ("nothing", nothing),
    ] {
        let held = t.join().unwrap();
        assert!(
            held < Duration::from_secs(6),
            "after {what}, the connection stayed open {held:?}"
        );
    }
    assert!(server.log().contains("not authenticated in time"));
}

#[test]
fn connections_still_authenticating_are_capped() {
    let server = Server::start_with_config(
        "[limits]\nmax_unauthenticated = 4\npreauth_timeout_secs = 3\nauth_rejection_ms = 100\n",
    );
    let alice = server.account("acme", "alice", "full");
    let stalled: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            s.write_all(b"SSH-2.0-Stall_1.0\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // The fifth is refused at once (closed without a banner) ...
    let mut fifth = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    fifth
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(fifth.read(&mut buf).unwrap_or(0), 0);
    assert!(
        server
            .log()
            .contains("too many connections still authenticating")
    );
    // ... and once the stalled ones time out, logins work again.
    std::thread::sleep(Duration::from_secs(4));
    alice.sftp_ok("ls /\n");
    drop(stalled);
}
