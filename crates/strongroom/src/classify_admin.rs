//! `strongroom file show`, `strongroom classify run` and `strongroom incident report`: what
//! classification found in a stored file, classifying the files stored before it existed, and
//! what a selection of sessions read and changed. Printing only; the work is in
//! `service::admin` and `service::incident`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use classify::Summary;
use events::Time;
use service::incident::FileAsked;

use crate::UsageError;
use crate::cli::{
    ClassifyCommand, FileCommand, IncidentCommand, ListFormat, PatternCommand, ReportFormat,
    ShowFormat,
};
use crate::printable::printable;

/// `card_number 12, iban 3` (or `none found`; `unknown (not text)` for contents the scanner
/// cannot read, `unknown (encrypted: openpgp)` for encrypted ones; `… (in the first part
/// scanned)` for compressed contents scanned in part, `… (in the part read; some contents
/// encrypted: zip)` for an archive with encrypted entries).
fn counts_text(c: &Summary) -> String {
    let encryption = c.formats.iter().find_map(|f| match f {
        classify::Format::Encrypted(scheme) => Some(scheme),
        _ => None,
    });
    if c.formats.contains(&classify::Format::Binary) {
        return match encryption {
            Some(scheme) => format!("unknown (encrypted: {scheme})"),
            None => "unknown (not text)".into(),
        };
    }
    let items: Vec<String> = c
        .counts
        .present()
        .map(|(class, n)| format!("{} {n}", class.as_str()))
        .chain(c.custom.iter().map(|(k, n)| format!("custom.{k} {n}")))
        .collect();
    let found = if items.is_empty() {
        "none found".into()
    } else {
        items.join(", ")
    };
    if let Some(scheme) = encryption {
        format!("{found} (in the part read; some contents encrypted: {scheme})")
    } else if c.formats.contains(&classify::Format::ScannedInPart) {
        format!("{found} (in the first part scanned)")
    } else {
        found
    }
}

fn classes_json(c: &Summary) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = c
        .counts
        .present()
        .map(|(class, n)| (class.as_str().to_owned(), n.into()))
        .chain(
            c.custom
                .iter()
                .map(|(k, n)| (format!("custom.{k}"), (*n).into())),
        )
        .collect();
    let distinct: serde_json::Map<String, serde_json::Value> = c
        .distinct
        .iter()
        .map(|(class, n)| (class.as_str().to_owned(), (*n).into()))
        .collect();
    serde_json::json!({
        "classes": counts,
        "distinct": distinct,
        "formats": c.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
    })
}

/// What `file show` and `file list` say of a file whose retention ran out.
const EXPIRED: &str = "expired: clients no longer see it; the sweeper deletes it";

