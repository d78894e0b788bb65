//! The detector, pure: ledger events (with their sequence numbers) and the live byte counts of
//! sessions in, alerts out. No I/O and no clock: every observation carries its time, so the
//! same code runs live in the server, over the ledger at start (to rebuild its state), and
//! over an exported history (`strongroom detect replay`).
//!
//! State is bounded: per account, sliding windows in fixed buckets, 30 days of daily totals,
//! at most [`MAX_NETWORKS`] networks and [`MAX_CLIENTS`] client versions; per live session a
//! few counters and at most [`MAX_EVIDENCE`] record numbers; per tenant its size and canaries.
//! What it learns (an account's networks, clients, hours, daily volumes) comes from the
//! account's own history; an account with little history is judged by cautious defaults.
//!
//! Never here: containment (the server acts on alerts), storage, time of day from a clock.

pub mod canary;
pub mod rules;
pub mod simulate;
mod window;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

use events::{Event, EventKind, FileOp, FileRef, Outcome, Severity, Time};
use rules::{Rule, Thresholds};
use window::Window;

/// Networks remembered per account (the oldest forgotten first).
pub const MAX_NETWORKS: usize = 64;
/// Client versions remembered per account.
pub const MAX_CLIENTS: usize = 16;
/// Record numbers kept as evidence per account.
pub const MAX_EVIDENCE: usize = 64;
/// Days of history per account.
pub const HISTORY_DAYS: usize = 30;
/// Distinct files counted per account per day (beyond, only the count of opens grows).
pub const MAX_DISTINCT_FILES: usize = 100_000;
/// Files remembered per account as downloaded or uploaded within [`HISTORY_DAYS`] (for
/// `mass_change`: removing them is collecting or tidying, replacing what it uploaded is
/// sending again); beyond, the oldest day's are forgotten first (a day of more than this is
/// remembered in part).
pub const MAX_KNOWN_FILES: usize = 100_000;
/// Uploads of new files, and removals of files it had downloaded, remembered per account for
/// 10 minutes to be paired as files rewritten under new names (`mass_change`), and files of
/// others it moved, to be taken back when it collects them; beyond, the oldest are forgotten
/// first.
pub const MAX_RECENT_NAMES: usize = 4096;
/// The names an upload may have been derived from: its name cut at its first this many dots.
const MAX_DERIVED: usize = 4;
/// The same rule is not raised again for the same account within this time.
pub const COOLDOWN_MS: i64 = 3_600_000;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// How addresses are grouped into networks for novelty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkPrefixes {
    pub v4: u8,
    pub v6: u8,
}

impl Default for NetworkPrefixes {
    fn default() -> Self {
        Self { v4: 24, v6: 48 }
    }
}

/// The detector's configuration: default thresholds and overrides.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub thresholds: Thresholds,
    pub tenant_overrides: HashMap<String, Thresholds>,
    pub account_overrides: HashMap<String, Thresholds>,
    pub prefixes: NetworkPrefixes,
}

impl Config {
    /// The thresholds in force for `account` of `tenant` (the account's override, else the
    /// tenant's, else the defaults).
    pub fn thresholds_for(&self, tenant: Option<&str>, account: Option<&str>) -> Thresholds {
        account
            .and_then(|a| self.account_overrides.get(a))
            .or_else(|| tenant.and_then(|t| self.tenant_overrides.get(t)))
            .copied()
            .unwrap_or(self.thresholds)
    }
}

/// An alert, before the server gives it an id and acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub time: Time,
    pub severity: Severity,
    pub rule: Rule,
    pub account: Option<String>,
    pub tenant: Option<String>,
    pub source: Option<IpAddr>,
    /// The account's live sessions (the one that crossed the threshold first).
    pub sessions: Vec<String>,
    pub summary: String,
    /// Sequence numbers of the ledger records behind it.
    pub evidence: Vec<u64>,
}

/// Where byte counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Live: sessions' byte counters are reported as they grow ([`Detector::session_bytes`]);
    /// progress and close records are evidence only.
    Live,
    /// Replay: bytes come from the records' progress and close counts.
    Replay,
}

#[derive(Debug, Clone, Copy, Default)]
struct Day {
    index: i64,
    read_bytes: u64,
    read_files: u64,
    peak_minute_bytes: u64,
    peak_hour_bytes: u64,
    peak_minute_files: u64,
    peak_hour_files: u64,
    /// The most files removed, moved or replaced within 10 minutes that count for
    /// `mass_change`.
    peak_changes: u64,
}

/// How a file of others was changed ([`Detector::change`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Removed,
    Replaced,
    /// Renamed to a name where nothing was (or its directory renamed): gone from where its
    /// partners look for it, as a removal is; taken back when the account opens it for reading
    /// within the 10 minutes (it claimed the file, then collected it).
    Moved,
    /// This many files moved with a directory whose record does not name them (it names 500):
    /// as many as were others' among those it names, in proportion.
    MovedUnnamed(u64),
    /// Downloaded, then written back under a new name (its name with an extension added, at
    /// least as large) and removed, in either order, within 10 minutes: as ransomware does
    /// that renames what it encrypts.
    Rewritten,
}

/// An upload of a new file within the last 10 minutes: the names it may have been derived
/// from, hashed ([`derived_names`]), and its size.
#[derive(Debug, Clone, Copy)]
struct NewName {
    time: i64,
    size: u64,
    derived: [u64; MAX_DERIVED],
    len: u8,
}

/// A removal, within the last 10 minutes, of a file the account had downloaded: its name,
/// hashed, and its size.
#[derive(Debug, Clone, Copy)]
struct RemovedDownload {
    time: i64,
    size: u64,
    name: u64,
}

/// An account's uploads of new files and removals of files it had downloaded within the last
/// 10 minutes, not yet paired as files rewritten under new names; and the files of others it
/// moved within them, counted as changes, that it has not opened for reading since (at most
/// [`MAX_RECENT_NAMES`] each).
#[derive(Debug, Default)]
struct RecentNames {
    new_names: VecDeque<NewName>,
    removed_downloads: VecDeque<RemovedDownload>,
    /// (when, file id).
    moved: VecDeque<(i64, i64)>,
}

impl RecentNames {
    /// Forgets the uploads and removals older than 10 minutes that were not paired.
    fn forget_old_names(&mut self, now: i64) {
        let since = now - 10 * MINUTE_MS;
        while self.new_names.front().is_some_and(|n| n.time < since) {
            self.new_names.pop_front();
        }
        while self
            .removed_downloads
            .front()
            .is_some_and(|r| r.time < since)
        {
            self.removed_downloads.pop_front();
        }
        while self.moved.front().is_some_and(|m| m.0 < since) {
            self.moved.pop_front();
        }
    }

    /// A file of others moved at `now`: whether it was moved before within 10 minutes (and so
    /// counted then: a file moved on, or back, is hidden once); else it is remembered until it
    /// is collected.
    fn moved(&mut self, now: i64, id: i64) -> bool {
        self.forget_old_names(now);
        if self.was_moved(id) {
            return true;
        }
        if self.moved.len() == MAX_RECENT_NAMES {
            self.moved.pop_front();
        }
        self.moved.push_back((now, id));
        false
    }

