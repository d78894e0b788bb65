//! Sealed at rest, with the real OpenSSH client: nothing readable on disk, tampering refused
//! and logged by file name, key rotation, crypto-shredding, retention and quotas.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sftp_proto::{OpenFlags, RequestOp, StatusCode};
use support::raw::Raw;
use support::{Client, Server, pseudo_random, sqlite, wait_until};

/// Every file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                // Regular files only: the control socket holds no data.
                out.push(p);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Changes one bit of the byte at `at` of file `path`, as a disk's damage would.
fn flip_a_byte(path: &Path, at: u64) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8; 1];
    f.read_exact_at(&mut byte, at).unwrap();
    f.write_all_at(&[byte[0] ^ 1], at).unwrap();
}

/// The blob file an action created (exactly one new blob).
fn new_blob(server: &Server, action: impl FnOnce()) -> PathBuf {
    let before: BTreeSet<_> = server.blob_files().into_iter().collect();
    action();
    let after: BTreeSet<_> = server.blob_files().into_iter().collect();
    let new: Vec<_> = after.difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "expected one new blob, got {new:?}");
    new[0].clone()
}

#[test]
fn no_name_or_content_marker_appears_anywhere_in_the_data_dir() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let marker = format!(
        "SRMARK{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let w = alice.work();
    let body: Vec<u8> = [marker.as_bytes(), b" confidential statement line\n"]
        .concat()
        .repeat(20_000);
    std::fs::write(w.join(format!("stmt-{marker}.csv")), &body).unwrap();
    std::fs::write(w.join("small.txt"), format!("tiny {marker}")).unwrap();
    alice.sftp_ok(&format!(
        "mkdir dir-{marker}\nput stmt-{marker}.csv dir-{marker}/stmt-{marker}.csv\nput small.txt small-{marker}.txt\n\
         rename small-{marker}.txt renamed-{marker}.txt\nls -l dir-{marker}\nget dir-{marker}/stmt-{marker}.csv back.csv\n"
    ));
    assert_eq!(std::fs::read(w.join("back.csv")).unwrap(), body);
    let listing = alice.sftp_ok("ls -1\n");
    assert!(
        listing.contains(&format!("renamed-{marker}.txt")),
        "{listing}"
    );

    for phase in ["running", "stopped"] {
        let files = all_files(&server.data_dir());
        assert!(files.iter().any(|f| f.ends_with("catalog.db")));
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !contains(&bytes, marker.as_bytes()),
                "{phase}: marker found in {}",
                f.display()
            );
            assert!(
                !contains(&bytes, b"confidential statement"),
                "{phase}: content found in {}",
                f.display()
            );
        }
        server.stop();
    }
}

#[test]
fn tampered_blobs_are_refused_and_the_log_names_the_file() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    let original = pseudo_random(5, 300_000);
    std::fs::write(w.join("ledger.bin"), &original).unwrap();
    let blob = new_blob(&server, || {
        alice.sftp_ok("put ledger.bin payments.bin\n");
    });
    let pristine = std::fs::read(&blob).unwrap();
    let (chunk, stride) = (32usize, 65_536 + 28);

    let expect_refused = |what: &str| {
        let _ = std::fs::remove_file(w.join("out.bin"));
        let (code, _, _) = alice.sftp("get payments.bin out.bin\n");
        assert_eq!(code, 1, "{what}: tampered file was served");
        // Whatever reached the client is a verified prefix, never altered bytes.
        let got = std::fs::read(w.join("out.bin")).unwrap_or_default();
        assert!(
            got.len() < original.len() && original.starts_with(&got),
            "{what}: altered bytes served"
        );
        std::fs::write(&blob, &pristine).unwrap();
    };
    // A flipped bit.
    let f = std::fs::OpenOptions::new().write(true).open(&blob).unwrap();
    f.write_at(
        &[pristine[chunk + stride + 100] ^ 0x01],
        (chunk + stride + 100) as u64,
    )
    .unwrap();
    expect_refused("flipped bit");
    // Truncated.
    f.set_len(pristine.len() as u64 - 50).unwrap();
    expect_refused("truncated");
    // Two chunks swapped.
    let mut swapped = pristine.clone();
    let (a, b) = (chunk, chunk + stride);
    let first = pristine[a..a + stride].to_vec();
    swapped.copy_within(b..b + stride, a);
    swapped[b..b + stride].copy_from_slice(&first);
    std::fs::write(&blob, &swapped).unwrap();
    expect_refused("swapped chunks");
    // Another file's blob in its place.
    std::fs::write(w.join("other.bin"), pseudo_random(6, 300_000)).unwrap();
    let other = new_blob(&server, || {
        alice.sftp_ok("put other.bin other.bin\n");
    });
    std::fs::copy(&other, &blob).unwrap();
    expect_refused("another file's blob");

    let log = server.log();
    assert!(log.contains("integrity check failed"), "{log}");
    assert!(
        log.contains("/payments.bin"),
        "the log does not name the file"
    );
    // Restored, it reads again.
    alice.sftp_ok("get payments.bin fine.bin\n");
    assert_eq!(std::fs::read(w.join("fine.bin")).unwrap(), original);
}

#[test]
fn a_replayed_older_chunk_is_refused() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    let v1 = pseudo_random(8, 200_000);
    std::fs::write(w.join("v1"), &v1).unwrap();
    let blob1 = new_blob(&server, || {
        alice.sftp_ok("put v1 statement\n");
    });
    // The last chunk (index 3) of version 1, as sealed then.
    let old = std::fs::read(&blob1).unwrap();
    let at = 32 + 3 * (65_536 + 28);
    let old_chunk = old[at..at + (200_000 - 3 * 65_536) + 28].to_vec();
    // Version 2 appends (same data key, chunk 3 re-sealed); then the old chunk 3 is put back.
    let v2 = [v1.clone(), pseudo_random(9, 50_000)].concat();
    std::fs::write(w.join("v2"), &v2).unwrap();
    let blob2 = new_blob(&server, || {
        alice.sftp_ok("reput v2 statement\n");
    });
    alice.sftp_ok("get statement check\n");
    assert_eq!(std::fs::read(w.join("check")).unwrap(), v2);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&blob2)
        .unwrap();
    f.write_at(&old_chunk, at as u64).unwrap();
    let (code, _, _) = alice.sftp("get statement replayed\n");
    assert_eq!(code, 1, "a replayed chunk was accepted");
    let got = std::fs::read(w.join("replayed")).unwrap_or_default();
    assert!(v2.starts_with(&got) && got.len() <= at);
}

fn rotate(server: &Server, args: &[&str]) -> String {
    server.ok(args)
}

#[test]
fn files_stay_readable_across_tenant_and_master_key_rotation() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    let data = pseudo_random(11, 150_000);
    std::fs::write(w.join("f"), &data).unwrap();
    alice.sftp_ok("mkdir in\nput f in/report.csv\n");

    let out = rotate(&server, &["tenant", "rotate-key", "acme"]);
    assert!(out.contains("version 2"), "{out}");
    let listing = alice.sftp_ok("ls -1 in\nget in/report.csv a\n");
    assert!(listing.contains("report.csv"), "{listing}");
    assert_eq!(std::fs::read(w.join("a")).unwrap(), data);
    // Uploads after the rotation use the new key; rotating again keeps everything readable.
    alice.sftp_ok("put f in/after.csv\n");
    rotate(&server, &["tenant", "rotate-key", "acme"]);

    let master = server.data_dir().join("master.key");
    let before = std::fs::read(&master).unwrap();
    let out = rotate(&server, &["master", "rotate"]);
    assert!(out.contains("1 tenant keys re-wrapped"), "{out}");
    assert_ne!(std::fs::read(&master).unwrap(), before);
    assert!(!server.data_dir().join("master.key.new").exists());
    // The running server picks up the new master key.
    alice.sftp_ok("get in/report.csv b\nget in/after.csv c\n");
    assert_eq!(std::fs::read(w.join("b")).unwrap(), data);
    assert_eq!(std::fs::read(w.join("c")).unwrap(), data);
    server.restart();
    alice.sftp_ok("get in/report.csv d\n");
    assert_eq!(std::fs::read(w.join("d")).unwrap(), data);
    // The old master key no longer opens anything: the server refuses to start with it.
    server.stop();
    std::fs::write(&master, &before).unwrap();
    let err = server.serve_refused();
    assert!(
        err.contains("which is neither the configured master key nor a pending one"),
        "{err}"
    );
    // Nor is a tenant key made under it (it would be under another master key than the rest).
    let out = server.admin(&["tenant", "add", "initech"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("keys are wrapped under master key")
            && err.contains("which is neither the configured master key nor a pending one"),
        "{err}"
    );
    let out = server.admin(&["tenant", "list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !list.contains("initech"), "{list}");
}

/// Uploads 100,000 pseudo-random bytes (from `seed`: larger than a file kept inline, so one
/// blob file) as `/kept`; returns them.
fn put_kept(c: &Client, seed: u64) -> Vec<u8> {
    let data = pseudo_random(seed, 100_000);
    std::fs::write(c.work().join("f"), &data).unwrap();
    c.sftp_ok("put f kept\n");
    data
}

/// `/kept` reads back as `data`.
fn assert_kept(c: &Client, data: &[u8]) {
    c.sftp_ok("get kept back\n");
    assert_eq!(std::fs::read(c.work().join("back")).unwrap(), data);
}

/// A tenant key rotated while a partner uploads goes through (the files committed meanwhile are
/// re-keyed in the rotation's transaction; before, with 2,000 files to re-key, every attempt
/// was overtaken and the rotation failed after five), and every file, stored before, uploaded
/// during or after, reads back intact.
#[test]
fn a_tenant_key_rotates_while_files_are_uploaded() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    // Reading its files back at once is what this account does.
    server.ok(&[
        "detect",
        "override",
        "--user",
        "alice",
        "--set",
        "cautious_files=100000",
        "--set",
        "breadth_min_files=100000",
    ]);
    let stored = alice.work().join("stored");
    std::fs::create_dir(&stored).unwrap();
    for i in 0..2000 {
        std::fs::write(stored.join(format!("s{i}")), format!("stored {i}\n")).unwrap();
    }
    alice.sftp_ok("put -r stored\nmkdir during\n");
    let mut script = String::new();
    for i in 0..300 {
        std::fs::write(alice.work().join(format!("f{i}")), format!("file {i}\n")).unwrap();
        script.push_str(&format!("put f{i} during/f{i}\n"));
    }
    std::thread::scope(|s| {
        let uploading = s.spawn(|| alice.sftp_ok(&script));
        for _ in 0..3 {
            let out = server.ok(&["tenant", "rotate-key", "acme"]);
            assert!(out.contains("key rotated"), "{out}");
        }
        uploading.join().unwrap();
    });
    alice.sftp_ok(
        "put f0 after\nget -r during back\nget stored/s0 s0\nget stored/s1999 s1999\nget after\n",
    );
    let w = alice.work();
    assert_eq!(std::fs::read(w.join("s0")).unwrap(), b"stored 0\n");
    assert_eq!(std::fs::read(w.join("s1999")).unwrap(), b"stored 1999\n");
    assert_eq!(std::fs::read(w.join("after")).unwrap(), b"file 0\n");
    for i in 0..300 {
        let got = std::fs::read(w.join("back").join(format!("f{i}"))).unwrap();
        assert_eq!(got, format!("file {i}\n").into_bytes(), "f{i}");
    }
    let shown = server.ok(&["tenant", "show", "acme"]);
    let version = shown
        .lines()
        .find_map(|l| l.strip_prefix("tenant key version:"))
        .map(str::trim);
    assert_eq!(version, Some("4"), "{shown}");
}

/// The contents pass reading a tenant's files while its key is rotated (each file's data key
/// re-wrapped under the new key meanwhile) finds nothing damaged: a file whose key changed
/// under the read is read again as it is now.
#[test]
fn a_contents_pass_beside_tenant_key_rotations_finds_nothing_damaged() {
    let mut server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 100\n[storage]\ncontents_check_mib_per_s = 2\n",
    );
    let alice = server.account("acme", "alice", "full");
    let stored = alice.work().join("stored");
    std::fs::create_dir(&stored).unwrap();
    for i in 0..1000 {
        std::fs::write(stored.join(format!("s{i}")), format!("stored {i}\n")).unwrap();
    }
    alice.sftp_ok("put -r stored\n");
    contents_check_due(&mut server);
    server.start_again();
    // The pass reads some 128 files a second (each counts as 16 KiB against 2 MiB/s): the
    // rotations run while it reads.
    wait_until("the pass to begin", 30, 50, || {
        !contents_check_state(&server).is_empty()
    });
    for _ in 0..3 {
        let out = server.ok(&["tenant", "rotate-key", "acme"]);
        assert!(out.contains("key rotated"), "{out}");
    }
    let during = contents_check_state(&server);
    wait_until("the pass's end", 60, 200, || contents_pass_ended(&server));
    let state = contents_check_state(&server);
    assert!(
        during.split('|').nth(1) == Some("None"),
        "the rotations ended after the pass: {during}"
    );
    let counts: Vec<&str> = state.split('|').skip(2).collect();
    assert_eq!((counts[0], counts[2]), ("1000", "0"), "{state}");
    assert!(
        integrity_alerts(&server).is_empty(),
        "{:#?}",
        integrity_alerts(&server)
    );
}

