//! The rules: each with an id, a severity, the ATT&CK techniques it indicates and what it
//! checks; and their thresholds, which a tenant or an account can override
//! (`docs/DETECTION.md` explains each default).

use serde::{Deserialize, Serialize};

use events::Severity;

const MIB: u64 = 1 << 20;

/// One rule, as `strongroom detect rules` and the alerts name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    /// Its severity before escalation (a rule fired by a session from a network the account
    /// never used is raised to critical).
    pub severity: Severity,
    pub techniques: &'static [&'static str],
    pub checks: &'static str,
}

pub const BULK_READ: Rule = Rule {
    id: "bulk_read",
    severity: Severity::High,
    techniques: &["T1119", "T1020", "T1030"],
    checks: "bytes or files read in the last minute, hour or day far above the account's own \
             history and the floors; for an unproven session (new network, new account, an \
             account that never reads) the cautious budget",
};

pub const BREADTH: Rule = Rule {
    id: "breadth",
    severity: Severity::High,
    techniques: &["T1083", "T1119"],
    checks: "a large share of the tenant's files or bytes read by one account within a day",
};

pub const SWEEP: Rule = Rule {
    id: "directory_sweep",
    severity: Severity::Medium,
    techniques: &["T1083", "T1119"],
    checks: "many directory listings followed by reads within minutes",
};

pub const NOVELTY: Rule = Rule {
    id: "novelty",
    severity: Severity::Medium,
    techniques: &["T1078"],
    checks: "a login from a network, client or hour the account has never used, or an account \
             reading when it has only ever uploaded (low when only the client or the hour is \
             new)",
};

pub const LOW_AND_SLOW: Rule = Rule {
    id: "low_and_slow",
    severity: Severity::High,
    techniques: &["T1020", "T1030"],
    checks: "bytes read over the last 24 hours well above the account's largest day, however \
             slowly they were read",
};

pub const MASS_CHANGE: Rule = Rule {
    id: "mass_change",
    severity: Severity::High,
    techniques: &["T1485", "T1486"],
    checks: "many of the tenant's files removed, moved or replaced by one account within 10 \
             minutes (files of others: removed or renamed away, ones it had neither downloaded \
             nor uploaded in 30 days; replaced, ones it had not uploaded), far above its own \
             history",
};

pub const CANARY: Rule = Rule {
    id: "canary",
    severity: Severity::Critical,
    techniques: &["T1005", "T1083"],
    checks: "a canary file opened for reading, renamed (or moved with its directory) or removed",
};

pub const AUTH_ATTACK: Rule = Rule {
    id: "auth_attack",
    severity: Severity::Medium,
    techniques: &["T1110"],
    checks: "the defender banned an address (spraying, brute force) or saw one account \
             attacked from many addresses (stuffing)",
};

/// Every rule, in the order they are listed.
pub const ALL: &[Rule] = &[
    BULK_READ,
    BREADTH,
    SWEEP,
    NOVELTY,
    LOW_AND_SLOW,
    MASS_CHANGE,
    CANARY,
    AUTH_ATTACK,
];

pub fn by_id(id: &str) -> Option<Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

/// The thresholds the rules use. Every field can be overridden for a tenant or an account.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Floors of `bulk_read` for a proven session: bytes read per minute, hour and day.
    pub minute_bytes: u64,
    pub hour_bytes: u64,
    pub day_bytes: u64,
    /// Floors of `bulk_read`: files opened for reading per minute, hour and day.
    pub minute_files: u64,
    pub hour_files: u64,
    pub day_files: u64,
    /// `bulk_read` fires above this many times the account's largest minute, hour or day in
    /// its history (or the floor, whichever is larger).
    pub history_multiplier: u64,
    /// The cautious budget of an unproven session's account: bytes read in an hour, or this
    /// per mille of the tenant's bytes, whichever is larger.
    pub cautious_bytes: u64,
    pub cautious_tenant_permille: u64,
    pub cautious_files: u64,
    /// `breadth`: this per cent of the tenant's files or bytes read by one account within a
    /// day, above the minimums.
    pub breadth_percent: u64,
    pub breadth_min_files: u64,
    pub breadth_min_bytes: u64,
    /// `directory_sweep`: listings, then files opened for reading, within 10 minutes.
    pub sweep_listings: u64,
    pub sweep_reads: u64,
    /// `low_and_slow`: bytes read over 24 hours above this many times the account's largest
    /// day, and above the floor.
    pub slow_multiplier: u64,
    pub slow_day_bytes: u64,
    /// `mass_change`: files of others removed, moved or replaced within 10 minutes, above this and
    /// above `history_multiplier` times the account's largest 10 minutes of such changes.
    pub change_files: u64,
    /// Days of history before an account's own baseline is trusted (until then its sessions
    /// are unproven).
    pub min_history_days: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            minute_bytes: 512 * MIB,
            hour_bytes: 4096 * MIB,
            day_bytes: 16384 * MIB,
            minute_files: 500,
            hour_files: 5_000,
            day_files: 20_000,
            history_multiplier: 4,
            cautious_bytes: 32 * MIB,
            cautious_tenant_permille: 10,
            cautious_files: 200,
            breadth_percent: 50,
            breadth_min_files: 200,
            breadth_min_bytes: 256 * MIB,
            sweep_listings: 50,
            sweep_reads: 50,
            slow_multiplier: 4,
            slow_day_bytes: 64 * MIB,
            change_files: 100,
            min_history_days: 7,
        }
    }
}

/// Containment per severity: what the server does when an alert of that severity is raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Containment {
    pub critical: Vec<Action>,
    pub high: Vec<Action>,
    pub medium: Vec<Action>,
    pub low: Vec<Action>,
}

impl Default for Containment {
    fn default() -> Self {
        use Action as A;
        Self {
            critical: vec![A::CloseSessions, A::LockAccount, A::BanAddress],
            high: vec![A::CloseSessions, A::LockAccount],
            medium: Vec::new(),
            low: Vec::new(),
        }
    }
}

impl Containment {
    pub fn for_severity(&self, s: Severity) -> &[Action] {
        match s {
            Severity::Critical => &self.critical,
            Severity::High => &self.high,
            Severity::Medium => &self.medium,
            Severity::Low => &self.low,
        }
    }
}

/// One containment action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CloseSessions,
    LockAccount,
    BanAddress,
    /// Throttle the account to 64 KiB/s instead of locking it.
    Throttle,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CloseSessions => "close_sessions",
            Action::LockAccount => "lock_account",
            Action::BanAddress => "ban_address",
            Action::Throttle => "throttle",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "close_sessions" => Action::CloseSessions,
            "lock_account" => Action::LockAccount,
            "ban_address" => Action::BanAddress,
            "throttle" => Action::Throttle,
            _ => return None,
        })
    }
}

/// The rate an account is throttled to by [`Action::Throttle`].
pub const CONTAINMENT_THROTTLE: u64 = 64 * 1024;
