//! Detection and containment end to end, with the real binary and OpenSSH's client: a stolen
//! automation key pulling a tenant's files from an address it never used, the same pull by a
//! brand-new account, canaries, alerts (list, show, acknowledge), unlocking with a reason,
//! overrides, and replay of a simulated month with a low-and-slow attacker mixed in.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sftp_proto::{OpenFlags, RequestOp};
use support::raw::Raw;
use support::{Client, Server};

const MIB: u64 = 1 << 20;

/// Defaults, except that networks are single addresses (so that loopback addresses stand for
/// different clients' networks).
const CONFIG: &str = "[limits]\nauth_rejection_ms = 100\n[detect]\nnetwork_prefix_v4 = 32\n";

/// `sftp -b -` as `c`, from source address `from`.
fn sftp_from(c: &Client, from: &str, script: &str) -> Output {
    c.sftp_from(from, script)
}

/// Bytes of every file under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                bytes_under(&p)
            } else {
                std::fs::metadata(&p).map_or(0, |m| m.len())
            }
        })
        .sum()
}

/// Uploads, as `c` from `from`, a tree of `total` bytes under `/data` in files of mixed sizes
/// (1 KiB to 96 MiB), written locally a batch at a time and removed once uploaded: the disk holds
/// the stored tree and at most one batch of it (CI's machine may have little to spare).
fn upload_tree(c: &Client, from: &str, total: u64) -> u64 {
    const BATCH: u64 = 256 * MIB;
    let dir = c.work().join("tree");
    let sizes = [
        96 * MIB,
        1024,
        40 * MIB,
        300 * 1024,
        8 * MIB,
        64 * MIB,
        5 * 1024,
        20 * MIB,
    ];
    let mut script = String::from("mkdir /data\nmkdir /data/statements\nmkdir /data/payments\n");
    let mut batch = 0;
    let mut written = 0;
    let mut i = 0;
    while written < total {
        if batch == 0 {
            std::fs::create_dir_all(dir.join("statements")).unwrap();
            std::fs::create_dir_all(dir.join("payments")).unwrap();
        }
        let size = sizes[i % sizes.len()].min(total - written).max(1);
        let sub = if i % 2 == 0 { "statements" } else { "payments" };
        let data = support::pseudo_random(i as u64 + 1, size as usize);
        let name = format!("{sub}/f{i:03}.dat");
        std::fs::write(dir.join(&name), data).unwrap();
        script.push_str(&format!("put tree/{name} /data/{name}\n"));
        written += size;
        batch += size;
        i += 1;
        if batch >= BATCH || written >= total {
            let out = sftp_from(c, from, &script);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::remove_dir_all(&dir).unwrap();
            script.clear();
            batch = 0;
        }
    }
    written
}

