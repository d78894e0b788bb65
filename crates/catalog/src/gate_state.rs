//! What the gate remembers: second-factor state and recovery codes, trusted certificate
//! authorities and revocations, network allow-lists, bans, when and from where each credential
//! was last used, and the sessions administrators ended (for every server on the catalog). The
//! gate decides; this module only stores.

use crate::{Account, Catalog, CatalogError, Result, exists_or};

/// Changes to an account's login settings: `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct AccountSettings {
    pub methods: Option<Vec<String>>,
    pub automation: Option<bool>,
    pub allowed_networks: Option<Option<String>>,
    pub password_expires_at: Option<Option<i64>>,
}

/// A trusted certificate authority of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCa {
    pub public_key: String,
    pub fingerprint: String,
    pub comment: String,
    pub created_at: i64,
}

/// How long a session kill is kept (a day, in milliseconds): a server that has not read it by
/// then had no session it names (its look is every few seconds).
pub const SESSION_KILLS_KEPT_MS: i64 = 86_400_000;

/// Sessions an administrator ended: which (the service's selection, as JSON), why, and when
/// (Unix milliseconds: sessions that began later are not its).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKill {
    pub id: i64,
    pub selection: String,
    pub why: String,
    pub created_at: i64,
}

/// A ban of a source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub address: String,
    pub level: i64,
    pub until: i64,
    pub reason: String,
    pub created_at: i64,
}

impl Catalog {
    pub async fn update_account(&self, name: &str, s: &AccountSettings) -> Result<()> {
        let a = self.account(name).await?;
        let methods = s
            .methods
            .as_ref()
            .map(|m| m.join(","))
            .unwrap_or(a.methods.join(","));
        sqlx::query(
            "UPDATE accounts SET methods = ?, automation = ?, allowed_networks = ?,
                    password_expires_at = ? WHERE id = ?",
        )
        .bind(methods)
        .bind(s.automation.unwrap_or(a.automation))
        .bind(s.allowed_networks.clone().unwrap_or(a.allowed_networks))
        .bind(s.password_expires_at.unwrap_or(a.password_expires_at))
        .bind(a.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Enrols TOTP: stores the secret, sealed under the account's tenant key at `key_version`
    /// (refused with `KeyRotated` if the key was rotated since: the secret would be under a
    /// key that is gone, and the account locked out), and replaces the recovery codes (hashes).
    pub async fn set_totp(
        &self,
        account: &Account,
        key_version: i64,
        sealed_secret: &[u8],
        recovery_hashes: &[Vec<u8>],
    ) -> Result<()> {
        let account_id = account.id;
        let mut tx = self.begin_write().await?;
        crate::namespace::check_key_version(&mut tx, account.tenant_id, key_version).await?;
        let done = sqlx::query(
            "UPDATE accounts SET totp_secret = ?, totp_last_step = NULL
              WHERE id = ? AND tenant_id = ?",
        )
        .bind(sealed_secret)
        .bind(account_id)
        .bind(account.tenant_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::NotFound {
                what: "account",
                name: account.name.clone(),
            });
        }
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = ?")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        for h in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES (?, ?)")
                .bind(account_id)
                .bind(h)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records that TOTP time step `step` was used; `false` if it (or a later one) already was,
    /// so that a code is accepted once only.
    pub async fn claim_totp_step(&self, account_id: i64, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET totp_last_step = ?1
              WHERE id = ?2 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        )
        .bind(step)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses up a recovery code; `false` if it does not exist or was used.
    pub async fn use_recovery_code(&self, account_id: i64, hash: &[u8], now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ?
              WHERE account_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .bind(hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn unused_recovery_codes(&self, account_id: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = ? AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// (account id, sealed TOTP secret) of the tenant's enrolled accounts (what tests look at;
    /// a key rotation reads them with the rest of what it re-keys).
    #[cfg(test)]
    pub(crate) async fn tenant_totp_secrets(&self, tenant_id: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT id, totp_secret FROM accounts WHERE tenant_id = ? AND totp_secret IS NOT NULL",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn record_key_use(
        &self,
        account_id: i64,
        fingerprint: &str,
        now: i64,
        from: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE account_keys SET last_used_at = ?, last_used_from = ?
              WHERE account_id = ? AND fingerprint = ?",
        )
        .bind(now)
        .bind(from)
        .bind(account_id)
        .bind(fingerprint)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn record_password_use(&self, account_id: i64, now: i64, from: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET password_last_used_at = ?, password_last_used_from = ? WHERE id = ?")
            .bind(now)
            .bind(from)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_under_attack(&self, account_id: i64, until: i64) -> Result<()> {
        sqlx::query("UPDATE accounts SET under_attack_until = ? WHERE id = ?")
            .bind(until)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn add_ca(&self, tenant: &str, ca: &TrustedCa) -> Result<()> {
        let t = self.tenant(tenant).await?;
        sqlx::query(
            "INSERT INTO tenant_cas (tenant_id, public_key, fingerprint, comment, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(t.id)
        .bind(&ca.public_key)
        .bind(&ca.fingerprint)
        .bind(&ca.comment)
        .bind(ca.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| exists_or(e, "certificate authority", || ca.fingerprint.clone()))?;
        Ok(())
    }

    pub async fn list_cas(&self, tenant: &str) -> Result<Vec<TrustedCa>> {
        let t = self.tenant(tenant).await?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT public_key, fingerprint, comment, created_at FROM tenant_cas
              WHERE tenant_id = ? ORDER BY id",
        )
        .bind(t.id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(public_key, fingerprint, comment, created_at)| TrustedCa {
                public_key,
                fingerprint,
                comment,
                created_at,
            })
            .collect())
    }

    pub async fn remove_ca(&self, tenant: &str, fingerprint: &str) -> Result<()> {
        let t = self.tenant(tenant).await?;
        let done = sqlx::query("DELETE FROM tenant_cas WHERE tenant_id = ? AND fingerprint = ?")
            .bind(t.id)
            .bind(fingerprint)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::NotFound {
                what: "certificate authority",
                name: fingerprint.to_owned(),
            });
        }
        Ok(())
    }

    /// Does tenant `tenant_id` trust the CA with this fingerprint?
    pub async fn trusts_ca(&self, tenant_id: i64, fingerprint: &str) -> Result<bool> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM tenant_cas WHERE tenant_id = ? AND fingerprint = ?)",
        )
        .bind(tenant_id)
        .bind(fingerprint)
        .fetch_one(&self.pool)
        .await?;
        Ok(n != 0)
    }

