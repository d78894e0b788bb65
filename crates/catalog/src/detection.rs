//! What detection keeps in the catalog: the alerts raised (with their acknowledgement), the
//! canary files of each tenant, and per-tenant and per-account threshold overrides. Alert
//! bodies and overrides are JSON written by the service; this module stores and selects them,
//! never interprets them.

use crate::{Catalog, CatalogError, Result};

/// One stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub id: String,
    pub time_ms: i64,
    pub severity: String,
    pub rule: String,
    pub account: Option<String>,
    pub tenant: Option<String>,
    pub source: Option<String>,
    /// The alert as JSON.
    pub body: String,
    pub acked_at: Option<i64>,
    pub acked_by: Option<String>,
    pub ack_note: Option<String>,
}

/// Which alerts to list; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub since_ms: Option<i64>,
    /// Severities to include (empty: all).
    pub severities: Vec<String>,
    pub account: Option<String>,
    /// Only the alerts a destination has not been sent (its delivery waiting or given up).
    pub undelivered: bool,
}

/// A canary file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    pub node_id: i64,
    pub tenant: String,
    pub created_at: i64,
}

type AlertRow = (
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn alert_of(r: AlertRow) -> StoredAlert {
    StoredAlert {
        id: r.0,
        time_ms: r.1,
        severity: r.2,
        rule: r.3,
        account: r.4,
        tenant: r.5,
        source: r.6,
        body: r.7,
        acked_at: r.8,
        acked_by: r.9,
        ack_note: r.10,
    }
}

/// `SELECT` of the columns [`alert_of`] reads, then `$rest`: one constant string per query.
macro_rules! select_alerts {
    ($rest:literal) => {
        concat!(
            "SELECT id, time_ms, severity, rule, account, tenant, source, body, acked_at, \
             acked_by, ack_note FROM alerts ",
            $rest
        )
    };
}

impl Catalog {
    pub async fn add_alert(&self, a: &StoredAlert) -> Result<()> {
        sqlx::query(
            "INSERT INTO alerts (id, time_ms, severity, rule, account, tenant, source, body)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.id)
        .bind(a.time_ms)
        .bind(&a.severity)
        .bind(&a.rule)
        .bind(&a.account)
        .bind(&a.tenant)
        .bind(&a.source)
        .bind(&a.body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` of the alerts `f` selects, oldest first (by time, then id), after `after`
    /// (the last of the page before; `None` for the first page).
    pub async fn alerts(
        &self,
        f: &AlertFilter,
        after: Option<&StoredAlert>,
        limit: u32,
    ) -> Result<Vec<StoredAlert>> {
        let severities = f.severities.join(",");
        let rows: Vec<AlertRow> = sqlx::query_as(select_alerts!(
            "WHERE (?1 IS NULL OR time_ms >= ?1)
               AND (?2 = '' OR instr(',' || ?2 || ',', ',' || severity || ',') > 0)
               AND (?3 IS NULL OR account = ?3)
               AND (?4 IS NULL OR time_ms > ?4 OR (time_ms = ?4 AND id > ?5))
               AND (NOT ?7 OR EXISTS (SELECT 1 FROM alert_deliveries d
                                       WHERE d.alert_id = alerts.id AND d.delivered_at IS NULL))
             ORDER BY time_ms, id LIMIT +?6"
        ))
        .bind(f.since_ms)
        .bind(severities)
        .bind(&f.account)
        .bind(after.map(|a| a.time_ms))
        .bind(after.map(|a| a.id.as_str()))
        .bind(limit)
        .bind(f.undelivered)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(alert_of).collect())
    }

    pub async fn alert(&self, id: &str) -> Result<StoredAlert> {
        let row: Option<AlertRow> = sqlx::query_as(select_alerts!("WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(alert_of).ok_or_else(|| CatalogError::NotFound {
            what: "alert",
            name: id.to_owned(),
        })
    }

    /// Acknowledges an alert (once: a second acknowledgement is refused).
    pub async fn ack_alert(&self, id: &str, at: i64, by: &str, note: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE alerts SET acked_at = ?, acked_by = ?, ack_note = ?
              WHERE id = ? AND acked_at IS NULL",
        )
        .bind(at)
        .bind(by)
        .bind(note)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            self.alert(id).await?;
            return Err(CatalogError::Invalid {
                what: "acknowledgement",
                why: format!("alert {id} is acknowledged already"),
            });
        }
        Ok(())
    }

    /// Adds a tenant's classification pattern (its name must be new in the tenant).
    pub async fn add_classify_pattern(
        &self,
        tenant_id: i64,
        name: &str,
        pattern: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO classify_patterns (tenant_id, name, pattern, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(pattern)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| crate::exists_or(e, "pattern", || name.to_owned()))?;
        Ok(())
    }

    /// A tenant's classification patterns: (name, pattern), by name.
    pub async fn classify_patterns(&self, tenant_id: i64) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT name, pattern FROM classify_patterns WHERE tenant_id = ? ORDER BY name",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Removes a tenant's classification pattern; whether it existed.
    pub async fn remove_classify_pattern(&self, tenant_id: i64, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM classify_patterns WHERE tenant_id = ? AND name = ?")
            .bind(tenant_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a file of a tenant as a canary.
    pub async fn add_canary(&self, tenant_id: i64, node_id: i64, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO canaries (node_id, tenant_id, created_at) VALUES (?, ?, ?)")
            .bind(node_id)
            .bind(tenant_id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| crate::exists_or(e, "canary", || node_id.to_string()))?;
        Ok(())
    }

    /// Every canary (of one tenant, if given).
    pub async fn canaries(&self, tenant: Option<&str>) -> Result<Vec<Canary>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT c.node_id, t.name, c.created_at FROM canaries c
               JOIN tenants t ON t.id = c.tenant_id
              WHERE ?1 IS NULL OR t.name = ?1
              ORDER BY t.name, c.node_id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(node_id, tenant, created_at)| Canary {
                node_id,
                tenant,
                created_at,
            })
            .collect())
    }

    /// Whether `node_id` is a canary.
    pub async fn is_canary(&self, node_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT node_id FROM canaries WHERE node_id = ?")
            .bind(node_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Which of `ids` are canaries (one query for a listing's page, on the caller's thread).
    pub fn canaries_among(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let list = crate::json_ids(ids);
        self.direct.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT node_id FROM canaries WHERE node_id IN (SELECT value FROM json_each(?))",
            )?;
            let rows = stmt.query_map([&list], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Sets (or with `None` removes) the threshold overrides of a tenant or an account, which
    /// must exist (checked in the same statement: one removed meanwhile is not found). They go
    /// with it when it is removed.
    pub async fn set_detection_override(
        &self,
        scope: &str,
        name: &str,
        thresholds: Option<&str>,
    ) -> Result<()> {
        match thresholds {
            Some(json) => {
                let (exists, what) = match scope {
                    "tenant" => ("SELECT 1 FROM tenants WHERE name = ?2", "tenant"),
                    "account" => ("SELECT 1 FROM accounts WHERE name = ?2", "account"),
                    _ => {
                        return Err(CatalogError::Invalid {
                            what: "override scope",
                            why: format!("'{scope}' is neither tenant nor account"),
                        });
                    }
                };
                let sql = sqlx::AssertSqlSafe(format!(
                    "INSERT INTO detection_overrides (scope, name, thresholds)
                     SELECT ?1, ?2, ?3 WHERE EXISTS ({exists})
                     ON CONFLICT (scope, name) DO UPDATE SET thresholds = excluded.thresholds"
                ));
                let done = sqlx::query(sql)
                    .bind(scope)
                    .bind(name)
                    .bind(json)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(CatalogError::NotFound {
                        what,
                        name: name.to_owned(),
                    });
                }
            }
            None => {
                sqlx::query("DELETE FROM detection_overrides WHERE scope = ? AND name = ?")
                    .bind(scope)
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Every override: (scope, name, thresholds JSON).
    pub async fn detection_overrides(&self) -> Result<Vec<(String, String, String)>> {
        Ok(
            sqlx::query_as("SELECT scope, name, thresholds FROM detection_overrides ORDER BY 1, 2")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
