//! The server's runs in the audit ledger: an admin record (`serve`) when the server starts,
//! saying whether the run before it stopped cleanly, and one when it stops cleanly. A crash, a
//! kill -9 or a power loss so shows in the ledger (a start with no stop before it), and the
//! incident report can tell a session such a stop cut off (no end recorded, the server started
//! again since) from one still open.
//!
//! Never here: starting or stopping the server (crates/server does, and records through
//! [`crate::audit::Ledger`]); reading anything but the ledger.

use catalog::{LedgerFilter, LedgerStore};
use events::{Event, EventKind, Time};
use vault::LedgerBodyKey;

use crate::ledger_read::{self, LedgerReadError};

/// The `command` of the records.
pub const COMMAND: &str = "serve";
/// The outcome of a clean stop's record.
const STOPPED: &str = "stopped";
/// The outcome of a start's record begins so.
const STARTED: &str = "started";

/// How the run before this one ended, as the ledger shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previous {
    /// No run recorded (a new data directory, or a ledger from before these records).
    None,
    /// It recorded its clean stop.
    Stopped,
    /// It started (then) and recorded no stop: it was cut off.
    Cut { started: Time },
}

/// How the last run of server `node` recorded in `store` ended (its `serve` records; other
/// servers of the same ledger have runs of their own).
pub fn previous_run(
    store: &LedgerStore,
    body_key: &LedgerBodyKey,
    node: &str,
) -> Result<Previous, LedgerReadError> {
    let mut previous = Previous::None;
    for_each_run_record(store, body_key, |of, time, outcome| {
        if of.is_some_and(|of| of != node) {
            return;
        }
        previous = if outcome == STOPPED {
            Previous::Stopped
        } else {
            Previous::Cut { started: time }
        };
    })?;
    Ok(previous)
}

/// The record of a start at `now`, after `previous`, by `by` (the operating-system user).
pub fn started(now: Time, previous: Previous, by: &str) -> Event {
    let outcome = match previous {
        Previous::None | Previous::Stopped => STARTED.to_owned(),
        Previous::Cut { started } => format!(
            "{STARTED}; the run started {started} recorded no stop (a crash, kill -9 or power \
             loss): the sessions it had open were cut off"
        ),
    };
    admin(now, by, outcome)
}

/// The record of a clean stop at `now`.
pub fn stopped(now: Time, by: &str) -> Event {
    admin(now, by, STOPPED.to_owned())
}

fn admin(now: Time, by: &str, outcome: String) -> Event {
    Event::new(
        now,
        EventKind::Admin {
            command: COMMAND.to_owned(),
            by: by.to_owned(),
            outcome,
        },
    )
}

/// The starts recorded in `store`: each one's node (the server that started) and time, in
/// order.
pub fn starts(
    store: &LedgerStore,
    body_key: &LedgerBodyKey,
) -> Result<Vec<(Option<String>, Time)>, LedgerReadError> {
    let mut starts = Vec::new();
    for_each_run_record(store, body_key, |node, time, outcome| {
        if outcome.starts_with(STARTED) {
            starts.push((node.map(str::to_owned), time));
        }
    })?;
    Ok(starts)
}

/// Calls `each` with every `serve` record of `store` (its node, time and outcome), in order:
/// through the ledger's index of kinds, the admin records alone.
fn for_each_run_record(
    store: &LedgerStore,
    body_key: &LedgerBodyKey,
    mut each: impl FnMut(Option<&str>, Time, &str),
) -> Result<(), LedgerReadError> {
    let filter = LedgerFilter {
        kind: Some("admin".into()),
        ..LedgerFilter::default()
    };
    ledger_read::for_each(store, body_key, &filter, |r| {
        if let EventKind::Admin {
            command, outcome, ..
        } = &r.event.kind
            && command == COMMAND
        {
            each(r.event.node.as_deref(), r.event.time, outcome);
        }
        Ok::<(), LedgerReadError>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_after_a_run_that_recorded_no_stop_says_so() {
        let at = Time::from_secs(1_800_000_000);
        let outcome = |e: Event| match e.kind {
            EventKind::Admin { outcome, .. } => outcome,
            _ => unreachable!(),
        };
        assert_eq!(outcome(started(at, Previous::Stopped, "ops")), "started");
        assert_eq!(outcome(started(at, Previous::None, "ops")), "started");
        let cut = outcome(started(at, Previous::Cut { started: at }, "ops"));
        assert!(cut.starts_with("started; the run started "), "{cut}");
        assert!(cut.contains("recorded no stop"), "{cut}");
        assert_eq!(outcome(stopped(at, "ops")), "stopped");
    }
}
