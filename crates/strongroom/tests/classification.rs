//! Classification end to end, with the real binary and OpenSSH's client: documents of the
//! labelled corpus uploaded with `sftp` are classified as they arrive (`file show` gives their
//! true counts and formats); an upload written out of order is read back and classified after
//! its commit; `classify run` classifies files stored without a classification; a tenant key
//! rotation keeps classifications readable; a replaced file gets the new contents' classes.

mod support;

use std::time::{Duration, Instant};

use classify::{Class, corpus};
use sftp_proto::{OpenFlags, RequestOp};
use support::raw::Raw;
use support::{Server, sqlite};

/// `file show`'s JSON of `path`; its classification's distinct values checked and taken out
/// (each tests compares the classes and formats with the truth): every class counted has its
/// estimate, at least one and no more than its occurrences (a tenant's pattern is counted, not
/// sketched).
fn shown(server: &Server, path: &str) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&server.ok(&["file", "show", "acme", path, "--format", "json"]))
            .unwrap();
    if let Some(c) = v["classification"].as_object_mut() {
        let distinct = c
            .remove("distinct")
            .unwrap_or_else(|| panic!("{path}: {c:?}"));
        for (class, n) in c["classes"].as_object().unwrap() {
            let Some(d) = distinct.get(class) else {
                assert!(
                    class.starts_with("custom."),
                    "{path}: {class} not sketched: {c:?} {distinct}"
                );
                continue;
            };
            let (d, n) = (d.as_u64().unwrap(), n.as_u64().unwrap());
            assert!(d >= 1 && d <= n, "{path}: {class} {d} of {n}");
        }
    }
    v
}

/// Asserts that `file show` gives `want` as the classification of `path`.
fn assert_shows(server: &Server, path: &str, want: serde_json::Value) {
    let v = shown(server, path);
    assert_eq!(v["classification"], want, "{path}: {v}");
}

/// The JSON `file show` gives for what `truth` holds.
fn expected(truth: &classify::Counts, formats: &[&str]) -> serde_json::Value {
    let classes: serde_json::Map<String, serde_json::Value> = Class::ALL
        .into_iter()
        .filter(|c| truth.get(*c) > 0)
        .map(|c| (c.as_str().to_owned(), truth.get(c).into()))
        .collect();
    serde_json::json!({ "classes": classes, "formats": formats })
}

fn formats_of(name: &str) -> Vec<&'static str> {
    match name.split('-').nth(1).unwrap() {
        "pain001.xml" => vec!["iso20022:pain.001.001.09"],
        "payroll.ach" => vec!["nacha"],
        "mt103.fin" => vec!["swift_mt103"],
        "statement.bai" => vec!["bai2"],
        "customers.csv" | "payroll.csv" | "vendors.csv" => vec!["account_table"],
        "fedwire.xml" => vec!["iso20022:pacs.008.001.08"],
        "statement.fin" => vec!["swift_mt940"],
        _ => vec![],
    }
}

fn wait_classified(server: &Server, path: &str) -> serde_json::Value {
    // (A 40 MB archive read back after its commit takes seconds of a debug build's time, more
    // on a machine busy with other builds: the wait ends as soon as it is classified.)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = shown(server, path);
        if v["classified"] == true {
            return v;
        }
        assert!(Instant::now() < deadline, "{path} not classified: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Uploads `local` (larger than `min` bytes: more than an upload's scanner keeps) with `sftp`
/// under its name, and asserts that once it is read back after its commit `file show` gives
/// `want`.
fn read_back_shows(
    alice: &support::Client,
    server: &Server,
    local: &std::path::Path,
    min: u64,
    want: serde_json::Value,
) {
    let size = std::fs::metadata(local).unwrap().len();
    assert!(size > min, "{size}");
    let name = local.file_name().unwrap().to_str().unwrap();
    alice.sftp_ok(&format!("put {} /{name}\n", local.display()));
    let v = wait_classified(server, &format!("/{name}"));
    assert_eq!(v["classification"], want, "{v}");
}

/// The labelled corpus's customer extract written to `dir` as `customers.csv`: its truth and
/// its path.
fn customer_extract(dir: &std::path::Path) -> (classify::Counts, std::path::PathBuf) {
    let d = corpus::generate(13, 200_000)
        .into_iter()
        .find(|d| d.name.ends_with("customers.csv"))
        .unwrap();
    let path = dir.join("customers.csv");
    std::fs::write(&path, &d.bytes).unwrap();
    (d.truth, path)
}

/// Runs Python's `script` with `args`; it must succeed.
fn python(script: &str, args: &[&std::path::Path]) {
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}

#[test]
fn uploads_are_classified_as_they_arrive_and_files_stored_before_by_classify_run() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let docs = corpus::generate(21, 600_000);
    // One document of each kind the corpus has.
    const KINDS: usize = 13;
    let mut batch = String::from("mkdir /in\n");
    for d in docs.iter().take(KINDS) {
        std::fs::write(alice.work().join(&d.name), &d.bytes).unwrap();
        batch.push_str(&format!(
            "put {} /in/{}\n",
            alice.work().join(&d.name).display(),
            d.name
        ));
    }
    alice.sftp_ok(&batch);
    let mut kinds = 0;
    for d in docs.iter().take(KINDS) {
        let v = shown(&server, &format!("/in/{}", d.name));
        assert_eq!(v["classified"], true, "{}: {v}", d.name);
        assert_eq!(
            v["classification"],
            expected(&d.truth, &formats_of(&d.name)),
            "{}",
            d.name
        );
        kinds += usize::from(!d.truth.is_empty());
    }
    assert!(kinds >= 8, "the corpus documents hold data classes");
    // US account numbers beside their routing numbers: a NACHA file's entries, a BAI2 file's
    // accounts, a vendor file's named columns, remittance instructions, an ISO 20022 message,
    // SWIFT MT940 statements.
    for kind in [
        "payroll.ach",
        "vendors.csv",
        "remittance.txt",
        "statement.bai",
        "fedwire.xml",
        "statement.fin",
    ] {
        let d = docs
            .iter()
            .take(KINDS)
            .find(|d| d.name.ends_with(kind))
            .unwrap();
        let v = shown(&server, &format!("/in/{}", d.name));
        let n = v["classification"]["classes"]["us_bank_account"].as_u64();
        assert!(n.is_some_and(|n| n > 0), "{}: {v}", d.name);
        assert_eq!(n, Some(d.truth.get(Class::UsBankAccount)), "{}", d.name);
    }
    // The table form names the counts.
    let customers = &docs[0];
    let table = server.ok(&["file", "show", "acme", &format!("/in/{}", customers.name)]);
    assert!(
        table.contains(&format!(
            "card_number {}",
            customers.truth.get(Class::CardNumber)
        )),
        "{table}"
    );
    assert!(table.contains("formats:   account_table"), "{table}");
    // Listings for administrators carry the classes too.
    let listed: Vec<serde_json::Value> = server
        .ok(&["file", "list", "acme", "/in", "--format", "jsonl"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), KINDS);
    let entry = listed
        .iter()
        .find(|e| e["name"] == customers.name.as_str())
        .unwrap();
    assert_eq!(
        entry["classes"]["card_number"].as_u64(),
        Some(customers.truth.get(Class::CardNumber))
    );
    assert!(server.ok(&["file", "list", "acme"]).contains("in/\t"));

    // Files stored without a classification (as before this feature): classify run.
    sqlite(
        &server.data_dir().join("catalog.db"),
        "UPDATE nodes SET classes = NULL WHERE kind = 'file'",
    );
    let v = shown(&server, &format!("/in/{}", customers.name));
    assert_eq!(v["classified"], false);
    let out = server.ok(&["classify", "run", "--format", "jsonl"]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), KINDS, "{out}");
    for d in docs.iter().take(KINDS) {
        let v = shown(&server, &format!("/in/{}", d.name));
        assert_eq!(
            v["classification"],
            expected(&d.truth, &formats_of(&d.name)),
            "{}",
            d.name
        );
    }
    let again = server.ok(&["classify", "run"]);
    assert!(again.contains("0 files classified"), "{again}");
    sqlite(
        &server.data_dir().join("catalog.db"),
        &format!(
            "UPDATE nodes SET classes = NULL WHERE id = {}",
            shown(&server, &format!("/in/{}", customers.name))["id"]
        ),
    );
    let one = server.ok(&["classify", "run"]);
    assert!(one.ends_with("\n1 file classified\n"), "{one}");
    // Piped, no progress; on a terminal each file as it is done, the progress after it.
    let piped = server.admin(&["classify", "run", "--again"]);
    assert!(
        piped.status.success() && piped.stderr.is_empty(),
        "{piped:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout).lines().count(),
        KINDS + 1
    );
    let on_terminal = std::process::Command::new("script")
        .args([
            "-qec",
            &format!(
                "{} --data-dir {} classify run --again",
                support::BIN,
                server.data_dir().display()
            ),
        ])
        .arg("/dev/null")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        on_terminal.status.success()
            && said.contains(&format!("classified 1/{KINDS} files"))
            && said.contains(&format!("classified {KINDS}/{KINDS} files"))
            && said.contains(&format!("{KINDS} files classified")),
        "{said}"
    );
    // Printed as done: the first file before the last is classified (not all at the end).
    let first_row = said.find("acme:/").unwrap();
    assert!(
        first_row < said.find(&format!("classified {KINDS}/{KINDS}")).unwrap(),
        "{said}"
    );

    // A tenant key rotation re-seals classifications with the names.
    server.ok(&["tenant", "rotate-key", "acme"]);
    let v = shown(&server, &format!("/in/{}", customers.name));
    assert_eq!(
        v["classification"],
        expected(&customers.truth, &["account_table"])
    );

    // Replaced contents: the new contents' classes.
    std::fs::write(alice.work().join("plain.txt"), "nothing sensitive here\n").unwrap();
    alice.sftp_ok(&format!(
        "put {} /in/{}\n",
        alice.work().join("plain.txt").display(),
        customers.name
    ));
    let v = shown(&server, &format!("/in/{}", customers.name));
    assert_eq!(
        v["classification"],
        expected(&classify::Counts::default(), &[])
    );
    server.assert_ledger_verifies();
}

/// A gzip file of 200,000 members of a line each (a card number): each member's start draws
/// 8 KiB on the file's budget of 1 GiB, so 131,072 of them are read and the file says it was
/// read in part; before, every member was inflated (a core's minutes for a few hundred MB of
/// such members), its lines all counted. A gzip file of a few large members (`cat a.gz b.gz`)
/// reads whole.
#[test]
fn a_file_of_many_tiny_streams_is_read_to_its_budget() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let line = alice.work().join("line.txt");
    std::fs::write(&line, "card 4111 1111 1111 1111\n").unwrap();
    let member = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(&line)
        .output()
        .unwrap();
    assert!(member.status.success());
    let many = alice.work().join("many.txt.gz");
    std::fs::write(&many, member.stdout.repeat(200_000)).unwrap();
    let few = alice.work().join("few.txt.gz");
    std::fs::write(&few, member.stdout.repeat(3)).unwrap();
    alice.sftp_ok(&format!(
        "put {} /many.txt.gz\nput {} /few.txt.gz\n",
        many.display(),
        few.display()
    ));
    let v = shown(&server, "/many.txt.gz");
    assert_eq!(
        v["classification"]["classes"]["card_number"], 131_072,
        "{v}"
    );
    let formats = v["classification"]["formats"].to_string();
    assert!(formats.contains("\"scanned_in_part\""), "{v}");
    let v = shown(&server, "/few.txt.gz");
    assert_eq!(v["classification"]["classes"]["card_number"], 3, "{v}");
    assert!(
        !v["classification"]["formats"]
            .to_string()
            .contains("scanned_in_part"),
        "{v}"
    );
}

