//! What is delivered beyond the ledger, and how far: the durable queue of alert deliveries (per
//! alert and destination, `webhook` or `email`: its attempts, when it may be tried next, and
//! whether it was delivered or given up; a server holds a delivery before trying it, moving its
//! next try ahead, so that several servers on one catalog try each at most once at a time), and
//! each SIEM destination's cursor in the ledger. The service decides when to try and what to
//! send; this module only stores.

use crate::{Catalog, Result};

/// How one alert's delivery to one destination stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDelivery {
    pub alert_id: String,
    pub destination: String,
    pub attempts: i64,
    /// When it may be tried next (Unix milliseconds).
    pub next_at: i64,
    pub delivered_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub last_error: Option<String>,
}

type DeliveryRow = (
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn delivery_of(r: DeliveryRow) -> AlertDelivery {
    AlertDelivery {
        alert_id: r.0,
        destination: r.1,
        attempts: r.2,
        next_at: r.3,
        delivered_at: r.4,
        gave_up_at: r.5,
        last_error: r.6,
    }
}

/// Why a delivery was given up before it was tried: its destination already had this many
/// waiting ([`Catalog::queue_alert_delivery`]).
pub const QUEUE_FULL: &str =
    "not queued: the deliveries waiting for this destination were at their limit";

impl Catalog {
    /// Queues alert `alert_id` for `destination`, to be tried from `now` (Unix milliseconds),
    /// unless `most` deliveries wait for it already: then it is stored as given up (the alert
    /// is in the catalog and the ledger all the same). Whether it was queued. Once per alert
    /// and destination.
    pub async fn queue_alert_delivery(
        &self,
        alert_id: &str,
        destination: &str,
        now: i64,
        most: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO alert_deliveries
                    (alert_id, destination, next_at, gave_up_at, last_error)
             SELECT ?1, ?2, ?3, CASE WHEN full THEN ?3 END, CASE WHEN full THEN ?5 END
               FROM (SELECT (SELECT count(*) FROM alert_deliveries
                              WHERE destination = ?2 AND delivered_at IS NULL
                                AND gave_up_at IS NULL) >= ?4 AS full)",
        )
        .bind(alert_id)
        .bind(destination)
        .bind(now)
        .bind(most)
        .bind(QUEUE_FULL)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let (given_up,): (bool,) = sqlx::query_as(
            "SELECT gave_up_at IS NOT NULL FROM alert_deliveries
              WHERE alert_id = ? AND destination = ?",
        )
        .bind(alert_id)
        .bind(destination)
        .fetch_one(&self.pool)
        .await?;
        Ok(!given_up)
    }

    /// Takes the delivery to `destination` due first at `now` (Unix milliseconds), if any, and
    /// holds it until `hold_until` (no other server tries it meanwhile): its alert's id and the
    /// attempts made so far.
    pub async fn hold_due_alert_delivery(
        &self,
        destination: &str,
        now: i64,
        hold_until: i64,
    ) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as(
            "UPDATE alert_deliveries SET next_at = ?3
              WHERE rowid = (SELECT rowid FROM alert_deliveries
                              WHERE destination = ?1 AND next_at <= ?2
                                AND delivered_at IS NULL AND gave_up_at IS NULL
                              ORDER BY next_at LIMIT 1)
              RETURNING alert_id, attempts",
        )
        .bind(destination)
        .bind(now)
        .bind(hold_until)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records an attempt at a delivery: delivered (`Ok`), or failed with why, to be tried again
    /// at `next_at` or, with `None`, given up.
    pub async fn record_alert_delivery(
        &self,
        alert_id: &str,
        destination: &str,
        now: i64,
        outcome: std::result::Result<(), (&str, Option<i64>)>,
    ) -> Result<()> {
        let (delivered, gave_up, error, next_at) = match outcome {
            Ok(()) => (Some(now), None, None, now),
            Err((why, Some(next))) => (None, None, Some(why), next),
            Err((why, None)) => (None, Some(now), Some(why), now),
        };
        sqlx::query(
            "UPDATE alert_deliveries SET attempts = attempts + 1, delivered_at = ?3,
                    gave_up_at = ?4, last_error = coalesce(?5, last_error), next_at = ?6
              WHERE alert_id = ?1 AND destination = ?2",
        )
        .bind(alert_id)
        .bind(destination)
        .bind(delivered)
        .bind(gave_up)
        .bind(error)
        .bind(next_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up, at `now`, the deliveries waiting for destinations other than `configured`
    /// (one removed from the configuration since they were queued); how many.
    pub async fn give_up_alert_deliveries_except(
        &self,
        configured: &[&str],
        now: i64,
        why: &str,
    ) -> Result<u64> {
        let list = configured.join(",");
        let done = sqlx::query(
            "UPDATE alert_deliveries SET gave_up_at = ?2, last_error = ?3
              WHERE delivered_at IS NULL AND gave_up_at IS NULL
                AND instr(',' || ?1 || ',', ',' || destination || ',') = 0",
        )
        .bind(list)
        .bind(now)
        .bind(why)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// How alert `alert_id`'s deliveries stand, by destination.
    pub async fn alert_deliveries(&self, alert_id: &str) -> Result<Vec<AlertDelivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT alert_id, destination, attempts, next_at, delivered_at, gave_up_at,
                    last_error
               FROM alert_deliveries WHERE alert_id = ? ORDER BY destination",
        )
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(delivery_of).collect())
    }
}

