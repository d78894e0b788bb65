//! Ledger at scale: fills a fresh ledger with N records (default 10 million: 1,000 accounts over
//! 30 days, sealed schema-2 bodies as the server writes them, each a download of its own file),
//! then times an export filtered by user and a one-day window, the ledger part of an incident
//! report on one account (N / 1,000 files), the ledger part of `incident file` (one tenant's
//! N / 50 records replayed, as for a tenant with records from before file ids, and through the
//! file id index), a report on a /20 (its addresses found in the source index), the verification of the part of the chain holding
//! the one-day window's records (what `incident report --verify` adds), and a full `verify`
//! of chain and checkpoints; and the evidence file of the one-account report, written and checked.
//! Prints numbers; asserts nothing. Run:
//! `cargo run --release -p strongroom --example ledger_bench -- [N]`.

use std::time::Instant;

use catalog::{LedgerFilter, LedgerMeta, LedgerStore};
use ledger::CheckpointSigner;
use vault::{LedgerKey, MasterKey};

struct Signer(LedgerKey);
impl CheckpointSigner for Signer {
    fn sign(&self, m: &[u8]) -> Vec<u8> {
        self.0.sign(m)
    }
    fn public_key(&self) -> Vec<u8> {
        self.0.public_key()
    }
}

/// Writes `report`'s evidence file to `path` as `incident report --evidence` does, checks it
/// line by line as a third party does, prints what it took (after `what`), and removes it.
fn evidence_of(
    store: &LedgerStore,
    body_key: &vault::LedgerBodyKey,
    signer: &Signer,
    report: &service::incident::Report,
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<()> {
    let t = Instant::now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let service::admin::EvidenceWritten {
        records: in_file,
        intervals,
        ..
    } = service::admin::write_evidence(store, body_key, &signer.public_key(), report, &mut out)?;
    drop(out);
    let written = t.elapsed();
    let size = std::fs::metadata(path)?.len();
    let t = Instant::now();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(path)?));
    let header = lines.next().transpose()?.unwrap_or_default();
    let mut checker =
        service::incident::evidence_file::Checker::new(&header, &signer.public_key())?;
    for line in lines {
        checker.line(&line?)?;
    }
    let checked = checker.finish();
    println!(
        "{what}: {in_file} records in {intervals} intervals, {} of them the report's, {:.0} MB ({:.0} bytes a record); written in {:.1} s ({:.0} records/s), checked in {:.1} s ({:.0} records/s), holds: {}, complete: {}",
        report.rests_on.len(),
        size as f64 / 1e6,
        size as f64 / in_file.max(1) as f64,
        written.as_secs_f64(),
        in_file as f64 / written.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        in_file as f64 / t.elapsed().as_secs_f64(),
        checked.holds(),
        checked
            .complete
            .as_ref()
            .is_some_and(|c| c.proven && c.spans_window)
    );
    std::fs::remove_file(path)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir()?;
    let store = LedgerStore::open(&dir.path().join("ledger.db"))?;
    let signer = Signer(LedgerKey::load_or_create(
        &dir.path().join("ledger.key"),
        true,
    )?);
    let (body_key, _) = MasterKey::generate().new_ledger_body_key();
    let start_time: i64 = 1_790_000_000;
    let span = 30 * 86_400;

    let t = Instant::now();
    let batch_len = 20_000u64;
    let mut written = 0;
    while written < n {
        let mut batch = Vec::with_capacity(batch_len as usize);
        for i in written..(written + batch_len).min(n) {
            let time = start_time + (i as i64 * span / n as i64);
            let account = format!("user{:04}", i % 1000);
            let size = i * 13 % 100_000;
            // Every seventh record opens a session (naming the account's key), the rest are
            // downloads.
            let (kind, what) = if i % 7 == 0 {
                (
                    "session",
                    format!(
                        r#""kind":"session","opened":true,"methods":"publickey","credential":"SHA256:key-{account}""#
                    ),
                )
            } else {
                (
                    "file",
                    format!(
                        r#""kind":"file","op":"close_read","path":"/out/statement-{i}.csv","file":{{"id":{i},"size":{size}}},"bytes":{size},"whole_file":true,"outcome":"ok""#
                    ),
                )
            };
            let body = format!(
                r#"{{"v":2,"time":"{}","source":"10.0.{}.{}:50000","account":"{account}","tenant":"t{}","session":"{}",{what}}}"#,
                events::Time::from_secs(time),
                (i / 250) % 250,
                i % 250,
                i % 50,
                i / 7,
            );
            let tenant = format!("t{}", i % 50);
            let meta = LedgerMeta {
                path_tag: (kind == "file")
                    .then(|| body_key.path_tag(&tenant, &format!("/out/statement-{i}.csv"))),
                to_tag: None,
                kind: kind.into(),
                credential: (kind == "session").then(|| format!("SHA256:key-{account}")),
                account: Some(account),
                tenant: Some(tenant),
                source: Some(format!("10.0.{}.{}", (i / 250) % 250, i % 250)),
                session: Some((i / 7).to_string()),
                file_id: (kind == "file").then_some(i as i64),
            };
            batch.push((time, meta, body_key.seal(body.as_bytes())));
        }
        written += batch.len() as u64;
        store.append(&batch)?;
        // As the server's writer does (once a second): into the indexed table.
        store.fold()?;
        if written % 1_000_000 < batch_len {
            store.sign_checkpoint(start_time + span, &signer)?;
        }
    }
    store.sign_checkpoint(start_time + span, &signer)?;
    let fill = t.elapsed();
    println!(
        "filled {n} records in {:.1} s ({:.0} records/s)",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );

    let filter = LedgerFilter {
        account: Some("user0042".into()),
        since: Some(start_time + 10 * 86_400),
        until: Some(start_time + 11 * 86_400),
        ..LedgerFilter::default()
    };
    let t = Instant::now();
    let mut after = 0;
    let mut matched = 0;
    let mut first = None;
    loop {
        let page = store.export(&filter, after, 10_000)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            body_key.open(&e.sealed_event)?;
            first.get_or_insert(e.seq);
            after = e.seq;
            matched += 1;
        }
    }
    let export = t.elapsed();
    println!(
        "export --user user0042 over one day: {matched} records in {:.3} s (target < 2 s)",
        export.as_secs_f64()
    );
    // What `incident report --verify` adds for that day: the chain between the signed
    // checkpoints around its records.
    if let Some(first) = first {
        let t = Instant::now();
        let v = store
            .verify_range(&signer.public_key(), first, after)?
            .map_err(|b| anyhow::anyhow!("{b}"))?;
        println!(
            "verify the part of the chain holding that day's records ({first}-{after}): records {}-{} in {:.3} s",
            v.from,
            v.to,
            t.elapsed().as_secs_f64()
        );
    }

    // The incident report's ledger part: every record of one account, folded per file.
    let t = Instant::now();
    let mut collector = service::incident::Collector::default();
    let all_of = LedgerFilter {
        account: Some("user0042".into()),
        ..LedgerFilter::default()
    };
    collector.read(&store, &body_key, &[all_of])?;
    let mut report = collector.finish("account user0042".into());
    // As `incident report --user` sets it: the evidence shows every record of the account.
    report.scope = Some(service::incident::evidence_file::Scope {
        accounts: vec!["user0042".into()],
        ..Default::default()
    });
    let files: usize = report.tenants.iter().map(|t| t.files_read.len()).sum();
    println!(
        "incident report --user user0042 (ledger part): {} records, {files} files in {} tenants, {:.3} s (target <= 2 s)",
        report.evidence.records,
        report.tenants.len(),
        t.elapsed().as_secs_f64()
    );

    // Its evidence file (`incident report --evidence`), written and checked as a third party
    // checks it, line by line: the report's records, each with its inclusion proof under the
    // checkpoint that signs its interval (the bench signs one per million records, the server
    // one every 30 seconds; a proof grows with the interval's log).
    evidence_of(
        &store,
        &body_key,
        &signer,
        &report,
        &dir.path().join("evidence.jsonl"),
        "evidence of that report (every record of the account, each interval's by its account index)",
    )?;

    // By credential: the sessions its key opened (from the session records), then theirs.
    let t = Instant::now();
    let sessions = service::incident::sessions_opened_with(
        &store,
        &body_key,
        &LedgerFilter::default(),
        "SHA256:key-user0042",
    )?;
    let found = t.elapsed();
    let theirs: Vec<LedgerFilter> = sessions
        .keys()
        .map(|s| LedgerFilter {
            session: Some(s.clone()),
            ..LedgerFilter::default()
        })
        .collect();
    let mut collector = service::incident::Collector::opened_with(&["SHA256:key-user0042".into()]);
    collector.read(&store, &body_key, &theirs)?;
    let report = collector.finish("key SHA256:key-user0042".into());
    let files: usize = report.tenants.iter().map(|t| t.files_read.len()).sum();
    println!(
        "incident report --key (ledger part): {} sessions (found in {:.3} s), {} records, {files} files, {:.3} s (target <= 2 s)",
        sessions.len(),
        found.as_secs_f64(),
        report.evidence.records,
        t.elapsed().as_secs_f64()
    );
    // Its evidence, as `incident report --key` claims it: complete for the account it found,
    // each session's opening opened (the bench's account has one key, so none is sealed).
    let mut report = report;
    report.scope = Some(service::incident::evidence_file::Scope {
        accounts: report.accounts.clone(),
        credentials: vec!["SHA256:key-user0042".into()],
        found_accounts: true,
        ..Default::default()
    });
    evidence_of(
        &store,
        &body_key,
        &signer,
        &report,
        &dir.path().join("evidence-key.jsonl"),
        "evidence of that report (every record of the account it found, each session's opening)",
    )?;

    // `incident file`'s ledger part: every record of one tenant (N / 50) replayed through the
    // path history, the readers of one of its files gathered; first the records only read.
    let tenant = LedgerFilter {
        tenant: Some("t7".into()),
        ..LedgerFilter::default()
    };
    let t = Instant::now();
    let mut read_only = 0u64;
    service::ledger_read::for_each(&store, &body_key, &tenant, |_| {
        read_only += 1;
        Ok::<(), anyhow::Error>(())
    })?;
    let reading = t.elapsed();
    let t = Instant::now();
    let mut history = service::path_history::PathHistory::default();
    let mut readers = service::incident::FileReaders::new(57, None, None);
    let mut records = 0u64;
    service::ledger_read::for_each(&store, &body_key, &tenant, |r| {
        records += 1;
        let lineage = history.add(&r);
        readers.add(&r, lineage);
        Ok::<(), anyhow::Error>(())
    })?;
    let found = readers.finish(history.file(57, "/out/statement-57.csv").as_ref());
    println!(
        "incident file t7 /out/statement-57.csv (ledger part): {records} records replayed, {} readers, {:.3} s (reading the {read_only} records alone: {:.3} s)",
        found.len(),
        t.elapsed().as_secs_f64(),
        reading.as_secs_f64()
    );

    // A report on a wide network (a /20: the addresses the ledger holds in it, found by one
    // pass over the source index, then one indexed pass each).
    let t = Instant::now();
    let net: service::gate::network::IpNet = "10.0.0.0/20".parse()?;
    let filters = service::ledger_read::address_filters(&store, &net, &LedgerFilter::default())?;
    let found = t.elapsed();
    let mut collector = service::incident::Collector::default();
    collector.read(&store, &body_key, &filters)?;
    let report = collector.finish("network 10.0.0.0/20".into());
    let files: usize = report.tenants.iter().map(|t| t.files_read.len()).sum();
    println!(
        "incident report --ip 10.0.0.0/20 (ledger part): {} addresses (found in {:.3} s), {} records, {files} files, {:.3} s",
        filters.len(),
        found.as_secs_f64(),
        report.evidence.records,
        t.elapsed().as_secs_f64()
    );
    // Its evidence file: tens of thousands of the report's records, each fetched and proven.
    let t = Instant::now();
    let written = service::admin::write_evidence(
        &store,
        &body_key,
        &signer.public_key(),
        &report,
        &mut std::io::sink(),
    )?;
    println!(
        "evidence of that report: {} records, {:.1} s",
        written.records,
        t.elapsed().as_secs_f64()
    );

    // The same question on a ledger whose records carry file ids in an indexed field (ledger
    // migration 0005): only the file's own records are read.
    let t = Instant::now();
    let mut readers = service::incident::FileReaders::new(57, None, None);
    let of_file = LedgerFilter {
        file_id: Some(57),
        ..LedgerFilter::default()
    };
    let mut records = 0u64;
    service::ledger_read::for_each(&store, &body_key, &of_file, |r| {
        records += 1;
        readers.add(&r, None);
        Ok::<(), anyhow::Error>(())
    })?;
    println!(
        "incident file t7 --id 57 (ledger part, through the file id index): {records} records, {} readers, {:.4} s",
        readers.finish(None).len(),
        t.elapsed().as_secs_f64()
    );

    // A deleted file asked about by the path it had, on a ledger whose records carry path
    // tags (ledger migration 0006): the records naming the path (or renaming a file to it),
    // found through the tag indexes, give the files that were there.
    let t = Instant::now();
    let by_tags = service::ledger_read::naming_path(&body_key, "t7", "/out/statement-57.csv");
    let mut ids = Vec::new();
    let mut records = 0u64;
    service::ledger_read::for_each_of(&store, &body_key, &by_tags, |r| {
        records += 1;
        if let Some(id) = service::incident::file_at(&r, "/out/statement-57.csv")
            && !ids.contains(&id)
        {
            ids.push(id);
        }
        Ok::<(), anyhow::Error>(())
    })?;
    println!(
        "incident file t7 /out/statement-57.csv, deleted (ledger part, through the path tag indexes): {records} records, files {ids:?}, {:.4} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let v = store
        .verify(&signer.public_key())?
        .map_err(|b| anyhow::anyhow!("{b}"))?;
    let count = v.records;
    let verify = t.elapsed();
    println!(
        "verify: {count} records in {:.1} s ({:.0} records/s, target >= 500000)",
        verify.as_secs_f64(),
        count as f64 / verify.as_secs_f64()
    );
    Ok(())
}