/// Administrators rotating the master key while others add tenants and rotate a tenant's key,
/// as separate processes beside the running server: every tenant key opens afterwards, and the
/// server serves every tenant's files. (Before, a tenant key made during a rotation stayed
/// wrapped under the master key the rotation deleted: by hand, the first of 15 rotations beside
/// 40 tenant additions lost one tenant and every later rotation failed on it.)
#[test]
fn master_rotations_beside_tenant_keys_being_made_lose_none() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let data = put_kept(&alice, 15);
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..6 {
                server.ok(&["master", "rotate"]);
            }
        });
        s.spawn(|| {
            for i in 0..15 {
                server.ok(&["tenant", "add", &format!("t{i}")]);
                server.ok(&["tenant", "rotate-key", "acme"]);
            }
        });
    });
    // Every tenant key opens: rotating it needs it.
    for i in 0..15 {
        server.ok(&["tenant", "rotate-key", &format!("t{i}")]);
    }
    server.ok(&["master", "rotate"]);
    assert_kept(&alice, &data);
}

/// A master key file gone missing (a key volume not mounted, a path mistyped) is named, not
/// replaced: neither the server nor an administrator's command makes a new key where the one
/// in use was expected (the server used to, then failed on it; a tenant added then was
/// wrapped under the new key). Restored, everything opens again.
#[test]
fn a_missing_master_key_file_is_named_not_replaced() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let data = put_kept(&alice, 14);
    server.stop();
    let master = server.data_dir().join("master.key");
    let aside = server.data_dir().join("..").join("master.key.aside");
    std::fs::rename(&master, &aside).unwrap();
    let id = std::fs::read_to_string(&aside).unwrap();
    let id = id.split_whitespace().nth(1).unwrap().to_owned();

    let err = server.serve_refused();
    assert!(
        err.contains("is missing, and this data directory's keys are wrapped under master key")
            && err.contains(&id),
        "{err}"
    );
    assert!(!master.exists(), "a new master key was made");
    let out = server.admin(&["tenant", "add", "globex"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&id), "{err}");
    let out = server.admin(&["file", "show", "acme", "/kept"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!master.exists(), "a new master key was made");
    // The chain is verified without any key.
    server.ok(&["audit", "verify"]);
    let tenants = server.ok(&["tenant", "list"]);
    assert!(!tenants.contains("globex"), "{tenants}");

    std::fs::rename(&aside, &master).unwrap();
    server.restart();
    assert_kept(&alice, &data);
}

/// A blob store that holds none of the catalog's blobs (its volume not mounted) is refused at
/// start, and so is another data directory's (a store is marked with its data directory's
/// mark, which the catalog keeps too), also for a data directory whose files are all small
/// (kept in its catalog: no blob of its own to miss) and for a store without a mark that holds
/// blobs none of which are the catalog's. Nothing in it is removed: before, the server started,
/// failed every download, and swept another store's blobs away as orphans.
#[test]
fn a_blob_store_without_the_catalogs_blobs_or_of_another_data_directory_is_refused() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let data = pseudo_random(16, 100_000);
    std::fs::write(alice.work().join("f"), &data).unwrap();
    alice.sftp_ok("put f kept\n");
    let mut other = Server::start();
    let bob = other.account("globex", "bob", "full");
    std::fs::write(bob.work().join("g"), pseudo_random(17, 100_000)).unwrap();
    bob.sftp_ok("put g theirs\n");
    let mut small = Server::start();
    let carol = small.account("initech", "carol", "full");
    std::fs::write(carol.work().join("s"), b"a small file").unwrap();
    carol.sftp_ok("put s small\n");
    server.stop();
    other.stop();
    small.stop();
    assert!(small.blob_files().is_empty());
    let blobs = server.data_dir().join("blobs");
    let aside = server.data_dir().join("..").join("blobs.aside");
    std::fs::rename(&blobs, &aside).unwrap();
    // Not mounted: an empty directory.
    std::fs::create_dir(&blobs).unwrap();
    let err = server.serve_refused();
    assert!(
        err.contains("holds none of the 1 blobs the catalog refers to"),
        "{err}"
    );
    // Another data directory's store, by its mark: refused, and its blob left where it is;
    // also where the catalog refers to no blob.
    let theirs = other.data_dir().join("blobs");
    std::fs::remove_dir(&blobs).unwrap();
    std::os::unix::fs::symlink(&theirs, &blobs).unwrap();
    let err = server.serve_refused();
    assert!(err.contains("is another data directory's"), "{err}");
    let small_blobs = small.data_dir().join("blobs");
    std::fs::rename(&small_blobs, small.data_dir().join("blobs.aside")).unwrap();
    std::os::unix::fs::symlink(&theirs, &small_blobs).unwrap();
    let err = small.serve_refused();
    assert!(err.contains("is another data directory's"), "{err}");
    // Without its mark (a store from before marks), its blobs are none of the catalog's.
    std::fs::rename(theirs.join("owner"), other.data_dir().join("owner.aside")).unwrap();
    let err = small.serve_refused();
    assert!(
        err.contains("holds 1 blobs, none of which this data directory's catalog refers to"),
        "{err}"
    );
    assert_eq!(other.blob_files().len(), 1);

    std::fs::rename(other.data_dir().join("owner.aside"), theirs.join("owner")).unwrap();
    for (data_dir, kept) in [
        (server.data_dir(), &aside),
        (small.data_dir(), &small.data_dir().join("blobs.aside")),
    ] {
        std::fs::remove_file(data_dir.join("blobs")).unwrap();
        std::fs::rename(kept, data_dir.join("blobs")).unwrap();
    }
    server.start_again();
    alice.sftp_ok("get kept back\n");
    assert_eq!(std::fs::read(alice.work().join("back")).unwrap(), data);
    small.start_again();
    carol.sftp_ok("get small back\n");
    assert_eq!(
        std::fs::read(carol.work().join("back")).unwrap(),
        b"a small file"
    );
    other.start_again();
    bob.sftp_ok("get theirs back\n");
    assert_eq!(other.blob_files().len(), 1);
}

