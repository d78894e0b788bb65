//! Whether every sealed value of a tenant opens under its keys: its files' and directories'
//! names, data keys and classes, its class history, its accounts' TOTP secrets. A value that
//! does not (a disk's damage, or a catalog row altered behind the server's back) refuses what
//! needs it, loudly; this finds them all at once, for `tenant check` and for the server's own
//! check every day, which raises an alert naming the tenant ([`alert_of`]). Never here: how
//! values are sealed (the vault), the SQL that pages through the rows (the catalog), what an
//! administrator is shown (`admin::damaged`).

use std::sync::Arc;

use catalog::{Catalog, CatalogError, RekeyError, RekeyableNode, RekeyableValue, Rekeyed};
use events::{Severity, Time};
use vault::TenantKey;

use crate::detection::AlertRecord;

/// The rule an integrity alert names (not one of the detector's: raised by the server's own
/// check, about a tenant, never an account).
pub const RULE: &str = "integrity";

/// MITRE ATT&CK: stored data manipulation.
const TECHNIQUE: &str = "T1565.001";

/// Which sealed value of a row does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamagedValue {
    /// A file's or directory's name: its directory's listing is refused.
    Name,
    /// A file's data key: its contents cannot be read.
    DataKey,
    /// A file's stored data classes (`classify run --again` finds them anew).
    Classes,
    /// The classes of an earlier version of a file, kept for incident reports.
    ClassHistory,
    /// An account's TOTP secret: its second factor cannot be checked.
    TotpSecret,
    /// A file's contents (a sealed chunk that does not open, a missing blob, contents that end
    /// early): found only when contents are checked too.
    Contents,
}

impl DamagedValue {
    /// The value's name in output for machines.
    pub fn as_str(self) -> &'static str {
        match self {
            DamagedValue::Name => "name",
            DamagedValue::DataKey => "data_key",
            DamagedValue::Classes => "classes",
            DamagedValue::ClassHistory => "class_history",
            DamagedValue::TotpSecret => "totp_secret",
            DamagedValue::Contents => "contents",
        }
    }

    /// What the damage stops, for people.
    pub fn consequence(self) -> &'static str {
        match self {
            DamagedValue::Name => "its directory cannot be listed",
            DamagedValue::DataKey => "its contents cannot be read",
            DamagedValue::Classes => "its data classes cannot be shown",
            DamagedValue::ClassHistory => "an earlier version's data classes cannot be reported",
            DamagedValue::TotpSecret => "the account's second factor cannot be checked",
            DamagedValue::Contents => "its contents cannot be read past the damage",
        }
    }
}

/// Opens each value a rotation would re-key and notes the ones that do not open; changes
/// nothing (it never re-keys: every answer is "nothing to store").
struct Inspecting {
    key: Arc<TenantKey>,
    found: Vec<(DamagedValue, i64)>,
}

impl catalog::Rekey for Inspecting {
    fn node(&mut self, n: &RekeyableNode) -> Result<Option<Rekeyed>, RekeyError> {
        if self.key.open_name(&n.sealed_name, &n.name_mac).is_err() {
            self.found.push((DamagedValue::Name, n.id));
        }
        if let (Some(id), Some(wrapped), Some(version)) = (&n.key_id, &n.wrapped_key, n.key_version)
        {
            let opens = self
                .key
                .at_version(version)
                .is_some_and(|k| k.unwrap_data_key(id, wrapped).is_ok());
            if !opens {
                self.found.push((DamagedValue::DataKey, n.id));
            }
        }
        if let Some(sealed) = &n.classes {
            // Bound to the contents' root where the contents are sealed, else to nothing (as
            // `files::classification` seals them).
            let content = match (&n.key_id, &n.content_root) {
                (Some(_), Some(root)) => &root[..],
                _ => &[][..],
            };
            if self.key.open_classes(content, sealed).is_err() {
                self.found.push((DamagedValue::Classes, n.id));
            }
        }
        Ok(None)
    }

    fn class_history(&mut self, v: &RekeyableValue) -> Result<Option<Vec<u8>>, RekeyError> {
        let content = v.content_root.as_deref().unwrap_or_default();
        if self.key.open_classes(content, &v.sealed).is_err() {
            self.found.push((DamagedValue::ClassHistory, v.id));
        }
        Ok(None)
    }