    /// Whether file `id` is among those moved within the last 10 minutes (as of the last
    /// [`RecentNames::forget_old_names`]).
    fn was_moved(&self, id: i64) -> bool {
        self.moved.iter().any(|m| m.1 == id)
    }

    /// File `id` opened for reading at `now`: if the account moved it within the last 10
    /// minutes, when (that change is to be taken back: the file was claimed, then collected);
    /// the move is forgotten.
    fn collected(&mut self, now: i64, id: i64) -> Option<i64> {
        self.forget_old_names(now);
        let i = self.moved.iter().rposition(|m| m.1 == id)?;
        self.moved.remove(i).map(|m| m.0)
    }

    /// A file it had downloaded, at `path` of `size` bytes, removed: whether an upload within
    /// 10 minutes, at least as large, was named after it (and so is its rewriting, taken);
    /// else the removal is remembered for an upload to come.
    fn removed_download(&mut self, now: i64, path: &str, size: u64) -> bool {
        self.forget_old_names(now);
        let name = name_hash(path.as_bytes());
        let found = self
            .new_names
            .iter()
            .position(|n| n.size >= size && n.derived[..usize::from(n.len)].contains(&name));
        if let Some(i) = found {
            self.new_names.remove(i);
            return true;
        }
        if self.removed_downloads.len() == MAX_RECENT_NAMES {
            self.removed_downloads.pop_front();
        }
        self.removed_downloads.push_back(RemovedDownload {
            time: now,
            size,
            name,
        });
        false
    }

    /// A new file uploaded at `path`, `size` bytes: whether a file it had downloaded and
    /// removed within 10 minutes, no larger, is what it was named after (and so this is its
    /// rewriting, taken); else the upload is remembered for a removal to come.
    fn uploaded_new(&mut self, now: i64, path: &str, size: u64) -> bool {
        self.forget_old_names(now);
        let (derived, len) = derived_names(path);
        if len == 0 {
            return false;
        }
        let derived_from = &derived[..usize::from(len)];
        let found = self
            .removed_downloads
            .iter()
            .position(|r| r.size <= size && derived_from.contains(&r.name));
        if let Some(i) = found {
            self.removed_downloads.remove(i);
            return true;
        }
        if self.new_names.len() == MAX_RECENT_NAMES {
            self.new_names.pop_front();
        }
        self.new_names.push_back(NewName {
            time: now,
            size,
            derived,
            len,
        });
        false
    }
}

/// A path's hash (FNV-1a): the names paired for `mass_change` are compared by it.
fn name_hash(path: &[u8]) -> u64 {
    path.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The names an upload at `path` may have been derived from, hashed: its last component cut
/// at each of its first [`MAX_DERIVED`] dots (`/r/report.csv.locked`: `/r/report`,
/// `/r/report.csv`), a dot that begins it aside.
fn derived_names(path: &str) -> ([u64; MAX_DERIVED], u8) {
    let bytes = path.as_bytes();
    let base = path.rfind('/').map_or(0, |p| p + 1);
    let mut out = [0; MAX_DERIVED];
    let mut len = 0;
    for (i, &b) in bytes.iter().enumerate().skip(base + 1) {
        if b == b'.' {
            out[len] = name_hash(&bytes[..i]);
            len += 1;
            if len == MAX_DERIVED {
                break;
            }
        }
    }
    (out, len as u8)
}

struct AccountState {
    tenant: Option<String>,
    minute: Window,
    hour: Window,
    day: Window,
    listings: Window,
    reads: Window,
    /// Files of others removed, moved or replaced by the account ([`AccountState::known`]).
    changes: Window,
    today: Day,
    history: VecDeque<Day>,
    first_day: Option<i64>,
    networks: VecDeque<IpAddr>,
    clients: VecDeque<String>,
    hours: u32,
    reads_ever: bool,
    writes_ever: bool,
    files_today: HashSet<i64>,
    /// Files the account downloaded or uploaded within [`HISTORY_DAYS`] (id → the day it last
    /// did, and whether it ever uploaded it): removing them is collecting or tidying its own,
    /// and replacing one it uploaded is sending it again, not destroying others'.
    known: HashMap<i64, (i64, bool)>,
    /// Uploads of new files and removals of files it had downloaded, not yet paired as files
    /// rewritten under new names (made at the first; an idle account holds none).
    recent: Option<Box<RecentNames>>,
    evidence: VecDeque<u64>,
    sessions: Vec<String>,
    last_alert: HashMap<&'static str, i64>,
    /// Contained: nothing more is raised for it until released (an administrator unlocks);
    /// since when (Unix milliseconds: an unlock before then releases nothing).
    contained: bool,
    contained_at: i64,
    /// Changes of others' files left before `mass_change`'s limit, as of its last such change
    /// observed; its changes of files that were there announced before their replies and not
    /// observed yet ([`Detector::observe_before_reply`]).
    change_room: Option<u32>,
    changes_unobserved: Unobserved,
    /// Files left to open for reading before the nearest limit on files (the cautious limit
    /// while unproven, else `bulk_read`'s per minute, hour and day, and `breadth`'s), as of its
    /// last read observed; its opens for reading announced and not observed yet.
    read_room: Option<u32>,
    reads_unobserved: Unobserved,
    /// When the account was created (ms), when known (live: from the catalog).
    created: Option<i64>,
    /// When the detector first saw it (ms).
    first_seen: Option<i64>,
}

impl AccountState {
    fn new(tenant: Option<String>) -> Self {
        Self {
            tenant,
            minute: Window::new(MINUTE_MS, 12),
            hour: Window::new(HOUR_MS, 60),
            day: Window::new(DAY_MS, 24),
            listings: Window::new(10 * MINUTE_MS, 10),
            reads: Window::new(10 * MINUTE_MS, 10),
            changes: Window::new(10 * MINUTE_MS, 10),
            today: Day::default(),
            // Grown as days pass: an idle account holds none.
            history: VecDeque::new(),
            first_day: None,
            networks: VecDeque::new(),
            clients: VecDeque::new(),
            hours: 0,
            reads_ever: false,
            writes_ever: false,
            files_today: HashSet::new(),
            known: HashMap::new(),
            recent: None,
            evidence: VecDeque::new(),
            sessions: Vec::new(),
            last_alert: HashMap::new(),
            contained: false,
            contained_at: 0,
            change_room: None,
            changes_unobserved: Unobserved::default(),
            read_room: None,
            reads_unobserved: Unobserved::default(),
            created: None,
            first_seen: None,
        }
    }

    /// Whether the account is young: created (or, when its creation is unknown, first seen
    /// after the detector's established cut-off) less than `min_days` ago. A young account's
    /// sessions are unproven: a brand-new account is protected from its first login.
    fn young(&self, now: i64, min_days: u64, established_before: Option<i64>) -> bool {
        let born = match (self.created, established_before) {
            (Some(c), _) => c,
            (None, Some(cut)) if self.first_seen.is_some_and(|f| f < cut) => return false,
            (None, _) => self.first_seen.unwrap_or(now),
        };
        now - born < min_days as i64 * DAY_MS
    }

    /// Moves to the day of `now`, closing the days in between into the history.
    fn roll(&mut self, now: i64) {
        self.first_seen.get_or_insert(now);
        let index = now.div_euclid(DAY_MS);
        self.first_day.get_or_insert(index);
        if self.today.index == index {
            return;
        }
        if self.today.index != 0 || self.today.read_bytes != 0 {
            let gap = (index - self.today.index).clamp(1, HISTORY_DAYS as i64);
            self.history.push_back(self.today);
            for _ in 1..gap {
                self.history.push_back(Day::default());
            }
            while self.history.len() > HISTORY_DAYS {
                self.history.pop_front();
            }
        }
        self.today = Day {
            index,
            ..Day::default()
        };
        self.files_today.clear();
        let oldest = index - HISTORY_DAYS as i64;
        self.known.retain(|_, k| k.0 > oldest);
    }

    /// Remembers that the account downloaded (or, `uploaded`, uploaded) file `id` today; when
    /// [`MAX_KNOWN_FILES`] are, the oldest day's are forgotten first.
    fn know(&mut self, id: i64, uploaded: bool) {
        let today = self.today.index;
        let before = self.known.get(&id).copied();
        if before.is_none() && self.known.len() >= MAX_KNOWN_FILES {
            let oldest = self.known.values().map(|k| k.0).min().unwrap_or(today);
            if oldest == today {
                return;
            }
            self.known.retain(|_, k| k.0 > oldest);
        }
        let uploaded = uploaded || before.is_some_and(|k| k.1);
        self.known.insert(id, (today, uploaded));
    }

    fn history_days(&self, now: i64) -> u64 {
        self.first_day
            .map_or(0, |f| (now.div_euclid(DAY_MS) - f).max(0) as u64)
    }

    fn peak<F: Fn(&Day) -> u64>(&self, f: F) -> u64 {
        self.history.iter().map(f).max().unwrap_or(0)
    }

    /// The `mass_change` limit: the floor, or its history's largest 10 minutes of changes
    /// times the multiplier, whichever is higher.
    fn change_limit(&self, t: &rules::Thresholds) -> u64 {
        t.change_files
            .max(t.history_multiplier * self.peak(|d| d.peak_changes))
    }

    fn cooled(&mut self, rule: &'static str, now: i64) -> bool {
        match self.last_alert.get(rule) {
            Some(t) if now - t < COOLDOWN_MS => false,
            _ => {
                self.last_alert.insert(rule, now);
                true
            }
        }
    }

    fn add_evidence(&mut self, seq: Option<u64>) {
        // (A directory's rename is one record for every file it moved.)
        if let Some(s) = seq
            && self.evidence.back() != Some(&s)
        {
            if self.evidence.len() == MAX_EVIDENCE {
                self.evidence.pop_front();
            }
            self.evidence.push_back(s);
        }
    }
}

struct SessionState {
    account: String,
    source: Option<IpAddr>,
    /// Opened from a network the account never used.
    new_network: bool,
    /// Unproven: a new network, an account without enough history, or one that never read.
    unproven: bool,
    /// The session-open record.
    opened_seq: Option<u64>,
    /// Bytes read so far as last reported (live) or summed from records (replay).
    read_seen: u64,
    /// Replay: bytes per open handle, by path.
    handles: HashMap<String, u64>,
}

#[derive(Default)]
struct TenantState {
    bytes: u64,
    files: u64,
    canaries: HashSet<i64>,
}

/// The detector: feed it events and byte counts; it returns the alerts they raise.
pub struct Detector {
    config: Config,
    /// Accounts first seen before this time (ms) are established, whatever their age (a
    /// replay's first day; live, creation times come from the catalog instead).
    established_before: Option<i64>,
    accounts: HashMap<String, AccountState>,
    sessions: HashMap<String, SessionState>,
    tenants: HashMap<String, TenantState>,
}

fn network_of(ip: IpAddr, p: NetworkPrefixes) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = if p.v4 == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(p.v4.min(32)))
            };
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = if p.v6 == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(p.v6.min(128)))
            };
            IpAddr::V6((bits & mask).into())
        }
    }
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
}

