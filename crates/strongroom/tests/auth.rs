//! Logging in: keys and passwords with the real OpenSSH client, uniform refusals, admin changes
//! that apply at the next login, and the connection limits.

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Client, Server, admin_in};

/// `sftp` with a password given through SSH_ASKPASS; returns (exit code, stderr).
fn sftp_with_password(c: &Client, user: &str, password: &str, batch: &str) -> (i32, String) {
    let args = [
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
    ];
    let (code, _, err) = c.sftp_answering(user, &args, password, batch);
    (code, err)
}

#[test]
fn password_logins_use_argon2_hashes() {
    let server = Server::start();
    server.ok(&["tenant", "add", "acme"]);
    let out = admin_in(
        &server.data_dir(),
        &[
            "user",
            "add",
            "carol",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        Some("correct horse battery staple\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = Client::new(server.port, "carol");
    let (code, err) = sftp_with_password(&c, "carol", "correct horse battery staple", "pwd\n");
    assert_eq!(code, 0, "{err}");
    let (code, err) = sftp_with_password(&c, "carol", "wrong horse battery staple", "pwd\n");
    assert_ne!(code, 0);
    assert!(err.contains("Permission denied"), "{err}");
    // The catalog holds an Argon2id hash, never the password.
    let db = std::fs::read(server.data_dir().join("catalog.db")).unwrap();
    let wal = std::fs::read(server.data_dir().join("catalog.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(13).any(|w| w == b"correct horse"),
            "password stored in clear"
        );
    }
    assert!(
        server
            .ok(&["user", "show", "carol"])
            .contains("  password  expires never")
    );
}

/// The client's message without the `user@host: ` it starts with.
fn without_user(err: &str) -> String {
    err.trim()
        .split_once(": ")
        .map_or(err, |(_, rest)| rest)
        .to_owned()
}

#[test]
fn unknown_accounts_wrong_keys_and_locked_accounts_look_the_same() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let stranger = Client::new(server.port, "alice");
    let mut outcomes = Vec::new();
    for (who, user) in [
        (&stranger, "alice"),
        (&alice, "nobody"),
        (&stranger, "nobody"),
    ] {
        let start = Instant::now();
        let (code, _, err) = who.sftp_as(user, "pwd\n");
        outcomes.push((code, without_user(&err), start.elapsed()));
    }
    server.ok(&["user", "lock", "alice"]);
    let start = Instant::now();
    let (code, _, err) = alice.sftp("pwd\n");
    outcomes.push((code, without_user(&err), start.elapsed()));
    for (code, err, _) in &outcomes {
        assert_ne!(*code, 0);
        assert_eq!(err, &outcomes[0].1, "refusals differ");
    }
    assert!(
        outcomes[0]
            .1
            .contains("Permission denied (publickey,password)"),
        "{}",
        outcomes[0].1
    );
    let times: Vec<_> = outcomes.iter().map(|o| o.2.as_millis() as i64).collect();
    let spread = times.iter().max().unwrap() - times.iter().min().unwrap();
    assert!(spread < 400, "refusal times differ too much: {times:?}");
    // The reason is in the server log, not on the wire.
    let log = server.log();
    assert!(
        log.contains("unknown account")
            && log.contains("key not registered")
            && log.contains("account locked")
    );
}

#[test]
fn admin_changes_apply_at_the_next_login_without_restart() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("pwd\n");
    server.ok(&["user", "lock", "alice"]);
    assert_ne!(alice.sftp("pwd\n").0, 0);
    server.ok(&[
        "user",
        "unlock",
        "alice",
        "--reason",
        "password reset confirmed",
    ]);
    alice.sftp_ok("pwd\n");

    // A second key, then removing the first.
    let laptop = Client::new(server.port, "alice");
    assert_ne!(laptop.sftp("pwd\n").0, 0);
    server.ok(&[
        "user",
        "key",
        "add",
        "alice",
        laptop.public_key().to_str().unwrap(),
    ]);
    laptop.sftp_ok("pwd\n");
    let keys = server.ok(&["user", "key", "list", "alice"]);
    assert_eq!(keys.lines().count(), 2, "{keys}");
    let first = keys
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    server.ok(&["user", "key", "remove", "alice", &first]);
    assert_ne!(alice.sftp("pwd\n").0, 0);
    laptop.sftp_ok("pwd\n");

    server.ok(&["user", "remove", "alice"]);
    assert_ne!(laptop.sftp("pwd\n").0, 0);
}

#[test]
fn only_the_sftp_subsystem_is_served() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let out = Command::new("ssh")
        .args(alice.ssh_options())
        .args([
            "-p",
            &alice.port.to_string(),
            "alice@127.0.0.1",
            "cat /etc/passwd",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(server.log().contains("exec refused"));
}

fn read_until_closed(mut s: TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

#[test]
fn unauthenticated_connections_time_out_and_are_bounded_per_address() {
    let server = Server::start_with_config(
        "[limits]\npreauth_timeout_secs = 1\nmax_connections_per_address = 2\nauth_rejection_ms = 100\n",
    );
    let alice = server.account("acme", "alice", "full");
    let a = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let b = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // The third connection from the same address is closed at once, before any key exchange.
    let c = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let (banner, closed) = read_until_closed(c, Duration::from_secs(3));
    assert!(
        closed && banner.is_empty(),
        "third connection got {banner:?}"
    );
    // Idle connections are dropped after the pre-auth timeout.
    let start = Instant::now();
    let (banner, closed) = read_until_closed(a, Duration::from_secs(5));
    assert!(closed, "idle connection was not closed");
    assert!(banner.starts_with(b"SSH-2.0-Strongroom"));
    assert!(start.elapsed() < Duration::from_secs(4));
    drop(b);
    std::thread::sleep(Duration::from_millis(1500));
    // Another address is not affected; and once freed, this one works again.
    alice.sftp_ok("pwd\n");
}

#[test]
fn sessions_per_account_are_bounded() {
    let server = Server::start_with_config(
        "[limits]\nmax_sessions_per_account = 1\nauth_rejection_ms = 100\n",
    );
    let alice = server.account("acme", "alice", "full");
    let mut held = alice.sftp_subsystem();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains(r#""result":"success""#) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, _, _) = alice.sftp("pwd\n");
    assert_ne!(code, 0, "a second session was allowed");
    assert!(server.log().contains("session limit reached"));
    held.kill().unwrap();
    held.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    alice.sftp_ok("pwd\n");
}

#[test]
fn authentication_attempts_per_connection_are_bounded() {
    let server = Server::start_with_config(
        "[limits]\nmax_auth_attempts = 3\nauth_rejection_ms = 50\n[defender]\nmax_failures_per_address = 100\n",
    );
    let alice = server.account("acme", "alice", "full");
    // Five keys nobody registered, offered one after another on one connection.
    let strangers: Vec<Client> = (0..5).map(|_| Client::new(server.port, "alice")).collect();
    let mut cmd = Command::new("ssh");
    cmd.args(support::client_options())
        .args(["-o", "PreferredAuthentications=publickey"]);
    for s in &strangers {
        cmd.arg("-i").arg(s.key());
    }
    let out = cmd
        .args([
            "-p",
            &alice.port.to_string(),
            "-s",
            "alice@127.0.0.1",
            "sftp",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let log = server.log();
    let session_attempts = |session: &str| {
        log.lines()
            .filter(|l| {
                l.contains(r#""kind":"auth""#) && l.contains(&format!(r#""session":"{session}""#))
            })
            .count()
    };
    // The connection's session id, from its first authentication event.
    let first = log
        .lines()
        .find(|l| l.contains(r#""kind":"auth""#))
        .expect("no authentication event");
    let id = first
        .split(r#""session":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(id.len(), 36, "not a UUID: {id}");
    let attempts = session_attempts(id);
    assert!(
        attempts <= 3,
        "{attempts} attempts on one connection:\n{log}"
    );
    assert!(attempts >= 2, "the keys were not tried:\n{log}");
}
