//! Test harness: runs the built `strongroom` binary on a loopback port in a temporary data
//! directory, and drives it with the real OpenSSH clients (`sftp`, `scp`, `ssh`, `ssh-keygen`).
#![allow(dead_code)]

pub mod raw;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_strongroom");

pub struct Server {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Server {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// A fresh data directory with an optional config file, server started.
    pub fn start_with_config(config: &str) -> Server {
        Self::start_prepared(config, |_| {})
    }

    /// Like [`Server::start_with_config`], with `prepare` run on the (empty) data directory
    /// before anything is written to it (to mount a small filesystem there, say).
    ///
    /// Unless `config` has a `[detect]` section of its own, detection runs with the volume
    /// thresholds lifted (as for a bulk-transfer account: the cautious budget, bulk_read's
    /// floors, breadth, sweeps, low and slow, mass change): every test account is brand new and many move
    /// GiBs or read back every file at once, which detection would otherwise contain, as it
    /// should (tests/detection.rs tests exactly that, with the defaults).
    pub fn start_prepared(config: &str, prepare: impl FnOnce(&Path)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        prepare(&dir.path().join("data"));
        let config = if config.contains("[detect") {
            config.to_owned()
        } else {
            format!(
                "{config}\n[detect.thresholds]\ncautious_bytes = 1099511627776\ncautious_files = 100000000\nminute_bytes = 1099511627776\nhour_bytes = 1099511627776\nday_bytes = 1099511627776\nminute_files = 100000000\nhour_files = 100000000\nday_files = 100000000\nbreadth_min_files = 100000000\nbreadth_min_bytes = 1099511627776\nsweep_listings = 100000000\nslow_day_bytes = 1099511627776\nchange_files = 100000000\n"
            )
        };
        std::fs::write(dir.path().join("data/strongroom.toml"), config).unwrap();
        let mut s = Server {
            dir,
            port: 0,
            child: None,
        };
        s.spawn();
        s
    }

    /// Started with a short rejection delay so that tests of refused logins stay quick.
    pub fn start() -> Server {
        Self::start_with_config("[limits]\nauth_rejection_ms = 100\n")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(self.data_dir())
            // A restarted server keeps its port, so existing clients reconnect.
            .args([
                "serve",
                "--sftp-listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .env("STRONGROOM_LOG", "info,server=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let out_path = self.dir.path().join("server.out");
        std::thread::spawn(move || {
            use std::io::Write;
            let mut copy = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out_path)
                .unwrap();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(copy, "{line}");
                if let Some(addr) = line.strip_prefix("listening for SFTP on ") {
                    let _ = tx.send(addr.rsplit(':').next().unwrap().parse::<u16>().unwrap());
                }
            }
        });
        self.port = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("server did not start; log:\n{}", self.log()));
        self.child = Some(child);
    }