impl Detector {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            established_before: None,
            accounts: HashMap::new(),
            sessions: HashMap::new(),
            tenants: HashMap::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn set_config(&mut self, config: Config) {
        self.config = config;
    }

    /// Accounts first seen before `t` count as established (their creation is unknown: a
    /// replayed history's first day, when its accounts existed before it).
    pub fn assume_established_before(&mut self, t: Time) {
        self.established_before = Some(t.as_millis());
    }

    /// When `account` (of `tenant`) was created. What is kept under its name for another
    /// account (one created at another time or in another tenant, or seen before this one was
    /// created: a removed account of the same name, live or in the history read at start) is
    /// dropped: its windows, networks, alerts and containment are not this account's, and a
    /// containment kept would silence the new account's alerts and holds.
    pub fn set_account_created(&mut self, account: &str, tenant: &str, created: Time) {
        let created = created.as_millis();
        if let Some(a) = self.accounts.get(account)
            && (a.created.is_some_and(|c| c != created)
                || a.first_seen.is_some_and(|f| f < created)
                || a.tenant.as_deref().is_some_and(|t| t != tenant))
        {
            self.accounts.remove(account);
        }
        self.account(account, Some(tenant)).created = Some(created);
    }

    /// Forgets the accounts not among `existing` (the catalog's accounts as listed at
    /// `listed_at`) that it saw before then: removed, their state goes. (One seen only since
    /// was made after the listing.)
    pub fn forget_removed_accounts(&mut self, existing: &HashSet<&str>, listed_at: Time) {
        let listed_at = listed_at.as_millis();
        self.accounts.retain(|name, a| {
            existing.contains(name.as_str()) || a.first_seen.is_some_and(|f| f >= listed_at)
        });
    }

    /// The tenant's stored bytes and files (for `breadth` and the cautious budget).
    pub fn set_tenant_size(&mut self, tenant: &str, bytes: u64, files: u64) {
        let t = self.tenants.entry(tenant.to_owned()).or_default();
        t.bytes = bytes;
        t.files = files;
    }

    /// The tenant's canary files, by stable file id.
    pub fn set_canaries(&mut self, tenant: &str, files: impl IntoIterator<Item = i64>) {
        self.tenants.entry(tenant.to_owned()).or_default().canaries = files.into_iter().collect();
    }

    /// The canaries known, by tenant.
    pub fn canaries(&self) -> impl Iterator<Item = (&str, i64)> {
        self.tenants
            .iter()
            .flat_map(|(name, t)| t.canaries.iter().map(move |id| (name.as_str(), *id)))
    }

    /// An administrator released the account (unlocked it): its alerts may be raised again.
    pub fn release(&mut self, account: &str) {
        if let Some(a) = self.accounts.get_mut(account) {
            a.contained = false;
            a.last_alert.clear();
        }
    }

    /// Containment acted on the account at `at` (Unix milliseconds): nothing more is raised
    /// for it until released.
    pub fn contained(&mut self, account: &str, at: i64) {
        if let Some(a) = self.accounts.get_mut(account) {
            a.contained = true;
            a.contained_at = at;
        }
    }