/// The alerts as JSON values.
fn alerts(server: &Server) -> Vec<serde_json::Value> {
    server
        .ok(&["alert", "list", "--format", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for_alert(server: &Server, account: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(a) = alerts(server).into_iter().find(|a| {
            a["account"] == account && a["severity"] != "medium" && a["severity"] != "low"
        }) {
            return a;
        }
        assert!(Instant::now() < deadline, "no alert for {account}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `c` (account `account`) pulling every statement (`get -r /statements loot`) is stopped at
/// its cautious limit: exactly 200 files taken. Returns its `bulk_read` alert (not `earlier`).
fn pull_stopped_at_the_cautious_limit(
    server: &Server,
    c: &Client,
    account: &str,
    earlier: Option<&serde_json::Value>,
) -> serde_json::Value {
    let out = c.sftp("get -r /statements loot\n");
    assert_ne!(out.0, 0, "{out:?}");
    let taken = std::fs::read_dir(c.work().join("loot")).unwrap().count();
    assert_eq!(taken, 200, "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let a = loop {
        let raised = alerts(server).into_iter().find(|a| {
            a["account"] == account
                && (a["severity"] == "high" || a["severity"] == "critical")
                && earlier.is_none_or(|e| a["id"] != e["id"])
        });
        if let Some(a) = raised {
            break a;
        }
        assert!(Instant::now() < deadline, "no alert for {account}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(a["rule"], "bulk_read", "{a}");
    a
}

/// `account`'s alert, once raised: high, `mass_change`, the account locked by it (`out`: what
/// its client said, for the failure's message).
fn contained(server: &Server, account: &str, out: &(i32, String, String)) -> serde_json::Value {
    let a = wait_for_alert(server, account);
    assert_eq!(
        (a["severity"].as_str(), a["rule"].as_str()),
        (Some("high"), Some("mass_change")),
        "{a} {out:?}"
    );
    let shown = server.ok(&["user", "show", account]);
    assert!(shown.contains("locked (alert"), "{shown} {out:?}");
    a
}

/// The incident report of alert `a`, as JSON.
fn report_of(server: &Server, a: &serde_json::Value) -> serde_json::Value {
    let id = a["id"].as_str().unwrap();
    serde_json::from_str(&server.ok(&["incident", "report", "--alert", id])).unwrap()
}

/// The first tenant's changes of kind `op` in `report`.
fn changes_of<'a>(report: &'a serde_json::Value, op: &str) -> Vec<&'a serde_json::Value> {
    let changes = report["tenants"][0]["changes"].as_array();
    let changes = changes.unwrap_or_else(|| panic!("no changes listed: {report:#}"));
    changes.iter().filter(|c| c["op"] == op).collect()
}

#[test]
fn a_stolen_key_pulling_everything_is_contained_early_and_others_are_untouched() {
    let server = Server::start_with_config(CONFIG);
    let robot = server.account("acme", "robot", "full");
    let partner = server.account("acme", "partner", "full");
    // The tenant: about 2 GiB, uploaded by the automation account from its usual address.
    let total = upload_tree(&robot, "127.0.0.2", 2048 * MIB);
    // A partner's own file, which it downloads while the attack runs (four times 5 MiB: within
    // what a new account may read in an hour).
    std::fs::write(
        partner.work().join("mine"),
        support::pseudo_random(99, 5 << 20),
    )
    .unwrap();
    let out = sftp_from(&partner, "127.0.0.3", "put mine /partner.bin\n");
    assert!(out.status.success());
    // The server learns account creation times and tenant sizes every 2 seconds.
    std::thread::sleep(Duration::from_millis(2500));

    let legit = {
        let partner = partner_clone(&partner);
        std::thread::spawn(move || {
            let mut outs = Vec::new();
            for i in 0..4 {
                outs.push(sftp_from(
                    &partner,
                    "127.0.0.3",
                    &format!("get /partner.bin back{i}\n"),
                ));
                std::thread::sleep(Duration::from_millis(300));
            }
            (outs, partner)
        })
    };
    // The stolen key, from an address robot never used, at full speed.
    std::fs::create_dir_all(robot.work().join("loot")).unwrap();
    let started = Instant::now();
    let out = sftp_from(&robot, "127.0.0.9", "get -r /data loot\n");
    let elapsed = started.elapsed();
    let taken = bytes_under(&robot.work().join("loot"));
    println!(
        "stolen key: {:.1} MiB of {:.0} MiB taken before containment ({:.2} s)",
        taken as f64 / MIB as f64,
        total as f64 / MIB as f64,
        elapsed.as_secs_f64()
    );
    assert!(!out.status.success(), "the pull completed");
    let limit = (total / 50).max(64 * MIB);
    assert!(taken < limit, "{taken} bytes taken, limit {limit}");

    let a = wait_for_alert(&server, "robot");
    assert_eq!(a["severity"], "critical", "{a}");
    assert_eq!(a["rule"], "bulk_read");
    assert!(
        a["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "T1119")
    );
    for action in ["close_sessions", "lock_account", "ban_address"] {
        assert!(
            a["actions"].as_array().unwrap().iter().any(|x| x == action),
            "{action} missing: {a}"
        );
    }
    assert_eq!(a["source"], "127.0.0.9");
    assert!(!a["evidence"].as_array().unwrap().is_empty());
    assert!(server.ok(&["user", "show", "robot"]).contains("locked"));
    assert!(server.ok(&["ban", "list"]).contains("127.0.0.9"));
    // The incident report of the alert: the contained session, what it read before. (The
    // closed session's last records reach the ledger within moments of its end.)
    let deadline = Instant::now() + Duration::from_secs(10);
    let report: serde_json::Value = loop {
        let r: serde_json::Value = serde_json::from_str(&server.ok(&[
            "incident",
            "report",
            "--alert",
            a["id"].as_str().unwrap(),
        ]))
        .unwrap();
        if r["totals"]["bytes_read"].as_u64().unwrap_or(0) > 0 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let ended = report["sessions"][0]["ended_by"]
        .as_str()
        .unwrap_or_default();
    assert!(ended.starts_with("contained by alert "), "{report:#}");
    let read = report["totals"]["bytes_read"].as_u64().unwrap();
    assert!(read > 0 && read <= 96 * MIB, "{read}");
    // Its evidence for a third party: the contained session's records, and every other record
    // of robot's in the same intervals sealed, so that none of the session's was left out.
    let evidence = server
        .data_dir()
        .parent()
        .unwrap()
        .join("alert.evidence.jsonl");
    let out = server.admin(&[
        "incident",
        "report",
        "--alert",
        a["id"].as_str().unwrap(),
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let public_key = server.ledger_public_key();
    let out = Command::new(support::BIN)
        .args(["incident", "check"])
        .arg(&evidence)
        .args(["--public-key", &public_key])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    let session = report["sessions"][0]["id"].as_str().unwrap();
    for expected in [
        "\ncomplete: every record of account robot from ".to_owned(),
        format!(", of session {session})\n"),
        "\nthat is the account the report's records name: ".to_owned(),
    ] {
        assert!(said.contains(&expected), "{expected:?} in {said}");
    }
    // Locked: even from its usual address, robot is refused now.
    let out = sftp_from(&robot, "127.0.0.2", "ls\n");
    assert!(!out.status.success());

    // The partner was never touched: every download whole.
    let (outs, partner) = legit.join().unwrap();
    for (i, o) in outs.iter().enumerate() {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            std::fs::read(partner.work().join(format!("back{i}"))).unwrap(),
            support::pseudo_random(99, 5 << 20)
        );
    }
    assert!(!server.ok(&["user", "show", "partner"]).contains("locked"));

    // The same pull by a brand-new account, with no history at all: contained too (high:
    // closed and locked; its address is not banned).
    let newbie = server.account("acme", "newbie", "read-only");
    std::thread::sleep(Duration::from_millis(2500));
    std::fs::create_dir_all(newbie.work().join("loot")).unwrap();
    let out = sftp_from(&newbie, "127.0.0.12", "get -r /data loot\n");
    let taken = bytes_under(&newbie.work().join("loot"));
    println!(
        "brand-new account: {:.1} MiB taken before containment",
        taken as f64 / MIB as f64
    );
    assert!(!out.status.success());
    assert!(taken < limit, "{taken} bytes taken, limit {limit}");
    let a = wait_for_alert(&server, "newbie");
    assert_eq!(
        (a["severity"].as_str(), a["rule"].as_str()),
        (Some("high"), Some("bulk_read"))
    );
    assert!(server.ok(&["user", "show", "newbie"]).contains("locked"));
    assert!(!server.ok(&["ban", "list"]).contains("127.0.0.12"));

    // Unlocked where the server was not told (another node, or a command that could not reach
    // it): its detector reads the unlock from the catalog within some 2 s and watches the
    // account afresh (contained, it raised nothing more), so the same pull is contained again.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    support::sqlite(
        &server.data_dir().join("catalog.db"),
        &format!(
            "UPDATE accounts SET locked = 0, lock_reason = NULL, released_at = {now_ms} \
             WHERE name = 'newbie'"
        ),
    );
    std::thread::sleep(Duration::from_millis(2500));
    std::fs::remove_dir_all(newbie.work().join("loot")).unwrap();
    std::fs::create_dir_all(newbie.work().join("loot")).unwrap();
    let out = sftp_from(&newbie, "127.0.0.12", "get -r /data loot\n");
    assert!(!out.status.success());
    support::wait_until("a second alert for newbie", 10, 100, || {
        alerts(&server)
            .iter()
            .filter(|a| a["account"] == "newbie" && a["rule"] == "bulk_read")
            .count()
            == 2
    });
    assert!(server.ok(&["user", "show", "newbie"]).contains("locked"));

    // Acknowledged with a note; unlocked with a reason (required), and it logs in again.
    let id = a["id"].as_str().unwrap();
    server.ok(&["alert", "ack", id, "--note", "test account, expected"]);
    let shown = server.ok(&["alert", "show", id, "--format", "json"]);
    assert!(shown.contains("test account, expected"), "{shown}");
    let refused = server.admin(&["user", "unlock", "newbie"]);
    assert_eq!(refused.status.code(), Some(2));
    server.ok(&[
        "user",
        "unlock",
        "newbie",
        "--reason",
        "confirmed with the owner",
    ]);
    let out = sftp_from(&newbie, "127.0.0.12", "ls /\n");
    assert!(out.status.success());
    // Every alert is a ledger record, and the ledger still verifies.
    let export = server.ok(&["audit", "export", "--user", "robot"]);
    assert!(
        export
            .lines()
            .any(|l| l.contains(r#""kind":"alert""#) && l.contains("critical"))
    );
    server.assert_ledger_verifies();
}

/// OPEN of `path` for reading.
fn open_for_reading(path: &str) -> RequestOp {
    RequestOp::Open {
        path: path.as_bytes().to_vec().into(),
        flags: OpenFlags(OpenFlags::READ),
        attrs: Default::default(),
    }
}

/// A copy of a client (same key and port, a working directory of its own) for a thread.
fn partner_clone(c: &Client) -> Client {
    let copy = Client::new(c.port, &c.user);
    std::fs::copy(c.key(), copy.key()).unwrap();
    std::fs::copy(c.public_key(), copy.public_key()).unwrap();
    copy
}

#[test]
fn a_canary_opened_by_anyone_is_contained_within_a_second() {
    let server = Server::start_with_config(CONFIG);
    let alice = server.account("acme", "alice", "full");
    let usage = |s: &Server| {
        s.ok(&["tenant", "show", "acme"])
            .lines()
            .find(|l| l.starts_with("usage:"))
            .unwrap()
            .to_owned()
    };
    alice.sftp_ok("mkdir /reports\n");
    let before = usage(&server);
    server.ok(&["canary", "add", "acme", "/reports/customers-2026.csv"]);
    let list = server.ok(&["canary", "list"]);
    assert!(list.contains("/reports/customers-2026.csv"), "{list}");
    // Administrators see it as one; classification leaves its decoy contents alone.
    let listed = server.ok(&["file", "list", "acme", "/reports", "--format", "jsonl"]);
    assert!(listed.contains(r#""canary":true"#), "{listed}");
    let classified = server.ok(&["classify", "run", "--tenant", "acme", "--again"]);
    assert!(classified.contains("0 files classified"), "{classified}");
    // Not counted against the quota; listed and stat-ed like any file, which does nothing.
    assert_eq!(usage(&server), before);
    let ls = alice.sftp_ok("ls -l /reports\n");
    assert!(ls.contains("customers-2026.csv"), "{ls}");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(alerts(&server).is_empty());

    // Opening it: critical; the session is closed before the open is answered (no handle,
    // nothing of the decoy read), the account locked.
    let mut raw = Raw::connect(&alice);
    let t = Instant::now();
    let opened = raw.try_call(1, open_for_reading("/reports/customers-2026.csv"));
    let closed = t.elapsed();
    assert!(opened.is_none(), "the open was answered");
    assert!(
        raw.try_call(2, RequestOp::Realpath { path: "/".into() })
            .is_none()
    );
    println!(
        "canary: session closed {} ms after the open, unanswered",
        closed.as_millis()
    );
    assert!(closed < Duration::from_secs(1), "{closed:?}");
    let a = wait_for_alert(&server, "alice");
    assert_eq!(
        (a["severity"].as_str(), a["rule"].as_str()),
        (Some("critical"), Some("canary"))
    );
    let shown = server.ok(&["user", "show", "alice"]);
    let why = format!(
        "state:     locked (alert {}: canary)",
        a["id"].as_str().unwrap()
    );
    assert!(shown.contains(&why), "{shown}");
    // The decoy holds plausible data.
    let text = server.ok(&["canary", "list", "acme"]);
    assert!(text.contains("acme"));
    server.ok(&["canary", "remove", "acme", "/reports/customers-2026.csv"]);
    assert!(!server.ok(&["canary", "list"]).contains("customers-2026"));
}

/// A canary overwritten in place (as ransomware rewrites files) or removed by a rename over it
/// is touched as much as one opened: critical, the account locked. Two accounts, as the first
/// alert locks the first.
#[test]
fn a_canary_overwritten_or_renamed_over_is_critical() {
    let server = Server::start_with_config(CONFIG);
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("acme", "bob", "full");
    alice.sftp_ok("mkdir /reports\n");
    server.ok(&["canary", "add", "acme", "/reports/customers-2026.csv"]);
    server.ok(&["canary", "add", "acme", "/reports/customers-2027.csv"]);
    std::fs::write(alice.work().join("x.csv"), "encrypted\n").unwrap();
    std::fs::write(bob.work().join("y.csv"), "mine\n").unwrap();
    // A new file and a rename that replaces nothing: no alert.
    bob.sftp_ok("put y.csv /reports/y.csv\nrename /reports/y.csv /reports/z.csv\n");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(alerts(&server).is_empty(), "{:?}", alerts(&server));

    // Alice writes over one (containment bans her address too: Bob comes from another).
    sftp_from(
        &alice,
        "127.0.0.2",
        "put x.csv /reports/customers-2026.csv\n",
    );
    let a = wait_for_alert(&server, "alice");
    assert_eq!(
        (a["severity"].as_str(), a["rule"].as_str()),
        (Some("critical"), Some("canary"))
    );
    assert_eq!(
        a["summary"],
        "alice overwrote canary file /reports/customers-2026.csv in tenant acme"
    );
    assert!(
        server
            .ok(&["user", "show", "alice"])
            .contains("locked (alert")
    );
    // Bob renames his file over the other (POSIX rename, as OpenSSH's sftp does): his
    // session is closed before the rename is answered.
    let out = sftp_from(
        &bob,
        "127.0.0.3",
        "rename /reports/z.csv /reports/customers-2027.csv\n",
    );
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("closed"),
        "{out:?}"
    );
    let b = wait_for_alert(&server, "bob");
    assert_eq!(
        b["summary"],
        "bob replaced canary file /reports/customers-2027.csv by renaming /reports/z.csv over it \
         in tenant acme"
    );
    assert!(
        server
            .ok(&["user", "show", "bob"])
            .contains("locked (alert")
    );
}

/// Stolen credentials destroying a tenant's files, with the default thresholds: one removing
/// files it never downloaded, another writing over files it did not upload (as ransomware
/// writes back what it read, encrypted), a third writing each file it downloads back under a
/// new name (`.locked` added) and removing it (as ransomware that renames does). Past 100 such
/// changes within 10 minutes each is high: its sessions are closed at the change that crossed
/// the threshold and the account locked, and the rest of the files stay as they were. A
/// partner collecting its files (each downloaded, answered with a small acknowledgement named
/// after it, then removed), a bank removing what it uploaded and sending its reports again
/// over their own names raise nothing. Ransomware writing each file back under a temporary
/// name and renaming it after the original counts as writing it there at once.
#[test]
fn destroying_a_tenants_files_is_contained_and_collecting_them_is_not() {
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    let partner = server.account("acme", "partner", "full");
    let mallory = server.account("acme", "mallory", "full");
    let eve = server.account("acme", "eve", "full");
    let trudy = server.account("acme", "trudy", "full");
    let files_in = |c: &Client, dir: &str, text: &str| {
        std::fs::create_dir_all(c.work().join(dir)).unwrap();
        for i in 0..130 {
            let name = format!("{dir}/{dir}-{i:03}.csv");
            std::fs::write(c.work().join(&name), format!("{name} {text}\n")).unwrap();
        }
    };
    for dir in ["statements", "payments", "reports", "ledgers"] {
        files_in(&bank, dir, "bank");
    }
    files_in(&eve, "reports", "encrypted");
    bank.sftp_ok("mkdir /out\nput -r statements /out/statements\nput -r payments /out/payments\nput -r reports /out/reports\nput -r ledgers /out/ledgers\nmkdir /tmp\nput -r statements /tmp/statements\n");
    // The bank tidies what it uploaded and sends its reports again; the partner collects the
    // payments, answering each with an acknowledgement named after it.
    bank.sftp_ok("rm /tmp/statements/*\nput reports/* /out/reports/\n");
    std::fs::write(partner.work().join("ack.txt"), "ACK\n").unwrap();
    let acks: String = (0..130)
        .map(|i| format!("put ack.txt /out/payments/payments-{i:03}.csv.ack\n"))
        .collect();
    partner.sftp_ok(&format!(
        "get /out/payments/* .\n{acks}rm /out/payments/*.csv\n"
    ));
    let csv_files = |c: &Client| {
        std::fs::read_dir(c.work())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "csv")
            })
            .count()
    };
    assert_eq!(csv_files(&partner), 130);
    assert_eq!(
        bank.sftp_ok("ls -1 /out/payments\n")
            .lines()
            .filter(|l| l.ends_with(".csv.ack"))
            .count(),
        130
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(alerts(&server).is_empty(), "{:?}", alerts(&server));

    // Each attacker's alert: high, mass_change, the account locked.
    // Mallory removes the statements, which she never downloaded.
    let out = mallory.sftp("-rm /out/statements/*\n");
    let a = contained(&server, "mallory", &out);
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .starts_with("mallory removed, replaced or moved 101 files of others in 10 minutes"),
        "{a}"
    );
    // Her session was closed at the removal that crossed the threshold (it waited for the
    // detector): the other 29 are still there.
    assert_eq!(csv_files_listed(&bank, "/out/statements"), 29, "{out:?}");

    // Eve writes over the bank's reports.
    let out = eve.sftp("-put reports/* /out/reports/\n");
    let a = contained(&server, "eve", &out);
    let back = bank.work().join("back");
    std::fs::create_dir_all(&back).unwrap();
    bank.sftp_ok(&format!("get /out/reports/* {}/\n", back.display()));
    let still_the_banks = std::fs::read_dir(&back)
        .unwrap()
        .filter(|e| {
            std::fs::read_to_string(e.as_ref().unwrap().path())
                .unwrap()
                .ends_with("bank\n")
        })
        .count();
    assert_eq!(still_the_banks, 29, "{out:?}");
    // The alert's incident report lists what she replaced: every report the bank lost, each
    // change naming the file it replaced.
    let report = report_of(&server, &a);
    assert_eq!(
        report["totals"]["changes_replacing"].as_u64(),
        Some(130 - still_the_banks as u64),
        "{report:#}"
    );

    // Trudy downloads each ledger, uploads it back encrypted under a new name (every other
    // one written to a temporary name first, then renamed) and removes it.
    let mut script = String::new();
    for i in 0..130 {
        let name = format!("ledgers-{i:03}.csv");
        let encrypted = format!("/out/ledgers/{name} bank\n{}\n", "x".repeat(40));
        std::fs::write(trudy.work().join(format!("{name}.locked")), encrypted).unwrap();
        let upload = if i % 2 == 0 {
            format!("put {name}.locked /out/ledgers/{name}.locked\n")
        } else {
            format!(
                "put {name}.locked /out/ledgers/.t{i}\n\
                 rename /out/ledgers/.t{i} /out/ledgers/{name}.locked\n"
            )
        };
        script.push_str(&format!(
            "get /out/ledgers/{name} plain.csv\n{upload}rm /out/ledgers/{name}\n"
        ));
    }
    let out = trudy.sftp(&script);
    let a = contained(&server, "trudy", &out);
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .starts_with("trudy removed, replaced or moved 101 files of others in 10 minutes"),
        "{a}"
    );
    assert_eq!(csv_files_listed(&bank, "/out/ledgers"), 29, "{out:?}");
}

/// Files renamed away from where their partners look for them count as removed ones do: a
/// stolen credential hiding the bank's 130 statements under new names is stopped at the 101st
/// rename, before its reply; the bank renaming its own uploads once complete (`.part` to
/// `.csv`), a partner moving the 130 payments it collected to `done/` and one claiming each of
/// 130 invoices by renaming it before downloading it (Apache Camel's `readLock=rename` and
/// `preMove`) raise nothing.
#[test]
fn hiding_a_tenants_files_by_renaming_them_is_contained_and_moving_ones_own_is_not() {
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    let partner = server.account("acme", "partner", "full");
    let claimer = server.account("acme", "claimer", "full");
    let mallory = server.account("acme", "mallory", "full");
    upload_statements(&bank, 130);
    std::fs::create_dir_all(bank.work().join("payments")).unwrap();
    let mut uploads = String::from("mkdir /payments\nmkdir /invoices\nmkdir /invoices/work\n");
    let mut collect = String::from("get /payments/* .\nmkdir /payments/done\n");
    let mut claim = String::new();
    for i in 0..130 {
        let name = format!("p-{i:03}.csv");
        let local = bank.work().join("payments").join(&name);
        std::fs::write(local, format!("{name}\n")).unwrap();
        uploads.push_str(&format!(
            "put payments/{name} /payments/{name}.part\n\
             rename /payments/{name}.part /payments/{name}\n\
             put payments/{name} /invoices/i-{i:03}.csv\n"
        ));
        collect.push_str(&format!("rename /payments/{name} /payments/done/{name}\n"));
        // As Apache Camel does with `readLock=rename` and `preMove`: the file renamed and
        // back (its lock), moved to `work/`, downloaded.
        let invoice = format!("/invoices/i-{i:03}.csv");
        claim.push_str(&format!(
            "rename {invoice} {invoice}.camelExclusiveReadLock\n\
             rename {invoice}.camelExclusiveReadLock {invoice}\n\
             rename {invoice} /invoices/work/i-{i:03}.csv\n\
             get /invoices/work/i-{i:03}.csv .\n"
        ));
    }
    bank.sftp_ok(&uploads);
    partner.sftp_ok(&collect);
    claimer.sftp_ok(&claim);
    assert_eq!(csv_files_listed(&bank, "/payments/done"), 130);
    assert_eq!(csv_files_listed(&bank, "/invoices/work"), 130);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(alerts(&server).is_empty(), "{:?}", alerts(&server));

    let hide: String = (0..130)
        .map(|i| format!("rename /statements/s-{i:03}.csv /statements/.s-{i:03}\n"))
        .collect();
    let out = mallory.sftp(&hide);
    let a = contained(&server, "mallory", &out);
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .starts_with("mallory removed, replaced or moved 101 files of others in 10 minutes"),
        "{a}"
    );
    // The rename that crossed the limit waited for the detector: 29 statements still stand
    // under their names, and the alert's incident report lists the 101 renames.
    assert_eq!(csv_files_listed(&bank, "/statements"), 29, "{out:?}");
    let report = report_of(&server, &a);
    let renamed: Vec<&str> = changes_of(&report, "rename")
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(renamed, statement_paths(0..101), "{report:#}");
}

/// A directory renamed moves the files under it, and is judged by them: the bank publishing a
/// batch by renaming its directory once complete, and a partner renaming the directory it
/// collected, raise nothing (the bank's report says how many files its rename moved); a stolen
/// credential hiding the bank's statements by renaming their directory (one request, 130
/// files of others) is refused before it is done and contained, the statements where they
/// were; renaming the directory a canary is in touches the canary.
#[test]
fn a_directory_renamed_away_is_judged_by_the_files_it_moves() {
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    let partner = server.account("acme", "partner", "full");
    let oscar = server.account("acme", "oscar", "full");
    let trudy = server.account("acme", "trudy", "full");
    upload_statements(&bank, 130);
    bank.sftp_ok("mkdir /batch.tmp\nput statements/* /batch.tmp/\nrename /batch.tmp /batch\n");
    partner.sftp_ok("get /batch/* .\nrename /batch /batch.done\n");
    assert_eq!(csv_files_listed(&bank, "/batch.done"), 130);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(alerts(&server).is_empty(), "{:?}", alerts(&server));
    let report: serde_json::Value =
        serde_json::from_str(&server.ok(&["incident", "report", "--user", "bank"])).unwrap();
    let renames: Vec<_> = changes_of(&report, "rename")
        .iter()
        .map(|c| (c["path"].as_str(), c["files_moved"].as_u64()))
        .collect();
    assert_eq!(renames, [(Some("/batch.tmp"), Some(130))], "{report:#}");

    let out = oscar.sftp("rename /statements /.old\n");
    let a = contained(&server, "oscar", &out);
    assert_eq!(csv_files_listed(&bank, "/statements"), 130, "{out:?}");
    let report = report_of(&server, &a);
    assert!(changes_of(&report, "rename").is_empty(), "{report:#}");
    let refused: Vec<_> = report["tenants"][0]["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["op"].as_str(), r["path"].as_str(), r["why"].as_str()))
        .collect();
    let why = "permission denied: renaming this directory would move 130 files of others at once";
    assert_eq!(refused, [(Some("rename"), Some("/statements"), Some(why))]);

    trudy.sftp_ok("mkdir /reports\n");
    server.ok(&["canary", "add", "acme", "/reports/customers-2026.csv"]);
    trudy.sftp("rename /reports /r2\n");
    let a = wait_for_alert(&server, "trudy");
    assert_eq!(
        (a["severity"].as_str(), a["rule"].as_str()),
        (Some("critical"), Some("canary")),
        "{a}"
    );
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .contains("with its directory, renaming /reports to /r2"),
        "{a}"
    );
}

/// The `.csv` files `c` lists in `dir`.
fn csv_files_listed(c: &Client, dir: &str) -> usize {
    let listed = c.sftp_ok(&format!("ls -1 {dir}\n"));
    listed.lines().filter(|l| l.ends_with(".csv")).count()
}

/// The paths of statements `range` as [`upload_statements`] names them.
fn statement_paths(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("/statements/s-{i:03}.csv")).collect()
}

/// Uploads, as `c`, `n` small statements as `/statements/s-NNN.csv`.
fn upload_statements(c: &Client, n: usize) {
    std::fs::create_dir_all(c.work().join("statements")).unwrap();
    for i in 0..n {
        let name = format!("statements/s-{i:03}.csv");
        std::fs::write(c.work().join(&name), format!("{name}\n")).unwrap();
    }
    c.sftp_ok("put -r statements /statements\n");
}

/// A client that does not wait for replies (130 removals sent at once) is stopped at the same
/// change: the removals it had queued behind the one that crossed the threshold are dropped
/// with its session, unanswered.
#[test]
fn removals_sent_all_at_once_stop_at_the_change_that_crosses() {
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    let mallory = server.account("acme", "mallory", "full");
    upload_statements(&bank, 130);
    let mut raw = Raw::connect(&mallory);
    for i in 0..130u32 {
        let path = format!("/statements/s-{i:03}.csv");
        raw.send(
            10 + i,
            RequestOp::Remove {
                path: path.into_bytes().into(),
            },
        );
    }
    let mut answered = 0;
    while raw.recv().is_some() {
        answered += 1;
    }
    let a = wait_for_alert(&server, "mallory");
    assert_eq!(a["rule"], "mass_change", "{a}");
    let left = csv_files_listed(&bank, "/statements");
    // (Replies the connection had not written yet when it was cut are lost with it.)
    assert_eq!(left, 29, "{answered} answered");
    assert!(answered <= 100, "{answered} answered");
    // The alert's incident report: the 101 removals done, and the 29 queued behind them
    // listed as refused, with why.
    let id = a["id"].as_str().unwrap();
    let report = report_of(&server, &a);
    assert_eq!(
        report["totals"]["changes"].as_u64(),
        Some(101),
        "{report:#}"
    );
    let refused = report["tenants"][0]["refused"].as_array().unwrap();
    let why = format!(
        "not done: the server had closed the session, contained by alert {id} (mass_change)"
    );
    let paths: Vec<&str> = refused
        .iter()
        .filter(|r| r["op"] == "remove" && r["why"] == why.as_str())
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, statement_paths(101..130), "{refused:#?}");
}

/// Logins of the account made while its removals cross the limit, in parallel with them, do not
/// outlive its containment: every session that was admitted is closed, and none is left listed.
/// (A login checked just before the lock was committed is closed by the check it makes once it
/// is counted among the sessions, or by the containment's second close after the lock.)
#[test]
fn logins_racing_containment_do_not_outlive_it() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    let mallory = server.account("acme", "mallory", "full");
    upload_statements(&bank, 130);
    let (stop, admitted) = (AtomicBool::new(false), AtomicUsize::new(0));
    let (held, out): (Vec<Raw>, _) = std::thread::scope(|s| {
        let logins: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut held = Vec::new();
                    while !stop.load(Ordering::SeqCst) && held.len() < 40 {
                        if let Some(r) = Raw::try_connect(&mallory) {
                            held.push(r);
                            admitted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    held
                })
            })
            .collect();
        // The removals begin once logins are under way, and they go on while it runs.
        let deadline = Instant::now() + Duration::from_secs(30);
        while admitted.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = mallory.sftp("-rm /statements/*\n");
        // (No more logins once it ended: refused ones would count against the address.)
        stop.store(true, Ordering::SeqCst);
        let held = logins.into_iter().flat_map(|h| h.join().unwrap()).collect();
        (held, out)
    });
    let a = wait_for_alert(&server, "mallory");
    assert_eq!(a["rule"], "mass_change", "{a} {out:?}");
    assert!(held.len() >= 2, "{} logins admitted", held.len());
    std::thread::sleep(Duration::from_secs(1));
    let stat = || RequestOp::Stat {
        path: b"/".to_vec().into(),
    };
    let outlived = held
        .into_iter()
        .filter_map(|mut r| r.try_call(1, stat()))
        .count();
    assert_eq!(outlived, 0, "sessions still answering after containment");
    let listed = server.ok(&["session", "list", "--user", "mallory", "--format", "jsonl"]);
    assert_eq!(listed.trim(), "", "{listed}");
    assert_eq!(csv_files_listed(&bank, "/statements"), 29);
}

