//! Transfers with the real OpenSSH `sftp` and `scp` clients: trees, large files, resume,
//! byte-string names, and the interactive command set in batch mode.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Server, pseudo_random};

/// Relative path -> contents of every file under `root` (directories included as empty marker).
fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            if p.is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

#[test]
fn a_tree_of_1000_files_round_trips_byte_exact() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let tree = alice.work().join("tree");
    let mut n = 0u64;
    for d in 0..10 {
        let dir = tree.join(format!("dir{d}")).join("nested");
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            n += 1;
            // Mixed sizes: empty, tiny, around one request, and several requests long.
            let len = match f % 5 {
                0 => 0,
                1 => (n * 7 % 100) as usize,
                2 => 4096 + n as usize,
                3 => 261_120 + n as usize,
                _ => (n * 3001 % 40_000) as usize,
            };
            let target = if f % 2 == 0 {
                dir.clone()
            } else {
                dir.parent().unwrap().to_path_buf()
            };
            std::fs::write(target.join(format!("f{f}.bin")), pseudo_random(n, len)).unwrap();
        }
    }
    assert_eq!(n, 1000);
    alice.sftp_ok("put -r tree\nget -r tree back\n");
    let sent = snapshot(&tree);
    let back = snapshot(&alice.work().join("back"));
    assert_eq!(sent.len(), back.len());
    assert!(sent == back, "tree differs after the round trip");
    let listing = alice.sftp_ok("ls -1 tree/dir3\n");
    assert!(listing.contains("nested"), "{listing}");
    assert_eq!(
        listing.lines().filter(|l| l.ends_with(".bin")).count(),
        50,
        "{listing}"
    );
}

fn write_big(path: &Path, len: usize) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let mut done = 0;
    let mut seed = 1;
    while done < len {
        let chunk = (len - done).min(8 << 20);
        f.write_all(&pseudo_random(seed, chunk)).unwrap();
        done += chunk;
        seed += 1;
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    Command::new("cmp")
        .arg("-s")
        .arg(a)
        .arg(b)
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_256_mib_file_round_trips_and_interrupted_transfers_resume() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    let size = 256 << 20;
    write_big(&w.join("big"), size);
    alice.sftp_ok("put big\nget big big.back\n");
    assert!(same_file(&w.join("big"), &w.join("big.back")));

    // Interrupt a download part-way (kill -9 of the client), then `reget` finishes it.
    let mut get = alice
        .sftp_command("alice")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = get.stdin.take().unwrap();
        stdin.write_all(b"get big partial\n").unwrap();
    }
    let start = Instant::now();
    while std::fs::metadata(w.join("partial")).map_or(0, |m| m.len()) < 16 << 20 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "download did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    get.kill().unwrap();
    get.wait().unwrap();
    let cut = std::fs::metadata(w.join("partial")).unwrap().len();
    assert!(
        cut < size as u64,
        "download finished before it could be interrupted"
    );
    alice.sftp_ok("reget big partial\n");
    assert!(same_file(&w.join("big"), &w.join("partial")));

    // An upload that stopped after 100 MiB (committed by its close), resumed with `reput`.
    std::fs::write(
        w.join("prefix"),
        &std::fs::read(w.join("big")).unwrap()[..100 << 20],
    )
    .unwrap();
    alice.sftp_ok("put prefix resumed\nreput big resumed\nget resumed resumed.back\n");
    assert!(same_file(&w.join("big"), &w.join("resumed.back")));
}

