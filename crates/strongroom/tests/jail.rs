//! The tenant jail and per-account rights, attacked with the real OpenSSH client.

mod support;

use support::Server;

#[test]
fn paths_cannot_leave_the_tenant_space() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(alice.work().join("mine.txt"), b"acme data").unwrap();
    alice.sftp_ok("put mine.txt\nmkdir sub\n");

    // `..` is clamped at the jail root: these all land inside the tenant's own space.
    let out = alice.sftp_ok("cd ../../..\npwd\ncd /sub/../../..\npwd\nls -1 ../../..\n");
    assert_eq!(
        out.matches("Remote working directory: /\n").count(),
        2,
        "{out}"
    );
    assert!(out.contains("mine.txt"), "{out}");
    // The host's files are not reachable by absolute or relative paths.
    for path in [
        "/etc/passwd",
        "../../../../etc/passwd",
        "/sub/../../etc/passwd",
    ] {
        let (code, _, err) = alice.sftp(&format!("get {path} stolen\n"));
        assert_eq!(code, 1, "{path}: {err}");
        assert!(!alice.work().join("stolen").exists(), "{path} was read");
    }
    // A file uploaded "outside" ends up inside the jail, not on the host.
    let (code, _, _) = alice.sftp("put mine.txt ../../../../tmp/strongroom-escape-test\n");
    assert_eq!(code, 1, "the jail has no /tmp, so this must fail");
    alice.sftp_ok("mkdir tmp\nput mine.txt ../../../../tmp/strongroom-escape-test\n");
    assert!(!std::path::Path::new("/tmp/strongroom-escape-test").exists());
    let out = alice.sftp_ok("ls -1 /tmp\n");
    assert!(out.contains("strongroom-escape-test"), "{out}");
    // No symlink can be planted to point outside.
    let (code, _, err) = alice.sftp("ln -s /etc/passwd pw\n");
    assert_eq!(code, 1);
    assert!(err.to_lowercase().contains("unsupported"), "{err}");
    // Over-long names are refused with an error, not truncated.
    let long = "x".repeat(300);
    let (code, _, _) = alice.sftp(&format!("mkdir {long}\n"));
    assert_eq!(code, 1);
    // Nothing was created on the host or outside the data directory's blobs.
    let names: Vec<_> = std::fs::read_dir(server.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !names.iter().any(|n| n.to_string_lossy().contains("mine")),
        "{names:?}"
    );
}

#[test]
fn another_tenant_sees_nothing_of_it() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mallory = server.account("globex", "mallory", "full");
    std::fs::write(alice.work().join("payroll.csv"), b"acme payroll").unwrap();
    alice.sftp_ok("mkdir private\nput payroll.csv private/payroll.csv\n");

    let out = mallory.sftp_ok("ls -1 /\n");
    assert!(!out.contains("private"), "{out}");
    let (code, _, _) = mallory.sftp("get /private/payroll.csv x\n");
    assert_eq!(code, 1);
    let (code, _, _) = mallory.sftp("get ../acme/private/payroll.csv x\n");
    assert_eq!(code, 1);
    assert!(!mallory.work().join("x").exists());
    // The same path in the other tenant is a different file.
    std::fs::write(mallory.work().join("payroll.csv"), b"globex payroll").unwrap();
    mallory.sftp_ok("mkdir private\nput payroll.csv private/payroll.csv\n");
    alice.sftp_ok("get private/payroll.csv check.csv\n");
    assert_eq!(
        std::fs::read(alice.work().join("check.csv")).unwrap(),
        b"acme payroll"
    );
    // Accounts of the same tenant share its space.
    let bob = server.account("acme", "bob", "read-only");
    bob.sftp_ok("get private/payroll.csv b.csv\n");
    assert_eq!(
        std::fs::read(bob.work().join("b.csv")).unwrap(),
        b"acme payroll"
    );
}

#[test]
fn read_only_accounts_can_read_and_nothing_else() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let auditor = server.account("acme", "auditor", "read-only");
    std::fs::write(alice.work().join("report.txt"), b"Q3").unwrap();
    alice.sftp_ok("mkdir reports\nput report.txt reports/report.txt\n");

    let out = auditor.sftp_ok("ls -l reports\nget reports/report.txt r.txt\n");
    assert!(out.contains("report.txt"), "{out}");
    assert_eq!(std::fs::read(auditor.work().join("r.txt")).unwrap(), b"Q3");
    std::fs::write(auditor.work().join("evil.txt"), b"x").unwrap();
    for cmd in [
        "put evil.txt",
        "put evil.txt reports/report.txt",
        "rm reports/report.txt",
        "rename reports/report.txt reports/moved.txt",
        "mkdir new",
        "rmdir reports",
        "chmod 777 reports/report.txt",
    ] {
        let (code, _, err) = auditor.sftp(&format!("{cmd}\n"));
        assert_eq!(code, 1, "read-only account could run `{cmd}`");
        assert!(
            err.contains("denied") || err.contains("Permission"),
            "{cmd}: {err}"
        );
    }
    // Nothing changed.
    alice.sftp_ok("get reports/report.txt again.txt\n");
    assert_eq!(
        std::fs::read(alice.work().join("again.txt")).unwrap(),
        b"Q3"
    );
    let out = alice.sftp_ok("ls -1\n");
    assert!(!out.contains("evil") && !out.contains("new"), "{out}");
    // Denials are in the log at its default level (permitted file operations are not), naming
    // the file attempted.
    let log = server.log();
    let denial = log
        .lines()
        .find(|l| l.contains(r#""op":"remove","path":"/reports/report.txt","#))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        denial.contains(r#""file":{"id":"#) && denial.contains(r#""outcome":{"denied":"#),
        "{denial}"
    );
}

#[test]
fn drop_box_accounts_upload_but_cannot_list_read_or_overwrite() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let bank = server.account("acme", "bank-drop", "upload-only");
    alice.sftp_ok("mkdir incoming\n");
    std::fs::write(bank.work().join("batch-001.xml"), b"<payments/>").unwrap();

    bank.sftp_ok("cd incoming\nput batch-001.xml\n");
    alice.sftp_ok("get incoming/batch-001.xml check.xml\n");
    assert_eq!(
        std::fs::read(alice.work().join("check.xml")).unwrap(),
        b"<payments/>"
    );

    for cmd in [
        "ls incoming",
        "get incoming/batch-001.xml back.xml",
        "rm incoming/batch-001.xml",
        "rename incoming/batch-001.xml incoming/x.xml",
    ] {
        let (code, _, _) = bank.sftp(&format!("{cmd}\n"));
        assert_eq!(code, 1, "drop box could run `{cmd}`");
    }
    assert!(!bank.work().join("back.xml").exists());
    // Overwriting what is already there is refused and leaves it intact.
    std::fs::write(bank.work().join("batch-001.xml"), b"<tampered/>").unwrap();
    let (code, _, _) = bank.sftp("put batch-001.xml incoming/batch-001.xml\n");
    assert_eq!(code, 1);
    alice.sftp_ok("get incoming/batch-001.xml check2.xml\n");
    assert_eq!(
        std::fs::read(alice.work().join("check2.xml")).unwrap(),
        b"<payments/>"
    );
}