/// A customer extract compressed with `gzip` (as files often travel) is classified as its
/// contents: `file show` gives the extract's counts and formats and says `gzip`; one broken off
/// in the middle says `scanned_in_part`. A ZIP archive of it and a note, and a `.tar.gz` of
/// them, a `.tar.bz2`, a `.tar.zst` and a `.tar.xz`: their counts together (and the extract
/// alone as a `.csv.xz`: its own). A ZIP archive of it and a picture: its counts, read in part.
#[test]
fn compressed_uploads_are_classified_as_their_contents() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let docs = corpus::generate(13, 200_000);
    let d = docs
        .iter()
        .find(|d| d.name.ends_with("customers.csv"))
        .unwrap();
    let plain = alice.work().join(&d.name);
    std::fs::write(&plain, &d.bytes).unwrap();
    let status = std::process::Command::new("gzip")
        .args(["-k", "-9"])
        .arg(&plain)
        .status()
        .unwrap();
    assert!(status.success());
    let gz = alice.work().join(format!("{}.gz", d.name));
    let bytes = std::fs::read(&gz).unwrap();
    let cut = alice.work().join("cut.csv.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    alice.sftp_ok(&format!(
        "put {} /extract.csv.gz\nput {} /cut.csv.gz\n",
        gz.display(),
        cut.display()
    ));
    assert_shows(
        &server,
        "/extract.csv.gz",
        expected(&d.truth, &["account_table", "gzip"]),
    );
    let v = shown(&server, "/cut.csv.gz");
    let formats = v["classification"]["formats"].to_string();
    assert!(formats.contains("\"scanned_in_part\""), "{v}");
    let cards = v["classification"]["classes"]["card_number"]
        .as_u64()
        .unwrap();
    assert!(cards > 0 && cards < d.truth.get(Class::CardNumber), "{v}");
    let table = server.ok(&["file", "show", "acme", "/extract.csv.gz"]);
    assert!(table.contains("gzip"), "{table}");

    // A ZIP archive (Python's zipfile: the extract deflated, a note stored): its entries'
    // classes together, `zip` beside their formats.
    let zip = alice.work().join("batch.zip");
    let note = alice.work().join("note.txt");
    std::fs::write(&note, "Wire to ABA 021000021 acct 12345678 today.\n").unwrap();
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
             \x20   z.write(sys.argv[2], 'extract/customers.csv', zipfile.ZIP_DEFLATED)\n\
             \x20   z.write(sys.argv[3], 'note.txt', zipfile.ZIP_STORED)\n",
        )
        .arg(&zip)
        .arg(&plain)
        .arg(&note)
        .status()
        .unwrap();
    assert!(status.success());
    alice.sftp_ok(&format!("put {} /batch.zip\n", zip.display()));
    let v = shown(&server, "/batch.zip");
    let mut truth = d.truth;
    truth.add(Class::AbaRouting, 1);
    truth.add(Class::UsBankAccount, 1);
    assert_eq!(
        v["classification"],
        expected(&truth, &["account_table", "zip"]),
        "{v}"
    );

    // The same two files as a compressed tar archive (GNU tar, as a nightly job bundles
    // them): their classes together, `tar` and `gzip` beside their formats.
    let bundle = alice.work().join("bundle");
    std::fs::create_dir_all(bundle.join("extract")).unwrap();
    std::fs::copy(&plain, bundle.join("extract/customers.csv")).unwrap();
    std::fs::copy(&note, bundle.join("note.txt")).unwrap();
    // GNU tar of the bundle, its output through `compressor`.
    let tar_through = |compressor: &str, out: &std::path::Path| {
        let status = std::process::Command::new("tar")
            .arg("-I")
            .arg(compressor)
            .arg("-cf")
            .arg(out)
            .arg("-C")
            .arg(&bundle)
            .args(["extract", "note.txt"])
            .status()
            .unwrap();
        assert!(status.success(), "tar through {compressor}");
    };
    let tgz = alice.work().join("batch.tar.gz");
    tar_through("gzip", &tgz);
    // And a ZIP archive of the extract beside a picture, whose classes are unknown: the
    // extract's count, and the archive says it was read in part.
    let picture = alice.work().join("logo.png");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    std::fs::write(&picture, &png).unwrap();
    let with_picture = alice.work().join("with-picture.zip");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n\
             \x20   z.write(sys.argv[2], 'customers.csv')\n\
             \x20   z.write(sys.argv[3], 'logo.png')\n",
        )
        .arg(&with_picture)
        .arg(&plain)
        .arg(&picture)
        .status()
        .unwrap();
    assert!(status.success());
    // And as a bzip2-compressed tar archive (Python's tarfile, pax headers).
    let tbz = alice.work().join("batch.tar.bz2");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, tarfile\n\
             with tarfile.open(sys.argv[1], 'w:bz2', format=tarfile.PAX_FORMAT) as t:\n\
             \x20   t.add(sys.argv[2], 'extract/customers.csv')\n\
             \x20   t.add(sys.argv[3], 'note.txt')\n",
        )
        .arg(&tbz)
        .arg(&plain)
        .arg(&note)
        .status()
        .unwrap();
    assert!(status.success());
    // And as a zstd-compressed tar archive (GNU tar calling `zstd -19`, a window of 8 MiB).
    let tzst = alice.work().join("batch.tar.zst");
    tar_through("zstd -19", &tzst);
    // And as an xz-compressed tar archive (GNU tar calling `xz -9`: a dictionary of 64 MiB,
    // more than an upload's scanner may hold while it streams, so read back after the commit)
    // and the extract alone compressed by `xz` (its default, `-6`: 8 MiB, scanned as it comes).
    let txz = alice.work().join("batch.tar.xz");
    tar_through("xz -9", &txz);
    let status = std::process::Command::new("xz")
        .arg("-k")
        .arg(&plain)
        .status()
        .unwrap();
    assert!(status.success());
    let xz = alice.work().join(format!("{}.xz", d.name));
    alice.sftp_ok(&format!(
        "put {} /batch.tar.gz\nput {} /batch.tar.bz2\nput {} /with-picture.zip\nput {} /batch.tar.zst\nput {} /batch.tar.xz\nput {} /extract.csv.xz\n",
        tgz.display(),
        tbz.display(),
        with_picture.display(),
        tzst.display(),
        txz.display(),
        xz.display()
    ));
    assert_shows(
        &server,
        "/extract.csv.xz",
        expected(&d.truth, &["account_table", "xz"]),
    );
    let v = wait_classified(&server, "/batch.tar.xz");
    assert_eq!(
        v["classification"],
        expected(&truth, &["account_table", "tar", "xz"]),
        "{v}"
    );
    assert_shows(
        &server,
        "/batch.tar.zst",
        expected(&truth, &["account_table", "tar", "zstd"]),
    );
    assert_shows(
        &server,
        "/batch.tar.gz",
        expected(&truth, &["account_table", "tar", "gzip"]),
    );
    assert_shows(
        &server,
        "/batch.tar.bz2",
        expected(&truth, &["account_table", "tar", "bzip2"]),
    );
    assert_shows(
        &server,
        "/with-picture.zip",
        expected(&d.truth, &["account_table", "zip", "scanned_in_part"]),
    );
    let table = server.ok(&["file", "show", "acme", "/with-picture.zip"]);
    assert!(table.contains("(in the first part scanned)"), "{table}");
    assert!(!table.contains("unknown"), "{table}");
}

/// A mail saved as a file (Python's `email` package, as a client exports one): its extract
/// attached in base64 counts what the extract does, with the addresses of its headers, and
/// `mime` beside the formats; base64 scanned as text would find nothing. In a mailbox (mbox)
/// between two other messages: the same, and the others' addresses, `mbox` beside.
#[test]
fn mail_attachments_count_as_files() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let (mut truth, plain) = customer_extract(&alice.work());
    let mail = alice.work().join("extract.eml");
    python(
        "import sys\nfrom email.message import EmailMessage\n\
             m = EmailMessage()\n\
             m['From'] = 'ops@bank.example'\nm['To'] = 'partner@vendor.example'\n\
             m['Subject'] = 'Monthly extract'\n\
             m.set_content('The extract is attached.')\n\
             m.add_attachment(open(sys.argv[1], 'rb').read(), maintype='text', subtype='csv', \
             filename='customers.csv')\n\
             open(sys.argv[2], 'wb').write(bytes(m))\n",
        &[&plain, &mail],
    );
    // And the same message in a mailbox (Python's `mailbox`, the mbox format Thunderbird and
    // archive exports use) after a note whose body has a line beginning `From ` (escaped) and
    // before a reply: each message read as a file of its own.
    let mailbox = alice.work().join("exported.mbox");
    python(
        "import sys, mailbox\nfrom email.message import EmailMessage\n\
         box = mailbox.mbox(sys.argv[2])\n\
         n = EmailMessage()\n\
         n['From'] = 'ops@bank.example'\nn['Subject'] = 'Note'\n\
         n.set_content('From the desk of operations: nothing to see.')\n\
         box.add(n)\n\
         box.add(open(sys.argv[1], 'rb').read())\n\
         r = EmailMessage()\n\
         r['From'] = 'partner@vendor.example'\nr['Subject'] = 'Re: Monthly extract'\n\
         r.set_content('Received, thanks.')\n\
         box.add(r)\n\
         box.flush()\n",
        &[&mail, &mailbox],
    );
    alice.sftp_ok(&format!(
        "put {} /extract.eml\nput {} /exported.mbox\n",
        mail.display(),
        mailbox.display()
    ));
    truth.add(Class::Email, 2);
    assert_shows(
        &server,
        "/extract.eml",
        expected(&truth, &["account_table", "mime"]),
    );
    // (The note's and the reply's senders are addresses too.)
    truth.add(Class::Email, 2);
    assert_shows(
        &server,
        "/exported.mbox",
        expected(&truth, &["account_table", "mime", "mbox"]),
    );
}

/// Wire instructions in an e-mail written as prose and wrapped at 72 columns (Python's
/// `textwrap`, as mail clients wrap plain text): twelve paragraphs, each a routing number and
/// its account, the line breaks falling inside the sentence at different words (between
/// `routing` and `number`, between the number and `account`). Uploaded with `sftp`, each
/// counts: a sentence wrapped over lines is read as one (before rules 9, 9 routing numbers
/// and 3 accounts of 12), and the message's HTML alternative, the same text, counts nothing
/// twice (before rules 9 a message's text and HTML alternatives were summed).
#[test]
fn wrapped_mail_counts_its_sentences() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mail = alice.work().join("remit.eml");
    python(
        r#"
import sys, textwrap
from email.message import EmailMessage
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
paras = []
for i in range(12):
    pad = "as agreed in our call " * (i % 4)
    paras.append(textwrap.fill(
        "For invoice %d, %splease remit the amount due by wire to our operating account held "
        "at First Example Bank, ABA routing number %s, account number %d. Thank you for your "
        "business." % (1000 + i, pad, routing[i % 6], 4000000 + 37 * i), width=72))
m = EmailMessage()
m["From"] = "ap@vendor.example"
m["To"] = "payments@acme.example"
m["Subject"] = "Remittance details"
m.set_content("Dear partner,\n\n" + "\n\n".join(paras) + "\n\nAccounts payable\n")
m.add_alternative("<html><body><p>Dear partner,</p>"
                  + "".join("<p>%s</p>" % p.replace("\n", " ") for p in paras)
                  + "<p>Accounts payable</p></body></html>", subtype="html")
open(sys.argv[1], "wb").write(bytes(m))
"#,
        &[&mail],
    );
    alice.sftp_ok(&format!("put {} /remit.eml\n", mail.display()));
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 12);
    truth.add(Class::UsBankAccount, 12);
    truth.add(Class::Email, 2);
    // The same text as HTML beside it (as mail clients send it): counted once.
    assert_shows(&server, "/remit.eml", expected(&truth, &["mime"]));
}