    /// An administrator unlocked the account at `at` (Unix milliseconds), as the catalog says
    /// (read every few seconds: an unlock this server was not told of): released if it was
    /// contained before then; an unlock from before its containment releases nothing.
    pub fn unlocked_at(&mut self, account: &str, at: i64) {
        if self
            .accounts
            .get(account)
            .is_some_and(|a| a.contained && a.contained_at <= at)
        {
            self.release(account);
        }
    }

    /// Forgets every live session (a restart ended them all).
    pub fn end_sessions(&mut self) {
        self.sessions.clear();
        for a in self.accounts.values_mut() {
            a.sessions.clear();
        }
    }

    /// Accounts and live sessions held.
    pub fn len(&self) -> (usize, usize) {
        (self.accounts.len(), self.sessions.len())
    }

    /// Observes one ledger record (`seq` when it has one).
    pub fn observe(&mut self, seq: Option<u64>, e: &Event, mode: Mode) -> Vec<Alert> {
        let now = e.time.as_millis();
        match &e.kind {
            EventKind::Session { opened: true, .. } => self.session_opened(seq, e, now),
            EventKind::Session { opened: false, .. } => {
                self.session_closed(e);
                Vec::new()
            }
            EventKind::File {
                op,
                path,
                file,
                outcome,
            } => self.file(seq, e, op, path, file.as_ref(), outcome, mode, now),
            EventKind::Ban {
                address, reason, ..
            } => self.auth_attack(e, format!("the defender banned {address}: {reason}")),
            EventKind::AccountUnderAttack { .. } => self.auth_attack(
                e,
                format!(
                    "account {} attacked from many addresses (credential stuffing)",
                    e.account.as_deref().unwrap_or("?")
                ),
            ),
            _ => Vec::new(),
        }
    }

    /// A live session's byte counters (monotonic totals), as the server reads them.
    pub fn session_bytes(&mut self, session: &str, total_read: u64, now: Time) -> Vec<Alert> {
        let Some(s) = self.sessions.get_mut(session) else {
            return Vec::new();
        };
        let delta = total_read.saturating_sub(s.read_seen);
        s.read_seen = s.read_seen.max(total_read);
        if delta == 0 {
            return Vec::new();
        }
        let account = s.account.clone();
        self.read(&account, Some(session), delta, 0, None, now.as_millis())
    }

    fn account(&mut self, name: &str, tenant: Option<&str>) -> &mut AccountState {
        self.accounts
            .entry(name.to_owned())
            .or_insert_with(|| AccountState::new(tenant.map(str::to_owned)))
    }

    fn session_opened(&mut self, seq: Option<u64>, e: &Event, now: i64) -> Vec<Alert> {
        let (Some(session), Some(account)) = (e.session.clone(), e.account.clone()) else {
            return Vec::new();
        };
        let prefixes = self.config.prefixes;
        let t = self
            .config
            .thresholds_for(e.tenant.as_deref(), Some(&account));
        let source = e.source.map(|s| s.ip());
        let established_before = self.established_before;
        let a = self.account(&account, e.tenant.as_deref());
        a.roll(now);
        a.add_evidence(seq);
        let known_history = a.history_days(now) >= 1 || !a.networks.is_empty();
        let network = source.map(|ip| network_of(ip, prefixes));
        let new_network = network.is_some_and(|n| !a.networks.contains(&n));
        let client = e.client_version.clone();
        let new_client = client
            .as_ref()
            .is_some_and(|c| !a.clients.iter().any(|k| k == c));
        let hour = (now.rem_euclid(DAY_MS) / HOUR_MS) as u32;
        // An hour next to a known one is not new (people are not punctual).
        let near = (1u32 << hour) | (1 << ((hour + 1) % 24)) | (1 << ((hour + 23) % 24));
        let new_hour = a.hours & near == 0;
        let proven = a.history_days(now) >= t.min_history_days;
        let mut alerts = Vec::new();
        // Novelty only means something against a history.
        if known_history && (new_network || (proven && (new_client || new_hour))) {
            let mut what = Vec::new();
            if new_network {
                what.push(format!(
                    "network {}",
                    network.map(|n| n.to_string()).unwrap_or_default()
                ));
            }
            if proven && new_client {
                what.push(format!("client {}", client.clone().unwrap_or_default()));
            }
            if proven && new_hour {
                what.push(format!("hour {hour:02}:00 UTC"));
            }
            let severity = if new_network || what.len() >= 2 {
                Severity::Medium
            } else {
                Severity::Low
            };
            if a.cooled(rules::NOVELTY.id, now) && !a.contained {
                alerts.push(Alert {
                    time: e.time,
                    severity,
                    rule: rules::NOVELTY,
                    account: Some(account.clone()),
                    tenant: e.tenant.clone(),
                    source,
                    sessions: vec![session.clone()],
                    summary: format!(
                        "{account} logged in with what it never used before: {}",
                        what.join(", ")
                    ),
                    evidence: seq.into_iter().collect(),
                });
            }
        }
        // Learn after judging.
        if let Some(n) = network
            && new_network
        {
            if a.networks.len() == MAX_NETWORKS {
                a.networks.pop_front();
            }
            a.networks.push_back(n);
        }
        if let Some(c) = client
            && new_client
        {
            if a.clients.len() == MAX_CLIENTS {
                a.clients.pop_front();
            }
            a.clients.push_back(c);
        }
        a.hours |= 1 << hour;
        a.sessions.push(session.clone());
        let young = a.young(now, t.min_history_days, established_before);
        let unproven = new_network && known_history || young;
        self.sessions.insert(
            session,
            SessionState {
                account,
                source,
                new_network: new_network && known_history,
                unproven,
                opened_seq: seq,
                read_seen: 0,
                handles: HashMap::new(),
            },
        );
        alerts
    }

    fn session_closed(&mut self, e: &Event) {
        let Some(session) = e.session.as_deref() else {
            return;
        };
        if let Some(s) = self.sessions.remove(session)
            && let Some(a) = self.accounts.get_mut(&s.account)
        {
            a.sessions.retain(|x| x != session);
        }
    }

    /// The canary `e` touches, if it touches one: opened for reading, renamed or removed, by
    /// anyone, whatever came of it; or replaced: overwritten by an upload (as ransomware
    /// rewrites files in place), or removed by a rename over it (the record names the canary
    /// as what it replaced); or an attempt to write over it that was refused (one that is not
    /// is seen at its commit).
    fn canary_touched(&self, e: &Event) -> Option<i64> {
        let EventKind::File {
            op, file, outcome, ..
        } = &e.kind
        else {
            return None;
        };
        let canaries = &self.tenants.get(e.tenant.as_deref()?)?.canaries;
        if canaries.is_empty() {
            return None;
        }
        let file = file.as_ref().map(|f| f.id);
        let touched = match op {
            FileOp::OpenRead | FileOp::Remove => file,
            FileOp::OpenWrite if !outcome.is_ok() => file,
            // The canary renamed, another file renamed over it, or its directory renamed (it
            // moved with it).
            FileOp::Rename {
                replaced, moved, ..
            } => file
                .filter(|id| canaries.contains(id))
                .or_else(|| {
                    moved
                        .as_ref()?
                        .ids
                        .iter()
                        .copied()
                        .find(|id| canaries.contains(id))
                })
                .or(replaced.map(|r| r.id)),
            FileOp::CloseWrite { replaced, .. } => replaced.map(|r| r.id),
            _ => None,
        }?;
        canaries.contains(&touched).then_some(touched)
    }

