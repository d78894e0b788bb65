//! Faults: the server killed (-9) at random moments under a stream of uploads, renames and
//! removes from several clients; and a data directory that fills up. Acknowledged work is never
//! lost, unacknowledged work is never half-visible, and the ledger verifies.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sftp_proto::message::kind;
use sftp_proto::{OpenFlags, RequestOp, StatusCode};
use support::raw::Raw;
use support::{Client, Server, pseudo_random, sqlite_query};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// What a file must hold, as far as a client knows.
#[derive(Debug, Clone, PartialEq)]
enum Known {
    /// Acknowledged: exactly these bytes.
    Exact(Vec<u8>),
}

/// Reads a whole file over `raw`; `None` if it does not exist, `Err` if the connection fails.
fn read_file(raw: &mut Raw, id: &mut u32, path: &str) -> Result<Option<Vec<u8>>, ()> {
    *id += 1;
    let r = raw.try_call(
        *id,
        RequestOp::Open {
            path: b(path),
            flags: OpenFlags(OpenFlags::READ),
            attrs: Default::default(),
        },
    );
    let r = r.ok_or(())?;
    if r.kind == kind::STATUS {
        return match r.status().0 {
            StatusCode::NO_SUCH_FILE => Ok(None),
            c => panic!("open {path}: {c:?}"),
        };
    }
    let h = r.handle();
    let mut out = Vec::new();
    loop {
        *id += 1;
        let r = raw
            .try_call(
                *id,
                RequestOp::Read {
                    handle: h.clone(),
                    offset: out.len() as u64,
                    len: 261_120,
                },
            )
            .ok_or(())?;
        if r.kind == kind::STATUS {
            assert_eq!(r.status().0, StatusCode::EOF, "read {path}");
            break;
        }
        out.extend_from_slice(&r.body[4..]);
    }
    *id += 1;
    raw.try_call(*id, RequestOp::Close { handle: h })
        .ok_or(())?;
    Ok(Some(out))
}

/// Uploads `data` to `path`; `Ok(true)` once the close is acknowledged, `Err` if the connection
/// fails on the way (the upload's fate is then unknown).
fn upload(raw: &mut Raw, id: &mut u32, path: &str, data: &[u8]) -> Result<bool, ()> {
    *id += 1;
    let r = raw
        .try_call(
            *id,
            RequestOp::Open {
                path: b(path),
                flags: OpenFlags(OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC),
                attrs: Default::default(),
            },
        )
        .ok_or(())?;
    let h = r.handle();
    for (i, piece) in data.chunks(32_768).enumerate() {
        *id += 1;
        let r = raw
            .try_call(
                *id,
                RequestOp::Write {
                    handle: h.clone(),
                    offset: (i * 32_768) as u64,
                    data: Bytes::copy_from_slice(piece),
                },
            )
            .ok_or(())?;
        assert_eq!(
            r.status().0,
            StatusCode::OK,
            "write {path}: {}",
            r.status().1
        );
    }
    *id += 1;
    let r = raw
        .try_call(*id, RequestOp::Close { handle: h })
        .ok_or(())?;
    Ok(r.status().0 == StatusCode::OK)
}

fn simple(raw: &mut Raw, id: &mut u32, op: RequestOp) -> Result<StatusCode, ()> {
    *id += 1;
    Ok(raw.try_call(*id, op).ok_or(())?.status().0)
}

/// One client's work in its own directory, with its model of what must be there.
struct Worker {
    dir: String,
    model: BTreeMap<String, Known>,
    next: u64,
    /// An operation whose reply never came: (kind, paths, content), settled after reconnecting.
    unsettled: Option<(&'static str, String, String, Vec<u8>)>,
}

impl Worker {
    fn step(&mut self, raw: &mut Raw, id: &mut u32, seed: u64) -> Result<(), ()> {
        self.next += 1;
        let n = self.next;
        let names: Vec<String> = self.model.keys().cloned().collect();
        match (n % 5, names.is_empty()) {
            (0..=2, _) | (_, true) => {
                let path = format!("{}/f{n}", self.dir);
                let data = pseudo_random(seed * 1_000_003 + n, (n as usize * 7919) % 200_000);
                self.unsettled = Some(("upload", path.clone(), String::new(), data.clone()));
                assert!(upload(raw, id, &path, &data)?, "upload {path} refused");
                self.model.insert(path, Known::Exact(data));
            }
            (3, false) => {
                let from = names[(n as usize) % names.len()].clone();
                let to = format!("{}/r{n}", self.dir);
                let Known::Exact(data) = self.model[&from].clone();
                self.unsettled = Some(("rename", from.clone(), to.clone(), data.clone()));
                let code = simple(
                    raw,
                    id,
                    RequestOp::Rename {
                        from: b(&from),
                        to: b(&to),
                    },
                )?;
                assert_eq!(code, StatusCode::OK);
                self.model.remove(&from);
                self.model.insert(to, Known::Exact(data));
            }
            _ => {
                let victim = names[(n as usize) % names.len()].clone();
                let Known::Exact(data) = self.model[&victim].clone();
                self.unsettled = Some(("remove", victim.clone(), String::new(), data));
                let code = simple(raw, id, RequestOp::Remove { path: b(&victim) })?;
                assert_eq!(code, StatusCode::OK);
                self.model.remove(&victim);
            }
        }
        self.unsettled = None;
        Ok(())
    }

