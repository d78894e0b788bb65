//! The audit ledger end to end: what the real client's sessions leave in it, export filters,
//! tampering made directly in the ledger file (with Python's sqlite3), and kill -9.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{Server, admin_in, pseudo_random, sqlite};

fn export(data: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["audit", "export"];
    all.extend_from_slice(args);
    let out = admin_in(data, &all, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn verify(data: &Path) -> Output {
    admin_in(data, &["audit", "verify"], None)
}

#[test]
fn sessions_leave_their_records_and_exports_filter_exactly() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("globex", "bob", "full");
    std::fs::write(alice.work().join("big"), pseudo_random(1, 3_000_000)).unwrap();
    std::fs::write(bob.work().join("small"), b"small").unwrap();
    alice.sftp_ok("put big statement.bin\nget statement.bin back\nmkdir out\nrename statement.bin out/s.bin\nls out\n");
    let (code, _, _) = bob.sftp("put small s\n-get nope\n-rename nope elsewhere\n");
    assert_eq!(code, 0);
    let out = Command::new("sftp")
        .args(bob.ssh_options())
        .args([
            "-o",
            "BindAddress=127.0.0.2",
            "-P",
            &bob.port.to_string(),
            "-b",
            "-",
            "bob@127.0.0.1",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    server.stop();
    let data = server.data_dir();

    let ok = verify(&data);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("ledger intact"));

    let all = export(&data, &[]);
    let mine = export(&data, &["--user", "alice"]);
    assert!(!mine.is_empty());
    assert!(
        mine.iter().all(|l| l.contains(r#""account":"alice""#)),
        "{mine:?}"
    );
    for needle in [
        r#""op":"open_write","path":"/statement.bin""#,
        r#""op":"close_write","path":"/statement.bin","bytes":3000000"#,
        r#""op":"close_read","path":"/statement.bin","bytes":3000000,"whole_file":true"#,
        r#""op":"rename","path":"/statement.bin","to":"/out/s.bin""#,
        r#""op":"mkdir","path":"/out""#,
        r#""kind":"auth""#,
        r#""kind":"session","opened":true"#,
    ] {
        assert!(
            mine.iter().any(|l| l.contains(needle)),
            "no {needle} in alice's records"
        );
    }
    assert!(
        mine.iter()
            .any(|l| l.contains(r#""op":"readdir""#) && l.contains(r#""entries":1"#))
    );
    // Upload and download are told apart; per-READ records are not kept.
    assert!(!all.iter().any(|l| l.contains(r#""op":"read""#)));
    // The log (at info for events) carries the logins but not the file operations, which
    // are in the ledger above.
    let log = server.log();
    assert!(log.contains(r#""kind":"auth""#), "{log}");
    assert!(
        !log.contains(r#""op":"#),
        "file operations in the log at info: {log}"
    );
    // By source address: only bob's second session came from 127.0.0.2.
    let from2 = export(&data, &["--ip", "127.0.0.2"]);
    assert!(
        !from2.is_empty() && from2.iter().all(|l| l.contains(r#""source":"127.0.0.2:"#)),
        "{from2:?}"
    );
    let bobs = export(&data, &["--user", "bob"]);
    assert!(bobs.len() > from2.len());
    assert!(
        bobs.iter()
            .any(|l| l.contains(r#""op":"stat","path":"/nope""#) && l.contains("failed"))
    );
    // A failed change is recorded too (group-committed: it changed nothing).
    assert!(
        bobs.iter().any(
            |l| l.contains(r#""op":"rename","path":"/nope","to":"/elsewhere""#)
                && l.contains(r#""outcome":"failed: "#)
        ),
        "{bobs:?}"
    );
    // By tenant and time window.
    assert_eq!(
        export(&data, &["--tenant", "globex"])
            .iter()
            .filter(|l| l.contains("alice"))
            .count(),
        0
    );
    assert!(export(&data, &["--until", "2000-01-01T00:00:00Z"]).is_empty());
    assert_eq!(
        export(&data, &["--since", "2000-01-01T00:00:00Z"]).len(),
        all.len()
    );
    // Admin commands are records too.
    assert!(
        all.iter()
            .any(|l| l.contains(r#""kind":"admin","command":"tenant add acme""#))
    );
    // CSV has a header and one row per record.
    let csv = export(&data, &["--format", "csv"]);
    assert_eq!(
        csv[0],
        "seq,time,kind,account,tenant,source,session,hash,event"
    );
    assert_eq!(csv.len(), all.len() + 1);
    // The ledger names files, yet no name is readable in the ledger file.
    let raw = std::fs::read(data.join("ledger.db")).unwrap();
    assert!(!raw.windows(13).any(|w| w == b"statement.bin"));
}

#[test]
fn every_kind_of_tampering_is_caught_by_verify() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), b"payload").unwrap();
    for i in 0..3 {
        alice.sftp_ok(&format!("put f f{i}\nget f{i} g{i}\n"));
    }
    server.stop();
    let head = admin_in(&server.data_dir(), &["audit", "head"], None);
    let head = String::from_utf8(head.stdout).unwrap();
    assert!(
        head.contains("signature:") && head.contains("public key:"),
        "{head}"
    );
    let n: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("seq:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(n > 20, "{head}");

    let cases: [(&str, String, &str); 6] = [
        ("modified", "UPDATE records SET time = time + 1 WHERE seq = 10;".into(), "record 10"),
        (
            // The indexed copies that export filters on are covered by the chain too.
            "reattributed",
            "UPDATE records SET account = 'nobody' WHERE seq = 11;".into(),
            "record 11",
        ),
        ("deleted", "DELETE FROM records WHERE seq = 12;".into(), "record 12"),
        (
            "inserted",
            "INSERT INTO records (seq, time, prev_hash, hash, kind, body) SELECT 100000, time, hash, hash, kind, body FROM records WHERE seq = 8;\
             UPDATE records SET seq = seq + 1000000 WHERE seq > 8 AND seq < 100000;".into(),
            "record 9",
        ),
        (
            // seq is the row id, so "reordering" means swapping two records' contents.
            "reordered",
            "CREATE TABLE t AS SELECT * FROM records WHERE seq IN (14, 15);\
             UPDATE records SET time = (SELECT time FROM t WHERE seq = 15), prev_hash = (SELECT prev_hash FROM t WHERE seq = 15),\
               hash = (SELECT hash FROM t WHERE seq = 15), body = (SELECT body FROM t WHERE seq = 15) WHERE seq = 14;\
             UPDATE records SET time = (SELECT time FROM t WHERE seq = 14), prev_hash = (SELECT prev_hash FROM t WHERE seq = 14),\
               hash = (SELECT hash FROM t WHERE seq = 14), body = (SELECT body FROM t WHERE seq = 14) WHERE seq = 15;"
                .into(),
            "record 14",
        ),
        ("truncated", format!("DELETE FROM records WHERE seq > {};", n - 3), "truncated"),
    ];
    let base = server.dir.path().join("copies");
    for (name, sql, expect) in cases {
        let copy: PathBuf = base.join(name);
        copy_dir(&server.data_dir(), &copy);
        assert_eq!(
            verify(&copy).status.code(),
            Some(0),
            "{name}: the copy should verify before tampering"
        );
        sqlite(&copy.join("ledger.db"), &sql);
        let out = verify(&copy);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name} not caught");
        assert!(err.contains(expect), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn kill_9_loses_no_acknowledged_upload_record() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), pseudo_random(2, 100_000)).unwrap();
    let mut acknowledged = Vec::new();
    for i in 0..12 {
        let (code, _, _) = alice.sftp(&format!("put f up{i}\n"));
        if code == 0 {
            acknowledged.push(format!("/up{i}"));
        }
        if i == 8 {
            server.crash();
            break;
        }
    }
    assert_eq!(acknowledged.len(), 9);
    // The restart appends what the crash left in the catalog's outbox.
    server.restart_after_crash();
    let data = server.data_dir();
    let out = verify(&data);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = export(&data, &["--user", "alice"]);
    for path in acknowledged {
        let needle = format!(r#""op":"close_write","path":"{path}","bytes":100000"#);
        let found = all
            .iter()
            .filter(|l| l.contains(&needle) && l.contains(r#""outcome":"ok""#))
            .count();
        assert_eq!(found, 1, "records of {path}");
    }
    alice.sftp_ok("ls\n");
}

/// A file's first complete download starts its after-download retention: that close commits
/// the mark with its record (durable before the reply, so a kill -9 right after cannot lose
/// it). Later downloads' closes change nothing and are recorded like reads (not awaited, but
/// every one arrives).
#[test]
fn a_first_complete_download_is_durable_and_later_ones_are_recorded() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), pseudo_random(3, 50_000)).unwrap();
    alice.sftp_ok(
        "put f statement.bin
",
    );
    alice.sftp_ok(
        "get statement.bin first
",
    );
    server.crash();
    server.restart_after_crash();
    let data = server.data_dir();
    let marked = support::sqlite_query(
        &data.join("catalog.db"),
        "SELECT count(*) FROM nodes WHERE kind = 'file' AND first_download_at IS NOT NULL",
    );
    assert_eq!(marked.trim(), "1");
    let closes = |all: &[String]| {
        all.iter()
            .filter(|l| {
                l.contains(
                    r#""op":"close_read","path":"/statement.bin","bytes":50000,"whole_file":true"#,
                ) && l.contains(r#""outcome":"ok""#)
            })
            .count()
    };
    assert_eq!(closes(&export(&data, &["--user", "alice"])), 1);

    alice.sftp_ok(
        "get statement.bin second
get statement.bin third
",
    );
    server.stop();
    assert_eq!(closes(&export(&data, &["--user", "alice"])), 3);
    assert_eq!(
        std::fs::read(alice.work().join("third")).unwrap(),
        pseudo_random(3, 50_000)
    );
}

/// Holds the write lock of the SQLite database `db` (as a stalled disk or a long admin
/// transaction would) until dropped.
struct WriteLock(std::process::Child);

impl WriteLock {
    fn take(db: &Path) -> Self {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None); \
                 c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()",
            ])
            .arg(db)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
        Self(child)
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

#[test]
fn a_change_commits_with_its_record_and_a_crash_cannot_separate_them() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let forwarded = dir.path().join("events.jsonl");
    let mut server = Server::start_with_config(&format!(
        "[forward]\njsonl_file = \"{}\"\n",
        forwarded.display()
    ));
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), b"statement").unwrap();
    alice.sftp_ok("put f f\n");
    let data = server.data_dir();
    let sessions = || {
        export(&data, &["--user", "alice"])
            .iter()
            .filter(|l| l.contains(r#""kind":"session","opened":true"#))
            .count()
    };
    // A second session, logged in (its login's record is durable) and waiting for commands.
    let mut sftp = alice.sftp_command("alice").spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sessions() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the session did not open"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The ledger file stalls: nothing can be appended to it.
    let lock = WriteLock::take(&data.join("ledger.db"));
    let started = std::time::Instant::now();
    let mut stdin = sftp.stdin.take().unwrap();
    stdin.write_all(b"rm f\n").unwrap();
    drop(stdin);
    let out = sftp.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The removal's record was committed with it in the catalog, so its reply did not wait
    // for the ledger file (whose writer waits up to 10 s for the lock).
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let catalog = data.join("catalog.db");
    let outbox = || support::sqlite_query(&catalog, "SELECT kind, account FROM ledger_outbox");
    // The removal's, and the upload's (appended to the ledger, not yet cleared from here).
    assert!(outbox().contains("file|alice\n"));
    server.crash();
    drop(lock);
    let count = |op: &str| {
        let needle = format!(r#""op":"{op}","path":"/f""#);
        export(&data, &["--user", "alice"])
            .iter()
            .filter(|l| l.contains(&needle) && l.contains(r#""outcome":"ok""#))
            .count()
    };
    assert_eq!((count("close_write"), count("remove")), (1, 0));

    let removal = r#""op":"remove","path":"/f""#;
    let forwarded_removals = || {
        std::fs::read_to_string(&forwarded)
            .unwrap_or_default()
            .matches(removal)
            .count()
    };
    assert_eq!(forwarded_removals(), 0);

    // The restart appends the removal's record, and only what was missing, and forwards it;
    // the outbox is emptied and the chain verifies.
    server.restart_after_crash();
    assert_eq!((count("close_write"), count("remove")), (1, 1));
    assert_eq!(outbox(), "");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while forwarded_removals() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the recovered record was not forwarded"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(forwarded_removals(), 1);
    let out = verify(&data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = alice.sftp_ok("ls -1\n");
    assert!(!listing.lines().any(|l| l.trim() == "f"), "{listing}");
}

#[test]
fn records_are_forwarded_to_syslog_and_a_jsonl_file() {
    use std::io::Read;
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let server = Server::start_with_config(&format!(
        "[limits]\nauth_rejection_ms = 100\n[forward]\nsyslog_tcp = \"{}\"\nsyslog_udp = \"{}\"\njsonl_file = \"{}\"\n",
        tcp.local_addr().unwrap(),
        udp.local_addr().unwrap(),
        file.display()
    ));
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir forwarded\n");

    // TCP: octet-counted RFC 5424 messages.
    let (mut conn, _) = tcp.accept().unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 8192];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !got.contains(r#""op":"mkdir""#) {
        assert!(
            std::time::Instant::now() < deadline,
            "no mkdir record over tcp: {got}"
        );
        let n = conn.read(&mut buf).unwrap();
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let first = got.split_once(' ').unwrap();
    let len: usize = first.0.parse().unwrap();
    assert!(first.1.starts_with("<110>1 "), "{got}");
    assert!(first.1.len() >= len);
    assert!(got.contains(" strongroom ") && got.contains("[strongroom@32473 seq=\""));
    // UDP: one message per datagram.
    let mut seen_auth = false;
    for _ in 0..50 {
        let Ok(n) = udp.recv(&mut buf) else { break };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(msg.starts_with("<110>1 "), "{msg}");
        if msg.contains(r#""kind":"auth""#) {
            seen_auth = true;
            break;
        }
    }
    assert!(seen_auth, "no auth record over udp");
    // The JSON lines file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains(r#""op":"mkdir","path":"/forwarded""#) {
            assert!(text.lines().all(|l| l.starts_with("{\"seq\":")));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mkdir record in the file"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// An open for write's record is committed with the upload (in the same catalog transaction as
/// its close's, one flush), before the close's reply; an upload that is never closed still has
/// its open recorded (group-committed: it changed nothing).
#[test]
fn an_open_for_write_is_recorded_with_its_commit_or_its_discard() {
    use sftp_proto::{OpenFlags, RequestOp};
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = support::raw::Raw::connect(&alice);
    let h = raw.open(1, "/kept.csv", OpenFlags::WRITE | OpenFlags::CREAT);
    raw.write(2, &h, 0, b"a,b\n");
    raw.call(3, RequestOp::Close { handle: h });
    let h = raw.open(4, "/dropped.csv", OpenFlags::WRITE | OpenFlags::CREAT);
    raw.write(5, &h, 0, b"c,d\n");
    // Acknowledged, then a crash: the kept upload's open and close are both in the ledger.
    server.restart_after_crash();
    drop(raw);
    let data = server.data_dir();
    let all = export(&data, &[]);
    let position = |needle: &str| all.iter().position(|l| l.contains(needle));
    let open = position(r#""op":"open_write","path":"/kept.csv""#).expect("open_write lost");
    let close = position(r#""op":"close_write","path":"/kept.csv""#).expect("close_write lost");
    assert!(open < close, "the open is recorded after the close");
    // The dropped upload: its connection ended with the crash, so its open was never recorded
    // durably; a new one, dropped by a disconnect, is recorded when it is discarded.
    let mut raw = support::raw::Raw::connect(&alice);
    let h = raw.open(1, "/gone.csv", OpenFlags::WRITE | OpenFlags::CREAT);
    raw.write(2, &h, 0, b"e,f\n");
    drop(raw);
    std::thread::sleep(std::time::Duration::from_millis(500));
    server.stop();
    let all = export(&data, &[]);
    assert!(
        all.iter()
            .any(|l| l.contains(r#""op":"open_write","path":"/gone.csv""#)),
        "the discarded upload's open is not recorded"
    );
    assert!(
        !all.iter()
            .any(|l| l.contains(r#""op":"close_write","path":"/gone.csv""#))
    );
}