    /// Whether the server should have `e` observed before it answers the request `e` records
    /// (it otherwise reaches the detector some milliseconds after the reply), so that the
    /// request that crosses a limit is answered after containment began, or not at all:
    /// - `e` touches a canary;
    /// - it changes a file that was there, or uploads or renames one, and the account's
    ///   changes announced and not observed yet reach past what was left before the
    ///   `mass_change` limit at its last change observed (an upload of a new file may
    ///   complete a file rewritten under a new name);
    /// - it opens a file for reading, and the account's opens announced and not observed yet
    ///   reach past the files it had left before the nearest limit on files at its last read
    ///   observed (before one, the cautious limit).
    ///
    /// Called once for every record of a request, before it is queued: what is announced is
    /// counted until its record is observed (or for a minute, should a record never come), so
    /// that however far the observations lag, the request that may cross a limit waits, and
    /// in an account far from every limit none does. (Announced changes include the account's
    /// own files, which `mass_change` does not count: an account may wait before the limit,
    /// never after it.)
    pub fn observe_before_reply(&mut self, e: &Event) -> bool {
        let EventKind::File { op, .. } = &e.kind else {
            return false;
        };
        if !may_wait(op) {
            return false;
        }
        let writes = matches!(
            op,
            FileOp::Remove | FileOp::Rename { .. } | FileOp::CloseWrite { .. }
        );
        let reads = matches!(op, FileOp::OpenRead);
        let mut near = false;
        if (writes || reads)
            && let Some(account) = e.account.as_deref()
        {
            let (config, accounts) = (&self.config, &mut self.accounts);
            // Before the account's first read or change is observed: the whole limit.
            let limit = |pick: fn(&rules::Thresholds) -> u64| {
                pick(&config.thresholds_for(e.tenant.as_deref(), Some(account)))
            };
            // (Made here when the session's opening is not observed yet either.)
            if !accounts.contains_key(account) {
                let new = AccountState::new(e.tenant.clone());
                accounts.insert(account.to_owned(), new);
            }
            let Some(a) = accounts.get_mut(account) else {
                return false;
            };
            let now = e.time.as_millis();
            let (unobserved, room) = if reads {
                let room = a
                    .read_room
                    .map_or_else(|| limit(|t| t.cautious_files), u64::from);
                (a.reads_unobserved.announce(now), room)
            } else {
                let unobserved = if is_change(op) {
                    a.changes_unobserved.announce(now)
                } else {
                    a.changes_unobserved.count(now)
                };
                let room = a
                    .change_room
                    .map_or_else(|| limit(|t| t.change_files), u64::from);
                (unobserved, room)
            };
            near = !a.contained && u64::from(unobserved) > room;
        }
        near || self.canary_touched(e).is_some()
            || matches!(&e.kind, EventKind::File { op, outcome, .. } if refused_move(op, outcome))
    }

    /// For the rename of a directory (`e`, its record as it would be, naming the files it
    /// would move), before it is done: how many files of others it would move, when that would
    /// take the account past the `mass_change` limit (the server then refuses it, and its
    /// refusal's record, observed before the reply, contains the account). The same count as
    /// the rename's observation would make: the files it names that the account neither
    /// downloaded nor uploaded within 30 days, nor moved within the last 10 minutes, and those
    /// it does not name in proportion.
    pub fn would_hide(&mut self, e: &Event) -> Option<u64> {
        let EventKind::File {
            op: FileOp::Rename { moved: Some(m), .. },
            ..
        } = &e.kind
        else {
            return None;
        };
        let account = e.account.as_deref()?;
        let now = e.time.as_millis();
        let t = self
            .config
            .thresholds_for(e.tenant.as_deref(), Some(account));
        let (counted, changed, limit) = match self.accounts.get_mut(account) {
            Some(a) => {
                if a.contained {
                    return None;
                }
                a.roll(now);
                let recent = a.recent.as_deref_mut().map(|r| {
                    r.forget_old_names(now);
                    &*r
                });
                let others = m.ids.iter().filter(|id| !a.known.contains_key(id));
                let in_sample = others.clone().count() as u64;
                let not_moved = others
                    .filter(|id| !recent.is_some_and(|r| r.was_moved(**id)))
                    .count() as u64;
                let proportion = unnamed_others(m, in_sample);
                let changed = a.changes.sum(now).1 + u64::from(a.changes_unobserved.count(now));
                (not_moved + proportion, changed, a.change_limit(&t))
            }
            None => (m.count, 0, t.change_files),
        };
        (counted > 0 && changed + counted > limit).then_some(counted)
    }