/// A new account (unproven) collecting many small files is stopped at its cautious limit of
/// files (200 within an hour): the open of the 201st is not answered, so exactly 200 files
/// leave, whatever the ledger's lag.
#[test]
fn a_new_account_pulling_small_files_gets_exactly_its_cautious_limit() {
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    upload_statements(&bank, 300);
    let thief = server.account("acme", "thief", "full");
    let a = pull_stopped_at_the_cautious_limit(&server, &thief, "thief", None);
    let summary = a["summary"].as_str().unwrap();
    assert!(
        summary.contains("in 201 files") && summary.contains("200 files an hour"),
        "{summary}"
    );
}

/// Thresholds lifted for a bulk-sync account go with it: a partner's account made later under
/// the same name pulling the tenant's files is contained at the cautious
/// limit, as any new account. (Before, the override outlived the account, in the catalog and in
/// the running server, and the new account took all 210 files.)
#[test]
fn a_removed_accounts_lifted_thresholds_do_not_pass_to_its_name() {
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    upload_statements(&bank, 210);
    server.account("acme", "sync", "full");
    let lifted = [
        "cautious_bytes=1T",
        "cautious_files=100000000",
        "minute_files=100000000",
        "hour_files=100000000",
        "day_files=100000000",
        "breadth_min_files=100000000",
        "sweep_listings=100000000",
    ];
    let mut args = vec!["detect", "override", "--user", "sync"];
    args.extend(lifted.iter().flat_map(|t| ["--set", t]));
    server.ok(&args);
    let mine = server.ok(&["detect", "rules", "--user", "sync"]);
    assert!(mine.contains("100000000"), "{mine}");
    server.ok(&["user", "remove", "sync"]);

    // Made again under the same name, it has the cautious limit of 200 files an hour.
    let sync = server.account("acme", "sync", "full");
    let mine = server.ok(&["detect", "rules", "--user", "sync"]);
    assert!(!mine.contains("100000000"), "{mine}");
    pull_stopped_at_the_cautious_limit(&server, &sync, "sync", None);
}

