use super::*;
use events::FileRef;

const MIB: u64 = 1 << 20;
const T0: i64 = 1_800_000_000_000;
/// The summary of `mass_change` raised by mallory's 101st change under the defaults.
const MALLORYS_101_CHANGES: &str = "mallory removed, replaced or moved 101 files of others in \
                                    10 minutes, above 100 (its history and the floor)";

/// An event of tenant `acme` at `t`, as `who` (account, session, address).
fn event_of(t: i64, who: (&str, &str, &str), kind: EventKind) -> Event {
    let (account, session, ip) = who;
    let mut e = Event::new(Time::from_millis(t), kind);
    e.account = Some(account.into());
    e.tenant = Some("acme".into());
    e.session = Some(session.into());
    e.source = Some(format!("{ip}:40000").parse().unwrap());
    e.client_version = Some("SSH-2.0-OpenSSH_9.2".into());
    e
}

/// A request on file `id` (at `/f{id}`, 10 bytes) by `who` at `t`, with `outcome`.
fn file_event(t: i64, who: (&str, &str, &str), op: FileOp, id: i64, outcome: Outcome) -> Event {
    let kind = EventKind::File {
        op,
        path: format!("/f{id}"),
        file: Some(FileRef { id, size: 10 }),
        outcome,
    };
    event_of(t, who, kind)
}

struct Sim {
    d: Detector,
    seq: u64,
    alerts: Vec<Alert>,
}

impl Sim {
    fn new() -> Self {
        let mut d = Detector::new(Config::default());
        d.set_tenant_size("acme", 2048 * MIB, 1000);
        Self {
            d,
            seq: 0,
            alerts: Vec::new(),
        }
    }

    fn event(&mut self, t: i64, account: &str, session: &str, ip: &str, kind: EventKind) {
        let e = event_of(t, (account, session, ip), kind);
        self.seq += 1;
        let seq = self.seq;
        self.alerts
            .extend(self.d.observe(Some(seq), &e, Mode::Replay));
    }

    fn login(&mut self, t: i64, account: &str, session: &str, ip: &str) {
        self.event(
            t,
            account,
            session,
            ip,
            EventKind::Session {
                opened: true,
                methods: Some("publickey".into()),
                credential: None,
                ended_by: None,
            },
        );
    }

    fn logout(&mut self, t: i64, account: &str, session: &str, ip: &str) {
        self.event(
            t,
            account,
            session,
            ip,
            EventKind::Session {
                opened: false,
                methods: None,
                credential: None,
                ended_by: None,
            },
        );
    }

    fn file(&mut self, t: i64, account: &str, session: &str, ip: &str, op: FileOp, id: i64) {
        let path = format!("/f{id}");
        self.file_at(t, (account, session, ip), op, id, &path, 0);
    }

    /// An operation on file `id` at `path`, of `size` bytes.
    #[allow(clippy::too_many_arguments)]
    fn file_at(
        &mut self,
        t: i64,
        who: (&str, &str, &str),
        op: FileOp,
        id: i64,
        path: &str,
        size: u64,
    ) {
        let (account, session, ip) = who;
        self.event(
            t,
            account,
            session,
            ip,
            EventKind::File {
                op,
                path: path.into(),
                file: Some(FileRef { id, size }),
                outcome: Outcome::Ok,
            },
        );
    }

    /// A file read whole, a new one uploaded at `new` (`new_size` bytes) and the first removed
    /// (after the upload, or `remove_first`), as `who`, from `t`.
    #[allow(clippy::too_many_arguments)]
    fn rewrite(
        &mut self,
        t: i64,
        who: (&str, &str, &str),
        id: i64,
        path: &str,
        size: u64,
        new: &str,
        new_size: u64,
        remove_first: bool,
    ) {
        self.file_at(t, who, FileOp::OpenRead, id, path, size);
        let close = FileOp::CloseRead {
            bytes: size,
            whole_file: true,
            ranges: None,
        };
        self.file_at(t + 1, who, close, id, path, size);
        let (upload_at, remove_at) = if remove_first {
            (t + 3, t + 2)
        } else {
            (t + 2, t + 3)
        };
        self.file_at(upload_at, who, FileOp::OpenWrite, id + 1_000_000, new, 0);
        let close = FileOp::CloseWrite {
            bytes: new_size,
            replaced: None,
        };
        self.file_at(upload_at, who, close, id + 1_000_000, new, new_size);
        self.file_at(remove_at, who, FileOp::Remove, id, path, size);
    }

    /// One download of `bytes` (open, close) at `t`.
    fn get(&mut self, t: i64, account: &str, session: &str, ip: &str, id: i64, bytes: u64) {
        self.file(t, account, session, ip, FileOp::OpenRead, id);
        self.file(
            t + 10,
            account,
            session,
            ip,
            FileOp::CloseRead {
                bytes,
                whole_file: true,
                ranges: None,
            },
            id,
        );
    }

    fn put(&mut self, t: i64, account: &str, session: &str, ip: &str, id: i64, bytes: u64) {
        self.file(t, account, session, ip, FileOp::OpenWrite, id);
        self.file(
            t + 10,
            account,
            session,
            ip,
            FileOp::CloseWrite {
                bytes,
                replaced: None,
            },
            id,
        );
    }

    /// `account` removing files `ids`, one a millisecond from `t`.
    fn remove(
        &mut self,
        t: i64,
        account: &str,
        session: &str,
        ip: &str,
        ids: std::ops::Range<i64>,
    ) {
        for (n, id) in ids.enumerate() {
            self.file(t + n as i64, account, session, ip, FileOp::Remove, id);
        }
    }

    fn rules(&self) -> Vec<(&'static str, Severity)> {
        self.alerts
            .iter()
            .map(|a| (a.rule.id, a.severity))
            .collect()
    }

    /// Ten days of `account` reading `daily` bytes in 5 files from `ip`, once a day at 08:00.
    fn history_of_reads(&mut self, account: &str, ip: &str, daily: u64) {
        for day in 0..10 {
            let t = T0 + day * DAY_MS + 8 * HOUR_MS;
            let s = format!("{account}-h{day}");
            self.login(t, account, &s, ip);
            for f in 0..5 {
                self.get(t + f * 1000, account, &s, ip, f, daily / 5);
            }
            self.logout(t + 10_000, account, &s, ip);
        }
    }
}