/// A wire request form as a bank's web front end prints one (headless Chromium, which sets
/// `Beneficiary` with its `fi` ligature): each field's label alone above its value (six
/// beneficiaries' routing and account numbers), then a note whose sentence wraps at the
/// paragraph's width between `routing` and `number`. Uploaded with `sftp`, the page and its
/// PDF count alike: a label alone names the value below it, a ligature reads as its letters,
/// a wrapped sentence is one (before rules 9 the PDF counted its 7 routing numbers and none
/// of their accounts).
#[test]
fn a_printed_wire_form_counts_its_fields() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    let (page, pdf) = (
        work.join("wire-request.html"),
        work.join("wire-request.pdf"),
    );
    python(
        r#"
import sys
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
fields = ""
for i in range(6):
    fields += ("<section><div class=l>Beneficiary</div><div>Vendor %d LLC</div>"
               "<div class=l>Beneficiary bank ABA routing number</div><div>%s</div>"
               "<div class=l>Beneficiary account number</div><div>%d</div></section>"
               % (i, routing[i], 5000000 + 91 * i))
note = ("<p style='width: 26em'>Please send the payment by wire to our bank. Our bank details "
        "for all invoices of this quarter: routing number 011000015, account number 99887766, "
        "First Example Bank.</p>")
open(sys.argv[1], "w").write(
    "<!doctype html><html><head><style>body { font: 11pt sans-serif } "
    ".l { font-weight: bold; margin-top: 6px } section { margin-bottom: 14px }</style></head>"
    "<body><h1>Outgoing wire request</h1>" + fields + note + "</body></html>")
"#,
        &[&page],
    );
    print_to_pdf(&page, &pdf);
    alice.sftp_ok(&format!(
        "put {} /wire-request.html\nput {} /wire-request.pdf\n",
        page.display(),
        pdf.display()
    ));
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 7);
    truth.add(Class::UsBankAccount, 7);
    assert_shows(&server, "/wire-request.html", expected(&truth, &["html"]));
    assert_shows(&server, "/wire-request.pdf", expected(&truth, &["pdf"]));
}

/// PDF documents as banks produce them, from the labelled corpus's customer extract: the list
/// printed to PDF by a browser (headless Chromium: a table whose cells are placed one by one,
/// in embedded subset fonts whose codes are read through their maps to characters) and a
/// report drawn by ReportLab (standard fonts, pages in ASCII85 and deflate); the list joined
/// after a printed cover letter whose fonts have the same names (qpdf, as a statement run is
/// bundled) and rewritten with its objects in object streams (qpdf). `file show` gives the
/// extract's true counts for each, and says `pdf`; a PDF protected by a password (ReportLab's
/// RC4, qpdf's AES-256) is named encrypted, its classes unknown; one encrypted with an owner
/// password only (anyone can open it) is read decrypted and counts the extract's rows.
#[test]
fn pdf_documents_count_the_text_their_pages_show() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let (truth, plain) = customer_extract(&alice.work());
    let work = alice.work();
    let (page, printed, report, locked) = (
        work.join("customers.html"),
        work.join("printed.pdf"),
        work.join("report.pdf"),
        work.join("locked.pdf"),
    );
    python(
        "import sys, csv, html\n\
         from reportlab.pdfgen import canvas\n\
         from reportlab.pdfbase.pdfmetrics import stringWidth\n\
         rows = list(csv.reader(open(sys.argv[1], newline='')))\n\
         cells = ''.join('<tr>' + ''.join('<td>%s</td>' % html.escape(c) for c in r) + '</tr>' \
             for r in rows)\n\
         open(sys.argv[2], 'w').write('<!doctype html><html><head><style>' \
             '@page { size: A3 landscape } body { font: 8pt sans-serif } ' \
             'td { white-space: nowrap; padding: 0 6px }</style></head><body>' \
             '<h1>Customer list</h1><table>' + cells + '</table></body></html>')\n\
         widths = [max(stringWidth(r[i], 'Helvetica', 7) for r in rows) + 12 \
             for i in range(len(rows[0]))]\n\
         for path, key in ((sys.argv[3], None), (sys.argv[4], 'secret')):\n\
         \x20   c = canvas.Canvas(path, pagesize=(sum(widths) + 72, 842), encrypt=key)\n\
         \x20   c.setFont('Helvetica-Bold', 12)\n\
         \x20   c.drawString(36, 806, 'Customer list')\n\
         \x20   y = 780\n\
         \x20   for r in rows:\n\
         \x20       c.setFont('Helvetica', 7)\n\
         \x20       x = 36\n\
         \x20       for w, cell in zip(widths, r):\n\
         \x20           c.drawString(x, y, cell)\n\
         \x20           x += w\n\
         \x20       y -= 10\n\
         \x20       if y < 36:\n\
         \x20           c.showPage()\n\
         \x20           y = 806\n\
         \x20   c.save()\n",
        &[&plain, &page, &report, &locked],
    );
    // A cover letter printed too: its fonts are other subsets under the same names.
    let (cover_page, cover) = (work.join("cover.html"), work.join("cover.pdf"));
    std::fs::write(
        &cover_page,
        "<!doctype html><html><body><h1>Statement run</h1><p>Dear customer, <b>your \
         statements</b> follow.</p></body></html>",
    )
    .unwrap();
    print_to_pdf(&page, &printed);
    print_to_pdf(&cover_page, &cover);
    // qpdf: the cover and the list joined (as a statement run is bundled), the list with its
    // objects in object streams, the report encrypted with AES-256 with a user password and
    // with an owner password only (printing and copying restricted: anyone can open it).
    let (joined, compact, aes, open) = (
        work.join("joined.pdf"),
        work.join("compact.pdf"),
        work.join("aes.pdf"),
        work.join("open.pdf"),
    );
    for args in [
        vec![
            "--empty",
            "--pages",
            path(&cover),
            path(&printed),
            "--",
            path(&joined),
        ],
        vec!["--object-streams=generate", path(&printed), path(&compact)],
        vec![
            "--encrypt",
            "user",
            "owner",
            "256",
            "--",
            path(&report),
            path(&aes),
        ],
        vec![
            "--encrypt",
            "",
            "owner",
            "256",
            "--print=none",
            "--",
            path(&report),
            path(&open),
        ],
    ] {
        let out = std::process::Command::new("qpdf")
            .args(&args)
            .output()
            .expect("qpdf (Debian package qpdf) is needed");
        assert!(out.status.success(), "qpdf {args:?}: {out:?}");
    }
    let mut puts = String::new();
    for file in [&printed, &report, &locked, &joined, &compact, &aes, &open] {
        puts += &format!(
            "put {} /{}\n",
            file.display(),
            file.file_name().unwrap().to_str().unwrap()
        );
    }
    alice.sftp_ok(&puts);
    assert!(truth.get(Class::CardNumber) > 0 && truth.get(Class::UsSsn) > 0);
    // Each a table under the page's heading: its header names its columns.
    for name in ["/printed.pdf", "/report.pdf", "/joined.pdf", "/compact.pdf"] {
        let v = shown(&server, name);
        assert_eq!(
            v["classification"],
            expected(&truth, &["account_table", "pdf"]),
            "{name}: {v}"
        );
    }
    for name in ["/locked.pdf", "/aes.pdf"] {
        let v = shown(&server, name);
        assert_eq!(
            v["classification"],
            serde_json::json!({ "classes": {}, "formats": ["binary", "encrypted:pdf", "pdf"] }),
            "{name}: {v}"
        );
        let table = server.ok(&["file", "show", "acme", name]);
        assert!(table.contains("unknown (encrypted: pdf)"), "{table}");
    }
    // Encrypted with no password to open it: read as anyone opening it would, not counted
    // as protected.
    let v = shown(&server, "/open.pdf");
    assert_eq!(
        v["classification"],
        expected(&truth, &["account_table", "pdf"]),
        "{v}"
    );
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Prints `page` to the PDF `out` with headless Chromium (Debian's).
fn print_to_pdf(page: &std::path::Path, out: &std::path::Path) {
    let profile = tempfile::tempdir().unwrap();
    let run = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (Debian package chromium) is needed");
    assert!(run.status.success() && out.exists(), "{run:?}");
}

/// A letter of wire instructions in labelled lines, its account under its routing number's.
const WIRE_LETTER: [&str; 4] = [
    "Wire instructions",
    "ABA routing number: 021000021",
    "Account number: 12345678",
    "Beneficiary SSN: 219-09-9998",
];

/// Word documents as a bank's staff write them (python-docx): the corpus's customer extract as
/// a table under a heading, and a letter of wire instructions in labelled lines. `file show`
/// gives the extract's truth, and the letter counts what its text counts (the account under its
/// routing number's line: read as XML, the document's one long line, it was not), `docx`
/// beside `zip`; the same documents as Word 97-2003 files (LibreOffice Writer's), `doc`.
#[test]
fn word_documents_count_what_their_text_counts() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let (truth, plain) = customer_extract(&alice.work());
    let (table, letter) = (
        alice.work().join("customers.docx"),
        alice.work().join("wire.docx"),
    );
    let lines = WIRE_LETTER;
    python(
        "import sys, csv, docx\n\
         rows = list(csv.reader(open(sys.argv[1], newline='')))\n\
         d = docx.Document()\n\
         d.add_heading('Customer list', 1)\n\
         t = d.add_table(rows=len(rows), cols=len(rows[0]))\n\
         for i, r in enumerate(rows):\n\
         \x20   for j, c in enumerate(r):\n\
         \x20       t.cell(i, j).text = c\n\
         d.save(sys.argv[2])\n\
         d = docx.Document()\n\
         for line in sys.argv[4].split('|'):\n\
         \x20   d.add_paragraph(line)\n\
         d.save(sys.argv[3])\n",
        &[
            &plain,
            &table,
            &letter,
            std::path::Path::new(&lines.join("|")),
        ],
    );
    alice.sftp_ok(&format!(
        "put {} /customers.docx\nput {} /wire.docx\n",
        table.display(),
        letter.display()
    ));
    // The table under its heading: its header row names its columns.
    assert_shows(
        &server,
        "/customers.docx",
        expected(&truth, &["account_table", "docx", "zip"]),
    );
    let text = classify::classify((lines.join("\n") + "\n").as_bytes());
    assert_eq!(text.counts.get(Class::UsBankAccount), 1);
    assert_shows(
        &server,
        "/wire.docx",
        expected(&text.counts, &["docx", "zip"]),
    );
    // The same two documents saved by LibreOffice Writer 7.4 as Word 97-2003 (`.doc`, kept
    // beside the classifier's tests: the suite does not install Writer).
    let producers =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../classify/tests/producers/word");
    alice.sftp_ok(&format!(
        "put {} /customers.doc\nput {} /wire.doc\n",
        producers.join("customers.doc").display(),
        producers.join("wire.doc").display()
    ));
    let v = shown(&server, "/customers.doc");
    assert_eq!(
        v["classification"],
        expected(&truth, &["account_table", "doc"]),
        "{v}"
    );
    let v = shown(&server, "/wire.doc");
    assert_eq!(v["classification"], expected(&text.counts, &["doc"]), "{v}");
}