    #[allow(clippy::too_many_arguments)]
    fn file(
        &mut self,
        seq: Option<u64>,
        e: &Event,
        op: &FileOp,
        path: &str,
        file_ref: Option<&FileRef>,
        outcome: &Outcome,
        mode: Mode,
        now: i64,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let file = file_ref.map(|f| f.id);
        let Some(account) = e.account.clone() else {
            return alerts;
        };
        // A request announced before its reply is observed now.
        if mode == Mode::Live
            && let Some(a) = self.accounts.get_mut(&account)
        {
            if is_change(op) {
                a.changes_unobserved.observed(now);
            } else if matches!(op, FileOp::OpenRead) {
                a.reads_unobserved.observed(now);
            }
        }
        if let (Some(tenant), Some(id)) = (e.tenant.as_deref(), self.canary_touched(e)) {
            let a = self.account(&account, Some(tenant));
            a.add_evidence(seq);
            alerts.push(Alert {
                time: e.time,
                severity: Severity::Critical,
                rule: rules::CANARY,
                account: Some(account.clone()),
                tenant: e.tenant.clone(),
                source: e.source.map(|s| s.ip()),
                sessions: a.sessions.clone(),
                summary: match op {
                    FileOp::Rename {
                        to: Some(to),
                        replaced: Some(r),
                        ..
                    } if r.id == id => format!(
                        "{account} replaced canary file {to} by renaming {path} over it in tenant \
                         {tenant}"
                    ),
                    FileOp::Rename {
                        to: Some(to),
                        moved: Some(m),
                        ..
                    } if m.ids.contains(&id) => format!(
                        "{account} moved canary file {id} (by its id) with its directory, \
                         renaming {path} to {to} in tenant {tenant}"
                    ),
                    FileOp::CloseWrite { .. } => {
                        format!("{account} overwrote canary file {path} in tenant {tenant}")
                    }
                    _ => format!(
                        "{account} touched canary file {path} ({}) in tenant {tenant}",
                        op.name()
                    ),
                },
                evidence: a.evidence.iter().copied().collect(),
            });
            return alerts;
        }
        // A directory's rename refused before it was done, as it would have hidden files of
        // others past the limit ([`Detector::would_hide`]; the only refused rename whose record
        // names the files it would move), is judged as if done: an attempt counts as much.
        if !outcome.is_ok() && !refused_move(op, outcome) {
            return alerts;
        }
        let session = e.session.as_deref();
        match op {
            FileOp::OpenRead => {
                if let (Some(s), Mode::Replay) =
                    (session.and_then(|s| self.sessions.get_mut(s)), mode)
                {
                    s.handles.insert(path.to_owned(), 0);
                }
                let a = self.account(&account, e.tenant.as_deref());
                a.add_evidence(seq);
                a.reads.add(now, 0, 1);
                // A file it moved and now collects was claimed (a collector that renames each
                // file before downloading it, as Apache Camel's `preMove` does), not hidden.
                if let (Some(id), Some(recent)) = (file, a.recent.as_mut())
                    && let Some(when) = recent.collected(now, id)
                {
                    a.changes.take_back(when, 1);
                    a.change_room = a.change_room.map(|r| r.saturating_add(1));
                }
                alerts.extend(self.read(&account, session, 0, 1, file, now));
            }
            FileOp::ProgressRead { bytes } | FileOp::CloseRead { bytes, .. }
                if mode == Mode::Replay =>
            {
                let closing = matches!(op, FileOp::CloseRead { .. });
                let delta = session
                    .and_then(|s| self.sessions.get_mut(s))
                    .map_or(*bytes, |s| {
                        let before = if closing {
                            s.handles.remove(path).unwrap_or(0)
                        } else {
                            s.handles.insert(path.to_owned(), *bytes).unwrap_or(0)
                        };
                        bytes.saturating_sub(before)
                    });
                if closing {
                    self.account(&account, e.tenant.as_deref())
                        .add_evidence(seq);
                }
                alerts.extend(self.read(&account, session, delta, 0, None, now));
            }
            FileOp::CloseRead { .. } => {
                self.account(&account, e.tenant.as_deref())
                    .add_evidence(seq);
            }
            FileOp::OpenWrite | FileOp::CloseWrite { .. } => {
                let a = self.account(&account, e.tenant.as_deref());
                a.roll(now);
                a.writes_ever = true;
                // What the upload replaced is judged before the upload is its own.
                if let FileOp::CloseWrite {
                    replaced: Some(r), ..
                } = op
                {
                    alerts.extend(self.change(seq, e, &account, r.id, Change::Replaced, now));
                }
                if let (FileOp::CloseWrite { .. }, Some(id)) = (op, file) {
                    self.account(&account, e.tenant.as_deref()).know(id, true);
                }
                // A new file named after one it downloaded and removed: that file rewritten.
                if let FileOp::CloseWrite {
                    bytes,
                    replaced: None,
                } = op
                    && self
                        .account(&account, e.tenant.as_deref())
                        .recent
                        .get_or_insert_default()
                        .uploaded_new(now, path, *bytes)
                {
                    alerts.extend(self.change(seq, e, &account, 0, Change::Rewritten, now));
                }
            }
            FileOp::Rename {
                to,
                replaced,
                moved,
            } => {
                if let Some(r) = replaced {
                    alerts.extend(self.change(seq, e, &account, r.id, Change::Replaced, now));
                }
                // An upload of its own given a new name: a new file under that name, as an
                // upload straight to it would be (ransomware writing `x.tmp`, then naming it
                // `ledger.csv.locked`, rewrites `ledger.csv`).
                if let (Some(f), Some(to), None) = (file_ref, to, moved) {
                    let a = self.account(&account, e.tenant.as_deref());
                    if a.known.get(&f.id).is_some_and(|k| k.1)
                        && a.recent
                            .get_or_insert_default()
                            .uploaded_new(now, to, f.size)
                    {
                        alerts.extend(self.change(seq, e, &account, 0, Change::Rewritten, now));
                    }
                }
                // Moved away from its name: judged as its removal would be (a partner moving
                // what it collected to `done/`, an account renaming its own upload, count
                // nothing), and taken back when the account collects it next. A directory
                // moves the files under it, each its record names judged so, and those it does
                // not name (past 500) counted as others' in the proportion of those it names.
                let named: &[i64] = match (moved, file_ref) {
                    (Some(m), _) => &m.ids,
                    (None, Some(f)) if replaced.is_none() => std::slice::from_ref(&f.id),
                    _ => &[],
                };
                for &id in named {
                    alerts.extend(self.change(seq, e, &account, id, Change::Moved, now));
                }
                if let Some(m) = moved {
                    let a = self.account(&account, e.tenant.as_deref());
                    let others = m.ids.iter().filter(|id| !a.known.contains_key(id)).count();
                    let counted = unnamed_others(m, others as u64);
                    if counted > 0 {
                        let change = Change::MovedUnnamed(counted);
                        alerts.extend(self.change(seq, e, &account, 0, change, now));
                    }
                }
            }
            FileOp::Remove => {
                if let Some(f) = file_ref {
                    // A file it only downloaded: collected, unless an upload named after it
                    // was its rewriting.
                    let a = self.account(&account, e.tenant.as_deref());
                    a.roll(now);
                    let downloaded_only = a.known.get(&f.id).is_some_and(|k| !k.1);
                    let change = if downloaded_only
                        && a.recent
                            .get_or_insert_default()
                            .removed_download(now, path, f.size)
                    {
                        Change::Rewritten
                    } else {
                        Change::Removed
                    };
                    alerts.extend(self.change(seq, e, &account, f.id, change, now));
                }
            }
            FileOp::Readdir { .. } => {
                let t = self
                    .config
                    .thresholds_for(e.tenant.as_deref(), Some(&account));
                let a = self.account(&account, e.tenant.as_deref());
                a.listings.add(now, 0, 1);
                let (_, listings) = a.listings.sum(now);
                let (_, reads) = a.reads.sum(now);
                if listings >= t.sweep_listings
                    && reads >= t.sweep_reads
                    && !a.contained
                    && a.cooled(rules::SWEEP.id, now)
                {
                    alerts.push(Alert {
                        time: e.time,
                        severity: rules::SWEEP.severity,
                        rule: rules::SWEEP,
                        account: Some(account.clone()),
                        tenant: e.tenant.clone(),
                        source: e.source.map(|s| s.ip()),
                        sessions: a.sessions.clone(),
                        summary: format!(
                            "{account} listed {listings} directory pages and opened {reads} files in 10 minutes"
                        ),
                        evidence: a.evidence.iter().copied().collect(),
                    });
                }
            }
            _ => {}
        }
        alerts
    }

