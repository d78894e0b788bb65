//! The audit ledger end to end: what the real client's sessions leave in it, export filters,
//! tampering made directly in the ledger file (with Python's sqlite3), and kill -9.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use events::{EventKind, Exported, FileOp, Outcome};
use support::{Server, admin_in, pseudo_random, sqlite, wait_until};

fn export_lines(data: &Path, args: &[&str]) -> Vec<String> {
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

/// The export, read back into the typed events (every line must read).
fn export(data: &Path, args: &[&str]) -> Vec<Exported> {
    export_lines(data, args)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// A file record's operation, path and outcome.
fn file(r: &Exported) -> Option<(&FileOp, &str, &Outcome)> {
    match &r.event.kind {
        EventKind::File {
            op, path, outcome, ..
        } => Some((op, path.as_str(), outcome)),
        _ => None,
    }
}

/// How many records of `op` on `path` that succeeded `all` holds.
fn count_ok(all: &[Exported], op: &FileOp, path: &str) -> usize {
    all.iter()
        .filter(|r| file(r) == Some((op, path, &Outcome::Ok)))
        .count()
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

/// `rounds` times: `client` connects, `act` (given the round) makes requests over it, and the
/// server is killed (-9) the moment `act` returns, before anything else is said, then started
/// again.
fn kill_after_each(
    server: &mut Server,
    client: &support::Client,
    rounds: usize,
    act: impl Fn(usize, &mut support::raw::Raw),
) {
    for round in 0..rounds {
        let mut raw = support::raw::Raw::connect(client);
        act(round, &mut raw);
        server.crash();
        drop(raw);
        server.start_again();
    }
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
    // A login attempt under a user name a spreadsheet would run as a formula.
    let out = Command::new("ssh")
        .args(bob.ssh_options())
        .args([
            "-p",
            &bob.port.to_string(),
            "-l",
            "=1+1",
            "127.0.0.1",
            "true",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
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
        mine.iter()
            .all(|r| r.event.account.as_deref() == Some("alice")),
        "{mine:?}"
    );
    for (op, path) in [
        (FileOp::OpenWrite, "/statement.bin"),
        (
            FileOp::CloseWrite {
                bytes: 3_000_000,
                replaced: None,
            },
            "/statement.bin",
        ),
        (
            FileOp::CloseRead {
                bytes: 3_000_000,
                whole_file: true,
                ranges: None,
            },
            "/statement.bin",
        ),
        (
            FileOp::Rename {
                to: Some("/out/s.bin".into()),
                replaced: None,
                moved: None,
            },
            "/statement.bin",
        ),
        (FileOp::Mkdir, "/out"),
    ] {
        assert_eq!(
            count_ok(&mine, &op, path),
            1,
            "{op:?} {path} in alice's records"
        );
    }
    for kind in ["auth", "session"] {
        assert!(
            mine.iter().any(|r| r.event.kind_name() == kind),
            "no {kind}"
        );
    }
    assert!(mine.iter().any(|r| matches!(
        r.event.kind,
        EventKind::Session {
            opened: true,
            methods: Some(_),
            ..
        }
    )));
    assert!(mine.iter().any(|r| matches!(
        file(r),
        Some((FileOp::Readdir { entries: Some(1) }, _, Outcome::Ok))
    )));
    // The file keeps its id through the rename; the records name it with its size.
    let ids: std::collections::BTreeSet<_> = mine
        .iter()
        .filter_map(|r| match &r.event.kind {
            EventKind::File {
                op:
                    FileOp::OpenWrite
                    | FileOp::CloseWrite { .. }
                    | FileOp::CloseRead { .. }
                    | FileOp::Rename { .. },
                file: Some(f),
                ..
            } => Some((f.id, f.size)),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(
        ids.iter()
            .map(|(id, _)| *id)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        1,
        "one file id across open, close, download and rename: {ids:?}"
    );
    // Every record names the node and a session id (a UUID), and a millisecond time.
    assert!(
        all.iter()
            .all(|r| r.event.node.is_some() && r.event.v == events::SCHEMA_VERSION)
    );
    // Upload and download are told apart; per-READ records are not kept.
    assert!(
        !all.iter()
            .any(|r| matches!(file(r), Some((FileOp::Read, _, _))))
    );
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
        !from2.is_empty()
            && from2.iter().all(|r| r
                .event
                .source
                .is_some_and(|s| s.ip().to_string() == "127.0.0.2")),
        "{from2:?}"
    );
    let bobs = export(&data, &["--user", "bob"]);
    assert!(bobs.len() > from2.len());
    let no_such_file = |r: &Exported, want: &FileOp, at: &str| matches!(file(r), Some((op, path, Outcome::Failed { code: events::FailureCode::NoSuchFile, .. })) if op == want && path == at);
    assert!(bobs.iter().any(|r| no_such_file(r, &FileOp::Stat, "/nope")));
    // A failed change is recorded too (group-committed: it changed nothing).
    let rename = FileOp::Rename {
        to: Some("/elsewhere".into()),
        replaced: None,
        moved: None,
    };
    assert!(
        bobs.iter().any(|r| no_such_file(r, &rename, "/nope")),
        "{bobs:?}"
    );
    // By tenant and time window.
    assert_eq!(
        export(&data, &["--tenant", "globex"])
            .iter()
            .filter(|r| r.event.account.as_deref() == Some("alice"))
            .count(),
        0
    );
    assert!(export(&data, &["--until", "2000-01-01T00:00:00Z"]).is_empty());
    assert_eq!(
        export(&data, &["--since", "2000-01-01T00:00:00Z"]).len(),
        all.len()
    );
    // Admin commands are records too.
    assert!(all.iter().any(|r| matches!(
        &r.event.kind,
        EventKind::Admin { command, .. } if command == "tenant add acme"
    )));
    // Times are RFC 3339 with milliseconds.
    let line = &export_lines(&data, &[])[0];
    let time = line.split(r#""time":""#).nth(1).unwrap();
    assert_eq!(time.find('"'), Some(24), "{line}");
    assert!(
        time[..24].ends_with('Z') && time.as_bytes()[19] == b'.',
        "{line}"
    );
    // CSV has a header and one row per record, in real columns.
    let csv = export_lines(&data, &["--format", "csv"]);
    assert!(csv[0].starts_with("seq,hash,time,node,session,source,account,tenant,client_version,kind,op,path,to,file_id,size,bytes,whole_file"), "{}", csv[0]);
    assert_eq!(csv.len(), all.len() + 1);
    let close_read = csv
        .iter()
        .find(|l| l.contains(",close_read,/statement.bin,"))
        .expect("the download's row");
    let cells: Vec<&str> = close_read.split(',').collect();
    assert_eq!(cells[9], "file");
    assert_eq!(cells[6], "alice");
    assert_eq!(
        &cells[14..17],
        ["3000000", "3000000", "true"],
        "{close_read}"
    );
    assert_eq!(cells[18], "ok", "{close_read}");
    // The attacker's user name is a cell a spreadsheet shows, not a formula it runs; the JSON
    // export keeps it as it was.
    let attempt = csv
        .iter()
        .find(|l| l.contains(",'=1+1,"))
        .unwrap_or_else(|| panic!("no row with the neutralised name: {csv:#?}"));
    assert!(attempt.contains(",auth,"), "{attempt}");
    assert!(!csv.iter().any(|l| l.contains(",=1+1,")));
    assert!(
        all.iter()
            .any(|r| r.event.account.as_deref() == Some("=1+1"))
    );
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
    // What it prints is what the signature covers: someone off the host checks it with the
    // public key alone.
    let field = |name: &str| -> String {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} {head}"))
            .trim()
            .to_owned()
    };
    let hash32 = |name: &str| -> [u8; 32] { hex::decode(field(name)).unwrap().try_into().unwrap() };
    let printed = ledger::Checkpoint {
        seq: n,
        hash: hash32("hash:"),
        time: humantime::parse_rfc3339(&field("time:"))
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
        signature: hex::decode(field("signature:")).unwrap(),
        interval: Some(ledger::Interval {
            after: field("after:").parse().unwrap(),
            root: hash32("root:"),
            accounts: Some(hash32("accounts:")),
        }),
    };
    let public_key = hex::decode(field("public key:").split_whitespace().next().unwrap()).unwrap();
    assert!(printed.verify_signature(&public_key), "{head}");
    let mut changed = printed.clone();
    changed.interval.as_mut().unwrap().accounts = Some([0; 32]);
    assert!(!changed.verify_signature(&public_key));

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
        let upload = FileOp::CloseWrite {
            bytes: 100_000,
            replaced: None,
        };
        let found = count_ok(&all, &upload, &path);
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
    let closes = |all: &[Exported]| {
        let op = FileOp::CloseRead {
            bytes: 50_000,
            whole_file: true,
            ranges: None,
        };
        count_ok(all, &op, "/statement.bin")
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

/// An open for read grants access to the file's contents: its record is durable before the
/// handle is given, so a server killed right after a READ's reply (the bytes gone, no close,
/// no progress record yet) still has the open in its ledger, and the incident report lists the
/// file as read by that session.
#[test]
fn an_open_for_read_is_durable_before_its_handle_is_given() {
    use sftp_proto::{OpenFlags, RequestOp};
    const FILES: usize = 5;
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let uploader = server.account("acme", "loader", "full");
    let mut batch = String::new();
    for i in 0..FILES {
        std::fs::write(
            uploader.work().join(format!("s{i}")),
            pseudo_random(i as u64, 20_000),
        )
        .unwrap();
        batch.push_str(&format!("put s{i} statement{i}.csv\n"));
    }
    uploader.sftp_ok(&batch);
    // Each time the first 4 KiB of a file leave, and the server dies.
    kill_after_each(&mut server, &alice, FILES, |i, raw| {
        let h = raw.open(1, &format!("/statement{i}.csv"), OpenFlags::READ);
        let r = raw.call(
            2,
            RequestOp::Read {
                handle: h,
                offset: 0,
                len: 4096,
            },
        );
        assert_eq!(&r.body[4..], &pseudo_random(i as u64, 20_000)[..4096]);
    });
    let data = server.data_dir();
    let all = export(&data, &["--user", "alice"]);
    for i in 0..FILES {
        let path = format!("/statement{i}.csv");
        assert_eq!(count_ok(&all, &FileOp::OpenRead, &path), 1, "{path}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&server.ok(&["incident", "report", "--user", "alice"])).unwrap();
    // Each listed as read, its extent unfinished (no close or progress was recorded: the
    // bytes recorded, none, are not what left), and counted so in the totals.
    let read: Vec<(&str, &str)> = report["tenants"][0]["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path_then"].as_str().unwrap(),
                f["read"].as_str().unwrap(),
            )
        })
        .collect();
    let paths: Vec<String> = (0..FILES).map(|i| format!("/statement{i}.csv")).collect();
    let want: Vec<(&str, &str)> = paths.iter().map(|p| (p.as_str(), "unfinished")).collect();
    assert_eq!(read, want, "{report:#}");
    assert_eq!(report["totals"]["files_unfinished"], FILES);
    assert_eq!(report["totals"]["files_partial"], 0);
    // Each session: opened (by its login's record, durable before it was accepted), no end
    // recorded, and cut off by its server's stop (the server started again after it).
    let sessions = report["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), FILES);
    for s in sessions {
        assert!(s["opened"].is_string() && s["closed"].is_null(), "{s:#}");
        assert_eq!(s["methods"], "publickey", "{s:#}");
        let why = s["ended_by"].as_str().unwrap_or_default();
        assert!(
            why.starts_with("cut off: its server stopped without recording its end"),
            "{s:#}"
        );
    }
    // The server's runs: each start after a kill says the run before it recorded no stop; a
    // clean stop (SIGTERM, and SIGHUP: its terminal closed) is recorded, and the start after it
    // says nothing of the kind.
    server.stop();
    server.start_again();
    assert_eq!(server.stop_by("HUP"), Some(0));
    let runs: Vec<String> = export(&data, &["--kind", "admin"])
        .into_iter()
        .filter_map(|r| match r.event.kind {
            EventKind::Admin {
                command, outcome, ..
            } if command == "serve" => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 1 + FILES + 3, "{runs:#?}");
    assert_eq!(runs[0], "started");
    for i in 0..FILES {
        assert!(runs[1 + i].contains("recorded no stop"), "{runs:#?}");
    }
    assert_eq!(
        runs[FILES + 1..],
        ["stopped", "started", "stopped"],
        "{runs:#?}"
    );
    server.assert_ledger_verifies();
}

/// "Read whole" means every byte was sent, not as many bytes as the file holds: a download
/// that read its first half twice is recorded as partial, with the part it covered, and does
/// not start the file's after-download retention (which would delete a file nobody had). The
/// parts a connection's handles covered join up: halves through two handles are the whole, for
/// the incident commands and for retention (the client received every byte), one half alone is
/// not. A handle that reads both halves, out of order, is a whole download.
#[test]
fn a_half_read_twice_is_not_a_whole_download() {
    use sftp_proto::{OpenFlags, RequestOp};
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), pseudo_random(5, 50_000)).unwrap();
    alice.sftp_ok("put f statement.bin\n");
    let download = |raw: &mut support::raw::Raw, halves: &[u64]| {
        let h = raw.open(1, "/statement.bin", OpenFlags::READ);
        for &at in halves {
            let r = raw.call(
                2,
                RequestOp::Read {
                    handle: h.clone(),
                    offset: at,
                    len: 25_000,
                },
            );
            assert_eq!(r.kind, sftp_proto::message::kind::DATA);
        }
        raw.call(3, RequestOp::Close { handle: h });
    };
    let data = server.data_dir();
    let marked = || {
        support::sqlite_query(
            &data.join("catalog.db"),
            "SELECT count(*) FROM nodes WHERE kind = 'file' AND first_download_at IS NOT NULL",
        )
        .trim()
        .to_owned()
    };
    // One session reads the first half twice; another each half through its own handle: its
    // first half alone is no download, both are.
    let mut twice = support::raw::Raw::connect(&alice);
    download(&mut twice, &[0, 0]);
    let mut halves = support::raw::Raw::connect(&alice);
    download(&mut halves, &[0]);
    assert_eq!(marked(), "0");
    download(&mut halves, &[25_000]);
    assert_eq!(marked(), "1");
    let readers: Vec<(u64, String)> = server
        .ok(&[
            "incident",
            "file",
            "acme",
            "/statement.bin",
            "--format",
            "jsonl",
        ])
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["bytes_read"].as_u64().unwrap(),
                v["read"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut readers = readers;
    readers.sort();
    assert_eq!(
        readers,
        [(50_000, "partial".to_owned()), (50_000, "whole".to_owned())]
    );
    download(&mut halves, &[25_000, 0]);
    drop((twice, halves));
    // Each close: bytes sent, whole, the parts covered.
    type Close = (u64, bool, Option<Vec<(u64, u64)>>);
    let closes = || -> Vec<Close> {
        export(&data, &["--user", "alice"])
            .iter()
            .filter_map(|r| match file(r) {
                Some((
                    FileOp::CloseRead {
                        bytes,
                        whole_file,
                        ranges,
                    },
                    "/statement.bin",
                    Outcome::Ok,
                )) => Some((*bytes, *whole_file, ranges.clone())),
                _ => None,
            })
            .collect()
    };
    // The last close is recorded within moments (it changed nothing: no durable commit).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while closes().len() < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let closes = closes();
    assert_eq!(
        closes,
        [
            (50_000, false, Some(vec![(0, 25_000)])),
            (25_000, false, Some(vec![(0, 25_000)])),
            (25_000, false, Some(vec![(25_000, 50_000)])),
            (50_000, true, None),
        ]
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

/// A page of a listing sends file names (customers' names can be in them): its record is
/// durable before the page is sent, so a server killed right after it still shows the listing,
/// and the incident report the directory listed and the names sent.
#[test]
fn a_listing_is_durable_before_its_names_are_sent() {
    use sftp_proto::RequestOp;
    const ROUNDS: usize = 3;
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let uploader = server.account("acme", "loader", "full");
    std::fs::write(uploader.work().join("s"), b"statement").unwrap();
    uploader.sftp_ok(
        "mkdir /statements\nput s /statements/j_smith.pdf\nput s /statements/a_jones.pdf\n",
    );
    // Each time a page of names leaves, and the server dies.
    kill_after_each(&mut server, &alice, ROUNDS, |_, raw| {
        let h = raw
            .call(
                1,
                RequestOp::Opendir {
                    path: bytes::Bytes::from_static(b"/statements"),
                },
            )
            .handle();
        let page = raw.call(2, RequestOp::Readdir { handle: h });
        assert_eq!(page.kind, sftp_proto::message::kind::NAME);
    });
    let data = server.data_dir();
    let listings: Vec<Option<u64>> = export(&data, &["--user", "alice"])
        .iter()
        .filter_map(|r| match file(r) {
            Some((FileOp::Readdir { entries }, "/statements", Outcome::Ok)) => Some(*entries),
            _ => None,
        })
        .collect();
    assert_eq!(listings, vec![Some(2); ROUNDS]);
    let report: serde_json::Value =
        serde_json::from_str(&server.ok(&["incident", "report", "--user", "alice"])).unwrap();
    let listed = &report["tenants"][0]["directories_listed"][0];
    assert_eq!(listed["path_then"], "/statements", "{report:#}");
    assert_eq!(listed["names_sent"], 2 * ROUNDS, "{report:#}");
    server.stop();
    server.assert_ledger_verifies();
}

/// A ledger commit that fails (its file locked past the busy timeout) fails what waited for
/// it, and keeps what nobody waited for: a stranger's logins refused during the outage reach
/// the ledger once it is back.
#[test]
fn records_nobody_waited_for_outlive_a_failed_commit() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("ls\n");
    let data = server.data_dir();
    let refused = || {
        export(&data, &["--user", "alice"])
            .iter()
            .filter(|r| {
                matches!(
                    r.event.kind,
                    EventKind::Auth {
                        result: events::AuthResult::Refused,
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(refused(), 0);
    let lock = WriteLock::take(&data.join("ledger.db"));
    // A key nobody registered, for alice: refused (its records are queued, not awaited).
    let stranger = support::Client::new(server.port, "alice");
    let (code, _, _) = stranger.sftp("ls\n");
    assert_ne!(code, 0);
    // The writer waits for the lock (10 s, its busy timeout), then its commit fails.
    wait_until("no commit failed", 30, 200, || {
        server.log().contains("audit ledger write failed")
    });
    drop(lock);
    wait_until(
        "the refused login's records were lost with the failed commit",
        10,
        100,
        || refused() > 0,
    );
    alice.sftp_ok("ls\n");
    server.assert_ledger_verifies();
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
            .filter(|r| matches!(r.event.kind, EventKind::Session { opened: true, .. }))
            .count()
    };
    // A second session, logged in (its login's record is durable) and waiting for commands.
    let mut sftp = alice.sftp_command("alice").spawn().unwrap();
    wait_until("the session did not open", 20, 50, || sessions() >= 2);
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
        export(&data, &["--user", "alice"])
            .iter()
            .filter(|r| matches!(file(r), Some((o, "/f", Outcome::Ok)) if o.name() == op))
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
    wait_until("the recovered record was not forwarded", 10, 50, || {
        forwarded_removals() > 0
    });
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

/// A SIEM that is down misses no record: with its syslog (TCP) receiver down, more records than
/// its queue holds, the server restarted meanwhile, and administrators' commands (which write
/// the ledger themselves): once it is up, it is sent every record from the first, in order,
/// none twice (those the queue did not hold read back from the ledger).
#[test]
fn a_siem_that_is_down_misses_no_record() {
    use std::io::Read;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Server::start_with_config(&format!(
        "[limits]\nauth_rejection_ms = 100\n[forward]\nsyslog_tcp = \"127.0.0.1:{port}\"\nbuffer = 4\n"
    ));
    let alice = server.account("acme", "alice", "full");
    for i in 0..4 {
        alice.sftp_ok(&format!("mkdir before{i}\n"));
    }
    server.restart();
    server.ok(&["user", "lock", "alice", "--reason", "a test"]);
    server.ok(&["user", "unlock", "alice", "--reason", "a test"]);
    alice.sftp_ok("mkdir after\n");
    let last = server.ok(&["audit", "head"]);
    // `audit forwarding` says how far behind the destination is: nothing sent yet.
    let destination = format!("syslog-tcp 127.0.0.1:{port}");
    let behind = || -> (u64, u64) {
        let out = server.ok(&["audit", "forwarding", "--format", "jsonl"]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["destination"], destination.as_str(), "{out}");
        (
            v["last_sent"].as_u64().unwrap(),
            v["behind"].as_u64().unwrap(),
        )
    };
    let (sent, waiting) = behind();
    assert!(sent == 0 && waiting >= 30, "{sent} {waiting}");
    let table = server.ok(&["audit", "forwarding"]);
    assert!(
        table.contains(&destination) && table.contains("behind"),
        "{table}"
    );
    let tcp = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (mut conn, _) = tcp.accept().unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 65536];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !got.contains(r#""op":"mkdir","path":"/after""#) {
        assert!(std::time::Instant::now() < deadline, "{got}");
        let n = conn.read(&mut buf).unwrap();
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let seqs: Vec<u64> = (got.split("[strongroom@32473 seq=\"").skip(1))
        .map(|m| m.split('"').next().unwrap().parse().unwrap())
        .collect();
    let contiguous: Vec<u64> = (1..=*seqs.last().unwrap()).collect();
    assert_eq!(seqs, contiguous, "{last}");
    for i in 0..4 {
        let mkdir = format!(r#""op":"mkdir","path":"/before{i}""#);
        assert_eq!(got.matches(&mkdir).count(), 1, "{mkdir}");
    }
    for command in [
        r#""command":"user lock alice"#,
        r#""command":"user unlock alice"#,
    ] {
        assert!(got.contains(command), "{command}: {got}");
    }
    // An administrator's command on an idle server (which writes nothing after it): its records
    // are sent all the same, within seconds.
    server.ok(&["tenant", "add", "quiet"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    conn.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let done = |got: &str| {
        got.split("<110>1 ").any(|m| {
            m.contains(r#""command":"tenant add quiet""#) && m.contains(r#""outcome":"ok""#)
        })
    };
    while !done(&got) {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle server's admin records never came"
        );
        if let Ok(n) = conn.read(&mut buf) {
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    // All sent: nothing behind (the cursor is kept every second).
    support::wait_until("the destination caught up", 10, 200, || behind().1 == 0);
}

/// A SIEM that drops its connection with records unread (each had been written, and counted
/// as sent) is sent them again on its next connection: every record reaches it, some twice
/// (a receiver knows a record by its `seq`).
#[test]
fn records_a_siem_left_unread_are_written_again_on_its_next_connection() {
    use std::io::Read;
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let server = Server::start_with_config(&format!(
        "[limits]\nauth_rejection_ms = 100\n[forward]\nsyslog_tcp = \"127.0.0.1:{port}\"\n"
    ));
    let behind = || -> u64 {
        let out = server.ok(&["audit", "forwarding", "--format", "jsonl"]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        v["behind"].as_u64().unwrap()
    };
    // What a connection gave until `until` was in it.
    let read_until = |conn: &mut std::net::TcpStream, until: &str| -> String {
        conn.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let mut got = String::new();
        let mut buf = [0u8; 65536];
        while !got.contains(until) {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0, "the connection ended before {until}: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        got
    };
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir read\n");
    let (mut first, _) = tcp.accept().unwrap();
    let mut got = read_until(&mut first, r#""op":"mkdir","path":"/read""#);
    // Records the SIEM does not read: written to its connection, the server counts them sent.
    for i in 0..5 {
        alice.sftp_ok(&format!("mkdir unread{i}\n"));
    }
    wait_until("the records were not handed over", 10, 100, || {
        behind() == 0
    });
    // The SIEM drops the connection with them unread (closed so: reset).
    drop(first);
    alice.sftp_ok("mkdir after\n");
    let (mut second, _) = tcp.accept().unwrap();
    let again = read_until(&mut second, r#""op":"mkdir","path":"/after""#);
    for i in 0..5 {
        let mkdir = format!(r#""op":"mkdir","path":"/unread{i}""#);
        assert!(again.contains(&mkdir), "{mkdir} not written again: {again}");
    }
    got.push_str(&again);
    let seqs: std::collections::BTreeSet<u64> = (got.split("[strongroom@32473 seq=\"").skip(1))
        .map(|m| m.split('"').next().unwrap().parse().unwrap())
        .collect();
    let every: std::collections::BTreeSet<u64> = (1..=*seqs.last().unwrap()).collect();
    assert_eq!(seqs, every);
}

/// A ledger behind where forwarding had reached (a ledger begun anew, or an older copy
/// accepted; here the destination's cursor set ahead of it) does not silence the destination:
/// it goes on from the ledger's head, and the next records reach it.
#[test]
fn forwarding_goes_on_from_a_ledger_behind_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut server = Server::start_with_config(&format!(
        "[limits]\nauth_rejection_ms = 100\n[forward]\njsonl_file = \"{}\"\n",
        file.display()
    ));
    let alice = server.account("acme", "alice", "full");
    server.stop();
    support::sqlite(
        &server.data_dir().join("catalog.db"),
        "UPDATE forward_cursors SET seq = 1000000",
    );
    server.start_again();
    alice.sftp_ok("mkdir after\n");
    support::wait_until("the mkdir record in the file", 10, 100, || {
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .contains(r#""op":"mkdir","path":"/after""#)
    });
    assert!(
        server
            .log()
            .contains("the ledger is behind where forwarding had reached")
    );
    // The destination taken out of the configuration: forgotten at the next start, not shown
    // falling ever further behind.
    assert!(server.ok(&["audit", "forwarding"]).contains("jsonl-file "));
    server.stop();
    let config = server.data_dir().join("strongroom.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let without = text.replace(&format!("jsonl_file = \"{}\"\n", file.display()), "");
    assert_ne!(without, text);
    std::fs::write(&config, without).unwrap();
    server.start_again();
    let table = server.ok(&["audit", "forwarding"]);
    assert!(
        table.starts_with("no destination has been forwarded to"),
        "{table}"
    );
}

/// Records reach a SIEM over TLS (RFC 5425) only where each side's certificate holds: the
/// SIEM's certificate from an authority the server does not trust, or no client certificate
/// where the SIEM asks for one, and nothing is sent, nor lost (all of it sent, from the first
/// record, once both hold). Syslog in clear to another host, and a client key others may read,
/// refuse the server's start.
#[test]
fn records_reach_a_siem_over_tls_and_only_a_siem_it_trusts() {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::mpsc::RecvTimeoutError;
    let certs = tempfile::tempdir().unwrap();
    let d = certs.path();
    for ca in ["siem-ca", "client-ca", "rogue-ca"] {
        support::authority(d, ca);
    }
    support::certificate(
        d,
        "siem-ca",
        "siem",
        "localhost",
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    support::certificate(
        d,
        "client-ca",
        "client",
        "strongroom-node-1",
        "extendedKeyUsage=clientAuth\n",
    );
    let path = |f: &str| d.join(f).display().to_string();
    let (_siem, lines) = support::receiver(
        "syslog_tls_receiver.py",
        &[
            &path("siem.pem"),
            &path("siem.key"),
            &path("client-ca.pem"),
            "40",
        ],
    );
    let port: u16 = lines
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap()
        .parse()
        .unwrap();
    // What the SIEM printed until a line `ends` (within `secs`).
    let read_until = |ends: &dyn Fn(&str) -> bool, secs: u64| -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    let done = ends(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("the SIEM printed only {seen:?}"),
                Err(e) => panic!("{e}"),
            }
        }
    };
    let forward = |ca: &str, client: bool| {
        let mut f = format!(
            "[limits]\nauth_rejection_ms = 100\n[forward]\nsyslog_tls = \"localhost:{port}\"\n\
             syslog_tls_ca_file = \"{}\"\n",
            path(ca)
        );
        if client {
            f += &format!(
                "syslog_tls_client_cert = \"{}\"\nsyslog_tls_client_key = \"{}\"\n",
                path("client.pem"),
                path("client.key")
            );
        }
        f
    };
    let destination = format!("syslog-tls localhost:{port}");
    let mut server = Server::start_with_config(&forward("rogue-ca.pem", true));
    let config_file = server.data_dir().join("strongroom.toml");
    let configure = |ca: &str, client: bool| {
        let text = std::fs::read_to_string(&config_file).unwrap();
        let (_, detect) = text.split_once("\n[detect").unwrap();
        std::fs::write(
            &config_file,
            format!("{}\n[detect{detect}", forward(ca, client)),
        )
        .unwrap();
    };
    let forwarding = |server: &Server| -> serde_json::Value {
        let out = server.ok(&["audit", "forwarding", "--format", "jsonl"]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["destination"], destination.as_str(), "{out}");
        v
    };
    let last_sent = |server: &Server| forwarding(server)["last_sent"].as_u64().unwrap();

    // The SIEM's certificate is from an authority the server does not trust: no message.
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir untrusted\n");
    let seen = read_until(&|l| l.starts_with("refused"), 20);
    assert!(!seen.iter().any(|l| l.starts_with("msg ")), "{seen:?}");
    wait_until("the server did not say why", 10, 100, || {
        server
            .log()
            .contains("invalid peer certificate: UnknownIssuer")
    });
    assert_eq!(last_sent(&server), 0);
    // `audit forwarding` says it is failing, and why.
    let v = forwarding(&server);
    assert!(v["failing_since"].is_string(), "{v}");
    assert_eq!(
        v["last_failure"], "invalid peer certificate: UnknownIssuer",
        "{v}"
    );
    let table = server.ok(&["audit", "forwarding"]);
    assert!(
        table.contains("  FAILING since ")
            && table.contains(": invalid peer certificate: UnknownIssuer"),
        "{table}"
    );

    // The SIEM asks for a client certificate and is shown none: it refuses the connection once
    // the handshake is done on the server's side (TLS 1.3), a round trip later (each byte held
    // 40 ms each way), and nothing written meanwhile is taken as sent.
    server.stop();
    configure("siem-ca.pem", false);
    server.start_again();
    alice.sftp_ok("mkdir anonymous\n");
    let seen = read_until(
        &|l| l.starts_with("refused") && l.contains("certificate"),
        20,
    );
    assert!(!seen.iter().any(|l| l.starts_with("msg ")), "{seen:?}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(last_sent(&server), 0);

    // Both certificates hold: every record from the first, in order, none twice.
    server.stop();
    configure("siem-ca.pem", true);
    server.start_again();
    alice.sftp_ok("mkdir trusted\n");
    let seen = read_until(&|l| l.contains(r#""op":"mkdir","path":"/trusted""#), 30);
    assert!(
        seen.iter().any(|l| l == "peer strongroom-node-1"),
        "{seen:?}"
    );
    let messages: Vec<&str> = (seen.iter())
        .filter_map(|l| l.strip_prefix("msg "))
        .collect();
    assert!(
        messages.iter().all(|m| m.starts_with("<110>1 ")),
        "{messages:?}"
    );
    let seqs: Vec<u64> = (messages.iter())
        .map(|m| {
            let (_, rest) = m.split_once("[strongroom@32473 seq=\"").unwrap();
            rest.split('"').next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(seqs, (1..=*seqs.last().unwrap()).collect::<Vec<u64>>());
    for dir in ["untrusted", "anonymous", "trusted"] {
        let mkdir = format!(r#""op":"mkdir","path":"/{dir}""#);
        assert_eq!(
            messages.iter().filter(|m| m.contains(&mkdir)).count(),
            1,
            "{mkdir}"
        );
    }
    wait_until("the cursor did not move", 10, 200, || {
        last_sent(&server) >= *seqs.last().unwrap()
    });
    // Working: no longer failing, the last failure kept.
    let v = forwarding(&server);
    assert!(v["failing_since"].is_null(), "{v}");
    assert!(
        v["last_failure"]
            .as_str()
            .is_some_and(|w| w.contains("CertificateRequired")),
        "{v}"
    );
    let table = server.ok(&["audit", "forwarding"]);
    assert!(
        table.contains(" (working since)") && !table.contains("FAILING"),
        "{table}"
    );

    // Syslog in clear to another host, and a client key others may read, refuse the start.
    server.stop();
    let text = std::fs::read_to_string(&config_file).unwrap();
    std::fs::write(
        &config_file,
        text.replace("[forward]\n", "[forward]\nsyslog_tcp = \"192.0.2.7:514\"\n"),
    )
    .unwrap();
    let err = server.serve_refused();
    assert!(
        err.contains(
            "forward.syslog_tcp would send the ledger's records in clear: only to a relay on \
             loopback, not 192.0.2.7:514 (use forward.syslog_tls)"
        ),
        "{err}"
    );
    std::fs::write(&config_file, &text).unwrap();
    std::fs::set_permissions(d.join("client.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = server.serve_refused();
    assert!(
        err.contains(&format!(
            "forward.syslog_tls_client_key {} is readable by others (mode 644); run: chmod 600",
            path("client.key")
        )),
        "{err}"
    );
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
    let position = |op: &str, at: &str| {
        all.iter()
            .position(|r| matches!(file(r), Some((o, path, _)) if o.name() == op && path == at))
    };
    let open = position("open_write", "/kept.csv").expect("open_write lost");
    let close = position("close_write", "/kept.csv").expect("close_write lost");
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
    let recorded = |op: &str| {
        all.iter()
            .any(|r| matches!(file(r), Some((o, "/gone.csv", _)) if o.name() == op))
    };
    assert!(
        recorded("open_write"),
        "the discarded upload's open is not recorded"
    );
    assert!(!recorded("close_write"));
}

/// Session ids are UUIDs (v7) that a restart does not repeat; every record names this node,
/// whose id the data directory keeps.
#[test]
fn session_ids_are_unique_across_a_restart_and_records_name_the_node() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("ls\n");
    server.stop();
    server.start_again();
    alice.sftp_ok("ls\n");
    server.stop();
    let data = server.data_dir();
    let all = export(&data, &["--user", "alice"]);
    let opened: Vec<String> = all
        .iter()
        .filter(|r| matches!(r.event.kind, EventKind::Session { opened: true, .. }))
        .map(|r| r.event.session.clone().expect("a session id"))
        .collect();
    assert_eq!(opened.len(), 2, "{opened:?}");
    assert_ne!(opened[0], opened[1]);
    for id in &opened {
        let b = id.as_bytes();
        assert!(
            id.len() == 36 && b[8] == b'-' && b[14] == b'7',
            "not a UUID v7: {id}"
        );
    }
    let node = std::fs::read_to_string(data.join("node-id")).unwrap();
    assert!(
        all.iter()
            .all(|r| r.event.node.as_deref() == Some(node.trim())),
        "records not stamped with {node}"
    );
}

/// The ledger's signing key gone missing (a restore that left it out) or replaced by another is
/// named, not replaced: the server refuses to start rather than sign with a new key, which
/// left every earlier checkpoint unverifiable (`audit verify`: "bad signature", as if the
/// ledger had been tampered with). Restored, it starts and the ledger verifies.
#[test]
fn a_missing_or_other_ledger_signing_key_is_named_not_replaced() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir in\n");
    server.stop();
    let key = server.data_dir().join("ledger.key");
    let aside = server.data_dir().join("..").join("ledger.key.aside");
    std::fs::rename(&key, &aside).unwrap();
    let err = server.serve_refused();
    assert!(
        err.contains("ledger signing key") && err.contains("is missing"),
        "{err}"
    );
    assert!(!key.exists(), "a new ledger signing key was made");

    let other = Server::start();
    std::fs::copy(other.data_dir().join("ledger.key"), &key).unwrap();
    let err = server.serve_refused();
    assert!(
        err.contains("is not the key of this data directory's ledger"),
        "{err}"
    );

    std::fs::rename(&aside, &key).unwrap();
    server.restart();
    alice.sftp_ok("mkdir out\n");
    server.assert_ledger_verifies();
}

/// A ledger removed with its key (or replaced by an empty one) is not begun afresh in silence:
/// the server refuses to start, naming the ledger key the data directory's ledger is signed by
/// (before, it started a new ledger that `audit verify` called intact). An administrator who
/// lost it for good says so with `audit new-ledger --reason`, which is then the new ledger's
/// record; refused while a ledger holds checkpoints.
#[test]
fn a_ledger_removed_with_its_key_is_refused_until_a_new_one_is_begun_on_the_record() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir in\n");
    let refused = server.admin(&["audit", "new-ledger", "--reason", "just because"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("it is not lost; nothing changed"), "{err}");
    server.stop();
    let data = server.data_dir();
    let public_key = server.ledger_public_key();
    for f in ["ledger.db", "ledger.db-wal", "ledger.db-shm", "ledger.key"] {
        let _ = std::fs::remove_file(data.join(f));
    }
    let err = server.serve_refused();
    assert!(
        err.contains("holds no signed checkpoint") && err.contains(&public_key),
        "{err}"
    );
    assert!(
        !data.join("ledger.key").exists(),
        "a new ledger key was made"
    );

    let empty = server.admin(&["audit", "new-ledger", "--reason", " "]);
    assert!(!empty.status.success());
    let out = server.ok(&["audit", "new-ledger", "--reason", "disk lost: INC-4711"]);
    assert!(out.contains("begins a new one"), "{out}");
    server.restart();
    alice.sftp_ok("mkdir out\n");
    server.assert_ledger_verifies();
    // The new ledger opens with the attempts, the refused one included, then the server's start.
    let shown: Vec<String> = export(&data, &[])
        .iter()
        .take(3)
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    assert!(
        shown[0].contains("audit new-ledger --reason  ") && shown[0].contains("failed"),
        "{shown:#?}"
    );
    assert!(
        shown[1].contains("audit new-ledger --reason disk lost: INC-4711")
            && shown[1].contains(r#""outcome":"ok""#),
        "{shown:#?}"
    );
    assert!(shown[2].contains(r#""command":"serve""#), "{shown:#?}");
}

/// A ledger replaced with its key by another, valid one (another server's) is caught by
/// `audit verify` as well as at start: the catalog names its ledger by its key (before, verify
/// called the other ledger intact).
#[test]
fn a_ledger_replaced_with_its_key_is_not_this_data_directorys() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir in\n");
    let mut other = Server::start();
    other.account("acme", "mallory", "full");
    server.stop();
    other.stop();
    let (data, kept) = (server.data_dir(), server.data_dir().join("..").join("kept"));
    std::fs::create_dir(&kept).unwrap();
    let files = ["ledger.db", "ledger.db-wal", "ledger.db-shm", "ledger.key"];
    for f in files {
        if data.join(f).exists() {
            std::fs::rename(data.join(f), kept.join(f)).unwrap();
        }
        if other.data_dir().join(f).exists() {
            std::fs::copy(other.data_dir().join(f), data.join(f)).unwrap();
        }
    }
    let out = server.admin(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this is not the data directory's ledger") && err.contains("replaced"),
        "{err}"
    );
    let err = server.serve_refused();
    assert!(
        err.contains("is not the key of this data directory's ledger"),
        "{err}"
    );

    for f in files {
        let _ = std::fs::remove_file(data.join(f));
        if kept.join(f).exists() {
            std::fs::rename(kept.join(f), data.join(f)).unwrap();
        }
    }
    server.restart();
    server.assert_ledger_verifies();
}

/// Records after the last signed checkpoint are covered too: a server killed (so no checkpoint
/// at its stop), its ledger put back to a copy taken after its last checkpoint, lacks the
/// records since; the catalog recorded the head the writer settled (once a second), so the
/// start and `audit verify` say so (before, both called it intact: the checkpoint it recorded
/// was in the copy).
#[test]
fn a_ledger_rolled_back_past_its_last_checkpoint_is_refused() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir in\n");
    // Its stop signs a checkpoint; the copy holds it.
    server.stop();
    let data = server.data_dir();
    let backup = data.join("..").join("backup");
    copy_ledger(&data, &backup);
    let last_of = |db: &Path, sql: &str| -> u64 {
        support::sqlite_query(db, sql).trim().parse().unwrap_or(0)
    };
    let copied = last_of(
        &backup.join("ledger.db"),
        "SELECT MAX(seq) FROM (SELECT seq FROM records UNION ALL SELECT seq FROM recent)",
    );
    server.start_again();
    alice.sftp_ok("mkdir out\n");
    let catalog = data.join("catalog.db");
    wait_until("the writer to settle past the copy", 20, 50, || {
        last_of(&catalog, "SELECT head_seq FROM ledger_identity") > copied
    });
    server.crash();
    copy_ledger(&backup, &data);
    refused_as_behind(&server, "the ledger lacks record ");
    assert!(
        String::from_utf8_lossy(&server.admin(&["audit", "verify"]).stderr).contains("rolled back")
    );
    let out = server.ok(&["audit", "accept-rollback", "--reason", "INC-4713"]);
    assert!(
        out.contains(&format!("accepted: the ledger ends at record {copied}; ")),
        "{out}"
    );
    server.start_again();
    alice.sftp_ok("mkdir again\n");
    server.assert_ledger_verifies();
}

/// An administrator's command appends its own record to the ledger (whether the server runs or
/// not): the catalog records that head too, so a copy of the ledger from before the command,
/// put back, is refused (before, only the server's records were covered); and commands run on
/// the copy, appending records of their own past the place recorded, do not make it pass.
#[test]
fn a_ledger_rolled_back_past_an_administrators_command_is_refused() {
    let mut server = Server::start();
    server.account("acme", "alice", "full");
    server.stop();
    let data = server.data_dir();
    let backup = data.join("..").join("backup");
    copy_ledger(&data, &backup);
    server.ok(&[
        "ban",
        "add",
        "203.0.113.9",
        "--reason",
        "recorded, then lost",
    ]);
    copy_ledger(&backup, &data);
    refused_as_behind(&server, "the ledger lacks record ");
    for i in 20..25 {
        server.ok(&["ban", "add", &format!("203.0.113.{i}")]);
    }
    refused_as_behind(
        &server,
        "is not the one this data directory's catalog recorded it holding",
    );
}

/// The admin records of command line `command`: their outcomes, oldest first.
fn admin_outcomes(data: &Path, command: &str) -> Vec<String> {
    export(data, &["--kind", "admin"])
        .into_iter()
        .filter_map(|r| match r.event.kind {
            EventKind::Admin {
                command: c,
                outcome,
                ..
            } if c == command => Some(outcome),
            _ => None,
        })
        .collect()
}

/// Where the ledger cannot record a change's beginning (here its database cannot be opened), the
/// change is made with a warning; with `[audit] unrecorded_changes = "refuse"` it is refused
/// and nothing changes, except containment (a ban, a lock), which is made all the same.
#[test]
fn an_unrecorded_change_is_made_with_a_warning_or_refused_as_configured() {
    let mut server = Server::start();
    server.account("acme", "alice", "full");
    server.stop();
    let data = server.data_dir();
    let ledger = data.join("ledger.db");
    let kept = data.parent().unwrap().join("ledger.db.kept");
    std::fs::rename(&ledger, &kept).unwrap();
    // A directory where the ledger's database should be: it cannot be opened.
    std::fs::create_dir(&ledger).unwrap();
    let warning =
        "strongroom: warning: the audit ledger could not record this command's beginning: ";
    let automation = |server: &Server| {
        server
            .ok(&["user", "show", "alice"])
            .lines()
            .find(|l| l.starts_with("kind:"))
            .unwrap_or_default()
            .to_owned()
    };
    let before = automation(&server);
    let out = server.admin(&["user", "set", "alice", "--automation", "yes"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains(warning), "{said}");
    let made = automation(&server);
    assert_ne!(made, before);
    let config = data.join("strongroom.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[audit]\nunrecorded_changes = \"refuse\"\n"),
    )
    .unwrap();
    let out = server.admin(&["user", "set", "alice", "--automation", "no"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with(
            "strongroom: refused: the audit ledger could not record this command's beginning ("
        ) && said.contains("nothing was changed"),
        "{said}"
    );
    assert_eq!(automation(&server), made);
    // Containment is made all the same, with the warning.
    for args in [
        &["ban", "add", "203.0.113.9", "--reason", "probing"][..],
        &["user", "lock", "alice"][..],
    ] {
        let out = server.admin(args);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.contains(warning),
            "{args:?}: {said}"
        );
    }
    assert!(server.ok(&["ban", "list"]).contains("203.0.113.9"));
    assert!(
        server
            .ok(&["user", "show", "alice"])
            .contains("state:     locked")
    );
    // Lifting it is not containment: refused.
    let out = server.admin(&["ban", "remove", "203.0.113.9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(server.ok(&["ban", "list"]).contains("203.0.113.9"));
    // The ledger back: changes are made and recorded again.
    std::fs::remove_dir(&ledger).unwrap();
    std::fs::rename(&kept, &ledger).unwrap();
    let out = server.admin(&["user", "set", "alice", "--automation", "no"]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(automation(&server), before);
}

/// A change is on the record before it is made (`begun`), then as it ended: one cut short
/// (kill -9, a power loss) after its catalog's commit and before the record of its end is not
/// a change without a trace. Here an account's creation is held at its password prompt: its
/// beginning is on the record and the account not yet made; killed there, the record stays,
/// and says it began. The commands that only read take no such record.
#[test]
fn a_change_is_on_the_record_before_it_is_made() {
    let mut server = Server::start();
    server.account("acme", "alice", "full");
    server.stop();
    let data = server.data_dir();
    let line = "user add bob --tenant acme --password-stdin";
    let mut held = Command::new(support::BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(line.split(' '))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the creation's beginning on the record", 20, 50, || {
        admin_outcomes(&data, line) == ["begun"]
    });
    let users = String::from_utf8(admin_in(&data, &["user", "list"], None).stdout).unwrap();
    assert!(users.contains("alice") && !users.contains("bob"), "{users}");
    held.kill().unwrap();
    held.wait().unwrap();
    assert_eq!(admin_outcomes(&data, line), ["begun"]);
    assert!(verify(&data).status.success());

    // Run to its end: begun, then ok, the two records next to each other.
    let out = admin_in(&data, &["ban", "add", "203.0.113.7"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = |line: &str| -> Vec<(u64, String, Option<String>)> {
        export(&data, &["--kind", "admin"])
            .into_iter()
            .filter_map(|r| match r.event.kind {
                EventKind::Admin {
                    command, outcome, ..
                } if command == line => Some((r.seq, outcome, r.event.session)),
                _ => None,
            })
            .collect()
    };
    let records = runs("ban add 203.0.113.7");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        (records[0].1.as_str(), records[1].1.as_str()),
        ("begun", "ok")
    );
    assert_eq!(records[1].0, records[0].0 + 1, "{records:?}");
    // Its two records name its run; the run cut short has its `begun` alone, under another.
    let run = records[0].2.clone().expect("a run id");
    assert_eq!(records[1].2.as_deref(), Some(run.as_str()));
    let cut_short = runs(line);
    assert_eq!(cut_short.len(), 1, "{cut_short:?}");
    assert!(
        cut_short[0].2.as_ref().is_some_and(|r| *r != run),
        "{cut_short:?}"
    );
    // `audit export --session` gives a run's records.
    let of_run = export(&data, &["--session", &run]);
    assert_eq!(of_run.len(), 2, "{of_run:?}");
    // A refused change: begun, then failed, saying why.
    let out = admin_in(&data, &["user", "lock", "nobody"], None);
    assert!(!out.status.success());
    let outcomes = admin_outcomes(&data, "user lock nobody");
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert_eq!(outcomes[0], "begun");
    assert!(outcomes[1].starts_with("failed: "), "{outcomes:?}");
    // Reads on the record (a file's facts) have one record, when done; reads off it none.
    admin_in(&data, &["file", "list", "acme", "/"], None);
    assert_eq!(admin_outcomes(&data, "file list acme /"), ["ok"]);
    admin_in(&data, &["user", "list"], None);
    assert!(admin_outcomes(&data, "user list").is_empty());
}

/// The ledger files of a data directory (those there are).
const LEDGER_FILES: [&str; 3] = ["ledger.db", "ledger.db-wal", "ledger.db-shm"];

/// Puts the ledger files of directory `from` in directory `to` (made if missing) in place of
/// those there.
fn copy_ledger(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in LEDGER_FILES {
        let _ = std::fs::remove_file(to.join(f));
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

/// Asserts that `audit verify` fails and the server refuses to start, both saying `why` of a
/// ledger behind the catalog's record of it (and the start how to accept it).
fn refused_as_behind(server: &Server, why: &str) {
    let out = server.admin(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(why), "{err}");
    let err = server.serve_refused();
    assert!(
        err.contains(why) && err.contains("audit accept-rollback"),
        "{err}"
    );
}

/// A ledger rolled back to an older copy of itself (a backup of `ledger.db` alone put back)
/// verifies under its key, yet the records after the copy are gone: `audit verify` and the
/// server's start say so, naming the checkpoint the catalog recorded it holding (before, both
/// called it intact and the server served on it). A copy restored on purpose is accepted with
/// `audit accept-rollback --reason`, which is then on the record; refused where the ledger is
/// not behind.
#[test]
fn a_ledger_rolled_back_to_an_older_copy_is_refused_until_accepted_on_the_record() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir in\n");
    let refused = server.admin(&["audit", "accept-rollback", "--reason", "just because"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("it is not behind; nothing changed"), "{err}");
    server.stop();
    let data = server.data_dir();
    let backup = data.join("..").join("backup");
    copy_ledger(&data, &backup);
    server.start_again();
    alice.sftp_ok("mkdir out\n");
    server.stop();
    copy_ledger(&backup, &data);
    refused_as_behind(&server, "lacks its checkpoint at record");
    let empty = server.admin(&["audit", "accept-rollback", "--reason", ""]);
    assert!(!empty.status.success());
    let out = server.ok(&[
        "audit",
        "accept-rollback",
        "--reason",
        "restored from the 06:00 backup: INC-4712",
    ]);
    assert!(out.contains("accepted"), "{out}");
    server.start_again();
    alice.sftp_ok("mkdir again\n");
    server.assert_ledger_verifies();
    // Its stop settles what the catalog's outbox holds into the ledger.
    server.stop();

    let records = export(&data, &[]);
    let mkdir_of = |p: &str| records.iter().any(|r| file(r).is_some_and(|f| f.1 == p));
    assert!(mkdir_of("/in") && mkdir_of("/again") && !mkdir_of("/out"));
    let accepted: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .filter(|r| r.contains("audit accept-rollback --reason"))
        .collect();
    // The refusal before the copy was taken, the empty reason's, the acceptance.
    assert_eq!(accepted.len(), 3, "{accepted:#?}");
    assert!(
        accepted[0].contains("just because") && accepted[0].contains("not behind"),
        "{accepted:#?}"
    );
    assert!(accepted[1].contains("failed"), "{accepted:#?}");
    assert!(
        accepted[2].contains("restored from the 06:00 backup: INC-4712")
            && accepted[2].contains(r#""outcome":"ok""#),
        "{accepted:#?}"
    );
}

/// The names of the files that differ between two [`files_of`].
fn changed(
    a: &std::collections::BTreeMap<String, Vec<u8>>,
    b: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Every file of `dir` (not its subdirectories) with its bytes, but a database's WAL index
/// (`-shm`: shared memory SQLite rebuilds from the WAL when it opens it) and empty files (an
/// empty WAL SQLite makes beside a database opened in WAL mode where there was none).
fn files_of(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .filter(|(name, bytes)| !name.ends_with("-shm") && !bytes.is_empty())
        .collect()
}

/// A copy of the data directory of `server` (stopped), as evidence is kept: its files (not the
/// blobs, nor the control socket), in `data` of a temporary directory (returned with it).
fn copied(server: &Server) -> (tempfile::TempDir, PathBuf) {
    let evidence = tempfile::tempdir().unwrap();
    let copy = evidence.path().join("data");
    std::fs::create_dir(&copy).unwrap();
    for name in files_of(&server.data_dir()).into_keys() {
        std::fs::copy(server.data_dir().join(&name), copy.join(name)).unwrap();
    }
    (evidence, copy)
}

/// `audit verify` (and `audit export`) reads and never writes: a data directory copied as evidence (a server
/// killed, its ledger's WAL not folded in) keeps every file's bytes (but the WAL indexes,
/// which SQLite rebuilds), and no file with anything in it is added;
/// one whose catalog is at an older schema is refused, not upgraded; a missing ledger is said
/// to be missing, not made (before, verify migrated both databases, folded the ledger's WAL
/// into it at its close, and made an empty ledger where there was none).
#[test]
fn audit_verify_changes_no_byte_of_the_data_directory() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), pseudo_random(17, 50_000)).unwrap();
    alice.sftp_ok("put f a\nmkdir d\nget a back\n");
    server.crash();
    let (_evidence, copy) = copied(&server);
    let before = files_of(&copy);
    assert!(before.contains_key("ledger.db-wal"), "{:?}", before.keys());
    // (The server's own copies, to be sure the test reads what it means to.)
    assert!(before.contains_key("catalog.db") && before.contains_key("ledger.key"));
    let out = verify(&copy);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.starts_with("ledger intact: "),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(changed(&files_of(&copy), &before), [""; 0]);
    // Nor does an export of it, which reads every record.
    let exported = export(&copy, &[]);
    assert!(exported.len() > 5, "{exported:?}");
    assert_eq!(changed(&files_of(&copy), &before), [""; 0]);

    // A catalog of an older schema (as an older build left it) is refused as it is.
    sqlite(&copy.join("catalog.db"), "PRAGMA user_version = 23;");
    let before = files_of(&copy);
    let out = verify(&copy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("the catalog is at schema version 23 and this build's is ")
            && err.contains("a command that only reads does not upgrade it"),
        "{err}"
    );
    assert_eq!(changed(&files_of(&copy), &before), [""; 0]);

    // No ledger: said, not made.
    for f in ["ledger.db", "ledger.db-wal", "ledger.db-shm"] {
        let _ = std::fs::remove_file(copy.join(f));
    }
    let before = files_of(&copy);
    let out = verify(&copy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("ledger.db' not found"),
        "{err}"
    );
    assert_eq!(changed(&files_of(&copy), &before), [""; 0]);
    server.restart();
    server.assert_ledger_verifies();
}

/// Commands that only show (listings, accounts, alerts, bans, canaries, the detection rules)
/// open the data directory read-only: a copy kept as evidence keeps every file's bytes (before,
/// each opened the catalog read-write, migrating it, folding a killed server's WAL into it at
/// its close). One at an older schema is refused, not upgraded (a build that only looks does
/// not make a directory unusable by the build that serves it), and a mistyped `--data-dir` is
/// an error, not a new data directory. Those whose run is on the record (a file's facts and
/// classes, an incident report) read the catalog so too: the only change they make is their
/// record.
#[test]
fn commands_that_only_show_change_no_byte_of_the_data_directory() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), b"IBAN: GB82WEST12345698765432\n").unwrap();
    alice.sftp_ok("put f a\nmkdir d\nget a back\n");
    server.crash();
    let (evidence, copy) = copied(&server);
    let before = files_of(&copy);
    assert!(before.contains_key("catalog.db-wal"), "{:?}", before.keys());
    let shows: &[&[&str]] = &[
        &["tenant", "list"],
        &["tenant", "show", "acme"],
        &["tenant", "ca", "list", "acme"],
        &["user", "list"],
        &["user", "show", "alice"],
        &["user", "key", "list", "alice"],
        &["ban", "list"],
        &["alert", "list"],
        &["canary", "list"],
        &["detect", "rules"],
    ];
    for args in shows {
        let out = admin_in(&copy, args, None);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(changed(&files_of(&copy), &before), [""; 0], "{args:?}");
    }
    let listed = String::from_utf8(admin_in(&copy, &["tenant", "list"], None).stdout).unwrap();
    assert!(listed.starts_with("acme\t"), "{listed}");

    // On the record: the catalog's rows are read as they are; only the record is added (to
    // the ledger, and the ledger's new head to the catalog, as every record is).
    let rows = |dir: &Path| {
        support::sqlite_query(
            &dir.join("catalog.db"),
            "SELECT (SELECT count(*) FROM nodes) || ' ' || (SELECT count(*) FROM accounts) || ' ' || (SELECT group_concat(id) FROM nodes)",
        )
    };
    let rows_before = rows(&copy);
    for args in [
        &["file", "list", "acme", "/"][..],
        &["file", "show", "acme", "/a"],
        &["incident", "report", "--user", "alice"],
        &["incident", "file", "acme", "/a"],
        &["classify", "pattern", "list", "acme"],
        &["tenant", "check", "acme", "--contents"],
    ] {
        let out = admin_in(&copy, args, None);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let shown =
        String::from_utf8(admin_in(&copy, &["file", "show", "acme", "/a"], None).stdout).unwrap();
    assert!(shown.contains("iban"), "{shown}");
    assert_eq!(rows(&copy), rows_before);
    let records = export(&copy, &[]);
    let commands: Vec<&str> = records
        .iter()
        .filter_map(|r| match &r.event.kind {
            EventKind::Admin { command, .. } => Some(command.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        commands.contains(&"file show acme /a")
            && commands.contains(&"incident report --user alice")
            && commands.contains(&"tenant check acme --contents"),
        "{commands:?}"
    );
    assert!(
        !commands.iter().any(|c| c.starts_with("tenant list")),
        "{commands:?}"
    );

    // A catalog of an older schema: refused as it is, by a command that only shows and by
    // one on the record alike.
    sqlite(&copy.join("catalog.db"), "PRAGMA user_version = 23;");
    for args in [&["tenant", "list"][..], &["file", "show", "acme", "/a"]] {
        let out = admin_in(&copy, args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && err.contains("the catalog is at schema version 23 and this build's is ")
                && err.contains("a command that only reads does not upgrade it"),
            "{args:?}: {err}"
        );
        assert_eq!(
            support::sqlite_query(&copy.join("catalog.db"), "PRAGMA user_version").trim(),
            "23"
        );
    }

    // No data directory: said, not made (before, every command but the `audit` ones made
    // one, with a catalog, and those on the record a ledger and a master key too), by a
    // command that changes something too (only `tenant add` and the server's first start make
    // a data directory) and by one of those that take steps, on the record before they begin.
    let nowhere = evidence.path().join("mistyped");
    for args in [
        &["tenant", "list"][..],
        &["file", "show", "acme", "/a"],
        &["user", "lock", "alice"],
        &["ban", "add", "192.0.2.7"],
        &["tenant", "rotate-key", "acme"],
    ] {
        let out = admin_in(&nowhere, args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(1)
                && err.contains(&format!("no data directory at {}", nowhere.display()))
                && !err.contains("warning"),
            "{args:?}: {err}"
        );
        assert!(!nowhere.exists(), "{args:?}");
    }
    let out = admin_in(&nowhere, &["tenant", "add", "acme"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(nowhere.join("catalog.db").exists() && nowhere.join("ledger.db").exists());
    server.restart();
    server.assert_ledger_verifies();
}
