//! Every client installable here, each round-tripping the same tree (binary files across
//! request and chunk boundaries, an empty file, a nested directory and a non-UTF-8 name)
//! through Strongroom, compared byte for byte: OpenSSH sftp and scp, rclone, lftp, curl
//! (libssh2), paramiko and asyncssh (with and without a TOTP second factor), and JSch (Java).
//! `./test` installs them; a missing client fails its test.

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Client, Server, client_options, pseudo_random};

/// A name that is not UTF-8 (Latin-1 "café.csv").
fn latin1_name() -> &'static OsStr {
    OsStr::from_bytes(b"caf\xe9.csv")
}

/// The tree every client sends and fetches.
fn sample_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    // 300,000 bytes: a last WRITE shorter than the others (pkg/sftp pads it), several chunks.
    std::fs::write(root.join("statement.bin"), pseudo_random(1, 300_000)).unwrap();
    std::fs::write(root.join("sub/batch.xml"), pseudo_random(2, 3 << 20)).unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::fs::write(
        root.join("sub/deeper/note.txt"),
        b"IBAN DE89 3704 0044 0532 0130 00\n",
    )
    .unwrap();
    std::fs::write(root.join(latin1_name()), b"name;amount\n").unwrap();
}

/// Every file and directory under `root`, as (relative path bytes, contents or None for a dir).
fn tree_of(root: &Path) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            if e.file_type().unwrap().is_dir() {
                out.push((rel, None));
                walk(root, &p, out);
            } else {
                out.push((rel, Some(std::fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn assert_same_tree(sent: &Path, got: &Path, client: &str) {
    let (a, b) = (tree_of(sent), tree_of(got));
    let names = |t: &[(Vec<u8>, Option<Vec<u8>>)]| {
        t.iter()
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b), "{client}: names differ");
    assert!(a == b, "{client}: contents differ");
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Setup {
    server: Server,
    alice: Client,
    src: PathBuf,
}

fn setup() -> Setup {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let src = alice.dir.path().join("src");
    sample_tree(&src);
    Setup { server, alice, src }
}

#[test]
fn openssh_sftp_and_scp() {
    let s = setup();
    let back = s.alice.dir.path().join("back-sftp");
    s.alice.sftp_ok(&format!(
        "put -r {} /viasftp\nget -r /viasftp {}\n",
        s.src.display(),
        back.display()
    ));
    assert_same_tree(&s.src, &back, "sftp");
    let back = s.alice.dir.path().join("back-scp");
    let out = s
        .alice
        .scp(&["-r", s.src.to_str().unwrap(), &s.alice.remote("/viascp")]);
    assert!(out.status.success(), "{out:?}");
    let out = s
        .alice
        .scp(&["-r", &s.alice.remote("/viascp"), back.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_same_tree(&s.src, &back, "scp");
}

fn rclone(s: &Setup, args: &[&str]) -> String {
    let conf = s.alice.dir.path().join("rclone.conf");
    std::fs::write(
        &conf,
        format!(
            "[sr]\ntype = sftp\nhost = 127.0.0.1\nport = {}\nuser = alice\nkey_file = {}\n\
             shell_type = none\nknown_hosts_file =\n",
            s.server.port,
            s.alice.key().display()
        ),
    )
    .unwrap();
    run(
        Command::new("rclone")
            .arg("--config")
            .arg(&conf)
            .args(["--retries", "1", "--low-level-retries", "1"])
            .args(args),
        &format!("rclone {args:?}"),
    )
}

#[test]
fn rclone_copy_check_moveto_about_purge() {
    let s = setup();
    let src = s.src.to_str().unwrap();
    rclone(&s, &["copy", src, "sr:/viarclone"]);
    // Compares every file's contents by downloading it.
    rclone(&s, &["check", "--download", src, "sr:/viarclone"]);
    let back = s.alice.dir.path().join("back-rclone");
    rclone(&s, &["copy", "sr:/viarclone", back.to_str().unwrap()]);
    assert_same_tree(&s.src, &back, "rclone");
    rclone(
        &s,
        &["moveto", "sr:/viarclone/empty", "sr:/viarclone/sub/moved"],
    );
    let listing = rclone(&s, &["lsf", "-R", "sr:/viarclone"]);
    assert!(
        listing.contains("sub/moved") && !listing.lines().any(|l| l == "empty"),
        "{listing}"
    );
    // statvfs@openssh.com
    let about = rclone(&s, &["about", "sr:/"]);
    assert!(
        about.contains("Total:") && about.contains("Free:"),
        "{about}"
    );
    rclone(&s, &["purge", "sr:/viarclone"]);
    let out = s.alice.sftp_ok("ls /\n");
    assert!(!out.contains("viarclone"), "{out}");
}

#[test]
fn lftp_mirror_both_ways() {
    let s = setup();
    let back = s.alice.dir.path().join("back-lftp");
    let ssh = format!(
        "ssh -a -x -i {} {}",
        s.alice.key().display(),
        client_options().join(" ")
    );
    let script = format!(
        "set sftp:connect-program \"{ssh}\"; set net:max-retries 1; \
         mirror -R {} /vialftp; mirror /vialftp {}; bye",
        s.src.display(),
        back.display()
    );
    run(
        Command::new("lftp")
            .args(["-u", "alice,", "-e", &script])
            .arg(format!("sftp://127.0.0.1:{}", s.server.port)),
        "lftp mirror",
    );
    assert_same_tree(&s.src, &back, "lftp");
}

#[test]
fn curl_libssh2_upload_and_download() {
    let s = setup();
    let back = s.alice.dir.path().join("back-curl");
    let files: Vec<Vec<u8>> = tree_of(&s.src)
        .into_iter()
        .filter(|(_, c)| c.is_some())
        .map(|(n, _)| n)
        .collect();
    let url = |rel: &[u8]| {
        let mut u = format!("sftp://127.0.0.1:{}/viacurl/", s.server.port);
        for b in rel {
            if b.is_ascii_alphanumeric() || b"/._-".contains(b) {
                u.push(*b as char);
            } else {
                u.push_str(&format!("%{b:02X}"));
            }
        }
        u
    };
    let curl = |args: &[&OsStr]| {
        let mut c = Command::new("curl");
        c.args(["-sS", "--fail", "-k", "-u", "alice:", "--ftp-create-dirs"])
            .arg("--key")
            .arg(s.alice.key())
            .arg("--pubkey")
            .arg(s.alice.public_key())
            .args(args);
        run(&mut c, "curl");
    };
    for rel in &files {
        let local = s.src.join(OsStr::from_bytes(rel));
        curl(&[OsStr::new("-T"), local.as_os_str(), OsStr::new(&url(rel))]);
    }
    for rel in &files {
        let local = back.join(OsStr::from_bytes(rel));
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        curl(&[OsStr::new("-o"), local.as_os_str(), OsStr::new(&url(rel))]);
    }
    // curl moves files, not directories: compare the files.
    std::fs::create_dir_all(back.join("sub/deeper")).unwrap();
    assert_same_tree(&s.src, &back, "curl");
}

fn python(s: &Setup, client: &str, user: &str, secret: Option<&str>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/python_roundtrip.py");
    let back = s.alice.dir.path().join(format!("back-{client}-{user}"));
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(client)
        .arg(s.server.port.to_string())
        .arg(user)
        .arg(s.alice.key())
        .arg(&s.src)
        .arg(format!("/via-{client}-{user}"))
        .arg(&back);
    if let Some(secret) = secret {
        cmd.arg(secret);
    }
    let out = run(&mut cmd, &format!("{client} as {user}"));
    assert!(out.contains("ok"), "{out}");
    assert_same_tree(&s.src, &back, client);
}

/// A second account with the same key and a TOTP second factor; returns its secret.
fn with_second_factor(s: &Setup, user: &str) -> String {
    s.server.ok(&[
        "user",
        "add",
        user,
        "--tenant",
        "acme",
        "--access",
        "full",
        "--key",
        s.alice.public_key().to_str().unwrap(),
    ]);
    let out = s.server.ok(&["user", "mfa", user]);
    out.lines()
        .find_map(|l| l.strip_prefix("secret:"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no secret in:\n{out}"))
}

#[test]
fn paramiko_put_get_prefetch_listdir_rename_remove() {
    let s = setup();
    python(&s, "paramiko", "alice", None);
}

#[test]
fn paramiko_with_a_totp_second_factor() {
    let s = setup();
    let secret = with_second_factor(&s, "robot");
    python(&s, "paramiko", "robot", Some(&secret));
}

#[test]
fn asyncssh_recursive_and_parallel_get() {
    let s = setup();
    python(&s, "asyncssh", "alice", None);
}

#[test]
fn asyncssh_with_a_totp_second_factor() {
    let s = setup();
    let secret = with_second_factor(&s, "robot");
    python(&s, "asyncssh", "robot", Some(&secret));
}

/// What WinSCP and FileZilla (not installable here) rely on, from their documentation, driven
/// on the raw protocol: times and permissions set after an upload (SETSTAT by path, FSETSTAT
/// before close), `statvfs@openssh.com` for free space, READs asking for more than the limit
/// (answered with at most the limit, the client loops), resuming an upload at an offset (no
/// truncation, or APPEND), and WinSCP's upload to a temporary name renamed over the target.
#[test]
fn protocol_behaviours_winscp_and_filezilla_rely_on() {
    use sftp_proto::message::kind;
    use sftp_proto::{Attrs, Extended, OpenFlags, RequestOp, StatusCode};
    use support::raw::Raw;
    let b = |s: &str| bytes::Bytes::copy_from_slice(s.as_bytes());
    let s = setup();
    let mut raw = Raw::connect(&s.alice);
    let mtime = 1_600_000_000u32;
    // Upload, then SETSTAT mtime and permissions by path (FileZilla's "preserve timestamps").
    let h = raw.open(
        1,
        "/a.csv",
        OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC,
    );
    raw.write(2, &h, 0, b"0123456789");
    assert_eq!(
        raw.call(3, RequestOp::Close { handle: h }).status().0,
        StatusCode::OK
    );
    let attrs = Attrs {
        permissions: Some(0o640),
        times: Some((mtime, mtime)),
        ..Attrs::default()
    };
    let r = raw.call(
        4,
        RequestOp::Setstat {
            path: b("/a.csv"),
            attrs: attrs.clone(),
        },
    );
    assert_eq!(r.status().0, StatusCode::OK);
    let st = raw.call(5, RequestOp::Stat { path: b("/a.csv") });
    assert_eq!(st.kind, kind::ATTRS);
    let listing = s.alice.sftp_ok("ls -l /a.csv\n");
    assert!(
        listing.contains("-rw-r-----") && listing.contains("2020"),
        "{listing}"
    );
    // FSETSTAT of an upload before its close (WinSCP): kept when the upload commits.
    let h = raw.open(
        6,
        "/b.csv",
        OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC,
    );
    raw.write(7, &h, 0, b"abc");
    let r = raw.call(
        8,
        RequestOp::Fsetstat {
            handle: h.clone(),
            attrs,
        },
    );
    assert_eq!(r.status().0, StatusCode::OK);
    assert_eq!(
        raw.call(9, RequestOp::Close { handle: h }).status().0,
        StatusCode::OK
    );
    let listing = s.alice.sftp_ok("ls -l /b.csv\n");
    assert!(listing.contains("2020"), "{listing}");
    // statvfs@openssh.com: eleven 64-bit fields.
    let r = raw.call(10, RequestOp::Extended(Extended::Statvfs { path: b("/") }));
    assert_eq!((r.kind, r.body.len()), (kind::EXTENDED_REPLY, 88));
    // A READ of 1 MiB gets the advertised maximum at most.
    let big = support::pseudo_random(9, 600_000);
    let h = raw.open(
        11,
        "/big",
        OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC,
    );
    for (i, piece) in big.chunks(200_000).enumerate() {
        raw.write(12, &h, (i * 200_000) as u64, piece);
    }
    raw.call(13, RequestOp::Close { handle: h });
    let h = raw.open(14, "/big", OpenFlags::READ);
    let mut got = Vec::new();
    loop {
        let r = raw.call(
            15,
            RequestOp::Read {
                handle: h.clone(),
                offset: got.len() as u64,
                len: 1 << 20,
            },
        );
        if r.kind != kind::DATA {
            break;
        }
        assert!(r.body.len() - 4 <= 261_120);
        got.extend_from_slice(&r.body[4..]);
    }
    assert!(got == big);
    raw.call(16, RequestOp::Close { handle: h });
    // Resume at an offset (no TRUNC), and with APPEND.
    let h = raw.open(17, "/a.csv", OpenFlags::WRITE);
    raw.write(18, &h, 10, b"ABCDEF");
    raw.call(19, RequestOp::Close { handle: h });
    let h = raw.open(20, "/a.csv", OpenFlags::WRITE | OpenFlags::APPEND);
    raw.write(21, &h, 0, b"!");
    raw.call(22, RequestOp::Close { handle: h });
    s.alice.sftp_ok("get /a.csv resumed\n");
    assert_eq!(
        std::fs::read(s.alice.work().join("resumed")).unwrap(),
        b"0123456789ABCDEF!"
    );
    // Upload to a temporary name, then rename over the target (posix-rename).
    let h = raw.open(23, "/b.csv.filepart", OpenFlags::WRITE | OpenFlags::CREAT);
    raw.write(24, &h, 0, b"new contents");
    raw.call(25, RequestOp::Close { handle: h });
    let r = raw.call(
        26,
        RequestOp::Extended(Extended::PosixRename {
            from: b("/b.csv.filepart"),
            to: b("/b.csv"),
        }),
    );
    assert_eq!(r.status().0, StatusCode::OK);
    s.alice.sftp_ok("get /b.csv b2\n");
    assert_eq!(
        std::fs::read(s.alice.work().join("b2")).unwrap(),
        b"new contents"
    );
}

/// JSch (Debian's libjsch-java), the SFTP library under many Java MFT clients, with a password
/// (Debian's JSch 0.1.55 predates Ed25519 keys). The JVM turns a non-UTF-8 local file name into
/// replacement characters before JSch sees it, so that file is left out of this client's tree.
#[test]
fn jsch_java_round_trip() {
    let s = setup();
    std::fs::remove_file(s.src.join(latin1_name())).unwrap();
    let password = "correct-horse-battery-staple-42";
    let out = support::admin_in(
        &s.server.data_dir(),
        &[
            "user",
            "add",
            "javauser",
            "--tenant",
            "acme",
            "--access",
            "full",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    assert!(out.status.success(), "{out:?}");
    let classes = s.alice.dir.path().join("java");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/JschRoundTrip.java");
    let jar = "/usr/share/java/jsch.jar";
    run(
        Command::new("javac")
            .args(["-cp", jar, "-d"])
            .arg(&classes)
            .arg(&source),
        "javac",
    );
    let back = s.alice.dir.path().join("back-jsch");
    std::fs::create_dir_all(&back).unwrap();
    let out = run(
        Command::new("java")
            .arg("-cp")
            .arg(format!("{jar}:{}", classes.display()))
            .arg("JschRoundTrip")
            .arg(s.server.port.to_string())
            .args(["javauser", password])
            .arg(&s.src)
            .arg("/viajava")
            .arg(&back),
        "JSch",
    );
    assert!(out.contains("ok"), "{out}");
    assert_same_tree(&s.src, &back, "JSch");
}
