//! Reading the ledger back as typed events: the records a filter selects, in sequence order,
//! each opened with the ledger body key and read in the current event schema (records of an
//! earlier schema are upgraded as they are read; the stored bytes, which the chain covers, are
//! never changed). `audit export` prints what this yields; the incident report and the
//! detector's rebuild read the ledger through it too.

use catalog::{LedgerFilter, LedgerStore};
use events::{Event, Exported};
use vault::LedgerBodyKey;

/// Records read per query.
const PAGE: u32 = 50_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerReadError {
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error("record {0}: its body does not open with the ledger key")]
    Sealed(u64),
    #[error("record {seq}: its event does not read: {why}")]
    Unreadable { seq: u64, why: String },
}

/// Calls `each` with every record `filter` selects, in sequence order; stops at the first
/// error `each` returns.
pub fn for_each<E>(
    store: &LedgerStore,
    body_key: &LedgerBodyKey,
    filter: &LedgerFilter,
    mut each: impl FnMut(Exported) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<LedgerReadError>,
{
    let mut after = 0;
    loop {
        let page = store
            .export(filter, after, PAGE)
            .map_err(LedgerReadError::from)?;
        if page.is_empty() {
            return Ok(());
        }
        for r in page {
            after = r.seq;
            let body = body_key
                .open(&r.sealed_event)
                .map_err(|_| LedgerReadError::Sealed(r.seq))?;
            let event = Event::from_stored(&body).map_err(|e| LedgerReadError::Unreadable {
                seq: r.seq,
                why: e.to_string(),
            })?;
            each(Exported {
                seq: r.seq,
                hash: hex::encode(r.hash),
                event,
            })?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::{EventKind, FailureCode, FileOp, Outcome, Time};

    /// A ledger written before schema 2 (bodies as the server then sealed them) still
    /// verifies, and reads back into the current types, next to records of schema 2.
    #[test]
    fn a_schema_1_ledger_verifies_and_reads_as_typed_events() {
        let dir = tempfile::tempdir().unwrap();
        let store = LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
        let (body_key, _) = vault::MasterKey::generate().new_ledger_body_key();
        let v1 = [
            r#"{"time":1700000000,"source":"127.0.0.2:5000","account":"alice","tenant":"acme","client_version":"SSH-2.0-OpenSSH_9.2p1","session":"3","kind":"file","op":"close_read","path":"/a.csv","bytes":10,"whole_file":true,"outcome":"ok"}"#,
            r#"{"time":1700000001,"source":"127.0.0.2:5000","account":"alice","tenant":"acme","client_version":null,"session":"3","kind":"file","op":"remove","path":"/b","outcome":"failed: no such file or directory"}"#,
            r#"{"time":1700000002,"source":null,"account":null,"tenant":null,"client_version":null,"session":null,"kind":"admin","command":"user lock bob","by":"root","outcome":"ok"}"#,
        ];
        let meta = catalog::LedgerMeta {
            kind: "file".into(),
            ..Default::default()
        };
        let mut batch: Vec<_> = v1
            .iter()
            .enumerate()
            .map(|(i, b)| {
                (
                    1_700_000_000 + i as i64,
                    meta.clone(),
                    body_key.seal(b.as_bytes()),
                )
            })
            .collect();
        let current = events::Event::new(
            Time::from_millis(1_800_000_000_123),
            EventKind::File {
                op: FileOp::Stat,
                path: "/c".into(),
                file: Some(events::FileRef { id: 4, size: 9 }),
                outcome: Outcome::Ok,
            },
        );
        batch.push(crate::audit::stored(&current, &body_key));
        store.append(&batch).unwrap();
        assert_eq!(store.verify(b"").unwrap().unwrap().records, 4);

        let mut read = Vec::new();
        for_each(&store, &body_key, &LedgerFilter::default(), |r| {
            read.push(r);
            Ok::<_, LedgerReadError>(())
        })
        .unwrap();
        let seqs: Vec<u64> = read.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert_eq!(read[0].event.time, Time::from_secs(1_700_000_000));
        assert_eq!(
            read[0].event.kind,
            EventKind::File {
                op: FileOp::CloseRead {
                    bytes: 10,
                    whole_file: true
                },
                path: "/a.csv".into(),
                file: None,
                outcome: Outcome::Ok,
            }
        );
        assert!(matches!(
            &read[1].event.kind,
            EventKind::File {
                op: FileOp::Remove,
                outcome: Outcome::Failed {
                    code: FailureCode::NoSuchFile,
                    ..
                },
                ..
            }
        ));
        assert!(matches!(read[2].event.kind, EventKind::Admin { .. }));
        assert_eq!(read[3].event, current);
        // What export prints reads back into the same values.
        for r in &read {
            let line = serde_json::to_string(r).unwrap();
            assert_eq!(&serde_json::from_str::<Exported>(&line).unwrap(), r);
        }
    }
}