/// Documents as web pages and OpenDocument texts, as a bank's staff and report tools write
/// them: the customer extract as an HTML table under a title (Python), and as an OpenDocument
/// text's table under a heading with a letter of wire instructions beside it (odfpy); then
/// LibreOffice 7.4's saves kept beside the classifier's tests (Calc's page of the extract, each
/// number also in an attribute; Calc's page and flat spreadsheet of a vendor master file,
/// routing and account numbers in the columns its header names; Writer's remittance letter as
/// an OpenDocument text, a flat one, a page and an RTF document; Writer's RTF of the extract as
/// a Word table). `file show` gives each document's truth: an HTML page was read as its markup
/// (a table's header named nothing, Calc's numbers counted twice), an OpenDocument text as a
/// spreadsheet's tables (`ods`, its letter's lines one line), an RTF document as text whose
/// control words stood between a letter's lines.
#[test]
fn web_pages_and_opendocument_texts_count_what_they_show() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    let (truth, plain) = customer_extract(&work);
    let (page, odt) = (work.join("customers.html"), work.join("letters.odt"));
    let lines = WIRE_LETTER;
    python(
        "import sys, csv, html\n\
         from odf.opendocument import OpenDocumentText\n\
         from odf.text import H, P\n\
         from odf.table import Table, TableRow, TableCell\n\
         rows = list(csv.reader(open(sys.argv[1], newline='')))\n\
         with open(sys.argv[2], 'w') as f:\n\
         \x20   f.write('<!DOCTYPE html>\\n<html><head><title>Customers</title>'\n\
         \x20           '<style>td { padding: 2px }</style></head><body>\\n<h1>Customer list</h1>\\n<table>\\n')\n\
         \x20   for i, r in enumerate(rows):\n\
         \x20       cell = 'th' if i == 0 else 'td'\n\
         \x20       f.write('<tr>' + ''.join('<%s>%s</%s>' % (cell, html.escape(c), cell) for c in r) + '</tr>\\n')\n\
         \x20   f.write('</table>\\n</body></html>\\n')\n\
         d = OpenDocumentText()\n\
         d.text.addElement(H(outlinelevel=1, text='Customer list'))\n\
         t = Table(name='Customers')\n\
         for r in rows:\n\
         \x20   tr = TableRow()\n\
         \x20   for c in r:\n\
         \x20       tc = TableCell()\n\
         \x20       tc.addElement(P(text=c))\n\
         \x20       tr.addElement(tc)\n\
         \x20   t.addElement(tr)\n\
         d.text.addElement(t)\n\
         for line in sys.argv[4].split('|'):\n\
         \x20   d.text.addElement(P(text=line))\n\
         d.save(sys.argv[3])\n",
        &[&plain, &page, &odt, std::path::Path::new(&lines.join("|"))],
    );
    alice.sftp_ok(&format!(
        "put {} /customers.html\nput {} /letters.odt\n",
        page.display(),
        odt.display()
    ));
    assert_shows(
        &server,
        "/customers.html",
        expected(&truth, &["account_table", "html"]),
    );
    // The table and the letter after it: what both hold (the table ends at the letter's first
    // paragraph, whose lines are read as a letter's).
    let mut both = truth;
    for (class, n) in classify::classify((lines.join("\n") + "\n").as_bytes())
        .counts
        .present()
    {
        both.add(class, n);
    }
    assert_eq!(both.get(Class::UsBankAccount), 1);
    assert_shows(
        &server,
        "/letters.odt",
        expected(&both, &["account_table", "odt", "zip"]),
    );
    let producers = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../classify/tests/producers/libreoffice");
    let truth_of = |name: &str| {
        corpus::generate(13, 400_000)
            .into_iter()
            .find(|d| d.name.ends_with(name))
            .unwrap()
            .truth
    };
    let (vendors, remittance) = (truth_of("vendors.csv"), truth_of("remittance.txt"));
    let uploads = [
        ("calc-customers.html", truth, vec!["account_table", "html"]),
        ("calc-vendors.html", vendors, vec!["account_table", "html"]),
        ("calc-vendors.fods.xz", vendors, vec!["ods", "xz"]),
        ("writer-remittance.odt", remittance, vec!["odt", "zip"]),
        ("writer-remittance.fodt.xz", remittance, vec!["odt", "xz"]),
        ("writer-remittance.html", remittance, vec!["html"]),
        ("writer-remittance.rtf", remittance, vec!["rtf"]),
        (
            "writer-customers.rtf.xz",
            truth,
            vec!["account_table", "rtf", "xz"],
        ),
    ];
    let puts: String = uploads
        .iter()
        .map(|(name, _, _)| format!("put {} /{name}\n", producers.join(name).display()))
        .collect();
    alice.sftp_ok(&puts);
    for (name, want, formats) in uploads {
        assert!(!want.is_empty(), "{name}");
        assert_shows(&server, &format!("/{name}"), expected(&want, &formats));
    }
}

/// A presentation as a bank's staff make one (python-pptx): a slide titled over the customer
/// extract as a table, and a slide of wire instructions in a text box whose notes repeat them.
/// `file show` gives the extract's truth and the letter's counts twice (slide and notes),
/// `pptx` beside `zip`: read as markup before, the table's header named nothing.
#[test]
fn presentations_count_what_their_slides_show() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let (truth, plain) = customer_extract(&alice.work());
    let deck = alice.work().join("review.pptx");
    python(
        "import sys, csv\n\
         from pptx import Presentation\n\
         from pptx.util import Inches\n\
         rows = list(csv.reader(open(sys.argv[1], newline='')))\n\
         p = Presentation()\n\
         s = p.slides.add_slide(p.slide_layouts[5])\n\
         s.shapes.title.text = 'Customer list'\n\
         t = s.shapes.add_table(len(rows), len(rows[0]), Inches(0.2), Inches(1.2), Inches(9.6), Inches(5)).table\n\
         for i, r in enumerate(rows):\n\
         \x20   for j, c in enumerate(r):\n\
         \x20       t.cell(i, j).text = c\n\
         s = p.slides.add_slide(p.slide_layouts[6])\n\
         box = s.shapes.add_textbox(Inches(1), Inches(1), Inches(8), Inches(3)).text_frame\n\
         lines = sys.argv[3].split('|')\n\
         box.text = lines[0]\n\
         for line in lines[1:]:\n\
         \x20   box.add_paragraph().text = line\n\
         s.notes_slide.notes_text_frame.text = '\\n'.join(lines)\n\
         p.save(sys.argv[2])\n",
        &[&plain, &deck, std::path::Path::new(&WIRE_LETTER.join("|"))],
    );
    alice.sftp_ok(&format!("put {} /review.pptx\n", deck.display()));
    let mut all = truth;
    let letter = classify::classify((WIRE_LETTER.join("\n") + "\n").as_bytes()).counts;
    assert_eq!(letter.get(Class::UsBankAccount), 1);
    for _ in 0..2 {
        for (class, n) in letter.present() {
            all.add(class, n);
        }
    }
    assert_shows(
        &server,
        "/review.pptx",
        expected(&all, &["account_table", "pptx", "zip"]),
    );
}

/// A mainframe's customer extract in EBCDIC (code page 037, as a data set sent in binary keeps
/// it), with line ends and as fixed-length records without them: `file show` gives the
/// extract's counts, as for its ASCII, and says `ebcdic`.
#[test]
fn mainframe_ebcdic_extracts_count_as_their_text() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let (truth, plain) = customer_extract(&alice.work());
    let (lines, records) = (
        alice.work().join("lines.ebc"),
        alice.work().join("records.ebc"),
    );
    python(
        "import sys\n\
         text = open(sys.argv[1], encoding='utf-8').read()\n\
         open(sys.argv[2], 'wb').write(text.encode('cp037'))\n\
         rows = text.splitlines()\n\
         width = max(len(r) for r in rows) + 2\n\
         open(sys.argv[3], 'wb').write(''.join(r.ljust(width) for r in rows).encode('cp037'))\n",
        &[&plain, &lines, &records],
    );
    alice.sftp_ok(&format!(
        "put {} /lines.ebc\nput {} /records.ebc\n",
        lines.display(),
        records.display()
    ));
    for name in ["/lines.ebc", "/records.ebc"] {
        let v = shown(&server, name);
        assert_eq!(
            v["classification"],
            expected(&truth, &["account_table", "ebcdic"]),
            "{name}: {v}"
        );
    }
}

