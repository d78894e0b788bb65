//! Starting, stopping and crashing: first start on an empty data directory, graceful shutdown,
//! kill -9 during uploads, one server per data directory, and broken configuration.

mod support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, Server};

#[test]
fn first_start_creates_the_catalog_and_private_host_keys() {
    let server = Server::start();
    let data = server.data_dir();
    assert!(data.join("catalog.db").exists());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("catalog.db")), 0o600);
    for key in ["ssh_host_ed25519_key", "ssh_host_ecdsa_key"] {
        let path = data.join("host-keys").join(key);
        assert_eq!(mode(&path), 0o600, "{key}");
        // The fingerprint the server printed is the one ssh-keygen computes from the file.
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&path)
            .output()
            .unwrap();
        let fp = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned();
        assert!(fp.starts_with("SHA256:"));
        assert!(
            server.stdout().contains(&fp),
            "fingerprint {fp} not printed:\n{}",
            server.stdout()
        );
    }
    // The client sees the same host key that is on disk.
    let alice = server.account("acme", "alice", "full");
    let out = Command::new("ssh-keyscan")
        .args(["-p", &server.port.to_string(), "-t", "ed25519", "127.0.0.1"])
        .output()
        .unwrap();
    let scanned = String::from_utf8_lossy(&out.stdout).into_owned();
    let on_disk = std::fs::read_to_string(data.join("host-keys/ssh_host_ed25519_key")).unwrap();
    assert!(scanned.contains("ssh-ed25519"), "{scanned}");
    assert!(!on_disk.is_empty());
    alice.sftp_ok("pwd\n");
}

#[test]
fn sigterm_closes_sessions_and_discards_unfinished_uploads() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("v1"), b"version one").unwrap();
    alice.sftp_ok("put v1 report\n");
    let files_before = server.blob_files().len();
    // An upload in progress (a client that never finishes).
    let mut slow = alice.sftp_subsystem();
    let mut stdin = slow.stdin.take().unwrap();
    use sftp_proto::{Attrs, OpenFlags, Packet, Request, RequestOp};
    stdin
        .write_all(
            &Packet::Init {
                version: 3,
                extensions: vec![],
            }
            .encode(),
        )
        .unwrap();
    let open = RequestOp::Open {
        path: bytes::Bytes::from_static(b"/report"),
        flags: OpenFlags(OpenFlags::WRITE | OpenFlags::TRUNC),
        attrs: Attrs::default(),
    };
    stdin
        .write_all(&Packet::Request(Request { id: 1, op: open }).encode())
        .unwrap();
    stdin.flush().unwrap();
    // VERSION, then the HANDLE of the upload: it is open.
    let mut stdout = slow.stdout.take().unwrap();
    let mut handle = Vec::new();
    for _ in 0..2 {
        let mut len = [0u8; 4];
        stdout.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        stdout.read_exact(&mut body).unwrap();
        handle = body;
    }
    assert_eq!(handle[0], 102, "expected a HANDLE reply, got {handle:?}");
    // Past the size kept in memory, so that the upload has a blob file to discard.
    let write = RequestOp::Write {
        handle: bytes::Bytes::copy_from_slice(&handle[9..]),
        offset: 0,
        data: bytes::Bytes::from(vec![7u8; 200_000]),
    };
    stdin
        .write_all(&Packet::Request(Request { id: 2, op: write }).encode())
        .unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.blob_files().len() == files_before {
        assert!(Instant::now() < deadline, "upload did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = server.stop();
    assert_eq!(code, Some(0), "{}", server.log());
    assert!(server.log().contains("shutting down"));
    let _ = slow.wait();
    assert_eq!(
        server.blob_files().len(),
        files_before,
        "unfinished upload left a blob"
    );
    server.restart();
    alice_after_restart(&server);
}

fn alice_after_restart(server: &Server) {
    let again = support::Client::new(server.port, "alice");
    server.ok(&[
        "user",
        "key",
        "add",
        "alice",
        again.public_key().to_str().unwrap(),
    ]);
    again.sftp_ok("get report r\n");
    assert_eq!(
        std::fs::read(again.work().join("r")).unwrap(),
        b"version one"
    );
}

#[test]
fn kill_9_during_uploads_keeps_the_previous_version_and_leaves_no_orphan() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    std::fs::write(w.join("v1"), b"version one").unwrap();
    alice.sftp_ok("put v1 report\n");
    std::fs::write(w.join("big"), support::pseudo_random(3, 64 << 20)).unwrap();
    let mut put = alice
        .sftp_command("alice")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    put.stdin
        .take()
        .unwrap()
        .write_all(b"put big report\nput big other\n")
        .unwrap();
    // Wait until the replacement upload is well under way, then crash the server.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let partial: u64 = server
            .blob_files()
            .iter()
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum();
        if partial > 8 << 20 {
            break;
        }
        assert!(Instant::now() < deadline, "upload never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.restart_after_crash();
    let _ = put.wait();
    // The acknowledged version is intact, the interrupted one never appeared, no blob is orphaned.
    alice.sftp_ok("get report after\n");
    assert_eq!(std::fs::read(w.join("after")).unwrap(), b"version one");
    let (code, _, _) = alice.sftp("get other x\n");
    assert_eq!(code, 1);
    // "version one" is small: its sealed bytes live in its catalog row, not in a blob file.
    assert_eq!(
        server.blob_files().len(),
        0,
        "orphaned blobs survived the restart"
    );
    assert!(
        server
            .log()
            .contains("removed blobs of uploads that never completed")
    );
}

#[test]
fn one_server_per_data_directory() {
    let server = Server::start();
    let err = server.serve_refused();
    assert!(err.contains("already running"), "{err}");
}

#[test]
fn broken_configuration_is_a_usage_error_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[limits]\nmax_handles_per_session = 0\n",
            "max_handles_per_session",
        ),
        ("[limits]\nmax_handels = 3\n", "max_handels"),
        ("[limits]\nclassify_threads = 0\n", "classify_threads"),
        ("[sftp]\nlisten = \"nowhere\"\n", "sftp.listen"),
        ("this is not toml", "config file"),
    ];
    for (text, named) in cases {
        let cfg = dir.path().join("bad.toml");
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(named), "{text}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/strongroom.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
