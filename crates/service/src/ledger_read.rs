//! Reading the ledger back as typed events: the records a filter selects, in sequence order,
//! each opened with the ledger body key and read in the current event schema (records of an
//! earlier schema are upgraded as they are read; the stored bytes, which the chain covers, are
//! never changed). `audit export` prints what this yields; the incident report and the
//! detector's rebuild read the ledger through it too.

use catalog::{LedgerEntry, LedgerFilter, LedgerStore};

use crate::gate::network::IpNet;
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
    /// A network selection holds too many addresses to read one by one.
    #[error("{0}")]
    TooWide(String),
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
            each(opened(body_key, &r)?)?;
        }
    }
}

/// Whether no record `filter` selects comes before sequence number `first` (where an index
/// begins: `LedgerStore::file_id_from`, `path_tag_from`), so that the index finds every one.
pub fn none_before(
    store: &LedgerStore,
    filter: &LedgerFilter,
    first: u64,
) -> Result<bool, LedgerReadError> {
    let before = LedgerFilter {
        before_seq: Some(first),
        ..filter.clone()
    };
    Ok(store.export(&before, 0, 1)?.is_empty())
}

/// The filters that select the records naming `path` in `tenant` (as their path, or as a
/// rename's `to`), through the path tag indexes (ledger migration 0006; read them with
/// [`for_each_of`], which hands each record on once).
pub fn naming_path(body_key: &LedgerBodyKey, tenant: &str, path: &str) -> [LedgerFilter; 2] {
    let tag = body_key.path_tag(tenant, path);
    [
        LedgerFilter {
            path_tag: Some(tag.clone()),
            ..LedgerFilter::default()
        },
        LedgerFilter {
            to_tag: Some(tag),
            ..LedgerFilter::default()
        },
    ]
}

/// Records of a session before its opening (its connection, its login attempts) looked
/// through at most for the opening ([`opening_of`]).
const MAX_BEFORE_OPENING: u32 = 64;

/// The record that opened `session` (its first of kind `session`), read through the session
/// index: found among its first `MAX_BEFORE_OPENING` records by their kind in clear, and
/// only that one opened.
pub fn opening_of(
    store: &LedgerStore,
    body_key: &LedgerBodyKey,
    session: &str,
) -> Result<Option<Exported>, LedgerReadError> {
    let of_session = LedgerFilter {
        session: Some(session.to_owned()),
        ..LedgerFilter::default()
    };
    let first = store.export(&of_session, 0, MAX_BEFORE_OPENING)?;
    match first.iter().find(|r| r.meta.kind == "session") {
        Some(r) => Ok(Some(opened(body_key, r)?)),
        None => Ok(None),
    }
}

/// Networks of at most this many addresses are read address by address as they are; a wider
/// one is read through the addresses the ledger holds in it ([`MAX_NETWORK_SOURCES`]).
pub const MAX_NETWORK_ADDRESSES: u32 = 256;

/// The most addresses of a wide network that the ledger may hold for a selection of it: each is
/// one pass over the ledger's source index, and a selection stays within seconds.
pub const MAX_NETWORK_SOURCES: usize = 4096;

/// Records read per query and filter when several filters are merged ([`for_each_of`]).
const MERGED_PAGE: u32 = 512;