    /// Counts a read (bytes and/or one file opened) and checks the volume rules.
    fn read(
        &mut self,
        account: &str,
        session: Option<&str>,
        bytes: u64,
        files: u64,
        file: Option<i64>,
        now: i64,
    ) -> Vec<Alert> {
        let (unproven, new_network, source, opened_seq) = session
            .and_then(|s| self.sessions.get(s))
            .map_or((false, false, None, None), |s| {
                (s.unproven, s.new_network, s.source, s.opened_seq)
            });
        let tenant_name = self.accounts.get(account).and_then(|a| a.tenant.clone());
        let (tenant_bytes, tenant_files) = tenant_name
            .as_deref()
            .and_then(|t| self.tenants.get(t))
            .map_or((0, 0), |t| (t.bytes, t.files));
        let t = self
            .config
            .thresholds_for(tenant_name.as_deref(), Some(account));
        let established_before = self.established_before;
        let a = self
            .accounts
            .entry(account.to_owned())
            .or_insert_with(|| AccountState::new(tenant_name.clone()));
        a.roll(now);
        let mut alerts = Vec::new();
        // An account that only ever uploaded, now reading: behaviour it never had. The
        // session stays unproven.
        let mut first_reads = false;
        if (bytes > 0 || files > 0) && !a.reads_ever {
            if a.writes_ever && a.history_days(now) >= 1 {
                first_reads = true;
                if !a.contained && a.cooled("novelty_behaviour", now) {
                    alerts.push(Alert {
                        time: Time::from_millis(now),
                        severity: rules::NOVELTY.severity,
                        rule: rules::NOVELTY,
                        account: Some(account.to_owned()),
                        tenant: tenant_name.clone(),
                        source,
                        sessions: session.map(str::to_owned).into_iter().collect(),
                        summary: format!("{account} is reading files; it had only ever uploaded"),
                        evidence: a.evidence.iter().copied().collect(),
                    });
                }
            }
            a.reads_ever = true;
        }
        a.minute.add(now, bytes, files);
        a.hour.add(now, bytes, files);
        a.day.add(now, bytes, files);
        a.today.read_bytes += bytes;
        a.today.read_files += files;
        if let Some(id) = file {
            if a.files_today.len() < MAX_DISTINCT_FILES {
                a.files_today.insert(id);
            }
            a.know(id, false);
        }
        let (mb, mf) = a.minute.sum(now);
        let (hb, hf) = a.hour.sum(now);
        let (db, df) = a.day.sum(now);
        a.today.peak_minute_bytes = a.today.peak_minute_bytes.max(mb);
        a.today.peak_hour_bytes = a.today.peak_hour_bytes.max(hb);
        a.today.peak_minute_files = a.today.peak_minute_files.max(mf);
        a.today.peak_hour_files = a.today.peak_hour_files.max(hf);
        if a.contained {
            return alerts;
        }
        let young = a.young(now, t.min_history_days, established_before);
        let unproven = unproven || first_reads || young;
        let escalate = |s: Severity| if new_network { Severity::Critical } else { s };
        let mut found: Option<(Rule, Severity, String)> = None;
        // Files left to open before the nearest limit on files.
        let mut files_room;
        if unproven {
            files_room = t.cautious_files.saturating_sub(hf);
            let budget = t
                .cautious_bytes
                .max(tenant_bytes.saturating_mul(t.cautious_tenant_permille) / 1000);
            if hb > budget || hf > t.cautious_files {
                let why = if first_reads {
                    "an account that had only ever uploaded"
                } else if new_network {
                    "from a network it never used"
                } else {
                    "a new account"
                };
                // Say the limit that was crossed: the bytes, or else the count of files.
                let limit = if hb > budget {
                    format!("the cautious budget is {}", mib(budget))
                } else {
                    format!("the cautious limit is {} files an hour", t.cautious_files)
                };
                found = Some((
                    rules::BULK_READ,
                    escalate(Severity::High),
                    format!(
                        "{account} read {} in {hf} files within the hour, {why}; {limit}",
                        mib(hb)
                    ),
                ));
            }
        } else {
            let m = t.history_multiplier;
            let limits = [
                (
                    mb,
                    t.minute_bytes.max(m * a.peak(|d| d.peak_minute_bytes)),
                    "minute",
                ),
                (
                    hb,
                    t.hour_bytes.max(m * a.peak(|d| d.peak_hour_bytes)),
                    "hour",
                ),
                (db, t.day_bytes.max(m * a.peak(|d| d.read_bytes)), "day"),
            ];
            let file_limits = [
                (
                    mf,
                    t.minute_files.max(m * a.peak(|d| d.peak_minute_files)),
                    "minute",
                ),
                (
                    hf,
                    t.hour_files.max(m * a.peak(|d| d.peak_hour_files)),
                    "hour",
                ),
                (df, t.day_files.max(m * a.peak(|d| d.read_files)), "day"),
            ];
            files_room = file_limits
                .iter()
                .map(|(v, l, _)| l.saturating_sub(*v))
                .min()
                .unwrap_or(u64::MAX);
            if let Some((v, limit, span)) = limits.iter().find(|(v, l, _)| v > l) {
                found = Some((
                    rules::BULK_READ,
                    escalate(Severity::High),
                    format!(
                        "{account} read {} in the last {span}, above {} (its history and the floor)",
                        mib(*v),
                        mib(*limit)
                    ),
                ));
            } else if let Some((v, limit, span)) = file_limits.iter().find(|(v, l, _)| v > l) {
                found = Some((
                    rules::BULK_READ,
                    escalate(Severity::High),
                    format!("{account} opened {v} files in the last {span}, above {limit}"),
                ));
            } else if a.history_days(now) >= t.min_history_days {
                let largest_day = a.peak(|d| d.read_bytes);
                let slow = t.slow_day_bytes.max(t.slow_multiplier * largest_day);
                if db > slow {
                    found = Some((
                        rules::LOW_AND_SLOW,
                        escalate(Severity::High),
                        format!(
                            "{account} read {} over the last 24 hours; its largest day was {}",
                            mib(db),
                            mib(largest_day)
                        ),
                    ));
                }
            }
        }
        if tenant_files > 0 {
            let distinct = a.files_today.len() as u64;
            let file_share = tenant_files.saturating_mul(t.breadth_percent) / 100;
            let breadth = t.breadth_min_files.max(file_share);
            files_room = files_room.min(breadth.saturating_sub(distinct));
        }
        a.read_room = Some(u32::try_from(files_room).unwrap_or(u32::MAX));
        if found.is_none() && (tenant_files > 0 || tenant_bytes > 0) {
            let distinct = a.files_today.len() as u64;
            let file_share = tenant_files.saturating_mul(t.breadth_percent) / 100;
            let byte_share = tenant_bytes.saturating_mul(t.breadth_percent) / 100;
            if (distinct > t.breadth_min_files && distinct > file_share)
                || (db > t.breadth_min_bytes && db > byte_share)
            {
                found = Some((
                    rules::BREADTH,
                    escalate(Severity::High),
                    format!(
                        "{account} read {distinct} of the tenant's {tenant_files} files and {} of its {} today",
                        mib(db),
                        mib(tenant_bytes)
                    ),
                ));
            }
        }
        let Some((rule, severity, summary)) = found else {
            self.mark_first_reads(session, first_reads);
            return alerts;
        };
        if !a.cooled(rule.id, now) {
            self.mark_first_reads(session, first_reads);
            return alerts;
        }
        let mut evidence: Vec<u64> = opened_seq.into_iter().collect();
        evidence.extend(
            a.evidence
                .iter()
                .copied()
                .filter(|s| Some(*s) != opened_seq),
        );
        let mut sessions = a.sessions.clone();
        if let Some(s) = session
            && let Some(pos) = sessions.iter().position(|x| x == s)
        {
            sessions.swap(0, pos);
        }
        alerts.push(Alert {
            time: Time::from_millis(now),
            severity,
            rule,
            account: Some(account.to_owned()),
            tenant: tenant_name,
            source,
            sessions,
            summary,
            evidence,
        });
        self.mark_first_reads(session, first_reads);
        alerts
    }