#[test]
fn a_stolen_key_pulling_from_a_new_network_is_critical_before_64_mib() {
    let mut sim = Sim::new();
    sim.history_of_reads("robot", "10.0.0.1", 5 * MIB);
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    let t = T0 + 10 * DAY_MS + 3 * HOUR_MS;
    sim.login(t, "robot", "evil", "203.0.113.9");
    assert_eq!(sim.rules(), [("novelty", Severity::Medium)]);
    // Full speed: 1 MiB files, one every 3 ms.
    let mut taken = 0;
    for i in 0..200 {
        sim.get(
            t + 100 + i * 3,
            "robot",
            "evil",
            "203.0.113.9",
            100 + i,
            MIB,
        );
        taken += MIB;
        if sim.alerts.len() > 1 {
            break;
        }
    }
    let bulk = &sim.alerts[1];
    assert_eq!(
        (bulk.rule.id, bulk.severity),
        ("bulk_read", Severity::Critical)
    );
    assert!(taken <= 40 * MIB, "alerted only after {} MiB", taken / MIB);
    assert_eq!(bulk.sessions, ["evil"]);
    assert!(bulk.evidence.len() > 2 && bulk.summary.contains("network it never used"));
}

#[test]
fn a_brand_new_account_pulling_everything_is_caught_too() {
    let mut sim = Sim::new();
    let t = T0;
    sim.login(t, "fresh", "s1", "198.51.100.7");
    for i in 0..100 {
        sim.get(t + i * 5, "fresh", "s1", "198.51.100.7", i, MIB);
    }
    assert_eq!(
        sim.rules()[0],
        ("bulk_read", Severity::High),
        "{:?}",
        sim.rules()
    );
    // Once raised, not again within the cooldown.
    assert_eq!(sim.alerts.len(), 1);
}