/// An account contained and removed leaves nothing to an account made later under its name:
/// the detector raised nothing more for the contained one and held none of its reads, and the
/// new one (before: not watched at all, it took all 300 files) is contained at its cautious
/// limit as any new account.
#[test]
fn an_account_made_under_a_contained_ones_name_is_watched_afresh() {
    let server = Server::start_with_config(CONFIG);
    let bank = server.account("acme", "bank", "full");
    upload_statements(&bank, 300);
    let thief = server.account("acme", "thief", "full");
    let first = pull_stopped_at_the_cautious_limit(&server, &thief, "thief", None);
    server.ok(&["user", "remove", "thief"]);

    let partner = server.account("acme", "thief", "full");
    pull_stopped_at_the_cautious_limit(&server, &partner, "thief", Some(&first));
    let shown = server.ok(&["user", "show", "thief"]);
    assert!(shown.contains("locked (alert"), "{shown}");
}

/// A canary touched by a request the account may not make is touched all the same: an
/// upload-only account (a partner's drop box) trying to download it, a read-only one trying to
/// write over it. Both refused, both critical; a refused request on another file is nothing.
#[test]
fn a_canary_touched_by_a_refused_request_is_critical() {
    let server = Server::start_with_config(CONFIG);
    let loader = server.account("acme", "loader", "full");
    let dropbox = server.account("acme", "dropbox", "upload-only");
    let viewer = server.account("acme", "viewer", "read-only");
    std::fs::write(loader.work().join("r.csv"), "a,b\n").unwrap();
    loader.sftp_ok("mkdir /reports\nput r.csv /reports/r.csv\n");
    server.ok(&["canary", "add", "acme", "/reports/customers-2026.csv"]);
    // Refused on an ordinary file: no alert.
    let out = sftp_from(&dropbox, "127.0.0.2", "get /reports/r.csv got.csv\n");
    assert!(!out.status.success());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(alerts(&server).is_empty(), "{:?}", alerts(&server));

    let out = sftp_from(
        &dropbox,
        "127.0.0.2",
        "get /reports/customers-2026.csv got.csv\n",
    );
    assert!(!out.status.success());
    let a = wait_for_alert(&server, "dropbox");
    assert_eq!(
        (a["severity"].as_str(), a["rule"].as_str()),
        (Some("critical"), Some("canary"))
    );
    assert_eq!(
        a["summary"],
        "dropbox touched canary file /reports/customers-2026.csv (open_read) in tenant acme"
    );
    std::fs::write(viewer.work().join("x.csv"), "x\n").unwrap();
    let out = sftp_from(
        &viewer,
        "127.0.0.3",
        "put x.csv /reports/customers-2026.csv\n",
    );
    assert!(!out.status.success());
    let v = wait_for_alert(&server, "viewer");
    assert_eq!(
        v["summary"],
        "viewer touched canary file /reports/customers-2026.csv (open_write) in tenant acme"
    );
    assert!(
        server
            .ok(&["user", "show", "viewer"])
            .contains("locked (alert")
    );
}

