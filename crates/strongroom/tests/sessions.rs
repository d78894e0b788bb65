//! Live sessions controlled at once: `session list` shows who is doing what, `session kill` and
//! `user lock` close sessions within a second, mid-transfer (the upload in progress is
//! discarded), through the control socket only the host's administrator can use.

mod support;

use std::time::{Duration, Instant};

use sftp_proto::{OpenFlags, RequestOp, StatusCode};
use support::Server;
use support::raw::Raw;

/// Waits until `raw`'s channel is closed; how long that took.
fn closed_within(raw: &mut Raw) -> Duration {
    let t = Instant::now();
    // The next call gets no reply once the connection is cut.
    let r = raw.try_call(99, RequestOp::Realpath { path: "/".into() });
    assert!(r.is_none(), "the session is still served");
    t.elapsed()
}

#[test]
fn list_kill_and_lock_reach_live_sessions_at_once() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("acme", "bob", "full");
    // The control socket: owner-only.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(server.data_dir().join("control.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // alice is mid-upload, bob is reading.
    let mut up = Raw::connect(&alice);
    let h = up.open(1, "/batch.xml", OpenFlags::WRITE | OpenFlags::CREAT);
    for i in 0..4u64 {
        let r = up.write(2, &h, i * 261_120, &vec![7u8; 261_120]);
        assert_eq!(r.status().0, StatusCode::OK);
    }
    std::fs::write(bob.work().join("f"), vec![1u8; 100_000]).unwrap();
    bob.sftp_ok("put f /report.csv\n");
    let mut reader = Raw::connect(&bob);
    let rh = reader.open(1, "/report.csv", OpenFlags::READ);
    let r = reader.call(
        2,
        RequestOp::Read {
            handle: rh,
            offset: 0,
            len: 50_000,
        },
    );
    assert_eq!(r.body.len() - 4, 50_000);

    let list = server.ok(&["session", "list", "--format", "jsonl"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let alice_line = lines.iter().find(|l| l.contains("\"alice\"")).unwrap();
    for want in [
        "\"tenant\":\"acme\"",
        "\"source\":\"127.0.0.1:",
        "\"client_version\":\"SSH-2.0-OpenSSH",
        "\"credential\":\"SHA256:",
        "\"methods\":\"publickey\"",
        "\"bytes_written\":1044480",
        "/batch.xml (writing)",
    ] {
        assert!(alice_line.contains(want), "{want} not in {alice_line}");
    }
    let bob_line = lines.iter().find(|l| l.contains("\"bob\"")).unwrap();
    assert!(bob_line.contains("\"bytes_read\":50000"), "{bob_line}");
    assert!(bob_line.contains("/report.csv"), "{bob_line}");
    // When each last sent a request (or logged in), and so how long it has been idle: moments.
    for line in [alice_line, bob_line] {
        assert!(line.contains("\"last_active\":\"20"), "{line}");
    }
    let table = server.ok(&["session", "list", "--user", "bob"]);
    assert!(table.starts_with("ID"), "{table}");
    let (head, row) = (table.lines().next().unwrap(), table.lines().nth(1).unwrap());
    let idle_at = head.find(" IDLE ").expect("an IDLE column") + 1;
    let idle = row[idle_at..].split_whitespace().next().unwrap();
    assert!(
        idle.ends_with('s') && idle[..idle.len() - 1].parse::<u64>().unwrap() < 60,
        "{table}"
    );
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(!table.contains("alice"), "{table}");

    // Kill alice's session by its id (a UUID v7): closed within a second, the upload discarded.
    let id = alice_line
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!((id.len(), &id[14..15]), (36, "7"), "{id}");
    let t = Instant::now();
    let out = server.ok(&["session", "kill", &id]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    let took = t.elapsed() + closed_within(&mut up);
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    let listing = alice.sftp_ok("ls /\n");
    assert!(!listing.contains("batch.xml"), "{listing}");

    // Locking bob closes his live session too, and he cannot log in again.
    let t = Instant::now();
    let out = server.ok(&["user", "lock", "bob", "--reason", "incident 42"]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    let took = t.elapsed() + closed_within(&mut reader);
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    let (code, _, _) = bob.sftp("ls /\n");
    assert_ne!(code, 0);

    // Both are in the ledger, naming who ran them.
    let export = server.ok(&["audit", "export"]);
    let kill = format!("session kill {id}");
    for cmd in [kill.as_str(), "user lock bob --reason incident 42"] {
        assert!(
            export
                .lines()
                .any(|l| l.contains(cmd) && l.contains("\"by\"")),
            "{cmd} not in the ledger"
        );
    }
    // The session-open record names the credential that opened the session.
    assert!(
        export
            .lines()
            .any(|l| l.contains(r#""kind":"session","opened":true"#)
                && l.contains(&format!(r#""session":"{id}""#))
                && l.contains(r#""methods":"publickey""#)
                && l.contains(r#""credential":"SHA256:"#)),
        "no session-open record with its credential"
    );
    // The incident report says how each ended and counts what bob's cut-short read took.
    let report = |selection: &[&str]| -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut args = vec!["incident", "report"];
            args.extend_from_slice(selection);
            let r: serde_json::Value = serde_json::from_str(&server.ok(&args)).unwrap();
            let ended = r["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["ended_by"].is_string());
            if ended || Instant::now() > deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let r = report(&["--session", &id]);
    let ended = r["sessions"][0]["ended_by"].as_str().unwrap_or_default();
    assert!(ended.starts_with("killed by an administrator"), "{r:#}");
    let r = report(&["--user", "bob"]);
    let reader_row = r["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ended_by"].is_string())
        .unwrap_or_else(|| panic!("{r:#}"));
    let ended = reader_row["ended_by"].as_str().unwrap();
    assert!(
        ended.starts_with("account locked by an administrator"),
        "{r:#}"
    );
    let file = &r["tenants"][0]["files_read"][0];
    assert_eq!(file["path_then"], "/report.csv", "{r:#}");
    assert_eq!(file["bytes_read"], 50_000, "{r:#}");
    assert_eq!(file["read"], "partial", "{r:#}");

    // Nothing matching: said so.
    let out = server.ok(&["session", "kill", "12345"]);
    assert!(out.contains("no live session matched"), "{out}");
    let out = server.admin(&["session", "kill"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_a_server_the_catalog_changes_and_no_session_is_affected() {
    let mut server = Server::start();
    server.account("acme", "carol", "full");
    server.stop();
    let out = server.ok(&["user", "lock", "carol"]);
    assert!(
        out.contains("no server is running: no live session was affected"),
        "{out}"
    );
    let out = server.ok(&["session", "kill", "--ip", "127.0.0.1"]);
    assert!(out.contains("no server is running"), "{out}");
    let show = server.ok(&["user", "show", "carol"]);
    assert!(show.contains("locked"), "{show}");
}

#[test]
fn a_ban_closes_the_address_sessions_at_once() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    let t = Instant::now();
    let out = server.ok(&[
        "ban",
        "add",
        "127.0.0.1",
        "--for",
        "1h",
        "--reason",
        "exfiltration",
    ]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    let took = t.elapsed() + closed_within(&mut raw);
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    let bans = server.ok(&["ban", "list"]);
    assert!(
        bans.contains("127.0.0.1") && bans.contains("by an administrator: exfiltration"),
        "{bans}"
    );
    // New connections are refused at once (the server reloads its bans when told of one),
    // and let in again at once when it is lifted.
    let (code, _, _) = alice.sftp("ls /\n");
    assert_ne!(code, 0);
    server.ok(&["ban", "remove", "127.0.0.1"]);
    alice.sftp_ok("ls /\n");
    let out = server.admin(&["ban", "add", "127.0.0.1", "--for", "soon"]);
    assert_eq!(out.status.code(), Some(2));

    // A network: its live sessions closed, its addresses refused; others go on.
    let mut raw = Raw::connect(&alice);
    let out = server.ok(&["ban", "add", "127.0.0.1/30", "--for", "1h"]);
    assert!(
        out.starts_with("127.0.0.0/30 banned for 3600 s; 1 live session(s) closed"),
        "{out}"
    );
    closed_within(&mut raw);
    let (code, _, _) = alice.sftp("ls /\n");
    assert_ne!(code, 0, "127.0.0.1 is in 127.0.0.0/30");
    let outside = alice.sftp_from("127.0.0.9", "ls /\n");
    assert!(
        outside.status.success(),
        "{}",
        String::from_utf8_lossy(&outside.stderr)
    );
    assert!(server.ok(&["ban", "list"]).contains("127.0.0.0/30"));
    server.ok(&["ban", "remove", "127.0.0.0/30"]);
    std::thread::sleep(Duration::from_millis(2500));
    alice.sftp_ok("ls /\n");
    let out = server.admin(&["ban", "add", "127.0.0.1/33"]);
    assert_eq!(out.status.code(), Some(2));

    // A ban lifted where this server is not told of it (another node; here its control socket
    // moved aside, so the command finds no server to tell): the server reads the lift itself.
    server.ok(&["ban", "add", "127.0.0.12"]);
    assert!(!alice.sftp_from("127.0.0.12", "ls /\n").status.success());
    let socket = server.data_dir().join("control.sock");
    let aside = server.data_dir().join("control.sock.aside");
    std::fs::rename(&socket, &aside).unwrap();
    let out = server.ok(&["ban", "remove", "127.0.0.12"]);
    assert_eq!(out.trim(), "ban of 127.0.0.12 lifted");
    std::thread::sleep(Duration::from_millis(2500));
    let lifted = alice.sftp_from("127.0.0.12", "ls /\n");
    std::fs::rename(&aside, &socket).unwrap();
    assert!(
        lifted.status.success(),
        "{}",
        String::from_utf8_lossy(&lifted.stderr)
    );
    assert!(!server.ok(&["ban", "list"]).contains("127.0.0.12"));
    // Lifted already: there is no ban in force to lift.
    let out = server.admin(&["ban", "remove", "127.0.0.12"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("ban in force '127.0.0.12' not found"),
        "{said}"
    );
}

/// Reads `len` bytes of `handle` sequentially in requests of 261,120; how long it took.
fn read_through(raw: &mut Raw, handle: &bytes::Bytes, len: u64) -> Duration {
    let t = Instant::now();
    let mut offset = 0;
    while offset < len {
        let r = raw.call(
            5,
            RequestOp::Read {
                handle: handle.clone(),
                offset,
                len: 261_120,
            },
        );
        assert_eq!(r.kind, sftp_proto::message::kind::DATA);
        offset += (r.body.len() - 4) as u64;
    }
    t.elapsed()
}

#[test]
fn a_throttle_applies_to_live_sessions_at_once_and_to_new_ones() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), vec![9u8; 1 << 20]).unwrap();
    alice.sftp_ok("put f /f\n");
    let mut raw = Raw::connect(&alice);
    let h = raw.open(1, "/f", OpenFlags::READ);
    let free = read_through(&mut raw, &h, 1 << 20);
    assert!(
        free < Duration::from_secs(1),
        "{free:?} before any throttle"
    );

    let out = server.ok(&["user", "throttle", "alice", "256K"]);
    assert!(out.contains("applied to its live sessions"), "{out}");
    // 1 MiB at 256 KiB/s: the first request goes at once, the other three wait a second each.
    let slow = read_through(&mut raw, &h, 1 << 20);
    assert!(
        slow >= Duration::from_millis(2800),
        "{slow:?} under a 256 KiB/s throttle"
    );
    let show = server.ok(&["user", "show", "alice"]);
    assert!(show.contains("262144 bytes/s"), "{show}");

    let out = server.ok(&["user", "throttle", "alice", "off"]);
    assert!(out.contains("throttle lifted"), "{out}");
    let again = read_through(&mut raw, &h, 1 << 20);
    assert!(again < Duration::from_secs(1), "{again:?} after lifting it");
    drop(raw);

    // A new session starts throttled.
    server.ok(&["user", "throttle", "alice", "512K"]);
    let t = Instant::now();
    alice.sftp_ok("get /f back\n");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1400),
        "a new session took {took:?}"
    );
    let out = server.admin(&["user", "throttle", "alice", "0"]);
    assert_eq!(out.status.code(), Some(2));

    // A rate the server was not told of (set on another node, or by a command that could not
    // reach it): its live sessions take it from the catalog within some 2 s.
    let mut raw = Raw::connect(&alice);
    let h = raw.open(1, "/f", OpenFlags::READ);
    support::sqlite(
        &server.data_dir().join("catalog.db"),
        "UPDATE accounts SET throttle_bytes_per_sec = 262144 WHERE name = 'alice'",
    );
    std::thread::sleep(Duration::from_millis(2500));
    let slow = read_through(&mut raw, &h, 1 << 20);
    assert!(
        slow >= Duration::from_millis(2800),
        "{slow:?} under a 256 KiB/s throttle set in the catalog"
    );
}

/// A client that reconnects at once (a script's retry loop, `lftp`'s, `rclone`'s) while its
/// address is banned: no session from the address is live once the ban is in, however many
/// connections were on their way in when it landed.
#[test]
fn a_ban_holds_against_a_client_that_reconnects_at_once() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let port = server.port.to_string();
    // Sessions from 127.0.0.5, a new one every 50 ms for 3 s, each kept open (its batch on a
    // stdin held open), the ban landing after the first second.
    let reconnecting = std::thread::scope(|scope| {
        let clients = scope.spawn(|| {
            let mut children = Vec::new();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                let child = std::process::Command::new("sftp")
                    .args(support::ssh_options_for(&alice.key()))
                    .args(["-o", "BindAddress=127.0.0.5", "-P", &port, "-b", "-"])
                    .arg("alice@127.0.0.1")
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                children.push(child);
                std::thread::sleep(Duration::from_millis(50));
            }
            children
        });
        std::thread::sleep(Duration::from_secs(1));
        let out = server.ok(&["ban", "add", "127.0.0.5", "--for", "1h"]);
        assert!(out.contains("live session(s) closed"), "{out}");
        clients.join().unwrap()
    });
    // Every connection's login has ended one way or the other within a second of the last.
    std::thread::sleep(Duration::from_secs(1));
    let live: Vec<String> = server
        .ok(&["session", "list", "--format", "jsonl"])
        .lines()
        .filter(|l| l.contains("127.0.0.5:"))
        .map(str::to_owned)
        .collect();
    for mut child in reconnecting {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        live.is_empty(),
        "{} sessions from the banned address live: {live:#?}",
        live.len()
    );
    // Others go on.
    alice.sftp_ok("ls /\n");
}

/// A credential withdrawn ends the sessions it opened, and only those: a key removed (a stolen
/// key, usually) closes its sessions, not the account's others; `session kill --key` closes a
/// key's; an account removed, all of its.
#[test]
fn withdrawing_a_credential_closes_the_sessions_it_opened() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("acme", "bob", "full");
    // A second key of alice's (her laptop's), registered beside the first.
    let laptop = alice.dir.path().join("laptop");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&laptop)
        .status()
        .unwrap();
    assert!(made.success());
    let laptop_pub = format!("{}.pub", laptop.display());
    server.ok(&["user", "key", "add", "alice", &laptop_pub]);
    let first = support::fingerprint(&alice.public_key());
    let second = support::fingerprint(std::path::Path::new(&laptop_pub));
    let mut with_first = Raw::connect(&alice);
    let mut with_second = std::process::Command::new("sftp")
        .args(support::ssh_options_for(&laptop))
        .args(["-P", &server.port.to_string(), "-b", "-", "alice@127.0.0.1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut bobs = Raw::connect(&bob);
    let live_with = |key: &str| {
        server
            .ok(&["session", "list", "--format", "jsonl"])
            .lines()
            .filter(|l| l.contains(key))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while live_with(&second) == 0 {
        assert!(Instant::now() < deadline, "the laptop's session never came");
        std::thread::sleep(Duration::from_millis(50));
    }

    let out = server.ok(&["user", "key", "remove", "alice", &first]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    assert!(closed_within(&mut with_first) < Duration::from_secs(1));
    assert_eq!(
        live_with(&second),
        1,
        "the other key's session was closed too"
    );
    // Gone for new logins too; the other key still logs in.
    let (code, _, _) = alice.sftp("ls /\n");
    assert_ne!(code, 0, "a removed key logged in");

    let out = server.ok(&["session", "kill", "--key", &second]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    // (sftp itself, blocked reading its batch, notices only at its next command.)
    assert_eq!(live_with(&second), 0, "session kill --key left it open");
    let _ = with_second.kill();
    let _ = with_second.wait();

    let out = server.ok(&["user", "remove", "bob"]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    assert!(closed_within(&mut bobs) < Duration::from_secs(1));
    // Why each ended, in the ledger (a session's close is recorded as its driver ends).
    let whys = [
        "key removed by an administrator",
        "killed by an administrator",
        "account removed by an administrator",
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ended: Vec<String> = server
            .ok(&["audit", "export", "--kind", "session"])
            .lines()
            .filter_map(|l| {
                let r: serde_json::Value = serde_json::from_str(l).unwrap();
                r["event"]["ended_by"]
                    .as_str()
                    .map(|e| e.split(" (").next().unwrap().to_owned())
            })
            .collect();
        if whys.iter().all(|w| ended.iter().any(|e| e == w)) {
            break;
        }
        assert!(Instant::now() < deadline, "{ended:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Networks narrowed (an account's, a tenant's) end the sessions now outside them, and only
/// those.
#[test]
fn narrowed_networks_close_the_sessions_outside_them() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let port = server.port.to_string();
    // An sftp session from `from`, kept open (its batch on a stdin held open).
    let held_from = |from: &str| {
        std::process::Command::new("sftp")
            .args(support::ssh_options_for(&alice.key()))
            .args(["-o", &format!("BindAddress={from}"), "-P", &port, "-b", "-"])
            .arg("alice@127.0.0.1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Sessions from `from` logged in (a connection is listed from its accept on).
    let live_from = |from: &str| {
        server
            .ok(&["session", "list", "--format", "jsonl"])
            .lines()
            .filter(|l| l.contains(&format!("\"{from}:")) && l.contains("\"account\":\"alice\""))
            .count()
    };
    let mut held = vec![held_from("127.0.0.5"), held_from("127.0.0.6")];
    let deadline = Instant::now() + Duration::from_secs(10);
    while live_from("127.0.0.5") + live_from("127.0.0.6") < 2 {
        assert!(Instant::now() < deadline, "the sessions never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = server.ok(&["user", "set", "alice", "--networks", "127.0.0.5/32"]);
    assert!(
        out.contains("networks changed: 1 live session(s) closed"),
        "{out}"
    );
    assert_eq!((live_from("127.0.0.5"), live_from("127.0.0.6")), (1, 0));
    let out = server.ok(&["tenant", "policy", "acme", "--networks", "127.0.0.7/32"]);
    assert!(
        out.contains("networks changed: 1 live session(s) closed"),
        "{out}"
    );
    assert_eq!(live_from("127.0.0.5"), 0);
    // Widened to any: nothing to close, and said so.
    let out = server.ok(&["tenant", "policy", "acme", "--networks", "any"]);
    assert!(!out.contains("closed"), "{out}");
    for child in &mut held {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Waits (10 s at most) until the ledger holds a session end recorded with each of `whys`
/// (of `user`'s sessions, if given).
fn wait_for_ends(server: &Server, user: Option<&str>, whys: &[&str]) {
    let mut export = vec!["audit", "export", "--kind", "session"];
    if let Some(u) = user {
        export.extend(["--user", u]);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ends = server.ok(&export);
        if whys
            .iter()
            .all(|why| ends.contains(&format!("\"ended_by\":\"{why}")))
        {
            return;
        }
        assert!(Instant::now() < deadline, "{whys:?} in {ends}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The password every test account given one here has.
const PASSWORD: &str = "correct horse battery staple";

/// An sftp session of `user` kept open (its batch on a stdin held open), by `c`'s key or by
/// [`PASSWORD`].
fn held_sftp(
    server: &Server,
    c: &support::Client,
    user: &str,
    password: bool,
) -> std::process::Child {
    let mut cmd = std::process::Command::new("sftp");
    if password {
        use std::os::unix::fs::PermissionsExt;
        let askpass = c.work().join("askpass.sh");
        std::fs::write(&askpass, format!("#!/bin/sh\necho '{PASSWORD}'\n")).unwrap();
        std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
        cmd.args([
            "-o",
            "BatchMode=no",
            "-o",
            "PreferredAuthentications=password",
        ])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0");
    } else {
        cmd.args(support::ssh_options_for(&c.key()));
    }
    cmd.args(["-P", &server.port.to_string(), "-b", "-"])
        .arg(format!("{user}@127.0.0.1"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A password's expiry put back while its session lives keeps the session past the expiry its
/// login saw; brought forward, it ends the session within some 2 s.
#[test]
fn a_password_sessions_expiry_follows_the_catalog() {
    // The expiries are swept every 3 s (a quarter of the idle limit), which the held session,
    // sending nothing, stays within.
    let server = Server::start_with_config("[limits]\nidle_timeout_secs = 12\n");
    let alice = support::Client::new(server.port, "alice");
    server.account_with_password("acme", "alice", PASSWORD, Some(&alice.public_key()));
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let at = |secs: i64| events::Time::from_secs(secs).to_string();
    let ends = now() + 3;
    server.ok(&["user", "set", "alice", "--password-expires", &at(ends)]);
    let live = || {
        server
            .ok(&["session", "list", "--format", "jsonl"])
            .lines()
            .filter(|l| l.contains(r#""methods":"password""#))
            .count()
    };
    let mut session = held_sftp(&server, &alice, "alice", true);
    support::wait_until("the password session", 10, 50, || live() == 1);
    // Put back a year: the session outlives the expiry its login saw.
    server.ok(&[
        "user",
        "set",
        "alice",
        "--password-expires",
        &at(now() + 365 * 86_400),
    ]);
    while now() < ends + 3 {
        assert_eq!(live(), 1, "the session ended at the expiry its login saw");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Brought forward to the past, written where the server is not told: it ends.
    support::sqlite(
        &server.data_dir().join("catalog.db"),
        "UPDATE accounts SET password_expires_at = 1 WHERE name = 'alice'",
    );
    support::wait_until("the session ended", 5, 100, || live() == 0);
    wait_for_ends(
        &server,
        Some("alice"),
        &["password expired (found so in the catalog)"],
    );
    let _ = session.kill();
    let _ = session.wait();
}

/// A login policy tightened ends the live sessions it would now refuse, and only those: a
/// password session when the account's methods narrow to keys or its password expires, a
/// one-factor session when its account enrols a second factor or its tenant comes to require
/// one (not an automation account's, which the minimum does not bind).
#[test]
fn a_tightened_login_policy_closes_the_sessions_it_would_now_refuse() {
    let server = Server::start();
    let alice = support::Client::new(server.port, "alice");
    server.account_with_password("acme", "alice", PASSWORD, Some(&alice.public_key()));
    let robot = server.account("acme", "robot", "read-only");
    server.ok(&["user", "set", "robot", "--automation", "yes"]);
    let held =
        |c: &support::Client, user: &str, password: bool| held_sftp(&server, c, user, password);
    // Live sessions of `account` that logged in with `methods`.
    let live = |account: &str, methods: &str| {
        server
            .ok(&["session", "list", "--format", "jsonl"])
            .lines()
            .filter(|l| {
                l.contains(&format!("\"account\":\"{account}\""))
                    && l.contains(&format!("\"methods\":\"{methods}\""))
            })
            .count()
    };
    // Waits until there are `n` sessions of the (account, methods) given.
    let until = |n: usize, of: &[(&str, &str)]| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while of.iter().map(|(a, m)| live(a, m)).sum::<usize>() < n {
            assert!(Instant::now() < deadline, "the sessions never came: {of:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // `user set alice ARGS` ends her password session, and only that, saying why.
    let ends_the_password_session = |args: &[&str], why: &str| {
        let out = server.ok(&[&["user", "set", "alice"][..], args].concat());
        assert!(
            out.contains(&format!("; {why}: 1 live session(s) closed")),
            "{out}"
        );
        assert_eq!(
            (live("alice", "password"), live("alice", "publickey")),
            (0, 1)
        );
    };
    let mut sessions = vec![
        held(&alice, "alice", false),
        held(&alice, "alice", true),
        held(&robot, "robot", false),
    ];
    until(
        3,
        &[
            ("alice", "publickey"),
            ("alice", "password"),
            ("robot", "publickey"),
        ],
    );
    // Keys only for alice: her password session ends, her key session stays.
    ends_the_password_session(&["--methods", "publickey"], "login policy changed");
    // A change that tightens nothing closes nothing.
    let out = server.ok(&["user", "set", "alice", "--methods", "publickey,certificate"]);
    assert!(!out.contains("closed"), "{out}");
    // A password that expired ends the sessions it opened.
    let out = server.ok(&["user", "set", "alice", "--methods", "publickey,password"]);
    assert!(!out.contains("closed"), "{out}");
    sessions.push(held(&alice, "alice", true));
    until(1, &[("alice", "password")]);
    ends_the_password_session(&["--password-expires", "2020-01-01"], "password expired");
    // A second factor enrolled for an account: its session that logged in without one ends.
    let carol = server.account("acme", "carol", "full");
    sessions.push(held(&carol, "carol", false));
    until(1, &[("carol", "publickey")]);
    let out = server.ok(&["user", "mfa", "carol"]);
    assert!(
        out.contains("\nsecond factor required: 1 live session(s) closed"),
        "{out}"
    );
    assert_eq!(live("carol", "publickey"), 0);
    // A second factor required by the tenant: alice's one-factor session ends, robot's stays.
    let out = server.ok(&["tenant", "policy", "acme", "--require-mfa", "yes"]);
    assert!(
        out.contains("\nsecond factor required: 1 live session(s) closed"),
        "{out}"
    );
    assert_eq!(
        (live("alice", "publickey"), live("robot", "publickey")),
        (0, 1)
    );
    // Why each ended, in the ledger (a session's end reaches it within moments).
    wait_for_ends(
        &server,
        Some("alice"),
        &[
            "login policy changed by an administrator",
            "password expired by an administrator",
            "second factor required by an administrator",
        ],
    );
    for child in &mut sessions {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A login policy narrowed where this server was not told of it (another node, a command that
/// could not reach it; here written straight into the catalog) ends the live sessions it no
/// longer lets in within some 2 s, each saying why, and only those: from outside an account's
/// networks, then with one factor once the tenant requires two (not an automation account's).
#[test]
fn a_policy_narrowed_in_the_catalog_ends_the_sessions_it_no_longer_lets_in() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let carol = server.account("acme", "carol", "full");
    let robot = server.account("acme", "robot", "read-only");
    server.ok(&["user", "set", "robot", "--automation", "yes"]);
    let mut inside = Raw::connect_from(&alice, "127.0.0.5");
    let mut outside = Raw::connect_from(&alice, "127.0.0.6");
    let mut carols = Raw::connect(&carol);
    let mut robots = Raw::connect(&robot);
    let mut id = 0;
    let mut answers = |raw: &mut Raw| {
        id += 1;
        raw.try_call(id, RequestOp::Stat { path: "/".into() })
            .is_some()
    };
    let catalog = server.data_dir().join("catalog.db");
    support::sqlite(
        &catalog,
        "UPDATE accounts SET allowed_networks = '127.0.0.5/32' WHERE name = 'alice'",
    );
    let t = Instant::now();
    while answers(&mut outside) {
        assert!(t.elapsed() < Duration::from_secs(5), "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(answers(&mut inside) && answers(&mut carols) && answers(&mut robots));
    support::sqlite(
        &catalog,
        "UPDATE tenants SET require_mfa = 1 WHERE name = 'acme'",
    );
    let t = Instant::now();
    while answers(&mut inside) || answers(&mut carols) {
        assert!(t.elapsed() < Duration::from_secs(5), "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        answers(&mut robots),
        "the automation account's session ended"
    );
    wait_for_ends(
        &server,
        Some("alice"),
        &[
            "networks changed (found so in the catalog)\"",
            "second factor required (found so in the catalog)\"",
        ],
    );
    wait_for_ends(
        &server,
        Some("carol"),
        &["second factor required (found so in the catalog)\""],
    );
    // A policy that does not read (not text, written behind the catalog's back): its account's
    // session ends, as a login of it would be refused.
    support::sqlite(
        &catalog,
        "UPDATE accounts SET allowed_networks = CAST(x'ff' AS TEXT) WHERE name = 'robot'",
    );
    let t = Instant::now();
    while answers(&mut robots) {
        assert!(t.elapsed() < Duration::from_secs(5), "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for_ends(
        &server,
        Some("robot"),
        &["login policy unreadable (found so in the catalog)\""],
    );
}

/// A logged-in session whose client sends no request for the configured idle time is closed,
/// its end recorded as such; a session that keeps sending requests stays.
#[test]
fn an_idle_session_is_closed_and_a_busy_one_stays() {
    let server = Server::start_with_config("[limits]\nidle_timeout_secs = 2\n");
    let alice = server.account("acme", "alice", "full");
    let mut idle = Raw::connect(&alice);
    let mut busy = Raw::connect(&alice);
    let realpath = || RequestOp::Realpath { path: "/".into() };
    // Four seconds of a request every 300 ms on one, nothing on the other.
    let until = Instant::now() + Duration::from_secs(4);
    let mut id = 1;
    while Instant::now() < until {
        busy.call(id, realpath());
        id += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        idle.try_call(1, realpath()).is_none(),
        "the idle session is still served"
    );
    busy.call(id, realpath());
    // Its end says why, in the ledger.
    wait_for_ends(&server, None, &["idle for 2 seconds"]);
    // A limit of 0 is refused, by name.
    let config = server.data_dir().parent().unwrap().join("zero.toml");
    std::fs::write(&config, "[limits]\nidle_timeout_secs = 0\n").unwrap();
    let out = std::process::Command::new(support::BIN)
        .args(["--data-dir", "/nonexistent-strongroom", "serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("limits.idle_timeout_secs must be greater than 0"),
        "{said}"
    );
}

/// A session whose key reaches its `--expires` time ends then, busy or not, its end recorded as
/// such; a session of the account's other key stays.
#[test]
fn a_session_ends_when_its_key_expires() {
    let server = Server::start_with_config("[limits]\nidle_timeout_secs = 4\n");
    let alice = server.account("acme", "alice", "full");
    let expiring = support::Client::new(server.port, "alice");
    let ends = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3;
    let ends_text = events::Time::from_secs(ends as i64).to_string();
    server.ok(&[
        "user",
        "key",
        "add",
        "alice",
        expiring.public_key().to_str().unwrap(),
        "--expires",
        &ends_text,
    ]);
    let mut doomed = Raw::connect(&expiring);
    let mut kept = Raw::connect(&alice);
    let realpath = || RequestOp::Realpath { path: "/".into() };
    // Both busy past the key's end (and the sweep after it): one request every 300 ms each.
    let mut id = 1;
    let mut ended_at = None;
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        < ends + 3
    {
        if ended_at.is_none() && doomed.try_call(id, realpath()).is_none() {
            ended_at = Some(std::time::SystemTime::now());
        }
        kept.call(id, realpath());
        id += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    let ended_at = ended_at.expect("the session outlived its key");
    let at = ended_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(at >= ends, "ended at {at}, before the key's end {ends}");
    kept.call(id, realpath());
    wait_for_ends(&server, None, &["its credential expired"]);
}

/// A kill ends the sessions live when it is made, not the next ones: recorded in the catalog
/// for every server, it does not end the account's session opened right after it, past the
/// server's next look at the kills recorded there (every 2 s).
#[test]
fn a_kill_ends_the_live_sessions_not_the_next_ones() {
    let server = Server::start();
    let bob = server.account("acme", "bob", "full");
    let mut id = 0;
    // Whether a session still answers a request.
    let mut answers = |raw: &mut Raw| {
        id += 1;
        raw.try_call(
            id,
            RequestOp::Stat {
                path: bytes::Bytes::from_static(b"/"),
            },
        )
        .is_some()
    };
    let mut first = Raw::connect(&bob);
    assert!(answers(&mut first));
    let out = server.ok(&["session", "kill", "--user", "bob"]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    assert!(!answers(&mut first));
    let mut next = Raw::connect(&bob);
    std::thread::sleep(Duration::from_secs(3));
    assert!(answers(&mut next), "{}", server.log());
    let kills = support::sqlite_query(
        &server.data_dir().join("catalog.db"),
        "SELECT selection, why FROM session_kills",
    );
    assert!(
        kills.contains(r#""account":"bob""#) && kills.contains("killed by an administrator"),
        "{kills}"
    );
}