pub async fn file(data_dir: &Path, cmd: FileCommand) -> anyhow::Result<()> {
    let changes = cmd.changes();
    let (tenant, path, format) = match cmd {
        FileCommand::Show {
            tenant,
            path,
            format,
        } => (tenant, path, format),
        FileCommand::List {
            tenant,
            dir,
            format,
        } => return list(data_dir, changes, &tenant, &dir, format).await,
    };
    let admin = crate::admin::open_for(data_dir, changes).await?;
    let f = admin
        .file_show(&tenant, &path)
        .await
        .map_err(crate::admin::usage_or)?;
    admin.close().await;
    match format {
        ShowFormat::Json => {
            let mut v = serde_json::json!({
                "tenant": f.tenant,
                "path": f.path,
                "id": f.id,
                "size": f.size,
                "modified": Time::from_secs(f.mtime).to_string(),
                "stored": Time::from_secs(f.created_at).to_string(),
                "canary": f.canary,
                "expired": f.expired,
                "classified": f.classification.is_some(),
            });
            if let Some(c) = &f.classification {
                v["classification"] = classes_json(&c.summary());
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ShowFormat::Table => {
            println!(
                "file:      {}:{} (id {})",
                f.tenant,
                printable(&f.path),
                f.id
            );
            println!("size:      {} bytes", f.size);
            println!("modified:  {}", Time::from_secs(f.mtime));
            println!("stored:    {}", Time::from_secs(f.created_at));
            if f.canary {
                println!("canary:    yes (a decoy: opening it is critical)");
            }
            if f.expired {
                println!("retention: {EXPIRED}");
            }
            match &f.classification {
                None => println!("classes:   not classified yet (strongroom classify run)"),
                Some(c) => {
                    let c = c.summary();
                    println!("classes:   {}", counts_text(&c));
                    let distinct: Vec<String> = c
                        .distinct
                        .iter()
                        .map(|(class, n)| format!("{} about {n}", class.as_str()))
                        .collect();
                    if !distinct.is_empty() {
                        println!("distinct:  {}", distinct.join(", "));
                    }
                    let formats: Vec<String> = c.formats.iter().map(|f| f.name()).collect();
                    if !formats.is_empty() {
                        println!("formats:   {}", formats.join(", "));
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn classify(data_dir: &Path, cmd: ClassifyCommand) -> anyhow::Result<()> {
    let changes = cmd.changes();
    let (tenant, again, format) = match cmd {
        ClassifyCommand::Run {
            tenant,
            again,
            format,
        } => (tenant, again, format),
        ClassifyCommand::Pattern(p) => return pattern(data_dir, p).await,
    };
    let admin = crate::admin::open_for(data_dir, changes).await?;
    // Progress on a terminal only; piped output stays clean. Each file is printed as it is
    // done (the progress line cleared before it and shown again after it).
    let tty = std::io::stderr().is_terminal();
    let mut out = std::io::stdout().lock();
    let done = admin
        .classify_run(tenant.as_deref(), again, |f, i, total| {
            if tty {
                eprint!("\r\x1b[K");
            }
            match format {
                ListFormat::Jsonl => {
                    let mut v = serde_json::json!({
                        "tenant": f.tenant, "path": f.path, "id": f.id, "size": f.size,
                    });
                    if let (Some(obj), serde_json::Value::Object(c)) =
                        (v.as_object_mut(), classes_json(&f.classification.summary()))
                    {
                        obj.extend(c);
                    }
                    writeln!(out, "{v}")?;
                }
                ListFormat::Table => writeln!(
                    out,
                    "{}:{}\t{} bytes\t{}",
                    f.tenant,
                    printable(&f.path),
                    f.size,
                    counts_text(&f.classification.summary())
                )?,
            }
            if tty {
                out.flush()?;
                eprint!("classified {i}/{total} files");
                let _ = std::io::stderr().flush();
            }
            Ok(())
        })
        .await
        .map_err(crate::admin::usage_or)?;
    admin.close().await;
    if tty && done > 0 {
        eprint!("\r\x1b[K");
    }
    if matches!(format, ListFormat::Table) {
        writeln!(out, "{} classified", crate::units::counted(done, "file"))?;
    }
    Ok(())
}

pub async fn incident(data_dir: &Path, cmd: IncidentCommand) -> anyhow::Result<()> {
    use service::incident::Selection;
    let changes = cmd.changes();
    let (selection, since, until, format, out, verify, evidence) = match cmd {
        IncidentCommand::Check {
            file,
            public_key,
            format,
            report,
        } => return check_evidence(&file, &public_key, format, report.as_deref()),
        IncidentCommand::File {
            tenant,
            path,
            id,
            every_file,
            since,
            until,
            format,
        } => {
            let asked = match (path, id) {
                (_, Some(_)) if every_file => anyhow::bail!(UsageError(
                    "--every-file asks about a PATH: an --id is one file".into()
                )),
                (_, Some(id)) => FileAsked::Id(id),
                (Some(path), None) if every_file => FileAsked::EveryAt(path),
                (Some(path), None) => FileAsked::Path(path),
                (None, None) => anyhow::bail!(UsageError("give a PATH or --id".into())),
            };
            return readers(data_dir, changes, &tenant, &asked, since, until, format).await;
        }
        IncidentCommand::Report {
            user,
            ip,
            session,
            key,
            alert,
            except_ip,
            tenant,
            since,
            until,
            format,
            out,
            verify,
            evidence,
        } => {
            let selection = Selection {
                accounts: user,
                networks: ip,
                sessions: session,
                credentials: key,
                alerts: alert,
                except_networks: except_ip,
                tenants: tenant,
            };
            (selection, since, until, format, out, verify, evidence)
        }
    };
    let (since, until) = crate::units::time_range(since.as_deref(), until.as_deref())?;
    // For an evidence file, a running server signs a checkpoint first, and the report reads
    // the ledger up to it: every record it rests on is then under one, and the file's account
    // indexes end where the report does.
    let running = match &evidence {
        Some(_) => crate::session_admin::checkpoint_now(data_dir).await?,
        None => false,
    };
    // An evidence file's checkpoint may be signed here (below); a report alone only reads.
    let admin = crate::admin::open_for(data_dir, changes).await?;
    if evidence.is_some() && !running {
        // No server to ask: the records since its last checkpoint (this tool's own records of
        // commands run since, or those of a server that crashed) are signed here.
        admin.sign_checkpoint().map_err(crate::admin::usage_or)?;
    }
    let report = admin
        .incident_report(&selection, since, until, verify, evidence.is_some())
        .await
        .map_err(crate::admin::usage_or)?;
    if evidence.is_some() && report.after_checkpoint > 0 {
        eprintln!(
            "strongroom: {} appended since the checkpoint the report was read up to (this moment's) are not in it: run it again to include them",
            crate::units::counted(report.after_checkpoint as usize, "record")
        );
    }
    if let Some(path) = &evidence {
        let written = private_file(path)
            .map_err(anyhow::Error::from)
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                let n = admin
                    .incident_evidence(&report, &mut w)
                    .map_err(crate::admin::usage_or)?;
                w.into_inner()?.sync_all()?;
                Ok(n)
            });
        let w = match written {
            Ok(w) => w,
            Err(e) => {
                // No half-written evidence left to be taken for a whole one.
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
        };
        eprintln!(
            "evidence written to {} ({} in {} between signed checkpoints; {} of the report's with their keys)",
            path.display(),
            crate::units::counted(w.records as usize, "ledger record"),
            crate::units::counted(w.intervals as usize, "interval"),
            w.keyed
        );
        match (w.complete, &report.scope) {
            (Some((from, to)), Some(scope)) => eprintln!(
                "it shows every record of {} from {} to the checkpoint of {} ({} of them not the report's: outside its window, networks or sessions, shown sealed)",
                complete_scope(scope),
                from.map_or_else(
                    || "the chain's start".to_owned(),
                    |t| format!("the checkpoint of {}", Time::from_secs(t))
                ),
                Time::from_secs(to),
                w.withheld
            ),
            (None, Some(scope)) => eprintln!(
                "strongroom: warning: no checkpoint with an account index (signed since this version) covers the report's window: the file cannot show that it holds every record of {}",
                complete_scope(scope)
            ),
            (_, None) if report.accounts.len() > service::admin::MAX_FOUND_ACCOUNTS => eprintln!(
                "strongroom: warning: the report's records name {} accounts, more than the {} an evidence file shows complete for a selection without --user: the file cannot show that it holds every record (select by --user)",
                report.accounts.len(),
                service::admin::MAX_FOUND_ACCOUNTS
            ),
            _ => {}
        }
        if let (Some(_), Some(scope)) = (w.complete, &report.scope) {
            for note in complete_notes(scope) {
                eprintln!("{note}");
            }
        }
        if w.unkeyed > 0 {
            eprintln!(
                "strongroom: warning: {} of the report's records were sealed before records had keys of their own (2026-12-06): the file cannot show them, and a check of it will not hold (narrow the report with --since)",
                w.unkeyed
            );
        }
    }
    admin.close().await;
    if report.evidence.records == 0 {
        // An empty report must not read as "nothing was taken" when the selection was mistyped.
        eprintln!(
            "strongroom: no ledger record matches {selection}{}: check it (records of accounts \
             removed since are still found; a key is given as ssh-keygen -l prints it, SHA256:…)",
            if since.is_some() || until.is_some() {
                " in that time range"
            } else {
                ""
            }
        );
    }
    let text = report_text(&report, format)?;
    match out {
        Some(path) => {
            let mut f = private_file(&path)?;
            f.write_all(&text)?;
            f.sync_all()?;
            // What the files read held: each class, and in how many of them.
            let classes: Vec<String> = report
                .totals
                .classes
                .iter()
                .map(|(class, n)| crate::units::class_spread(&report.totals, class, *n))
                .collect();
            let classes = if classes.is_empty() {
                String::new()
            } else {
                format!(": {}", classes.join(", "))
            };
            eprintln!(
                "incident report written to {} ({}, {} read, {}{classes}; {}{})",
                path.display(),
                crate::units::counted(report.totals.tenants, "tenant"),
                crate::units::counted(report.totals.files, "file"),
                crate::units::bytes_for_people(report.totals.bytes_read),
                crate::units::changes_made(report.totals.changes, report.totals.changes_replacing),
                crate::units::listed_and_refused(
                    report.totals.directories_listed,
                    report.totals.names_sent,
                    report.totals.refused
                ),
            );
        }
        None => std::io::stdout().lock().write_all(&text)?,
    }
    Ok(())
}

/// A file for a report or its evidence, created or emptied, readable by its owner only.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// `incident check`: reads the evidence file line by line (each line bounded before it is
/// held), checks it ([`service::incident::evidence_file::Checker`]) and says what it proves.
/// The report in `format`, as `incident report` writes it: made again from the same report,
/// the same bytes (what `incident check --report` compares a report file with).
fn report_text(
    report: &service::incident::Report,
    format: ReportFormat,
) -> anyhow::Result<Vec<u8>> {
    let mut text = Vec::new();
    match format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut text, report)?;
            text.push(b'\n');
        }
        ReportFormat::Html => {
            text = crate::incident_html::render(report, report.made)?.into_bytes();
        }
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut text);
            for row in report.csv_rows() {
                w.write_record(row)?;
            }
            w.flush()?;
        }
    }
    Ok(text)
}

/// Largest report file `incident check --report` reads (an evidence file's report is at most
/// its header's 256 MiB as JSON; its HTML form a few times that).
const MAX_REPORT_FILE: u64 = 1 << 30;

/// Which form of `report` the file at `path` is, byte for byte (`None`: none of them).
fn report_form(
    report: &service::incident::Report,
    path: &Path,
) -> anyhow::Result<Option<&'static str>> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("report file {}: {e}", path.display()))?;
    let mut held = Vec::new();
    f.take(MAX_REPORT_FILE + 1).read_to_end(&mut held)?;
    if held.len() as u64 > MAX_REPORT_FILE {
        return Ok(None);
    }
    for (format, name) in [
        (ReportFormat::Json, "JSON"),
        (ReportFormat::Csv, "CSV"),
        (ReportFormat::Html, "HTML"),
    ] {
        if report_text(report, format)? == held {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

fn check_evidence(
    file: &Path,
    public_key: &str,
    format: ShowFormat,
    report_file: Option<&Path>,
) -> anyhow::Result<()> {
    use service::incident::evidence_file::{Checker, MAX_HEADER_LINE, MAX_RECORD_LINE};
    use std::io::{BufRead, Read};
    let key = hex::decode(public_key.trim())
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or_else(|| {
            UsageError(
                "--public-key: 64 hex digits (an Ed25519 key, as audit head prints it)".into(),
            )
        })?;
    let f = std::fs::File::open(file)
        .map_err(|e| anyhow::anyhow!("evidence file {}: {e}", file.display()))?;
    let mut reader = std::io::BufReader::new(f);
    let mut buf = Vec::new();
    // One line, at most `max` bytes of it; `None` at the end.
    let mut next = |max: usize, n: u64| -> anyhow::Result<Option<String>> {
        buf.clear();
        let read = (&mut reader)
            .take(max as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(None);
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        } else if buf.len() > max {
            anyhow::bail!("evidence file line {n}: longer than {max} bytes");
        }
        Ok(Some(String::from_utf8(std::mem::take(&mut buf)).map_err(
            |_| anyhow::anyhow!("evidence file line {n}: not UTF-8"),
        )?))
    };
    let header = next(MAX_HEADER_LINE, 1)?
        .ok_or_else(|| anyhow::anyhow!("evidence file {} is empty", file.display()))?;
    // The file is anyone's: what its errors quote of it is shown escaped.
    let quoted = |e: service::incident::evidence_file::EvidenceError| {
        anyhow::anyhow!("{}", printable(&e.to_string()))
    };
    let mut checker = Checker::new(&header, &key).map_err(quoted)?;
    let mut n = 1u64;
    while let Some(line) = next(MAX_RECORD_LINE, n + 1)? {
        n += 1;
        checker.line(&line).map_err(quoted)?;
    }
    let c = checker.finish();
    // The report file given: which form of the evidence's report it is, if any.
    let form = match report_file {
        None => None,
        Some(path) => {
            let report = service::incident::evidence_file::report_of(&header).map_err(quoted)?;
            Some((path, report_form(&report, path)?))
        }
    };
    let holds = c.holds() && form.is_none_or(|(_, f)| f.is_some());
    let mut out = std::io::stdout().lock();
    if matches!(format, ShowFormat::Json) {
        // Exact values, escaped by JSON's rules (what the file claims included).
        let mut v = serde_json::to_value(&c)?;
        v["holds"] = holds.into();
        if let Some((path, f)) = form {
            v["report_file"] = serde_json::json!({
                "path": path.display().to_string(),
                "form": f.map(str::to_ascii_lowercase),
            });
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
        if !holds {
            anyhow::bail!("the evidence does not hold");
        }
        return Ok(());
    }
    writeln!(out, "evidence of: {}", printable(&c.selection))?;
    match c.span {
        Some((first, last)) if c.broken.is_empty() => writeln!(
            out,
            "ledger: {}, each shown in the chain the key signed ({} between checkpoints, records {first}-{last})",
            crate::units::counted(c.records as usize, "record"),
            crate::units::counted(c.intervals as usize, "interval"),
        )?,
        _ if c.broken.is_empty() => writeln!(out, "ledger: no record in the file")?,
        _ => {
            for b in &c.broken {
                writeln!(out, "BROKEN: {}", printable(b))?;
            }
            if c.broken_more > 0 {
                writeln!(out, "BROKEN: and {} more", c.broken_more)?;
            }
        }
    }
    writeln!(
        out,
        "records of the report: {} opened with their keys{}",
        c.disclosed,
        if c.undisclosable > 0 {
            format!(
                ", {} sealed before records had keys of their own (not opened: the report cannot be checked against them)",
                c.undisclosable
            )
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "report: {}, {}, {} read, {}, {} {} listed, {}",
        crate::units::counted(c.sessions, "session"),
        crate::units::counted(c.failed_logins, "failed login"),
        crate::units::counted(c.files_read, "file"),
        crate::units::counted(c.changes, "change"),
        c.directories_listed,
        if c.directories_listed == 1 {
            "directory"
        } else {
            "directories"
        },
        crate::units::counted(c.refused, "refused request"),
    )?;
    if !c.accounts.is_empty() {
        let accounts: Vec<String> = c
            .accounts
            .iter()
            .map(|(a, n)| {
                format!(
                    "{} ({})",
                    printable(a),
                    crate::units::counted(*n, "session")
                )
            })
            .collect();
        let sources: Vec<String> = c
            .sources
            .iter()
            .map(|s| printable(s).into_owned())
            .collect();
        writeln!(
            out,
            "sessions of: {}; from {}",
            accounts.join(", "),
            if sources.is_empty() {
                "-".to_owned()
            } else {
                sources.join(", ")
            }
        )?;
    }
    let complete = c.complete.as_ref().filter(|k| k.proven);
    if let Some(k) = &c.complete {
        let at = |cp: Option<(u64, i64)>| match cp {
            None => "the chain's start".to_owned(),
            Some((seq, time)) => format!(
                "the checkpoint at record {seq} ({})",
                events::Time::from_secs(time)
            ),
        };
        let whose = complete_scope(&k.scope);
        if k.proven {
            writeln!(
                out,
                "complete: every record of {whose} from {} to {} is in the file ({}, each interval's by its signed account index); opened: those within the report's window ({})",
                at(k.after),
                at(k.to),
                crate::units::counted(k.records as usize, "record"),
                window_of(&k.scope),
            )?;
            for note in complete_notes(&k.scope) {
                writeln!(out, "{note}")?;
            }
            if let (None, Some((_, time))) = (k.scope.until, k.to) {
                writeln!(
                    out,
                    "the report was read up to that checkpoint: what came after {} is not in it",
                    events::Time::from_secs(time)
                )?;
            }
            if !k.spans_window {
                writeln!(
                    out,
                    "the report's window ({}) reaches beyond those checkpoints: there the file cannot show that nothing was left out",
                    window_of(&k.scope)
                )?;
            }
        } else {
            writeln!(
                out,
                "NOT SHOWN COMPLETE: the file claims every record of {whose}, and its account indexes do not prove it (BROKEN above)"
            )?;
        }
    }
    for claim in &c.not_in_records {
        writeln!(out, "NOT IN THE RECORDS: {}", printable(claim))?;
    }
    for shown in &c.not_in_report {
        writeln!(out, "NOT IN THE REPORT: {}", printable(shown))?;
    }
    writeln!(
        out,
        "not checked (the catalog's, not the ledger's): current paths, deletions, data classes and formats, how sessions ended{}",
        if complete.is_some() {
            ""
        } else {
            "; nor that no record was left out of the file"
        }
    )?;
    match form {
        Some((path, Some(f))) => writeln!(
            out,
            "report file: {} is this evidence's report, byte for byte (its {f} form)",
            printable(&path.display().to_string())
        )?,
        Some((path, None)) => writeln!(
            out,
            "NOT THIS EVIDENCE'S REPORT: {} is none of its forms (JSON, CSV, HTML): changed since it was written, or another report's",
            printable(&path.display().to_string())
        )?,
        None => {}
    }
    if !holds {
        anyhow::bail!("the evidence does not hold");
    }
    writeln!(
        out,
        "holds: every session, failed login, read, change, listing and refusal of the report follows from records the signed chain holds{}",
        match complete {
            Some(k) => format!(
                ", and none of {}'s records in those intervals is left out",
                complete_scope(&k.scope)
            ),
            None => String::new(),
        }
    )?;
    Ok(())
}

/// `account mallory`, `accounts a, b in tenant acme`: whose records an evidence file shows all
/// of (escaped: the file is anyone's).
fn complete_scope(s: &service::incident::evidence_file::Scope) -> String {
    let accounts: Vec<String> = s
        .accounts
        .iter()
        .map(|a| printable(a).into_owned())
        .collect();
    let mut out = format!(
        "{} {}",
        if accounts.len() == 1 {
            "account"
        } else {
            "accounts"
        },
        accounts.join(", ")
    );
    if !s.tenants.is_empty() {
        let tenants: Vec<String> = s
            .tenants
            .iter()
            .map(|t| printable(t).into_owned())
            .collect();
        out.push_str(&format!(" in tenant {}", tenants.join(" or ")));
    }
    out
}

/// `since 2026-12-06T10:00:00Z, until 2026-12-06T12:00:00Z`, `until the report was made`.
fn window_of(s: &service::incident::evidence_file::Scope) -> String {
    let since = s.since.map_or_else(
        || "from the start".to_owned(),
        |t| format!("since {}", events::Time::from_secs(t)),
    );
    let until = s.until.map_or_else(
        || "until the report was made".to_owned(),
        |t| format!("until {}", events::Time::from_secs(t)),
    );
    let mut window = format!("{since}, {until}");
    let nets = |n: &[String]| -> String {
        n.iter()
            .map(|n| printable(n).into_owned())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    if !s.networks.is_empty() {
        window.push_str(&format!(", from {}", nets(&s.networks)));
    }
    if !s.except_networks.is_empty() {
        window.push_str(&format!(", not from {}", nets(&s.except_networks)));
    }
    if !s.sessions.is_empty() {
        window.push_str(&format!(", of session {}", nets(&s.sessions)));
    }
    window
}

/// What else a third party must know of an evidence file's completeness: how the report's
/// credentials were applied, and that accounts the report found are not the selection's.
fn complete_notes(s: &service::incident::evidence_file::Scope) -> Vec<String> {
    let mut notes = Vec::new();
    if !s.credentials.is_empty() {
        let credentials: Vec<String> = s
            .credentials
            .iter()
            .map(|c| printable(c).into_owned())
            .collect();
        notes.push(format!(
            "of those, the report's are the sessions opened (or only tried) with {}: which ones is read from each session's opening, which the file holds",
            credentials.join(" or ")
        ));
    }
    if s.found_accounts {
        notes.push(format!(
            "{} the report's records name: the file cannot show that the selection touched no other account",
            if s.accounts.len() == 1 {
                "that is the account"
            } else {
                "those are the accounts"
            },
        ));
    }
    notes
}

async fn readers(
    data_dir: &Path,
    changes: bool,
    tenant: &str,
    asked: &FileAsked,
    since: Option<String>,
    until: Option<String>,
    format: ListFormat,
) -> anyhow::Result<()> {
    let (since, until) = crate::units::time_range(since.as_deref(), until.as_deref())?;
    let admin = crate::admin::open_for(data_dir, changes).await?;
    let files = admin
        .file_readers(tenant, asked, since, until)
        .await
        .map_err(crate::admin::usage_or)?;
    admin.close().await;
    let mut out = std::io::stdout().lock();
    match format {
        ListFormat::Jsonl => {
            for file in &files {
                for r in &file.readers {
                    let mut row = serde_json::to_value(r)?;
                    if let Some(row) = row.as_object_mut() {
                        row.insert("file_id".into(), file.file_id.into());
                        row.insert("path_now".into(), file.path_now.clone().into());
                    }
                    writeln!(out, "{row}")?;
                }
            }
        }
        ListFormat::Table => {
            if let FileAsked::EveryAt(path) = asked {
                writeln!(
                    out,
                    "{} at {tenant}:{} (the one there now last, if any):",
                    match files.len() {
                        1 => "one file has been".to_owned(),
                        n => format!("{n} files have been"),
                    },
                    printable(path),
                )?;
            } else if let FileAsked::Path(path) = asked
                && files
                    .iter()
                    .all(|f| f.path_now.as_deref() != Some(path.as_str()))
            {
                writeln!(
                    out,
                    "no file is at {tenant}:{} now; the ledger shows {} there before:",
                    printable(path),
                    match files.len() {
                        1 => "one file".to_owned(),
                        n => format!("{n} files"),
                    }
                )?;
            }
            for file in &files {
                readers_table(&mut out, tenant, file)?;
            }
        }
    }
    Ok(())
}

/// One file's readers, as a table for people.
fn readers_table(
    out: &mut impl Write,
    tenant: &str,
    file: &service::incident::FileReadersOf,
) -> anyhow::Result<()> {
    let readers = &file.readers;
    match &file.path_now {
        Some(path) => writeln!(out, "{tenant}:{} (file {})", printable(path), file.file_id)?,
        None => writeln!(out, "{tenant}: file {} (deleted)", file.file_id)?,
    }
    writeln!(
        out,
        "{:<14} {:<16} {:>12} {:<8} {:<25} {:<25} {:<15} session",
        "account", "source", "bytes", "read", "first", "last", "identified by"
    )?;
    for r in readers {
        writeln!(
            out,
            "{:<14} {:<16} {:>12} {:<8} {:<25} {:<25} {:<15} {}",
            r.account.as_deref().unwrap_or("-"),
            r.source.as_deref().unwrap_or("-"),
            r.bytes_read,
            r.read,
            r.first_access.map(|t| t.to_string()).unwrap_or_default(),
            r.last_access.map(|t| t.to_string()).unwrap_or_default(),
            r.identified_by,
            r.session
        )?;
    }
    writeln!(
        out,
        "{} read it",
        crate::units::counted(readers.len(), "session")
    )?;
    // An account that read it over several sessions (a download split over connections reads
    // a part in each): what its sessions read between them.
    let mut accounts: std::collections::BTreeMap<&str, (usize, u64, &str)> = Default::default();
    for r in readers {
        let a = accounts
            .entry(r.account.as_deref().unwrap_or("-"))
            .or_insert((0, 0, r.account_read));
        a.0 += 1;
        a.1 = a.1.saturating_add(r.bytes_read);
    }
    for (account, (sessions, bytes, read)) in accounts {
        if sessions > 1 {
            writeln!(
                out,
                "{account}: {sessions} sessions, {bytes} bytes, {read} between them"
            )?;
        }
    }
    let uncertain = readers
        .iter()
        .filter(|r| r.identified_by == "path_uncertain")
        .count();
    if uncertain > 0 {
        writeln!(
            out,
            "{uncertain} of them read it before file ids were recorded, at a path where \
             the ledger leaves open whether it was this file (see docs/INCIDENT.md)"
        )?;
    }
    Ok(())
}

async fn list(
    data_dir: &Path,
    changes: bool,
    tenant: &str,
    dir: &str,
    format: ListFormat,
) -> anyhow::Result<()> {
    let admin = crate::admin::open_for(data_dir, changes).await?;
    let entries = admin
        .file_list(tenant, dir)
        .await
        .map_err(crate::admin::usage_or)?;
    admin.close().await;
    let mut out = std::io::stdout().lock();
    for e in &entries {
        let classes = match (&e.classification, e.is_dir) {
            (_, true) => "-".to_owned(),
            (None, false) => "not classified".to_owned(),
            (Some(c), false) => counts_text(c),
        };
        match format {
            ListFormat::Jsonl => {
                let mut v = serde_json::json!({
                    "name": e.name, "id": e.id, "dir": e.is_dir, "size": e.size,
                    "canary": e.canary, "expired": e.expired,
                    "classified": e.classification.is_some(),
                });
                if let (Some(c), Some(obj)) = (&e.classification, v.as_object_mut())
                    && let serde_json::Value::Object(m) = classes_json(c)
                {
                    obj.extend(m);
                }
                writeln!(out, "{v}")?;
            }
            ListFormat::Table => writeln!(
                out,
                "{}{}\t{}\t{}{}{}",
                printable(&e.name),
                if e.is_dir { "/" } else { "" },
                e.size,
                classes,
                if e.canary { "\t(canary)" } else { "" },
                if e.expired {
                    format!("\t({EXPIRED})")
                } else {
                    String::new()
                }
            )?,
        }
    }
    Ok(())
}

async fn pattern(data_dir: &Path, cmd: PatternCommand) -> anyhow::Result<()> {
    let admin = crate::admin::open_for(data_dir, cmd.changes()).await?;
    match cmd {
        PatternCommand::Add {
            tenant,
            name,
            regex,
        } => {
            admin
                .add_classify_pattern(&tenant, &name, &regex)
                .await
                .map_err(crate::admin::usage_or)?;
            println!(
                "pattern {name} added to {tenant}: counted in uploads of sessions that start from \
                 now (classify run --tenant {tenant} --again applies it to stored files)"
            );
        }
        PatternCommand::List { tenant } => {
            for (name, regex) in admin
                .classify_patterns(&tenant)
                .await
                .map_err(crate::admin::usage_or)?
            {
                println!("{name}\t{regex}");
            }
        }
        PatternCommand::Remove { tenant, name } => {
            admin
                .remove_classify_pattern(&tenant, &name)
                .await
                .map_err(crate::admin::usage_or)?;
            println!("pattern {name} removed from {tenant}");
        }
    }
    admin.close().await;
    Ok(())
}