    /// After a reconnect: the operation that got no reply either happened whole or not at all.
    fn settle(&mut self, raw: &mut Raw, id: &mut u32) -> Result<(), ()> {
        let Some((what, a, bpath, data)) = self.unsettled.clone() else {
            return Ok(());
        };
        let got_a = read_file(raw, id, &a)?;
        match what {
            "upload" => {
                let before = self.model.get(&a).cloned();
                match (got_a, before) {
                    (Some(x), _) if x == data => {
                        self.model.insert(a, Known::Exact(x));
                    }
                    (Some(x), Some(Known::Exact(old))) => assert!(x == old, "{a}: half-visible"),
                    (Some(x), None) => panic!("{a}: {} bytes, neither old nor new", x.len()),
                    (None, None) => {}
                    (None, Some(_)) => panic!("{a}: acknowledged contents lost"),
                }
            }
            "rename" => {
                let got_b = read_file(raw, id, &bpath)?;
                match (got_a, got_b) {
                    (Some(x), None) => assert!(x == data),
                    (None, Some(y)) => {
                        assert!(y == data);
                        self.model.remove(&a);
                        self.model.insert(bpath, Known::Exact(y));
                    }
                    other => panic!(
                        "rename {a} -> {bpath}: {:?}",
                        (other.0.is_some(), other.1.is_some())
                    ),
                }
            }
            _ => match got_a {
                Some(x) => assert!(x == data, "{a}: changed by a remove"),
                None => {
                    self.model.remove(&a);
                }
            },
        }
        self.unsettled = None;
        Ok(())
    }
}

/// The blob files on disk and the blobs the catalog names.
fn blobs(server: &Server) -> (Vec<String>, Vec<String>) {
    let mut on_disk: Vec<String> = server
        .blob_files()
        .iter()
        .map(|p| {
            let fan = p
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            fan + &p.file_name().unwrap().to_string_lossy()
        })
        .collect();
    on_disk.sort();
    let named = sqlite_query(
        &server.data_dir().join("catalog.db"),
        "SELECT blob_id FROM nodes WHERE blob_id IS NOT NULL ORDER BY blob_id",
    );
    (on_disk, named.lines().map(str::to_owned).collect())
}

#[test]
fn kill_9_at_random_moments_loses_nothing_acknowledged() {
    const KILLS: u32 = 20;
    const CLIENTS: u64 = 3;
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok(
        &(0..CLIENTS)
            .map(|c| format!("mkdir /c{c}\n"))
            .collect::<String>(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (alice_key, port) = (alice.key(), server.port);
            let (stop, done) = (stop.clone(), done.clone());
            let client = Client {
                dir: tempfile::tempdir().unwrap(),
                port,
                user: "alice".into(),
            };
            std::fs::copy(&alice_key, client.key()).unwrap();
            std::thread::spawn(move || {
                let mut w = Worker {
                    dir: format!("/c{c}"),
                    model: BTreeMap::new(),
                    next: 0,
                    unsettled: None,
                };
                let mut id = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    let Some(mut raw) = Raw::try_connect(&client) else {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    if w.settle(&mut raw, &mut id).is_err() {
                        continue;
                    }
                    while !stop.load(Ordering::SeqCst) && w.step(&mut raw, &mut id, c).is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // Settle the last one against the final server.
                loop {
                    if let Some(mut raw) = Raw::try_connect(&client)
                        && w.settle(&mut raw, &mut id).is_ok()
                    {
                        return w.model;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        })
        .collect();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..KILLS {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(300 + rng % 900));
        server.restart_after_crash();
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let models: Vec<BTreeMap<String, Known>> =
        workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(
        done.load(Ordering::Relaxed) > 50,
        "only {} operations completed",
        done.load(Ordering::Relaxed)
    );
    // One more crash: the start-up sweep then leaves exactly the blobs the catalog names.
    server.restart_after_crash();
    let mut raw = Raw::connect(&alice);
    let mut id = 0;
    for (c, model) in models.iter().enumerate() {
        for (path, Known::Exact(data)) in model {
            let got = read_file(&mut raw, &mut id, path).unwrap();
            assert!(
                got.as_ref() == Some(data),
                "{path}: acknowledged contents differ or lost"
            );
        }
        let listing = alice.sftp_ok(&format!("ls -1 /c{c}\n"));
        let listed = listing.lines().filter(|l| !l.starts_with("sftp>")).count();
        assert_eq!(listed, model.len(), "/c{c}: extra files:\n{listing}");
    }
    drop(raw);
    let (on_disk, named) = blobs(&server);
    assert_eq!(
        on_disk, named,
        "orphan or missing blobs after the start-up sweep"
    );
    server.stop();
    server.assert_ledger_verifies();
}

/// A tmpfs mounted on a directory for as long as the guard lives.
struct Mounted(PathBuf);

impl Mounted {
    fn tmpfs(at: &Path, size: &str) -> Mounted {
        let st = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .unwrap();
        assert!(st.success(), "cannot mount a tmpfs (the test needs root)");
        Mounted(at.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let st = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_fails_uploads_clearly_and_keeps_serving_reads() {
    let mount = Arc::new(Mutex::new(None));
    let m = mount.clone();
    // Uploads leave 16 MiB free for the catalog and the ledger.
    let config = "[limits]\nauth_rejection_ms = 100\n[storage]\nmin_free_mib = 16\n";
    let mut server = Server::start_prepared(config, move |d| {
        *m.lock().unwrap() = Some(Mounted::tmpfs(d, "64m"));
    });
    let alice = server.account("acme", "alice", "full");
    let keep = pseudo_random(7, 1 << 20);
    let mut raw = Raw::connect(&alice);
    let mut id = 0;
    if let Err(msg) = upload_status(&mut raw, &mut id, "/keep.bin", &keep) {
        panic!("{msg}\n{}", server.log());
    }
    // Fill the disk with 8 MiB uploads until one fails.
    let mut failure = None;
    for i in 0..10 {
        let data = pseudo_random(100 + i, 8 << 20);
        match upload_status(&mut raw, &mut id, &format!("/fill{i}"), &data) {
            Ok(()) => {}
            Err(msg) => {
                failure = Some(msg);
                break;
            }
        }
    }
    let msg = failure.expect("64 MiB never filled");
    assert!(msg.contains("no space"), "unclear error: {msg}");
    // Reads go on; what was committed is intact; new logins are still recorded and served.
    assert_eq!(
        read_file(&mut raw, &mut id, "/keep.bin").unwrap().unwrap(),
        keep
    );
    let listing = alice.sftp_ok("ls -l /\n");
    assert!(listing.contains("keep.bin"), "{listing}");
    // The refused upload left nothing: every blob on disk is one the catalog names.
    let (on_disk, named) = blobs(&server);
    assert_eq!(on_disk, named);
    // Space returns: uploads work again, without a restart.
    mount.lock().unwrap().as_ref().unwrap().resize("256m");
    let again = pseudo_random(8, 3 << 20);
    assert!(upload(&mut raw, &mut id, "/after.bin", &again).unwrap());
    assert_eq!(
        read_file(&mut raw, &mut id, "/after.bin").unwrap().unwrap(),
        again
    );
    drop(raw);
    server.stop();
    server.assert_ledger_verifies();
    drop(server);
    drop(mount);
}

/// A server out of file descriptors fails its accepts without dying and without a line per
/// try (the first logged at once, then one a 10 s with their count); the client waiting in
/// the listen queue meanwhile is served once descriptors are back, and the log says so. A
/// session open meanwhile is told its upload and its download cannot be made now (and may be
/// tried again), and makes them once descriptors are back.
#[test]
fn out_of_file_descriptors_the_server_keeps_its_waiting_client_and_serves_it_after() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(
        alice.work().join("f"),
        b"sent while the server had no descriptor\n",
    )
    .unwrap();
    // A session open before, with a file stored in a blob.
    let mut raw = Raw::connect(&alice);
    let mut id = 0;
    let keep = pseudo_random(9, 1 << 20);
    upload_status(&mut raw, &mut id, "/keep.bin", &keep).unwrap();
    let had = server.exhaust_open_files();
    // Its upload fails clearly, and so does its download: nothing opens a file.
    let refused = upload_status(&mut raw, &mut id, "/during.bin", &keep).unwrap_err();
    id += 1;
    let open = raw
        .try_call(
            id,
            RequestOp::Open {
                path: b("/keep.bin"),
                flags: OpenFlags(OpenFlags::READ),
                attrs: Default::default(),
            },
        )
        .unwrap();
    let short = "the server is short of resources for now; try again later";
    assert_eq!(refused, short);
    assert_eq!(open.status(), (StatusCode::FAILURE, short.to_owned()));
    let mut waiting = alice.sftp_command("alice").spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = waiting.stdin.take().unwrap();
        stdin.write_all(b"put f kept.txt\n").unwrap();
    }
    let failed = |server: &Server| {
        (server.log().lines())
            .filter(|l| l.contains("accept failed"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    support::wait_until("a failed accept", 10, 50, || !failed(&server).is_empty());
    // Some 40 failures in 2 s: one line.
    std::thread::sleep(Duration::from_secs(2));
    let lines = failed(&server);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("Too many open files") && lines[0].contains("in_a_row=1"),
        "{}",
        lines[0]
    );
    assert_eq!(waiting.try_wait().unwrap(), None, "the client gave up");
    server.limit_open_files(had);
    let done = waiting.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&done.stderr),
        server.log()
    );
    let log = server.log();
    let again = log
        .lines()
        .find(|l| l.contains("accepting connections again"))
        .unwrap_or_else(|| panic!("{log}"));
    let in_a_row: u64 = again
        .split("failures=")
        .nth(1)
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{again}"));
    assert!(in_a_row >= 20, "{again}");
    // The session open throughout works again: its file reads whole, its upload goes through,
    // and the one refused left nothing behind.
    assert_eq!(
        read_file(&mut raw, &mut id, "/keep.bin").unwrap().unwrap(),
        keep
    );
    upload_status(&mut raw, &mut id, "/during.bin", &keep).unwrap();
    assert_eq!(
        read_file(&mut raw, &mut id, "/during.bin")
            .unwrap()
            .unwrap(),
        keep
    );
    drop(raw);
    let (on_disk, named) = blobs(&server);
    assert_eq!(on_disk, named);
    let got = alice.sftp_ok("get kept.txt back.txt\n");
    assert!(got.contains("kept.txt"), "{got}");
    assert_eq!(
        std::fs::read(alice.work().join("back.txt")).unwrap(),
        b"sent while the server had no descriptor\n"
    );
    server.stop();
    server.assert_ledger_verifies();
}

/// Containment reaches the live sessions it concerns through the catalog where the control
/// socket cannot: with the server out of file descriptors, `user lock`, `user key remove`,
/// `session kill`, `ban add`, `tenant remove` and `user set` narrowing networks are told the
/// server did not answer (after 10 s, not a wait without end) and their change stands; the
/// server itself ends the account's session, the key's, the one killed, the banned address's,
/// the removed tenant's and the one outside the networks within some 2 s, saying why. A ban
/// lifted meanwhile (`ban remove`) is lifted in the server too. A kill is not a
/// lock: the account killed logs in again after it.
#[test]
fn containment_ends_its_sessions_when_the_server_cannot_be_asked() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("acme", "bob", "full");
    let carol = server.account("acme", "carol", "full");
    let dave = server.account("acme", "dave", "full");
    let frank = server.account("other", "frank", "full");
    let erin = server.account("acme", "erin", "full");
    let bobs_key = support::fingerprint(&bob.public_key());
    let mut raws = [
        Raw::connect(&alice),
        Raw::connect(&bob),
        Raw::connect(&carol),
        Raw::connect_from(&dave, "127.0.0.3"),
        Raw::connect(&frank),
        Raw::connect(&erin),
    ];
    let mut id = 0;
    // Whether a session still answers a request.
    let answers = |raw: &mut Raw, id: &mut u32| {
        *id += 1;
        raw.try_call(*id, RequestOp::Stat { path: b("/") })
            .is_some()
    };
    for raw in &mut raws {
        assert!(answers(raw, &mut id));
    }
    server.ok(&["ban", "add", "127.0.0.4"]);
    let had = server.exhaust_open_files();
    let started = std::time::Instant::now();
    let commands: Vec<_> = [
        vec!["user", "lock", "alice", "--reason", "stolen key"],
        vec!["user", "key", "remove", "bob", &bobs_key],
        vec!["session", "kill", "--user", "carol"],
        vec!["ban", "add", "127.0.0.3"],
        vec!["tenant", "remove", "other", "--shred"],
        // A login policy narrowed: its sessions from elsewhere end.
        vec!["user", "set", "erin", "--networks", "127.0.0.9/32"],
        // A rate, a canary, an unlock: the server takes them from the catalog too.
        vec!["user", "throttle", "carol", "1M"],
        vec!["canary", "add", "acme", "/customers_full.csv"],
        vec!["user", "unlock", "carol", "--reason", "a test"],
        // A ban lifted: the server reads the lift itself too.
        vec!["ban", "remove", "127.0.0.4"],
    ]
    .into_iter()
    .map(|args| {
        let data = server.data_dir();
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            support::admin_in(&data, &args, None)
        })
    })
    .collect();
    // Each session ends within some 2 s of its change's commit, long before the command gives
    // up on the server's answer.
    for (who, raw) in ["alice", "bob", "carol", "dave", "frank", "erin"]
        .into_iter()
        .zip(&mut raws)
    {
        while answers(raw, &mut id) {
            assert!(
                started.elapsed() < Duration::from_secs(7),
                "{who}'s session lives on:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let ended = started.elapsed();
    let mut outs: Vec<_> = commands.into_iter().map(|c| c.join().unwrap()).collect();
    let waited = started.elapsed();
    let unban = outs.pop().unwrap();
    let unlock = outs.pop().unwrap();
    let canary = outs.pop().unwrap();
    let stderr = String::from_utf8_lossy(&canary.stderr);
    assert!(
        canary.status.success()
            && stderr.contains("it takes the change up itself within 2 seconds"),
        "{stderr}"
    );
    let throttle = outs.pop().unwrap();
    let policy = outs.pop().unwrap();
    let removal = outs.pop().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&removal.stdout),
        String::from_utf8_lossy(&removal.stderr),
    );
    assert!(
        removal.status.success()
            && stderr.contains("it ends the live sessions this change concerns itself")
            && stdout.starts_with("tenant other shredded: key destroyed, ")
            && stdout.trim_end().ends_with(
                "; the live sessions it concerns are ended by the server within 2 seconds"
            ),
        "{stdout}\n{stderr}"
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&policy.stdout),
        String::from_utf8_lossy(&policy.stderr),
    );
    assert!(
        policy.status.success()
            && stderr.contains("it ends the live sessions the policy no longer lets in itself"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.trim(),
        "account erin updated; the live sessions it no longer lets in are ended by the server \
         within 2 seconds"
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&throttle.stdout),
        String::from_utf8_lossy(&throttle.stderr),
    );
    assert!(throttle.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("did not answer within 10 seconds"),
        "{stderr}"
    );
    assert_eq!(
        stdout.trim(),
        "account carol throttled to 1048576 bytes/s; its live sessions take it from the server \
         within 2 seconds"
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&unlock.stdout),
        String::from_utf8_lossy(&unlock.stderr),
    );
    assert!(
        unlock.status.success()
            && stderr.contains("its detection reads the unlock itself within 2 seconds"),
        "{stderr}"
    );
    assert_eq!(
        stdout.trim(),
        "account carol unlocked; detection watches it afresh within 2 seconds"
    );
    let stderr = String::from_utf8_lossy(&unban.stderr);
    assert!(
        unban.status.success()
            && stderr.contains("did not answer within 10 seconds")
            && stderr.contains("it reads the lift itself within 2 seconds"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&unban.stdout).trim(),
        "ban of 127.0.0.4 lifted"
    );
    server.limit_open_files(had);
    assert!(
        ended < Duration::from_secs(7) && waited >= Duration::from_secs(10),
        "{ended:?} {waited:?}"
    );
    let said = [
        "account alice locked; ".to_owned(),
        format!("key {bobs_key} removed from bob; "),
        String::new(),
        "127.0.0.3 banned for 86400 s; ".to_owned(),
    ];
    for (out, said) in outs.iter().zip(said) {
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(
            stderr.contains("did not answer within 10 seconds")
                && stderr.contains("it ends the live sessions this change concerns itself"),
            "{stderr}"
        );
        assert_eq!(
            stdout.trim(),
            format!("{said}the live sessions it concerns are ended by the server within 2 seconds")
        );
    }
    let sessions = server.ok(&["audit", "export", "--kind", "session"]);
    // (The kill's and the ban's why name the administrator who ran them.)
    for (who, why) in [
        ("alice", "account locked (found so in the catalog)\""),
        ("bob", "key removed (found so in the catalog)\""),
        ("carol", "killed by an administrator ("),
        ("dave", "address banned by an administrator ("),
        ("frank", "account removed (found so in the catalog)\""),
        ("erin", "networks changed (found so in the catalog)\""),
    ] {
        assert!(
            sessions.lines().any(|l| l.contains(r#""opened":false"#)
                && l.contains(&format!(r#""account":"{who}""#))
                && l.contains(&format!(r#""ended_by":"{why}"#))),
            "{who}: {why}\n{sessions}"
        );
    }
    // Locked, or its key gone: no new session; killed: a new one (a kill is no lock).
    for c in [&alice, &bob] {
        let (code, _, _) = c.sftp("ls\n");
        assert_ne!(code, 0);
    }
    carol.sftp_ok("ls\n");
    // The address whose ban was lifted while the server could not be told is let in.
    let mut lifted = Raw::connect_from(&carol, "127.0.0.4");
    assert!(answers(&mut lifted, &mut id), "{}", server.log());
    server.stop();
    server.assert_ledger_verifies();
}

/// Evidence can be written while the server cannot be asked (out of file descriptors; in the
/// middle of an incident, perhaps): `incident report --evidence` says the server did not answer,
/// signs the checkpoint itself, and the file holds for a third party, with the file the
/// account read.
#[test]
fn evidence_is_written_when_the_server_cannot_be_asked() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mallory = server.account("acme", "mallory", "read-only");
    std::fs::write(
        alice.work().join("customers.csv"),
        "name,iban\nAda,GB82WEST12345698765432\n",
    )
    .unwrap();
    alice.sftp_ok("put customers.csv /customers.csv\n");
    mallory.sftp_ok("get /customers.csv got.csv\n");
    let public_key = server.ledger_public_key();
    let evidence = server.data_dir().parent().unwrap().join("mallory.jsonl");
    let had = server.exhaust_open_files();
    let out = server.admin(&[
        "incident",
        "report",
        "--user",
        "mallory",
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    server.limit_open_files(had);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("did not answer within 10 seconds")
            && stderr.contains("the checkpoint is signed here instead")
            && stderr.contains("evidence written to "),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["totals"]["files"], 1, "{report:#}");
    let elsewhere = tempfile::tempdir().unwrap();
    let check = std::process::Command::new(support::BIN)
        .current_dir(elsewhere.path())
        .args(["incident", "check"])
        .arg(&evidence)
        .args(["--public-key", &public_key])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{said}");
    assert!(
        said.contains("\nholds: ") && said.contains(" 1 file read,"),
        "{said}"
    );
    server.stop();
    server.assert_ledger_verifies();
}

/// Uploads `data`; the failing request's message on refusal.
fn upload_status(raw: &mut Raw, id: &mut u32, path: &str, data: &[u8]) -> Result<(), String> {
    *id += 1;
    let r = raw
        .try_call(
            *id,
            RequestOp::Open {
                path: b(path),
                flags: OpenFlags(OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC),
                attrs: Default::default(),
            },
        )
        .unwrap();
    if r.kind == kind::STATUS {
        return Err(r.status().1);
    }
    let h = r.handle();
    let mut failed = None;
    for (i, piece) in data.chunks(261_120).enumerate() {
        *id += 1;
        let r = raw
            .try_call(
                *id,
                RequestOp::Write {
                    handle: h.clone(),
                    offset: (i * 261_120) as u64,
                    data: Bytes::copy_from_slice(piece),
                },
            )
            .unwrap();
        if r.status().0 != StatusCode::OK {
            failed = Some(r.status().1);
            break;
        }
    }
    *id += 1;
    let r = raw.try_call(*id, RequestOp::Close { handle: h }).unwrap();
    match (failed, r.status()) {
        (Some(msg), _) => Err(msg),
        (None, (StatusCode::OK, _)) => Ok(()),
        (None, (_, msg)) => Err(msg),
    }
}