/// Files encrypted as banks send them (GnuPG, symmetric and in armor; S/MIME's CMS by
/// OpenSSL; a workbook, a ZIP, 7-Zip or RAR archive protected by a password) are neither scanned nor `none
/// found`: `file show` says their classes are unknown and names the encryption, and the
/// incident report of the account that read them counts them as encrypted (exposed only with
/// their key), beside a plain extract whose classes count; a tar archive of the extract and its
/// OpenPGP copy counts the extract and names the encryption of the rest.
#[test]
fn encrypted_uploads_are_named_and_counted_apart() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    let (truth, plain) = customer_extract(&work);
    let home = work.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    for (out, armor) in [("extract.csv.gpg", false), ("extract.csv.asc", true)] {
        let mut gpg = std::process::Command::new("gpg");
        gpg.env("GNUPGHOME", &home)
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "secret",
            ])
            .args(["--symmetric", "--output"])
            .arg(work.join(out));
        if armor {
            gpg.arg("--armor");
        }
        let status = gpg.arg(&plain).status().unwrap();
        assert!(status.success(), "gpg {out}");
    }
    let key = work.join("recipient.key");
    let cert = work.join("recipient.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=recipient", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let status = std::process::Command::new("openssl")
        .args(["cms", "-encrypt", "-outform", "DER", "-in"])
        .arg(&plain)
        .arg("-out")
        .arg(work.join("extract.p7m"))
        .arg(&cert)
        .status()
        .unwrap();
    assert!(status.success());
    // A workbook protected by a password, as Excel stores one (msoffcrypto-tool writes the
    // same: a compound file of EncryptionInfo and EncryptedPackage).
    let book = workbook(&work, "xlsxwriter");
    python(
        "import sys\nfrom msoffcrypto.format.ooxml import OOXMLFile\n\
         with open(sys.argv[1], 'rb') as i, open(sys.argv[2], 'wb') as o:\n\
         \x20   OOXMLFile(i).encrypt('secret', o)\n",
        &[&book, &work.join("locked.xlsx")],
    );
    // A ZIP archive of the extract locked by a password (Info-ZIP's `zip -P`), and a tar
    // archive of the extract beside its OpenPGP copy (what was read counts, and the archive
    // says what hid the rest).
    let status = std::process::Command::new("zip")
        .args(["-q", "-j", "-P", "secret"])
        .arg(work.join("locked.zip"))
        .arg(&plain)
        .status()
        .expect("zip (Debian package zip) is needed");
    assert!(status.success());
    let status = std::process::Command::new("tar")
        .arg("-cf")
        .arg(work.join("mixed.tar"))
        .arg("-C")
        .arg(&work)
        .args(["customers.csv", "extract.csv.gpg"])
        .status()
        .unwrap();
    assert!(status.success());
    // 7-Zip archives of the extract: with a password (AES; the header compressed, as 7-Zip
    // writes it by default), and without (read: the extract's counts).
    for (out, password) in [("locked.7z", true), ("plain.7z", false)] {
        let mut seven = std::process::Command::new("7zz");
        seven.args(["a", "-bso0", "-bsp0"]);
        if password {
            seven.arg("-psecret");
        }
        let status = seven
            .arg(work.join(out))
            .arg(&plain)
            .status()
            .expect("7zz (Debian package 7zip) is needed");
        assert!(status.success());
    }
    // A RAR 5 archive whose file is encrypted (`rar -p`), its headers as the format's
    // specification lays them out (no RAR writer is free to install): a main header, the file's
    // header with its encryption record and its data, the end.
    python(
        "import sys\n\
         def v(n):\n\
         \x20   out = bytearray()\n\
         \x20   while True:\n\
         \x20       b, n = n & 0x7F, n >> 7\n\
         \x20       out.append(b | (0x80 if n else 0))\n\
         \x20       if not n: return bytes(out)\n\
         def header(kind, fields, extra=b'', data=b''):\n\
         \x20   flags = (1 if extra else 0) | (2 if data else 0)\n\
         \x20   sizes = (v(len(extra)) if extra else b'') + (v(len(data)) if data else b'')\n\
         \x20   body = v(kind) + v(flags) + sizes + fields + extra\n\
         \x20   return bytes(4) + v(len(body)) + body + data\n\
         def record(kind, data):\n\
         \x20   body = v(kind) + data\n\
         \x20   return v(len(body)) + body\n\
         name = b'customers.csv'\n\
         fields = v(0) + v(1000) + v(0x20) + v(0x30) + v(0) + v(len(name)) + name\n\
         extra = record(3, b'\\x02' + bytes(4)) + record(1, bytes(2) + b'\\x0f' + bytes(48))\n\
         out = b'Rar!\\x1a\\x07\\x01\\x00' + header(1, b'\\x00')\n\
         out += header(2, fields, extra, bytes(range(256)) * 4) + header(5, b'\\x00')\n\
         open(sys.argv[1], 'wb').write(out)\n",
        &[&work.join("locked.rar")],
    );
    let names = [
        "extract.csv.gpg",
        "extract.csv.asc",
        "extract.p7m",
        "locked.xlsx",
        "locked.zip",
        "locked.7z",
        "locked.rar",
        "plain.7z",
        "customers.csv",
        "mixed.tar",
    ];
    let mut batch = String::new();
    for name in names {
        batch += &format!("put {} /{name}\n", work.join(name).display());
    }
    alice.sftp_ok(&batch);
    for (name, scheme) in [
        ("extract.csv.gpg", "openpgp"),
        ("extract.csv.asc", "openpgp"),
        ("extract.p7m", "cms"),
        ("locked.xlsx", "office"),
        ("locked.zip", "zip"),
        ("locked.7z", "7z"),
        ("locked.rar", "rar"),
    ] {
        let v = shown(&server, &format!("/{name}"));
        let mut formats = vec!["binary".to_owned(), format!("encrypted:{scheme}")];
        if ["zip", "7z", "rar"].contains(&scheme) {
            formats.push(scheme.into());
        }
        assert_eq!(
            v["classification"],
            serde_json::json!({ "classes": {}, "formats": formats }),
            "{name}: {v}"
        );
        let table = server.ok(&["file", "show", "acme", &format!("/{name}")]);
        assert!(
            table.contains(&format!("unknown (encrypted: {scheme})")),
            "{table}"
        );
    }

    assert_shows(
        &server,
        "/plain.7z",
        expected(&truth, &["account_table", "7z"]),
    );
    assert_shows(
        &server,
        "/mixed.tar",
        expected(
            &truth,
            &[
                "account_table",
                "encrypted:openpgp",
                "tar",
                "scanned_in_part",
            ],
        ),
    );
    let table = server.ok(&["file", "show", "acme", "/mixed.tar"]);
    assert!(
        table.contains("(in the part read; some contents encrypted: openpgp)"),
        "{table}"
    );

    // Alice reads them all: the report counts the encrypted ones apart, the extract's classes
    // count (three times: alone, in the tar archive and in the plain 7-Zip archive).
    let mut gets = String::new();
    for name in names {
        gets += &format!(
            "get /{name} {}\n",
            work.join(format!("got-{name}")).display()
        );
    }
    alice.sftp_ok(&gets);
    // (The reads' closes reach the ledger within moments of the session's end.)
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r: serde_json::Value =
            serde_json::from_str(&server.ok(&["incident", "report", "--user", "alice"])).unwrap();
        let closed = r["totals"]["files_unfinished"] == 0;
        if (r["totals"]["files"] == names.len() && closed) || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(r["totals"]["files"], 10, "{r:#}");
    assert_eq!(r["totals"]["files_classes_unknown"], 8, "{r:#}");
    assert_eq!(r["totals"]["files_encrypted"], 8, "{r:#}");
    assert_eq!(
        r["totals"]["classes"]["card_number"],
        3 * truth.get(Class::CardNumber),
        "{r:#}"
    );
    let csv = server.ok(&["incident", "report", "--user", "alice", "--format", "csv"]);
    assert_eq!(
        csv.matches(",unknown;encrypted:openpgp,").count(),
        2,
        "{csv}"
    );
    assert_eq!(csv.matches(",unknown;encrypted:cms,").count(), 1, "{csv}");
    assert_eq!(
        csv.matches(",unknown;encrypted:office,").count(),
        1,
        "{csv}"
    );
    assert_eq!(csv.matches(",unknown;encrypted:zip,").count(), 1, "{csv}");
    assert_eq!(csv.matches(",unknown;encrypted:7z,").count(), 1, "{csv}");
    assert_eq!(csv.matches(",unknown;encrypted:rar,").count(), 1, "{csv}");
    assert_eq!(
        csv.matches(";scanned_in_part;encrypted:openpgp,").count(),
        1,
        "{csv}"
    );
    let html = server.ok(&["incident", "report", "--user", "alice", "--format", "html"]);
    assert!(html.contains("unknown (encrypted: openpgp)"), "{html}");
    assert!(html.contains("unknown (encrypted: zip)"), "{html}");
    assert!(
        html.contains("(in the part read; some contents encrypted: openpgp)"),
        "{html}"
    );
    assert!(
        html.contains(
            "8 encrypted, or holding encrypted files (OpenPGP, CMS, age, or an Office, PDF, ZIP, 7-Zip or RAR password)"
        ),
        "{html}"
    );
}

/// Python that writes `sheets` (a list of (title, rows)) to `path` with `writer`: `openpyxl`
/// (text inline in the sheet), `xlsxwriter` (in the shared strings after it, as Excel writes
/// them), `sorted` (XlsxWriter's workbook with its parts in their names' order, the shared
/// strings first, as Apache POI and NPOI write them), `pyxlsbwriter` (an Excel binary workbook),
/// `odfpy` (an OpenDocument spreadsheet, as LibreOffice's), `xlwt` (Excel 97-2003). Numbers
/// are written as numbers, the rest as text.
const SHEET_WRITERS: &str = r#"
def write(writer, path, sheets):
    if writer == "openpyxl":
        import openpyxl
        wb = openpyxl.Workbook()
        for n, (title, sheet) in enumerate(sheets):
            ws = wb.active if n == 0 else wb.create_sheet(title)
            for r in sheet:
                ws.append(r)
        wb.save(path)
    elif writer == "xlwt":
        import xlwt
        wb = xlwt.Workbook()
        for title, sheet in sheets:
            ws = wb.add_sheet(title)
            for i, r in enumerate(sheet):
                for j, v in enumerate(r):
                    ws.write(i, j, v)
        wb.save(path)
    elif writer == "pyxlsbwriter":
        from pyxlsbwriter import XlsbWriter
        with XlsbWriter(path) as wb:
            for title, sheet in sheets:
                wb.add_sheet(title)
                wb.write_sheet(sheet)
    elif writer == "odfpy":
        from odf.opendocument import OpenDocumentSpreadsheet
        from odf.table import Table, TableRow, TableCell
        from odf.text import P
        doc = OpenDocumentSpreadsheet()
        for title, sheet in sheets:
            table = Table(name=title)
            for r in sheet:
                tr = TableRow()
                for v in r:
                    if isinstance(v, int):
                        cell = TableCell(valuetype="float", value=v)
                    else:
                        cell = TableCell(valuetype="string")
                    cell.addElement(P(text=str(v)))
                    tr.addElement(cell)
                table.addElement(tr)
            doc.spreadsheet.addElement(table)
        doc.save(path)
    else:
        import xlsxwriter, zipfile
        target = path + ".src" if writer == "sorted" else path
        wb = xlsxwriter.Workbook(target)
        for title, sheet in sheets:
            ws = wb.add_worksheet(title)
            for i, r in enumerate(sheet):
                for j, v in enumerate(r):
                    (ws.write_number if isinstance(v, int) else ws.write_string)(i, j, v)
        wb.close()
        if writer == "sorted":
            # Its parts in their names' order, as Apache POI and NPOI write a package: the
            # shared strings before the sheets.
            src = zipfile.ZipFile(target)
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                for name in sorted(src.namelist()):
                    z.writestr(name, src.read(name))
"#;

/// Writes a customer workbook with Python's `writer` (`openpyxl`: text inline in the sheet;
/// `xlsxwriter`: in the shared strings after it, as Excel writes them; `sorted`: XlsxWriter's
/// workbook with its parts in their names' order, the shared strings first, as Apache POI and
/// NPOI write them; `pyxlsbwriter`: an
/// Excel binary workbook, its text in the shared strings; `odfpy`: an OpenDocument
/// spreadsheet, as LibreOffice's) and returns its path.
/// Its columns: customer, name, SSN (a number: its leading zero lost), routing number (text),
/// account number (text), a reference of nine digits that no heading names, a card number
/// (text: six cards over and over, which a workbook's shared strings hold once each), a BIC
/// (six over and over), a region code shaped as a BIC that no heading names, an e-mail address
/// (three over and over: shared strings hold each once, and each cell counts). Of its 24 rows,
/// every fourth has an SSN of area 666, a routing number whose checksum fails, a card number
/// whose Luhn digit does and a BIC of no country. A second sheet is a wire form of labels and
/// values: one routing number, its account on the next row, one SSN, one BIC (and a branch code
/// its label does not name a BIC).
fn workbook(dir: &std::path::Path, writer: &str) -> std::path::PathBuf {
    let path = dir.join(format!("customers-{writer}"));
    let script = r#"
import sys
writer, path = sys.argv[1], sys.argv[2]
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881",
         "6011111111111117", "3530111333300000"]
bics = ["CHASUS33", "DEUTDEFFXXX", "BNPAFRPP", "NWBKGB2L", "COBADEFF", "BARCGB22"]
rows = [["Customer", "Name", "SSN", "Routing Number", "Account Number", "Reference", "Card",
         "SWIFT BIC", "Region", "Email"]]
for i in range(24):
    near = i % 4 == 3
    ssn = int(("666" if near else "%03d" % (12 + i)) + "%02d%04d" % (10 + i, 1000 + i))
    aba = "021000022" if near else routing[i % len(routing)]
    card = "4111111111111112" if near else cards[i % len(cards)]
    bic = "CHASZZ33" if near else bics[i % len(bics)]
    rows.append([1000 + i, "Customer %d" % i, ssn, aba, "%010d" % (4000000 + i), "111000025", card,
                 bic, "EASTUSNY", ["ann@bank.example", "bob@bank.example", "cy@bank.example"][i % 3]])
form = [["Beneficiary", "ACME Corp"], ["ABA Routing", "026009593"],
        ["Account Number", "000123456789"], ["Reference", "121000358"], ["SSN", 234567890],
        ["SWIFT", "CHASUS33"], ["Branch", "WESTUSCA"]]
sheets = [("Customers", rows), ("Wire", form)]
write(writer, path, sheets)
"#;
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("{SHEET_WRITERS}{script}"))
        .arg(writer)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "{writer}");
    path
}