#[test]
fn rules_overrides_and_replay_of_a_simulated_month() {
    // The defaults throughout (networks of /24).
    let server = Server::start_with_config("[limits]\nauth_rejection_ms = 100\n[detect]\n");
    let _bob = server.account("acme", "sync", "full");
    let rules = server.ok(&["detect", "rules"]);
    for id in [
        "bulk_read",
        "breadth",
        "novelty",
        "low_and_slow",
        "canary",
        "auth_attack",
    ] {
        assert!(rules.contains(id), "{id} missing: {rules}");
    }
    assert!(
        rules.contains("cautious_bytes") && rules.contains("33554432"),
        "{rules}"
    );
    server.ok(&[
        "detect",
        "override",
        "--user",
        "sync",
        "--set",
        "cautious_bytes=1G",
    ]);
    let mine = server.ok(&["detect", "rules", "--user", "sync"]);
    assert!(
        mine.contains("account sync") && mine.contains("1073741824"),
        "{mine}"
    );
    let bad = server.admin(&[
        "detect",
        "override",
        "--user",
        "sync",
        "--set",
        "nonsense=1",
    ]);
    assert_eq!(bad.status.code(), Some(2));

    // Thirty simulated days of 200 accounts, a low-and-slow attacker on day 20.
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("month.jsonl");
    let out = server.admin(&[
        "detect",
        "simulate",
        "--days",
        "30",
        "--accounts",
        "200",
        "--attack",
        "low-and-slow",
    ]);
    assert!(out.status.success());
    std::fs::write(&history, &out.stdout).unwrap();
    let replayed = server.ok(&["detect", "replay", history.to_str().unwrap()]);
    let alerts: Vec<serde_json::Value> = replayed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (attack, normal): (Vec<_>, Vec<_>) = alerts
        .iter()
        .partition(|a| a["source"] == detect::simulate::ATTACKER);
    let loud: Vec<_> = normal
        .iter()
        .filter(|a| a["severity"] == "high" || a["severity"] == "critical")
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
    let mediums = normal.iter().filter(|a| a["severity"] == "medium").count();
    assert!(mediums <= 200 * 30 / 100, "{mediums} medium alerts");
    let first = attack
        .iter()
        .find(|a| a["severity"] == "high")
        .expect("no high alert for the attacker");
    assert_eq!(first["rule"], "low_and_slow");
    assert!(
        first["time"].as_str().unwrap().starts_with("2026-11-21"),
        "{first}"
    );
    // Nothing was acted on: replay takes no action.
    assert!(!server.ok(&["user", "show", "sync"]).contains("locked"));
    assert!(server.ok(&["alert", "list"]).lines().count() <= 1);
    // The server's own history, hunted with today's rules.
    let hunted = server.ok(&["detect", "replay", "--ledger"]);
    assert!(hunted.lines().all(|l| l.starts_with('{')));
    // A history that is not one: a line no record reaches is refused without reading it whole,
    // a line of JSON that is no record by its number.
    let long = dir.path().join("long.jsonl");
    std::fs::write(
        &long,
        "{\"a\":\"".to_owned() + &"x".repeat(3 << 20) + "\"}\n",
    )
    .unwrap();
    let out = server.admin(&["detect", "replay", long.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "strongroom: line 1: longer than 1024 KiB: not a ledger record"
    );
    let odd = dir.path().join("odd.jsonl");
    std::fs::write(&odd, "\n{\"x\":1}\n").unwrap();
    let out = server.admin(&["detect", "replay", odd.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("strongroom: line 2: not a ledger record"),
        "{out:?}"
    );
}

fn receiver(args: &[&str]) -> (support::Receiver, std::sync::mpsc::Receiver<String>) {
    support::receiver("alert_receivers.py", args)
}

/// The SOC's receivers on loopback, each with its port and the lines it prints: a webhook
/// that checks signatures with a secret it is given (written, 0600, in `dir`) and an SMTP
/// server; over TLS where `tls` gives a certificate and its key.
struct SocReceivers {
    secret_file: std::path::PathBuf,
    hook_port: u16,
    hook_lines: std::sync::mpsc::Receiver<String>,
    smtp_port: u16,
    mail_lines: std::sync::mpsc::Receiver<String>,
    _running: [support::Receiver; 2],
}

fn soc_receivers(dir: &std::path::Path, tls: &[&str]) -> SocReceivers {
    use std::os::unix::fs::PermissionsExt;
    let secret_file = dir.join("webhook.secret");
    std::fs::write(&secret_file, "a-shared-secret-of-the-soc-team\n").unwrap();
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut args = vec!["webhook", secret_file.to_str().unwrap()];
    args.extend_from_slice(tls);
    let (hook, hook_lines) = receiver(&args);
    let hook_port: u16 = hook_lines
        .recv_timeout(Duration::from_secs(20))
        .unwrap()
        .parse()
        .unwrap();
    let smtp_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = smtp_port.to_string();
    let mut args = vec!["smtp", &port];
    args.extend_from_slice(tls);
    let (smtp, mail_lines) = receiver(&args);
    assert_eq!(
        mail_lines.recv_timeout(Duration::from_secs(20)).unwrap(),
        "ready"
    );
    SocReceivers {
        secret_file,
        hook_port,
        hook_lines,
        smtp_port,
        mail_lines,
        _running: [hook, smtp],
    }
}

/// Alice opens a canary (made for the purpose) for reading: its critical alert.
fn a_canary_read(server: &Server) -> serde_json::Value {
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir /reports\n");
    server.ok(&["canary", "add", "acme", "/reports/customers-2026.csv"]);
    let mut raw = Raw::connect(&alice);
    let _ = raw.try_call(1, open_for_reading("/reports/customers-2026.csv"));
    wait_for_alert(server, "alice")
}

#[test]
fn alerts_reach_a_signed_webhook_with_retries_and_a_mailbox() {
    let secrets = tempfile::tempdir().unwrap();
    let SocReceivers {
        secret_file,
        hook_port,
        hook_lines,
        smtp_port,
        mail_lines,
        _running: _receivers,
    } = soc_receivers(secrets.path(), &[]);

    let config = format!(
        "{CONFIG}[alerts]\nwebhook_url = \"http://127.0.0.1:{hook_port}/strongroom\"\n\
         webhook_secret_file = \"{}\"\nsmtp_server = \"127.0.0.1:{smtp_port}\"\n\
         smtp_security = \"none\"\nsmtp_from = \"strongroom@bank.example\"\n\
         smtp_to = [\"soc@bank.example\", \"oncall@bank.example\"]\n",
        secret_file.display()
    );
    let server = Server::start_with_config(&config);
    let alert = a_canary_read(&server);
    let id = alert["id"].as_str().unwrap();

    // The webhook: refused once (HTTP 500), delivered again after the backoff, signed both times.
    let mut posts = Vec::new();
    while posts.len() < 2 {
        let line = hook_lines
            .recv_timeout(Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("webhook posts so far: {posts:?}"));
        posts.push(line);
    }
    assert!(posts[0].starts_with("signed status=500 "), "{posts:?}");
    assert!(posts[1].starts_with("signed status=200 "), "{posts:?}");
    let body: serde_json::Value =
        serde_json::from_str(posts[1].splitn(3, ' ').nth(2).unwrap()).unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["rule"], "canary");
    assert_eq!(body["severity"], "critical");
    assert_eq!(body["account"], "alice");
    assert!(
        body["techniques"].as_array().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "lock_account"),
        "{body}"
    );
    assert!(hook_lines.recv_timeout(Duration::from_secs(3)).is_err());

    // The e-mail: one message to both addresses, naming the alert.
    let mail: serde_json::Value =
        serde_json::from_str(&mail_lines.recv_timeout(Duration::from_secs(15)).unwrap()).unwrap();
    assert_eq!(mail["from"], "strongroom@bank.example");
    assert_eq!(
        mail["to"],
        serde_json::json!(["soc@bank.example", "oncall@bank.example"])
    );
    let subject = mail["subject"].as_str().unwrap();
    assert!(
        subject.contains("critical") && subject.contains("canary") && subject.contains("alice"),
        "{subject}"
    );
    let text = mail["body"].as_str().unwrap();
    assert!(text.contains(id) && text.contains("lock_account"), "{text}");
    assert!(text.contains(alert["summary"].as_str().unwrap()), "{text}");
    // `alert show` says each was delivered, the webhook at its second attempt.
    let show = |format: &str| server.ok(&["alert", "show", id, "--format", format]);
    let deliveries = support::wait_until_some("the deliveries recorded", 10, || {
        let v: serde_json::Value = serde_json::from_str(&show("json")).unwrap();
        let d = v["deliveries"].as_array()?.clone();
        d.iter().all(|d| d["state"] == "delivered").then_some(d)
    });
    let said: Vec<(String, u64)> = (deliveries.iter())
        .map(|d| {
            (
                d["destination"].to_string(),
                d["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [("\"email\"".to_owned(), 1), ("\"webhook\"".to_owned(), 2)]
    );
    // And in the ledger, each delivery's end (queued, committed within moments).
    let ended = |destination: &str, attempts: u32| {
        format!(
            r#""kind":"alert_delivery","id":"{id}","destination":"{destination}","outcome":"delivered","attempts":{attempts}"#
        )
    };
    support::wait_until("the deliveries' records", 10, 100, || {
        let records = server.ok(&["audit", "export", "--kind", "alert_delivery"]);
        records.contains(&ended("email", 1)) && records.contains(&ended("webhook", 2))
    });
    let table = show("table");
    assert!(
        table.contains("delivery:   webhook: delivered at ")
            && table.contains(" (attempt 2)")
            && table.contains("delivery:   email: delivered at "),
        "{table}"
    );
}

/// Alerts reach a webhook and a mail relay over TLS whose certificates an internal authority
/// signed, once `webhook_ca_file` and `smtp_ca_file` name it: with the system's roots alone
/// neither receiver is trusted, nothing reaches them and the alert waits, its failures saying
/// why; named, both are delivered (the alert kept waiting across the restart).
#[test]
fn alerts_reach_receivers_their_own_authority_vouches_for() {
    let certs = tempfile::tempdir().unwrap();
    let d = certs.path();
    support::authority(d, "soc-ca");
    support::certificate(
        d,
        "soc-ca",
        "soc",
        "localhost",
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    let path = |f: &str| d.join(f).display().to_string();
    let SocReceivers {
        secret_file: secret,
        hook_port,
        hook_lines,
        smtp_port,
        mail_lines,
        _running: _receivers,
    } = soc_receivers(d, &[&path("soc.pem"), &path("soc.key")]);
    let mut server = Server::start_with_config(&format!(
        "{CONFIG}[alerts]\nwebhook_url = \"https://localhost:{hook_port}/strongroom\"\n\
         webhook_secret_file = \"{}\"\nsmtp_server = \"localhost:{smtp_port}\"\n\
         smtp_security = \"tls\"\nsmtp_from = \"strongroom@bank.example\"\n\
         smtp_to = [\"soc@bank.example\"]\n",
        secret.display()
    ));
    let alert = a_canary_read(&server);
    let id = alert["id"].as_str().unwrap().to_owned();
    let deliveries = |server: &Server| -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&server.ok(&["alert", "show", &id, "--format", "json"])).unwrap();
        v["deliveries"].as_array().cloned().unwrap_or_default()
    };
    // The system's roots do not hold the SOC's authority: both wait, saying why.
    let waiting = support::wait_until_some("failed attempts at both", 20, || {
        let d = deliveries(&server);
        (d.len() == 2
            && d.iter()
                .all(|d| d["state"] == "waiting" && d["attempts"].as_u64() >= Some(1)))
        .then_some(d)
    });
    for d in &waiting {
        let why = d["last_error"].as_str().unwrap_or_default();
        // Why, without the receiver's URL (which may carry its token).
        assert!(
            why.contains("certificate") && !why.contains("/strongroom"),
            "{d}"
        );
    }
    assert!(hook_lines.recv_timeout(Duration::from_millis(500)).is_err());
    assert!(mail_lines.try_recv().is_err());

    // Named: delivered.
    server.stop();
    let config_file = server.data_dir().join("strongroom.toml");
    let text = std::fs::read_to_string(&config_file).unwrap();
    let named = text.replace(
        "smtp_security = \"tls\"\n",
        &format!(
            "smtp_security = \"tls\"\nsmtp_ca_file = \"{0}\"\nwebhook_ca_file = \"{0}\"\n",
            path("soc-ca.pem")
        ),
    );
    assert_ne!(named, text);
    std::fs::write(&config_file, named).unwrap();
    server.start_again();
    let mail: serde_json::Value =
        serde_json::from_str(&mail_lines.recv_timeout(Duration::from_secs(60)).unwrap()).unwrap();
    assert!(mail["body"].as_str().unwrap().contains(&id), "{mail}");
    let posts: Vec<String> = (0..2)
        .map(|_| hook_lines.recv_timeout(Duration::from_secs(60)).unwrap())
        .collect();
    assert!(
        posts[1].starts_with("signed status=200 ") && posts[1].contains(&id),
        "{posts:?}"
    );
    support::wait_until("both recorded delivered", 10, 100, || {
        deliveries(&server)
            .iter()
            .all(|d| d["state"] == "delivered")
    });
}

