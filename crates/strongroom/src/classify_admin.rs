//! `strongroom file show` and `strongroom classify run`: what classification found in a stored
//! file, and classifying the files stored before it existed. Printing only; the work is in
//! `service::admin`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use classify::Classification;
use events::Time;

use crate::cli::{ClassifyCommand, FileCommand, ListFormat, ShowFormat};

/// `card_number 12, iban 3` (or `none found`).
fn counts_text(c: &Classification) -> String {
    let items: Vec<String> = c
        .counts
        .present()
        .map(|(class, n)| format!("{} {n}", class.as_str()))
        .collect();
    if items.is_empty() {
        "none found".into()
    } else {
        items.join(", ")
    }
}

fn classes_json(c: &Classification) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = c
        .counts
        .present()
        .map(|(class, n)| (class.as_str().to_owned(), n.into()))
        .collect();
    serde_json::json!({
        "classes": counts,
        "formats": c.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
    })
}

pub async fn file(data_dir: &Path, cmd: FileCommand) -> anyhow::Result<()> {
    let FileCommand::Show {
        tenant,
        path,
        format,
    } = cmd;
    let admin = crate::admin::open(data_dir).await?;
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
                "classified": f.classification.is_some(),
            });
            if let Some(c) = &f.classification {
                v["classification"] = classes_json(c);
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ShowFormat::Table => {
            println!("file:      {}:{} (id {})", f.tenant, f.path, f.id);
            println!("size:      {} bytes", f.size);
            println!("modified:  {}", Time::from_secs(f.mtime));
            println!("stored:    {}", Time::from_secs(f.created_at));
            if f.canary {
                println!("canary:    yes (a decoy: opening it is critical)");
            }
            match &f.classification {
                None => println!("classes:   not classified yet (strongroom classify run)"),
                Some(c) => {
                    println!("classes:   {}", counts_text(c));
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
    let ClassifyCommand::Run {
        tenant,
        again,
        format,
    } = cmd;
    let admin = crate::admin::open(data_dir).await?;
    // Progress on a terminal only; piped output stays clean.
    let tty = std::io::stderr().is_terminal();
    let done = admin
        .classify_run(tenant.as_deref(), again, |_, i, total| {
            if tty {
                eprint!("\rclassified {i}/{total} files");
                let _ = std::io::stderr().flush();
            }
        })
        .await
        .map_err(crate::admin::usage_or)?;
    admin.close().await;
    if tty && !done.is_empty() {
        eprintln!();
    }
    let mut out = std::io::stdout().lock();
    for f in &done {
        match format {
            ListFormat::Jsonl => {
                let mut v = serde_json::json!({
                    "tenant": f.tenant, "path": f.path, "id": f.id, "size": f.size,
                });
                if let (Some(obj), serde_json::Value::Object(c)) =
                    (v.as_object_mut(), classes_json(&f.classification))
                {
                    obj.extend(c);
                }
                writeln!(out, "{v}")?;
            }
            ListFormat::Table => writeln!(
                out,
                "{}:{}\t{} bytes\t{}",
                f.tenant,
                f.path,
                f.size,
                counts_text(&f.classification)
            )?,
        }
    }
    if matches!(format, ListFormat::Table) {
        writeln!(out, "{} files classified", done.len())?;
    }
    Ok(())
}