/// XLSX workbooks (ZIP archives of SpreadsheetML) and an OpenDocument spreadsheet uploaded
/// with `sftp`: the SSNs, routing
/// numbers, US bank accounts, card numbers and BICs of columns whose headings name them count, each
/// cell once (a card number repeated in the shared strings too), whether the sheet
/// holds the text or the shared strings do, and those a label in the cell before names; the
/// nine-digit references under a heading or label that names nothing, and the near misses, do
/// not. The same as an Excel 97-2003 workbook (`.xls`, written by `xlwt`) and as an Excel
/// binary workbook (`.xlsb`, by `pyxlsbwriter`) counts the same, and so does a workbook whose
/// shared strings come before its sheets. A ZIP archive of them all counts what they do
/// together.
#[test]
fn workbooks_count_by_their_columns_headings() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut truth = classify::Counts::default();
    truth.add(Class::CardNumber, 18);
    truth.add(Class::UsSsn, 18 + 1);
    truth.add(Class::AbaRouting, 18 + 1);
    truth.add(Class::UsBankAccount, 18 + 1);
    truth.add(Class::SwiftBic, 18 + 1);
    truth.add(Class::Email, 24);
    let mut paths = Vec::new();
    for (writer, ext) in [
        ("openpyxl", "xlsx"),
        ("xlsxwriter", "xlsx"),
        ("sorted", "xlsx"),
        ("pyxlsbwriter", "xlsb"),
        ("odfpy", "ods"),
        ("xlwt", "xls"),
    ] {
        let path = workbook(&alice.work(), writer);
        alice.sftp_ok(&format!("put {} /{writer}.{ext}\n", path.display()));
        let v = shown(&server, &format!("/{writer}.{ext}"));
        // An Excel 97-2003 workbook is no ZIP archive: its streams are a compound file's.
        let formats: &[&str] = if ext == "xls" { &[ext] } else { &[ext, "zip"] };
        assert_eq!(
            v["classification"],
            expected(&truth, formats),
            "{writer}: {v}"
        );
        paths.push((path, format!("{writer}.{ext}")));
    }
    let table = server.ok(&["file", "show", "acme", "/xlsxwriter.xlsx"]);
    assert!(table.contains("us_ssn") && table.contains("19"), "{table}");

    // All in one ZIP archive, as a month's reports are sent: each workbook read as
    // it is alone, their counts together.
    let reports = alice.work().join("reports.zip");
    let mut script = String::from(
        "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n",
    );
    for (path, name) in &paths {
        script += &format!("    z.write({:?}, {name:?})\n", path.display().to_string());
    }
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .arg(&reports)
        .status()
        .unwrap();
    assert!(status.success());
    alice.sftp_ok(&format!("put {} /reports.zip\n", reports.display()));
    let mut all = classify::Counts::default();
    for class in Class::ALL {
        all.add(class, paths.len() as u64 * truth.get(class));
    }
    assert_shows(
        &server,
        "/reports.zip",
        expected(&all, &["zip", "xls", "xlsx", "xlsb", "ods"]),
    );
}

/// Workbooks without a heading row, as a query's output is saved to Excel (a customer id, a
/// name, the routing number as text, the account number as a number, an amount), written by
/// openpyxl (text in the sheet), XlsxWriter (text in the shared strings) and odfpy
/// (OpenDocument), uploaded with `sftp`: the routing numbers count by their column's
/// checksums, as a headerless CSV's do, with the accounts in the column after them. Every
/// tenth routing number fails its checksum (27 of 30 count). A sheet of the same rows under
/// headings that name nothing (`Reference`) counts nothing. Before rules 12 the headerless
/// workbooks counted nothing either.
#[test]
fn workbooks_without_headings_count_their_routing_columns() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let script = r#"
import sys
writer, path, headings = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
rows = [["Id", "Customer", "Reference", "Amount", "Date"]] if headings else []
for i in range(30):
    aba = "021000022" if i % 10 == 9 else routing[i % len(routing)]
    rows.append([1000 + i, "Customer %d" % i, aba, 4000000 + 7919 * i, "2026-12-05"])
write(writer, path, [("Export", rows)])
"#;
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 27);
    truth.add(Class::UsBankAccount, 27);
    for (writer, ext) in [
        ("openpyxl", "xlsx"),
        ("xlsxwriter", "xlsx"),
        ("odfpy", "ods"),
    ] {
        for headings in [false, true] {
            let name = format!("export-{writer}-{}.{ext}", u8::from(headings));
            let path = alice.work().join(&name);
            let status = std::process::Command::new("python3")
                .arg("-c")
                .arg(format!("{SHEET_WRITERS}{script}"))
                .arg(writer)
                .arg(&path)
                .arg(if headings { "1" } else { "0" })
                .status()
                .unwrap();
            assert!(status.success(), "{writer}");
            alice.sftp_ok(&format!("put {} /{name}\n", path.display()));
            let want = if headings {
                classify::Counts::default()
            } else {
                truth
            };
            assert_shows(&server, &format!("/{name}"), expected(&want, &[ext, "zip"]));
        }
    }
}

/// Parquet files as a data warehouse exports them (written by pyarrow): the customer extract
/// of the workbooks' test (its SSNs as text, one of them null) with snappy and data pages of
/// version 1, with zstd, pages of version 2 and no dictionary, uploaded with `sftp`: its rows
/// count by their columns' names as the workbook's do (the near misses and the references
/// under a name that names nothing do not). A 51 MB export of four row groups, larger than
/// an upload's scanner keeps: read back after its commit where its footer says its row
/// groups are, all of them count.
#[test]
fn parquet_exports_count_their_rows() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    python(
        r#"
import sys, os
import pyarrow as pa, pyarrow.parquet as pq
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881",
         "6011111111111117", "3530111333300000"]
bics = ["CHASUS33", "DEUTDEFFXXX", "BNPAFRPP", "NWBKGB2L", "COBADEFF", "BARCGB22"]
rows = {k: [] for k in ["customer", "name", "ssn", "routing_number", "account_number",
                        "reference", "card", "swift_bic", "region", "email"]}
for i in range(24):
    near = i % 4 == 3
    rows["customer"].append(1000 + i)
    rows["name"].append("Customer %d" % i)
    ssn = ("666" if near else "%03d" % (12 + i)) + "%02d%04d" % (10 + i, 1000 + i)
    rows["ssn"].append(None if i == 5 else ssn)
    rows["routing_number"].append("021000022" if near else routing[i % 6])
    rows["account_number"].append("%010d" % (4000000 + i))
    rows["reference"].append("111000025")
    rows["card"].append("4111111111111112" if near else cards[i % 6])
    rows["swift_bic"].append("CHASZZ33" if near else bics[i % 6])
    rows["region"].append("EASTUSNY")
    rows["email"].append(["ann@bank.example", "bob@bank.example", "cy@bank.example"][i % 3])
table = pa.table(rows)
pq.write_table(table, sys.argv[1], compression="snappy", row_group_size=10)
pq.write_table(table, sys.argv[2], compression="zstd", data_page_version="2.0",
               use_dictionary=False)
n = 100000
big = pa.table({"email": ["c%d@bank.example" % i for i in range(4 * n)],
                "blob": [os.urandom(50).hex() for _ in range(4 * n)]})
pq.write_table(big, sys.argv[3], compression="none", use_dictionary=False, row_group_size=n)
"#,
        &[
            &work.join("customers.parquet"),
            &work.join("customers-zstd.parquet"),
            &work.join("big.parquet"),
        ],
    );
    let mut truth = classify::Counts::default();
    truth.add(Class::CardNumber, 18);
    truth.add(Class::UsSsn, 17);
    truth.add(Class::AbaRouting, 18);
    truth.add(Class::UsBankAccount, 18);
    truth.add(Class::SwiftBic, 18);
    truth.add(Class::Email, 24);
    for name in ["customers.parquet", "customers-zstd.parquet"] {
        alice.sftp_ok(&format!("put {} /{name}\n", work.join(name).display()));
        assert_shows(
            &server,
            &format!("/{name}"),
            expected(&truth, &["account_table", "parquet"]),
        );
    }
    // Larger than a stream's scanner keeps: read back after its commit, at the places its
    // footer names, all four row groups.
    let mut truth = classify::Counts::default();
    truth.add(Class::Email, 400_000);
    let big = work.join("big.parquet");
    read_back_shows(
        &alice,
        &server,
        &big,
        48 << 20,
        expected(&truth, &["parquet"]),
    );
}

/// A 7-Zip archive larger than a stream keeps (a month's extract and 80 MB of logs, by
/// `7zz`), uploaded with `sftp`: read back after its commit at the places its header names,
/// its folder's packed stream a piece at a time, its files count (as it streamed, such an
/// archive was `binary, 7z`: only its first 32 MiB and the bytes about its header were kept).
#[test]
fn a_large_7zip_archive_counts_its_files() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    let (truth, extract) = customer_extract(&work);
    python(
        r#"
import sys, os
with open(sys.argv[1], "w") as f:
    for i in range(1000000):
        f.write("%s event %d\n" % (os.urandom(32).hex(), i))
"#,
        &[&work.join("events.log")],
    );
    let archive = work.join("month.7z");
    let status = std::process::Command::new("7zz")
        .args(["a", "-bso0", "-bsp0", "-mx1"])
        .arg(&archive)
        .arg(&extract)
        .arg(work.join("events.log"))
        .status()
        .expect("7zz (Debian package 7zip) is needed");
    assert!(status.success());
    let want = expected(&truth, &["account_table", "7z"]);
    read_back_shows(&alice, &server, &archive, 32 << 20, want);
}

/// Avro files as BigQuery exports a table and Kafka Connect's sinks write them (by fastavro,
/// deflate-compressed in blocks of about 2 KB): the customer records' fields name their values
/// (a nested record's by its path, `holder.ssn`), uploaded with `sftp`.
#[test]
fn avro_exports_count_their_records() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    python(
        r#"
import sys
from fastavro import writer, parse_schema
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
schema = parse_schema({"type": "record", "name": "Payee", "fields": [
    {"name": "id", "type": "long"},
    {"name": "routing_number", "type": "string"},
    {"name": "account_number", "type": "string"},
    {"name": "reference", "type": "string"},
    {"name": "holder", "type": ["null", {"type": "record", "name": "Holder", "fields": [
        {"name": "name", "type": "string"}, {"name": "ssn", "type": ["null", "string"]}]}]},
    {"name": "emails", "type": {"type": "array", "items": "string"}}]})
records = [{"id": i, "routing_number": "021000022" if i % 5 == 4 else routing[i % 6],
            "account_number": "%010d" % (7000000 + i), "reference": "111000025",
            "holder": None if i == 3 else {"name": "Holder %d" % i,
                                           "ssn": ("666" if i % 4 == 1 else "%03d" % (100 + i)) + "%02d%04d" % (10 + i, 1000 + i)},
            "emails": ["p%d@bank.example" % i, "q%d@bank.example" % i]} for i in range(40)]
with open(sys.argv[1], "wb") as out:
    writer(out, schema, records, codec="deflate", sync_interval=2000)
"#,
        &[&work.join("payees.avro")],
    );
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 32);
    truth.add(Class::UsBankAccount, 32);
    // Forty holders but one, a quarter of them near misses (area 666).
    truth.add(Class::UsSsn, 39 - 10);
    truth.add(Class::Email, 80);
    alice.sftp_ok(&format!(
        "put {} /payees.avro\n",
        work.join("payees.avro").display()
    ));
    assert_shows(
        &server,
        "/payees.avro",
        expected(&truth, &["account_table", "avro"]),
    );
}

/// Database dumps as DBAs move them, and a database itself: SQLite's `.dump` (by the `sqlite3`
/// shell: an `INSERT` per row, no column list: the columns from its `CREATE TABLE`) and the
/// database file it dumps (written by Python's sqlite3), the same rows as a dBase table (by the
/// `dbf` package, Visual FoxPro's form), and PostgreSQL's `pg_dump` (its
/// plain form of `COPY` blocks, gzip-compressed as it travels; `--column-inserts`; its custom
/// format, `-Fc`, the form backups take: a table of contents, then each table's rows
/// zlib-compressed; its directory format, `-Fd`, tarred, the tables' files before the table of
/// contents), uploaded
/// with `sftp`: each table's rows count by their columns' names (before, a dump counted only
/// its e-mail addresses: none of its SSNs, routing numbers and accounts); the near misses, a
/// null SSN and the payments' references under a name that names nothing do not. A query's
/// rows written out by `sqlite3` without a header (comma- and tab-separated) count their
/// routing numbers by the column's checksums, with the accounts after them.
#[test]
fn database_dumps_count_their_tables_rows() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../classify/tests/sql");
    python(
        r#"
import sys, sqlite3, gzip, shutil
db = sqlite3.connect(sys.argv[1])
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881",
         "6011111111111117", "3530111333300000"]