/// `base` narrowed to each address of `net` (canonical, as the ledger records addresses), one
/// filter per address: every address of a network of at most [`MAX_NETWORK_ADDRESSES`], else
/// those the ledger's records carry (an IPv6 /64, an IPv4 /16: at most
/// [`MAX_NETWORK_SOURCES`] of them). `Err` says why a network cannot be selected.
pub fn address_filters(
    store: &LedgerStore,
    net: &IpNet,
    base: &LedgerFilter,
) -> Result<Vec<LedgerFilter>, LedgerReadError> {
    let narrowed = |addr: String| LedgerFilter {
        source: Some(addr),
        ..base.clone()
    };
    if net.max_prefix_len() - net.prefix_len() <= MAX_NETWORK_ADDRESSES.ilog2() as u8 {
        // Every address, the network's and broadcast ones included (`hosts` leaves them out).
        let all = net
            .subnets(net.max_prefix_len())
            .map_err(|e| LedgerReadError::TooWide(e.to_string()))?;
        return Ok(all.map(|host| narrowed(host.addr().to_string())).collect());
    }
    let mut seen: Vec<String> = store
        .sources()?
        .into_iter()
        .filter(|s| {
            s.parse::<std::net::IpAddr>()
                .is_ok_and(|addr| net.contains(&addr))
        })
        .collect();
    if seen.len() > MAX_NETWORK_SOURCES {
        return Err(LedgerReadError::TooWide(format!(
            "network {net} holds {} addresses the ledger has records of, more than \
             {MAX_NETWORK_SOURCES}: give a smaller one",
            seen.len()
        )));
    }
    seen.sort();
    Ok(seen.into_iter().map(narrowed).collect())
}

