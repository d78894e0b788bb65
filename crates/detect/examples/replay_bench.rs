//! How fast the detector replays records, and what an idle account costs it.
//!
//!     cargo run --release -p detect --example replay_bench [DAYS] [ACCOUNTS]
//!
//! Generates the simulated traffic first (untimed), then times `Detector::observe` over it on
//! one thread; then opens one session for each of 100,000 new accounts and reports the growth
//! of the process's resident memory per account.

use std::io::Write as _;
use std::time::Instant;

use detect::simulate::{Attack, Plan, records};
use detect::{Config, Detector, Mode};
use events::{Event, EventKind, Time};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let days: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    let accounts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let plan = Plan {
        seed: 3,
        start: Time::from_millis(1_793_491_200_000),
        days,
        accounts,
        attack: Some(Attack::LowAndSlow { day: days / 2 }),
    };
    let history = records(&plan);
    let mut d = Detector::new(Config::default());
    d.assume_established_before(Time::from_millis(plan.start.as_millis() + 86_400_000));
    let t = Instant::now();
    let mut alerts = 0;
    for r in &history {
        alerts += d.observe(Some(r.seq), &r.event, Mode::Replay).len();
    }
    let secs = t.elapsed().as_secs_f64();
    // Written, not printed: a reader that stops early (`| head`) ends the output, not in a panic.
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "replay: {} records ({days} days, {accounts} accounts) in {secs:.3} s: {:.2} million records/s on one thread; {alerts} alerts",
        history.len(),
        history.len() as f64 / secs / 1e6
    );

    let mut idle = Detector::new(Config::default());
    let before = rss_bytes();
    let n = 100_000;
    for i in 0..n {
        let mut e = Event::new(
            Time::from_millis(1_793_491_200_000 + i),
            EventKind::Session {
                opened: true,
                methods: None,
                credential: None,
                ended_by: None,
            },
        );
        e.account = Some(format!("account-{i:06}"));
        e.tenant = Some(format!("tenant-{:03}", i % 500));
        e.session = Some(format!("s{i}"));
        e.source = Some(
            format!("10.{}.{}.{}:4000", i % 200, (i / 200) % 250, i % 250)
                .parse()
                .unwrap(),
        );
        idle.observe(None, &e, Mode::Live);
        e.kind = EventKind::Session {
            opened: false,
            methods: None,
            credential: None,
            ended_by: None,
        };
        idle.observe(None, &e, Mode::Live);
    }
    let grown = rss_bytes().saturating_sub(before);
    let _ = writeln!(
        out,
        "idle accounts: {n} held, resident memory grew {:.1} MiB: {:.0} bytes per idle account",
        grown as f64 / (1 << 20) as f64,
        grown as f64 / n as f64
    );
}