    /// A file of others removed, moved or replaced by `account` counts towards `mass_change`:
    /// removed or moved (renamed to a new name, or its directory renamed), one that it had
    /// neither downloaded nor uploaded within [`HISTORY_DAYS`] (a partner collecting its files
    /// removes each after downloading it, or moves it to `done/`, that day or the next; a bank
    /// clears what it published the day before; an account renames its own upload when it is
    /// complete); replaced (an upload over it, a rename over
    /// it), one that it had not uploaded (a partner sends the same names every day; ransomware
    /// downloads a file and writes it back encrypted); rewritten (downloaded, then removed and
    /// uploaded again under its name with an extension added, within 10 minutes: ransomware
    /// that renames what it encrypts), always.
    fn change(
        &mut self,
        seq: Option<u64>,
        e: &Event,
        account: &str,
        id: i64,
        change: Change,
        now: i64,
    ) -> Vec<Alert> {
        let new_network = e
            .session
            .as_deref()
            .and_then(|s| self.sessions.get(s))
            .is_some_and(|s| s.new_network);
        let t = self
            .config
            .thresholds_for(e.tenant.as_deref(), Some(account));
        let a = self.account(account, e.tenant.as_deref());
        a.roll(now);
        let own = match change {
            Change::Removed | Change::Moved => a.known.contains_key(&id),
            Change::Replaced => a.known.get(&id).is_some_and(|k| k.1),
            Change::Rewritten | Change::MovedUnnamed(_) => false,
        };
        // A file moved again (on, or back: Apache Camel's `readLock=rename` renames each file
        // and back before it downloads it) was counted at its first move.
        if own || change == Change::Moved && a.recent.get_or_insert_default().moved(now, id) {
            return Vec::new();
        }
        a.add_evidence(seq);
        let files = match change {
            Change::MovedUnnamed(n) => n,
            _ => 1,
        };
        a.changes.add(now, 0, files);
        let (_, changed) = a.changes.sum(now);
        a.today.peak_changes = a.today.peak_changes.max(changed);
        let limit = a.change_limit(&t);
        a.change_room = Some(u32::try_from(limit.saturating_sub(changed)).unwrap_or(u32::MAX));
        if changed <= limit || a.contained || !a.cooled(rules::MASS_CHANGE.id, now) {
            return Vec::new();
        }
        let severity = if new_network {
            Severity::Critical
        } else {
            rules::MASS_CHANGE.severity
        };
        vec![Alert {
            time: e.time,
            severity,
            rule: rules::MASS_CHANGE,
            account: Some(account.to_owned()),
            tenant: e.tenant.clone(),
            source: e.source.map(|s| s.ip()),
            sessions: a.sessions.clone(),
            summary: format!(
                "{account} removed, replaced or moved {changed} files of others in 10 minutes, \
                 above {limit} (its history and the floor)"
            ),
            evidence: a.evidence.iter().copied().collect(),
        }]
    }

    /// A session whose account began reading in it stays unproven.
    fn mark_first_reads(&mut self, session: Option<&str>, first_reads: bool) {
        if first_reads && let Some(s) = session.and_then(|s| self.sessions.get_mut(s)) {
            s.unproven = true;
        }
    }

    fn auth_attack(&mut self, e: &Event, summary: String) -> Vec<Alert> {
        vec![Alert {
            time: e.time,
            severity: rules::AUTH_ATTACK.severity,
            rule: rules::AUTH_ATTACK,
            account: e.account.clone(),
            tenant: e.tenant.clone(),
            source: e.source.map(|s| s.ip()),
            sessions: Vec::new(),
            summary,
            evidence: Vec::new(),
        }]
    }
}

/// Of the files a directory's rename moved that its record does not name, how many count as
/// others': in the proportion of `others_named` among those it names.
fn unnamed_others(m: &events::MovedFiles, others_named: u64) -> u64 {
    let named = m.ids.len() as u64;
    (m.count.saturating_sub(named) * others_named)
        .checked_div(named)
        .unwrap_or(0)
}

/// Whether `op`, which ended with `outcome`, is a directory's rename refused before it was
/// done because it would hide files of others ([`Detector::would_hide`]): the only refused
/// rename whose record names the files it would move.
fn refused_move(op: &FileOp, outcome: &Outcome) -> bool {
    !outcome.is_ok() && matches!(op, FileOp::Rename { moved: Some(_), .. })
}

/// How long requests announced before their replies ([`Detector::observe_before_reply`]) are
/// counted while none of them is observed: records that never come (their ledger write
/// failed) are forgotten after this.
const UNOBSERVED_FOR_MS: i64 = 60_000;

/// Requests of one kind announced before their replies ([`Detector::observe_before_reply`])
/// whose records are not observed yet: how many, and since when none was observed (or the
/// first was announced, when none was pending).
#[derive(Debug, Default, Clone, Copy)]
struct Unobserved {
    count: u32,
    since: i64,
}

impl Unobserved {
    /// One more announced at `now`; how many are unobserved now.
    fn announce(&mut self, now: i64) -> u32 {
        if self.count(now) == 0 {
            self.since = now;
        }
        self.count = self.count.saturating_add(1);
        self.count
    }

    /// How many are unobserved at `now` (none once none was observed for
    /// [`UNOBSERVED_FOR_MS`] while some were pending: their records are not coming).
    fn count(&mut self, now: i64) -> u32 {
        if self.count > 0 && now - self.since > UNOBSERVED_FOR_MS {
            self.count = 0;
        }
        self.count
    }

    /// One of them observed at `now`.
    fn observed(&mut self, now: i64) {
        self.count = self.count.saturating_sub(1);
        self.since = now;
    }
}

/// Whether a request recorded as `op` may have to be observed before its reply
/// ([`Detector::observe_before_reply`]): a change, an open (a canary's, or one near a limit on
/// files); never a listing, a stat, a read or a write on an open handle. Told without the
/// detector's state, so that the server looks no further for most requests.
pub fn may_wait(op: &FileOp) -> bool {
    matches!(
        op,
        FileOp::OpenRead
            | FileOp::OpenWrite
            | FileOp::Remove
            | FileOp::Rename { .. }
            | FileOp::CloseWrite { .. }
    )
}

/// Whether `op` changes a file that was there (what `mass_change` may count): a removal, a
/// rename (away from its name, or over a file), an upload over a file (not one that makes a
/// new file).
fn is_change(op: &FileOp) -> bool {
    matches!(
        op,
        FileOp::Remove
            | FileOp::Rename { .. }
            | FileOp::CloseWrite {
                replaced: Some(_),
                ..
            }
    )
}

#[cfg(test)]
mod tests;