    fn totp_secret(&mut self, v: &RekeyableValue) -> Result<Vec<u8>, RekeyError> {
        // Re-sealed under the new key when a rotation begins: always under the key in force.
        if self.key.open_account_secret(v.id, &v.sealed).is_err() {
            self.found.push((DamagedValue::TotpSecret, v.id));
        }
        // Nothing is stored by a check (`check_rekeyable` discards what it is given).
        Ok(Vec::new())
    }
}

/// Opens every sealed value of tenant `tenant_id` under `key` (with, while a rotation goes on,
/// the key it replaces), a page of rows at a time outside any transaction (the catalog's
/// rotation check, which calls back `checked` with the rows so far); returns the rows read and
/// the values that do not open, each with its row's id. Reads only.
pub async fn inspect(
    catalog: &Catalog,
    key: Arc<TenantKey>,
    tenant_id: i64,
    checked: &(dyn Fn(usize) + Send + Sync),
) -> Result<(usize, Vec<(DamagedValue, i64)>), CatalogError> {
    let mut inspecting = Inspecting {
        key,
        found: Vec::new(),
    };
    let rows = catalog
        .check_rekeyable(tenant_id, &mut inspecting, checked)
        .await?;
    Ok((rows, inspecting.found))
}

/// The alert that tenant `tenant`'s values `found` do not open, found at `time`: high
/// severity, no containment (no account is at fault), the rows named by their ids.
pub fn alert_of(
    tenant: &str,
    found: &[(DamagedValue, i64)],
    id: String,
    time: Time,
) -> AlertRecord {
    let rows = first_named(
        found
            .iter()
            .map(|(value, row)| format!("{} of row {row}", value.as_str())),
    );
    let one = found.len() == 1;
    alert(
        tenant,
        format!(
            "{} sealed {} of tenant {tenant} {} not open under its key (damaged on disk, or \
             altered in the catalog): {rows}; `strongroom tenant check {tenant}` lists them, \
             `tenant repair` mends what it can",
            found.len(),
            if one { "value" } else { "values" },
            if one { "does" } else { "do" },
        ),
        id,
        time,
    )
}

/// The first ten of `named`, joined, then how many more (`a, b and 2 more`).
pub(crate) fn first_named(named: impl Iterator<Item = String>) -> String {
    const NAMED: usize = 10;
    let (mut first, mut more) = (Vec::new(), 0usize);
    for n in named {
        if first.len() < NAMED {
            first.push(n);
        } else {
            more += 1;
        }
    }
    match more {
        0 => first.join(", "),
        n => format!("{} and {n} more", first.join(", ")),
    }
}

/// An `integrity` alert about tenant `tenant` saying `summary`, found at `time`: high
/// severity, no containment, no account or session.
pub(crate) fn alert(tenant: &str, summary: String, id: String, time: Time) -> AlertRecord {
    AlertRecord {
        id,
        time,
        severity: Severity::High,
        rule: RULE.to_owned(),
        techniques: vec![TECHNIQUE.to_owned()],
        account: None,
        tenant: Some(tenant.to_owned()),
        source: None,
        sessions: Vec::new(),
        summary,
        evidence: Vec::new(),
        actions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_names_the_tenant_and_its_first_rows() {
        let one = alert_of(
            "acme",
            &[(DamagedValue::Name, 2)],
            "a1".into(),
            Time::from_millis(5),
        );
        assert_eq!(
            (
                one.rule.as_str(),
                one.severity,
                one.tenant.as_deref(),
                one.account.as_deref()
            ),
            ("integrity", Severity::High, Some("acme"), None)
        );
        assert!(
            one.summary.starts_with(
                "1 sealed value of tenant acme does not open under its key (damaged on disk, \
                 or altered in the catalog): name of row 2; "
            ),
            "{}",
            one.summary
        );
        assert!(one.actions.is_empty());
        let many: Vec<(DamagedValue, i64)> =
            (1..=12).map(|row| (DamagedValue::DataKey, row)).collect();
        let many = alert_of("acme", &many, "a2".into(), Time::from_millis(5));
        assert!(
            many.summary
                .starts_with("12 sealed values of tenant acme do not open")
                && many.summary.contains("data_key of row 10 and 2 more; "),
            "{}",
            many.summary
        );
    }
}