db.execute('CREATE TABLE customers (id integer PRIMARY KEY, name text, "SSN" char(9), routing_number char(9), account_number text, card text, email text, note text)')
db.execute("CREATE TABLE payments (id integer, amount numeric(12,2), reference text, memo text)")
for i in range(24):
    near = i % 4 == 3
    ssn = None if i == 5 else ("666" if near else "%03d" % (12 + i)) + "%02d%04d" % (10 + i, 1000 + i)
    db.execute("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (1000 + i, "Customer %d" % i, ssn, "021000022" if near else routing[i % 6],
                "%010d" % (4000000 + i), "4111111111111112" if near else cards[i % 6],
                "c%d@bank.example" % i, "O'Brien,\tline\nnext"))
for i in range(10):
    db.execute("INSERT INTO payments VALUES (?, ?, ?, ?)", (i, 100 + i, "111000025", "invoice %d" % i))
db.commit()
# A database larger than an upload's scanner keeps: 300,000 contacts.
big = sqlite3.connect(sys.argv[5])
big.execute("CREATE TABLE contacts (id integer PRIMARY KEY, email text, note text)")
big.executemany("INSERT INTO contacts VALUES (?, ?, ?)",
                (("%d" % i, "c%d@bank.example" % i, "x" * 100) for i in range(300000)))
big.commit()
with open(sys.argv[2], "rb") as f, gzip.open(sys.argv[3], "wb") as g:
    shutil.copyfileobj(f, g)
# The customers as a dBase table (Visual FoxPro's), as older core systems export them.
import dbf
t = dbf.Table(sys.argv[4], "customer I; name C(20); ssn C(9); routing_no C(9); account_no C(10); card C(16); email C(24)", dbf_type="vfp")
t.open(mode=dbf.READ_WRITE)
for row in db.execute("SELECT id, name, coalesce(SSN, ''), routing_number, account_number, card, email FROM customers"):
    t.append(row)
t.close()
"#,
        &[
            &work.join("bank.db"),
            &fixtures.join("pg_dump-copy.sql"),
            &work.join("pg_dump.sql.gz"),
            &work.join("customers.dbf"),
            &work.join("big.db"),
        ],
    );
    let dump = std::process::Command::new("sqlite3")
        .arg(work.join("bank.db"))
        .arg(".dump")
        .output()
        .expect("sqlite3 (Debian package sqlite3) is needed");
    assert!(dump.status.success());
    assert!(
        String::from_utf8_lossy(&dump.stdout).contains("INSERT INTO customers VALUES(1000,"),
        "{}",
        String::from_utf8_lossy(&dump.stdout)
    );
    std::fs::write(work.join("sqlite.sql"), &dump.stdout).unwrap();
    for name in [
        "pg_dump-column-inserts.sql",
        "pg_dump-custom.dump",
        "pg_dump-dir.tar",
    ] {
        std::fs::copy(fixtures.join(name), work.join(name)).unwrap();
    }
    let mut truth = classify::Counts::default();
    truth.add(Class::CardNumber, 18);
    truth.add(Class::AbaRouting, 18);
    truth.add(Class::UsBankAccount, 18);
    truth.add(Class::UsSsn, 17);
    truth.add(Class::Email, 24);
    for (name, formats) in [
        ("sqlite.sql", &["account_table", "sql"][..]),
        ("pg_dump.sql.gz", &["account_table", "sql", "gzip"][..]),
        ("pg_dump-column-inserts.sql", &["account_table", "sql"][..]),
        ("pg_dump-custom.dump", &["account_table", "pg_dump"][..]),
        ("pg_dump-dir.tar", &["account_table", "gzip", "tar"][..]),
        ("bank.db", &["account_table", "sqlite"][..]),
        ("customers.dbf", &["account_table", "dbf"][..]),
    ] {
        alice.sftp_ok(&format!("put {} /{name}\n", work.join(name).display()));
        assert_shows(&server, &format!("/{name}"), expected(&truth, formats));
    }
    // The customers written out without a header, as `sqlite3 -csv` and its list mode with
    // tabs write a query's rows (a database's extract, as `COPY … TO` without `HEADER`):
    // nothing names a column, each is weighed by its checksums.
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 18);
    truth.add(Class::UsBankAccount, 18);
    truth.add(Class::Email, 18);
    let query = "SELECT id, name, routing_number, account_number, email FROM customers \
                 WHERE id % 4 != 3";
    for (name, mode) in [
        ("extract.csv", &["-csv"][..]),
        ("extract.tsv", &["-separator", "\t"]),
    ] {
        let out = std::process::Command::new("sqlite3")
            .args(mode)
            .arg(work.join("bank.db"))
            .arg(query)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("1000"), "no header: {text}");
        assert_eq!(text.lines().count(), 18, "{text}");
        std::fs::write(work.join(name), &out.stdout).unwrap();
        alice.sftp_ok(&format!("put {} /{name}\n", work.join(name).display()));
        assert_shows(&server, &format!("/{name}"), expected(&truth, &[]));
    }
    // Larger than a stream keeps: read back after its commit, page by page, all of it.
    let mut truth = classify::Counts::default();
    truth.add(Class::Email, 300_000);
    let big = work.join("big.db");
    read_back_shows(
        &alice,
        &server,
        &big,
        32 << 20,
        expected(&truth, &["sqlite"]),
    );
}

/// An X9 image cash letter as a bank's capture system sends the Federal Reserve one (written
/// by Python's `cp037` codec: EBCDIC, each record after its four-byte length, each check's
/// images after its detail; and the same records in ASCII, one per line, without images):
/// forty checks, each a payor bank's routing number and the writer's account in its on-us
/// field, its addendum the bank of first deposit and the depositor's account. Every fifth
/// payor routing number fails its checksum (it and its account count nothing); the images'
/// bytes, which hold numbers, are not read. Before, the file was `binary`.
#[test]
fn image_cash_letters_count_their_checks() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    python(
        r#"
import sys, struct
def rec(s, n=80):
    return s.ljust(n).encode("ascii")
records = [rec("0103T0610001460260731502026120509 11NBANK OF DEPOSIT   FED"),
           rec("100106100014602607315020261205202612050911IG74753"),
           rec("2001061000146026073150202612052026120574753")]
routing = ["021000021", "011000015", "026009593", "121000248", "322271627"]
images = []
for i in range(40):
    r = "021000022" if i % 5 == 4 else routing[i % 5]
    on_us = "%d-%06d/%04d" % (1211 + i, 100 + i, 1000 + i)
    records.append(rec("25" + " " * 15 + " " + r + on_us.rjust(20) + "%010d" % (12500 + i) + ("%d" % i).rjust(15) + "G01Y"))
    records.append(rec("261026073150202612051" + ("%d" % i).rjust(14) + ("%010d" % (4000000 + i)).ljust(18) + "00029TEST PAYEE     Y20"))
    images.append(len(records))
    records.append(rec("50102026120500000000000000000"))
    records.append(rec("52026073150202612050000000000000001", 117) + b"II*\x00" + b"021000021 12345678 " * 200)
records += [rec("70000100000000000000000000000040"), rec("9000000100000040"), rec("9900000001000000010000004000")]
with open(sys.argv[1], "wb") as f:
    for r in records:
        if r[:2] in (b"52",):
            body = r[:117].decode("ascii").encode("cp037") + r[117:]
        else:
            body = r.decode("ascii").encode("cp037")
        f.write(struct.pack(">I", len(body)) + body)
with open(sys.argv[2], "wb") as f:
    for r in records:
        if r[:2] not in (b"50", b"52"):
            f.write(r + b"\r\n")
"#,
        &[&work.join("deposit.x937"), &work.join("deposit.icl")],
    );
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 32 + 40);
    truth.add(Class::UsBankAccount, 32 + 40);
    for name in ["deposit.x937", "deposit.icl"] {
        alice.sftp_ok(&format!("put {} /{name}\n", work.join(name).display()));
        assert_shows(&server, &format!("/{name}"), expected(&truth, &["x9_37"]));
    }
}

/// A day's Fedwire customer transfers as a bank's wire room archives them (FAIM's tagged
/// format, a message per line, written by Python): each names the sender's and receiver's
/// routing numbers, the beneficiary's bank by its routing number (`F`), the beneficiary's and
/// the originator's accounts (`D`) and the originator's bank by its BIC (`B`). Every fourth
/// receiver's routing number fails its checksum. Before, the file counted nothing: no word
/// names a number there.
#[test]
fn fedwire_messages_count_their_parties() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    python(
        r#"
import sys
with open(sys.argv[1], "w") as f:
    for i in range(30):
        receiver = "021000022" if i % 4 == 3 else "021000021"
        f.write("{1500}30MSG%05dP {1510}1000{1520}20261205QMGFT015%06d{2000}000001234567"
                "{3100}121000248WELLS SF*{3400}%sJPMCHASE NYC*{3600}CTR*"
                "{4100}F026009593*CITIBANK NA*{4200}D%d*JOHN DOE*123 MAIN ST*"
                "{5000}D1211-%06d*ACME CORP*{5100}BCHASUS33*JPMORGAN*{6000}INVOICE %d*\n"
                % (i, i, receiver, 40000000 + i, i, i))
"#,
        &[&work.join("wires-20261205.txt")],
    );
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 30 * 3 - 7);
    truth.add(Class::UsBankAccount, 60);
    truth.add(Class::SwiftBic, 30);
    alice.sftp_ok(&format!(
        "put {} /wires-20261205.txt\n",
        work.join("wires-20261205.txt").display()
    ));
    assert_shows(
        &server,
        "/wires-20261205.txt",
        expected(&truth, &["fedwire"]),
    );
}

/// X12 EDI interchanges as a corporate's ERP sends its bank a batch of payment orders (820):
/// forty transaction sets, each a payment from the payer's account to a payee's (`BPR`: a
/// routing number after the qualifier `01`, its account after `DA`) and the payee's name with
/// its SSN (`N1`, qualifier `34`). Every fifth payee's routing number fails its checksum (it
/// and its account count nothing), every fourth SSN is of area 666, and a member's identifier
/// of nine digits (`MI`) is none. Uploaded with `sftp` with a line end after each segment and
/// as one line with other separators, each counts what its qualifiers name.
#[test]
fn edi_interchanges_count_what_their_qualifiers_name() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let work = alice.work();
    python(
        r#"
import sys
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
def interchange(e, t, nl):
    segs = ["ISA*00*          *00*          *ZZ*ACMECORP       *ZZ*FIRSTBANK      *261205*1200*U*00401*000000101*0*P*>"]
    segs.append("GS*RA*ACMECORP*FIRSTBANK*20261205*1200*101*X*004010")
    for i in range(40):
        payee = "021000022" if i % 5 == 4 else routing[i % 6]
        ssn = ("666" if i % 4 == 3 else "%03d" % (100 + i)) + "%02d%04d" % (10 + i, 1000 + i)
        segs += ["ST*820*%04d" % i,
                 "BPR*C*%d.00*C*ACH*CCP*01*%s*DA*%09d*1234567890**01*%s*DA*%010d*20261207"
                 % (100 + i, routing[(i + 1) % 6], 300000000 + i, payee, 7000000 + i),
                 "TRN*1*PAY%05d" % i, "N1*PR*ACME CORPORATION", "N1*PE*PAYEE %d*34*%s" % (i, ssn),
                 "NM1*QC*1*ROE*RICHARD****MI*456789012", "RMR*IV*INV-%d**%d.00" % (i, 100 + i),
                 "SE*7*%04d" % i]
    segs += ["GE*40*101", "IEA*1*000000101"]
    text = (t + nl).join(segs) + t + nl
    return text.replace("*", e)
open(sys.argv[1], "w").write(interchange("*", "~", "\n"))
open(sys.argv[2], "w").write(interchange("|", "'", ""))
"#,
        &[
            &work.join("payments.820"),
            &work.join("payments-one-line.edi"),
        ],
    );
    let mut truth = classify::Counts::default();
    truth.add(Class::AbaRouting, 40 + 32);
    truth.add(Class::UsBankAccount, 40 + 32);
    truth.add(Class::UsSsn, 30);
    for name in ["payments.820", "payments-one-line.edi"] {
        alice.sftp_ok(&format!("put {} /{name}\n", work.join(name).display()));
        assert_shows(&server, &format!("/{name}"), expected(&truth, &["x12:820"]));
    }
}

