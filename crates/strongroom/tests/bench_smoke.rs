//! Keeps the benchmark harness working: `bench/run --quick` against the built binary must run
//! every workload against both servers and print a ratio for each.

use std::process::Command;

#[test]
fn the_quick_benchmark_runs_every_workload() {
    assert!(
        std::path::Path::new("/usr/sbin/sshd").exists(),
        "the benchmark compares with OpenSSH: install openssh-server (.ci/run does)"
    );
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("python3")
        .arg(format!("{root}/bench/run"))
        .args([
            "--quick",
            "--binary",
            env!("CARGO_BIN_EXE_strongroom"),
            "--json",
        ])
        .arg(json.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench/run --quick failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "upload (aes128-gcm)",
        "text upload (aes128-gcm)",
        "download (chacha20-poly1305)",
        "recursive put ",
        "recursive put -f",
        "recursive get",
        "parallel downloads",
        "sequential connections",
        "RTT relay",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains(row))
            .unwrap_or_else(|| panic!("no row {row}:\n{stdout}"));
        let ratio: f64 = line
            .split_whitespace()
            .nth_back(3)
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{line}"));
        assert!(ratio > 0.0, "{line}");
    }
    let results = std::fs::read_to_string(json.path()).unwrap();
    assert_eq!(results.matches("\"workload\"").count(), 11, "{results}");
}