/// Calls `each` with every record any of `filters` selects, once, in sequence order (the
/// filters' records merged: the addresses of a network, each read through the ledger's
/// index); stops at the first error `each` returns. Holds at most a page per filter.
pub fn for_each_of<E>(
    store: &LedgerStore,
    body_key: &LedgerBodyKey,
    filters: &[LedgerFilter],
    mut each: impl FnMut(Exported) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<LedgerReadError>,
{
    if let [one] = filters {
        return for_each(store, body_key, one, each);
    }
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    /// A filter's records read and not yet handed on, and where its next page starts.
    struct Cursor {
        read: VecDeque<LedgerEntry>,
        after: u64,
        done: bool,
    }
    let mut cursors: Vec<Cursor> = filters
        .iter()
        .map(|_| Cursor {
            read: VecDeque::new(),
            after: 0,
            done: false,
        })
        .collect();
    // Refills cursor `i` if it has run dry; its next record's seq, if any.
    let next = |i: usize, c: &mut Cursor| -> Result<Option<u64>, LedgerReadError> {
        if c.read.is_empty() && !c.done {
            let page = store.export(&filters[i], c.after, MERGED_PAGE)?;
            c.done = page.len() < MERGED_PAGE as usize;
            c.after = page.last().map_or(c.after, |r| r.seq);
            c.read.extend(page);
        }
        Ok(c.read.front().map(|r| r.seq))
    };
    // The cursors by their next record's seq, smallest first.
    let mut heap = BinaryHeap::new();
    for (i, c) in cursors.iter_mut().enumerate() {
        if let Some(seq) = next(i, c)? {
            heap.push(Reverse((seq, i)));
        }
    }
    let mut last = None;
    while let Some(Reverse((seq, i))) = heap.pop() {
        let c = &mut cursors[i];
        let Some(r) = c.read.pop_front() else {
            continue;
        };
        // A record two filters select is handed on once.
        if last != Some(seq) {
            last = Some(seq);
            each(opened(body_key, &r)?)?;
        }
        if let Some(seq) = next(i, c)? {
            heap.push(Reverse((seq, i)));
        }
    }
    Ok(())
}

/// A stored record opened with the ledger body key and read in the current schema.
fn opened(body_key: &LedgerBodyKey, r: &LedgerEntry) -> Result<Exported, LedgerReadError> {
    let body = body_key
        .open(&r.sealed_event)
        .map_err(|_| LedgerReadError::Sealed(r.seq))?;
    let event = Event::from_stored(&body).map_err(|e| LedgerReadError::Unreadable {
        seq: r.seq,
        why: e.to_string(),
    })?;
    Ok(Exported {
        seq: r.seq,
        hash: hex::encode(r.hash),
        event,
    })
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
                    whole_file: true,
                    ranges: None,
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

    /// Several filters' records come out merged in ledger order, each record once, however
    /// many pages each filter takes and whichever filters select it.
    #[test]
    fn merged_filters_give_each_record_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = LedgerStore::open(&dir.path().join("ledger.db")).unwrap();
        let (body_key, _) = vault::MasterKey::generate().new_ledger_body_key();
        // 3,000 records from four addresses in turn (pages of 512 per filter).
        let batch: Vec<_> = (0..3000u64)
            .map(|i| {
                let mut e = events::Event::new(
                    Time::from_millis(1_800_000_000_000 + i as i64),
                    EventKind::File {
                        op: FileOp::Stat,
                        path: format!("/f{i}"),
                        file: None,
                        outcome: Outcome::Ok,
                    },
                );
                e.source = Some(format!("10.0.0.{}:22", i % 4).parse().unwrap());
                e.account = Some(if i % 7 == 0 { "eve" } else { "bob" }.into());
                crate::audit::stored(&e, &body_key)
            })
            .collect();
        store.append(&batch).unwrap();
        let read = |filters: &[LedgerFilter]| {
            let mut seqs = Vec::new();
            for_each_of(&store, &body_key, filters, |r| {
                seqs.push(r.seq);
                Ok::<_, LedgerReadError>(())
            })
            .unwrap();
            seqs
        };
        // A /31: addresses .0 and .1.
        let net: IpNet = "10.0.0.0/31".parse().unwrap();
        let filters = address_filters(&store, &net, &LedgerFilter::default()).unwrap();
        assert_eq!(filters.len(), 2);
        let want: Vec<u64> = (1..=3000).filter(|s| (s - 1) % 4 < 2).collect();
        assert_eq!(read(&filters), want);
        // A /8: the addresses the ledger holds in it (four), not sixteen million.
        let wide: IpNet = "10.0.0.0/8".parse().unwrap();
        let filters = address_filters(&store, &wide, &LedgerFilter::default()).unwrap();
        let sources: Vec<_> = filters.iter().map(|f| f.source.clone().unwrap()).collect();
        assert_eq!(sources, ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        assert_eq!(read(&filters), (1..=3000).collect::<Vec<u64>>());
        let elsewhere: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(
            address_filters(&store, &elsewhere, &LedgerFilter::default())
                .unwrap()
                .is_empty()
        );
        // Overlapping filters: a record both select is handed on once.
        let overlapping = [
            LedgerFilter {
                account: Some("eve".into()),
                ..Default::default()
            },
            LedgerFilter {
                source: Some("10.0.0.0".into()),
                ..Default::default()
            },
        ];
        let want: Vec<u64> = (1..=3000)
            .filter(|s| (s - 1) % 7 == 0 || (s - 1) % 4 == 0)
            .collect();
        assert_eq!(read(&overlapping), want);
        // More addresses in a wide network than a selection reads one by one: refused, with why.
        let many: Vec<_> = (0..=MAX_NETWORK_SOURCES as u32)
            .map(|i| {
                let mut e = events::Event::new(
                    Time::from_millis(1_900_000_000_000),
                    EventKind::File {
                        op: FileOp::Stat,
                        path: "/x".into(),
                        file: None,
                        outcome: Outcome::Ok,
                    },
                );
                e.source = Some(format!("10.1.{}.{}:22", i / 256, i % 256).parse().unwrap());
                crate::audit::stored(&e, &body_key)
            })
            .collect();
        store.append(&many).unwrap();
        let crowded: IpNet = "10.1.0.0/16".parse().unwrap();
        let refused = address_filters(&store, &crowded, &LedgerFilter::default()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "network 10.1.0.0/16 holds 4097 addresses the ledger has records of, more than 4096: \
             give a smaller one"
        );
        // Every address of a /24, the network's and broadcast ones too, without reading the
        // ledger's addresses.
        let widest: IpNet = "10.0.0.0/24".parse().unwrap();
        let filters = address_filters(&store, &widest, &LedgerFilter::default()).unwrap();
        assert_eq!(filters.len(), 256);
        assert_eq!(filters[0].source.as_deref(), Some("10.0.0.0"));
        assert_eq!(filters[255].source.as_deref(), Some("10.0.0.255"));
    }
}