/// An alert whose receiver is down is delivered once it is up, across a restart of the server:
/// the deliveries wait in the catalog, not in the process. `alert show` says it waits (with its
/// attempts and why they failed), then that it was delivered.
#[test]
fn an_alert_waits_for_its_receiver_across_a_restart() {
    let smtp_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "{CONFIG}[alerts]\nsmtp_server = \"127.0.0.1:{smtp_port}\"\nsmtp_security = \"none\"\n\
         smtp_from = \"strongroom@bank.example\"\nsmtp_to = [\"soc@bank.example\"]\n"
    );
    let mut server = Server::start_with_config(&config);
    let alert = a_canary_read(&server);
    let id = alert["id"].as_str().unwrap().to_owned();
    // Nobody listens: it waits, tried and failed.
    let waiting = support::wait_until_some("a failed attempt", 15, || {
        let v: serde_json::Value =
            serde_json::from_str(&server.ok(&["alert", "show", &id, "--format", "json"])).unwrap();
        let d = v["deliveries"][0].clone();
        (d["state"] == "waiting" && d["attempts"].as_u64() >= Some(2)).then_some(d)
    });
    assert!(
        waiting["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{waiting}"
    );
    let table = server.ok(&["alert", "show", &id]);
    assert!(
        table.contains("delivery:   email: waiting, ") && table.contains("; last failure: "),
        "{table}"
    );
    // The alerts the SOC has not been sent, at a glance.
    let undelivered =
        |server: &Server| server.ok(&["alert", "list", "--undelivered", "--format", "jsonl"]);
    assert!(
        undelivered(&server).contains(&id),
        "{}",
        undelivered(&server)
    );
    server.stop();
    let (_smtp, mail_lines) = receiver(&["smtp", &smtp_port.to_string()]);
    assert_eq!(
        mail_lines.recv_timeout(Duration::from_secs(20)).unwrap(),
        "ready"
    );
    server.start_again();
    let mail: serde_json::Value =
        serde_json::from_str(&mail_lines.recv_timeout(Duration::from_secs(90)).unwrap()).unwrap();
    assert!(mail["body"].as_str().unwrap().contains(&id), "{mail}");
    let delivered = support::wait_until_some("the delivery recorded", 10, || {
        let v: serde_json::Value =
            serde_json::from_str(&server.ok(&["alert", "show", &id, "--format", "json"])).unwrap();
        let d = v["deliveries"][0].clone();
        (d["state"] == "delivered").then_some(d)
    });
    assert!(
        delivered["attempts"].as_u64() > waiting["attempts"].as_u64(),
        "{delivered}"
    );
    assert_eq!(undelivered(&server), "");
    assert!(
        server
            .ok(&["alert", "list", "--format", "jsonl"])
            .contains(&id)
    );
    // Once: nothing more arrives.
    assert!(mail_lines.recv_timeout(Duration::from_secs(3)).is_err());
}