/// US account numbers where files put them beside their routing numbers in shapes other than
/// the bank formats (a payroll system's payees in XML laid out with indentation, a payments
/// API's JSON log, tickets with deposit details typed as labelled lines), card numbers in a
/// terminal log's magnetic stripe tracks, a spreadsheet's export in UTF-16 (and a database's
/// without a byte order mark, as `bcp -w` writes it), and an Excel-style
/// customer workbook (title block, shared strings, a wire form sheet), a core system's payee
/// extract delimited by pipes, tabs or semicolons with commas in its fields (its accounts'
/// column headed `A/C NO` in one), a headerless one under a report's title, a quoted export whose
/// routing numbers lost their leading zero to a spreadsheet. Uploaded with
/// `sftp`, `file show` gives the counts a person reading them would give.
#[test]
fn field_shaped_files_are_counted_as_a_person_reading_them_would() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let docs = classify::field_corpus::generate(7, 1_000_000);
    let mut batch = String::new();
    let mut picked: Vec<&classify::corpus::Document> = Vec::new();
    for kind in [
        "payees.xml",
        "api-log.jsonl",
        "tickets.txt",
        "terminal.log",
        "unicode-export.txt",
        "bcp-export.txt",
        "customers.xlsx",
        "extract.txt",
        "export.tsv",
        "export.csv",
    ] {
        // The extracts' first few: a headerless one under a report's title among the first
        // four, the second headed extract's account column `A/C NO`, the second quoted
        // export's routing numbers without their leading zero, the second payees' bank accounts
        // of generic element names (`<Routing>`, `<Number>` in `<BankAccount>`).
        let take = match kind {
            "export.tsv" => 4,
            "extract.txt" | "export.csv" | "payees.xml" => 2,
            _ => 1,
        };
        for d in docs.iter().filter(|d| d.name.ends_with(kind)).take(take) {
            std::fs::write(alice.work().join(&d.name), &d.bytes).unwrap();
            batch.push_str(&format!(
                "put {} /{}\n",
                alice.work().join(&d.name).display(),
                d.name
            ));
            picked.push(d);
        }
    }
    let shape = |prefix: &[u8], needle: &[u8]| {
        picked.iter().any(|d| {
            d.bytes.starts_with(prefix) && d.bytes.windows(needle.len()).any(|w| w == needle)
        })
    };
    assert!(
        shape(b"Payee payments, run", b"\"1000\""),
        "no headerless table under a title"
    );
    assert!(shape(b"PAYEE MASTER", b"A/C NO"), "no A/C NO column");
    let zero_dropped = |d: &&classify::corpus::Document| {
        d.name.ends_with("export.csv")
            && d.bytes
                .split(|&c| c == b',')
                .any(|f| f.len() == 10 && f[0] == b'"' && f[9] == b'"')
    };
    assert!(
        picked.iter().any(zero_dropped),
        "no routing number without its zero"
    );
    assert!(shape(b"<?xml", b"<Number>"), "no generic element names");
    alice.sftp_ok(&batch);
    for d in picked {
        let v = shown(&server, &format!("/{}", d.name));
        let classes = &v["classification"]["classes"];
        let of_interest = if d.name.ends_with("terminal.log") {
            vec![Class::CardNumber]
        } else if d.name.ends_with("unicode-export.txt") || d.name.ends_with("bcp-export.txt") {
            vec![Class::CardNumber, Class::Iban, Class::Email]
        } else if d.name.ends_with("export.csv") {
            vec![Class::CardNumber, Class::Iban, Class::AbaRouting]
        } else if d.name.ends_with("customers.xlsx") {
            vec![
                Class::CardNumber,
                Class::AbaRouting,
                Class::UsBankAccount,
                Class::UsSsn,
                Class::Email,
            ]
        } else {
            vec![Class::AbaRouting, Class::UsBankAccount]
        };
        for class in of_interest {
            let n = classes[class.as_str()].as_u64();
            assert!(n.is_some_and(|n| n > 0), "{}: {v}", d.name);
            assert_eq!(n, Some(d.truth.get(class)), "{} {}", d.name, class.as_str());
        }
    }
}

/// Writes `parts` ((offset, bytes) in this order, 4 KiB at a time) to a new file and closes it.
fn upload(raw: &mut Raw, path: &str, parts: &[(usize, &[u8])]) {
    let h = raw.open(
        1,
        path,
        OpenFlags::WRITE | OpenFlags::CREAT | OpenFlags::TRUNC,
    );
    let mut id = 2;
    for (offset, part) in parts {
        for (k, chunk) in part.chunks(4096).enumerate() {
            let reply = raw.write(id, &h, (offset + k * 4096) as u64, chunk);
            assert_eq!(reply.status().0, sftp_proto::StatusCode::OK);
            id += 1;
        }
    }
    raw.call(id, RequestOp::Close { handle: h });
}

#[test]
fn uploads_written_out_of_order_or_overwritten_are_classified_too() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let doc = support::customer_extracts(3, 100_000).next().unwrap();
    assert!(doc.bytes.len() > 16 << 10, "several writes");
    let want = expected(&doc.truth, &["account_table"]);
    let mut raw = Raw::connect(&alice);
    let half = doc.bytes.len() / 2;

    // The second half first, then the first: held back and scanned in order at once.
    upload(
        &mut raw,
        "/reordered.csv",
        &[(half, &doc.bytes[half..]), (0, &doc.bytes[..half])],
    );
    let v = shown(&server, "/reordered.csv");
    assert_eq!(v["classified"], true, "{v}");
    assert_eq!(v["classification"], want);

    // Written whole, then its beginning written again: read back after the commit.
    upload(
        &mut raw,
        "/rewritten.csv",
        &[(0, &doc.bytes[..]), (0, &doc.bytes[..4096])],
    );
    let v = wait_classified(&server, "/rewritten.csv");
    assert_eq!(v["classification"], want);
}

/// A client may name a file with control characters (OpenSSH's server accepts any byte but
/// `/` and NUL): an administrator's listing shows them as escapes, never a forged row, terminal
/// escape sequence or reversed text; the JSON lines keep the name exact.
#[test]
fn names_with_control_characters_are_shown_as_escapes() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    let mut raw = Raw::connect(&alice);
    let name = "evil\u{1b}[2J\u{1b}]0;owned\u{7}\nforged.csv\t99\tnone found\u{202e}vsc.exe";
    upload(&mut raw, &format!("/{name}"), &[(0, b"x")]);
    upload(&mut raw, "/plain.csv", &[(0, b"y")]);
    drop(raw);

    let table = server.ok(&["file", "list", "acme", "/"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table:?}");
    assert!(
        lines[1].starts_with("plain.csv\t"),
        "in name order: {table:?}"
    );
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{202e}'),
        "{table:?}"
    );
    assert!(
        lines.contains(
            &r"evil\u{1b}[2J\u{1b}]0;owned\u{7}\nforged.csv\t99\tnone found\u{202e}vsc.exe	1	none found"
        ),
        "{table:?}"
    );
    let jsonl = server.ok(&["file", "list", "acme", "/", "--format", "jsonl"]);
    let names: Vec<String> = jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(names.iter().any(|n| n == name), "{names:?}");
    let run = server.ok(&["classify", "run", "--tenant", "acme", "--again"]);
    assert!(
        !run.contains('\u{1b}') && run.contains(r"evil\u{1b}[2J"),
        "{run:?}"
    );
}

#[test]
fn a_tenant_pattern_is_counted_in_new_uploads_and_by_classify_run() {
    let server = Server::start();
    let alice = server.account("acme", "alice", "full");
    std::fs::write(
        alice.work().join("refs.csv"),
        "ref,amount\nCUST-00000001,10\nCUST-12345678,20\nCUST-1234,30\n",
    )
    .unwrap();
    alice.sftp_ok("put refs.csv /before.csv\n");
    // Refused with a clear message; nothing stored.
    let bad = server.admin(&["classify", "pattern", "add", "acme", "custref", "CUST-[0-9"]);
    assert!(!bad.status.success());
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(e.contains("not a valid regular expression"), "{e}");
    let empty = server.admin(&["classify", "pattern", "add", "acme", "any", "x*"]);
    assert!(String::from_utf8_lossy(&empty.stderr).contains("matches the empty string"));
    assert_eq!(server.ok(&["classify", "pattern", "list", "acme"]), "");

    server.ok(&[
        "classify",
        "pattern",
        "add",
        "acme",
        "custref",
        "CUST-[0-9]{8}",
    ]);
    assert!(
        server
            .ok(&["classify", "pattern", "list", "acme"])
            .contains("custref\tCUST-[0-9]{8}")
    );
    // A new session's upload counts it.
    alice.sftp_ok("put refs.csv /after.csv\n");
    let v = shown(&server, "/after.csv");
    assert_eq!(v["classification"]["classes"]["custom.custref"], 2, "{v}");
    // A workbook whose references are shared strings, as Excel keeps them (three references
    // in nine rows): each cell counts, as each row of a delimited file does.
    let book = alice.work().join("refs.xlsx");
    python(
        r#"
import sys, xlsxwriter
wb = xlsxwriter.Workbook(sys.argv[1])
ws = wb.add_worksheet()
ws.write_row(0, 0, ["Reference", "Amount"])
for i in range(9):
    ws.write_row(i + 1, 0, ["CUST-%08d" % (i % 3), 10 * i])
ws.write_row(10, 0, ["CUST-1234", 5])
wb.close()
"#,
        &[&book],
    );
    alice.sftp_ok(&format!("put {} /refs.xlsx\n", book.display()));
    let v = shown(&server, "/refs.xlsx");
    assert_eq!(v["classification"]["classes"]["custom.custref"], 9, "{v}");
    // Stored before: counted once classified again.
    assert!(shown(&server, "/before.csv")["classification"]["classes"]["custom.custref"].is_null());
    server.ok(&["classify", "run", "--tenant", "acme", "--again"]);
    assert_eq!(
        shown(&server, "/before.csv")["classification"]["classes"]["custom.custref"],
        2
    );
    server.ok(&["classify", "pattern", "remove", "acme", "custref"]);
    assert_eq!(server.ok(&["classify", "pattern", "list", "acme"]), "");
}

/// A large text upload is scanned beside its transfer (past its first MiB, in batches by a task
/// of its own) and its classes are complete and exact when the put returns; with one scanning
/// thread configured, so two of them in one session share it.
#[test]
fn a_large_text_upload_is_classified_exactly_by_the_time_it_is_stored() {
    let server =
        Server::start_with_config("[limits]\nauth_rejection_ms = 100\nclassify_threads = 1\n");
    let alice = server.account("acme", "alice", "full");
    let extract = support::customer_extracts(5, 100_000).next().unwrap();
    let text = String::from_utf8(extract.bytes.clone()).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let copies = 300;
    let mut big = format!("{header}\n");
    for _ in 0..copies {
        big.push_str(rows);
    }
    assert!(big.len() > 4 << 20, "{} bytes", big.len());
    std::fs::write(alice.work().join("big.csv"), &big).unwrap();
    alice.sftp_ok("put big.csv /big.csv\nput big.csv /again.csv\n");
    for path in ["/big.csv", "/again.csv"] {
        let v = shown(&server, path);
        assert_eq!(v["classified"], true, "{v}");
        for c in [Class::CardNumber, Class::Iban, Class::UsSsn, Class::Email] {
            assert_eq!(
                v["classification"]["classes"][c.as_str()].as_u64(),
                Some(extract.truth.get(c) * copies),
                "{c:?}: {v}"
            );
        }
    }
}
