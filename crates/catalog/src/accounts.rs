//! Accounts (who logs in, with which rights, in which tenant) and their public keys.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Catalog, CatalogError, Result, exists_or, validate_name};

/// What an account may do in its tenant's space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read, write, list, rename and remove.
    Full,
    /// Read and list only.
    ReadOnly,
    /// A drop box: create new files and directories; no listing, reading back or overwriting.
    UploadOnly,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Full => "full",
            Access::ReadOnly => "read-only",
            Access::UploadOnly => "upload-only",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(Access::Full),
            "read-only" => Ok(Access::ReadOnly),
            "upload-only" => Ok(Access::UploadOnly),
            other => Err(CatalogError::Invalid {
                what: "access",
                why: format!("'{other}' is not one of full, read-only, upload-only"),
            }),
        }
    }
}

/// What containment does to an account ([`Catalog::contain_account`]).
#[derive(Debug, Clone, Copy)]
pub enum Containment<'a> {
    Lock { reason: &'a str },
    Throttle { bytes_per_sec: i64 },
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant: String,
    pub name: String,
    pub access: Access,
    /// Argon2id PHC string; `None` when the account has no password.
    pub password_hash: Option<String>,
    pub locked: bool,
    /// Why it was locked (by an administrator or by containment); `None` when unlocked.
    pub lock_reason: Option<String>,
    pub created_at: i64,
    /// First factors this account may use: "publickey", "certificate", "password".
    pub methods: Vec<String>,
    /// A machine account: no password, exempt from the tenant's MFA minimum.
    pub automation: bool,
    /// The TOTP secret, sealed with the tenant key (`None`: not enrolled).
    pub totp_secret: Option<Vec<u8>>,
    pub allowed_networks: Option<String>,
    pub password_expires_at: Option<i64>,
    pub password_last_used_at: Option<i64>,
    pub password_last_used_from: Option<String>,
    /// Set by the defender while the account is being attacked from many addresses.
    pub under_attack_until: Option<i64>,
    pub tenant_require_mfa: bool,
    pub tenant_allowed_networks: Option<String>,
    /// Combined read and write rate limit, bytes per second (`None`: none).
    pub throttle_bytes_per_sec: Option<i64>,
}

/// An account's login policy as the gate judges a first factor by it (its methods, networks,
/// password expiry and second factor), without its secrets: what the server reads every 2 s
/// for the accounts with a live session ([`Catalog::login_policies`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPolicy {
    pub account_id: i64,
    /// First factors the account may use: "publickey", "certificate", "password".
    pub methods: Vec<String>,
    pub automation: bool,
    /// Whether a TOTP secret is enrolled (every login then needs a second factor).
    pub second_factor_enrolled: bool,
    pub allowed_networks: Option<String>,
    pub password_expires_at: Option<i64>,
    pub tenant_require_mfa: bool,
    pub tenant_allowed_networks: Option<String>,
}

/// The login policies [`Catalog::login_policies`] read: by account row, and the rows of the
/// accounts whose stored policy does not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginPolicies {
    pub read: Vec<LoginPolicy>,
    pub unreadable: Vec<i64>,
}

impl Account {
    /// Its login policy (the gate judges a login by it).
    pub fn login_policy(&self) -> LoginPolicy {
        LoginPolicy {
            account_id: self.id,
            methods: self.methods.clone(),
            automation: self.automation,
            second_factor_enrolled: self.totp_secret.is_some(),
            allowed_networks: self.allowed_networks.clone(),
            password_expires_at: self.password_expires_at,
            tenant_require_mfa: self.tenant_require_mfa,
            tenant_allowed_networks: self.tenant_allowed_networks.clone(),
        }
    }
}