#[test]
fn scp_uploads_and_downloads_through_sftp() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    std::fs::write(w.join("statement.csv"), pseudo_random(9, 300_000)).unwrap();
    std::fs::create_dir(w.join("batch")).unwrap();
    std::fs::write(w.join("batch/a.txt"), b"payment batch A").unwrap();
    let up = alice.scp(&["statement.csv", &alice.remote("/statement.csv")]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let up = alice.scp(&["-r", "batch", &alice.remote("/batch")]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let down = alice.scp(&[&alice.remote("/statement.csv"), "copy.csv"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(
        std::fs::read(w.join("copy.csv")).unwrap(),
        std::fs::read(w.join("statement.csv")).unwrap()
    );
    let down = alice.scp(&[&alice.remote("/batch/a.txt"), "a.txt"]);
    assert!(down.status.success());
    assert_eq!(std::fs::read(w.join("a.txt")).unwrap(), b"payment batch A");
    let missing = alice.scp(&[&alice.remote("/nope.csv"), "nope.csv"]);
    assert!(!missing.status.success());
}

#[test]
fn non_utf8_names_round_trip_exactly() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    let names: [&[u8]; 3] = [b"caf\xe9.csv", b"\xff\xfe raw", b"ok-\xc3\xa9t\xc3\xa9.txt"];
    std::fs::create_dir(w.join("odd")).unwrap();
    for (i, n) in names.iter().enumerate() {
        std::fs::write(
            w.join("odd").join(OsStr::from_bytes(n)),
            format!("file {i}"),
        )
        .unwrap();
    }
    alice.sftp_ok("put -r odd\nget -r odd odd.back\n");
    assert!(snapshot(&w.join("odd")) == snapshot(&w.join("odd.back")));
}

#[test]
fn the_command_set_works_in_batch_mode_with_exit_codes() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("report.txt"), b"quarterly").unwrap();
    let out = alice.sftp_ok(
        "pwd\nmkdir inbox\ncd inbox\npwd\nput report.txt\nls -l\nchmod 600 report.txt\nls -l report.txt\n\
         rename report.txt renamed.txt\nls\ndf -h\nget renamed.txt back.txt\nrm renamed.txt\ncd ..\nrmdir inbox\nls\n",
    );
    assert!(out.contains("Remote working directory: /inbox"), "{out}");
    assert!(out.contains("-rw-------"), "chmod not reflected: {out}");
    assert!(out.contains("renamed.txt"), "{out}");
    assert!(out.contains("Size"), "df printed nothing: {out}");
    assert_eq!(
        std::fs::read(alice.work().join("back.txt")).unwrap(),
        b"quarterly"
    );

    // A failing command stops the batch with exit code 1; a '-' prefix ignores the failure.
    let (code, _, err) = alice.sftp("get missing.txt\n");
    assert_eq!(code, 1);
    assert!(
        err.contains("not found") || err.contains("No such file"),
        "{err}"
    );
    let (code, _, _) = alice.sftp("-get missing.txt\npwd\n");
    assert_eq!(code, 0);
    let (code, _, err) = alice.sftp("rmdir /\n");
    assert_eq!(code, 1, "{err}");

    // Symbolic links are refused clearly.
    alice.sftp_ok("put report.txt\n");
    let (code, _, err) = alice.sftp("ln -s report.txt link\n");
    assert_eq!(code, 1);
    assert!(err.to_lowercase().contains("unsupported"), "{err}");
    // A directory cannot be removed while it has files; rename onto an existing name fails.
    let (code, _, _) = alice.sftp("mkdir d\nput report.txt d/r\nrmdir d\n");
    assert_eq!(code, 1);
    // OpenSSH's `rename` uses posix-rename: the target is replaced atomically.
    std::fs::write(alice.work().join("newer.txt"), b"newer").unwrap();
    alice.sftp_ok("put newer.txt\nrename newer.txt d/r\nget d/r r.back\n");
    assert_eq!(
        std::fs::read(alice.work().join("r.back")).unwrap(),
        b"newer"
    );
    let (code, _, _) = alice.sftp("get newer.txt\n");
    assert_eq!(code, 1, "the renamed file is still at its old name");
}

#[test]
fn put_with_fsync_round_trips_small_and_large_files() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let w = alice.work();
    std::fs::write(w.join("small"), b"statement of account").unwrap();
    write_big(&w.join("big"), 3 << 20);
    // `put -f` sends fsync@openssh.com before each close.
    alice.sftp_ok("put -f small s\nput -f big b\nget s s.back\nget b b.back\n");
    assert_eq!(
        std::fs::read(w.join("s.back")).unwrap(),
        b"statement of account"
    );
    assert!(same_file(&w.join("big"), &w.join("b.back")));
}