#[test]
fn an_account_reading_as_it_always_does_raises_nothing() {
    let mut sim = Sim::new();
    sim.history_of_reads("partner", "10.0.0.1", 20 * MIB);
    let t = T0 + 10 * DAY_MS + 8 * HOUR_MS;
    sim.login(t, "partner", "today", "10.0.0.1");
    for i in 0..5 {
        sim.get(t + i * 1000, "partner", "today", "10.0.0.1", i, 8 * MIB);
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
}

#[test]
fn low_and_slow_reads_far_above_history_are_high_within_a_day() {
    let mut sim = Sim::new();
    sim.history_of_reads("partner", "10.0.0.1", 5 * MIB);
    let t = T0 + 10 * DAY_MS + 8 * HOUR_MS;
    sim.login(t, "partner", "slow", "10.0.0.1");
    // 2 MiB every 10 minutes: 12 MiB an hour, far below every per-hour floor.
    let mut when = None;
    for i in 0..144 {
        sim.get(
            t + i * 10 * MINUTE_MS,
            "partner",
            "slow",
            "10.0.0.1",
            500 + i,
            2 * MIB,
        );
        if !sim.alerts.is_empty() {
            when = Some(i * 10);
            break;
        }
    }
    assert_eq!(sim.rules(), [("low_and_slow", Severity::High)]);
    assert!(when.unwrap() < 24 * 60, "after {when:?} minutes");
}

#[test]
fn an_uploader_that_starts_reading_is_unproven() {
    let mut sim = Sim::new();
    for day in 0..10 {
        let t = T0 + day * DAY_MS + 23 * HOUR_MS;
        let s = format!("up{day}");
        sim.login(t, "batch", &s, "10.0.0.5");
        sim.put(t + 1000, "batch", &s, "10.0.0.5", day, 50 * MIB);
        sim.logout(t + 2000, "batch", &s, "10.0.0.5");
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    let t = T0 + 10 * DAY_MS + 23 * HOUR_MS;
    sim.login(t, "batch", "odd", "10.0.0.5");
    for i in 0..40 {
        sim.get(t + 100 + i * 10, "batch", "odd", "10.0.0.5", 1000 + i, MIB);
    }
    assert_eq!(
        sim.rules(),
        [("novelty", Severity::Medium), ("bulk_read", Severity::High)]
    );
}

#[test]
fn a_canary_is_critical_and_listing_it_is_nothing() {
    let mut sim = Sim::new();
    sim.d.set_canaries("acme", [77]);
    sim.login(T0, "alice", "s", "10.0.0.1");
    sim.file(T0 + 1, "alice", "s", "10.0.0.1", FileOp::Stat, 77);
    sim.file(
        T0 + 2,
        "alice",
        "s",
        "10.0.0.1",
        FileOp::Readdir { entries: Some(3) },
        1,
    );
    assert!(sim.alerts.is_empty());
    sim.file(
        T0 + 3,
        "alice",
        "s",
        "10.0.0.1",
        FileOp::Rename {
            to: None,
            replaced: None,
            moved: None,
        },
        77,
    );
    assert_eq!(sim.rules(), [("canary", Severity::Critical)]);
}

/// An open for writing on a canary: refused, it is critical at once; allowed, it is seen when
/// the upload commits (its close names the canary as what it replaced), not twice.
#[test]
fn a_refused_write_on_a_canary_is_critical_and_an_allowed_one_is_seen_once() {
    let mut sim = Sim::new();
    sim.d.set_canaries("acme", [77]);
    sim.login(T0, "mallory", "s", "10.0.0.1");
    sim.file(T0 + 1, "mallory", "s", "10.0.0.1", FileOp::OpenWrite, 77);
    assert!(sim.alerts.is_empty());
    sim.event(
        T0 + 2,
        "mallory",
        "s",
        "10.0.0.1",
        EventKind::File {
            op: FileOp::OpenWrite,
            path: "/f77".into(),
            file: Some(FileRef { id: 77, size: 900 }),
            outcome: Outcome::Denied("permission denied: this account is read-only".into()),
        },
    );
    assert_eq!(sim.rules(), [("canary", Severity::Critical)]);
}

#[test]
fn a_canary_overwritten_or_renamed_over_is_critical() {
    let mut sim = Sim::new();
    sim.d.set_canaries("acme", [77]);
    sim.login(T0, "mallory", "s", "10.0.0.1");
    // An upload of a new file and one over another file: nothing.
    let upload = |replaced| FileOp::CloseWrite {
        bytes: 10,
        replaced,
    };
    sim.file(T0 + 1, "mallory", "s", "10.0.0.1", upload(None), 5);
    let other = Some(FileRef { id: 6, size: 3 });
    sim.file(T0 + 2, "mallory", "s", "10.0.0.1", upload(other), 6);
    assert!(sim.alerts.is_empty());
    // Overwritten in place.
    let canary = Some(FileRef { id: 77, size: 900 });
    sim.file(T0 + 3, "mallory", "s", "10.0.0.1", upload(canary), 77);
    // Another file renamed over it (the record names the moving file, and the canary as what
    // it replaced).
    let over = FileOp::Rename {
        to: Some("/f77".into()),
        replaced: canary,
        moved: None,
    };
    sim.file(T0 + 4, "mallory", "s", "10.0.0.1", over, 5);
    assert_eq!(
        sim.rules(),
        [
            ("canary", Severity::Critical),
            ("canary", Severity::Critical)
        ]
    );
    let summaries: Vec<&str> = sim.alerts.iter().map(|a| a.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "mallory overwrote canary file /f77 in tenant acme",
            "mallory replaced canary file /f77 by renaming /f5 over it in tenant acme",
        ]
    );
}

#[test]
fn live_byte_counts_are_seen_while_a_large_file_is_read() {
    let mut sim = Sim::new();
    sim.login(T0, "fresh", "s1", "198.51.100.7");
    let mut e = Event::new(
        Time::from_millis(T0 + 1),
        EventKind::File {
            op: FileOp::OpenRead,
            path: "/big".into(),
            file: Some(FileRef {
                id: 1,
                size: 1 << 30,
            }),
            outcome: Outcome::Ok,
        },
    );
    e.account = Some("fresh".into());
    e.tenant = Some("acme".into());
    e.session = Some("s1".into());
    assert!(sim.d.observe(Some(9), &e, Mode::Live).is_empty());
    let mut alerted_at = None;
    for mib in 1..=64u64 {
        let a = sim
            .d
            .session_bytes("s1", mib * MIB, Time::from_millis(T0 + 2 + mib as i64));
        if !a.is_empty() {
            alerted_at = Some(mib);
            break;
        }
    }
    assert_eq!(alerted_at, Some(33), "the cautious budget is 32 MiB");
}

/// A new account opening many small files crosses the cautious count of files, not the bytes:
/// its alert says so.
#[test]
fn the_cautious_alert_names_the_limit_crossed() {
    let mut sim = Sim::new();
    sim.login(T0, "fresh", "s1", "198.51.100.7");
    for i in 0..=200 {
        sim.get(T0 + i, "fresh", "s1", "198.51.100.7", i, 100);
    }
    assert_eq!(sim.alerts.len(), 1);
    assert_eq!(
        sim.alerts[0].summary,
        "fresh read 0.0 MiB in 201 files within the hour, a new account; the cautious limit is \
         200 files an hour"
    );
    let mut sim = Sim::new();
    sim.login(T0, "fresh", "s1", "198.51.100.7");
    for i in 0..40 {
        sim.get(T0 + i, "fresh", "s1", "198.51.100.7", i, MIB);
    }
    assert!(
        sim.alerts[0]
            .summary
            .ends_with("a new account; the cautious budget is 32.0 MiB"),
        "{}",
        sim.alerts[0].summary
    );
}

#[test]
fn contained_accounts_stay_quiet_until_released() {
    let mut sim = Sim::new();
    sim.login(T0, "fresh", "s1", "198.51.100.7");
    for i in 0..40 {
        sim.get(T0 + i, "fresh", "s1", "198.51.100.7", i, MIB);
    }
    assert_eq!(sim.alerts.len(), 1);
    sim.d.contained("fresh", 0);
    sim.d.release("fresh");
    sim.get(T0 + 100, "fresh", "s1", "198.51.100.7", 999, MIB);
    assert_eq!(sim.alerts.len(), 2, "released: raised again");
    // Released by an unlock read from the catalog: only one made after its containment.
    sim.d.contained("fresh", 5_000);
    sim.d.unlocked_at("fresh", 4_999);
    sim.get(T0 + 200, "fresh", "s1", "198.51.100.7", 1999, MIB);
    assert_eq!(sim.alerts.len(), 2, "an older unlock releases nothing");
    sim.d.unlocked_at("fresh", 5_000);
    sim.get(T0 + 300, "fresh", "s1", "198.51.100.7", 2999, MIB);
    assert_eq!(sim.alerts.len(), 3, "unlocked since: raised again");
}

/// An account made under the name of a removed one does not inherit its state: contained, the
/// old one raised nothing more and held nothing; the new one is watched afresh, whether the
/// old one's state was forgotten at its removal or is found under the name with another
/// creation time, or (read from the history at start) from before the new one's creation.
#[test]
fn an_account_made_under_a_removed_ones_name_is_watched_afresh() {
    let contained = |created: Option<i64>| {
        let mut sim = Sim::new();
        if let Some(c) = created {
            sim.d
                .set_account_created("eve", "acme", Time::from_millis(c));
        }
        sim.login(T0, "eve", "s1", "198.51.100.7");
        for i in 0..40 {
            sim.get(T0 + i, "eve", "s1", "198.51.100.7", i, MIB);
        }
        assert_eq!(sim.alerts.len(), 1);
        sim.d.contained("eve", 0);
        sim.get(T0 + 100, "eve", "s1", "198.51.100.7", 999, MIB);
        assert_eq!(sim.alerts.len(), 1, "contained: quiet");
        sim
    };
    let again = |mut sim: Sim| {
        let later = T0 + HOUR_MS;
        sim.login(later, "eve", "s2", "203.0.113.9");
        for i in 0..40 {
            sim.get(later + i, "eve", "s2", "203.0.113.9", 2000 + i, MIB);
        }
        assert_eq!(sim.alerts.len(), 2, "the new eve is watched");
        assert!(
            sim.alerts[1].summary.contains("a new account"),
            "{:?}",
            sim.alerts[1]
        );
    };
    // Removed (the catalog no longer lists it), then made again.
    let mut sim = contained(None);
    sim.d
        .forget_removed_accounts(&HashSet::new(), Time::from_millis(T0 + 500));
    sim.d
        .set_account_created("eve", "acme", Time::from_millis(T0 + 1000));
    again(sim);
    // Removed and made again between two refreshes: another creation time.
    let mut sim = contained(Some(T0 - 1000));
    sim.d
        .set_account_created("eve", "acme", Time::from_millis(T0 + 1000));
    again(sim);
    // Its history read at start, the new account's creation learnt after.
    let mut sim = contained(None);
    sim.d
        .set_account_created("eve", "acme", Time::from_millis(T0 + 1000));
    again(sim);
    // The same account told again is kept as it is (still contained).
    let mut sim = contained(Some(T0 - 1000));
    sim.d
        .set_account_created("eve", "acme", Time::from_millis(T0 - 1000));
    sim.d
        .forget_removed_accounts(&HashSet::from(["eve"]), Time::from_millis(T0 + 500));
    // Nor is an account seen only after the listing (made since) forgotten.
    sim.login(T0 + 600, "mallory", "m", "10.0.0.9");
    sim.d
        .forget_removed_accounts(&HashSet::from(["eve"]), Time::from_millis(T0 + 500));
    assert!(sim.d.accounts.contains_key("mallory"));
    sim.d
        .forget_removed_accounts(&HashSet::from(["eve"]), Time::from_millis(T0 + 700));
    assert!(!sim.d.accounts.contains_key("mallory"));
    sim.get(T0 + HOUR_MS, "eve", "s1", "198.51.100.7", 3000, MIB);
    assert_eq!(sim.alerts.len(), 1, "still contained");
}

#[test]
fn overrides_apply_to_their_account_only() {
    let mut config = Config::default();
    config.account_overrides.insert(
        "sync".into(),
        Thresholds {
            cautious_bytes: 1 << 40,
            cautious_files: 1 << 40,
            ..Thresholds::default()
        },
    );
    assert_eq!(
        config
            .thresholds_for(Some("acme"), Some("sync"))
            .cautious_bytes,
        1 << 40
    );
    assert_eq!(
        config.thresholds_for(Some("acme"), Some("other")),
        Thresholds::default()
    );
}

/// Thirty simulated days of 200 accounts: no high or critical alert, at most one medium per
/// 100 account-days; a low-and-slow attacker mixed in is high within its first day.
#[test]
fn a_simulated_month_is_quiet_and_the_low_and_slow_attacker_is_not() {
    use crate::simulate::{ATTACKER, Attack, Plan, records};
    let plan = Plan {
        seed: 7,
        start: Time::from_millis(1_793_491_200_000), // 2026-11-01
        days: 30,
        accounts: 200,
        attack: Some(Attack::LowAndSlow { day: 20 }),
    };
    let history = records(&plan);
    let mut d = Detector::new(Config::default());
    d.assume_established_before(Time::from_millis(plan.start.as_millis() + DAY_MS));
    let mut normal = Vec::new();
    let mut attack = Vec::new();
    let mut accounts = HashSet::new();
    for r in &history {
        accounts.insert(r.event.account.clone());
        for a in d.observe(Some(r.seq), &r.event, Mode::Replay) {
            if a.source.is_some_and(|s| s.to_string() == ATTACKER) {
                attack.push(a);
            } else {
                normal.push(a);
            }
        }
    }
    let loud: Vec<_> = normal
        .iter()
        .filter(|a| a.severity >= Severity::High)
        .map(|a| &a.summary)
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
    let account_days = accounts.len() as f64 * 30.0;
    let mediums = normal
        .iter()
        .filter(|a| a.severity == Severity::Medium)
        .count();
    assert!(
        (mediums as f64) <= account_days / 100.0,
        "{mediums} medium alerts over {account_days} account-days"
    );
    let first_high = attack
        .iter()
        .find(|a| a.severity >= Severity::High)
        .expect("the attacker raised no high alert");
    let attack_start = plan.start.as_millis() + 20 * DAY_MS;
    assert!(
        first_high.time.as_millis() - attack_start < DAY_MS,
        "after {} h",
        (first_high.time.as_millis() - attack_start) / HOUR_MS
    );
    assert!(history.len() > 40_000, "{} records", history.len());
}

/// Files removed that the account had neither downloaded nor uploaded that day: above the floor
/// (100 within 10 minutes) the rule is high, once; a partner collecting its files (each read,
/// then removed) and a script tidying what it uploaded raise nothing however many; removals
/// spread over more than 10 minutes neither.
#[test]
fn removing_many_files_not_collected_is_high_and_collecting_is_nothing() {
    let mut sim = Sim::new();
    sim.login(T0, "partner", "p", "10.0.0.2");
    for i in 0..150 {
        let t = T0 + 10 + i * 100;
        sim.get(t, "partner", "p", "10.0.0.2", 5000 + i, 1000);
        sim.file(t + 50, "partner", "p", "10.0.0.2", FileOp::Remove, 5000 + i);
    }
    sim.login(T0, "uploader", "u", "10.0.0.3");
    for i in 0..300 {
        let t = T0 + 10 + i * 10;
        sim.put(t, "uploader", "u", "10.0.0.3", 9000 + i, 1000);
        sim.file(t + 5, "uploader", "u", "10.0.0.3", FileOp::Remove, 9000 + i);
    }
    sim.login(T0, "slow", "w", "10.0.0.4");
    for i in 0..300 {
        sim.file(
            T0 + i * 20_000,
            "slow",
            "w",
            "10.0.0.4",
            FileOp::Remove,
            20_000 + i,
        );
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    sim.login(T0, "mallory", "m", "10.0.0.1");
    sim.remove(T0 + 10, "mallory", "m", "10.0.0.1", 1000..1100);
    assert!(sim.alerts.is_empty());
    sim.remove(T0 + 110, "mallory", "m", "10.0.0.1", 1100..1300);
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
    assert_eq!(sim.alerts[0].summary, MALLORYS_101_CHANGES);
}

/// A change waits (in the server, until it is observed) where it may cross the `mass_change`
/// limit, counting the changes announced and not observed yet: the 101st, however few were
/// observed by then; not removals of what the account collected, not uploads of new files,
/// not once the window has emptied; and so does a request touching a canary, by anyone, and
/// no other.
#[test]
fn changes_near_the_limit_and_canaries_touched_are_observed_before_the_reply() {
    let mut sim = Sim::new();
    sim.d.set_canaries("acme", [77]);
    let request = |op, id, outcome| file_event(T0, ("bob", "b", "10.0.0.9"), op, id, outcome);
    let replaced = |id| Some(FileRef { id, size: 10 });
    for (op, id, outcome, before) in [
        (FileOp::OpenRead, 77, Outcome::Ok, true),
        (FileOp::OpenRead, 78, Outcome::Ok, false),
        (FileOp::Stat, 77, Outcome::Ok, false),
        (FileOp::Remove, 77, Outcome::Ok, true),
        (FileOp::OpenWrite, 77, Outcome::Ok, false),
        (
            FileOp::OpenWrite,
            77,
            Outcome::Denied("read-only".into()),
            true,
        ),
        (
            FileOp::CloseWrite {
                bytes: 1,
                replaced: replaced(77),
            },
            90,
            Outcome::Ok,
            true,
        ),
        (
            FileOp::Rename {
                to: Some("/g".into()),
                replaced: replaced(77),
                moved: None,
            },
            91,
            Outcome::Ok,
            true,
        ),
        (
            FileOp::Rename {
                to: Some("/g".into()),
                replaced: replaced(79),
                moved: None,
            },
            92,
            Outcome::Ok,
            false,
        ),
    ] {
        let e = request(op.clone(), id, outcome);
        assert_eq!(sim.d.observe_before_reply(&e), before, "{op:?} of {id}");
    }
    // As the server does: each change announced before its reply, observed some time later.
    let removal = |t, who, id| file_event(t, who, FileOp::Remove, id, Outcome::Ok);
    let partner = ("partner", "p", "10.0.0.2");
    sim.login(T0, "partner", "p", "10.0.0.2");
    for i in 0..80 {
        sim.get(T0 + 10 + i, "partner", "p", "10.0.0.2", 5000 + i, 1000);
        let e = removal(T0 + 20 + i, partner, 5000 + i);
        assert!(!sim.d.observe_before_reply(&e), "{i}");
        sim.d.observe(None, &e, Mode::Live);
    }
    // Uploads of new files, however many are not observed yet, are not counted.
    let bank = ("bank", "k", "10.0.0.5");
    sim.login(T0, "bank", "k", "10.0.0.5");
    for id in 8000..8200 {
        let new_file = FileOp::CloseWrite {
            bytes: 1,
            replaced: None,
        };
        let upload = file_event(T0 + 50, bank, new_file, id, Outcome::Ok);
        assert!(!sim.d.observe_before_reply(&upload));
    }
    // Mallory's 101st change announced may cross the limit (100), however few were observed
    // by then; the 100 before it do not wait.
    let mallory = ("mallory", "m", "10.0.0.1");
    sim.login(T0, "mallory", "m", "10.0.0.1");
    let mut announced = Vec::new();
    for id in 1000..1101 {
        let e = removal(T0 + 10, mallory, id);
        assert_eq!(sim.d.observe_before_reply(&e), id == 1100, "{id}");
        announced.push(e);
    }
    // The first 100 observed: no room left, so the next waits (the 101st's record is still
    // to come).
    for e in &announced[..100] {
        assert!(sim.d.observe(None, e, Mode::Live).is_empty());
    }
    assert!(sim.d.observe_before_reply(&removal(T0 + 20, mallory, 1101)));
    for id in [1100, 1101] {
        sim.d
            .observe(None, &removal(T0 + 20, mallory, id), Mode::Live);
    }
    // So is an account whose session's opening has not been observed yet either.
    let oscar = ("oscar", "o", "10.0.0.7");
    for id in 4000..4101 {
        let e = removal(T0 + 40, oscar, id);
        assert_eq!(sim.d.observe_before_reply(&e), id == 4100, "{id}");
    }
    // A request that changes nothing is not held back.
    let open = file_event(T0 + 30, mallory, FileOp::OpenRead, 3000, Outcome::Ok);
    assert!(!sim.d.observe_before_reply(&open));
    // Eleven minutes later the window holds one change: once it is observed, 99 are left.
    let t = T0 + 11 * 60_000;
    let e = removal(t, mallory, 2000);
    sim.d.observe_before_reply(&e);
    sim.d.observe(None, &e, Mode::Live);
    assert!(!sim.d.observe_before_reply(&removal(t + 1, mallory, 2001)));
    // Announced changes whose records never came are forgotten after a minute.
    for id in 2002..2100 {
        assert!(!sim.d.observe_before_reply(&removal(t + 2, mallory, id)));
    }
    assert!(sim.d.observe_before_reply(&removal(t + 3, mallory, 2100)));
    assert!(
        !sim.d
            .observe_before_reply(&removal(t + 70_000, mallory, 2101))
    );
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
}

/// An account's opens for reading wait for the detector only where they may cross a limit on
/// files: an unproven account's 201st open within the hour (its cautious limit is 200),
/// however far the observations lag, assumed unproven until its first read is observed; the
/// opens before it do not wait, nor any once it is contained.
#[test]
fn opens_that_may_cross_the_cautious_limit_are_observed_before_the_reply() {
    let eve = ("eve", "e", "10.0.0.6");
    let open = |t, id| file_event(t, eve, FileOp::OpenRead, id, Outcome::Ok);
    let mut sim = Sim::new();
    sim.login(T0, "eve", "e", "10.0.0.6");
    for id in 0..300 {
        let near = sim.d.observe_before_reply(&open(T0 + 10, id));
        assert_eq!(near, id >= 200, "{id}");
    }
    // A new account (unproven) that read one file: its 201st is the one that waits.
    let mut sim = Sim::new();
    sim.login(T0, "eve", "e", "10.0.0.6");
    sim.d.observe_before_reply(&open(T0 + 10, 1));
    sim.d.observe(None, &open(T0 + 10, 1), Mode::Live);
    for id in 2..=201 {
        let near = sim.d.observe_before_reply(&open(T0 + 20, id));
        assert_eq!(near, id == 201, "{id}");
    }
    for id in 2..=200 {
        assert!(
            sim.d
                .observe(None, &open(T0 + 30, id), Mode::Live)
                .is_empty()
        );
    }
    assert!(sim.d.observe_before_reply(&open(T0 + 40, 202)));
    sim.d.contained("eve", 0);
    assert!(!sim.d.observe_before_reply(&open(T0 + 50, 203)));
}

/// Files downloaded or uploaded on one day and removed on the next (a partner collecting in the
/// evening and clearing in the morning; a bank clearing what it published the day before) are
/// collected or its own: nothing. Thirty days later they are not known any more.
#[test]
fn removing_what_was_collected_or_uploaded_days_before_is_nothing() {
    let mut sim = Sim::new();
    let evening = T0 + 20 * HOUR_MS;
    sim.login(evening, "partner", "p", "10.0.0.2");
    sim.login(evening, "bank", "b", "10.0.0.3");
    for i in 0..150 {
        sim.get(
            evening + i * 100,
            "partner",
            "p",
            "10.0.0.2",
            5000 + i,
            1000,
        );
        sim.put(evening + i * 100, "bank", "b", "10.0.0.3", 9000 + i, 1000);
    }
    let morning = T0 + DAY_MS + 8 * HOUR_MS;
    sim.login(morning, "partner", "p2", "10.0.0.2");
    sim.login(morning, "bank", "b2", "10.0.0.3");
    sim.remove(morning, "partner", "p2", "10.0.0.2", 5000..5150);
    sim.remove(morning, "bank", "b2", "10.0.0.3", 9000..9150);
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    // The bank uploads again and, 31 days later, removes them all: no longer known.
    for i in 0..150 {
        sim.put(
            morning + HOUR_MS + i * 100,
            "bank",
            "b2",
            "10.0.0.3",
            20_000 + i,
            1000,
        );
    }
    let later = morning + 31 * DAY_MS;
    sim.login(later, "bank", "b3", "10.0.0.3");
    sim.remove(later, "bank", "b3", "10.0.0.3", 20_000..20_150);
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
}

/// An account that removes files it did not collect as its work (a clean-up job) has its own
/// history: four times its largest 10 minutes is its limit, above the floor; and the same
/// burst from a network it never used is critical.
#[test]
fn mass_change_is_judged_against_the_accounts_history() {
    let mut sim = Sim::new();
    for day in 0..3 {
        let t = T0 + day * DAY_MS + 8 * HOUR_MS;
        let s = format!("h{day}");
        sim.login(t, "cleaner", &s, "10.0.0.1");
        sim.remove(
            t + 10,
            "cleaner",
            &s,
            "10.0.0.1",
            day * 1000..day * 1000 + 90,
        );
        sim.logout(t + 10_000, "cleaner", &s, "10.0.0.1");
    }
    // 4 × 90 = 360: 300 is within its history (which then holds 300).
    let t = T0 + 3 * DAY_MS + 8 * HOUR_MS;
    sim.login(t, "cleaner", "d3", "10.0.0.1");
    sim.remove(t + 10, "cleaner", "d3", "10.0.0.1", 50_000..50_000 + 300);
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    let t = T0 + 4 * DAY_MS + 8 * HOUR_MS;
    sim.login(t, "cleaner", "d4", "10.9.0.9");
    let novelty = sim.alerts.len();
    // 4 × 300 = 1,200: 1,300 is not.
    sim.remove(t + 10, "cleaner", "d4", "10.9.0.9", 60_000..60_000 + 1300);
    let removal: Vec<_> = sim.rules().into_iter().skip(novelty).collect();
    assert_eq!(removal, [("mass_change", Severity::Critical)]);
    assert!(sim.alerts.last().unwrap().summary.contains("above 1200 "));
}

/// The files an account is known to have collected or uploaded are bounded: when full, the
/// oldest day's are forgotten first; a single day of more than the bound is remembered in part.
#[test]
fn known_files_forget_the_oldest_day_first() {
    let mut a = AccountState::new(Some("acme".into()));
    a.roll(T0);
    for id in 0..MAX_KNOWN_FILES as i64 + 10 {
        a.know(id, false);
    }
    assert_eq!(a.known.len(), MAX_KNOWN_FILES);
    a.roll(T0 + DAY_MS);
    a.know(-1, true);
    assert_eq!(a.known.len(), 1);
    assert!(a.known.contains_key(&-1) && !a.known.contains_key(&0));
    // Thirty days on, what was known is forgotten.
    a.roll(T0 + 31 * DAY_MS);
    assert!(a.known.is_empty());
}

/// Files replaced (an upload over them, a rename over them) count as removed ones do, unless
/// the account uploaded them: ransomware downloads each file and writes it back encrypted
/// (high past 100 within 10 minutes); a partner sending the same names again, the next day too,
/// replaces its own.
#[test]
fn replacing_files_of_others_is_high_and_sending_ones_own_again_is_nothing() {
    let mut sim = Sim::new();
    let upload_over = |id| FileOp::CloseWrite {
        bytes: 10,
        replaced: Some(FileRef { id, size: 10 }),
    };
    let rename_over = |id| FileOp::Rename {
        to: Some(format!("/f{id}")),
        replaced: Some(FileRef { id, size: 10 }),
        moved: None,
    };
    sim.login(T0, "partner", "p", "10.0.0.2");
    for i in 0..150 {
        sim.put(T0 + i * 100, "partner", "p", "10.0.0.2", 5000 + i, 10);
    }
    let next_day = T0 + DAY_MS;
    sim.login(next_day, "partner", "p2", "10.0.0.2");
    for i in 0..150 {
        // The same names again: over its own uploads, or a temporary file renamed over them.
        let op = if i % 2 == 0 {
            upload_over(5000 + i)
        } else {
            rename_over(5000 + i)
        };
        sim.file(next_day + i * 10, "partner", "p2", "10.0.0.2", op, 5000 + i);
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    sim.login(next_day, "mallory", "m", "10.0.0.1");
    for i in 0..120 {
        sim.get(next_day + i * 20, "mallory", "m", "10.0.0.1", 9000 + i, 10);
        sim.file(
            next_day + i * 20 + 15,
            "mallory",
            "m",
            "10.0.0.1",
            upload_over(9000 + i),
            9000 + i,
        );
    }
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
}

/// Files of others renamed away (to a name where nothing was, or their directory renamed) count
/// as removed ones do: gone from where their partners look for them (high past 100 within 10
/// minutes). A partner moving what it collected to `done/`, one claiming each file by renaming
/// it before downloading it (Apache Camel's `preMove`, or its `readLock=rename`: renamed and
/// back), and an account renaming its own uploads once complete, count nothing.
#[test]
fn moving_files_of_others_away_is_mass_change_and_moving_ones_own_is_not() {
    let mut sim = Sim::new();
    let moved = |id| FileOp::Rename {
        to: Some(format!("/done/f{id}")),
        replaced: None,
        moved: None,
    };
    sim.login(T0, "partner", "p", "10.0.0.2");
    sim.login(T0, "bank", "k", "10.0.0.5");
    sim.login(T0, "camel", "c", "10.0.0.6");
    let moved_back = |id| FileOp::Rename {
        to: Some(format!("/f{id}")),
        replaced: None,
        moved: None,
    };
    sim.login(T0, "locker", "l", "10.0.0.7");
    for i in 0..150 {
        sim.file(
            T0 + i * 10,
            "camel",
            "c",
            "10.0.0.6",
            moved(3000 + i),
            3000 + i,
        );
        sim.get(T0 + i * 10 + 2, "camel", "c", "10.0.0.6", 3000 + i, 10);
        // Camel's `readLock=rename`: each file renamed and back before it is downloaded.
        let locker = |sim: &mut Sim, t, op, id| sim.file(t, "locker", "l", "10.0.0.7", op, id);
        locker(&mut sim, T0 + i * 10, moved(4000 + i), 4000 + i);
        locker(&mut sim, T0 + i * 10 + 1, moved_back(4000 + i), 4000 + i);
        sim.get(T0 + i * 10 + 2, "locker", "l", "10.0.0.7", 4000 + i, 10);
        sim.get(T0 + i * 10, "partner", "p", "10.0.0.2", 5000 + i, 10);
        sim.file(
            T0 + i * 10 + 15,
            "partner",
            "p",
            "10.0.0.2",
            moved(5000 + i),
            5000 + i,
        );
        sim.put(T0 + i * 10, "bank", "k", "10.0.0.5", 7000 + i, 10);
        sim.file(
            T0 + i * 10 + 15,
            "bank",
            "k",
            "10.0.0.5",
            moved(7000 + i),
            7000 + i,
        );
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    sim.login(T0, "mallory", "m", "10.0.0.1");
    for i in 0..120 {
        sim.file(
            T0 + i * 10,
            "mallory",
            "m",
            "10.0.0.1",
            moved(9000 + i),
            9000 + i,
        );
    }
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
    assert_eq!(sim.alerts[0].summary, MALLORYS_101_CHANGES);
}

/// A directory renamed moves the files under it: each that its record names is judged as a
/// file moved (the bank renaming its own batch's directory, or a partner the directory it
/// collected, counts nothing; a stolen credential renaming a directory of 150 files it never
/// touched is `mass_change` at once), and a canary among them is touched.
#[test]
fn a_directory_renamed_moves_the_files_under_it() {
    let mut sim = Sim::new();
    let dir_moved = |ids: std::ops::Range<i64>| FileOp::Rename {
        to: Some("/elsewhere".into()),
        replaced: None,
        moved: Some(events::MovedFiles {
            count: ids.end as u64 - ids.start as u64,
            ids: ids.collect(),
        }),
    };
    sim.login(T0, "bank", "k", "10.0.0.5");
    sim.login(T0, "partner", "p", "10.0.0.2");
    for i in 0..150 {
        sim.put(T0 + i, "bank", "k", "10.0.0.5", 7000 + i, 10);
        sim.get(T0 + i, "partner", "p", "10.0.0.2", 5000 + i, 10);
    }
    sim.file(T0 + 500, "bank", "k", "10.0.0.5", dir_moved(7000..7150), 1);
    sim.file(
        T0 + 500,
        "partner",
        "p",
        "10.0.0.2",
        dir_moved(5000..5150),
        2,
    );
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    sim.login(T0, "mallory", "m", "10.0.0.1");
    sim.file(
        T0 + 600,
        "mallory",
        "m",
        "10.0.0.1",
        dir_moved(9000..9150),
        3,
    );
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
    assert!(
        sim.alerts[0]
            .summary
            .starts_with("mallory removed, replaced or moved 101 files"),
        "{}",
        sim.alerts[0].summary
    );
    // Its evidence names the rename's record once.
    assert_eq!(
        sim.alerts[0]
            .evidence
            .iter()
            .filter(|&&s| s == sim.seq)
            .count(),
        1
    );
    sim.d.set_canaries("acme", [8005]);
    sim.login(T0, "oscar", "o", "10.0.0.3");
    sim.file(T0 + 700, "oscar", "o", "10.0.0.3", dir_moved(8000..8010), 4);
    assert_eq!(sim.rules()[1], ("canary", Severity::Critical));
    assert!(
        sim.alerts[1].summary.contains("moved canary file 8005"),
        "{}",
        sim.alerts[1].summary
    );
}

/// Before a directory's rename is done, the detector tells whether it would take the account
/// past the `mass_change` limit (the server then refuses it): not for the bank's own batch, nor
/// for a directory of 60 files of others; for 150 of others, after 60 already moved, or for 60
/// of others in an account that moved 50 others' files within the 10 minutes. Its refusal's
/// record, observed, is judged as if the rename was done: contained.
#[test]
fn a_directory_rename_that_would_hide_files_is_told_before_it_is_done() {
    let mut sim = Sim::new();
    let dir = |ids: std::ops::Range<i64>, outcome| {
        let moved = events::MovedFiles {
            count: ids.end as u64 - ids.start as u64,
            ids: ids.collect(),
        };
        let op = FileOp::Rename {
            to: Some("/elsewhere".into()),
            replaced: None,
            moved: Some(moved),
        };
        let kind = EventKind::File {
            op,
            path: "/out".into(),
            file: None,
            outcome,
        };
        event_of(T0 + 500, ("mallory", "m", "10.0.0.1"), kind)
    };
    sim.login(T0, "bank", "k", "10.0.0.5");
    for i in 0..150 {
        sim.put(T0 + i, "bank", "k", "10.0.0.5", 7000 + i, 10);
    }
    let mut own = dir(7000..7150, Outcome::Ok);
    own.account = Some("bank".into());
    assert_eq!(sim.d.would_hide(&own), None);
    sim.login(T0, "mallory", "m", "10.0.0.1");
    assert_eq!(sim.d.would_hide(&dir(9000..9060, Outcome::Ok)), None);
    assert_eq!(sim.d.would_hide(&dir(9000..9150, Outcome::Ok)), Some(150));
    let moves = |sim: &mut Sim, ids: std::ops::Range<i64>| {
        for id in ids {
            let op = FileOp::Rename {
                to: Some(format!("/hidden/{id}")),
                replaced: None,
                moved: None,
            };
            sim.file(T0 + 100, "mallory", "m", "10.0.0.1", op, id);
        }
    };
    moves(&mut sim, 8000..8050);
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    // Past the limit with those 50; the files it moved already are not counted twice.
    assert_eq!(sim.d.would_hide(&dir(9000..9060, Outcome::Ok)), Some(60));
    assert_eq!(sim.d.would_hide(&dir(8000..8050, Outcome::Ok)), None);
    // The refusal's record: observed before its reply, and judged as if done.
    let refused = dir(9000..9060, Outcome::Denied("would move 60 files".into()));
    assert!(sim.d.observe_before_reply(&refused));
    sim.seq += 1;
    let alerts = sim.d.observe(Some(sim.seq), &refused, Mode::Replay);
    let rules: Vec<_> = alerts.iter().map(|a| (a.rule.id, a.severity)).collect();
    assert_eq!(rules, [("mass_change", Severity::High)]);
}

/// A directory of more files than its rename's record names (500) is judged by those it names:
/// the others' among them stand for as many in proportion among the rest. An account renaming
/// a directory of 1,000 files, 800 its own uploads, moves 200 of others': 100 of them named
/// (not past the limit alone), 100 more in proportion.
#[test]
fn a_large_directory_renamed_counts_the_files_it_does_not_name_in_proportion() {
    let mut sim = Sim::new();
    sim.login(T0, "ian", "i", "10.0.0.8");
    for i in 0..800 {
        sim.put(T0 + i, "ian", "i", "10.0.0.8", 20_000 + i, 10);
    }
    let named: Vec<i64> = (20_000..20_400).chain(30_000..30_100).collect();
    let rename = FileOp::Rename {
        to: Some("/elsewhere".into()),
        replaced: None,
        moved: Some(events::MovedFiles {
            count: 1000,
            ids: named,
        }),
    };
    sim.file(T0 + 1000, "ian", "i", "10.0.0.8", rename, 1);
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
    assert!(
        sim.alerts[0]
            .summary
            .starts_with("ian removed, replaced or moved 200 files"),
        "{}",
        sim.alerts[0].summary
    );
}

/// Ransomware that renames what it encrypts: each file downloaded, written back under its name
/// with an extension added (at least as large) and removed, in either order, is a file of
/// others rewritten: the 101st within 10 minutes is `mass_change`. A partner answering each
/// file it collects with a smaller acknowledgement named after it, one sending replies under
/// names of their own, and uploads named after removals more than 10 minutes before count
/// nothing.
#[test]
fn files_rewritten_under_new_names_are_mass_change() {
    let mut sim = Sim::new();
    let partner = ("partner", "p", "10.0.0.2");
    let replier = ("replier", "r", "10.0.0.3");
    let slow = ("slow", "s", "10.0.0.4");
    for (a, s, ip) in [partner, replier, slow] {
        sim.login(T0, a, s, ip);
    }
    for i in 0..150 {
        let t = T0 + 10 + i * 100;
        let path = format!("/in/pay{i}.csv");
        sim.rewrite(
            t,
            partner,
            1000 + i,
            &path,
            5000,
            &format!("{path}.ack"),
            64,
            i % 2 == 0,
        );
        let reply = format!("/out/reply{i}.csv");
        sim.rewrite(
            t,
            replier,
            2000 + i,
            &format!("/r/pay{i}.csv"),
            5000,
            &reply,
            5000,
            false,
        );
    }
    // Removed, and written back under a new name 11 minutes later.
    for i in 0..150 {
        let path = format!("/s/pay{i}.csv");
        let who = slow;
        sim.file_at(T0 + i, who, FileOp::OpenRead, 3000 + i, &path, 5000);
        sim.file_at(T0 + i, who, FileOp::Remove, 3000 + i, &path, 5000);
    }
    for i in 0..150 {
        let close = FileOp::CloseWrite {
            bytes: 5100,
            replaced: None,
        };
        let new = format!("/s/pay{i}.csv.locked");
        sim.file_at(T0 + 11 * MINUTE_MS + i, slow, close, 4000 + i, &new, 5100);
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());

    let mallory = ("mallory", "m", "10.0.0.1");
    sim.login(T0, "mallory", "m", "10.0.0.1");
    for i in 0..100 {
        let path = format!("/reports/r{i}.pdf");
        let new = format!("{path}.{i:08x}.lockbit");
        sim.rewrite(
            T0 + 10 + i * 50,
            mallory,
            5000 + i,
            &path,
            9000,
            &new,
            9040,
            i % 2 == 1,
        );
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    sim.rewrite(
        T0 + 6000,
        mallory,
        5100,
        "/reports/last",
        9000,
        "/reports/last.enc",
        9000,
        false,
    );
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
    assert_eq!(sim.alerts[0].summary, MALLORYS_101_CHANGES);
}

/// An upload written under a name of its own and then renamed is judged by its new name:
/// ransomware writing each file it downloaded to a temporary name, then naming it after the
/// original with its extension (`ledger.csv.locked`) and removing the original, rewrites files
/// of others (the 101st is `mass_change`); a partner uploading its acknowledgement as `.part`
/// and naming it `pay.csv.ack` once complete (smaller than what it collected) does not.
#[test]
fn uploads_renamed_to_names_after_files_removed_are_rewritten() {
    let mut sim = Sim::new();
    let partner = ("partner", "p", "10.0.0.2");
    let eve = ("eve", "e", "10.0.0.1");
    sim.login(T0, "partner", "p", "10.0.0.2");
    sim.login(T0, "eve", "e", "10.0.0.1");
    // Downloads `old`, writes `tmp`, renames it `new`, removes `old`.
    fn write_then_rename(
        sim: &mut Sim,
        t: i64,
        who: (&str, &str, &str),
        (old, size): (&str, u64),
        (id, tmp, new, new_size): (i64, &str, String, u64),
    ) {
        sim.file_at(t, who, FileOp::OpenRead, id - 1000, old, size);
        let read = FileOp::CloseRead {
            bytes: size,
            whole_file: true,
            ranges: None,
        };
        sim.file_at(t + 1, who, read, id - 1000, old, size);
        sim.file_at(t + 2, who, FileOp::OpenWrite, id, tmp, 0);
        let close = FileOp::CloseWrite {
            bytes: new_size,
            replaced: None,
        };
        sim.file_at(t + 2, who, close, id, tmp, new_size);
        let rename = FileOp::Rename {
            to: Some(new),
            replaced: None,
            moved: None,
        };
        sim.file_at(t + 3, who, rename, id, tmp, new_size);
        sim.file_at(t + 4, who, FileOp::Remove, id - 1000, old, size);
    }
    for i in 0..150 {
        let old = format!("/out/pay{i}.csv");
        let tmp = format!("/out/pay{i}.csv.ack.part");
        let new = (5000 + i, tmp.as_str(), format!("{old}.ack"), 64);
        write_then_rename(&mut sim, T0 + i * 10, partner, (&old, 5000), new);
    }
    assert!(sim.alerts.is_empty(), "{:?}", sim.rules());
    for i in 0..101 {
        let old = format!("/l/ledger{i}.csv");
        let tmp = format!("/tmp/t{i}");
        let new = (8000 + i, tmp.as_str(), format!("{old}.locked"), 5100);
        write_then_rename(&mut sim, T0 + i * 10, eve, (&old, 5000), new);
        assert_eq!(sim.alerts.is_empty(), i < 100, "{i}: {:?}", sim.rules());
    }
    assert_eq!(sim.rules(), [("mass_change", Severity::High)]);
}

/// The names an upload may have been derived from: cut at each dot of its last component (a
/// leading dot aside, at most four), never in a directory's name.
#[test]
fn names_an_upload_may_be_derived_from() {
    let names = |p: &str| {
        let (d, n) = derived_names(p);
        d[..usize::from(n)].to_vec()
    };
    let h = |p: &str| name_hash(p.as_bytes());
    assert_eq!(names("/r/a.csv.locked"), [h("/r/a"), h("/r/a.csv")]);
    assert_eq!(names("/v1.2/report"), Vec::<u64>::new());
    assert_eq!(names("/r/.hidden.enc"), [h("/r/.hidden")]);
    assert_eq!(names("a.b.c.d.e.f").len(), MAX_DERIVED);
}

/// Requests announced and not observed yet: counted while observations keep coming however
/// long the stream lasts (two behind for two minutes), forgotten only when none came for a
/// minute while some were pending.
#[test]
fn unobserved_requests_are_forgotten_only_when_observations_stop() {
    let mut u = Unobserved::default();
    for s in 0..120 {
        let now = T0 + s * 1000;
        assert_eq!(u.announce(now), if s < 2 { s as u32 + 1 } else { 3 });
        if s >= 2 {
            u.observed(now);
        }
    }
    assert_eq!(u.count(T0 + 120_000), 2);
    assert_eq!(u.count(T0 + 119_000 + 60_000), 2);
    assert_eq!(u.count(T0 + 119_000 + 60_001), 0);
}