/// An account's stored methods (`publickey,password`) as a list.
fn methods_of(stored: &str) -> Vec<String> {
    (stored.split(','))
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountKey {
    pub id: i64,
    pub algorithm: String,
    /// The key in OpenSSH one-line form, without comment.
    pub public_key: String,
    /// `SHA256:...` as ssh-keygen prints it.
    pub fingerprint: String,
    pub comment: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_from: Option<String>,
}

/// A public key to attach to an account (parsed and fingerprinted by the caller).
#[derive(Debug, Clone)]
pub struct NewKey {
    pub algorithm: String,
    pub public_key: String,
    pub fingerprint: String,
    pub comment: String,
    pub expires_at: Option<i64>,
}

/// An account's name, its tenant's and when it was made (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCreated {
    pub name: String,
    pub tenant: String,
    pub created_at: i64,
    /// When an administrator last unlocked it (Unix milliseconds).
    pub released_at: Option<i64>,
}

const ACCOUNT_COLUMNS: &str = "SELECT a.id, a.tenant_id, t.name AS tenant, a.name, a.access,
        a.password_hash, a.locked, a.lock_reason, a.created_at, a.methods, a.automation, a.totp_secret,
        a.allowed_networks, a.password_expires_at, a.password_last_used_at,
        a.password_last_used_from, a.under_attack_until, t.require_mfa AS tenant_require_mfa,
        t.allowed_networks AS tenant_allowed_networks, a.throttle_bytes_per_sec
   FROM accounts a JOIN tenants t ON t.id = a.tenant_id";

const KEY_COLUMNS: &str = "SELECT id, algorithm, public_key, fingerprint, comment, created_at,
        expires_at, last_used_at, last_used_from FROM account_keys";

fn account_from_row(r: &SqliteRow) -> Result<Account> {
    Ok(Account {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        tenant: r.try_get("tenant")?,
        name: r.try_get("name")?,
        access: Access::parse(r.try_get("access")?)?,
        password_hash: r.try_get("password_hash")?,
        locked: r.try_get::<i64, _>("locked")? != 0,
        lock_reason: r.try_get("lock_reason")?,
        created_at: r.try_get("created_at")?,
        methods: methods_of(&r.try_get::<String, _>("methods")?),
        automation: r.try_get::<i64, _>("automation")? != 0,
        totp_secret: r.try_get("totp_secret")?,
        allowed_networks: r.try_get("allowed_networks")?,
        password_expires_at: r.try_get("password_expires_at")?,
        password_last_used_at: r.try_get("password_last_used_at")?,
        password_last_used_from: r.try_get("password_last_used_from")?,
        under_attack_until: r.try_get("under_attack_until")?,
        tenant_require_mfa: r.try_get::<i64, _>("tenant_require_mfa")? != 0,
        tenant_allowed_networks: r.try_get("tenant_allowed_networks")?,
        throttle_bytes_per_sec: r.try_get("throttle_bytes_per_sec")?,
    })
}

/// A login policy from its fields as [`Catalog::login_policies`] reads them.
fn login_policy_from(row: &str) -> Result<LoginPolicy> {
    let invalid = |why: &str| CatalogError::Invalid {
        what: "login policy",
        why: format!("{why} in a row of {} bytes", row.len()),
    };
    let fields: Vec<&str> = row.split('\u{1f}').collect();
    let [
        id,
        methods,
        automation,
        enrolled,
        nets,
        expires,
        require_mfa,
        tenant_nets,
    ] = fields[..]
    else {
        return Err(invalid("not 8 fields"));
    };
    let number = |f: &str| {
        f.parse::<i64>()
            .map_err(|_| invalid("a number that does not read"))
    };
    let text = |f: &str| {
        (hex::decode(f).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid("a text that does not read"))
    };
    let list = |f: &str| match f.split_at_checked(1) {
        Some(("+", list)) => text(list).map(Some),
        Some(("-", "")) => Ok(None),
        _ => Err(invalid("a list that does not read")),
    };
    Ok(LoginPolicy {
        account_id: number(id)?,
        methods: methods_of(&text(methods)?),
        automation: number(automation)? != 0,
        second_factor_enrolled: number(enrolled)? != 0,
        allowed_networks: list(nets)?,
        password_expires_at: (!expires.is_empty()).then(|| number(expires)).transpose()?,
        tenant_require_mfa: number(require_mfa)? != 0,
        tenant_allowed_networks: list(tenant_nets)?,
    })
}