/// A SIEM destination (`[forward]`) as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardCursor {
    /// Its kind and address or path (`syslog-tls siem.bank.example:6514`).
    pub destination: String,
    /// The last ledger sequence number handed to it.
    pub seq: i64,
    /// Since when (Unix ms) its sends have been failing; `None`: they are not.
    pub failing_since: Option<i64>,
    /// Its last failure and when (Unix ms), kept after it works again.
    pub last_failure: Option<String>,
    pub last_failure_at: Option<i64>,
}

impl Catalog {
    /// The last ledger sequence number SIEM destination `destination` was handed, if it was
    /// ever started.
    pub async fn forward_cursor(&self, destination: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM forward_cursors WHERE destination = ?")
                .bind(destination)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(seq,)| seq))
    }

    /// Every SIEM destination's cursor and how its delivery stands, by name.
    pub async fn forward_cursors(&self) -> Result<Vec<ForwardCursor>> {
        type Row = (String, i64, Option<i64>, Option<String>, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT destination, seq, failing_since, last_failure, last_failure_at
               FROM forward_cursors ORDER BY destination",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(destination, seq, failing_since, last_failure, last_failure_at)| ForwardCursor {
                    destination,
                    seq,
                    failing_since,
                    last_failure,
                    last_failure_at,
                },
            )
            .collect())
    }

    /// Forgets the cursors of the SIEM destinations not in `configured` (no longer in the
    /// server's configuration: one configured again starts afresh, at the ledger's head);
    /// returns those forgotten.
    pub async fn forget_forward_cursors_except(
        &self,
        configured: &[String],
    ) -> Result<Vec<String>> {
        let kept: Vec<(String,)> = sqlx::query_as("SELECT destination FROM forward_cursors")
            .fetch_all(&self.pool)
            .await?;
        let mut gone = Vec::new();
        for (destination,) in kept {
            if !configured.contains(&destination) {
                sqlx::query("DELETE FROM forward_cursors WHERE destination = ?")
                    .bind(&destination)
                    .execute(&self.pool)
                    .await?;
                gone.push(destination);
            }
        }
        gone.sort();
        Ok(gone)
    }

    /// `destination`'s send failed at `at` (Unix ms) for `why`: failing since then unless it
    /// was already.
    pub async fn record_forward_failure(
        &self,
        destination: &str,
        why: &str,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE forward_cursors
                SET failing_since = coalesce(failing_since, ?2), last_failure = ?3,
                    last_failure_at = ?2
              WHERE destination = ?1",
        )
        .bind(destination)
        .bind(at)
        .bind(why)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `destination`'s sends work again (its last failure kept).
    pub async fn record_forward_working(&self, destination: &str) -> Result<()> {
        sqlx::query("UPDATE forward_cursors SET failing_since = NULL WHERE destination = ?")
            .bind(destination)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves `destination`'s cursor to `seq`, back too (a ledger begun anew, or an older copy
    /// accepted: its head is behind where forwarding had reached).
    pub async fn reset_forward_cursor(&self, destination: &str, seq: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO forward_cursors (destination, seq) VALUES (?1, ?2)
             ON CONFLICT (destination) DO UPDATE SET seq = excluded.seq",
        )
        .bind(destination)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that `destination` was handed the ledger up to `seq` (never moves it back).
    pub async fn set_forward_cursor(&self, destination: &str, seq: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO forward_cursors (destination, seq) VALUES (?1, ?2)
             ON CONFLICT (destination) DO UPDATE SET seq = max(seq, excluded.seq)",
        )
        .bind(destination)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
