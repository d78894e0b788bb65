//! The admin command line: outputs, exit codes (0 ok, 1 failure, 2 usage) and one-line errors.

mod support;

use std::process::Command;

use support::{BIN, admin_in};

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = admin_in(dir, args, None);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn keygen(dir: &std::path::Path, name: &str, args: &[&str]) -> String {
    let path = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", "test"])
        .args(args)
        .arg("-f")
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    format!("{}.pub", path.display())
}

#[test]
fn tenants_and_users_are_managed_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    assert_eq!(run(&d, &["tenant", "add", "acme"]).0, 0);
    assert_eq!(run(&d, &["tenant", "add", "globex"]).0, 0);
    let (code, _, err) = run(&d, &["tenant", "add", "acme"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "strongroom: tenant 'acme' already exists");
    let (code, _, err) = run(&d, &["tenant", "add", "../etc"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid tenant name"), "{err}");
    let (_, out, _) = run(&d, &["tenant", "list"]);
    let names: Vec<_> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(names, ["acme", "globex"]);

    let key = keygen(tmp.path(), "k", &["-t", "ed25519"]);
    let (code, out, err) = run(
        &d,
        &["user", "add", "alice", "--tenant", "acme", "--key", &key],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice") && out.contains("acme"));
    let (code, _, err) = run(
        &d,
        &["user", "add", "bob", "--tenant", "nowhere", "--key", &key],
    );
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "strongroom: tenant 'nowhere' not found");
    let (code, _, err) = run(&d, &["user", "add", "bob", "--tenant", "acme"]);
    assert_eq!(code, 2, "no credential is a usage error: {err}");
    let (code, _, err) = run(
        &d,
        &[
            "user",
            "add",
            "bob",
            "--tenant",
            "acme",
            "--key",
            "/nonexistent.pub",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent.pub"), "{err}");
    let out = admin_in(
        &d,
        &["user", "add", "bob", "--tenant", "acme", "--password-stdin"],
        Some("short\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password too short"));
    // Weak key types are refused.
    let rsa = keygen(tmp.path(), "rsa", &["-t", "rsa", "-b", "2048"]);
    let (code, _, err) = run(
        &d,
        &["user", "add", "bob", "--tenant", "acme", "--key", &rsa],
    );
    assert_eq!(code, 1);
    assert!(err.contains("ssh-rsa keys are not accepted"), "{err}");
    std::fs::write(tmp.path().join("junk.pub"), "not a key\n").unwrap();
    let junk = tmp.path().join("junk.pub");
    let (code, _, err) = run(&d, &["user", "key", "add", "alice", junk.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("not an OpenSSH public key"), "{err}");
    // A private key by mistake: said plainly, and nothing of it in the message.
    let private = keygen(tmp.path(), "secret", &["-t", "ed25519"]);
    let private = private.strip_suffix(".pub").unwrap();
    let (code, _, err) = run(&d, &["user", "key", "add", "alice", private]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "strongroom: key file {private}: not an OpenSSH public key: this is a private key; \
             give the public one (its .pub file)\n"
        )
    );

    let (_, out, _) = run(&d, &["user", "show", "alice"]);
    assert!(
        out.contains("tenant:    acme") && out.contains("access:    full"),
        "{out}"
    );
    assert!(out.contains("ssh-ed25519 SHA256:"), "{out}");
    assert_eq!(run(&d, &["user", "lock", "alice"]).0, 0);
    let (_, out, _) = run(&d, &["user", "list", "--tenant", "acme"]);
    assert_eq!(out.trim(), "alice\tacme\tfull\tlocked");
    let (code, _, err) = run(&d, &["user", "lock", "ghost"]);
    assert_eq!(
        (code, err.trim()),
        (1, "strongroom: account 'ghost' not found")
    );
    let (code, _, err) = run(&d, &["user", "key", "remove", "alice", "SHA256:nope"]);
    assert_eq!(
        (code, err.trim()),
        (1, "strongroom: key 'SHA256:nope' not found")
    );
    assert_eq!(run(&d, &["user", "remove", "alice"]).0, 0);
    assert_eq!(run(&d, &["user", "list"]).1, "");
}

#[test]
fn usage_errors_exit_2_and_the_data_dir_comes_from_the_environment() {
    let out = Command::new(BIN)
        .args(["tenant", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["user", "add", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tenant"));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("from-env");
    let out = Command::new(BIN)
        .args(["tenant", "add", "acme"])
        .env("STRONGROOM_DATA_DIR", &d)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(d.join("catalog.db").exists());
}

/// Output to a reader that has gone (`strongroom audit export | head`) ends the command
/// quietly with 0, whether it prints line by line or through the JSON or CSV writer; a write
/// that fails otherwise is still an error.
#[test]
fn output_to_a_reader_that_has_gone_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(run(d, &["tenant", "add", "acme"]).0, 0);
    assert_eq!(run(d, &["tenant", "add", "globex"]).0, 0);
    for args in [
        &["tenant", "list"][..],
        &["audit", "export"],
        &["audit", "export", "--format", "csv"],
        &["alert", "list"],
        // A change: made, and recorded in the ledger, though its output went unread.
        &["tenant", "add", "initech"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(BIN)
            .arg("--data-dir")
            .arg(d)
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    let (_, listed, _) = run(d, &["tenant", "list"]);
    assert!(listed.contains("initech"), "{listed}");
    let (_, admin, _) = run(d, &["audit", "export", "--kind", "admin"]);
    assert!(
        admin
            .lines()
            .any(|l| l.contains(r#""command":"tenant add initech""#)
                && l.contains(r#""outcome":"ok (its output's reader had gone)""#)),
        "{admin}"
    );
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(d)
        .args(["audit", "export"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "strongroom: No space left on device (os error 28)\n"
    );
}