/// A name altered in the catalog (a byte of its seal changed) does not open: its directory's
/// listing is refused, the log names the row by its id (and holds no name), and the other
/// files are still served by name; a key rotation refuses to begin, naming the row.
#[test]
fn a_name_altered_in_the_catalog_is_refused_and_its_row_named() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), b"kept").unwrap();
    alice.sftp_ok("put f quarterly-report.csv\nput f other.csv\n");
    let db = server.data_dir().join("catalog.db");
    let id = support::sqlite_query(
        &db,
        "SELECT MIN(id) FROM nodes WHERE kind = 'file' AND parent_id IS NOT NULL",
    );
    let id = id.trim();
    support::sqlite(
        &db,
        &format!("UPDATE nodes SET sealed_name = randomblob(length(sealed_name)) WHERE id = {id}"),
    );
    let (_, out, err) = alice.sftp("ls\n");
    assert!(
        err.contains("Couldn't read directory: Failure") && !out.contains("other.csv"),
        "a listing with an altered name served: {out} {err}"
    );
    let log = server.log();
    let said = log
        .lines()
        .find(|l| l.contains("does not open under its tenant's key"))
        .unwrap_or_else(|| panic!("the damaged row was not named: {log}"));
    assert!(said.contains(&format!("node_id={id}")), "{said}");
    assert!(!log.contains("quarterly-report"), "a name in the log");
    alice.sftp_ok("get other.csv back\n");
    assert_eq!(std::fs::read(alice.work().join("back")).unwrap(), b"kept");
    // A rotation of the tenant's key stops at the row, naming it, and changes nothing: its
    // check of every row comes before it begins.
    let out = server.admin(&["tenant", "rotate-key", "acme"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(&format!("catalog node {id}: ")),
        "{err}"
    );
    let show = server.ok(&["tenant", "show", "acme"]);
    assert!(
        show.contains("tenant key version:      1") && !show.contains("key rotation:"),
        "{show}"
    );
    alice.sftp_ok("get other.csv again\n");
    assert_eq!(std::fs::read(alice.work().join("again")).unwrap(), b"kept");
    // A data key said to be under a version the tenant never had (neither the old key nor the
    // new): refused the same way, not kept under a key about to be gone.
    support::sqlite(&db, &format!("DELETE FROM nodes WHERE id = {id}"));
    let other = support::sqlite_query(
        &db,
        "SELECT id FROM nodes WHERE key_version IS NOT NULL AND parent_id IS NOT NULL",
    );
    let other = other.trim();
    support::sqlite(
        &db,
        &format!("UPDATE nodes SET key_version = 7 WHERE id = {other}"),
    );
    let out = server.admin(&["tenant", "rotate-key", "acme"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains(&format!(
                "catalog node {other}: its data key is wrapped under tenant key version 7"
            )),
        "{err}"
    );
    assert!(
        server
            .ok(&["tenant", "show", "acme"])
            .contains("tenant key version:      1")
    );
}

/// Sealed values damaged in the catalog (names of a file and of a directory, a file's classes,
/// a data key): `tenant check` lists each by its row, reading only; `tenant repair` gives the
/// names back as damaged-ID (the contents as they were), clears the classes (classified
/// again) and leaves the data key, saying what to do; then the rotation the damage blocked
/// goes through.
#[test]
fn damaged_values_are_listed_by_tenant_check_and_repaired_where_nothing_is_lost() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let extract: String = (0..40)
        .map(|i| format!("{i},customer{i}@example.com,4111 1111 1111 1111\n"))
        .collect();
    let extract = format!("id,email,card_number\n{extract}");
    std::fs::write(alice.work().join("f"), &extract).unwrap();
    let big = pseudo_random(5, 200_000);
    std::fs::write(alice.work().join("big"), &big).unwrap();
    alice.sftp_ok(
        "put f quarterly-report.csv\nput f other.csv\nmkdir inbox\nput big inbox/keys.bin\n",
    );
    let db = server.data_dir().join("catalog.db");
    let id_of = |sql: &str| support::sqlite_query(&db, sql).trim().to_owned();
    let named = |n: &str| {
        // Names are sealed: found by their order of upload (ids rise).
        id_of(&format!(
            "SELECT id FROM nodes WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1 OFFSET {n}"
        ))
    };
    let (report, other, inbox, keys) = (named("0"), named("1"), named("2"), named("3"));
    assert!(!id_of(&format!("SELECT classes FROM nodes WHERE id = {other}")).is_empty());
    assert!(!id_of(&format!("SELECT wrapped_key FROM nodes WHERE id = {keys}")).is_empty());
    for (column, id) in [
        ("sealed_name", &report),
        ("classes", &other),
        ("sealed_name", &inbox),
        ("wrapped_key", &keys),
    ] {
        sqlite(
            &db,
            &format!("UPDATE nodes SET {column} = randomblob(length({column})) WHERE id = {id}"),
        );
    }

    // Listed, each by its row and where it is, and exit 1.
    let out = server.admin(&["tenant", "check", "acme"]);
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 4, "{listed}");
    let starts = [
        format!(
            "name of node {report} (file of {} bytes, stored ",
            extract.len()
        ),
        format!(
            "data classes of node {other} (file of {} bytes, stored ",
            extract.len()
        ),
        format!("name of node {inbox} (directory, stored "),
        format!("data key of node {keys} (file of 200000 bytes, stored "),
    ];
    let ends = [
        ") in /: does not open; its directory cannot be listed",
        ") /other.csv: does not open; its data classes cannot be shown",
        ") in /: does not open; its directory cannot be listed",
        ") under a directory whose name does not open: does not open; its contents cannot be read",
    ];
    for ((line, start), end) in lines.iter().zip(&starts).zip(ends) {
        assert!(
            line.starts_with(start.as_str()) && line.ends_with(end),
            "{line}"
        );
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tenant acme: ") && err.contains("rows checked; 4 sealed values do not open"),
        "{err}"
    );
    // Every tenant's, each line saying whose.
    server.account("globex", "carol", "full");
    let out = server.admin(&["tenant", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let every = String::from_utf8(out.stdout).unwrap();
    assert_eq!(every.lines().count(), 4, "{every}");
    assert!(
        every.lines().all(|l| l.starts_with("tenant acme: ")),
        "{every}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 tenants: ")
            && err.contains("`strongroom tenant repair acme --reason TEXT` repairs what it can"),
        "{err}"
    );
    let out = server.admin(&["tenant", "check", "acme", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let found: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let brief: Vec<(String, String, serde_json::Value, serde_json::Value)> = found
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_owned(),
                v["row"].to_string(),
                v["path"].clone(),
                v["directory"].clone(),
            )
        })
        .collect();
    let null = serde_json::Value::Null;
    let root = serde_json::json!("/");
    assert_eq!(
        brief,
        [
            ("name".into(), report.clone(), null.clone(), root.clone()),
            (
                "classes".into(),
                other.clone(),
                serde_json::json!("/other.csv"),
                null.clone()
            ),
            ("name".into(), inbox.clone(), null.clone(), root),
            ("data_key".into(), keys.clone(), null.clone(), null),
        ]
    );

    // The rotation the damage blocks says where to look.
    let out = server.admin(&["tenant", "rotate-key", "acme"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("`strongroom tenant check acme` lists every one"),
        "{err}"
    );

    // Repaired where nothing that opens is lost; the data key left, with what to do.
    let out = server.admin(&["tenant", "repair", "acme", "--reason", " "]);
    assert_eq!(out.status.code(), Some(2));
    let out = server.admin(&["tenant", "repair", "acme", "--reason", "disk fault"]);
    assert_eq!(out.status.code(), Some(1));
    let repaired = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = repaired.lines().collect();
    assert_eq!(lines.len(), 4, "{repaired}");
    assert!(
        lines[0].ends_with(&format!(") in /: now named damaged-{report}")),
        "{repaired}"
    );
    assert!(
        lines[1].ends_with(
            ") /other.csv: cleared (`strongroom classify run --tenant acme` finds them again)"
        ),
        "{repaired}"
    );
    assert!(
        lines[2].ends_with(&format!(") in /: now named damaged-{inbox}")),
        "{repaired}"
    );
    assert!(
        lines[3].contains(") under a directory whose name does not open: not repaired: the file's contents cannot be read by anyone: remove it"),
        "{repaired}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tenant acme: 3 of 4 damaged values repaired; 1 left"),
        "{err}"
    );
    let admin = server.ok(&["audit", "export", "--kind", "admin"]);
    let outcomes: Vec<&str> = admin
        .lines()
        .filter(|l| l.contains(r#""command":"tenant repair acme --reason disk fault""#))
        .filter_map(|l| l.split(r#""outcome":""#).nth(1))
        .collect();
    assert!(
        outcomes.len() == 2
            && outcomes[0].starts_with("begun\"")
            && outcomes[1].starts_with("failed: tenant acme: 3 of 4 damaged values repaired"),
        "{admin}"
    );

    // Listed again, under the names given; the contents as they were.
    let (_, out, _) = alice.sftp("ls -1\n");
    for name in [
        format!("damaged-{report}"),
        "other.csv".into(),
        format!("damaged-{inbox}"),
    ] {
        assert!(out.lines().any(|l| l.trim() == name), "{name}: {out}");
    }
    alice.sftp_ok(&format!("get damaged-{report} back\n"));
    assert_eq!(
        std::fs::read(alice.work().join("back")).unwrap(),
        extract.as_bytes()
    );
    let (code, _, _) = alice.sftp(&format!("get damaged-{inbox}/keys.bin lost\n"));
    assert_ne!(code, 0, "a file whose data key does not open was served");
    alice.sftp_ok(&format!("rm damaged-{inbox}/keys.bin\n"));
    let out = server.admin(&["tenant", "check", "acme"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("rows checked, every sealed value opens\n")
    );
    let out = server.ok(&["tenant", "repair", "acme", "--reason", "again"]);
    assert!(
        out.starts_with(
            "tenant acme: every name, key, data class and secret opens; nothing to repair"
        ),
        "{out}"
    );

    // The classes found again; the rotation goes through.
    let show = server.ok(&["file", "show", "acme", "/other.csv"]);
    assert!(!show.contains("card_number"), "{show}");
    server.ok(&["classify", "run", "--tenant", "acme"]);
    let show = server.ok(&["file", "show", "acme", "/other.csv"]);
    assert!(show.contains("card_number 40"), "{show}");
    let rotated = server.ok(&["tenant", "rotate-key", "acme"]);
    assert!(rotated.contains("key rotated to version 2"), "{rotated}");
    alice.sftp_ok(&format!("get damaged-{report} again\n"));
    assert_eq!(
        std::fs::read(alice.work().join("again")).unwrap(),
        extract.as_bytes()
    );

    // A TOTP secret: listed, left with what to do, and enrolled again.
    server.account("acme", "bob", "full");
    server.ok(&["user", "mfa", "bob"]);
    sqlite(
        &db,
        "UPDATE accounts SET totp_secret = randomblob(length(totp_secret)) WHERE name = 'bob'",
    );
    let bob = id_of("SELECT id FROM accounts WHERE name = 'bob'");
    let out = server.admin(&["tenant", "check", "acme"]);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
        ),
        (
            Some(1),
            format!(
                "TOTP secret of account bob (id {bob}): does not open; the account's second \
                 factor cannot be checked\n"
            )
        )
    );
    let out = server.admin(&["tenant", "repair", "acme", "--reason", "disk fault"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(
            "not repaired: enrol the account's second factor again: `strongroom user mfa bob`\n"
        ),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    server.ok(&["user", "mfa", "bob"]);
    assert_eq!(
        server.admin(&["tenant", "check", "acme"]).status.code(),
        Some(0)
    );
    let every = server.ok(&["tenant", "check"]);
    assert!(
        every.starts_with("2 tenants: ")
            && every.ends_with(" rows checked, every sealed value opens\n"),
        "{every}"
    );
}

/// Contents damaged on disk (a byte of a sealed chunk changed, a blob gone) are found by
/// `tenant check --contents`, which reads every file as a download would, each named with the
/// chunk or blob; the check without it reads no contents, and finds nothing.
#[test]
fn damaged_contents_are_found_by_tenant_check_with_contents() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let big = pseudo_random(9, 300_000);
    std::fs::write(alice.work().join("big"), &big).unwrap();
    std::fs::write(alice.work().join("small"), b"a line\n").unwrap();
    alice.sftp_ok("put small small.txt\n");
    let a = new_blob(&server, || {
        alice.sftp_ok("put big a.bin\n");
    });
    let b = new_blob(&server, || {
        alice.sftp_ok("put big b.bin\n");
    });
    // In its second sealed chunk.
    flip_a_byte(&b, 70_000);
    let ok = server.ok(&["tenant", "check", "acme"]);
    assert!(
        ok.ends_with(" rows checked, every sealed value opens\n"),
        "{ok}"
    );
    let out = server.admin(&["tenant", "check", "acme", "--contents"]);
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8(out.stdout).unwrap();
    let id = |name: &str| {
        server
            .ok(&["file", "show", "acme", name])
            .lines()
            .find_map(|l| {
                l.strip_suffix(')')?
                    .split_once("(id ")
                    .map(|(_, id)| id.to_owned())
            })
            .unwrap()
    };
    let (a_id, b_id) = (id("/a.bin"), id("/b.bin"));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 1, "{listed}");
    assert!(
        lines[0].starts_with(&format!(
            "contents of node {b_id} (file of 300000 bytes, stored "
        )) && lines[0].ends_with(
            ") /b.bin: does not open (chunk 1 failed authentication (modified or moved)); \
             its contents cannot be read past the damage"
        ),
        "{listed}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the contents of 2 files read (300,007 bytes"),
        "{err}"
    );
    // A blob gone.
    std::fs::remove_file(&a).unwrap();
    let out = server.admin(&["tenant", "check", "acme", "--contents", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let found: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let brief: Vec<(String, String, String)> = found
        .iter()
        .map(|v| {
            (
                v["row"].to_string(),
                v["path"].as_str().unwrap().to_owned(),
                v["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(brief.len(), 2, "{brief:?}");
    assert_eq!((&brief[0].0, &brief[0].1[..]), (&a_id, "/a.bin"));
    assert!(brief[0].2.ends_with(" not found"), "{brief:?}");
    assert_eq!(
        (&brief[1].0, &brief[1].1[..], &brief[1].2[..]),
        (
            &b_id,
            "/b.bin",
            "chunk 1 failed authentication (modified or moved)"
        )
    );
    // Removed and uploaded again: nothing found.
    alice.sftp_ok("rm b.bin\nput big a.bin\n");
    let ok = server.ok(&["tenant", "check", "acme", "--contents"]);
    assert!(
        ok.ends_with(
            ", the contents of 2 files read (300,007 bytes (293.0 KiB)), every sealed value opens\n"
        ),
        "{ok}"
    );
}

/// A small file's contents, kept in its catalog row, gone from it (a row altered by hand) are
/// found by the contents pass as missing, not passed over.
#[test]
fn a_small_files_contents_missing_from_its_row_are_reported() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("small"), b"a line\n").unwrap();
    alice.sftp_ok("put small small.txt\n");
    contents_check_due(&mut server);
    let db = server.data_dir().join("catalog.db");
    let id = support::sqlite_query(
        &db,
        "SELECT id FROM nodes WHERE kind = 'file' AND contents IS NOT NULL",
    );
    let id = id.trim().to_owned();
    assert!(!id.is_empty());
    sqlite(
        &db,
        &format!("UPDATE nodes SET contents = NULL WHERE id = {id}"),
    );
    server.start_again();
    wait_until("the contents alert", 30, 100, || {
        !integrity_alerts(&server).is_empty()
    });
    let alerts = integrity_alerts(&server);
    assert!(
        alerts[0].contains(&format!(
            "the contents of 1 file of tenant acme does not open as sealed (damaged on disk, or \
             altered behind the server): file {id} (its contents are missing)"
        )),
        "{alerts:#?}"
    );
}

/// A tenant whose removal began while the contents pass reads another (its key deleted first,
/// its files after it in steps: here the steps not yet taken) has its files passed over, not
/// reported as damaged.
#[test]
fn a_tenant_being_removed_during_a_contents_pass_is_no_damage() {
    let mut server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 100\n[storage]\ncontents_check_mib_per_s = 1\n",
    );
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("beta", "bob", "full");
    put_mib_files(&alice, 4, 400);
    std::fs::write(bob.work().join("g"), pseudo_random(410, 200_000)).unwrap();
    bob.sftp_ok("put g g1.bin\nput g g2.bin\n");
    contents_check_due(&mut server);
    server.start_again();
    wait_until("the pass to begin", 30, 50, || {
        !contents_check_state(&server).is_empty()
    });
    // What a removal's first transaction does (`tenant remove --shred`, cut short before its
    // steps), while the pass reads acme's 4 MiB at 1 MiB/s.
    sqlite(
        &server.data_dir().join("catalog.db"),
        "UPDATE tenants SET removing_since = strftime('%s') WHERE name = 'beta';
         DELETE FROM tenant_keys WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'beta');",
    );
    assert_eq!(
        contents_check_state(&server).split('|').nth(1),
        Some("None"),
        "the pass ended before the removal began"
    );
    wait_until("the pass's end", 60, 200, || contents_pass_ended(&server));
    let state = contents_check_state(&server);
    let counts: Vec<&str> = state.split('|').skip(2).collect();
    assert_eq!((counts[0], counts[2]), ("4", "0"), "{state}");
    assert!(
        integrity_alerts(&server).is_empty(),
        "{:#?}",
        integrity_alerts(&server)
    );
}

/// `tenant check --contents --pace N` reads at most N MiB a second (as the server's own pass
/// does), to spare a disk that clients use; `--pace` needs `--contents` and a pace of 1 or more.
#[test]
fn tenant_check_reads_contents_at_the_pace_asked() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    put_mib_files(&alice, 3, 300);
    let started = std::time::Instant::now();
    let ok = server.ok(&["tenant", "check", "acme", "--contents", "--pace", "1"]);
    let took = started.elapsed();
    assert!(
        ok.contains("the contents of 3 files read (3,145,728 bytes (3.0 MiB))"),
        "{ok}"
    );
    // 3 MiB at 1 MiB/s: a second's wait after each MiB but the first's read.
    assert!(took >= Duration::from_secs(2), "{took:?}");
    for args in [
        &["tenant", "check", "acme", "--pace", "1"][..],
        &["tenant", "check", "acme", "--contents", "--pace", "0"][..],
    ] {
        assert_eq!(server.admin(args).status.code(), Some(2), "{args:?}");
    }
}

/// The `integrity` alerts on the ledger's record, as `audit export` gives them.
fn integrity_alerts(server: &Server) -> Vec<String> {
    server
        .ok(&["audit", "export", "--kind", "alert"])
        .lines()
        .filter(|l| l.contains(r#""rule":"integrity""#))
        .map(str::to_owned)
        .collect()
}

/// The server checks every tenant's sealed values shortly after its start (then every day,
/// `[storage] integrity_check_hours`): a damaged one raises an `integrity` alert naming the
/// tenant and the row, stored and on the ledger's record; once repaired, a start raises none.
#[test]
fn the_server_raises_an_integrity_alert_for_a_damaged_value() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("f"), b"kept").unwrap();
    alice.sftp_ok("put f a.txt\nput f b.txt\n");
    server.stop();
    let db = server.data_dir().join("catalog.db");
    let id = support::sqlite_query(
        &db,
        "SELECT MIN(id) FROM nodes WHERE kind = 'file' AND parent_id IS NOT NULL",
    );
    let id = id.trim().to_owned();
    sqlite(
        &db,
        &format!("UPDATE nodes SET sealed_name = randomblob(length(sealed_name)) WHERE id = {id}"),
    );
    server.start_again();
    wait_until("the integrity alert", 30, 100, || {
        !integrity_alerts(&server).is_empty()
    });
    let alerts = integrity_alerts(&server);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].contains(r#""tenant":"acme""#)
            && alerts[0].contains(r#""severity":"high""#)
            && alerts[0].contains(&format!(
                "1 sealed value of tenant acme does not open under its key (damaged on disk, or \
                 altered in the catalog): name of row {id}; `strongroom tenant check acme` lists \
                 them"
            ))
            && alerts[0].contains(r#""actions":[]"#),
        "{}",
        alerts[0]
    );
    let listed = server.ok(&["alert", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.contains("integrity") && l.contains("high")),
        "{listed}"
    );
    assert!(
        server
            .log()
            .contains("1 sealed value of tenant acme does not open")
    );
    // Repaired, then started again: no other alert (the check ran: its first comes 2 s in).
    server.ok(&["tenant", "repair", "acme", "--reason", "disk fault"]);
    server.restart();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(integrity_alerts(&server).len(), 1);
}

/// The contents check's state (`started_at|finished_at|files_read|bytes_read|damaged`, the end
/// `None` while a pass goes on), read from the catalog; empty before any pass.
fn contents_check_state(server: &Server) -> String {
    support::sqlite_query(
        &server.data_dir().join("catalog.db"),
        "SELECT started_at, finished_at, files_read, bytes_read, damaged FROM contents_check",
    )
    .trim()
    .to_owned()
}

/// Whether a contents pass has begun and ended (its end recorded).
fn contents_pass_ended(server: &Server) -> bool {
    let state = contents_check_state(server);
    !state.is_empty() && state.split('|').nth(1) != Some("None")
}

/// Uploads `n` files of 1 MiB (`f0.bin` …), their contents drawn from `seed` on.
fn put_mib_files(c: &Client, n: u64, seed: u64) {
    let mut batch = String::new();
    for i in 0..n {
        std::fs::write(
            c.work().join(format!("f{i}")),
            pseudo_random(seed + i, 1 << 20),
        )
        .unwrap();
        batch.push_str(&format!("put f{i} f{i}.bin\n"));
    }
    c.sftp_ok(&batch);
}

/// Stops the server and forgets its contents checks, so that its next start begins a pass (the
/// first of a data directory; else the next is a week after the last).
fn contents_check_due(server: &mut Server) {
    server.stop();
    sqlite(
        &server.data_dir().join("catalog.db"),
        "DELETE FROM contents_check",
    );
}

/// The server reads every stored file's contents whole on its own (2 s after its start, then
/// weekly, `[storage] contents_check_days`): a sealed chunk changed on disk raises an
/// `integrity` alert naming the file's row and the chunk; the others read, counted; a start
/// within the week begins no other pass.
#[test]
fn the_server_reads_every_files_contents_and_alerts_on_those_that_do_not_open() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let big = pseudo_random(21, 300_000);
    std::fs::write(alice.work().join("big"), &big).unwrap();
    std::fs::write(alice.work().join("small"), b"a line\n").unwrap();
    // Kept in its catalog row.
    alice.sftp_ok("put small small.txt\n");
    new_blob(&server, || {
        alice.sftp_ok("put big a.bin\n");
    });
    let b = new_blob(&server, || {
        alice.sftp_ok("put big b.bin\n");
    });
    let b_id = server
        .ok(&["file", "show", "acme", "/b.bin"])
        .lines()
        .find_map(|l| {
            l.strip_suffix(')')?
                .split_once("(id ")
                .map(|(_, id)| id.to_owned())
        })
        .unwrap();
    contents_check_due(&mut server);
    // In its second sealed chunk.
    flip_a_byte(&b, 70_000);
    server.start_again();
    wait_until("the contents alert", 30, 100, || {
        !integrity_alerts(&server).is_empty()
    });
    let alerts = integrity_alerts(&server);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].contains(r#""tenant":"acme""#)
            && alerts[0].contains(r#""severity":"high""#)
            && alerts[0].contains(&format!(
                "the contents of 1 file of tenant acme does not open as sealed (damaged on disk, \
                 or altered behind the server): file {b_id} (chunk 1 failed authentication \
                 (modified or moved)); `strongroom tenant check acme --contents` lists it with \
                 its path; restore it from its sender"
            ))
            && alerts[0].contains(r#""actions":[]"#),
        "{}",
        alerts[0]
    );
    wait_until("the pass's end", 30, 100, || contents_pass_ended(&server));
    // Read: the other blob and the row's contents; the damaged one counted apart.
    let state = contents_check_state(&server);
    let counts: Vec<&str> = state.split('|').skip(2).collect();
    assert_eq!(counts, ["2", &(300_000 + 7).to_string(), "1"], "{state}");
    // `tenant check` says when the server last read them (on stderr: stdout lists what does not
    // open).
    let checked = server.admin(&["tenant", "check", "acme"]);
    let said = String::from_utf8_lossy(&checked.stderr);
    assert!(
        checked.status.success()
            && said.starts_with(
                "the server's contents check: its last pass read 2 files (300,007 bytes (293.0 \
                 KiB)), 1 damaged, from "
            ),
        "{said}"
    );
    let log = server.log();
    assert!(
        log.contains("contents check: a pass begins")
            && log.contains("contents check: the pass is done"),
        "{log}"
    );
    // Within the week: no other pass.
    server.restart();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(contents_check_state(&server), state);
    assert_eq!(integrity_alerts(&server).len(), 1);
}

/// A pass is paced (`contents_check_mib_per_s`) and kept where it reached: stopped halfway, the
/// server's next start goes on from there, reading no file twice.
#[test]
fn a_paced_contents_check_goes_on_after_a_restart_where_it_stopped() {
    let mut server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 100\n[storage]\ncontents_check_mib_per_s = 1\n",
    );
    let alice = server.account("acme", "alice", "full");
    put_mib_files(&alice, 12, 100);
    contents_check_due(&mut server);
    let started = std::time::Instant::now();
    server.start_again();
    let read = |server: &Server| -> u64 {
        contents_check_state(server)
            .split('|')
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    // Its place is kept every 5 s: the first time, some 5 files in.
    wait_until("a kept place", 30, 100, || read(&server) >= 3);
    server.stop();
    let secs = started.elapsed().as_secs();
    let stopped = contents_check_state(&server);
    let so_far = read(&server);
    // Paced at 1 MiB/s (a file of 1 MiB a second, one ahead).
    assert!(
        so_far < 12 && so_far <= secs + 1,
        "{so_far} files in {secs} s"
    );
    server.start_again();
    wait_until("the pass's end", 60, 200, || contents_pass_ended(&server));
    let done = contents_check_state(&server);
    let (begun, rest) = done.split_once('|').unwrap();
    assert_eq!(
        begun,
        stopped.split_once('|').unwrap().0,
        "{stopped} then {done}"
    );
    assert!(
        rest.ends_with(&format!("|12|{}|0", 12u64 << 20)),
        "{stopped} then {done}"
    );
    assert!(
        server
            .log()
            .contains("contents check: the pass goes on where it stopped"),
        "{}",
        server.log()
    );
}

/// A file the server cannot read for want of its own resources (no file descriptor left) is
/// not damaged: the pass pauses before it, goes on from it once they are back, and raises no
/// alert.
#[test]
fn a_contents_pass_short_of_open_files_pauses_and_reports_no_damage() {
    let mut server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 100\n[storage]\ncontents_check_mib_per_s = 1\n",
    );
    let alice = server.account("acme", "alice", "full");
    put_mib_files(&alice, 6, 300);
    contents_check_due(&mut server);
    server.start_again();
    // Its pass reads a file a second: no descriptor is left well before its sixth file (nor
    // for the catalog's new connections: left until the pass has begun, the catalog's own
    // failures pause it as well).
    wait_until("the pass's beginning", 20, 20, || {
        server.log().contains("contents check: a pass begins")
    });
    let had = server.exhaust_open_files();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The failed read's line, then the pause's (logged a moment after it).
    while !server
        .log()
        .contains("contents check: the pass pauses seconds=10")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no pause:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = server.log();
    let paused = log
        .lines()
        .find(|l| l.contains("a file could not be read now"))
        .unwrap();
    assert!(paused.contains("Too many open files"), "{paused}");
    assert!(
        log.contains("contents check: the pass pauses seconds=10"),
        "{log}"
    );
    assert!(
        !contents_pass_ended(&server),
        "{}",
        contents_check_state(&server)
    );
    server.limit_open_files(had);
    wait_until("the pass's end", 60, 200, || contents_pass_ended(&server));
    let done = contents_check_state(&server);
    assert!(
        done.ends_with(&format!("|6|{}|0", 6u64 << 20)),
        "{done}\n{}",
        server.log()
    );
    assert!(
        integrity_alerts(&server).is_empty(),
        "{:#?}",
        integrity_alerts(&server)
    );
    assert!(!server.log().contains("do not open"), "{}", server.log());
}

/// Files replaced, renamed over and removed while the contents pass reads them are read again
/// as they are, or passed over: never reported as damaged. Files made during the pass are the
/// next one's: a tenant uploading faster than the pass reads does not keep it from ending.
#[test]
fn files_changed_while_the_contents_pass_reads_them_raise_no_alert() {
    let mut server = Server::start_with_config(
        "[limits]\nauth_rejection_ms = 100\n[storage]\ncontents_check_mib_per_s = 1\n",
    );
    let alice = server.account("acme", "alice", "full");
    // Contents kept inline in the catalog (40 kB) and in blobs (200 kB).
    std::fs::write(alice.work().join("small"), pseudo_random(200, 40_000)).unwrap();
    std::fs::write(alice.work().join("large"), pseudo_random(201, 200_000)).unwrap();
    let mut batch = String::new();
    for i in 0..16 {
        let which = if i % 2 == 0 { "small" } else { "large" };
        batch.push_str(&format!("put {which} f{i}.bin\n"));
    }
    alice.sftp_ok(&batch);
    contents_check_due(&mut server);
    server.start_again();
    // While the pass reads (some 2 MB at 1 MiB/s), the files change: replaced by an upload
    // (inline contents by a blob's and back), renamed over, removed and made again.
    let mut rounds = 0u64;
    while !contents_pass_ended(&server) {
        let mut batch = String::new();
        for i in 0..16u64 {
            let which = if (i + rounds).is_multiple_of(2) {
                "large"
            } else {
                "small"
            };
            match (i + rounds) % 8 {
                0 => batch.push_str(&format!("put {which} t{i}\nrename t{i} f{i}.bin\n")),
                1 => batch.push_str(&format!("rm f{i}.bin\nput {which} f{i}.bin\n")),
                _ => batch.push_str(&format!("put {which} f{i}.bin\n")),
            }
        }
        // A rename over an existing name goes through OpenSSH's posix-rename; where a round's
        // request fails, the next round goes on.
        alice.sftp(&batch);
        rounds += 1;
        assert!(rounds < 100, "the pass did not end");
    }
    let state = contents_check_state(&server);
    let counts: Vec<u64> = state
        .split('|')
        .skip(2)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        rounds >= 2 && counts[0] > 0 && counts[2] == 0,
        "{rounds} rounds: {state}"
    );
    assert!(
        integrity_alerts(&server).is_empty(),
        "{:#?}",
        integrity_alerts(&server)
    );
    assert!(
        !server.log().contains("a file's contents do not open"),
        "{}",
        server.log()
    );
}

#[test]
fn shredding_a_tenant_destroys_its_key_and_files() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("globex", "bob", "full");
    std::fs::write(alice.work().join("f"), pseudo_random(12, 100_000)).unwrap();
    // Larger than a file kept inline in the catalog, so that each file is one blob file.
    let kept = pseudo_random(13, 100_000);
    std::fs::write(bob.work().join("g"), &kept).unwrap();
    alice.sftp_ok("put f a1\nput f a2\n");
    bob.sftp_ok("put g b1\n");
    assert_eq!(server.blob_files().len(), 3);

    let out = server.admin(&["tenant", "remove", "acme"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "removal without --shred must be refused"
    );
    assert_eq!(server.blob_files().len(), 3);
    // A session of the tenant's, and one of another tenant's, open as it is removed.
    let mut alices = Raw::connect(&alice);
    let mut bobs = Raw::connect(&bob);
    let out = server.ok(&["tenant", "remove", "acme", "--shred"]);
    assert!(out.contains("2 blobs deleted"), "{out}");
    assert!(out.contains("; 1 live session(s) closed"), "{out}");
    let realpath = RequestOp::Realpath { path: "/".into() };
    assert!(
        alices.try_call(9, realpath.clone()).is_none(),
        "the removed tenant's session goes on"
    );
    assert!(
        bobs.try_call(9, realpath).is_some(),
        "another tenant's session was closed"
    );
    assert_eq!(server.blob_files().len(), 1);
    assert_ne!(
        alice.sftp("ls\n").0,
        0,
        "a shredded tenant's account still logs in"
    );
    assert!(server.admin(&["tenant", "show", "acme"]).status.code() == Some(1));
    bob.sftp_ok("get b1 back\n");
    assert_eq!(std::fs::read(bob.work().join("back")).unwrap(), kept);
}

/// A tenant key rotation goes in steps; interrupted (Ctrl-C) between two, the command's record
/// says so, and the tenant is served
/// under both keys: names re-keyed and not are listed, looked up, read, renamed, replaced and
/// refused as taken; a start and `tenant show` say it is under way; run again, it finishes, and
/// nothing is left under the old key.
#[test]
fn an_interrupted_key_rotation_serves_under_both_keys_and_is_finished_by_running_it_again() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("globex", "bob", "full");
    let data = pseudo_random(16, 100_000);
    std::fs::write(alice.work().join("a"), &data).unwrap();
    std::fs::write(bob.work().join("b"), &data).unwrap();
    let src = alice.work().join("src");
    std::fs::create_dir(&src).unwrap();
    for i in 0..1000 {
        std::fs::write(src.join(format!("s{i}")), format!("small {i}")).unwrap();
    }
    let dirs: String = (0..10).map(|i| format!("mkdir p{i}\n")).collect();
    alice.sftp_ok(&format!("put a a\nput -r src\n{dirs}"));
    bob.sftp_ok("put b b\n");
    // The thousand files cloned into each of ten directories (same names, so same seals):
    // 11,000 rows more, six steps of a rotation.
    let db = server.data_dir().join("catalog.db");
    sqlite(
        &db,
        "INSERT INTO nodes (tenant_id, parent_id, name_mac, sealed_name, kind, size, mode, mtime,
                            atime, key_id, wrapped_key, key_version, content_root, created_at,
                            contents, classes)
         SELECT s.tenant_id, p.id, s.name_mac, s.sealed_name, s.kind, s.size, s.mode, s.mtime,
                s.atime, s.key_id, s.wrapped_key, s.key_version, s.content_root, s.created_at,
                s.contents, s.classes
           FROM nodes s JOIN nodes src ON src.id = s.parent_id
           JOIN nodes p ON p.parent_id = src.parent_id AND p.kind = 'dir' AND p.id != src.id
          WHERE s.kind = 'file' AND p.tenant_id = s.tenant_id
            AND src.id = (SELECT MIN(parent_id) FROM nodes WHERE kind = 'file' AND blob_id IS NULL);",
    );
    let count = |sql: &str| {
        support::sqlite_query(&db, sql)
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM nodes n JOIN tenants t ON t.id = n.tenant_id WHERE t.name = 'acme' AND n.kind = 'file'"
        ),
        11_001
    );

    // Interrupted (Ctrl-C) once its first step committed: on the record as interrupted.
    let rotation = std::process::Command::new(support::BIN)
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["tenant", "rotate-key", "acme"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the rotation's first step", 20, 2, || {
        count("SELECT COALESCE(MAX(nodes_done_to), 0) FROM retiring_tenant_keys") > 0
    });
    std::process::Command::new("kill")
        .args(["-INT", &rotation.id().to_string()])
        .status()
        .unwrap();
    let out = rotation.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("strongroom: interrupted by SIGINT: what it had done by then stands"),
        "{err}"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM retiring_tenant_keys"),
        1,
        "the rotation had finished: nothing was interrupted"
    );
    // On the record: begun, then interrupted.
    let admin = server.ok(&["audit", "export", "--kind", "admin"]);
    let outcomes: Vec<&str> = admin
        .lines()
        .filter(|l| l.contains(r#""command":"tenant rotate-key acme""#))
        .filter_map(|l| l.split(r#""outcome":""#).nth(1))
        .collect();
    assert!(
        outcomes.len() == 2
            && outcomes[0].starts_with("begun\"")
            && outcomes[1].starts_with("interrupted by SIGINT: what it had done by then stands"),
        "{admin}"
    );
    server.restart();
    assert!(
        server.log().contains(
            "a tenant key rotation was interrupted; its old key stays until \
             `strongroom tenant rotate-key acme` finishes it"
        ),
        "{}",
        server.log()
    );
    let list = server.ok(&["tenant", "list"]);
    let acme = list
        .lines()
        .find(|l| l.starts_with("acme\t"))
        .unwrap_or_default();
    let globex = list
        .lines()
        .find(|l| l.starts_with("globex\t"))
        .unwrap_or_default();
    assert!(
        acme.ends_with("\tkey-rotation=under-way") && !globex.contains("key-rotation"),
        "{list}"
    );
    let show = server.ok(&["tenant", "show", "acme"]);
    assert!(
        show.contains("tenant key version:      2")
            && show.contains("key rotation:            from version 1 under way since ")
            && show.contains("(run `strongroom tenant rotate-key acme` to finish)"),
        "{show}"
    );

    // Served under both keys: `src` was re-keyed by the first step, `p9` not.
    let listed = |dir: &str| {
        let out = alice.sftp_ok(&format!("ls -1 {dir}\n"));
        out.lines()
            .filter(|l| l.starts_with(&format!("{dir}/s")))
            .count()
    };
    for dir in ["src", "p0", "p9"] {
        assert_eq!(listed(dir), 1000, "{dir}");
    }
    alice.sftp_ok(
        "get a a.back\nget p9/s500 s500\nget src/s7 s7\nrename p9/s1 p9/s1b\nput a p9/s2\n\
         put a new1\n",
    );
    assert_eq!(std::fs::read(alice.work().join("a.back")).unwrap(), data);
    assert_eq!(
        std::fs::read(alice.work().join("s500")).unwrap(),
        b"small 500"
    );
    assert_eq!(std::fs::read(alice.work().join("s7")).unwrap(), b"small 7");
    let (code, _, err) = alice.sftp("mkdir p9/s3\n");
    assert_ne!(code, 0, "a name not re-keyed yet was made twice: {err}");
    // A rename over a name not re-keyed yet replaces it (OpenSSH's posix-rename), not a
    // second entry of the name.
    alice.sftp_ok("rename p9/s4 p9/s5\nget p9/s5 s5\n");
    assert_eq!(std::fs::read(alice.work().join("s5")).unwrap(), b"small 4");
    assert_eq!(listed("p9"), 999);

    // Run again: finished.
    let out = server.ok(&["tenant", "rotate-key", "acme"]);
    assert!(
        out.starts_with("tenant acme: the interrupted key rotation finished: version 2 ("),
        "{out}"
    );
    assert_eq!(count("SELECT COUNT(*) FROM retiring_tenant_keys"), 0);
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM nodes n JOIN tenants t ON t.id = n.tenant_id
              WHERE t.name = 'acme' AND n.key_version = 1"
        ),
        0
    );
    server.restart();
    for (dir, n) in [("src", 1000), ("p0", 1000), ("p9", 999)] {
        assert_eq!(listed(dir), n, "{dir}");
    }
    alice.sftp_ok("get p9/s2 s2\nget p9/s1b s1b\nget new1 new1\nget p5/s9 s9\n");
    assert_eq!(std::fs::read(alice.work().join("s2")).unwrap(), data);
    assert_eq!(std::fs::read(alice.work().join("new1")).unwrap(), data);
    assert_eq!(std::fs::read(alice.work().join("s1b")).unwrap(), b"small 1");
    assert_eq!(std::fs::read(alice.work().join("s9")).unwrap(), b"small 9");
    bob.sftp_ok("get b b.back\n");
    assert_eq!(std::fs::read(bob.work().join("b.back")).unwrap(), data);
    let show = server.ok(&["tenant", "show", "acme"]);
    assert!(!show.contains("key rotation:"), "{show}");
    assert!(!server.ok(&["tenant", "list"]).contains("key-rotation"));
}

#[test]
fn an_interrupted_tenant_removal_holds_nothing_up_and_is_finished_by_removing_again() {
    let mut server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bob = server.account("globex", "bob", "full");
    let data = pseudo_random(15, 100_000);
    std::fs::write(alice.work().join("f"), &data).unwrap();
    std::fs::write(bob.work().join("f"), &data).unwrap();
    alice.sftp_ok("put f a1\nmkdir d\nput f d/a2\n");
    bob.sftp_ok("put f b1\n");
    // 20,000 small files more, as many uploads would leave them (rows cloned from an
    // upload's): ten steps of the removal.
    let db = server.data_dir().join("catalog.db");
    std::fs::write(alice.work().join("small"), b"small").unwrap();
    alice.sftp_ok("put small s\n");
    support::sqlite(
        &db,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
         INSERT INTO nodes (tenant_id, parent_id, name_mac, sealed_name, kind, size, mode, mtime,
                            atime, key_id, wrapped_key, key_version, content_root, created_at,
                            contents, classes)
         SELECT s.tenant_id, s.parent_id, randomblob(32), s.sealed_name, s.kind, s.size, s.mode,
                s.mtime, s.atime, s.key_id, s.wrapped_key, s.key_version, s.content_root,
                s.created_at, s.contents, s.classes
           FROM n, nodes s
          WHERE s.id = (SELECT MAX(id) FROM nodes WHERE kind = 'file' AND blob_id IS NULL);",
    );
    let files_of_acme = || {
        support::sqlite_query(
            &db,
            "SELECT COUNT(*) FROM nodes n JOIN tenants t ON t.id = n.tenant_id
              WHERE t.name = 'acme' AND n.kind = 'file'",
        )
        .trim()
        .parse::<u64>()
        .unwrap()
    };
    assert_eq!(files_of_acme(), 20_003);

    // Interrupted (killed) once its first transaction committed.
    let mut removal = std::process::Command::new(support::BIN)
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["tenant", "remove", "acme", "--shred"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the removal to begin", 20, 5, || {
        support::sqlite_query(
            &db,
            "SELECT COUNT(*) FROM tenants WHERE removing_since IS NOT NULL",
        )
        .trim()
            == "1"
    });
    removal.kill().unwrap();
    removal.wait().unwrap();
    let left = files_of_acme();
    assert!(
        left > 0,
        "the removal had finished: nothing was interrupted"
    );
    // Killed (-9), it recorded no end; its beginning is on the record.
    let admin = server.ok(&["audit", "export", "--kind", "admin"]);
    let removals: Vec<&str> = admin
        .lines()
        .filter(|l| l.contains(r#""command":"tenant remove acme --shred""#))
        .collect();
    assert!(
        removals.len() == 1 && removals[0].contains(r#""outcome":"begun""#),
        "{admin}"
    );
    // A start says so.
    server.restart();
    assert!(
        server.log().contains(
            "a tenant's removal was interrupted: `strongroom tenant remove acme --shred` \
             finishes it"
        ),
        "{}",
        server.log()
    );

    // Nothing of the tenant can be used meanwhile; the other tenant is served.
    assert_ne!(alice.sftp("ls\n").0, 0, "the tenant's account logs in");
    let list = server.ok(&["tenant", "list"]);
    assert!(
        list.contains("acme\tbeing removed since ")
            && list.contains("run `strongroom tenant remove acme --shred` to finish"),
        "{list}"
    );
    for args in [["tenant", "show", "acme"], ["tenant", "add", "acme"]] {
        let out = server.admin(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && err.contains("tenant 'acme' is being removed: remove it again to finish"),
            "{args:?}: {err}"
        );
    }
    bob.sftp_ok("put f b2\n");

    // Removed again: finished.
    let out = server.ok(&["tenant", "remove", "acme", "--shred"]);
    assert!(
        out.starts_with("tenant acme shredded: key destroyed, ")
            && out.contains(&format!("{left} files and ")),
        "{out}"
    );
    assert_eq!(files_of_acme(), 0);
    assert_eq!(
        server.blob_files().len(),
        2,
        "bob's two blobs alone are left"
    );
    let list = server.ok(&["tenant", "list"]);
    assert!(!list.contains("acme"), "{list}");
    bob.sftp_ok("get b1 back\n");
    assert_eq!(std::fs::read(bob.work().join("back")).unwrap(), data);
    server.ok(&["tenant", "add", "acme"]);
}

fn at(days: f64) -> String {
    let t = SystemTime::now() + Duration::from_secs_f64(days * 86_400.0);
    humantime_rfc3339(t)
}

fn humantime_rfc3339(t: SystemTime) -> String {
    // Format via `date`, to keep the test free of a time crate.
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn retention_deletes_expired_files_with_an_injected_clock() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    // Larger than a file kept inline in the catalog, so that blob files can be counted.
    std::fs::write(alice.work().join("f"), pseudo_random(14, 100_000)).unwrap();
    let show = server.ok(&["tenant", "show", "acme"]);
    assert!(
        show.contains("retention after upload:  30 days"),
        "new tenants default to 30 days: {show}"
    );
    server.ok(&["tenant", "set", "acme", "--retention", "2d"]);
    alice.sftp_ok("mkdir keep\nput f old.txt\nput f keep/kept.txt\n");
    server.ok(&[
        "tenant",
        "set",
        "acme",
        "--folder",
        "/keep",
        "--retention",
        "365d",
    ]);
    let bad = server.admin(&["tenant", "set", "acme", "--retention", "36h"]);
    assert_eq!(bad.status.code(), Some(2));

    let out = server.ok(&["retention", "run", "--now", &at(1.0)]);
    assert!(out.contains("0 expired files deleted"), "{out}");
    let out = server.ok(&["retention", "run", "--now", &at(3.0)]);
    assert!(out.contains("1 expired files deleted"), "{out}");
    let listing = alice.sftp_ok("ls -1\nls -1 keep\n");
    assert!(
        !listing.contains("old.txt") && listing.contains("kept.txt"),
        "{listing}"
    );
    assert_eq!(
        server.blob_files().len(),
        1,
        "the expired file's blob remains"
    );

    // N hours after the first complete download.
    server.ok(&[
        "tenant",
        "set",
        "acme",
        "--retention",
        "off",
        "--retention-after-download",
        "24h",
    ]);
    alice.sftp_ok("put f fetched.txt\nput f unfetched.txt\nget fetched.txt x\n");
    let out = server.ok(&["retention", "run", "--now", &at(0.5)]);
    assert!(out.contains("0 expired"), "{out}");
    let out = server.ok(&["retention", "run", "--now", &at(2.0)]);
    assert!(out.contains("1 expired"), "{out}");
    let listing = alice.sftp_ok("ls -1\n");
    assert!(
        !listing.contains("fetched.txt\n") || listing.contains("unfetched.txt"),
        "{listing}"
    );
    assert!(listing.contains("unfetched.txt"), "{listing}");
    assert!(
        !listing.lines().any(|l| l.trim() == "fetched.txt"),
        "{listing}"
    );
}

/// An expired file is gone for downloads at once, not at the next sweep (every 5 minutes): a
/// download refuses it and hands it to the sweeper, which deletes it and records it; and with
/// `--retention-after-download 0h` a file goes with its first complete download.
#[test]
fn an_expired_file_is_never_served_before_its_sweep() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let data = pseudo_random(16, 100_000);
    std::fs::write(alice.work().join("f"), &data).unwrap();
    server.ok(&["tenant", "set", "acme", "--retention", "off"]);
    let expiring = [
        "early.txt",
        "resumed.txt",
        "stated.txt",
        "attrs.txt",
        "listed.txt",
    ];
    let mut batch = String::from("put f kept.txt\n");
    for name in expiring {
        batch += &format!("put f {name}\nget {name} {name}.copy\n");
    }
    alice.sftp_ok(&batch);
    assert_eq!(
        std::fs::read(alice.work().join("early.txt.copy")).unwrap(),
        data
    );
    assert_eq!(server.blob_files().len(), 6);

    // The rule changes after the downloads: five files have expired, and no sweep has run.
    let out = server.ok(&["tenant", "set", "acme", "--retention-after-download", "0h"]);
    assert!(out.contains("0h"), "{out}");
    let show = server.ok(&["tenant", "show", "acme"]);
    assert!(show.contains("retention after download: 0 hours"), "{show}");
    let names = || -> Vec<String> {
        let listing = alice.sftp_ok("ls -1\n");
        listing.lines().map(|l| l.trim().to_owned()).collect()
    };
    let deleted = |files: usize, records: usize| {
        wait_until("the expired files' blobs removed", 20, 100, || {
            server.blob_files().len() == 6 - files
        });
        wait_until("their records", 20, 100, || {
            let export = server.ok(&["audit", "export", "--kind", "retention_delete"]);
            export.lines().count() == records
        });
    };
    // Administrators still see them, marked, until the sweeper deletes them.
    let list = server.ok(&["file", "list", "acme", "/"]);
    let marked = |name: &str| {
        list.lines().any(|l| {
            l.starts_with(&format!("{name}\t"))
                && l.ends_with("\t(expired: clients no longer see it; the sweeper deletes it)")
        })
    };
    assert!(expiring.iter().all(|n| marked(n)), "{list}");
    assert!(!marked("kept.txt"), "{list}");
    let show = server.ok(&["file", "show", "acme", "/early.txt", "--format", "json"]);
    assert!(show.contains(r#""expired": true"#), "{show}");
    let show = server.ok(&["file", "show", "acme", "/kept.txt"]);
    assert!(!show.contains("expired"), "{show}");
    // Not downloaded; nor are its contents carried into a new version (a resumed upload, an
    // append), whose upload time would start its retention again; nor is it there to STAT or
    // SETSTAT.
    let mut raw = Raw::connect(&alice);
    let open = |path: &str, flags: u32| RequestOp::Open {
        path: path.to_owned().into(),
        flags: OpenFlags(flags),
        attrs: Default::default(),
    };
    let refused = [
        open("/early.txt", OpenFlags::READ),
        open("/resumed.txt", OpenFlags::WRITE | OpenFlags::APPEND),
        RequestOp::Stat {
            path: "/stated.txt".into(),
        },
        RequestOp::Setstat {
            path: "/attrs.txt".into(),
            attrs: Default::default(),
        },
    ];
    for (i, op) in refused.into_iter().enumerate() {
        let r = raw.call(1 + i as u32, op);
        assert_eq!(r.status().0, StatusCode::NO_SUCH_FILE, "request {i}");
    }
    drop(raw);
    // The refusals handed them to the sweeper: deleted, blobs and all, and recorded.
    deleted(4, 4);
    // A listing leaves the last one out, and hands it to the sweeper too.
    let listed = names();
    assert!(
        listed.contains(&"kept.txt".to_owned())
            && !listed
                .iter()
                .any(|n| n.ends_with(".txt") && n != "kept.txt"),
        "{listed:?}"
    );
    deleted(5, 5);
    let (code, _, err) = alice.sftp("get early.txt again.copy\n");
    assert_eq!(code, 1, "an expired file was served: {err}");
    assert!(
        err.contains("No such file") || err.contains("not found"),
        "{err}"
    );
    assert!(!alice.work().join("again.copy").exists());

    // `0h`: the first complete download is the last; a file not yet downloaded stays.
    alice.sftp_ok("put f once.txt\nget once.txt once.copy\n");
    assert_eq!(std::fs::read(alice.work().join("once.copy")).unwrap(), data);
    let (code, _, err) = alice.sftp("get once.txt twice.copy\n");
    assert_eq!(code, 1, "a file was downloaded twice under 0h: {err}");
    assert!(!alice.work().join("twice.copy").exists());
    wait_until("the downloaded file deleted", 20, 100, || {
        !names().contains(&"once.txt".to_owned())
    });
    wait_until("its record too", 20, 100, || {
        let export = server.ok(&["audit", "export", "--kind", "retention_delete"]);
        export.lines().count() == 6
    });
    assert!(names().contains(&"kept.txt".to_owned()));

    let bad = server.admin(&["tenant", "set", "acme", "--retention", "0d"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "no file may expire at its upload"
    );
}

/// A drop box's upload (every open exclusive) under the name of a file whose retention ran
/// out but that no sweep has deleted yet is a new file: the expired one, which its client
/// cannot see, is deleted first, on the record (before, the upload was refused: "already
/// exists", until the next sweep, up to 5 minutes later).
#[test]
fn a_drop_box_upload_over_an_expired_file_makes_a_new_file() {
    let server = Server::start();
    let bank = server.account("acme", "bank", "full");
    let partner = server.account("acme", "partner", "upload-only");
    server.ok(&["tenant", "set", "acme", "--retention", "off"]);
    let (old, new) = (pseudo_random(16, 100_000), pseudo_random(17, 90_000));
    std::fs::write(partner.work().join("old"), &old).unwrap();
    std::fs::write(partner.work().join("new"), &new).unwrap();
    partner.sftp_ok("put old payments.csv\n");
    bank.sftp_ok("get payments.csv first.copy\n");
    assert_eq!(std::fs::read(bank.work().join("first.copy")).unwrap(), old);
    // Expired by the rule changed after its download; no sweep has run.
    server.ok(&["tenant", "set", "acme", "--retention-after-download", "0h"]);
    let id_of = || {
        let show = server.ok(&["file", "show", "acme", "/payments.csv", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&show).unwrap();
        v["id"].as_i64().unwrap()
    };
    let first = id_of();

    partner.sftp_ok("put new payments.csv\n");
    let second = id_of();
    assert_ne!(first, second, "the new upload took the expired file's id");
    bank.sftp_ok("get payments.csv second.copy\n");
    assert_eq!(std::fs::read(bank.work().join("second.copy")).unwrap(), new);
    let deletions = server.ok(&["audit", "export", "--kind", "retention_delete"]);
    assert_eq!(deletions.lines().count(), 1, "{deletions}");
    assert!(
        deletions.contains(&format!(r#""file_id":{first}"#)),
        "{deletions}"
    );
}

/// A download that ends after its file was replaced downloaded the old contents, not the new:
/// their retention after download has not started (under `0h` the new file, never delivered,
/// would otherwise go at its first open), and the close's record names the size it read.
#[test]
fn a_download_of_replaced_contents_leaves_the_new_contents_undownloaded() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    server.ok(&[
        "tenant",
        "set",
        "acme",
        "--retention",
        "off",
        "--retention-after-download",
        "0h",
    ]);
    let (old, new) = (pseudo_random(17, 100_000), pseudo_random(18, 90_000));
    std::fs::write(alice.work().join("old"), &old).unwrap();
    std::fs::write(alice.work().join("new"), &new).unwrap();
    alice.sftp_ok("put old daily.csv\n");

    // A partner reads the whole file; before it closes, the next day's replaces it.
    let mut raw = Raw::connect(&alice);
    let h = raw.open(1, "/daily.csv", OpenFlags::READ);
    let mut read = Vec::new();
    for id in 2.. {
        let r = raw.call(
            id,
            RequestOp::Read {
                handle: h.clone(),
                offset: read.len() as u64,
                len: 32_768,
            },
        );
        if r.kind != sftp_proto::message::kind::DATA {
            assert_eq!(r.status().0, StatusCode::EOF);
            break;
        }
        read.extend_from_slice(&r.body[4..]);
    }
    assert_eq!(read, old);
    alice.sftp_ok("put new daily.csv\n");
    let r = raw.call(1000, RequestOp::Close { handle: h });
    assert_eq!(r.status().0, StatusCode::OK);
    drop(raw);

    // The new contents were never downloaded: served once, then gone (0h).
    alice.sftp_ok("get daily.csv got\n");
    assert_eq!(std::fs::read(alice.work().join("got")).unwrap(), new);
    let (code, _, err) = alice.sftp("get daily.csv again\n");
    assert_eq!(
        code, 1,
        "a file downloaded whole was served again under 0h: {err}"
    );
    let export = server.ok(&["audit", "export", "--kind", "file", "--user", "alice"]);
    let closes: Vec<&str> = export
        .lines()
        .filter(|l| l.contains(r#""op":"close_read""#))
        .collect();
    assert_eq!(closes.len(), 2, "{export}");
    assert!(closes[0].contains(r#""size":100000"#), "{}", closes[0]);
    assert!(closes[1].contains(r#""size":90000"#), "{}", closes[1]);
}

#[test]
fn uploads_beyond_the_quota_fail_and_leave_nothing_behind() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    std::fs::write(w.join("small"), pseudo_random(1, 300_000)).unwrap();
    std::fs::write(w.join("big"), pseudo_random(2, 2_000_000)).unwrap();
    server.ok(&[
        "tenant",
        "set",
        "acme",
        "--quota-bytes",
        "1M",
        "--quota-files",
        "2",
    ]);
    alice.sftp_ok("put small s1\n");
    let blobs = server.blob_files().len();
    let (code, _, _) = alice.sftp("put big b1\n");
    assert_eq!(code, 1, "an upload over the byte quota succeeded");
    assert_eq!(
        server.blob_files().len(),
        blobs,
        "the refused upload left a blob"
    );
    let listing = alice.sftp_ok("ls -1\n");
    assert!(!listing.contains("b1"), "{listing}");
    // The refusal says why.
    let mut raw = Raw::connect(&alice);
    let h = raw.open(1, "/b2", OpenFlags::WRITE | OpenFlags::CREAT);
    let r = raw.write(2, &h, 1_000_000, b"x");
    assert_eq!(r.status(), (StatusCode::FAILURE, "quota exceeded".into()));
    let r = raw.call(3, RequestOp::Close { handle: h });
    assert_eq!(r.status(), (StatusCode::FAILURE, "quota exceeded".into()));
    drop(raw);
    // The file-count quota.
    alice.sftp_ok("put small s2\n");
    let (code, _, _) = alice.sftp("put small s3\n");
    assert_eq!(code, 1, "an upload over the file quota succeeded");
    let show = server.ok(&["tenant", "show", "acme"]);
    assert!(show.contains("600000 bytes in 2 files"), "{show}");
}

#[test]
fn small_files_live_sealed_in_their_catalog_row() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    let big = pseudo_random(21, 100_000);
    std::fs::write(w.join("big"), &big).unwrap();
    std::fs::write(w.join("head"), &big[..1000]).unwrap();

    // A small file leaves no blob file: its sealed bytes are in its row.
    alice.sftp_ok("put head f\n");
    assert_eq!(server.blob_files().len(), 0);
    alice.sftp_ok("get f back\n");
    assert_eq!(std::fs::read(w.join("back")).unwrap(), &big[..1000]);

    // Resumed past the inline size, it moves to a blob file; the row's copy is dropped.
    alice.sftp_ok("reput big f\n");
    assert_eq!(server.blob_files().len(), 1);
    alice.sftp_ok("get f back\n");
    assert_eq!(std::fs::read(w.join("back")).unwrap(), big);
    // Replaced by a small file again: the blob file goes (kept until the next upload's blob
    // is created, whose writes reuse the memory its deletion frees; at most a minute).
    alice.sftp_ok("put head f\nput big g\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.blob_files().len() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the replaced blob file was not deleted: {:?}",
            server.blob_files()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    alice.sftp_ok("get g gback\n");
    assert_eq!(std::fs::read(w.join("gback")).unwrap(), big);

    // Tampered in the catalog, it is refused like a tampered blob file.
    sqlite(
        &server.data_dir().join("catalog.db"),
        "UPDATE nodes SET contents = zeroblob(length(contents)) WHERE contents IS NOT NULL;",
    );
    let _ = std::fs::remove_file(w.join("back"));
    let (code, _, _) = alice.sftp("get f back\n");
    assert_eq!(code, 1, "a tampered inline file was served");
    assert!(std::fs::read(w.join("back")).unwrap_or_default().is_empty());
}

/// A directory moved under a folder whose rule is longer does not carry expired files out of
/// their retention: the rename is refused, and the files handed to the sweeper, until they are
/// deleted; then it goes ahead with the files that had not expired.
#[test]
fn a_directory_does_not_carry_expired_files_out_of_their_retention() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    server.ok(&["tenant", "set", "acme", "--retention", "off"]);
    alice.sftp_ok("mkdir outbox\nmkdir outbox/batch\nmkdir archive\n");
    server.ok(&[
        "tenant",
        "set",
        "acme",
        "--folder",
        "/outbox",
        "--retention-after-download",
        "0h",
    ]);
    std::fs::write(alice.work().join("f"), pseudo_random(19, 50_000)).unwrap();
    // Delivered under `0h`, paid.csv has expired; unpaid.csv, never downloaded, has not.
    alice.sftp_ok(
        "put f outbox/batch/paid.csv\nput f outbox/batch/unpaid.csv\n\
         get outbox/batch/paid.csv paid.copy\n",
    );
    let mut raw = Raw::connect(&alice);
    let r = raw.call(
        1,
        RequestOp::Rename {
            from: "/outbox/batch".into(),
            to: "/archive/batch".into(),
        },
    );
    assert_eq!(
        r.status(),
        (
            StatusCode::PERMISSION_DENIED,
            "permission denied: files under this directory have expired and are being deleted; \
             try again in a moment"
                .to_owned()
        )
    );
    drop(raw);
    wait_until("the expired file deleted", 20, 100, || {
        let export = server.ok(&["audit", "export", "--kind", "retention_delete"]);
        export.lines().count() == 1
    });
    alice.sftp_ok("rename outbox/batch archive/batch\n");
    let listing = alice.sftp_ok("ls -1 archive/batch\n");
    let names: Vec<&str> = listing
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(".csv"))
        .collect();
    assert_eq!(names, vec!["archive/batch/unpaid.csv"], "{listing}");
}