    /// Stops with SIGTERM and waits; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        self.stop_by("TERM")
    }

    /// Stops the server with signal `sig` (`TERM`, `INT`, `HUP`) and waits for it to exit.
    pub fn stop_by(&mut self, sig: &str) -> Option<i32> {
        let mut child = self.child.take()?;
        unsafe_kill(child.id(), sig);
        wait_timeout(&mut child, Duration::from_secs(30))
    }

    /// kill -9, as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn restart_after_crash(&mut self) {
        self.crash();
        self.spawn();
    }

    /// Starts the server again after [`Server::crash`] or [`Server::stop`].
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// Leaves the server no new file descriptor once its start is done (its control socket,
    /// the last of it, bound): its limit of open files lowered to 3, its standard streams'
    /// (those it holds stay open; an open is refused unless a descriptor below the limit is
    /// free). Returns the limit it had, for [`Server::limit_open_files`].
    pub fn exhaust_open_files(&self) -> u64 {
        let control = self.data_dir().join("control.sock");
        wait_until("the control socket", 10, 20, || control.exists());
        self.limit_open_files(3)
    }

    /// Sets the server's soft limit of open files (below its hard one); returns the one it had.
    pub fn limit_open_files(&self, soft: u64) -> u64 {
        let pid = self.pid() as libc::pid_t;
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: reads the limit into `old`, a valid rlimit.
        let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        let new = libc::rlimit {
            rlim_cur: soft,
            rlim_max: old.rlim_max,
        };
        // SAFETY: sets the limit from `new`, a valid rlimit; the old one is not asked for.
        let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        old.rlim_cur
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// What the server printed on stdout.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.out")).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts a second server on this one's data directory (this one stopped, or not), which
    /// must refuse to start (exit 1); returns what it said.
    pub fn serve_refused(&self) -> String {
        let err_path = self.dir.path().join("refused.err");
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["serve", "--sftp-listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        // A server that starts after all is stopped (and the test fails), not waited on.
        let code = exit_within(&mut child, Duration::from_secs(60));
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert_eq!(
            code,
            Some(Some(1)),
            "the server did not refuse to start: {err}"
        );
        err
    }

    /// Runs `strongroom --data-dir <dir> ARGS...`.
    pub fn admin(&self, args: &[&str]) -> Output {
        admin_in(&self.data_dir(), args, None)
    }

    /// Runs an admin command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "strongroom {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The ledger's public key, as `strongroom audit head` prints it (what a third party checks
    /// an evidence file with).
    pub fn ledger_public_key(&self) -> String {
        let head = self.ok(&["audit", "head"]);
        (head.lines())
            .find_map(|l| l.strip_prefix("public key: "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("{head}"))
            .to_owned()
    }

    /// Asserts that `strongroom audit verify` passes on the data directory.
    pub fn assert_ledger_verifies(&self) {
        let out = self.admin(&["audit", "verify"]);
        assert!(
            out.status.success(),
            "audit verify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Creates a key pair and an account of `tenant` (created if needed) with `access`.
    pub fn account(&self, tenant: &str, name: &str, access: &str) -> Client {
        let _ = self.admin(&["tenant", "add", tenant]);
        let client = Client::new(self.port, name);
        self.ok(&[
            "user",
            "add",
            name,
            "--tenant",
            tenant,
            "--access",
            access,
            "--key",
            client.public_key().to_str().unwrap(),
        ]);
        client
    }

    /// Creates account `name` in `tenant` (made if missing) with `password` and, if given, the
    /// public key `key`; it must succeed.
    pub fn account_with_password(
        &self,
        tenant: &str,
        name: &str,
        password: &str,
        key: Option<&Path>,
    ) {
        let _ = self.admin(&["tenant", "add", tenant]);
        let mut args = vec!["user", "add", name, "--tenant", tenant, "--password-stdin"];
        let key = key.map(|k| k.to_string_lossy().into_owned());
        if let Some(k) = &key {
            args.extend(["--key", k.as_str()]);
        }
        let out = admin_in(&self.data_dir(), &args, Some(&format!("{password}\n")));
        assert!(out.status.success(), "{out:?}");
    }

    /// Every file under the blob directory.
    pub fn blob_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let root = self.data_dir().join("blobs");
        for fan in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(fan.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                out.push(f.path());
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.crash();
    }
}

pub fn admin_in(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data_dir).args(args);
    match stdin {
        None => cmd.stdin(Stdio::null()).output().unwrap(),
        Some(text) => {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            output_with_input(cmd, text)
        }
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<i32> {
    exit_within(child, limit).unwrap_or_else(|| panic!("server did not stop within {limit:?}"))
}

/// The child's exit code once it exits within `limit` (`Some(None)`: killed by a signal);
/// `None` when it did not, and was killed then.
fn exit_within(child: &mut Child, limit: Duration) -> Option<Option<i32>> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return Some(st.code());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An OpenSSH client identity with a local working directory.
pub struct Client {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
}

impl Client {
    pub fn new(port: u16, user: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", user, "-f"])
            .arg(dir.path().join("id"))
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::create_dir(dir.path().join("work")).unwrap();
        Client {
            dir,
            port,
            user: user.to_owned(),
        }
    }

    pub fn key(&self) -> PathBuf {
        self.dir.path().join("id")
    }

    pub fn public_key(&self) -> PathBuf {
        self.dir.path().join("id.pub")
    }

    /// The local working directory the clients run in.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn ssh_options(&self) -> Vec<String> {
        ssh_options_for(&self.key())
    }

    /// `sftp -b -` as `user`, run in the working directory, stdin/stdout/stderr piped.
    pub fn sftp_command(&self, user: &str) -> Command {
        self.sftp_command_with(user, &[])
    }

    /// [`Client::sftp_command`] with more `ssh` options.
    fn sftp_command_with(&self, user: &str, options: &[&str]) -> Command {
        let mut cmd = Command::new("sftp");
        cmd.args(self.ssh_options())
            .args(options)
            .args(["-P", &self.port.to_string(), "-b", "-"])
            .arg(format!("{user}@127.0.0.1"))
            .current_dir(self.work())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// `ssh -s ... sftp`: a raw SFTP channel on the child's stdin and stdout.
    pub fn sftp_subsystem(&self) -> Child {
        self.sftp_subsystem_from("127.0.0.1")
    }

    /// [`Client::sftp_subsystem`] from source address `from` (a loopback address standing for
    /// another client's network).
    pub fn sftp_subsystem_from(&self, from: &str) -> Child {
        Command::new("ssh")
            .args(self.ssh_options())
            .args(["-o", &format!("BindAddress={from}")])
            .args(["-p", &self.port.to_string(), "-s"])
            .arg(format!("{}@127.0.0.1", self.user))
            .arg("sftp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `sftp -b -` as `user` whose prompts (a password, a verification code) are answered with
    /// `answer` through SSH_ASKPASS, so no terminal is needed. `args` choose the methods.
    /// Returns (exit code, stdout, stderr).
    pub fn sftp_answering(
        &self,
        user: &str,
        args: &[&str],
        answer: &str,
        batch: &str,
    ) -> (i32, String, String) {
        use std::os::unix::fs::PermissionsExt;
        let askpass = self.dir.path().join("askpass.sh");
        std::fs::write(&askpass, format!("#!/bin/sh\necho '{answer}'\n")).unwrap();
        std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut cmd = Command::new("sftp");
        // BatchMode=no comes before -b, so that it wins over the BatchMode=yes that -b adds.
        cmd.args([
            "-o",
            "BatchMode=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "StrictHostKeyChecking=no",
        ])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .args(args)
        .args(["-P", &self.port.to_string(), "-b", "-"])
        .arg(format!("{user}@127.0.0.1"))
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .current_dir(self.work())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        run_with_input(cmd, batch)
    }

    /// `sftp -b -` with `batch` on stdin; returns (exit code, stdout, stderr).
    pub fn sftp(&self, batch: &str) -> (i32, String, String) {
        self.sftp_as(&self.user, batch)
    }

    pub fn sftp_as(&self, user: &str, batch: &str) -> (i32, String, String) {
        run_with_input(self.sftp_command(user), batch)
    }

    /// Runs `sftp` commands that must all succeed; returns stdout.
    /// `sftp -b -` from source address `from` (a loopback address standing for another
    /// client's network).
    pub fn sftp_from(&self, from: &str, script: &str) -> Output {
        let bind = format!("BindAddress={from}");
        output_with_input(self.sftp_command_with(&self.user, &["-o", &bind]), script)
    }

    pub fn sftp_ok(&self, batch: &str) -> String {
        let (code, out, err) = self.sftp(batch);
        assert_eq!(
            code, 0,
            "sftp batch failed:\n{batch}\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    }

    pub fn scp(&self, args: &[&str]) -> Output {
        Command::new("scp")
            .args(self.ssh_options())
            .args(["-P", &self.port.to_string()])
            .args(args)
            .current_dir(self.work())
            .output()
            .unwrap()
    }

    pub fn remote(&self, path: &str) -> String {
        format!("{}@127.0.0.1:{path}", self.user)
    }
}

/// OpenSSH client options for the tests: no agent keys, no host-key prompts or files, no
/// questions (batch mode), errors only.
pub fn client_options() -> Vec<String> {
    [
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "LogLevel=ERROR",
        "BatchMode=yes",
        "ConnectTimeout=20",
    ]
    .iter()
    .flat_map(|o| ["-o".to_owned(), (*o).to_owned()])
    .collect()
}

/// The SHA256 fingerprint of a public key file, as `ssh-keygen -l` prints it.
pub fn fingerprint(public_key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(public_key)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned()
}

/// [`client_options`] with `key` as the only identity.
pub fn ssh_options_for(key: &Path) -> Vec<String> {
    let mut options = vec!["-i".to_owned(), key.to_str().unwrap().to_owned()];
    options.extend(client_options());
    options
}

/// Runs `cmd` (stdio piped) with `input` on stdin; returns its output.
pub fn output_with_input(mut cmd: Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `cmd` (stdio piped) with `input` on stdin; returns (exit code, stdout, stderr).
pub fn run_with_input(cmd: Command, input: &str) -> (i32, String, String) {
    let out = output_with_input(cmd, input);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `sql` on the SQLite database `db` behind the server's back (Python's sqlite3), as an
/// attacker with the files would.
#[allow(dead_code)]
pub fn sqlite(db: &std::path::Path, sql: &str) {
    let st = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()"])
        .arg(db)
        .arg(sql)
        .status()
        .unwrap();
    assert!(st.success(), "sqlite: {sql}");
}

/// The rows `sql` selects from the SQLite database `db` (Python's sqlite3), one line each,
/// columns joined by `|`.
#[allow(dead_code)]
pub fn sqlite_query(db: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print('|'.join(map(str, r)))",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(out.status.success(), "sqlite: {sql}");
    String::from_utf8(out.stdout).unwrap()
}

/// Resident memory of process `pid`, in KiB (0 if it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The labelled corpus's customer extracts (`customers.csv`: a header naming its columns, then
/// customer numbers, IBANs, card numbers, SSNs, e-mail addresses) that hold card numbers, from
/// about `bytes` of corpus generated from `seed` (at least 600 KB: one document in twelve is
/// such an extract, so that there are three or more).
pub fn customer_extracts(
    seed: u64,
    bytes: usize,
) -> impl Iterator<Item = classify::corpus::Document> {
    classify::corpus::generate(seed, bytes.max(600_000))
        .into_iter()
        .filter(|d| {
            d.name.ends_with("customers.csv") && d.truth.get(classify::Class::CardNumber) > 0
        })
}

/// Waits until `ready` holds, checking every `every_ms`; fails saying `what` did not happen
/// within `secs`.
pub fn wait_until(what: &str, secs: u64, every_ms: u64, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(every_ms));
    }
}

/// Waits (`secs` at most, looking every 100 ms) until `found` gives something; that.
pub fn wait_until_some<T>(what: &str, secs: u64, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(t) = found() {
            return t;
        }
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Runs `openssl ARGS` in `dir` (the command-line tool: certificates made by a real CA tool).
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl req` in `dir` for a new P-256 key `NAME.key` and the subject `/CN=cn`, with `out`
/// (`-x509 -out NAME.pem …` for a self-signed certificate, `-out NAME.csr` for a request).
fn key_and_request(dir: &Path, name: &str, cn: &str, out: &[&str]) {
    let (key, subject) = (format!("{name}.key"), format!("/CN={cn}"));
    let mut args = vec![
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-subj",
        &subject,
    ];
    args.extend_from_slice(out);
    openssl(dir, &args);
}

/// A certificate authority `NAME.pem` (its key `NAME.key`) in `dir`.
pub fn authority(dir: &Path, name: &str) {
    let pem = format!("{name}.pem");
    key_and_request(dir, name, name, &["-x509", "-out", &pem, "-days", "2"]);
}

/// A certificate `NAME.pem` for `cn` (its key `NAME.key`, 0600) that authority `ca` signs, with
/// the X.509 extensions `extensions`.
pub fn certificate(dir: &Path, ca: &str, name: &str, cn: &str, extensions: &str) {
    use std::os::unix::fs::PermissionsExt;
    key_and_request(dir, name, cn, &["-out", &format!("{name}.csr")]);
    std::fs::write(dir.join(format!("{name}.ext")), extensions).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
    let key = dir.join(format!("{name}.key"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A receiver a test drives (a script of `tests/clients/`), killed when the test ends, passed or
/// failed.
pub struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `python3 tests/clients/SCRIPT ARGS…`: the receiver, and the lines it prints as they
/// come.
pub fn receiver(script: &str, args: &[&str]) -> (Receiver, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new("python3")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/clients")
                .join(script),
        )
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Receiver(child), rx)
}

/// Deterministic pseudo-random bytes (xorshift), so that files differ in content and size.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
