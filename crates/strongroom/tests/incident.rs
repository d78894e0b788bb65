//! The incident report against a ground truth built with the real binary and OpenSSH's client:
//! an account reads some files whole, one in part, renames one after reading it, removes
//! another, uploads one; meanwhile another account of the same tenant reads other files (one
//! of them also read by the first) from another address. The report, selected by account or by
//! address, lists exactly the first account's reads and changes, with paths then and now,
//! bytes, whole or partial, and the data classes of the file that holds some.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use classify::{Class, corpus};
use sftp_proto::{OpenFlags, RequestOp};
use support::raw::Raw;
use support::{Client, Server};

const KIB: usize = 1024;

/// `sftp -b -` as `c`, from source address `from`; it must succeed.
fn sftp_from(c: &Client, from: &str, script: &str) -> Output {
    let out = c.sftp_from(from, script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn report(server: &Server, selection: &[&str]) -> serde_json::Value {
    let mut args = vec!["incident", "report"];
    args.extend_from_slice(selection);
    serde_json::from_str(&server.ok(&args)).unwrap()
}

/// The report on `selection` once `ready` holds of it and no download it lists is unfinished,
/// or after 10 s whatever it holds: records reach the ledger within moments of a session's end
/// (they wait in the writer's batch or the catalog's outbox until then; an open for read's is
/// there before its handle is given, its close's a moment after).
fn report_when(
    server: &Server,
    selection: &[&str],
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = report(server, selection);
        if (ready(&r) && r["totals"]["files_unfinished"] == 0)
            || std::time::Instant::now() > deadline
        {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_report_lists_exactly_what_the_selection_read_and_changed() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "full");
    let bob = server.account("acme", "bob", "read-only");

    // The tenant's files: six of 100 KiB and a customer extract.
    let customers = support::customer_extracts(4, 50_000).next().unwrap();
    let mut batch = String::from("mkdir /data\n");
    batch.push_str(&random_files(&loader, "/data", 6, 100 * KIB));
    std::fs::write(loader.work().join("customers.csv"), &customers.bytes).unwrap();
    batch.push_str("put customers.csv /data/customers.csv\n");
    sftp_from(&loader, "127.0.0.9", &batch);

    // The bystander, from its own address, reads f1, f5 and f6.
    sftp_from(
        &bob,
        "127.0.0.5",
        "get /data/f1.bin\nget /data/f5.bin\nget /data/f6.bin\n",
    );

    // The selection, from 127.0.0.7: f1 and the extract whole, the extract then overwritten
    // with a tampered one (its first 101 lines), f3 whole then renamed, f4 whole then removed,
    // an upload renamed over f5; and 32 KiB of f2 over raw SFTP (from 127.0.0.1: its own
    // session), which ends without closing it.
    std::fs::write(mallory.work().join("note.txt"), "hello\n").unwrap();
    let tampered: Vec<u8> = customers
        .bytes
        .split_inclusive(|b| *b == b'\n')
        .take(101)
        .flatten()
        .copied()
        .collect();
    std::fs::write(mallory.work().join("tampered.csv"), &tampered).unwrap();
    sftp_from(
        &mallory,
        "127.0.0.7",
        "get /data/f1.bin\nget /data/customers.csv\nput tampered.csv /data/customers.csv\n\
         get /data/f3.bin\nrename /data/f3.bin /data/moved3.bin\n\
         get /data/f4.bin\nrm /data/f4.bin\nput note.txt /data/note.txt\n\
         rename /data/note.txt /data/f5.bin\n",
    );
    let mut raw = Raw::connect(&mallory);
    let h = raw.open(1, "/data/f2.bin", OpenFlags::READ);
    raw.call(
        2,
        RequestOp::Read {
            handle: h.clone(),
            offset: 0,
            len: 32 * KIB as u32,
        },
    );
    // Cut short: the session ends with f2 still open, between two progress records (as when a
    // session is killed mid-transfer); its 32 KiB must still count.
    drop(h);
    drop(raw);
    // Someone tries Mallory's account with another key, from 127.0.0.8: refused, a failed
    // login of the selection, not one of its sessions.
    let tried = Command::new("ssh")
        .args(bob.ssh_options())
        .args(["-p", &mallory.port.to_string(), "-b", "127.0.0.8"])
        .args(["-l", "mallory", "127.0.0.1", "true"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!tried.status.success());

    // The raw session's records reach the ledger within moments of its end.
    let r = report_when(&server, &["--user", "mallory"], |r| {
        let closed = r["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["closed"].is_string())
            .count();
        closed == 2 && r["failed_logins"].as_array().map_or(0, Vec::len) == 1
    });
    let t = &r["tenants"][0];
    assert_eq!(r["tenants"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(r["sessions"].as_array().unwrap().len(), 2, "{r:#}");
    let failed = r["failed_logins"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{r:#}");
    assert!(
        failed[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.8:"),
        "{r:#}"
    );
    assert_eq!(failed[0]["methods"][0], "publickey", "{r:#}");
    assert_eq!(t["tenant"], "acme");
    let mut files: Vec<(String, String, bool, u64, String)> = t["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path_then"].as_str().unwrap().to_owned(),
                f["path_now"].as_str().unwrap_or("").to_owned(),
                f["deleted"].as_bool().unwrap(),
                f["bytes_read"].as_u64().unwrap(),
                f["read"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    files.sort();
    let size = customers.bytes.len() as u64;
    let want = vec![
        (
            "/data/customers.csv".into(),
            "/data/customers.csv".into(),
            false,
            size,
            "whole".into(),
        ),
        (
            "/data/f1.bin".into(),
            "/data/f1.bin".into(),
            false,
            100 * 1024,
            "whole".into(),
        ),
        (
            "/data/f2.bin".into(),
            "/data/f2.bin".into(),
            false,
            32 * 1024,
            "partial".into(),
        ),
        (
            "/data/f3.bin".into(),
            "/data/moved3.bin".into(),
            false,
            100 * 1024,
            "whole".into(),
        ),
        (
            "/data/f4.bin".into(),
            "".into(),
            true,
            100 * 1024,
            "whole".into(),
        ),
    ];
    assert_eq!(files, want, "{r:#}");
    // The extract's classes; the binary files hold none.
    let extract = t["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path_then"] == "/data/customers.csv")
        .unwrap();
    assert_eq!(
        extract["classes"]["card_number"].as_u64(),
        Some(customers.truth.get(Class::CardNumber))
    );
    assert_eq!(
        r["totals"]["classes"]["iban"].as_u64(),
        Some(customers.truth.get(Class::Iban))
    );
    // One file of the five holds them (the binary files hold none): the tenant's totals and
    // the report's say so.
    assert_eq!(
        r["totals"]["files_holding"],
        serde_json::json!({"card_number": 1, "email": 1, "iban": 1, "us_ssn": 1}),
        "{r:#}"
    );
    assert_eq!(t["totals"]["files_holding"], r["totals"]["files_holding"]);
    assert_eq!(r["totals"]["files"], 5);
    assert_eq!(
        (&r["totals"]["changes"], &r["totals"]["changes_replacing"]),
        (&serde_json::json!(5), &serde_json::json!(2)),
        "{r:#}"
    );
    assert_eq!(
        r["totals"]["bytes_read"].as_u64(),
        Some(size + 100 * 1024 * 3 + 32 * 1024)
    );
    // The changes: the extract overwritten, a rename, a removal, an upload and its rename over
    // f5; nothing of the others'. What the overwrite and the rename replaced: the extract's
    // contents as they were (its id, size and classes), and f5 (its id and size; none found).
    let changes: Vec<(String, String, Option<u64>)> = t["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["op"].as_str().unwrap().to_owned(),
                c["path"].as_str().unwrap().to_owned(),
                c["bytes"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "upload".into(),
                "/data/customers.csv".into(),
                Some(tampered.len() as u64)
            ),
            ("rename".into(), "/data/f3.bin".into(), None),
            ("remove".into(), "/data/f4.bin".into(), None),
            ("upload".into(), "/data/note.txt".into(), Some(6)),
            ("rename".into(), "/data/note.txt".into(), None),
        ],
        "{r:#}"
    );
    let replaced: Vec<&serde_json::Value> = t["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["replaced"])
        .collect();
    assert_eq!(replaced[0]["file_id"], extract["file_id"], "{r:#}");
    assert_eq!(replaced[0]["size"].as_u64(), Some(size), "{r:#}");
    assert_eq!(
        replaced[0]["classes"]["iban"].as_u64(),
        Some(customers.truth.get(Class::Iban)),
        "{r:#}"
    );
    assert!(replaced[1].is_null() && replaced[2].is_null() && replaced[3].is_null());
    // What the uploads made: the tampered extract's classes (its own, not the original's), and
    // nothing in the note; other changes say none.
    let made: Vec<&serde_json::Value> = t["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["classes"])
        .collect();
    let in_tampered = classify::classify(&tampered).counts;
    assert!(in_tampered.get(Class::Iban) > 0);
    assert_eq!(
        made[0]["iban"].as_u64(),
        Some(in_tampered.get(Class::Iban)),
        "{r:#}"
    );
    assert_ne!(
        in_tampered.get(Class::Iban),
        customers.truth.get(Class::Iban)
    );
    assert_eq!(made[3], &serde_json::json!({}), "{r:#}");
    assert!(made[1].is_null() && made[2].is_null() && made[4].is_null());
    let bobs = report(&server, &["--user", "bob"]);
    let f5 = bobs["tenants"][0]["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path_then"] == "/data/f5.bin")
        .unwrap();
    assert!(f5["deleted"].as_bool().unwrap(), "{bobs:#}");
    assert_eq!(replaced[4]["file_id"], f5["file_id"], "{r:#}");
    assert_eq!(replaced[4]["size"].as_u64(), Some(100 * 1024), "{r:#}");
    assert_eq!(replaced[4]["classes"], serde_json::json!({}), "{r:#}");
    // Its sessions only: the sftp one from 127.0.0.7 and the raw one.
    let sessions = r["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{r:#}");
    assert!(sessions.iter().all(|s| s["account"] == "mallory"));
    assert!(sessions.iter().all(|s| {
        s["credential"]
            .as_str()
            .is_some_and(|c| c.starts_with("SHA256:"))
    }));
    assert!(r["evidence"]["records"].as_u64().unwrap() > 10);
    // Without --verify the evidence says the chain was not verified (never leaves it unsaid).
    assert_eq!(
        r["evidence"]["chain"],
        "not verified by this report (run it with --verify, or strongroom audit verify)"
    );
    // With --verify the evidence says the part of the chain holding the report's records
    // verified, and which part; a checkpoint, if any, covers the range.
    let verified = report(&server, &["--user", "mallory", "--verify"]);
    let evidence = &verified["evidence"];
    let (first, last) = (
        evidence["first_seq"].as_u64().unwrap(),
        evidence["last_seq"].as_u64().unwrap(),
    );
    let chain = evidence["chain"].as_str().unwrap();
    let range = chain
        .strip_prefix("verified: records ")
        .and_then(|r| r.split_once(','))
        .and_then(|(r, _)| r.split_once('-'))
        .map(|(a, b)| (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
    let (from, to) = range.unwrap_or_else(|| panic!("{chain}"));
    assert!(from <= first && to >= last, "{chain} for {first}-{last}");
    match evidence["checkpoint"]["seq"].as_u64() {
        Some(c) => {
            assert!(c >= last);
            assert!(
                chain.ends_with(&format!("to signed checkpoint {c}")),
                "{chain}"
            );
        }
        None => assert!(
            chain.contains("no checkpoint signed after it yet"),
            "{chain}"
        ),
    }

    // By address: the sftp session's reads only (the raw session came from 127.0.0.1).
    let by_ip = report(&server, &["--ip", "127.0.0.7"]);
    let mut paths: Vec<&str> = by_ip["tenants"][0]["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path_then"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/data/customers.csv",
            "/data/f1.bin",
            "/data/f3.bin",
            "/data/f4.bin"
        ]
    );
    assert_eq!(by_ip["totals"]["files"], 4, "{by_ip:#}");
    // The same address written as IPv4-mapped IPv6 is the same address.
    let mapped = report(&server, &["--ip", "::ffff:127.0.0.7"]);
    assert_eq!(mapped["tenants"], by_ip["tenants"]);
    // A network: every address in it (127.0.0.6 read nothing; bob's 127.0.0.5 is outside).
    let by_net = report(&server, &["--ip", "127.0.0.7/31"]);
    assert_eq!(by_net["selection"], "network 127.0.0.6/31");
    assert_eq!(by_net["tenants"], by_ip["tenants"]);
    // audit export takes a network too: the records of each address in it, merged in ledger
    // order, each once (127.0.0.5 is bob's, 127.0.0.7 mallory's, 127.0.0.9 the loader's and
    // outside).
    let export = |ip: &str| -> Vec<serde_json::Value> {
        server
            .ok(&["audit", "export", "--ip", ip])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let seqs = |records: &[serde_json::Value]| -> Vec<u64> {
        records.iter().map(|r| r["seq"].as_u64().unwrap()).collect()
    };
    let (bobs, mallorys) = (export("127.0.0.5"), export("127.0.0.7"));
    assert!(!bobs.is_empty() && !mallorys.is_empty());
    let mut both = [seqs(&bobs), seqs(&mallorys)].concat();
    both.sort_unstable();
    let net = export("127.0.0.4/30");
    assert_eq!(seqs(&net), both);
    assert!(net.iter().all(|r| {
        let source = r["event"]["source"].as_str().unwrap();
        source.starts_with("127.0.0.5:") || source.starts_with("127.0.0.7:")
    }));
    // A network wider than 256 addresses: the addresses the ledger holds in it, each read
    // through the index (every record of the test came from 127.0.0.0/16).
    let all_records = export("127.0.0.0/16");
    let everything: Vec<serde_json::Value> = server
        .ok(&["audit", "export"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["event"]["source"].is_string())
        .collect();
    assert_eq!(seqs(&all_records), seqs(&everything));
    let wide = report(&server, &["--ip", "127.0.0.0/16"]);
    let mut accounts: Vec<&str> = wide["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"].as_str().unwrap())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    assert_eq!(accounts, ["bob", "loader", "mallory"], "{wide:#}");
    // What cannot select anything is refused, with why, rather than answered with an empty
    // report (an investigator's typo must not read as "nothing was taken").
    for (args, why) in [
        (
            &["--ip", "127.0.7"][..],
            "invalid value '127.0.7' for '--ip <IP>'",
        ),
        (
            &[
                "--user",
                "mallory",
                "--since",
                "2027-02-01",
                "--until",
                "2027-01-31",
            ],
            "strongroom: --since 2027-02-01 is not before --until 2027-01-31",
        ),
    ] {
        let out = server.admin(&[&["incident", "report"][..], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    // A selection that matches nothing gives the empty report, and says so where a person
    // reads it (a mistyped name must not read as "nothing was taken").
    let out = server.admin(&["incident", "report", "--user", "malory"]);
    assert_eq!(out.status.code(), Some(0));
    let empty: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(empty["evidence"]["records"], 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("strongroom: no ledger record matches account malory: check it"),
        "{stderr}"
    );
    let out = server.admin(&["incident", "report", "--user", "mallory"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // By credential: the key opened both of its sessions, so the same files as by account.
    let fingerprint = fingerprint(&mallory);
    let by_key = report(&server, &["--key", &fingerprint]);
    assert_eq!(
        by_key["tenants"][0]["files_read"],
        r["tenants"][0]["files_read"]
    );
    assert_eq!(by_key["sessions"].as_array().unwrap().len(), 2);

    // The reverse question: who read a file (followed through its rename).
    let readers = |path: &str| -> Vec<(String, u64, String)> {
        let mut v: Vec<(String, u64, String)> = server
            .ok(&["incident", "file", "acme", path, "--format", "jsonl"])
            .lines()
            .map(|l| {
                let r: serde_json::Value = serde_json::from_str(l).unwrap();
                // Every record here names the file's id (none from before file ids).
                assert_eq!(r["identified_by"], "file_id", "{l}");
                (
                    r["account"].as_str().unwrap().to_owned(),
                    r["bytes_read"].as_u64().unwrap(),
                    r["read"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        readers("/data/f1.bin"),
        vec![
            ("bob".into(), 100 * 1024, "whole".into()),
            ("mallory".into(), 100 * 1024, "whole".into())
        ]
    );
    assert_eq!(
        readers("/data/moved3.bin"),
        vec![("mallory".into(), 100 * 1024, "whole".into())]
    );
    assert_eq!(
        readers("/data/f2.bin"),
        vec![("mallory".into(), 32 * 1024, "partial".into())]
    );
    assert!(readers("/data/note.txt").is_empty());
    // For people: a table, one row per session.
    let table = server.ok(&["incident", "file", "acme", "/data/f1.bin"]);
    assert!(table.contains("identified by"), "{table}");
    assert_eq!(table.matches(" file_id ").count(), 2, "{table}");
    assert!(table.ends_with("2 sessions read it\n"), "{table}");
    let one = server.ok(&["incident", "file", "acme", "/data/moved3.bin"]);
    assert!(one.ends_with("\n1 session read it\n"), "{one}");
    // A file removed after the read (f4) is still asked about by the path it had, or by the
    // id the report gives it; a path it was renamed from (f3) leads to the file now elsewhere.
    let f4_id = r["tenants"][0]["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path_then"] == "/data/f4.bin")
        .unwrap()["file_id"]
        .as_i64()
        .unwrap();
    let mallory_whole = vec![("mallory".to_owned(), 100 * 1024, "whole".to_owned())];
    assert_eq!(readers("/data/f4.bin"), mallory_whole);
    let by_id = server.ok(&[
        "incident",
        "file",
        "acme",
        "--id",
        &f4_id.to_string(),
        "--format",
        "jsonl",
    ]);
    let row: serde_json::Value = serde_json::from_str(by_id.trim()).unwrap();
    assert_eq!(
        (&row["account"], &row["file_id"], &row["path_now"]),
        (&"mallory".into(), &f4_id.into(), &serde_json::Value::Null),
        "{by_id}"
    );
    let table = server.ok(&["incident", "file", "acme", "/data/f4.bin"]);
    assert!(
        table.starts_with(&format!(
            "no file is at acme:/data/f4.bin now; the ledger shows one file there before:\n\
             acme: file {f4_id} (deleted)\n"
        )),
        "{table}"
    );
    assert_eq!(readers("/data/f3.bin"), mallory_whole);
    let table = server.ok(&["incident", "file", "acme", "/data/f3.bin"]);
    assert!(table.contains("\nacme:/data/moved3.bin (file "), "{table}");
    // An id that is no file of the tenant's, now or in its records.
    let unknown = server.admin(&["incident", "file", "acme", "--id", "999999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "strongroom: acme: file 999999, now or in the ledger: no such file or directory\n"
    );
    let never = server.admin(&["incident", "file", "acme", "/data/never.bin"]);
    assert_eq!(never.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&never.stderr),
        "strongroom: acme:/data/never.bin, now or in the ledger: no such file or directory\n"
    );

    // --out's line says what the files read held, and in how many files.
    let json = server.data_dir().join("..").join("incident.json");
    let out = server.admin(&[
        "incident",
        "report",
        "--user",
        "mallory",
        "--out",
        json.to_str().unwrap(),
    ]);
    let line = String::from_utf8_lossy(&out.stderr);
    // (The extract's IBANs differ: about as many distinct as there are.)
    let ibans = format!(
        " {} iban (about {} distinct) in 1 file,",
        customers.truth.get(Class::Iban),
        r["totals"]["distinct"]["iban"]["about"]
    );
    assert!(
        out.status.success() && line.contains(&ibans),
        "{ibans} in {line}"
    );

    // HTML: one self-contained page that a real browser renders with its tables and timeline.
    let page = html_report(&server, "mallory", "incident.html");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&page).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    let dom = chromium(&page, &["--dump-dom"]);
    assert!(dom.contains("<table id=\"sessions\">"), "{dom}");
    // How each session ended: both by the client.
    assert_eq!(
        dom.matches("<td>by the client, or its connection dropped</td>")
            .count(),
        2,
        "{dom}"
    );
    // The summary's class totals say in how many files each was found.
    let ibans = format!(
        "{} iban (about {} distinct) in 1 file",
        customers.truth.get(Class::Iban),
        r["totals"]["distinct"]["iban"]["about"]
    );
    assert!(dom.contains(&ibans), "{ibans} in {dom}");
    assert!(dom.contains("<table id=\"failed-logins\">"), "{dom}");
    assert_eq!(dom.matches("<rect class=\"read\"").count(), 5, "{dom}");
    assert_eq!(
        dom.matches("<td class=\"deleted\">deleted</td>").count(),
        1,
        "{dom}"
    );
    assert!(
        dom.contains("/data/moved3.bin") && dom.contains("partial"),
        "{dom}"
    );
    // The overwritten extract: what its replaced contents held, in the changes table.
    let extract_id = extract["file_id"].as_i64().unwrap();
    // (The size in between is written as everywhere on the page: units.rs tests that.)
    let (cell_start, cell_end) = (
        format!("<td class=\"replaced\">file {extract_id}, "),
        format!(
            " bytes ({:.1} KiB): card_number {}, email {}, iban {}, us_ssn {}</td>",
            size as f64 / 1024.0,
            customers.truth.get(Class::CardNumber),
            customers.truth.get(Class::Email),
            customers.truth.get(Class::Iban),
            customers.truth.get(Class::UsSsn),
        ),
    );
    let cell = dom
        .split(&cell_start)
        .nth(1)
        .and_then(|rest| rest.split_once("</td>"))
        .map(|(inside, _)| format!("{inside}</td>"));
    assert!(
        cell.as_deref().is_some_and(|c| c.ends_with(&cell_end)),
        "{cell_start}…{cell_end} in {dom}"
    );
    assert_eq!(dom.matches("<td class=\"replaced\">").count(), 2, "{dom}");
    // Who read each file: Mallory, in every row of the files table.
    assert!(dom.contains("<th>read by</th>"), "{dom}");
    assert_eq!(
        dom.matches("<td>mallory</td></tr>").count(),
        r["totals"]["files"].as_u64().unwrap() as usize,
        "{dom}"
    );
    assert!(
        dom.contains("; 5 changes, 2 of them replacing a file.</p>"),
        "{dom}"
    );
    assert!(
        dom.contains(
            "5 files read (1 of them read in part: their classes count in full; 4 with classes \
             unknown or found in part (not text, or scanned in part): the sums are of what was \
             found),"
        ),
        "{dom}"
    );
    assert_eq!(
        dom.matches("<td>unknown (not text)</td>").count(),
        4,
        "{dom}"
    );
    let shot = page.with_extension("png");
    chromium(
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1000,800",
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );

    // CSV: a header and one row per file.
    let csv = server.ok(&["incident", "report", "--user", "mallory", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .starts_with("tenant,file_id,path_then,path_now")
    );
    assert!(csv.contains(",partial,"), "{csv}");
    // f2 was read in part: the totals say so (its classes would count in full).
    assert_eq!(r["totals"]["files_partial"], 1, "{r:#}");
    // Classes: what was found, or `unknown` for random bytes (not text: what they hold is not
    // known); the totals count those files apart.
    assert_eq!(r["totals"]["files_classes_unknown"], 4, "{r:#}");
    let row = |path: &str| {
        csv.lines()
            .find(|l| l.contains(&format!(",{path},")))
            .unwrap_or_else(|| panic!("{path}: {csv}"))
    };
    assert!(
        row("/data/f1.bin").contains(",unknown,file_id,mallory,"),
        "{csv}"
    );
    assert!(
        row("/data/customers.csv").contains(&format!(
            "card_number={}",
            customers.truth.get(Class::CardNumber)
        )),
        "{csv}"
    );
    // Every read here names its file's id (none was recorded before file ids).
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",classes,identified_by,accounts,sessions,distinct,parts_read"),
        "{csv}"
    );
    assert!(
        csv.lines().skip(1).all(|l| l.contains(",file_id,mallory,")),
        "{csv}"
    );

    // The evidence file proves each report to whoever holds only the ledger's public key: its
    // whole and partial reads, the session cut short, the refused login, the changes. The
    // server's stop signs a checkpoint after the last record.
    let public_key = server.ledger_public_key();
    let mut server = server;
    server.stop();
    for selection in [
        &["--user", "mallory"][..],
        &["--ip", "127.0.0.7"],
        &["--key", &fingerprint],
    ] {
        let (report, evidence) = evidence_of(&server, selection);
        let out = check(&evidence, &public_key);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{selection:?}: {said}{report:#}");
        assert!(said.contains("\nholds: "), "{said}");
        assert!(!said.contains("NOT IN"), "{said}");
        let files = report["totals"]["files"].as_u64().unwrap();
        assert!(said.contains(&format!(" {files} files read")), "{said}");
    }
}

/// The ledger's public key as `audit head` prints it (kept apart from the host, in practice).
/// A bank's notice counts customers, not occurrences: the same customers in three daily
/// extracts, and a fourth extract of others, all read by the selection, are each customer once
/// in the report's distinct values (JSON, CSV, the `--out` line), beside the occurrences; and
/// `file show` says how many different values a file holds.
#[test]
fn distinct_customers_are_counted_once_across_the_extracts_read() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "read-only");
    let mut extracts = support::customer_extracts(21, 30_000);
    let (same, other) = (extracts.next().unwrap(), extracts.next().unwrap());
    let mut batch = String::from("mkdir /out\n");
    for (name, doc) in [
        ("day1.csv", &same),
        ("day2.csv", &same),
        ("day3.csv", &same),
        ("day4.csv", &other),
    ] {
        std::fs::write(loader.work().join(name), &doc.bytes).unwrap();
        batch.push_str(&format!("put {name} /out/{name}\n"));
    }
    sftp_from(&loader, "127.0.0.9", &batch);
    sftp_from(
        &mallory,
        "127.0.0.7",
        "get /out/day1.csv\nget /out/day2.csv\nget /out/day3.csv\nget /out/day4.csv\n",
    );
    let r = report_when(&server, &["--user", "mallory"], |r| {
        r["totals"]["files"] == 4
    });
    assert_eq!(r["totals"]["files"], 4, "{r:#}");
    let near = |got: &serde_json::Value, want: u64| {
        let got = got.as_u64().unwrap();
        assert!(
            got.abs_diff(want) * 100 <= want * 7,
            "{got} for {want}: {r:#}"
        );
    };
    for class in [Class::CardNumber, Class::Iban, Class::UsSsn, Class::Email] {
        let name = class.as_str();
        let (n_same, n_other) = (same.truth.get(class), other.truth.get(class));
        assert!(n_same > 50 && n_other > 50, "{name}: {n_same}, {n_other}");
        assert_eq!(
            r["totals"]["classes"][name].as_u64(),
            Some(3 * n_same + n_other),
            "{name}"
        );
        let distinct = &r["totals"]["distinct"][name];
        assert_eq!(distinct["not_sketched"], 0, "{name}: {r:#}");
        near(&distinct["about"], n_same + n_other);
        // Each file's own, in its row.
        for f in r["tenants"][0]["files_read"].as_array().unwrap() {
            let want = if f["path_then"] == "/out/day4.csv" {
                n_other
            } else {
                n_same
            };
            near(&f["distinct"][name], want);
        }
    }

    // CSV: a column of each file's distinct values.
    let csv = server.ok(&["incident", "report", "--user", "mallory", "--format", "csv"]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",sessions,distinct,parts_read"),
        "{csv}"
    );
    let day1 = lines.find(|l| l.contains("/out/day1.csv")).unwrap();
    let cell = day1.split(',').nth(csv_column(&csv, "distinct")).unwrap();
    assert!(
        cell.starts_with("card_number=") && cell.contains(";iban=") && cell.contains(";us_ssn="),
        "{day1}"
    );

    // The line `--out` prints: occurrences, distinct values, files.
    let out = server.data_dir().join("..").join("distinct.json");
    let written = server.admin(&[
        "incident",
        "report",
        "--user",
        "mallory",
        "--out",
        out.to_str().unwrap(),
    ]);
    let line = String::from_utf8_lossy(&written.stderr);
    let ibans = format!(
        " {} iban (about {} distinct) in 4 files,",
        3 * same.truth.get(Class::Iban) + other.truth.get(Class::Iban),
        r["totals"]["distinct"]["iban"]["about"]
    );
    assert!(
        written.status.success() && line.contains(&ibans),
        "{ibans} in {line}"
    );

    // `file show`: the file's own.
    let show = server.ok(&["file", "show", "acme", "/out/day1.csv"]);
    let distinct = show
        .lines()
        .find_map(|l| l.strip_prefix("distinct:  "))
        .unwrap_or_else(|| panic!("{show}"));
    assert!(distinct.starts_with("card_number about "), "{show}");
    let json: serde_json::Value = serde_json::from_str(&server.ok(&[
        "file",
        "show",
        "acme",
        "/out/day1.csv",
        "--format",
        "json",
    ]))
    .unwrap();
    near(
        &json["classification"]["distinct"]["iban"],
        same.truth.get(Class::Iban),
    );
}

/// The report on `selection` (JSON) and its evidence file.
fn evidence_of(server: &Server, selection: &[&str]) -> (serde_json::Value, std::path::PathBuf) {
    let dir = server.data_dir().parent().unwrap().join("evidence");
    std::fs::create_dir_all(&dir).unwrap();
    let evidence = dir.join(format!(
        "{}.jsonl",
        selection.join("_").replace(['/', ':'], "-")
    ));
    let mut args = vec!["incident", "report"];
    args.extend_from_slice(selection);
    args.extend_from_slice(&["--evidence", evidence.to_str().unwrap()]);
    let out = server.admin(&args);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("evidence written to "), "{said}");
    (serde_json::from_slice(&out.stdout).unwrap(), evidence)
}

/// `strongroom incident check` as a third party runs it: no data directory (a directory of
/// its own, empty), the evidence file and the public key.
fn check(evidence: &std::path::Path, public_key: &str) -> Output {
    let elsewhere = tempfile::tempdir().unwrap();
    Command::new(support::BIN)
        .current_dir(elsewhere.path())
        .args(["incident", "check"])
        .arg(evidence)
        .args(["--public-key", public_key])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// The evidence file's lines as JSON, to change one as a forger would.
fn lines_of(evidence: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(evidence)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn forged(evidence: &std::path::Path, lines: &[serde_json::Value]) -> std::path::PathBuf {
    let path = evidence.with_extension("forged.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// The first proven record of `lines` that `which` picks passed off as sealed (its key kept
/// back), checked: the check must refuse it; what it said.
fn passed_off_as_sealed(
    evidence: &std::path::Path,
    lines: &[serde_json::Value],
    public_key: &str,
    which: impl Fn(&serde_json::Value) -> bool,
) -> String {
    let mut l = lines.to_vec();
    let at = l
        .iter()
        .position(|l| l.get("proven").is_some_and(&which))
        .expect("a record to pass off");
    l[at]["proven"]["withheld"] = true.into();
    l[at]["proven"].as_object_mut().unwrap().remove("key");
    let out = check(&forged(evidence, &l), public_key);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{said}");
    said
}

/// The report file written with an evidence file, in any of its forms, is checked with it
/// (`incident check --report`): it holds when the file is the evidence's report byte for byte
/// (a client institution given its HTML page can tell that it says what the evidence proves);
/// a page changed by one character, or another report's file, does not.
#[test]
fn a_report_file_in_any_form_is_checked_against_its_evidence() {
    let mut server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "full");
    let mut batch = String::from("mkdir /in\n");
    batch.push_str(&random_files(&loader, "/in", 3, 20 * KIB));
    sftp_from(&loader, "127.0.0.9", &batch);
    sftp_from(
        &mallory,
        "127.0.0.7",
        "ls /in\nget /in/f1.bin\nget /in/f2.bin\nrename /in/f3.bin /in/f3-moved.bin\n",
    );
    let public_key = server.ledger_public_key();
    server.stop();
    let dir = tempfile::tempdir().unwrap();
    let written = |format: &str| {
        let out_file = dir.path().join(format!("mallory.{format}"));
        let evidence = dir.path().join(format!("mallory-{format}.evidence.jsonl"));
        let out = server.admin(&[
            "incident",
            "report",
            "--user",
            "mallory",
            "--format",
            format,
            "--out",
            out_file.to_str().unwrap(),
            "--evidence",
            evidence.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out_file, evidence)
    };
    let checked = |evidence: &std::path::Path, report: &std::path::Path, format: &str| {
        let out = Command::new(support::BIN)
            .args(["incident", "check"])
            .arg(evidence)
            .args(["--public-key", &public_key, "--format", format, "--report"])
            .arg(report)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let mut files = Vec::new();
    for (format, form) in [("html", "HTML"), ("csv", "CSV"), ("json", "JSON")] {
        let (report, evidence) = written(format);
        let (code, said) = checked(&evidence, &report, "table");
        assert_eq!(code, Some(0), "{said}");
        assert!(
            said.contains(&format!(
                "\nreport file: {} is this evidence's report, byte for byte (its {form} form)\n",
                report.display()
            )) && said.contains("\nholds: "),
            "{said}"
        );
        let (code, said) = checked(&evidence, &report, "json");
        let v: serde_json::Value = serde_json::from_str(&said).unwrap();
        assert_eq!(code, Some(0), "{said}");
        assert_eq!(v["holds"], true);
        assert_eq!(v["report_file"]["form"], format);
        files.push((report, evidence));
    }
    // The HTML page with one file's name changed: not the evidence's report, and the check does
    // not hold.
    let (html, html_evidence) = &files[0];
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.contains("/in/f2.bin") && page.contains("Generated "));
    let changed = dir.path().join("changed.html");
    std::fs::write(&changed, page.replacen("/in/f2.bin", "/in/f9.bin", 1)).unwrap();
    let (code, said) = checked(html_evidence, &changed, "table");
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "\nNOT THIS EVIDENCE'S REPORT: {} is none of its forms (JSON, CSV, HTML)",
            changed.display()
        )) && !said.contains("\nholds: "),
        "{said}"
    );
    // So is its time of making changed: the page is made again at the time the report says.
    let older = dir.path().join("older.html");
    let at = page.find("Generated ").unwrap() + "Generated ".len();
    let mut earlier = page.clone();
    earlier.replace_range(at..at + 4, "2019");
    std::fs::write(&older, earlier).unwrap();
    assert_eq!(checked(html_evidence, &older, "table").0, Some(1));
    // The same report's CSV from another run is its CSV (no time in it); another selection's
    // is not.
    assert_eq!(checked(html_evidence, &files[1].0, "table").0, Some(0));
    let loader_csv = dir.path().join("loader.csv");
    let out = server.admin(&[
        "incident",
        "report",
        "--user",
        "loader",
        "--format",
        "csv",
        "--out",
        loader_csv.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let (code, said) = checked(html_evidence, &loader_csv, "json");
    let v: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert_eq!(code, Some(1), "{said}");
    assert_eq!(
        (v["holds"].clone(), v["report_file"]["form"].clone()),
        (false.into(), serde_json::Value::Null)
    );
}

/// An evidence file (`incident report --evidence`) shows a third party, who holds only the
/// ledger's public key and not the server, that the report's reads and changes are in the
/// signed chain; and any change to it shows: a claim the records do not make, a read left
/// out, a record's body or place changed, a key that is not its record's, a checkpoint's
/// signature, another ledger's key. It opens the report's records and no other: a file only
/// another account read is not named in it.
#[test]
fn an_evidence_file_proves_the_report_and_shows_any_change_to_it() {
    let mut server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "full");
    let bob = server.account("acme", "bob", "read-only");
    let mut batch = String::from("mkdir /in\n");
    batch.push_str(&random_files(&loader, "/in", 4, 20 * KIB));
    std::fs::write(loader.work().join("bobs-own-payroll.csv"), "a,b\n1,2\n").unwrap();
    batch.push_str("put bobs-own-payroll.csv /in/bobs-own-payroll.csv\n");
    sftp_from(&loader, "127.0.0.9", &batch);
    sftp_from(
        &mallory,
        "127.0.0.7",
        "ls /in\nget /in/f1.bin\nget /in/f2.bin\nrename /in/f3.bin /in/f3-moved.bin\n",
    );
    sftp_from(
        &bob,
        "127.0.0.5",
        "get /in/bobs-own-payroll.csv\nget /in/f1.bin\n",
    );
    let public_key = server.ledger_public_key();
    // While the server runs: it is asked to sign a checkpoint over the report's last records
    // at once (its own come every 30 seconds).
    let (_, running) = evidence_of(
        &server,
        &["--user", "mallory", "--since", "2026-01-01T00:00:00Z"],
    );
    let out = check(&running, &public_key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    server.stop();

    let (report, evidence) = evidence_of(&server, &["--user", "mallory"]);
    assert_eq!(
        std::fs::metadata(&evidence).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(
            "report: 1 session, 0 failed logins, 2 files read, 1 change, 1 directory listed"
        ),
        "{said}"
    );
    assert!(said.contains("\nholds: "), "{said}");
    // Whose sessions, and from where, as the records show them (not as the selection says).
    assert!(
        said.contains("\nsessions of: mallory (1 session); from 127.0.0.7\n"),
        "{said}"
    );
    // The file holds mallory's records alone, each with its key and its proof under the
    // checkpoint that signs its interval: not a record of bob's, not even its indexed fields
    // (which a record's hashed body holds in clear).
    let text = std::fs::read_to_string(&evidence).unwrap();
    assert!(!text.contains("bobs-own-payroll"));
    assert!(!text.contains(&hex::encode("bobs-own-payroll")));
    let lines = lines_of(&evidence);
    assert!(
        lines
            .iter()
            .all(|l| l.get("record").is_none() && l.get("interval").is_none())
    );
    let proven: Vec<&serde_json::Value> = lines.iter().filter_map(|l| l.get("proven")).collect();
    assert!(proven.len() >= 5, "{}", proven.len());
    assert!(
        said.contains(&format!(
            "\nledger: {} records, each shown in the chain the key signed (",
            proven.len()
        )),
        "{said}"
    );
    // And that they are all of mallory's: each interval's account index, signed with its
    // checkpoint, lists them.
    assert!(
        said.contains(&format!(
            "\ncomplete: every record of account mallory from the chain's start to the checkpoint at record {}",
            lines
                .iter()
                .filter_map(|l| l["checkpoint"]["seq"].as_u64())
                .max()
                .unwrap()
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!(" is in the file ({} records, ", proven.len())),
        "{said}"
    );
    assert!(
        said.contains(", and none of account mallory's records in those intervals is left out\n"),
        "{said}"
    );
    assert!(lines[0]["complete"]["scope"]["accounts"] == serde_json::json!(["mallory"]));
    for p in &proven {
        assert!(p["key"].is_string() && !p["proof"].as_array().unwrap().is_empty());
        let body = hex::decode(p["body"].as_str().unwrap()).unwrap();
        assert!(body.windows(7).any(|w| w == b"mallory"));
        assert!(!body.windows(3).any(|w| w == b"bob"));
    }

    let refused = |lines: &[serde_json::Value], expect: &[&str]| {
        let out = check(&forged(&evidence, lines), &public_key);
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("the evidence does not hold"),
            "{said}"
        );
        for e in expect {
            assert!(said.contains(e), "{e}: {said}");
        }
    };
    let f1 = |l: &mut serde_json::Value| -> usize {
        let files = l["report"]["tenants"][0]["files_read"].as_array().unwrap();
        files
            .iter()
            .position(|f| f["path_then"] == "/in/f1.bin")
            .unwrap()
    };
    // A read claimed larger than the records show.
    let mut l = lines.clone();
    let i = f1(&mut l[0]);
    let bytes = l[0]["report"]["tenants"][0]["files_read"][i]["bytes_read"]
        .as_u64()
        .unwrap();
    assert_eq!(bytes, 20 * KIB as u64);
    l[0]["report"]["tenants"][0]["files_read"][i]["bytes_read"] = (bytes + 1).into();
    refused(
        &l,
        &[
            "NOT IN THE RECORDS: acme: read file ",
            &format!("(/in/f1.bin): {} bytes", bytes + 1),
            "NOT IN THE REPORT: acme: read file ",
        ],
    );
    // A claim written to act on the reader's terminal is shown escaped, not acted on.
    let mut l = lines.clone();
    let i = f1(&mut l[0]);
    l[0]["report"]["tenants"][0]["files_read"][i]["path_then"] =
        "/in/f1.bin\u{1b}]0;all clear\u{7}\u{1b}[2J".into();
    let out = check(&forged(&evidence, &l), &public_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stdout.contains(&0x1b), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("(/in/f1.bin\\u{1b}]0;all clear\\u{7}\\u{1b}[2J)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A read left out of the report.
    let mut l = lines.clone();
    let i = f1(&mut l[0]);
    l[0]["report"]["tenants"][0]["files_read"]
        .as_array_mut()
        .unwrap()
        .remove(i);
    refused(&l, &["NOT IN THE REPORT: acme: read file ", "(/in/f1.bin)"]);
    // The rename left out.
    let mut l = lines.clone();
    l[0]["report"]["tenants"][0]["changes"] = serde_json::json!([]);
    refused(
        &l,
        &["NOT IN THE REPORT: acme: rename /in/f3.bin -> /in/f3-moved.bin"],
    );
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].get("proven").is_some())
        .collect();
    let seq_at = |l: &[serde_json::Value], i: usize| l[i]["proven"]["seq"].as_u64().unwrap();
    // The rename left out of the report and its record out of the file: the signed account
    // index still has it.
    let rename_seq = lines[0]["report"]["tenants"][0]["changes"][0]["seq"].clone();
    let rename = lines
        .iter()
        .position(|l| l["proven"]["seq"] == rename_seq)
        .expect("the rename's record");
    let mut l = lines.clone();
    l[0]["report"]["tenants"][0]["changes"] = serde_json::json!([]);
    l.remove(rename);
    refused(
        &l,
        &[
            &format!(
                "BROKEN: checkpoint at record {}: account mallory's records in the file are not those its signed account index holds (some left out)",
                l.iter()
                    .skip(rename)
                    .find_map(|l| l["index"]["checkpoint"].as_u64())
                    .unwrap()
            ),
            "NOT SHOWN COMPLETE: the file claims every record of account mallory",
        ],
    );
    // The last checkpoint taken out with all its lines (the file cut short, and what came last
    // with it): the claim no longer reaches the last record the report read.
    let mut l = lines.clone();
    let last = l
        .iter()
        .rposition(|l| l.get("checkpoint").is_some())
        .unwrap();
    l.truncate(last);
    let out = check(&forged(&evidence, &l), &public_key);
    let cut = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{cut}");
    assert!(
        cut.contains("the account indexes end at record ")
            || cut.contains("proves no interval of them"),
        "{cut}"
    );
    assert!(
        said.contains("\nthe report was read up to that checkpoint: what came after "),
        "{said}"
    );
    // The index lines taken out: the claim is not proven.
    let mut l = lines.clone();
    l.retain(|l| l.get("index").is_none());
    refused(
        &l,
        &["no proof, or more than one, of account mallory's records"],
    );
    // A record of the window withheld (its key kept back): refused as such.
    let mut l = lines.clone();
    l[rename]["proven"]["key"] = serde_json::Value::Null;
    l[rename]["proven"]["withheld"] = true.into();
    refused(
        &l,
        &[&format!(
            "BROKEN: record {rename_seq}: withheld (not opened) though it is within the report's window"
        )],
    );
    // Both the claim and its index lines taken out, with the rename: the report holds, but the
    // check no longer says it is complete, and says that it cannot tell.
    let mut l = lines.clone();
    l[0].as_object_mut().unwrap().remove("complete");
    l.retain(|l| l.get("index").is_none());
    let out = check(&forged(&evidence, &l), &public_key);
    let stripped = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stripped}");
    assert!(!stripped.contains("complete: "), "{stripped}");
    assert!(
        stripped.contains("; nor that no record was left out of the file\n"),
        "{stripped}"
    );
    // A record of the report changed.
    let mut l = lines.clone();
    let mut body = hex::decode(l[at[0]]["proven"]["body"].as_str().unwrap()).unwrap();
    *body.last_mut().unwrap() ^= 1;
    l[at[0]]["proven"]["body"] = hex::encode(body).into();
    refused(
        &l,
        &[&format!(
            "BROKEN: record {}: its contents do not match its hash (modified)",
            seq_at(&l, at[0])
        )],
    );
    // A record made up whole (its hash its own), or moved to another place: not under the
    // signed root.
    let mut l = lines.clone();
    let body = hex::decode(l[at[1]]["proven"]["body"].as_str().unwrap()).unwrap();
    let prev = hex::decode(l[at[1]]["proven"]["prev"].as_str().unwrap()).unwrap();
    let seq = seq_at(&l, at[1]);
    let made = ledger::append(
        &ledger::Head {
            seq: seq - 1,
            hash: prev.try_into().unwrap(),
        },
        l[at[1]]["proven"]["time"].as_i64().unwrap() + 3600,
        body,
    )
    .unwrap();
    l[at[1]]["proven"]["time"] = made.time.into();
    l[at[1]]["proven"]["hash"] = hex::encode(made.hash).into();
    refused(
        &l,
        &[&format!(
            "BROKEN: record {seq}: not among the records checkpoint "
        )],
    );
    // A proof of another place.
    let mut l = lines.clone();
    let other = l[at[2]]["proven"]["proof"].clone();
    l[at[1]]["proven"]["proof"] = other;
    refused(
        &l,
        &[&format!(
            "BROKEN: record {}: not among the records checkpoint ",
            seq_at(&l, at[1])
        )],
    );
    // For a script: one JSON object, the same verdict.
    let mut l = lines.clone();
    l.truncate(at[at.len() / 2]);
    let forged_file = forged(&evidence, &l);
    let json = |path: &std::path::Path| {
        let elsewhere = tempfile::tempdir().unwrap();
        let out = Command::new(support::BIN)
            .current_dir(elsewhere.path())
            .args([
                "incident",
                "check",
                "--format",
                "json",
                "--public-key",
                &public_key,
            ])
            .arg(path)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v)
    };
    let (code, v) = json(&evidence);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["holds"], true, "{v}");
    assert_eq!(v["files_read"], 2, "{v}");
    assert_eq!(v["records"], proven.len(), "{v}");
    assert_eq!(v["complete"]["proven"], true, "{v}");
    assert_eq!(v["complete"]["spans_window"], true, "{v}");
    assert_eq!(v["complete"]["records"], proven.len(), "{v}");
    assert_eq!(
        v["complete"]["scope"]["accounts"],
        serde_json::json!(["mallory"]),
        "{v}"
    );
    let (code, v) = json(&forged_file);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["holds"], false, "{v}");
    assert!(!v["not_in_records"].as_array().unwrap().is_empty(), "{v}");
    // Records of the report taken out (the second half): what rested on them is not shown.
    let mut l = lines.clone();
    l.truncate(at[at.len() / 2]);
    refused(&l, &["NOT IN THE RECORDS: "]);
    // Another record's key given for one of the report's.
    let mut l = lines.clone();
    let other = l[at[1]]["proven"]["key"].clone();
    l[at[0]]["proven"]["key"] = other;
    refused(
        &l,
        &[&format!(
            "BROKEN: record {}: the key is not the one the body was sealed under",
            seq_at(&l, at[0])
        )],
    );
    // A checkpoint's signature, and its interval.
    let checkpoint = l
        .iter()
        .position(|l| l.get("checkpoint").is_some())
        .unwrap();
    let mut l = lines.clone();
    let mut signature =
        hex::decode(l[checkpoint]["checkpoint"]["signature"].as_str().unwrap()).unwrap();
    signature[0] ^= 1;
    l[checkpoint]["checkpoint"]["signature"] = hex::encode(signature).into();
    refused(&l, &["BROKEN: checkpoint at record ", ": bad signature"]);
    let mut l = lines.clone();
    l[checkpoint]["checkpoint"]["root"] = hex::encode([0u8; 32]).into();
    refused(&l, &["BROKEN: checkpoint at record ", ": bad signature"]);
    // A line past its bound is refused as such, not read whole; a file that is not one, too.
    let mut long = std::fs::read_to_string(&evidence)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    long.push('\n');
    long.push_str(&"x".repeat(300 << 10));
    let too_long = evidence.with_extension("long.jsonl");
    std::fs::write(&too_long, long).unwrap();
    let out = check(&too_long, &public_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2: longer than 262144 bytes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let not_evidence = evidence.with_extension("not.jsonl");
    std::fs::write(
        &not_evidence,
        r#"{"evidence":"\u001b[2Jsomething else","public_key":"","report":{"selection":""}}"#,
    )
    .unwrap();
    let out = check(&not_evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("not an incident evidence file"), "{said}");
    assert!(!out.stderr.contains(&0x1b), "{said}");
    // Another ledger's key: refused before anything is read.
    let other_key = hex::encode([7u8; 32]);
    let out = check(&evidence, &other_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not the one given"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["sessions"].as_array().unwrap().len(), 1);
    // The ledger verifies with the checkpoints' intervals.
    server.assert_ledger_verifies();
}

/// A ledger upgraded from before checkpoints signed their intervals: a report's records under
/// such a checkpoint come with every record of their interval (the chain needs them; the
/// others sealed, their indexed fields in clear, as INCIDENT.md says), and the file holds.
#[test]
fn an_evidence_file_under_older_checkpoints_carries_their_intervals_and_holds() {
    struct Signer(vault::LedgerKey);
    impl ledger::CheckpointSigner for Signer {
        fn sign(&self, m: &[u8]) -> Vec<u8> {
            self.0.sign(m)
        }
        fn public_key(&self) -> Vec<u8> {
            self.0.public_key()
        }
    }
    let mut server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "full");
    let bob = server.account("acme", "bob", "read-only");
    std::fs::write(
        loader.work().join("f1.bin"),
        support::pseudo_random(1, 9 * KIB),
    )
    .unwrap();
    std::fs::write(
        loader.work().join("f2.bin"),
        support::pseudo_random(2, 7 * KIB),
    )
    .unwrap();
    sftp_from(
        &loader,
        "127.0.0.9",
        "put f1.bin /f1.bin\nput f2.bin /f2.bin\n",
    );
    sftp_from(&mallory, "127.0.0.7", "get /f1.bin\n");
    sftp_from(&bob, "127.0.0.5", "get /f2.bin\n");
    let public_key = server.ledger_public_key();
    server.stop();
    // Its checkpoints as a server from before intervals signed them: the same heads, no root.
    let data_dir = server.data_dir();
    let store = catalog::LedgerStore::open(&data_dir.join("ledger.db")).unwrap();
    let signer =
        Signer(vault::LedgerKey::load_or_create(&data_dir.join("ledger.key"), false).unwrap());
    let signed = store.checkpoints().unwrap();
    assert!(signed.iter().all(|c| c.interval.is_some()));
    support::sqlite(&data_dir.join("ledger.db"), "DELETE FROM checkpoints");
    for c in &signed {
        let head = ledger::Head {
            seq: c.seq,
            hash: c.hash,
        };
        store
            .add_checkpoint(&ledger::checkpoint(&head, c.time, None, &signer))
            .unwrap();
    }
    drop(store);
    server.assert_ledger_verifies();

    let (report, evidence) = evidence_of(&server, &["--user", "mallory"]);
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("report: 1 session, 0 failed logins, 1 file read"),
        "{said}"
    );
    assert_eq!(report["totals"]["bytes_read"], 9 * KIB as u64);
    // No account index under such checkpoints: the file does not claim to be complete, and the
    // check says what it cannot tell.
    assert!(!said.contains("complete: "), "{said}");
    assert!(
        said.contains("; nor that no record was left out of the file\n"),
        "{said}"
    );
    let lines = lines_of(&evidence);
    assert!(lines[0].get("complete").is_none());
    assert!(lines.iter().all(|l| l.get("proven").is_none()));
    let records: Vec<&serde_json::Value> = lines.iter().filter_map(|l| l.get("record")).collect();
    let (ours, others): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        records.iter().copied().partition(|r| r["rests"] == true);
    assert!(!ours.is_empty() && !others.is_empty());
    assert!(ours.iter().all(|r| r["key"].is_string()));
    assert!(others.iter().all(|r| r["key"].is_null()));
    // Bob's records are there, sealed: his name in their indexed fields, not his file's.
    let body = |r: &serde_json::Value| hex::decode(r["body"].as_str().unwrap()).unwrap();
    assert!(
        others
            .iter()
            .any(|r| body(r).windows(3).any(|w| w == b"bob"))
    );
    assert!(
        !std::fs::read_to_string(&evidence)
            .unwrap()
            .contains("f2.bin")
    );
    // A record of bob's taken out of the interval breaks the chain.
    let i = lines
        .iter()
        .position(|l| l.get("record").is_some_and(|r| r["rests"] != true))
        .unwrap();
    let seq = lines[i]["record"]["seq"].as_u64().unwrap();
    let mut l = lines.clone();
    l.remove(i);
    let out = check(&forged(&evidence, &l), &public_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "BROKEN: record {} follows record {}",
            seq + 1,
            seq - 1
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Writes `n` files of `size` pseudo-random bytes (`f1.bin` …, file i from seed i) in `c`'s
/// work directory; returns the batch lines that put them into `dir`.
fn random_files(c: &Client, dir: &str, n: u64, size: usize) -> String {
    let mut batch = String::new();
    for i in 1..=n {
        let name = format!("f{i}.bin");
        std::fs::write(c.work().join(&name), support::pseudo_random(i, size)).unwrap();
        batch.push_str(&format!("put {name} {dir}/{name}\n"));
    }
    batch
}

/// The SHA256 fingerprint of a client's key, as `ssh-keygen -l` prints it.
fn fingerprint(c: &Client) -> String {
    support::fingerprint(&c.public_key())
}

/// The files a report lists as read (their paths then), in order.
fn paths_read(r: &serde_json::Value) -> Vec<String> {
    let mut paths: Vec<String> = r["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["files_read"].as_array().unwrap().iter())
        .map(|f| f["path_then"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    paths
}

/// A stolen key used beside its owner: the account's report alone lists the owner's reads as
/// well, which would overstate what was taken. Criteria combine: of one kind, any of their
/// values; of different kinds, all of them (the account and the attacker's address, the key and
/// the address, two sessions, two networks); and an address can be left out (the owner's).
/// One attacker from one address, with stolen accounts of two tenants: each tenant's part of
/// the report (`--tenant`, to give to that client institution) holds its own sessions, files,
/// refused logins and totals, and not a name of the other tenant's, in JSON, CSV and HTML.
#[test]
fn a_tenants_part_of_a_report_holds_nothing_of_another_tenant() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let ops = server.account("acme", "ops", "read-only");
    let gloader = server.account("globex", "gloader", "full");
    let gops = server.account("globex", "gops", "read-only");
    let extract = support::customer_extracts(5, 0).next().unwrap();
    std::fs::write(loader.work().join("a.csv"), &extract.bytes).unwrap();
    std::fs::write(gloader.work().join("g.csv"), &extract.bytes).unwrap();
    sftp_from(&loader, "127.0.0.9", "put a.csv /acme_customers.csv\n");
    sftp_from(&gloader, "127.0.0.9", "put g.csv /globex_customers.csv\n");
    sftp_from(&ops, "127.0.0.7", "get /acme_customers.csv\n");
    sftp_from(&gops, "127.0.0.7", "get /globex_customers.csv\n");
    // From there too, each account tried with the other's key: refused.
    for (key, name) in [(ops.key(), "gops"), (gops.key(), "ops")] {
        let out = Command::new("ssh")
            .args(support::ssh_options_for(&key))
            .args([
                "-o",
                "BindAddress=127.0.0.7",
                "-p",
                &server.port.to_string(),
            ])
            .arg(format!("{name}@127.0.0.1"))
            .arg("true")
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
    let whole = report_when(&server, &["--ip", "127.0.0.7"], |r| {
        r["totals"]["files"] == 2 && r["failed_logins"].as_array().unwrap().len() == 2
    });
    assert_eq!(whole["totals"]["tenants"], 2, "{whole:#}");

    let part = report(&server, &["--ip", "127.0.0.7", "--tenant", "acme"]);
    assert_eq!(part["selection"], "address 127.0.0.7 and tenant acme");
    let tenants: Vec<&str> = part["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["acme"]);
    assert_eq!(paths_read(&part), ["/acme_customers.csv"]);
    let accounts = |key: &str| -> Vec<String> {
        part[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["account"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(accounts("sessions"), ["ops"]);
    assert_eq!(accounts("failed_logins"), ["ops"]);
    assert_eq!(part["totals"]["tenants"], 1);
    assert_eq!(part["totals"]["files"], 1);
    assert_eq!(part["totals"]["bytes_read"], extract.bytes.len() as u64);
    assert_eq!(
        part["totals"]["classes"]["card_number"],
        extract.truth.get(Class::CardNumber)
    );
    for format in ["json", "csv", "html"] {
        let out = server.ok(&[
            "incident",
            "report",
            "--ip",
            "127.0.0.7",
            "--tenant",
            "acme",
            "--format",
            format,
        ]);
        assert!(out.contains("acme_customers.csv"), "{format}: {out}");
        for other in ["globex", "gops", "gloader"] {
            assert!(!out.contains(other), "{format} names {other}: {out}");
        }
    }
    // The other tenant's part, and a tenant that does not exist.
    let other = report(&server, &["--ip", "127.0.0.7", "--tenant", "globex"]);
    assert_eq!(paths_read(&other), ["/globex_customers.csv"]);
    let out = server.admin(&["incident", "report", "--ip", "127.0.0.7", "--tenant", "acm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tenant 'acm' not found"),
        "{out:?}"
    );

    // The account's name given to the other tenant since (ops removed, an ops made in globex):
    // the refused login stays acme's, as its record names acme, and is not globex's.
    let again = Client::new(server.port, "ops");
    server.ok(&["user", "remove", "ops"]);
    server.ok(&[
        "user",
        "add",
        "ops",
        "--tenant",
        "globex",
        "--key",
        again.public_key().to_str().unwrap(),
    ]);
    let failed = |tenant: &str| -> Vec<String> {
        report(&server, &["--ip", "127.0.0.7", "--tenant", tenant])["failed_logins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["account"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(failed("acme"), ["ops"]);
    assert_eq!(failed("globex"), ["gops"]);

    // The tenant's part with its evidence file, to give to that client institution: it holds
    // that tenant's records alone (not a name of the other's, in clear or in a record's
    // indexed fields), and it holds.
    let public_key = server.ledger_public_key();
    let mut server = server;
    server.stop();
    let (_, evidence) = evidence_of(&server, &["--ip", "127.0.0.7", "--tenant", "acme"]);
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("\nsessions of: ops (1 session); from 127.0.0.7\n"),
        "{said}"
    );
    assert!(
        said.contains("report: 1 session, 1 failed login, 1 file read"),
        "{said}"
    );
    let text = std::fs::read_to_string(&evidence).unwrap();
    let mut bodies = Vec::new();
    for l in lines_of(&evidence).iter().skip(1) {
        assert!(l.get("record").is_none(), "{l}");
        if let Some(p) = l.get("proven") {
            bodies.push(hex::decode(p["body"].as_str().unwrap()).unwrap());
        }
    }
    assert!(!bodies.is_empty());
    for other in ["globex", "gops", "gloader"] {
        assert!(!text.contains(other), "the file names {other}");
        assert!(
            !bodies
                .iter()
                .any(|b| b.windows(other.len()).any(|w| w == other.as_bytes())),
            "a record names {other}"
        );
    }

    // By account in the tenant: the file shows every record of ops in acme (its account index
    // per interval), its refused login among them, and still names nothing of globex's (the
    // index's proofs are hashes; the name ops is globex's now).
    let (_, evidence) = evidence_of(&server, &["--user", "ops", "--tenant", "acme"]);
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("\ncomplete: every record of account ops in tenant acme from the chain's start to the checkpoint at record "),
        "{said}"
    );
    assert!(
        said.contains("report: 1 session, 1 failed login, 1 file read"),
        "{said}"
    );
    let lines = lines_of(&evidence);
    assert_eq!(
        lines[0]["complete"]["scope"]["tenants"],
        serde_json::json!(["acme"])
    );
    assert!(lines.iter().any(|l| l["index"]["tenant"] == "acme"));
    let text = std::fs::read_to_string(&evidence).unwrap();
    for other in ["globex", "gops", "gloader"] {
        assert!(!text.contains(other), "the file names {other}");
        assert!(
            !text.contains(&hex::encode(other)),
            "a record names {other}"
        );
    }
}

/// A report from a time: its evidence shows every record of the account in the intervals
/// around that time, those before it sealed (not opened: the report is not about them), and
/// the check holds and says the window; a record of the window passed off as before it is
/// refused.
#[test]
fn an_evidence_file_from_a_time_shows_the_accounts_earlier_records_sealed() {
    let mut server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "full");
    let mut batch = String::from("mkdir /in\n");
    batch.push_str(&random_files(&loader, "/in", 2, 4 * KIB));
    sftp_from(&loader, "127.0.0.9", &batch);
    sftp_from(&mallory, "127.0.0.7", "get /in/f1.bin\n");
    // The window starts a whole second after the first session's records.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let since = now + 2;
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        < since
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    sftp_from(&mallory, "127.0.0.8", "get /in/f2.bin\n");
    let public_key = server.ledger_public_key();
    server.stop();
    let since_text = events::Time::from_secs(since as i64).to_string();
    let (report, evidence) = evidence_of(&server, &["--user", "mallory", "--since", &since_text]);
    assert_eq!(paths_read(&report), ["/in/f2.bin"], "{report:#}");
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("\ncomplete: every record of account mallory from "),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "opened: those within the report's window (since {since_text}, until the report was made)"
        )),
        "{said}"
    );
    assert!(
        said.contains("\nsessions of: mallory (1 session); from 127.0.0.8\n"),
        "{said}"
    );
    // The first session's records, if under a checkpoint that also holds the window's (the
    // server signs one every 30 seconds: they may be under an earlier one, and then not here
    // at all), are there sealed: their bodies without keys.
    let lines = lines_of(&evidence);
    let held: Vec<&serde_json::Value> = lines
        .iter()
        .filter_map(|l| l.get("proven"))
        .filter(|p| p["withheld"] == true)
        .collect();
    for p in &held {
        assert!(p.get("key").is_none(), "{p}");
        assert!(p["time"].as_u64().unwrap() < since, "{p}");
    }
    // A record of the window passed off as before it: its key kept back, the report's read of
    // f2 taken out. Refused: the record's time is the window's.
    let said = passed_off_as_sealed(&evidence, &lines, &public_key, |p| {
        p["time"].as_u64().unwrap() >= since && p.get("withheld").is_none()
    });
    assert!(
        said.contains("withheld (not opened) though it is within the report's window"),
        "{said}"
    );
    // The window moved later in the claim, to pass the whole session off as before it: the
    // check says the window the claim gives, which is not the report's own.
    let mut l = lines.clone();
    l[0]["complete"]["scope"]["since"] = (since + 3600).into();
    let out = check(&forged(&evidence, &l), &public_key);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "(since {}, until the report was made)",
            events::Time::from_secs(since as i64 + 3600)
        )),
        "{said}"
    );
}

/// Reads `path` whole (it is at most 32 KiB) in an open session, with request ids from `id`.
fn read_in(raw: &mut Raw, id: u32, path: &str) {
    let h = raw.open(id, path, OpenFlags::READ);
    raw.call(
        id + 1,
        RequestOp::Read {
            handle: h.clone(),
            offset: 0,
            len: 32 * KIB as u32,
        },
    );
    raw.call(id + 2, RequestOp::Close { handle: h });
}

/// The path of the proven line (of `lines`) of the record whose indexed fields name
/// `credential` (an opening, or a try at logging in), before `since`.
fn opening_with(lines: &[serde_json::Value], credential: &str, since: u64) -> usize {
    let named = hex::encode(credential);
    lines
        .iter()
        .position(|l| {
            l.get("proven").is_some_and(|p| {
                p["time"].as_u64().unwrap() < since && p["body"].as_str().unwrap().contains(&named)
            })
        })
        .unwrap_or_else(|| panic!("no record of {credential} before {since}"))
}

/// A stolen second key of an account used beside its owner, each from a session opened before
/// the report's window: the report on the key (or on the attacker's session) carries evidence
/// that nothing of the account within the window was left out. For the key, every record of
/// the account in the window is opened, and each session's opening (from before the window
/// too), so that the check tells which sessions the key opened as the report did; for the
/// session, the account's other records are there sealed. A session's opening taken out, or a
/// record of the session passed off as another's, and the check says so.
#[test]
fn a_key_or_session_reports_evidence_shows_nothing_of_its_account_left_out() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let ops = server.account("acme", "ops", "read-only");
    let stolen = Client::new(server.port, "ops");
    server.ok(&[
        "user",
        "key",
        "add",
        "ops",
        stolen.public_key().to_str().unwrap(),
    ]);
    let mut batch = String::from("mkdir /d\n");
    batch.push_str(&random_files(&loader, "/d", 4, 20 * KIB));
    sftp_from(&loader, "127.0.0.9", &batch);
    // Both sessions open, then a checkpoint (a report with --evidence has the server sign
    // one), then the window starts.
    let mut owner = Raw::connect(&ops);
    let mut attacker = Raw::connect(&stolen);
    let _ = evidence_of(&server, &["--user", "ops"]);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let since = now() + 2;
    while now() < since {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let since_text = events::Time::from_secs(since as i64).to_string();
    read_in(&mut owner, 1, "/d/f1.bin");
    read_in(&mut attacker, 1, "/d/f2.bin");
    read_in(&mut attacker, 4, "/d/f3.bin");
    drop(owner);
    drop(attacker);
    sftp_from(&stolen, "127.0.0.7", "get /d/f4.bin\n");
    let key = fingerprint(&stolen);
    let by_key = report_when(&server, &["--key", &key, "--since", &since_text], |r| {
        paths_read(r).len() == 3
    });
    assert_eq!(
        paths_read(&by_key),
        ["/d/f2.bin", "/d/f3.bin", "/d/f4.bin"],
        "{by_key:#}"
    );
    let public_key = server.ledger_public_key();

    let (_, evidence) = evidence_of(&server, &["--key", &key, "--since", &since_text]);
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}");
    for expected in [
        "\ncomplete: every record of account ops from the checkpoint at record ".to_owned(),
        format!("opened: those within the report's window (since {since_text}, until the report was made)"),
        format!("\nof those, the report's are the sessions opened (or only tried) with {key}: "),
        "\nthat is the account the report's records name: the file cannot show that the selection touched no other account\n".to_owned(),
        "\nsessions of: ops (2 sessions); from ".to_owned(),
        " 3 files read".to_owned(),
        "none of account ops's records in those intervals is left out".to_owned(),
    ] {
        assert!(said.contains(&expected), "{expected:?} in {said}");
    }
    let lines = lines_of(&evidence);
    // The owner's session's opening, from before the window, is opened, to show that the
    // other key opened it; its read and its end in the window are sealed.
    let owners_key = fingerprint(&ops);
    let owners_opening = opening_with(&lines, &owners_key, since);
    assert!(lines[owners_opening]["proven"]["key"].is_string());
    let sealed_in_window = lines
        .iter()
        .filter_map(|l| l.get("proven"))
        .filter(|p| p["withheld"] == true && p["time"].as_u64().unwrap() >= since)
        .count();
    assert!(
        sealed_in_window >= 3,
        "the owner's read and end: {lines:#?}"
    );
    // Either opening taken out: the owner's records can no longer be sealed, the attacker's
    // are no longer shown to be the key's.
    for (credential, broken) in [
        (
            &owners_key,
            "withheld (not opened) though it is within the report's window, networks and sessions, and of no session the file shows opened with another credential",
        ),
        (&key, "its records are in the file without its opening"),
    ] {
        let mut l = lines.clone();
        l.remove(opening_with(&lines, credential, since));
        let out = check(&forged(&evidence, &l), &public_key);
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{credential}: {said}");
        assert!(said.contains(broken), "{credential}: {said}");
        assert!(said.contains("NOT SHOWN COMPLETE"), "{said}");
    }
    // A record of the key's sessions in the window passed off as sealed: refused.
    let said = passed_off_as_sealed(&evidence, &lines, &public_key, |p| {
        p["time"].as_u64().unwrap() >= since
            && p.get("withheld").is_none()
            && !p["body"].as_str().unwrap().contains(&hex::encode(&key))
    });
    assert!(said.contains("withheld (not opened)"), "{said}");

    // The attacker's first session alone: the account's other records are there sealed.
    let first = by_key["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["opened"].as_str().unwrap() < since_text.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (by_session, evidence) =
        evidence_of(&server, &["--session", &first, "--since", &since_text]);
    assert_eq!(paths_read(&by_session), ["/d/f2.bin", "/d/f3.bin"]);
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "opened: those within the report's window (since {since_text}, until the report was made, of session {first})"
        )),
        "{said}"
    );
    assert!(
        said.contains("\nsessions of: ops (1 session); from "),
        "{said}"
    );
    let lines = lines_of(&evidence);
    let in_window_sealed = lines
        .iter()
        .filter_map(|l| l.get("proven"))
        .filter(|p| p["withheld"] == true && p["time"].as_u64().unwrap() >= since)
        .count();
    assert!(
        in_window_sealed >= 4,
        "the owner's read and the second session's: {lines:#?}"
    );
    // A record of the session passed off as another's: refused.
    let said = passed_off_as_sealed(&evidence, &lines, &public_key, |p| {
        p["time"].as_u64().unwrap() >= since && p.get("withheld").is_none()
    });
    assert!(
        said.contains(
            "withheld (not opened) though it is within the report's window, networks and sessions"
        ),
        "{said}"
    );
}

/// A spray of logins from one address at more names than an evidence file indexes for a
/// selection without accounts: the report's evidence still proves what it holds, claims no
/// completeness, and the command says why and what to select by instead.
#[test]
fn a_spray_at_more_names_than_an_evidence_file_indexes_is_not_claimed_complete() {
    let mut server = Server::start();
    let public_key = server.ledger_public_key();
    server.stop();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let names = service::admin::MAX_FOUND_ACCOUNTS + 1;
    let spray: Vec<events::Event> = (0..names)
        .map(|i| {
            let mut e = events::Event::new(
                events::Time::from_millis(now),
                events::EventKind::Auth {
                    method: "password".into(),
                    factor: events::Factor::First,
                    result: events::AuthResult::Refused,
                    reason: None,
                    credential: None,
                },
            );
            e.session = Some(format!("spray-{i}"));
            e.source = Some("10.8.0.1:40000".parse().unwrap());
            e.account = Some(format!("name{i}"));
            e
        })
        .collect();
    append_as_written(&server.data_dir(), &spray);
    let evidence = server.data_dir().parent().unwrap().join("spray.jsonl");
    let out = server.admin(&[
        "incident",
        "report",
        "--ip",
        "10.8.0.1",
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "the report's records name {names} accounts, more than the 64 an evidence file shows complete for a selection without --user"
        )),
        "{said}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed_logins"].as_array().unwrap().len(), names);
    assert!(lines_of(&evidence)[0].get("complete").is_none());
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("\ncomplete: "), "{said}");
    assert!(
        said.contains("; nor that no record was left out of the file"),
        "{said}"
    );
    assert!(
        said.contains(&format!("report: 0 sessions, {names} failed logins")),
        "{said}"
    );
}

/// From one address: a login that asked for a command (refused) and opened no SFTP session,
/// and a connection closed before it tried anything. The first is a session with its end
/// recorded (not one still open), the second a failed login with no attempt (not a session).
#[test]
fn a_login_without_sftp_ends_and_a_connection_that_tried_nothing_is_no_session() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let out = Command::new("ssh")
        .args(alice.ssh_options())
        .args([
            "-o",
            "BindAddress=127.0.0.8",
            "-p",
            &server.port.to_string(),
        ])
        .arg("alice@127.0.0.1")
        .arg("cat /etc/passwd")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a command ran");
    // Connected, then closed before a byte (a port scan; lftp's spare connection).
    let status = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import socket\ns = socket.socket()\ns.bind(('127.0.0.8', 0))\n\
             s.connect(('127.0.0.1', {}))\ns.close()\n",
            server.port
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let r = report_when(&server, &["--ip", "127.0.0.8"], |r| {
        r["sessions"].as_array().unwrap().len() == 1
            && r["sessions"][0]["closed"].is_string()
            && r["failed_logins"].as_array().unwrap().len() == 1
    });
    let sessions = r["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{r:#}");
    assert_eq!(sessions[0]["account"], "alice");
    assert!(sessions[0]["closed"].is_string(), "no end recorded: {r:#}");
    assert!(sessions[0]["ended_by"].is_null(), "{r:#}");
    let failed = r["failed_logins"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{r:#}");
    assert_eq!(failed[0]["attempts"], 0);
    assert!(failed[0]["account"].is_null());
    assert_eq!(failed[0]["methods"], serde_json::json!([]));
    assert_eq!(r["totals"]["files"], 0);
    // The page says no file was read, not a timeline from 1970 with nothing on it.
    let page = server.ok(&[
        "incident",
        "report",
        "--ip",
        "127.0.0.8",
        "--format",
        "html",
    ]);
    assert!(page.contains(r#"<p id="no-reads">The selection read no file.</p>"#));
    assert!(!page.contains("<svg") && !page.contains("1970-"), "{page}");
}

#[test]
fn criteria_combine_to_tell_an_attacker_from_the_owner_of_the_same_account() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let ops = server.account("acme", "ops", "read-only");
    let eve = server.account("acme", "eve", "read-only");
    let mut batch = String::from("mkdir /d\n");
    batch.push_str(&random_files(&loader, "/d", 4, 20 * KIB));
    sftp_from(&loader, "127.0.0.9", &batch);
    // The owner of `ops` at the office reads f1 and f2; the attacker, with the same key from
    // 127.0.0.7, reads f2 and f3; and, from there too, f4 with another stolen account.
    sftp_from(&ops, "127.0.0.5", "get /d/f1.bin\nget /d/f2.bin\n");
    sftp_from(&ops, "127.0.0.7", "get /d/f2.bin\nget /d/f3.bin\n");
    sftp_from(&eve, "127.0.0.7", "get /d/f4.bin\n");

    let files = |paths: &[&str]| -> Vec<String> { paths.iter().map(|p| p.to_string()).collect() };
    let by_address = report_when(&server, &["--ip", "127.0.0.7"], |r| {
        paths_read(r).len() == 3
    });
    assert_eq!(
        paths_read(&by_address),
        files(&["/d/f2.bin", "/d/f3.bin", "/d/f4.bin"])
    );
    let by_account = report(&server, &["--user", "ops"]);
    assert_eq!(
        paths_read(&by_account),
        files(&["/d/f1.bin", "/d/f2.bin", "/d/f3.bin"])
    );
    assert_eq!(by_account["sessions"].as_array().unwrap().len(), 2);

    // The account from the attacker's address: its one session there, f2 and f3 only.
    let attacker = report(&server, &["--user", "ops", "--ip", "127.0.0.7"]);
    assert_eq!(attacker["selection"], "account ops and address 127.0.0.7");
    assert_eq!(paths_read(&attacker), files(&["/d/f2.bin", "/d/f3.bin"]));
    let sessions = attacker["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{attacker:#}");
    assert!(
        sessions[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.7:")
    );
    assert_eq!(attacker["totals"]["files"], 2);
    assert_eq!(attacker["totals"]["bytes_read"], 2 * 20 * KIB as u64);
    // Each of f2's readings is its own session's: the owner's read of it is not listed.
    let f2 = &attacker["tenants"][0]["files_read"][0];
    assert_eq!(f2["sessions"].as_array().unwrap().len(), 1, "{f2:#}");
    assert_eq!(f2["sessions"][0], sessions[0]["id"]);

    // The same, from what is known of the owner: everything but the office's address.
    let elsewhere = report(&server, &["--user", "ops", "--except-ip", "127.0.0.5"]);
    assert_eq!(
        elsewhere["selection"],
        "account ops and not address 127.0.0.5"
    );
    assert_eq!(elsewhere["tenants"], attacker["tenants"]);
    assert_eq!(elsewhere["sessions"], attacker["sessions"]);

    // Their evidence: every record of ops is in the file (the account index), those of the
    // owner's session sealed, not opened; the check applies the same narrowing and holds, and
    // the attacker's records cannot be passed off as the owner's.
    let public_key = server.ledger_public_key();
    for (selection, narrowed) in [
        (
            &["--user", "ops", "--ip", "127.0.0.7"][..],
            "from 127.0.0.7",
        ),
        (
            &["--user", "ops", "--except-ip", "127.0.0.5"][..],
            "not from 127.0.0.5",
        ),
    ] {
        let (_, evidence) = evidence_of(&server, selection);
        let out = check(&evidence, &public_key);
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{selection:?}: {said}");
        assert!(
            said.contains("\ncomplete: every record of account ops from "),
            "{said}"
        );
        assert!(
            said.contains(&format!("until the report was made, {narrowed})")),
            "{said}"
        );
        assert!(
            said.contains("\nsessions of: ops (1 session); from 127.0.0.7\n"),
            "{said}"
        );
        let lines = lines_of(&evidence);
        let proven: Vec<&serde_json::Value> =
            lines.iter().filter_map(|l| l.get("proven")).collect();
        let source_of = |p: &serde_json::Value| {
            let body = hex::decode(p["body"].as_str().unwrap()).unwrap();
            if body.windows(9).any(|w| w == b"127.0.0.5") {
                "owner"
            } else if body.windows(9).any(|w| w == b"127.0.0.7") {
                "attacker"
            } else {
                "neither"
            }
        };
        // The owner's session is there, sealed; the attacker's opened.
        assert!(proven.iter().any(|p| source_of(p) == "owner"));
        for p in &proven {
            match source_of(p) {
                "owner" => assert!(p["withheld"] == true && p.get("key").is_none(), "{p}"),
                "attacker" => assert!(p["key"].is_string(), "{p}"),
                _ => {}
            }
        }
        // An attacker's record passed off as sealed: refused.
        let said = passed_off_as_sealed(&evidence, &lines, &public_key, |p| {
            source_of(p) == "attacker"
        });
        assert!(
            said.contains(
                "withheld (not opened) though it is within the report's window, networks and sessions"
            ),
            "{said}"
        );
    }

    // The stolen key: its own report has both sessions; with the address, the attacker's.
    let key = fingerprint(&ops);
    assert_eq!(
        paths_read(&report(&server, &["--key", &key])),
        files(&["/d/f1.bin", "/d/f2.bin", "/d/f3.bin"])
    );
    let stolen = report(&server, &["--key", &key, "--ip", "127.0.0.6/31"]);
    assert_eq!(paths_read(&stolen), files(&["/d/f2.bin", "/d/f3.bin"]));
    assert_eq!(
        stolen["selection"],
        format!("network 127.0.0.6/31 and credential {key}")
    );

    // Two values of one kind: either of them.
    let both_accounts = report(
        &server,
        &["--user", "ops", "--user", "eve", "--ip", "127.0.0.7"],
    );
    assert_eq!(
        paths_read(&both_accounts),
        files(&["/d/f2.bin", "/d/f3.bin", "/d/f4.bin"])
    );
    assert_eq!(
        both_accounts["selection"],
        "(account ops or account eve) and address 127.0.0.7"
    );
    let both_addresses = report(&server, &["--ip", "127.0.0.5", "--ip", "127.0.0.7"]);
    assert_eq!(
        paths_read(&both_addresses),
        files(&["/d/f1.bin", "/d/f2.bin", "/d/f3.bin", "/d/f4.bin"])
    );
    // Overlapping networks: each record once (f2's bytes counted once per session).
    let overlapping = report(&server, &["--ip", "127.0.0.7", "--ip", "127.0.0.0/29"]);
    assert_eq!(overlapping["totals"], both_addresses["totals"]);
    assert_eq!(
        overlapping["evidence"]["records"],
        both_addresses["evidence"]["records"]
    );
    let session_of = |r: &serde_json::Value, account: &str| -> String {
        r["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["account"] == account)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The address alone: the accounts its records name are shown complete (the owner's
    // session sealed), and the check says they are those the report found.
    let (_, evidence) = evidence_of(&server, &["--ip", "127.0.0.7"]);
    let out = check(&evidence, &public_key);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}");
    for expected in [
        "\ncomplete: every record of accounts eve, ops from the chain's start to ",
        "until the report was made, from 127.0.0.7)\n",
        "\nthose are the accounts the report's records name: the file cannot show that the selection touched no other account\n",
        "\nsessions of: eve (1 session), ops (1 session); from 127.0.0.7\n",
    ] {
        assert!(said.contains(expected), "{expected:?} in {said}");
    }
    let two_sessions = report(
        &server,
        &[
            "--session",
            &session_of(&attacker, "ops"),
            "--session",
            &session_of(&by_address, "eve"),
        ],
    );
    assert_eq!(paths_read(&two_sessions), paths_read(&by_address));
    // Criteria that no session meets together: nothing, and said so.
    let out = server.admin(&["incident", "report", "--user", "eve", "--ip", "127.0.0.5"]);
    assert!(out.status.success());
    let none: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(paths_read(&none).is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no ledger record matches account eve and address 127.0.0.5"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The CSV: one row per file read by the combined selection.
    let csv = server.ok(&[
        "incident",
        "report",
        "--user",
        "ops",
        "--ip",
        "127.0.0.7",
        "--format",
        "csv",
    ]);
    assert_eq!(csv.lines().count(), 1 + 2, "{csv}");
    // Who read each file, when the selection holds several accounts.
    let csv = server.ok(&[
        "incident",
        "report",
        "--user",
        "ops",
        "--user",
        "eve",
        "--ip",
        "127.0.0.7",
        "--format",
        "csv",
    ]);
    let accounts = csv_column(&csv, "accounts");
    let readers: Vec<(String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[2].to_owned(), cells[accounts].to_owned())
        })
        .collect();
    assert_eq!(
        readers,
        vec![
            ("/d/f2.bin".to_owned(), "ops".to_owned()),
            ("/d/f3.bin".to_owned(), "ops".to_owned()),
            ("/d/f4.bin".to_owned(), "eve".to_owned()),
        ],
        "{csv}"
    );
    // A network in which the ledger holds more addresses than can be read one by one (a
    // provider's range a bulk account's clients come from): refused alone, with why; with an
    // account it narrows what the account's records are, matched on each of them.
    let data_dir = server.data_dir();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let wide: Vec<events::Event> = (0..=service::ledger_read::MAX_NETWORK_SOURCES)
        .map(|i| {
            let mut e = events::Event::new(
                events::Time::from_millis(now),
                events::EventKind::Session {
                    opened: true,
                    methods: Some("publickey".into()),
                    credential: Some("SHA256:bulk".into()),
                    ended_by: None,
                },
            );
            e.session = Some(format!("bulk-{i}"));
            e.source = Some(
                format!("10.9.{}.{}:40000", i / 256, i % 256)
                    .parse()
                    .unwrap(),
            );
            e.account = Some("bulk".into());
            e.tenant = Some("acme".into());
            e
        })
        .collect();
    append_as_written(&data_dir, &wide);
    let out = server.admin(&["incident", "report", "--ip", "10.9.0.0/16"]);
    assert_eq!(out.status.code(), Some(2));
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(why.contains("more than 4096"), "{why}");
    let bulk = report(&server, &["--user", "bulk", "--ip", "10.9.0.0/16"]);
    assert_eq!(bulk["evidence"]["records"], wide.len());
    assert_eq!(bulk["sessions"].as_array().unwrap().len(), wide.len());
    let part = report(&server, &["--user", "bulk", "--ip", "10.9.0.0/24"]);
    assert_eq!(part["evidence"]["records"], 256);
    let none = report(&server, &["--user", "ops", "--ip", "10.9.0.0/16"]);
    assert_eq!(none["evidence"]["records"], 0);

    // No criterion at all, or only what to leave out: a usage error, nothing on standard
    // output.
    for args in [
        &["incident", "report"][..],
        &["incident", "report", "--except-ip", "127.0.0.5"],
    ] {
        let out = server.admin(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

/// A path that a daily upload replaces holds a new file each day: `incident file PATH` asks
/// about the file there now; `--every-file` about each file that has been there, removed or
/// renamed away since, each with its own readers.
#[test]
fn every_file_that_has_been_at_a_path_and_who_read_each() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let ops = server.account("acme", "ops", "read-only");
    let eve = server.account("acme", "eve", "read-only");
    for (day, size) in [(1, 3000), (2, 4000), (3, 5000)] {
        std::fs::write(
            loader.work().join(format!("pay{day}.csv")),
            support::pseudo_random(day, size),
        )
        .unwrap();
    }
    // Day 1 is read by ops, then removed; day 2 is read by eve, then archived; day 3 is there.
    sftp_from(
        &loader,
        "127.0.0.9",
        "mkdir /daily\nmkdir /archive\nput pay1.csv /daily/pay.csv\n",
    );
    sftp_from(&ops, "127.0.0.5", "get /daily/pay.csv\n");
    sftp_from(
        &loader,
        "127.0.0.9",
        "rm /daily/pay.csv\nput pay2.csv /daily/pay.csv\n",
    );
    sftp_from(&eve, "127.0.0.6", "get /daily/pay.csv\n");
    sftp_from(
        &loader,
        "127.0.0.9",
        "rename /daily/pay.csv /archive/pay2.csv\nput pay3.csv /daily/pay.csv\n",
    );

    let rows = |args: &[&str]| -> Vec<(String, Option<String>, u64)> {
        let mut all = vec![
            "incident",
            "file",
            "acme",
            "/daily/pay.csv",
            "--format",
            "jsonl",
        ];
        all.extend_from_slice(args);
        server
            .ok(&all)
            .lines()
            .map(|l| {
                let r: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    r["account"].as_str().unwrap().to_owned(),
                    r["path_now"].as_str().map(str::to_owned),
                    r["bytes_read"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    // The records reach the ledger within moments of the sessions' ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let every = loop {
        let every = rows(&["--every-file"]);
        if every.len() == 2 || std::time::Instant::now() > deadline {
            break every;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(
        every,
        vec![
            ("ops".to_owned(), None, 3000),
            ("eve".to_owned(), Some("/archive/pay2.csv".to_owned()), 4000),
        ]
    );
    // Without it: the file there now, which nobody has read.
    assert_eq!(rows(&[]), vec![]);
    let table = server.ok(&["incident", "file", "acme", "/daily/pay.csv", "--every-file"]);
    assert!(
        table.starts_with("3 files have been at acme:/daily/pay.csv"),
        "{table}"
    );
    assert!(table.contains("acme: file "), "{table}");
    assert!(table.contains("(deleted)"), "{table}");
    assert!(table.contains("acme:/archive/pay2.csv (file "), "{table}");
    assert!(table.contains("acme:/daily/pay.csv (file "), "{table}");
    // A path no file has ever been at: refused, as without the flag.
    let out = server.admin(&[
        "incident",
        "file",
        "acme",
        "/daily/none.csv",
        "--every-file",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("now or in the ledger"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With an id it means nothing: a usage error.
    let out = server.admin(&["incident", "file", "acme", "--id", "1", "--every-file"]);
    assert_eq!(out.status.code(), Some(2));

    // The path's whole history as records (through the path tags): the three uploads, the two
    // downloads, the removal and the rename away; every record names the path, as its own or
    // as a rename's target.
    let history: Vec<(String, String)> = path_history(&server, "acme", "/daily/pay.csv")
        .iter()
        .map(|e| {
            assert!(
                e["path"] == "/daily/pay.csv" || e["to"] == "/daily/pay.csv",
                "{e}"
            );
            (
                e["op"].as_str().unwrap().to_owned(),
                e["account"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let count = |op: &str, account: &str| {
        history
            .iter()
            .filter(|(o, a)| o == op && a == account)
            .count()
    };
    assert_eq!(count("close_write", "loader"), 3, "{history:?}");
    assert_eq!(count("close_read", "ops"), 1, "{history:?}");
    assert_eq!(count("close_read", "eve"), 1, "{history:?}");
    assert_eq!(count("remove", "loader"), 1, "{history:?}");
    assert_eq!(count("rename", "loader"), 1, "{history:?}");
    // Narrowed like any export; a path is a tenant's.
    let ops_only = server.ok(&[
        "audit",
        "export",
        "--tenant",
        "acme",
        "--path",
        "/daily/pay.csv",
        "--user",
        "ops",
    ]);
    assert!(ops_only.lines().count() >= 2, "{ops_only}");
    assert!(
        ops_only.lines().all(|l| l.contains(r#""account":"ops""#)),
        "{ops_only}"
    );
    let out = server.admin(&["audit", "export", "--path", "/daily/pay.csv"]);
    assert_eq!(out.status.code(), Some(2));
}

/// What the selection saw of names and what it tried in vain: the directories it listed (a
/// file's name can carry an account number) with the names sent, and the requests the
/// permission check refused, alike ones counted together; a request that was allowed and failed
/// is not a refusal.
#[test]
fn the_report_lists_directories_listed_and_requests_refused() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "read-only");
    let drop = server.account("acme", "drop", "upload-only");
    let mut batch = String::from("mkdir /d\nmkdir /d/sub\n");
    batch.push_str(&random_files(&loader, "/d", 3, 1000));
    sftp_from(&loader, "127.0.0.9", &batch);
    std::fs::write(mallory.work().join("x.bin"), b"x").unwrap();
    // Mallory lists /d twice, reads f1, tries twice to remove f2 and once to upload; a get of a
    // file that is not there fails (allowed, and not found).
    sftp_from(
        &mallory,
        "127.0.0.7",
        "ls /d\nls -l /d\nget /d/f1.bin\n-rm /d/f2.bin\n-rm /d/f2.bin\n-put x.bin /d/x.bin\n\
         -get /d/none.bin\n",
    );
    // The drop box, whose files nobody may list, tries to.
    sftp_from(&drop, "127.0.0.8", "-ls /d\n");

    let r = report_when(&server, &["--user", "mallory"], |r| {
        r["totals"]["refused"] == 3
    });
    let t = &r["tenants"][0];
    let dirs = t["directories_listed"].as_array().unwrap();
    assert_eq!(dirs.len(), 1, "{t:#}");
    assert_eq!(dirs[0]["path_then"], "/d");
    assert_eq!(dirs[0]["path_now"], "/d");
    assert_eq!(dirs[0]["deleted"], false);
    // Each listing sent the four names of /d (three files and a folder): two listings, eight.
    let names = dirs[0]["names_sent"].as_u64().unwrap();
    assert_eq!(names, 8);
    assert_eq!(r["totals"]["names_sent"], names);
    assert_eq!(r["totals"]["directories_listed"], 1);
    let refused: Vec<(String, String, u64)> = t["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            assert!(!q["why"].as_str().unwrap().is_empty(), "{q}");
            (
                q["op"].as_str().unwrap().to_owned(),
                q["path"].as_str().unwrap().to_owned(),
                q["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            ("remove".to_owned(), "/d/f2.bin".to_owned(), 2),
            ("open_write".to_owned(), "/d/x.bin".to_owned(), 1),
        ],
        "{t:#}"
    );
    // The file a refusal's path resolved to is named.
    assert!(t["refused"][0]["file_id"].is_i64(), "{t:#}");
    assert_eq!(r["totals"]["refused"], 3);
    assert_eq!(r["totals"]["files"], 1);
    // The drop box's report: its refused listing, nothing listed.
    let d = report_when(&server, &["--user", "drop"], |d| {
        d["totals"]["refused"] == 1
    });
    assert_eq!(d["tenants"][0]["refused"][0]["op"], "opendir", "{d:#}");
    assert_eq!(d["tenants"][0]["refused"][0]["path"], "/d");
    assert!(
        d["tenants"][0]["directories_listed"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The summary line of --out, and the page.
    let page = server.data_dir().join("..").join("listed.html");
    let out = server.admin(&[
        "incident",
        "report",
        "--user",
        "mallory",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stderr);
    assert!(
        line.contains(&format!(
            "; 1 directory listed ({names} names sent); 3 requests refused"
        )),
        "{line}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h3>Directories listed</h3>"), "{html}");
    assert!(html.contains("<h3>Refused requests</h3>"), "{html}");
    assert!(html.contains("1 directory listed"), "{html}");
}

/// Two downloads of one file open at once in one session (as a client reading a large file
/// in parallel streams does): each download's records carry its own number, and the report
/// counts each download's bytes once.
#[test]
fn downloads_open_at_once_in_a_session_are_told_apart() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "read-only");
    std::fs::write(
        loader.work().join("big.bin"),
        support::pseudo_random(9, 256 * KIB),
    )
    .unwrap();
    sftp_from(&loader, "127.0.0.9", "put big.bin /big.bin\n");
    let mut raw = Raw::connect(&mallory);
    let first = raw.open(1, "/big.bin", OpenFlags::READ);
    let second = raw.open(2, "/big.bin", OpenFlags::READ);
    let read = |raw: &mut Raw, id, handle: &bytes::Bytes, offset: u64| {
        raw.call(
            id,
            RequestOp::Read {
                handle: handle.clone(),
                offset,
                len: 32 * KIB as u32,
            },
        );
    };
    read(&mut raw, 3, &first, 0);
    read(&mut raw, 4, &second, 128 * KIB as u64);
    read(&mut raw, 5, &second, 160 * KIB as u64);
    raw.call(6, RequestOp::Close { handle: first });
    raw.call(7, RequestOp::Close { handle: second });
    drop(raw);

    let r = report_when(&server, &["--user", "mallory"], |r| {
        r["totals"]["bytes_read"] == 96 * KIB as u64
    });
    let f = &r["tenants"][0]["files_read"][0];
    assert_eq!(f["bytes_read"], 96 * KIB as u64, "{f:#}");
    assert_eq!(f["read"], "partial");
    // Which parts: both downloads closed with their parts recorded, joined; in each form.
    let (kib32, kib128, kib192) = (32 * KIB as u64, 128 * KIB as u64, 192 * KIB as u64);
    assert_eq!(
        f["parts_read"],
        serde_json::json!([[0, kib32], [kib128, kib192]]),
        "{f:#}"
    );
    let csv = server.ok(&["incident", "report", "--user", "mallory", "--format", "csv"]);
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",distinct,parts_read"), "{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!(",0-{kib32};{kib128}-{kib192}")),
        "{csv}"
    );
    let html = server.ok(&[
        "incident", "report", "--user", "mallory", "--format", "html",
    ]);
    let cell = format!(
        "<td class=\"k\">partial: bytes 0 to {}, {kib128} to {}</td>",
        kib32 - 1,
        kib192 - 1
    );
    assert!(html.contains(&cell), "{cell} in {html}");
    // The records: two opens with two numbers, each close with its own.
    let export = server.ok(&["audit", "export", "--user", "mallory", "--kind", "file"]);
    let downloads: Vec<(String, u64)> = export
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["event"]["path"] == "/big.bin")
        .map(|r| {
            (
                r["event"]["op"].as_str().unwrap().to_owned(),
                r["event"]["handle"].as_u64().expect("a download's number"),
            )
        })
        .collect();
    let opens: Vec<u64> = downloads
        .iter()
        .filter(|(op, _)| op == "open_read")
        .map(|(_, h)| *h)
        .collect();
    let closes: Vec<u64> = downloads
        .iter()
        .filter(|(op, _)| op == "close_read")
        .map(|(_, h)| *h)
        .collect();
    assert_eq!(opens.len(), 2, "{export}");
    assert_ne!(opens[0], opens[1]);
    assert_eq!(closes, opens, "{export}");
    // And as CSV, in its column.
    let csv = server.ok(&[
        "audit", "export", "--user", "mallory", "--kind", "file", "--format", "csv",
    ]);
    let column = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "handle")
        .unwrap_or_else(|| panic!("no handle column: {csv}"));
    let numbered: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",open_read,/big.bin,"))
        .map(|l| l.split(',').nth(column).unwrap())
        .collect();
    assert_eq!(
        numbered,
        opens.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        "{csv}"
    );
}

/// A download split over connections (`lftp`'s `pget -n 4` reads a part of the file in each):
/// `incident file` lists each session's part as partial and says the account read the whole
/// between them, as the report does; parts read by two accounts are not joined.
#[test]
fn a_file_read_in_parts_over_several_sessions_is_read_whole_by_its_account() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "read-only");
    let bob = server.account("acme", "bob", "read-only");
    let big = support::pseudo_random(11, 4 << 20);
    std::fs::write(loader.work().join("big.bin"), &big).unwrap();
    std::fs::write(loader.work().join("halves.bin"), &big[..256 * KIB]).unwrap();
    sftp_from(
        &loader,
        "127.0.0.9",
        "put big.bin /big.bin\nput halves.bin /halves.bin\n",
    );

    // lftp, as a person would fetch a large file faster. The account throttled (its sessions
    // share the rate) so that the download lasts the moment lftp takes to open its other
    // connections: on an idle loopback it may finish on the first.
    server.ok(&["user", "throttle", "mallory", "2M"]);
    let ssh = format!(
        "ssh -a -x {}",
        support::ssh_options_for(&mallory.key()).join(" ")
    );
    let got = mallory.work().join("got.bin");
    let out = Command::new("lftp")
        .args([
            "-u",
            "mallory,",
            "-e",
            &format!(
                "set sftp:connect-program \"{ssh}\"; set net:max-retries 1; \
                 pget -n 4 /big.bin -o {}; bye",
                got.display()
            ),
        ])
        .arg(format!("sftp://127.0.0.1:{}", server.port))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&got).unwrap() == big, "lftp's copy differs");

    // One half each in two sessions of mallory; the first half again by bob.
    let half = |c: &Client, offset: u64| {
        let mut raw = Raw::connect(c);
        let h = raw.open(1, "/halves.bin", OpenFlags::READ);
        for (i, at) in (offset..offset + 128 * KIB as u64)
            .step_by(32 * KIB)
            .enumerate()
        {
            raw.call(
                10 + i as u32,
                RequestOp::Read {
                    handle: h.clone(),
                    offset: at,
                    len: 32 * KIB as u32,
                },
            );
        }
        raw.call(2, RequestOp::Close { handle: h });
    };
    half(&mallory, 0);
    half(&mallory, 128 * KIB as u64);
    half(&bob, 0);

    let rows = |path: &str| -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let rows: Vec<serde_json::Value> = server
                .ok(&["incident", "file", "acme", path, "--format", "jsonl"])
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if rows.iter().all(|r| r["read"] != "unfinished")
                || std::time::Instant::now() > deadline
            {
                return rows;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let split = rows("/big.bin");
    assert!(split.len() >= 2, "lftp used one connection: {split:#?}");
    // lftp's connections read parts; now and then its first reads on to the end before the
    // others have taken theirs (whole, beside their parts). The account read it whole either
    // way; the halves below are read in parts by construction.
    assert!(split.iter().any(|r| r["read"] == "partial"), "{split:#?}");
    for r in &split {
        assert_eq!(r["account"], "mallory");
        assert!(r["read"] == "partial" || r["read"] == "whole", "{r}");
        assert_eq!(r["account_read"], "whole", "{r}");
    }
    let table = server.ok(&["incident", "file", "acme", "/big.bin"]);
    assert!(
        table.ends_with(&format!(
            "\nmallory: {n} sessions, {} bytes, whole between them\n",
            split
                .iter()
                .map(|r| r["bytes_read"].as_u64().unwrap())
                .sum::<u64>(),
            n = split.len()
        )),
        "{table}"
    );
    let halves = rows("/halves.bin");
    let mut seen: Vec<(String, String, String)> = halves
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap().to_owned(),
                r["read"].as_str().unwrap().to_owned(),
                r["account_read"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let row = |a: &str, read: &str, together: &str| (a.into(), read.into(), together.into());
    assert_eq!(
        seen,
        vec![
            row("bob", "partial", "partial"),
            row("mallory", "partial", "whole"),
            row("mallory", "partial", "whole"),
        ]
    );
    // Each session's part, as its records name it.
    let half_kib = 128 * KIB as u64;
    let mut parts: Vec<(String, serde_json::Value)> = halves
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap().to_owned(),
                r["parts_read"].clone(),
            )
        })
        .collect();
    parts.sort_by_key(|(a, p)| (a.clone(), p.to_string()));
    let first = serde_json::json!([[0, half_kib]]);
    let second = serde_json::json!([[half_kib, 2 * half_kib]]);
    assert_eq!(
        parts,
        vec![
            ("bob".to_owned(), first.clone()),
            ("mallory".to_owned(), first),
            ("mallory".to_owned(), second),
        ],
        "{halves:#?}"
    );
    let table = server.ok(&["incident", "file", "acme", "/halves.bin"]);
    assert!(
        table.ends_with(&format!(
            "3 sessions read it\nmallory: 2 sessions, {} bytes, whole between them\n",
            256 * KIB
        )),
        "{table}"
    );
    // The report on the account says the same of both files.
    let r = report_when(&server, &["--user", "mallory"], |r| {
        r["totals"]["files"] == 2
    });
    for f in r["tenants"][0]["files_read"].as_array().unwrap() {
        assert_eq!(f["read"], "whole", "{f:#}");
    }
}

/// A session open across the start of a time range (opened overnight, reading in the
/// morning): a report on its key from that start lists its reads, as one on its account does,
/// and its row says when and with what it opened.
#[test]
fn a_key_report_from_a_time_includes_sessions_opened_before_it() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "read-only");
    std::fs::write(
        loader.work().join("f.bin"),
        support::pseudo_random(4, 40 * KIB),
    )
    .unwrap();
    sftp_from(&loader, "127.0.0.9", "put f.bin /f.bin\n");
    let mut raw = Raw::connect(&mallory);
    let pause = std::time::Duration::from_millis(1200);
    std::thread::sleep(pause);
    let since = events::Time::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    )
    .to_string();
    std::thread::sleep(pause);
    let h = raw.open(1, "/f.bin", OpenFlags::READ);
    raw.call(
        2,
        RequestOp::Read {
            handle: h.clone(),
            offset: 0,
            len: 32 * KIB as u32,
        },
    );
    raw.call(3, RequestOp::Close { handle: h });
    drop(raw);
    let by_account = report_when(&server, &["--user", "mallory", "--since", &since], |r| {
        r["totals"]["files"] == 1
    });
    assert_eq!(
        by_account["totals"]["bytes_read"],
        32 * KIB as u64,
        "{by_account:#}"
    );
    let key = fingerprint(&mallory);
    let by_key = report(&server, &["--key", &key, "--since", &since]);
    assert_eq!(by_key["tenants"], by_account["tenants"], "{by_key:#}");
    assert_eq!(
        by_key["sessions"].as_array().unwrap().len(),
        1,
        "{by_key:#}"
    );
    // Its row says how it opened, from the record before the range (the report's evidence
    // stays the range's records).
    for r in [&by_key, &by_account] {
        let row = &r["sessions"][0];
        assert_eq!(row["credential"], key.as_str(), "{r:#}");
        assert!(row["opened"].as_str().unwrap() < since.as_str(), "{r:#}");
        assert!(row["closed"].is_string(), "{r:#}");
    }
    // Until before it opened: nothing.
    let before = report(&server, &["--key", &key, "--until", "2000-01-01"]);
    assert_eq!(before["evidence"]["records"], 0);
}

/// The events of `audit export --tenant TENANT --path PATH`, in ledger order.
fn path_history(server: &Server, tenant: &str, path: &str) -> Vec<serde_json::Value> {
    server
        .ok(&["audit", "export", "--tenant", tenant, "--path", path])
        .lines()
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
            r["event"].take()
        })
        .collect()
}

/// Writes the report on `user` as an HTML page named `name` beside the data directory.
fn html_report(server: &Server, user: &str, name: &str) -> std::path::PathBuf {
    let page = server.data_dir().join("..").join(name);
    server.ok(&[
        "incident",
        "report",
        "--user",
        user,
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    page
}

/// Runs headless Chromium (Debian's) on `page` with `args`; its standard output.
fn chromium(page: &std::path::Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .expect("chromium (Debian package chromium) is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The classes a report gives are those of the contents that were read: after the file was
/// replaced by other contents, after it was deleted, and after the tenant key was rotated.
#[test]
fn classes_are_those_of_the_contents_read_after_a_replace_a_removal_and_a_key_rotation() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "full");
    let extracts: Vec<corpus::Document> = support::customer_extracts(11, 200_000).take(2).collect();
    let (a, b) = (&extracts[0], &extracts[1]);
    std::fs::write(loader.work().join("a.csv"), &a.bytes).unwrap();
    std::fs::write(loader.work().join("b.csv"), &b.bytes).unwrap();
    std::fs::write(loader.work().join("blank.txt"), "nothing here\n").unwrap();
    sftp_from(&loader, "127.0.0.9", "put a.csv /a.csv\nput b.csv /b.csv\n");
    sftp_from(&mallory, "127.0.0.7", "get /a.csv\nget /b.csv\n");
    // A second later (commit times are in seconds), a.csv is replaced and b.csv removed.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sftp_from(&loader, "127.0.0.9", "put blank.txt /a.csv\nrm /b.csv\n");

    let check = |r: &serde_json::Value| {
        let files = r["tenants"][0]["files_read"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{r:#}");
        let by_path = |p: &str| files.iter().find(|f| f["path_then"] == p).unwrap();
        let (fa, fb) = (by_path("/a.csv"), by_path("/b.csv"));
        assert_eq!(
            fa["classes"]["card_number"].as_u64(),
            Some(a.truth.get(Class::CardNumber)),
            "{r:#}"
        );
        assert_eq!(fa["replaced_since"], true);
        assert_eq!(fa["deleted"], false);
        assert_eq!(
            fb["classes"]["iban"].as_u64(),
            Some(b.truth.get(Class::Iban)),
            "{r:#}"
        );
        assert_eq!(fb["deleted"], true);
        assert_eq!(
            r["totals"]["classes"]["card_number"].as_u64(),
            Some(a.truth.get(Class::CardNumber) + b.truth.get(Class::CardNumber))
        );
    };
    check(&report(&server, &["--user", "mallory"]));
    // The current a.csv holds nothing.
    let shown = server.ok(&["file", "show", "acme", "/a.csv"]);
    assert!(!shown.contains("card_number"), "{shown}");
    // The history is sealed with the tenant key, and re-sealed when it is rotated.
    server.ok(&["tenant", "rotate-key", "acme"]);
    check(&report(&server, &["--user", "mallory"]));
}

/// Appends `events` to the ledger of `data_dir` as the server writes them (sealed, indexed and
/// chained), folded into the indexed table.
fn append_as_written(data_dir: &std::path::Path, events: &[events::Event]) {
    let master = service::config::MasterKeySource::File(data_dir.join("master.key"));
    let (store, key) = service::admin::open_ledger(data_dir, &master).unwrap();
    let batch: Vec<_> = events
        .iter()
        .map(|e| service::audit::stored(e, &key))
        .collect();
    store.append(&batch).unwrap();
    store.fold().unwrap();
}

/// Appends records to the ledger of `data_dir` as a server from before file ids (schema 1)
/// wrote them: `bodies` are the events' JSON, sealed and chained as that server did. As an
/// upgrade leaves the ledger, its file id and path tag indexes begin after them (ledger
/// migrations 0005 and 0006 ran later than any such record was written).
fn append_as_schema_1(data_dir: &std::path::Path, bodies: &[String]) {
    let master = service::config::MasterKeySource::File(data_dir.join("master.key"));
    let (store, key) = service::admin::open_ledger(data_dir, &master).unwrap();
    let batch: Vec<_> = bodies
        .iter()
        .map(|b| {
            let e = events::Event::from_stored(b.as_bytes()).unwrap();
            // Written before path tags, as before file ids.
            let meta = catalog::LedgerMeta {
                path_tag: None,
                to_tag: None,
                ..service::audit::meta(&e, &key)
            };
            (e.time.as_secs(), meta, key.seal(b.as_bytes()))
        })
        .collect();
    let head = store.append(&batch).unwrap();
    store.fold().unwrap();
    for fact in ["file_id_from", "path_tag_from"] {
        support::sqlite(
            &data_dir.join("ledger.db"),
            &format!(
                "UPDATE ledger_facts SET value = {} WHERE name = '{fact}'",
                head.seq + 1
            ),
        );
    }
}

/// An installation upgraded from a server that recorded no file ids (schema 1): the reads
/// recorded then are tied to their files by the tenant's path history. Mallory read three
/// files then: one renamed since (listed at its new path, with its id and the classes of what
/// was read), one removed since (deleted, with its id), and one removed before file ids
/// (deleted, no id). `incident file` finds the old read of the renamed file; another file later
/// given the removed one's name is not it.
#[test]
fn reads_recorded_before_file_ids_are_followed_to_their_files() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let extract = support::customer_extracts(5, 100_000).next().unwrap();
    std::fs::write(loader.work().join("a.csv"), &extract.bytes).unwrap();
    std::fs::write(
        loader.work().join("b.bin"),
        support::pseudo_random(3, 10 * KIB),
    )
    .unwrap();
    sftp_from(
        &loader,
        "127.0.0.9",
        "mkdir /data\nput a.csv /data/a.csv\nput b.bin /data/b.bin\n",
    );
    // What the older server recorded of Mallory's session (after the uploads: the contents
    // read are those uploaded).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let record = |t: u64, account: &str, session: &str, rest: &str| {
        format!(
            r#"{{"time":{},"source":"127.0.0.66:40000","account":"{account}","tenant":"acme","client_version":"SSH-2.0-OpenSSH_9.2p1","session":"{session}",{rest}}}"#,
            now + t
        )
    };
    let a_len = extract.bytes.len();
    append_as_schema_1(
        &server.data_dir(),
        &[
            record(
                0,
                "mallory",
                "v1-7",
                r#""kind":"file","op":"open_read","path":"/data/a.csv","outcome":"ok""#,
            ),
            record(
                0,
                "mallory",
                "v1-7",
                &format!(
                    r#""kind":"file","op":"close_read","path":"/data/a.csv","bytes":{a_len},"whole_file":true,"outcome":"ok""#
                ),
            ),
            record(
                1,
                "mallory",
                "v1-7",
                r#""kind":"file","op":"open_read","path":"/data/b.bin","outcome":"ok""#,
            ),
            record(
                1,
                "mallory",
                "v1-7",
                r#""kind":"file","op":"progress_read","path":"/data/b.bin","bytes":4096,"outcome":"ok""#,
            ),
            record(
                2,
                "loader",
                "v1-8",
                r#""kind":"file","op":"close_write","path":"/data/old.txt","bytes":5,"outcome":"ok""#,
            ),
            record(
                2,
                "mallory",
                "v1-7",
                r#""kind":"file","op":"close_read","path":"/data/old.txt","bytes":5,"whole_file":true,"outcome":"ok""#,
            ),
            record(
                3,
                "loader",
                "v1-8",
                r#""kind":"file","op":"remove","path":"/data/old.txt","outcome":"ok""#,
            ),
        ],
    );
    // Since, with today's server: a.csv renamed, b.bin removed and another file put there.
    std::thread::sleep(std::time::Duration::from_secs(4));
    std::fs::write(loader.work().join("other.bin"), b"other").unwrap();
    sftp_from(
        &loader,
        "127.0.0.9",
        "rename /data/a.csv /data/moved.csv\nrm /data/b.bin\nput other.bin /data/b.bin\n",
    );

    let r = report(&server, &["--user", "mallory"]);
    let files = r["tenants"][0]["files_read"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{r:#}");
    let by_path = |p: &str| files.iter().find(|f| f["path_then"] == p).unwrap();
    let (a, b, old) = (
        by_path("/data/a.csv"),
        by_path("/data/b.bin"),
        by_path("/data/old.txt"),
    );
    assert_eq!(a["identified_by"], "path", "{r:#}");
    assert_eq!(a["path_now"], "/data/moved.csv", "{r:#}");
    // The records from before file ids do not say a file's size: unknown, not 0.
    assert!(a["size"].is_null() && b["size"].is_null(), "{r:#}");
    assert_eq!(a["deleted"], false);
    assert_eq!(a["bytes_read"].as_u64(), Some(a_len as u64));
    assert_eq!(a["read"], "whole");
    assert_eq!(
        a["classes"]["card_number"].as_u64(),
        Some(extract.truth.get(Class::CardNumber)),
        "{r:#}"
    );
    assert!(a["file_id"].as_i64().is_some(), "{r:#}");
    assert_eq!(b["identified_by"], "path");
    assert_eq!(b["deleted"], true, "{r:#}");
    assert!(b["file_id"].as_i64().is_some(), "{r:#}");
    assert_ne!(b["file_id"], a["file_id"]);
    // Its download's close was never recorded: what its progress counted, at least.
    assert_eq!(
        (b["bytes_read"].as_u64(), &b["read"]),
        (Some(4096), &"unfinished".into())
    );
    assert_eq!(old["identified_by"], "path");
    assert_eq!(old["deleted"], true);
    assert!(old["file_id"].is_null(), "{r:#}");
    assert_eq!(
        r["totals"]["bytes_read"].as_u64(),
        Some(a_len as u64 + 4096 + 5)
    );
    // A path's records, on a ledger whose older records carry no path tags (read by a pass
    // over the tenant's records): the old reads, today's upload and its rename away, each once
    // (the rename reaches the ledger within moments).
    let history = || -> Vec<String> {
        path_history(&server, "acme", "/data/a.csv")
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["account"].as_str().unwrap(),
                    e["op"].as_str().unwrap()
                )
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut a_history = history();
    while !a_history.iter().any(|h| h == "loader rename") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        a_history = history();
    }
    for want in [
        "mallory open_read",
        "mallory close_read",
        "loader close_write",
        "loader rename",
    ] {
        assert_eq!(
            a_history.iter().filter(|h| *h == want).count(),
            1,
            "{a_history:?}"
        );
    }
    // The page marks the files tied by path, as a browser shows it.
    let page = html_report(&server, "mallory", "old.html");
    let dom = chromium(&page, &["--dump-dom"]);
    assert_eq!(dom.matches(" (by path)</td>").count(), 3, "{dom}");
    // Their sizes: not known.
    assert_eq!(dom.matches(r#"<td class="n">-</td>"#).count(), 3, "{dom}");

    // Who read the renamed file: Mallory's old session, tied by path.
    let lines = server.ok(&[
        "incident",
        "file",
        "acme",
        "/data/moved.csv",
        "--format",
        "jsonl",
    ]);
    let readers: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(readers.len(), 1, "{lines}");
    assert_eq!(readers[0]["session"], "v1-7");
    assert_eq!(readers[0]["account"], "mallory");
    assert_eq!(readers[0]["identified_by"], "path");
    assert_eq!(readers[0]["bytes_read"].as_u64(), Some(a_len as u64));
    // The file now at b.bin's old name is another: nobody read it.
    let lines = server.ok(&[
        "incident",
        "file",
        "acme",
        "/data/b.bin",
        "--format",
        "jsonl",
    ]);
    assert!(lines.is_empty(), "{lines}");
    server.assert_ledger_verifies();
}

/// The blast radius of US payment files: an account downloads a NACHA batch, a BAI2 statement,
/// a Fedwire ISO 20022 batch, a SWIFT MT103 file and MT940 statements; the report's totals
/// give the routing and account numbers they held (the corpus's truth), per file and in all,
/// in JSON and CSV.
#[test]
fn the_report_counts_us_routing_and_account_numbers_of_the_files_read() {
    let server = Server::start();
    let loader = server.account("acme", "loader", "full");
    let mallory = server.account("acme", "mallory", "read-only");
    let docs = corpus::generate(31, 600_000);
    let kinds = [
        "payroll.ach",
        "statement.bai",
        "fedwire.xml",
        "mt103.fin",
        "statement.fin",
    ];
    let files: Vec<&corpus::Document> = kinds
        .iter()
        .map(|k| {
            docs.iter()
                .find(|d| d.name.ends_with(k) && d.truth.get(Class::UsBankAccount) > 0)
                .unwrap()
        })
        .collect();
    let mut put = String::from("mkdir /pay\n");
    let mut get = String::new();
    for d in &files {
        std::fs::write(loader.work().join(&d.name), &d.bytes).unwrap();
        put.push_str(&format!("put {} /pay/{}\n", d.name, d.name));
        get.push_str(&format!("get /pay/{}\n", d.name));
    }
    sftp_from(&loader, "127.0.0.9", &put);
    sftp_from(&mallory, "127.0.0.7", &get);
    let r = report_when(&server, &["--user", "mallory"], |r| {
        r["totals"]["files"].as_u64() == Some(files.len() as u64)
    });
    let total = |c: Class| files.iter().map(|d| d.truth.get(c)).sum::<u64>();
    for class in [Class::AbaRouting, Class::UsBankAccount] {
        assert!(total(class) > 0);
        assert_eq!(
            r["totals"]["classes"][class.as_str()].as_u64(),
            Some(total(class)),
            "{class:?}: {r:#}"
        );
    }
    for d in &files {
        let f = r["tenants"][0]["files_read"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path_then"] == format!("/pay/{}", d.name))
            .unwrap();
        assert_eq!(
            f["classes"]["us_bank_account"].as_u64(),
            Some(d.truth.get(Class::UsBankAccount)),
            "{}",
            d.name
        );
    }
    // The CSV's row of each file names the class with its count.
    let csv = server.ok(&["incident", "report", "--user", "mallory", "--format", "csv"]);
    for d in &files {
        let row = csv
            .lines()
            .find(|l| l.contains(&format!("/pay/{}", d.name)))
            .unwrap();
        let want = format!("us_bank_account={}", d.truth.get(Class::UsBankAccount));
        assert!(row.contains(&want), "{row}");
    }
}

/// Where the column `name` is in a CSV report (by its header).
fn csv_column(csv: &str, name: &str) -> usize {
    let header = csv.lines().next().unwrap_or_default();
    header
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}: {header}"))
}