#[test]
fn a_delivery_that_cannot_be_trusted_stops_the_server_from_starting() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook.secret");
    std::fs::write(&secret, "a-shared-secret-of-the-soc-team").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let start = |alerts: &str| {
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("strongroom.toml"), format!("[alerts]\n{alerts}")).unwrap();
        let out = Command::new(support::BIN)
            .arg("--data-dir")
            .arg(&data)
            .args(["serve", "--sftp-listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let hook = |url: &str| {
        format!(
            "webhook_url = \"{url}\"\nwebhook_secret_file = \"{}\"\n",
            secret.display()
        )
    };
    let e = start(&hook("http://127.0.0.1:9/x"));
    assert!(e.contains("is readable by others (mode 644)"), "{e}");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = start(&hook("http://siem.bank.example/x"));
    assert!(e.contains("must use https"), "{e}");
    let e = start("webhook_url = \"https://siem.bank.example/x\"\n");
    assert!(e.contains("needs alerts.webhook_secret_file"), "{e}");
    let e = start(
        "smtp_server = \"mail.bank.example:25\"\nsmtp_security = \"none\"\n\
         smtp_from = \"a@bank.example\"\nsmtp_to = [\"b@bank.example\"]\n",
    );
    assert!(e.contains("only allowed to a relay on loopback"), "{e}");
    // An authority file that names no certificate, and one for a relay without TLS.
    let empty = dir.path().join("empty-ca.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let e = start(&format!(
        "{}webhook_ca_file = \"{}\"\n",
        hook("https://soc.bank.example/x"),
        empty.display()
    ));
    assert!(
        e.contains(&format!(
            "alerts.webhook_ca_file {}: holds no PEM certificate",
            empty.display()
        )),
        "{e}"
    );
    let e = start(&format!(
        "smtp_server = \"127.0.0.1:25\"\nsmtp_security = \"none\"\nsmtp_ca_file = \"{}\"\n\
         smtp_from = \"a@bank.example\"\nsmtp_to = [\"b@bank.example\"]\n",
        empty.display()
    ));
    assert!(
        e.contains("alerts.smtp_ca_file is for a relay reached over TLS"),
        "{e}"
    );
}
