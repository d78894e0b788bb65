//! Synthetic traffic for testing the rules over simulated weeks (`strongroom detect simulate`):
//! ledger records in the export schema, from a seed. Per tenant: a bank's batch account that
//! uploads every night (more files at month end), partners that collect their files every
//! weekday morning from their own addresses (sometimes from a second known one, rarely from
//! somewhere new), people reading and writing small files during office hours, an account that
//! goes quiet, and new partners onboarding with small first downloads. An attack can be mixed
//! in. Pure: the seed is the randomness, the start time is given.

use std::net::SocketAddr;

use events::{Event, EventKind, Exported, FileOp, FileRef, Outcome, Time};

use crate::canary::Draw;

const MIB: u64 = 1 << 20;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// An attack mixed into the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// On `day`, one partner's key from a new address reads a 3 MiB file every 10 minutes
    /// from midnight: far below every per-hour floor, far above the account's history.
    LowAndSlow { day: i64 },
}

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub seed: u64,
    pub start: Time,
    pub days: i64,
    /// Accounts at the start (about ten per tenant); onboarding adds a few.
    pub accounts: usize,
    pub attack: Option<Attack>,
}

/// The attacker's address, for telling its alerts apart.
pub const ATTACKER: &str = "203.0.113.66";

struct Sim {
    d: Draw,
    out: Vec<Event>,
    session: u64,
    file: i64,
}

impl Sim {
    fn session(
        &mut self,
        t: i64,
        tenant: &str,
        account: &str,
        addr: &str,
        client: &str,
        ops: &[(FileOp, u64)],
    ) {
        self.session += 1;
        let id = format!("sim-{:08}", self.session);
        let source: SocketAddr = format!("{addr}:{}", 40_000 + self.d.below(20_000))
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let event = |at: i64, kind: EventKind| {
            let mut e = Event::new(Time::from_millis(at), kind);
            e.session = Some(id.clone());
            e.source = Some(source);
            e.account = Some(account.to_owned());
            e.tenant = Some(tenant.to_owned());
            e.client_version = Some(client.to_owned());
            e
        };
        self.out.push(event(
            t,
            EventKind::Session {
                opened: true,
                methods: Some("publickey".into()),
                credential: None,
                ended_by: None,
            },
        ));
        let mut at = t + 200;
        for (op, size) in ops {
            self.file += 1;
            let f = self.file;
            let file = Some(FileRef { id: f, size: *size });
            let path = format!("/{account}/f{f}.dat");
            let kinds: Vec<FileOp> = match op {
                FileOp::OpenRead => vec![
                    FileOp::OpenRead,
                    FileOp::CloseRead {
                        bytes: *size,
                        whole_file: true,
                        ranges: None,
                    },
                ],
                FileOp::OpenWrite => vec![
                    FileOp::OpenWrite,
                    FileOp::CloseWrite {
                        bytes: *size,
                        replaced: None,
                    },
                ],
                other => vec![other.clone()],
            };
            for k in kinds {
                self.out.push(event(
                    at,
                    EventKind::File {
                        op: k,
                        path: path.clone(),
                        file,
                        outcome: Outcome::Ok,
                    },
                ));
                // About 100 MiB/s, and a little think time.
                at += 50 + (*size / MIB) as i64 * 10;
            }
        }
        self.out.push(event(
            at + 100,
            EventKind::Session {
                opened: false,
                methods: None,
                credential: None,
                ended_by: None,
            },
        ));
    }

    fn size(&mut self, min_mib: u64, max_mib: u64) -> u64 {
        (min_mib * MIB + self.d.below((max_mib - min_mib) * MIB + 1)).max(1024)
    }
}