    /// Revokes certificates of a tenant by key id (`kind` "key-id") or certified-key
    /// fingerprint ("fingerprint").
    pub async fn revoke_certificate(
        &self,
        tenant: &str,
        kind: &str,
        value: &str,
        now: i64,
    ) -> Result<()> {
        let t = self.tenant(tenant).await?;
        sqlx::query(
            "INSERT OR IGNORE INTO cert_revocations (tenant_id, kind, value, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(t.id)
        .bind(kind)
        .bind(value)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn is_revoked(
        &self,
        tenant_id: i64,
        key_id: &str,
        fingerprint: &str,
    ) -> Result<bool> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM cert_revocations WHERE tenant_id = ?1 AND
                    ((kind = 'key-id' AND value = ?2) OR (kind = 'fingerprint' AND value = ?3)))",
        )
        .bind(tenant_id)
        .bind(key_id)
        .bind(fingerprint)
        .fetch_one(&self.pool)
        .await?;
        Ok(n != 0)
    }

    /// Records that the sessions `selection` names (JSON, the service's) end, for `why`, at
    /// `now` (Unix milliseconds), and forgets those recorded a day before; returns its id.
    pub async fn record_session_kill(&self, selection: &str, why: &str, now: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM session_kills WHERE created_at < ?")
            .bind(now - SESSION_KILLS_KEPT_MS)
            .execute(&mut *tx)
            .await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO session_kills (selection, why, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(selection)
        .bind(why)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The session kills recorded after id `after`, oldest first, at most `limit`.
    pub async fn session_kills_after(&self, after: i64, limit: i64) -> Result<Vec<SessionKill>> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, selection, why, created_at FROM session_kills WHERE id > ?
              ORDER BY id LIMIT +?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, selection, why, created_at)| SessionKill {
                id,
                selection,
                why,
                created_at,
            })
            .collect())
    }

    /// The certificate revocations of tenants `tenant_ids` (those with live certificate
    /// sessions): `(tenant, kind, value)`, kind `key-id` or `fingerprint`. One query.
    pub async fn revocations_of(&self, tenant_ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
        if tenant_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT tenant_id, kind, value FROM cert_revocations
              WHERE tenant_id IN (SELECT value FROM json_each(?))
              ORDER BY tenant_id, kind, value",
        )
        .bind(crate::json_ids(tenant_ids))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn list_revocations(&self, tenant: &str) -> Result<Vec<(String, String, i64)>> {
        let t = self.tenant(tenant).await?;
        Ok(sqlx::query_as(
            "SELECT kind, value, created_at FROM cert_revocations WHERE tenant_id = ? ORDER BY created_at",
        )
        .bind(t.id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn set_tenant_gate(
        &self,
        tenant: &str,
        require_mfa: Option<bool>,
        networks: Option<Option<String>>,
    ) -> Result<()> {
        let t = self.tenant(tenant).await?;
        sqlx::query(
            "UPDATE tenants SET require_mfa = COALESCE(?, require_mfa),
                    allowed_networks = CASE WHEN ? THEN ? ELSE allowed_networks END WHERE id = ?",
        )
        .bind(require_mfa)
        .bind(networks.is_some())
        .bind(networks.flatten())
        .bind(t.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// (require_mfa, allowed networks) of a tenant.
    pub async fn tenant_gate(&self, tenant: &str) -> Result<(bool, Option<String>)> {
        let (mfa, nets): (i64, Option<String>) =
            sqlx::query_as("SELECT require_mfa, allowed_networks FROM tenants WHERE name = ?")
                .bind(tenant)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| CatalogError::NotFound {
                    what: "tenant",
                    name: tenant.to_owned(),
                })?;
        Ok((mfa != 0, nets))
    }

    /// The networks from which any tenant may be reached: `None` if some tenant has no list
    /// (then every address may at least try).
    pub async fn reachable_networks(&self) -> Result<Option<Vec<String>>> {
        let rows: Vec<(Option<String>,)> = sqlx::query_as("SELECT allowed_networks FROM tenants")
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut all = Vec::new();
        for (nets,) in rows {
            match nets {
                None => return Ok(None),
                Some(n) => all.extend(n.split(',').filter(|s| !s.is_empty()).map(str::to_owned)),
            }
        }
        Ok(Some(all))
    }

    pub async fn upsert_ban(&self, ban: &Ban) -> Result<()> {
        sqlx::query(
            "INSERT INTO bans (address, level, until, reason, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (address) DO UPDATE SET level = excluded.level, until = excluded.until,
                    reason = excluded.reason, created_at = excluded.created_at",
        )
        .bind(&ban.address)
        .bind(ban.level)
        .bind(ban.until)
        .bind(&ban.reason)
        .bind(ban.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every ban row (expired ones too: their level drives the next escalation).
    pub async fn bans(&self) -> Result<Vec<Ban>> {
        let rows: Vec<BanRow> = sqlx::query_as(
            "SELECT address, level, until, reason, created_at FROM bans ORDER BY until DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ban_of).collect())
    }

    /// The bans made or renewed at or after `since` (Unix seconds).
    pub async fn bans_made_since(&self, since: i64) -> Result<Vec<Ban>> {
        let rows: Vec<BanRow> = sqlx::query_as(
            "SELECT address, level, until, reason, created_at FROM bans WHERE created_at >= ?",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ban_of).collect())
    }

    /// Deletes the bans that ended before `before` (Unix seconds), and of those that ended
    /// before `now` all but the `keep` that ended last; how many.
    pub async fn forget_bans(&self, before: i64, now: i64, keep: u32) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM bans WHERE until < ?1
                 OR (until < ?2 AND until < (SELECT COALESCE(min(until), ?2) FROM
                       (SELECT until FROM bans WHERE until < ?2 ORDER BY until DESC LIMIT +?3)))",
        )
        .bind(before)
        .bind(now)
        .bind(keep)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Lifts the ban of `address` in force at `now` (Unix seconds): it ends now, as renewed now
    /// (so every server takes it up with the bans made since its last reading, within seconds,
    /// told or not), at level 0 (an address banned in error starts its escalation afresh), with
    /// `reason`; forgotten with the other ended bans. Not found where no ban is in force.
    pub async fn lift_ban(&self, address: &str, now: i64, reason: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE bans SET until = ?2, created_at = ?2, level = 0, reason = ?3
              WHERE address = ?1 AND until > ?2",
        )
        .bind(address)
        .bind(now)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::NotFound {
                what: "ban in force",
                name: address.to_owned(),
            });
        }
        Ok(())
    }
}

/// A ban as selected: address, level, until, reason, created_at.
type BanRow = (String, i64, i64, String, i64);

fn ban_of((address, level, until, reason, created_at): BanRow) -> Ban {
    Ban {
        address,
        level,
        until,
        reason,
        created_at,
    }
}
