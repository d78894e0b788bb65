//! The gate with the real OpenSSH client: TOTP through SSH_ASKPASS (codes computed by an
//! independent implementation), certificates from `ssh-keygen -s`, the defender's bans from
//! 127.0.0.2 while 127.0.0.1 keeps working, network allow-lists, tenant minimums, expiry.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Client, Server};

/// The current TOTP code of a base32 secret, computed by Python's hmac (not by Strongroom).
fn totp_now(secret_b32: &str) -> String {
    let script = "import base64,hashlib,hmac,struct,sys,time\n\
        s=sys.argv[1]; k=base64.b32decode(s+'='*(-len(s)%8)); c=int(time.time())//30\n\
        h=hmac.new(k,struct.pack('>Q',c),hashlib.sha1).digest(); o=h[-1]&15\n\
        print('%06d'%((struct.unpack('>I',h[o:o+4])[0]&0x7fffffff)%1000000))";
    let out = Command::new("python3")
        .args(["-c", script, secret_b32])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `sftp` with the client's key first, then `answer` given to the keyboard-interactive prompt;
/// returns (exit code, stderr).
fn sftp_with_code(c: &Client, extra: &[&str], answer: &str) -> (i32, String) {
    let key = c.key();
    let mut args = vec![
        "-o",
        "KbdInteractiveAuthentication=yes",
        "-i",
        key.to_str().unwrap(),
        "-o",
        "IdentitiesOnly=yes",
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = c.sftp_answering(&c.user, &args, answer, "pwd\n");
    (code, err)
}

fn line_value<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' in:\n{text}"))
        .trim()
}

#[test]
fn totp_is_required_after_the_key_and_each_code_works_once() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("pwd\n");
    let out = server.ok(&["user", "mfa", "alice"]);
    assert!(
        out.contains("otpauth://totp/Strongroom:alice%40acme?secret="),
        "{out}"
    );
    assert!(
        out.contains('█') || out.contains('▀') || out.contains('▄'),
        "no QR code drawn:\n{out}"
    );
    let secret = line_value(&out, "secret:").to_owned();
    let recovery: Vec<String> = out
        .lines()
        .skip_while(|l| !l.starts_with("recovery codes"))
        .skip(1)
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(recovery.len(), 10, "{out}");
    assert!(
        server
            .ok(&["user", "show", "alice"])
            .contains("TOTP (enrolled)")
    );

    // The key alone no longer opens the door.
    let (code, _, err) = alice.sftp("pwd\n");
    assert_ne!(code, 0, "key alone was enough: {err}");
    // Key + a wrong code: refused. Key + the right code: in.
    assert_ne!(sftp_with_code(&alice, &[], "000000").0, 0);
    let code_now = totp_now(&secret);
    let (rc, err) = sftp_with_code(&alice, &[], &code_now);
    assert_eq!(rc, 0, "key + TOTP refused: {err}");
    // The same code a second time: refused (no replay inside its window).
    assert_ne!(
        sftp_with_code(&alice, &[], &code_now).0,
        0,
        "a TOTP code was accepted twice"
    );
    // A recovery code works once.
    assert_eq!(sftp_with_code(&alice, &[], &recovery[0]).0, 0);
    assert_ne!(
        sftp_with_code(&alice, &[], &recovery[0]).0,
        0,
        "a recovery code was accepted twice"
    );
    // Rotating the tenant key keeps the enrolment.
    server.ok(&["tenant", "rotate-key", "acme"]);
    assert_eq!(sftp_with_code(&alice, &[], &recovery[1]).0, 0);
    let log = server.log();
    assert!(log.contains("first factor accepted; second factor required"));
    assert!(log.contains("second-factor code already used"));
    assert!(log.contains(r#""method":"publickey+totp""#), "{log}");
    // Events are typed JSON lines carrying the client's version.
    let ev = log
        .lines()
        .find(|l| l.contains(r#""kind":"auth""#) && l.contains(r#""result":"success""#))
        .unwrap();
    assert!(ev.contains(r#""client_version":"SSH-2.0-OpenSSH_"#), "{ev}");
    assert!(ev.contains(r#""source":"127.0.0.1:"#), "{ev}");
    // The key that opened those sessions is named on their records with its second factor,
    // so that the incident report on a stolen key finds them (it found none: the login's
    // records carried no credential once a second factor was given).
    let fingerprint = support::fingerprint(&alice.public_key());
    let fingerprint = fingerprint.as_str();
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = loop {
        let r: serde_json::Value =
            serde_json::from_str(&server.ok(&["incident", "report", "--key", fingerprint]))
                .unwrap();
        if (r["sessions"].as_array().unwrap().len() >= 4
            && r["failed_logins"].as_array().unwrap().len() >= 4)
            || Instant::now() > deadline
        {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let sessions = report["sessions"].as_array().unwrap();
    // The key alone before enrolment, then key and code, key and a recovery code, twice.
    assert_eq!(sessions.len(), 4, "{report:#}");
    let with_code: Vec<&serde_json::Value> = sessions
        .iter()
        .filter(|s| s["methods"] == "publickey+totp")
        .collect();
    assert_eq!(with_code.len(), 3, "{report:#}");
    for s in with_code {
        assert_eq!(s["credential"], fingerprint, "{s}");
    }
    // And the connections it was tried on that stopped at the second factor (the key alone, a
    // wrong code, a code and a recovery code used twice): a stolen key without its TOTP shows.
    let failed = report["failed_logins"].as_array().unwrap();
    assert_eq!(failed.len(), 4, "{report:#}");
    for f in failed {
        assert_eq!(f["account"], "alice", "{f}");
        assert!(f["attempts"].as_u64().unwrap() >= 1, "{f}");
    }
}

fn keygen(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    path
}

/// Signs `key.pub` with `ca` into `key-cert.pub`.
fn sign(
    ca: &std::path::Path,
    key: &std::path::Path,
    id: &str,
    principals: &str,
    validity: &str,
    options: &[&str],
) {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-s"])
        .arg(ca)
        .args(["-I", id, "-n", principals, "-V", validity]);
    for o in options {
        cmd.args(["-O", o]);
    }
    let st = cmd.arg(format!("{}.pub", key.display())).status().unwrap();
    assert!(st.success());
}

#[test]
fn certificates_from_a_trusted_ca_are_checked_in_full() {
    // This test fails on purpose many times from one address.
    let server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 100\n[defender]\nmax_failures_per_address = 12\n",
    );
    let alice = server.account("acme", "alice", "full");
    let dir = alice.dir.path();
    let ca = keygen(dir, "ca");
    let rogue = keygen(dir, "rogue-ca");
    server.ok(&[
        "tenant",
        "ca",
        "add",
        "acme",
        &format!("{}.pub", ca.display()),
    ]);
    let login = |key: &std::path::Path| {
        let out = Command::new("sftp")
            .args(support::ssh_options_for(key))
            .args(["-P", &alice.port.to_string(), "-b", "-", "alice@127.0.0.1"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        out.status.code()
    };
    // A key nobody registered, certified by the tenant's CA for principal alice: accepted.
    let laptop = keygen(dir, "laptop");
    sign(&ca, &laptop, "alice-laptop", "alice", "-5m:+1h", &[]);
    assert_eq!(
        login(&laptop),
        Some(0),
        "valid certificate refused:\n{}",
        server.log()
    );
    // Many logins with it never add up to a ban (the plain key the client offers first fails
    // every time; a success forgives it).
    for _ in 0..12 {
        assert_eq!(login(&laptop), Some(0));
    }
    // Refused: expired, wrong principal, untrusted CA, foreign source-address, a forced shell.
    let cases: [(&str, &str, &str, &[&str], &std::path::Path); 5] = [
        ("expired", "alice", "20200101:20200102", &[], &ca),
        ("wrong-principal", "bob", "-5m:+1h", &[], &ca),
        ("rogue", "alice", "-5m:+1h", &[], &rogue),
        (
            "elsewhere",
            "alice",
            "-5m:+1h",
            &["source-address=10.0.0.0/8"],
            &ca,
        ),
        ("shell", "alice", "-5m:+1h", &["force-command=/bin/sh"], &ca),
    ];
    for (id, principal, validity, options, signer) in cases {
        let k = keygen(dir, id);
        sign(signer, &k, id, principal, validity, options);
        assert_ne!(login(&k), Some(0), "{id} certificate accepted");
    }
    // Revocation by key id: new logins refused, and the session the certificate has open
    // closed at once. A session held open with a certified key, until it shows in the list.
    let held = |key: &std::path::Path, key_id: &str| {
        let child = Command::new("sftp")
            .args(support::ssh_options_for(key))
            .args(["-P", &alice.port.to_string(), "-b", "-", "alice@127.0.0.1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server
            .ok(&["session", "list", "--format", "jsonl"])
            .contains(key_id)
        {
            assert!(Instant::now() < deadline, "{key_id}'s session never came");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    };
    let live = |key_id: &str| {
        server
            .ok(&["session", "list", "--format", "jsonl"])
            .contains(key_id)
    };
    let mut open = held(&laptop, "alice-laptop");
    let out = server.ok(&["tenant", "ca", "revoke", "acme", "--key-id", "alice-laptop"]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    assert!(
        !live("alice-laptop"),
        "the revoked certificate's session goes on"
    );
    let _ = open.kill();
    let _ = open.wait();
    // By the certified key's fingerprint: the same.
    let tablet = keygen(dir, "tablet");
    sign(&ca, &tablet, "alice-tablet", "alice", "-5m:+1h", &[]);
    let mut open = held(&tablet, "alice-tablet");
    let certified =
        support::fingerprint(std::path::Path::new(&format!("{}.pub", tablet.display())));
    let out = server.ok(&[
        "tenant",
        "ca",
        "revoke",
        "acme",
        "--fingerprint",
        &certified,
    ]);
    assert!(out.contains("1 live session(s) closed"), "{out}");
    assert!(
        !live("alice-tablet"),
        "the revoked certificate's session goes on"
    );
    assert_ne!(login(&tablet), Some(0), "revoked certificate accepted");
    let _ = open.kill();
    let _ = open.wait();
    // A revocation the server was not told of (made on another node, or by a command that
    // could not reach it): the server finds it in the catalog within some 2 s and ends the
    // session, saying why.
    let phone = keygen(dir, "phone");
    sign(&ca, &phone, "alice-phone", "alice", "-5m:+1h", &[]);
    let mut open = held(&phone, "alice-phone");
    support::sqlite(
        &server.data_dir().join("catalog.db"),
        "INSERT INTO cert_revocations (tenant_id, kind, value, created_at) \
         SELECT id, 'key-id', 'alice-phone', 0 FROM tenants WHERE name = 'acme'",
    );
    support::wait_until("the revoked certificate's session's end", 5, 50, || {
        !live("alice-phone")
    });
    // (Its close's record follows its end in the registry.)
    support::wait_until("the session's close on the record", 5, 50, || {
        let sessions = server.ok(&["audit", "export", "--kind", "session"]);
        sessions.lines().any(|l| {
            l.contains(r#""opened":false"#)
                && l.contains(r#""ended_by":"certificate revoked (found so in the catalog)""#)
        })
    });
    let _ = open.kill();
    let _ = open.wait();
    // The incident report on the certificate, by its key id as a person gives it: its
    // sessions (the 13 logins above, and the one just closed).
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = loop {
        let r: serde_json::Value =
            serde_json::from_str(&server.ok(&["incident", "report", "--key", "alice-laptop"]))
                .unwrap();
        if r["sessions"].as_array().unwrap().len() >= 14 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        report["sessions"].as_array().unwrap().len(),
        14,
        "{report:#}"
    );
    assert_ne!(login(&laptop), Some(0), "revoked certificate accepted");
    let listed = server.ok(&["tenant", "ca", "list", "acme"]);
    assert!(listed.contains("revoked\tkey-id\talice-laptop"), "{listed}");
    let log = server.log();
    for reason in [
        "principals do not name the account",
        "CA the tenant does not trust",
        "source-address",
        "force-command",
        "revoked",
    ] {
        assert!(log.contains(reason), "no refusal logged for {reason}");
    }
}

fn ssh_from(c: &Client, bind: &str, user: &str) -> (Option<i32>, String) {
    let out = Command::new("sftp")
        .args(c.ssh_options())
        .args([
            "-o",
            &format!("BindAddress={bind}"),
            "-P",
            &c.port.to_string(),
            "-b",
            "-",
        ])
        .arg(format!("{user}@127.0.0.1"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn repeated_failures_ban_the_address_while_others_keep_working() {
    let server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 50\n[defender]\nmax_failures_per_address = 4\nban_secs = [60, 120]\n",
    );
    let alice = server.account("acme", "alice", "full");
    let mallory = Client::new(server.port, "alice");
    for _ in 0..4 {
        let (code, _) = ssh_from(&mallory, "127.0.0.2", "alice");
        assert_ne!(code, Some(0));
    }
    // Banned: the connection is closed before any key exchange.
    let (code, err) = ssh_from(&mallory, "127.0.0.2", "alice");
    assert_ne!(code, Some(0));
    assert!(
        !err.contains("Permission denied"),
        "a banned address reached authentication: {err}"
    );
    let bans = server.ok(&["ban", "list"]);
    assert!(bans.contains("127.0.0.2\tlevel 1"), "{bans}");
    // The real user from another address is unaffected, even with the right key from there.
    alice.sftp_ok("pwd\n");
    assert_ne!(ssh_from(&alice, "127.0.0.2", "alice").0, Some(0));
    // Lifting the ban takes effect within seconds.
    server.ok(&["ban", "remove", "127.0.0.2"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ssh_from(&alice, "127.0.0.2", "alice").0 != Some(0) {
        assert!(Instant::now() < deadline, "ban was not lifted");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(server.log().contains(r#""kind":"ban""#));
    assert!(
        server
            .log()
            .contains(r#""kind":"connection","accepted":false,"reason":"address banned""#)
    );
}

/// An IPv6 source is its /64 (`[defender] ipv6_prefix`): failures from `[::1]` earn a ban
/// stored as `::/64`, refused at accept for the account's real key too, lifted by removing
/// that network's ban. (Other addresses of one /64 are the defender's unit test: loopback has
/// only `::1`.)
#[test]
fn an_ipv6_source_is_banned_by_its_network() {
    use std::io::BufRead as _;
    let mut server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 50\n[defender]\nmax_failures_per_address = 3\nban_secs = [60]\n",
    );
    let alice = server.account("acme", "alice", "full");
    server.stop();
    // The same data directory, served on the IPv6 loopback.
    let mut child = Command::new(support::BIN)
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["serve", "--sftp-listen", "[::1]:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut said = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = said
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("listening for SFTP on ")
                .map(|a| a.rsplit(':').next().unwrap().parse().unwrap())
        })
        .expect("the server did not start on [::1]");
    // Read on to its end, so that the server never writes to a closed pipe.
    std::thread::spawn(move || said.for_each(drop));
    let over_ipv6 = |c: &Client| {
        let out = Command::new("sftp")
            .args(c.ssh_options())
            .args(["-P", &port.to_string(), "-b", "-"])
            .arg("alice@[::1]")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mallory = Client::new(port, "alice");
    for _ in 0..3 {
        let (code, err) = over_ipv6(&mallory);
        assert!(
            code != Some(0) && err.contains("Permission denied"),
            "{err}"
        );
    }
    let bans = server.ok(&["ban", "list"]);
    assert!(bans.contains("::/64\tlevel 1"), "{bans}");
    let (code, err) = over_ipv6(&alice);
    assert!(
        code != Some(0) && !err.contains("Permission denied"),
        "a banned source reached authentication: {err}"
    );
    server.ok(&["ban", "remove", "::/64"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while over_ipv6(&alice).0 != Some(0) {
        assert!(Instant::now() < deadline, "the ban was not lifted");
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn spraying_is_banned_and_stuffing_soft_locks_the_account() {
    let server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 50\n[defender]\nspray_accounts = 3\nstuffing_addresses = 3\n",
    );
    let alice = server.account("acme", "alice", "full");
    let sprayer = Client::new(server.port, "x");
    for user in ["ann", "ben", "cat"] {
        ssh_from(&sprayer, "127.0.0.3", user);
    }
    assert!(
        server.ok(&["ban", "list"]).contains("127.0.0.3"),
        "spraying not banned"
    );
    // Stuffing: alice's account fails from three addresses.
    for addr in ["127.0.0.4", "127.0.0.5", "127.0.0.6"] {
        ssh_from(&sprayer, addr, "alice");
    }
    let show = server.ok(&["user", "show", "alice"]);
    assert!(show.contains("under credential stuffing"), "{show}");
    // Without a second factor enrolled, the account is soft-locked even for its real key.
    let (code, _, _) = alice.sftp("pwd\n");
    assert_ne!(code, 0, "soft-locked account let in");
    assert!(server.log().contains("soft-locked"));
    assert!(server.log().contains(r#""kind":"account_under_attack""#));
}

#[test]
fn allow_lists_tenant_minimums_and_expiry_are_enforced() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let svc = server.account("acme", "svc", "full");
    alice.sftp_ok("pwd\n");

    // Tenant allow-list excluding the client: refused (before key exchange once refreshed).
    server.ok(&["tenant", "policy", "acme", "--networks", "10.0.0.0/8"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while alice.sftp("pwd\n").0 == 0 {
        assert!(Instant::now() < deadline, "allow-list not enforced");
        std::thread::sleep(Duration::from_millis(300));
    }
    server.ok(&["tenant", "policy", "acme", "--networks", "127.0.0.0/8"]);
    // Account allow-list narrower than the tenant's.
    server.ok(&["user", "set", "alice", "--networks", "127.0.0.2"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ssh_from(&alice, "127.0.0.2", "alice").0 != Some(0) {
        assert!(Instant::now() < deadline, "allowed address refused");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_ne!(
        alice.sftp("pwd\n").0,
        0,
        "address outside the account's list let in"
    );
    server.ok(&["user", "set", "alice", "--networks", "any"]);

    // Every human account needs a second factor; an automation account does not.
    server.ok(&["tenant", "policy", "acme", "--require-mfa", "yes"]);
    server.ok(&["user", "set", "svc", "--automation", "yes"]);
    assert_ne!(
        alice.sftp("pwd\n").0,
        0,
        "human account without a second factor let in"
    );
    svc.sftp_ok("pwd\n");
    let show = server.ok(&["user", "show", "alice"]);
    assert!(show.contains("NOT ENROLLED"), "{show}");
    server.ok(&["tenant", "policy", "acme", "--require-mfa", "no"]);

    // Methods: certificate-only refuses the plain key.
    server.ok(&["user", "set", "alice", "--methods", "certificate"]);
    assert_ne!(alice.sftp("pwd\n").0, 0);
    server.ok(&["user", "set", "alice", "--methods", "publickey,certificate"]);
    alice.sftp_ok("pwd\n");

    // An expired key is refused; last use is recorded.
    let old = Client::new(server.port, "alice");
    server.ok(&[
        "user",
        "key",
        "add",
        "alice",
        old.public_key().to_str().unwrap(),
        "--expires",
        "2020-01-01",
    ]);
    assert_ne!(old.sftp("pwd\n").0, 0, "expired key accepted");
    let show = server.ok(&["user", "show", "alice"]);
    assert!(show.contains("expires 2020-01-01T00:00:00Z"), "{show}");
    assert!(
        show.contains("from 127.0.0.1"),
        "last use not recorded: {show}"
    );
    assert!(server.log().contains("key expired"));
    let bad = server.admin(&["tenant", "policy", "acme", "--networks", "10.0.0.0/33"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// A certificate's validity is a window to log in within, as OpenSSH takes it: a session it
/// opened goes on past its end (an issuer's certificates of minutes would otherwise cut every
/// longer transfer), and a new login with it after the end is refused.
#[test]
fn a_certificates_end_bounds_its_logins_not_its_sessions() {
    let server = Server::start_with_config("[limits]\nidle_timeout_secs = 4\n");
    // alice's account has a password only: the certificate is what lets the key in.
    server.account_with_password("acme", "alice", "correct horse battery staple", None);
    server.ok(&["user", "set", "alice", "--methods", "certificate,password"]);
    let certified = support::Client::new(server.port, "alice");
    let ca = keygen(certified.dir.path(), "ca");
    server.ok(&[
        "tenant",
        "ca",
        "add",
        "acme",
        &format!("{}.pub", ca.display()),
    ]);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let ends = now() + 3;
    // `2026-12-06T17:15:16.000Z` -> `20261206171516Z` (ssh-keygen's UTC form).
    let end_text = events::Time::from_secs(ends as i64)
        .to_string()
        .replace(['-', ':', 'T'], "");
    let end_text = format!("{}Z", &end_text[..14]);
    sign(
        &ca,
        &certified.key(),
        "alice-laptop",
        "alice",
        &format!("-5m:{end_text}"),
        &[],
    );
    let mut raw = support::raw::Raw::connect(&certified);
    let realpath = || sftp_proto::RequestOp::Realpath { path: "/".into() };
    // Busy past the certificate's end and two sweeps after it.
    let mut id = 1;
    while now() < ends + 3 {
        raw.call(id, realpath());
        id += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    raw.call(id, realpath());
    let (code, _, _) = certified.sftp("pwd\n");
    assert_ne!(code, 0, "a login with the certificate after its end");
}

/// Bans are forgotten a week after their end, not kept (and read every few seconds) forever;
/// one that ended within the week is kept for escalation; a ban another process writes into
/// the catalog while the server runs is enforced within seconds (read among those made since).
#[test]
fn bans_ended_over_a_week_ago_are_forgotten_and_new_ones_enforced() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    server.stop();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let db = server.data_dir().join("catalog.db");
    let ban = |address: &str, until: i64| {
        format!(
            "INSERT INTO bans VALUES ('{address}', 1, {until}, 'too many failed logins', {});",
            (until - 900).min(now)
        )
    };
    support::sqlite(
        &db,
        &[
            ban("198.51.100.1", now - 8 * 86_400),
            ban("198.51.100.2", now - 3600),
        ]
        .concat(),
    );
    server.start_again();
    let kept = support::sqlite_query(&db, "SELECT address FROM bans ORDER BY address");
    assert_eq!(kept, "198.51.100.2\n");
    assert_eq!(ssh_from(&alice, "127.0.0.5", "alice").0, Some(0));
    support::sqlite(&db, &ban("127.0.0.5", now + 3600 + 900));
    let deadline = Instant::now() + Duration::from_secs(10);
    while ssh_from(&alice, "127.0.0.5", "alice").0 == Some(0) {
        assert!(Instant::now() < deadline, "the ban was not taken up");
        std::thread::sleep(Duration::from_millis(500));
    }
    alice.sftp_ok("pwd\n");
}