/// The records, in time order, numbered from 1.
pub fn records(plan: &Plan) -> Vec<Exported> {
    let mut s = Sim {
        d: Draw::new(plan.seed),
        out: Vec::new(),
        session: 0,
        file: 0,
    };
    let t0 = plan.start.as_millis();
    let tenants = plan.accounts.div_ceil(10).max(1);
    for day in 0..plan.days {
        let base = t0 + day * DAY;
        let weekday = day % 7 < 5;
        let month_end = day >= plan.days - 3;
        for n in 0..tenants {
            let tenant = format!("bank{n:02}");
            // The batch account: every night, more at month end.
            let files = 3 + s.d.below(6) + if month_end { 4 } else { 0 };
            let ops: Vec<(FileOp, u64)> = (0..files)
                .map(|_| (FileOp::OpenWrite, s.size(1, 20)))
                .collect();
            let t = base + 22 * HOUR + s.d.below(30 * 60_000) as i64;
            s.session(
                t,
                &tenant,
                &format!("{tenant}-batch"),
                &format!("10.{n}.0.10"),
                "SSH-2.0-Bank_Batch_2.1",
                &ops,
            );
            // Partners collect on weekday mornings, at their own hour.
            for k in 0..5u64 {
                // Every partner is there on the first two days, from both its addresses (the
                // replay's history starts with them).
                if day > 1 && (!weekday || s.d.below(10) == 0) {
                    continue;
                }
                let account = format!("{tenant}-partner{k}");
                let hour = 6 + (k as i64 % 3);
                let files = 1 + s.d.below(4) + if month_end { 2 } else { 0 };
                let mut ops = vec![(
                    FileOp::Readdir {
                        entries: Some(files),
                    },
                    0,
                )];
                ops.extend((0..files).map(|_| (FileOp::OpenRead, s.size(1, 15))));
                // Two known addresses from the first days; rarely, somewhere new (small).
                let roll = s.d.below(400);
                let addr = if day < 2 || roll < 20 {
                    format!("192.0.{n}.{}", k + 100 + (day as u64 % 2) * 50)
                } else if roll == 21 {
                    ops.truncate(2);
                    format!("198.18.{}.{}", s.d.below(250), s.d.below(250))
                } else {
                    format!("192.0.{n}.{}", k + 100)
                };
                let t = base + hour * HOUR + s.d.below(40 * 60_000) as i64;
                s.session(t, &tenant, &account, &addr, "SSH-2.0-OpenSSH_9.6", &ops);
            }
            // People: small reads and writes during office hours.
            for k in 0..3u64 {
                if day > 0 && !weekday {
                    continue;
                }
                for _ in 0..(1 + s.d.below(3)) {
                    let ops = vec![
                        (FileOp::Readdir { entries: Some(5) }, 0),
                        (FileOp::OpenRead, s.size(0, 2)),
                        (FileOp::OpenWrite, s.size(0, 1)),
                    ];
                    let t =
                        base + (8 + s.d.below(10) as i64) * HOUR + s.d.below(HOUR as u64) as i64;
                    s.session(
                        t,
                        &tenant,
                        &format!("{tenant}-user{k}"),
                        &format!("10.{n}.1.{}", 20 + k),
                        "SSH-2.0-WinSCP_6.3",
                        &ops,
                    );
                }
            }
            // An account that goes quiet after ten days.
            if day < 10 && (day == 0 || weekday) {
                let ops = vec![(FileOp::OpenRead, s.size(1, 5))];
                let t = base + 12 * HOUR;
                s.session(
                    t,
                    &tenant,
                    &format!("{tenant}-legacy"),
                    &format!("10.{n}.2.5"),
                    "SSH-2.0-JSCH-0.1.55",
                    &ops,
                );
            }
        }
        // A new partner every five days, in turn, starting small.
        for j in 0..=(day / 5) {
            if day < 5 {
                break;
            }
            let n = (j as usize * 7) % tenants;
            let tenant = format!("bank{n:02}");
            let ops = vec![
                (FileOp::OpenRead, s.size(0, 2)),
                (FileOp::OpenRead, s.size(0, 2)),
            ];
            let t = base + 10 * HOUR + j * 60_000;
            s.session(
                t,
                &tenant,
                &format!("{tenant}-new{j}"),
                &format!("100.64.{n}.{}", j % 250),
                "SSH-2.0-FileZilla_3.67",
                &ops,
            );
        }
        if let Some(Attack::LowAndSlow { day: d }) = plan.attack
            && d == day
        {
            for i in 0..144 {
                let ops = vec![(FileOp::OpenRead, 3 * MIB)];
                s.session(
                    base + i * 10 * 60_000,
                    "bank00",
                    "bank00-partner0",
                    ATTACKER,
                    "SSH-2.0-OpenSSH_9.6",
                    &ops,
                );
            }
        }
    }
    s.out.sort_by_key(|e| e.time);
    s.out
        .into_iter()
        .enumerate()
        .map(|(i, event)| Exported {
            seq: i as u64 + 1,
            hash: String::new(),
            event,
        })
        .collect()
}