fn key_from_row(r: &SqliteRow) -> Result<AccountKey> {
    Ok(AccountKey {
        id: r.try_get("id")?,
        algorithm: r.try_get("algorithm")?,
        public_key: r.try_get("public_key")?,
        fingerprint: r.try_get("fingerprint")?,
        comment: r.try_get("comment")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        last_used_from: r.try_get("last_used_from")?,
    })
}

fn account_not_found(name: &str) -> CatalogError {
    CatalogError::NotFound {
        what: "account",
        name: name.to_owned(),
    }
}

impl Catalog {
    /// Creates an account, optionally with a password hash and a first key, in one transaction.
    pub async fn add_account(
        &self,
        tenant: &str,
        name: &str,
        access: Access,
        password_hash: Option<&str>,
        key: Option<&NewKey>,
        now: i64,
    ) -> Result<Account> {
        validate_name("account name", name)?;
        let tenant = self.tenant(tenant).await?;
        let mut tx = self.begin_write().await?;
        let id = sqlx::query(
            "INSERT INTO accounts (tenant_id, name, access, password_hash, locked, created_at)
             VALUES (?, ?, ?, ?, 0, ?)",
        )
        .bind(tenant.id)
        .bind(name)
        .bind(access.as_str())
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| exists_or(e, "account", || name.to_owned()))?
        .last_insert_rowid();
        if let Some(k) = key {
            insert_key(&mut tx, id, k, now).await?;
        }
        tx.commit().await?;
        self.account(name).await
    }

    pub async fn account(&self, name: &str) -> Result<Account> {
        self.find_account(name)
            .await?
            .ok_or_else(|| account_not_found(name))
    }

    /// The account with this name, if any (for login: absence is not an error there).
    pub async fn find_account(&self, name: &str) -> Result<Option<Account>> {
        let sql = sqlx::AssertSqlSafe(format!("{ACCOUNT_COLUMNS} WHERE a.name = ?"));
        sqlx::query(sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    pub async fn list_accounts(&self, tenant: Option<&str>) -> Result<Vec<Account>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{ACCOUNT_COLUMNS} WHERE (?1 IS NULL OR t.name = ?1) ORDER BY t.name, a.name"
        ));
        let rows = sqlx::query(sql).bind(tenant).fetch_all(&self.pool).await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Every account's name, tenant and creation time: what the detector's refresh reads every
    /// few seconds, on the caller's thread. Not [`Catalog::list_accounts`]: its every column
    /// (secrets among them) through sqlx cost an idle server of 30,000 accounts 12% of a core
    /// and 460 MB resident.
    pub fn accounts_created(&self) -> Result<Vec<AccountCreated>> {
        self.direct.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.name, t.name, a.created_at, a.released_at
                   FROM accounts a JOIN tenants t ON t.id = a.tenant_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AccountCreated {
                    name: r.get(0)?,
                    tenant: r.get(1)?,
                    created_at: r.get(2)?,
                    released_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Of accounts `ids` (rows), those out of service: `(id, true)` locked, `(id, false)`
    /// removed. One query whatever their number (the accounts with a live session).
    pub async fn accounts_out_of_service(&self, ids: &[i64]) -> Result<Vec<(i64, bool)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, bool)> = sqlx::query_as(
            "SELECT j.value, a.id IS NOT NULL FROM json_each(?) j
               LEFT JOIN accounts a ON a.id = j.value
              WHERE a.id IS NULL OR a.locked
              ORDER BY j.value",
        )
        .bind(crate::json_ids(ids))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// The login policies of accounts `ids` (rows: those with a live session), in the order of
    /// their rows; an account gone is left out, and one whose stored policy does not read (a
    /// value written behind the catalog's back) is given apart by its row. One query, no secret
    /// read.
    pub async fn login_policies(&self, ids: &[i64]) -> Result<LoginPolicies> {
        if ids.is_empty() {
            return Ok(LoginPolicies::default());
        }
        // The rows as one text, a row's fields apart by U+001F and rows by U+001E: numbers cast
        // to integers and texts in hex, so that no stored value can hold a separator (a text
        // list is marked `+`, its absence `-`: SQLite's hex of NULL is empty, as of ''). This runs every 2 s over every live account:
        // sqlx decoding 10,000 rows a row at a time took 35-55 ms, this text 7-9 ms.
        let (text,): (Option<String>,) = sqlx::query_as(
            "SELECT group_concat(
                    a.id || char(31) || hex(a.methods) || char(31)
                    || CAST(a.automation AS INTEGER) || char(31)
                    || (a.totp_secret IS NOT NULL) || char(31)
                    || CASE WHEN a.allowed_networks IS NULL THEN '-'
                            ELSE '+' || hex(a.allowed_networks) END || char(31)
                    || coalesce(CAST(a.password_expires_at AS INTEGER), '') || char(31)
                    || CAST(t.require_mfa AS INTEGER) || char(31)
                    || CASE WHEN t.allowed_networks IS NULL THEN '-'
                            ELSE '+' || hex(t.allowed_networks) END, char(30))
               FROM accounts a JOIN tenants t ON t.id = a.tenant_id
              WHERE a.id IN (SELECT value FROM json_each(?))",
        )
        .bind(crate::json_ids(ids))
        .fetch_one(&self.pool)
        .await?;
        let text = text.unwrap_or_default();
        let mut policies = LoginPolicies::default();
        for row in text.split('\u{1e}').filter(|row| !row.is_empty()) {
            match login_policy_from(row) {
                Ok(p) => policies.read.push(p),
                // The row's id is an integer primary key: it always reads.
                Err(_) => policies
                    .unreadable
                    .extend((row.split('\u{1f}').next()).and_then(|id| id.parse::<i64>().ok())),
            }
        }
        policies.read.sort_unstable_by_key(|p| p.account_id);
        policies.unreadable.sort_unstable();
        Ok(policies)
    }

    /// The rates of accounts `ids` (rows: those with a live session): each one's name and its
    /// throttle (bytes per second; `None`: none). One query.
    pub async fn account_throttles(&self, ids: &[i64]) -> Result<Vec<(String, Option<i64>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT name, throttle_bytes_per_sec FROM accounts
              WHERE id IN (SELECT value FROM json_each(?)) ORDER BY name",
        )
        .bind(crate::json_ids(ids))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Of public keys `keys` (an account's row and a key's fingerprint), those the account no
    /// longer holds (removed). One query whatever their number (the keys of live sessions).
    pub async fn keys_out_of_service(&self, keys: &[(i64, String)]) -> Result<Vec<(i64, String)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // `[[account, "SHA256:…"], …]`, bound as one parameter: a fingerprint is base64 after
        // its `SHA256:`, nothing to escape (any other text is refused, not quoted).
        let plain = |f: &str| {
            (f.bytes()).all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'+' | b'/' | b'='))
        };
        if let Some((_, f)) = keys.iter().find(|(_, f)| !plain(f)) {
            return Err(CatalogError::Invalid {
                what: "key fingerprint",
                why: format!("{} bytes that are not a fingerprint's", f.len()),
            });
        }
        let list = format!(
            "[{}]",
            (keys.iter())
                .map(|(a, f)| format!("[{a},\"{f}\"]"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT j.value ->> 0, j.value ->> 1 FROM json_each(?) j
              WHERE NOT EXISTS (SELECT 1 FROM account_keys k
                                 WHERE k.account_id = j.value ->> 0
                                   AND k.fingerprint = j.value ->> 1)
              ORDER BY j.key",
        )
        .bind(list)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Unlocks an account for an administrator, at `now` (Unix milliseconds): every server's
    /// detector releases it from then (`AccountCreated::released_at`).
    pub async fn unlock_account(&self, name: &str, now: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE accounts SET locked = 0, lock_reason = NULL, released_at = ? WHERE name = ?",
        )
        .bind(now)
        .bind(name)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(account_not_found(name));
        }
        Ok(())
    }

    /// Locks an account for an administrator, saying why (unlocked by
    /// [`Catalog::unlock_account`]).
    pub async fn lock_account(&self, name: &str, reason: &str) -> Result<()> {
        let done = sqlx::query("UPDATE accounts SET locked = 1, lock_reason = ? WHERE name = ?")
            .bind(reason)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(account_not_found(name));
        }
        Ok(())
    }

    /// Containment's lock or throttle of account `name` for what it did at `at` (Unix seconds):
    /// only if that account existed then (one removed and made again under the name since is
    /// another account). Whether it was applied.
    pub async fn contain_account(
        &self,
        name: &str,
        at: i64,
        containment: Containment<'_>,
    ) -> Result<bool> {
        let query = match containment {
            Containment::Lock { reason } => sqlx::query(
                "UPDATE accounts SET locked = 1, lock_reason = ?
                      WHERE name = ? AND created_at <= ?",
            )
            .bind(reason),
            Containment::Throttle { bytes_per_sec } => sqlx::query(
                "UPDATE accounts SET throttle_bytes_per_sec = ?
                  WHERE name = ? AND created_at <= ?",
            )
            .bind(bytes_per_sec),
        };
        let done = query.bind(name).bind(at).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets (or with `None` lifts) an account's combined read and write rate limit.
    pub async fn set_throttle(&self, name: &str, bytes_per_sec: Option<i64>) -> Result<()> {
        let done = sqlx::query("UPDATE accounts SET throttle_bytes_per_sec = ? WHERE name = ?")
            .bind(bytes_per_sec)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(account_not_found(name));
        }
        Ok(())
    }

    /// Deletes an account, with its keys, codes and detection overrides (an account made later
    /// under the same name starts from the tenant's thresholds, not from relaxed ones it never
    /// had).
    pub async fn remove_account(&self, name: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM accounts WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(account_not_found(name));
        }
        sqlx::query("DELETE FROM detection_overrides WHERE scope = 'account' AND name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_key(&self, account: &str, key: &NewKey, now: i64) -> Result<AccountKey> {
        let acc = self.account(account).await?;
        let mut tx = self.begin_write().await?;
        let id = insert_key(&mut tx, acc.id, key, now).await?;
        tx.commit().await?;
        Ok(AccountKey {
            id,
            algorithm: key.algorithm.clone(),
            public_key: key.public_key.clone(),
            fingerprint: key.fingerprint.clone(),
            comment: key.comment.clone(),
            created_at: now,
            expires_at: key.expires_at,
            last_used_at: None,
            last_used_from: None,
        })
    }

    pub async fn list_keys(&self, account: &str) -> Result<Vec<AccountKey>> {
        let acc = self.account(account).await?;
        let sql = sqlx::AssertSqlSafe(format!("{KEY_COLUMNS} WHERE account_id = ? ORDER BY id"));
        let rows = sqlx::query(sql).bind(acc.id).fetch_all(&self.pool).await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Removes the key with this fingerprint from the account.
    pub async fn remove_key(&self, account: &str, fingerprint: &str) -> Result<()> {
        let acc = self.account(account).await?;
        let done = sqlx::query("DELETE FROM account_keys WHERE account_id = ? AND fingerprint = ?")
            .bind(acc.id)
            .bind(fingerprint)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::NotFound {
                what: "key",
                name: fingerprint.to_owned(),
            });
        }
        Ok(())
    }

    /// The account's key with this fingerprint, if it has one.
    pub async fn find_key(&self, account_id: i64, fingerprint: &str) -> Result<Option<AccountKey>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{KEY_COLUMNS} WHERE account_id = ? AND fingerprint = ?"
        ));
        sqlx::query(sql)
            .bind(account_id)
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(key_from_row)
            .transpose()
    }
}

async fn insert_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    account_id: i64,
    k: &NewKey,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO account_keys (account_id, algorithm, public_key, fingerprint, comment, created_at,
                                   expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(account_id)
    .bind(&k.algorithm)
    .bind(&k.public_key)
    .bind(&k.fingerprint)
    .bind(&k.comment)
    .bind(now)
    .bind(k.expires_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| exists_or(e, "key", || k.fingerprint.clone()))?
    .last_insert_rowid())
}
