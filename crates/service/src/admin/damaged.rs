//! A tenant's sealed values that no longer open under its keys (damaged on disk, or altered in
//! the catalog by hand), as administrators see them: found (by `crate::integrity`), each told
//! by its row, what it is and where, for `tenant check` (with `--contents`, every file read
//! whole too), and repaired where nothing that still opens is lost, for `tenant repair`. One
//! such value refuses its directory's listing, a tenant key rotation and the reads that need
//! it, loudly and by design. Never here: how values are sealed (the vault), which values open
//! (`crate::integrity`), the SQL that reads and replaces them (the catalog).

use catalog::NodeKind;
use vault::TenantKey;

use super::{Admin, AdminError, AdminResult};
use crate::contents_check::FileChecked;
pub use crate::integrity::DamagedValue;

/// A sealed value that does not open, and the row it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    pub value: DamagedValue,
    /// The row's id: a node's (files and directories), a class history row's, an account's.
    pub row: i64,
    /// For a node: what it is and where (its path, or its directory's where its own name is
    /// the value damaged).
    pub node: Option<DamagedNode>,
    /// For a TOTP secret: the account's name.
    pub account: Option<String>,
    /// For contents: what the read found (which chunk, or the blob missing).
    pub detail: Option<String>,
}

/// The facts of a node with a damaged value that can be told without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedNode {
    pub is_dir: bool,
    pub size: u64,
    pub created_at: i64,
    /// Its path where its name opens; else its directory's path. `None` where a directory
    /// above it does not open either (that directory is listed on its own).
    pub path: Option<String>,
}

/// What `tenant check` found: the rows it opened, and those of them that did not open; with
/// contents, the files and bytes read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCheck {
    pub rows: usize,
    pub damaged: Vec<Damaged>,
    pub files_read: usize,
    pub bytes_read: u64,
}

/// How far a check has come, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Rows whose sealed values were opened.
    Rows(usize),
    /// Files whose contents were read, and their bytes.
    Contents { files: usize, bytes: u64 },
}

impl Admin {
    /// Opens every sealed value of `tenant` (its files' and directories' names, data keys and
    /// classes, its class history, its accounts' TOTP secrets) under its key (and, while a
    /// rotation goes on, the key it replaces), a page of rows at a time, and, with `contents`,
    /// reads every file's contents whole as a download would (every sealed chunk opened; at
    /// `pace` bytes a second where given, as the server's own pass reads), telling `checked`
    /// how far it has come; returns what does not open. Reads only.
    pub async fn check_tenant(
        &self,
        tenant: &str,
        contents: bool,
        pace: Option<u64>,
        checked: &(dyn Fn(Checked) + Send + Sync),
    ) -> AdminResult<TenantCheck> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let fail = |e| AdminError::Files {
            what: format!("tenant {tenant}"),
            source: e,
        };
        let key = files.tenant_key().await.map_err(fail)?;
        let (rows, found) = crate::integrity::inspect(&self.catalog, key, t.id, &|rows| {
            checked(Checked::Rows(rows))
        })
        .await?;
        let accounts = match found.iter().any(|(v, _)| *v == DamagedValue::TotpSecret) {
            true => self.catalog.list_accounts(Some(tenant)).await?,
            false => Vec::new(),
        };
        let mut damaged = Vec::with_capacity(found.len());
        for (value, row) in found {
            let node = match value {
                DamagedValue::Name | DamagedValue::DataKey | DamagedValue::Classes => {
                    match self.catalog.node(row).await? {
                        Some(n) => Some(DamagedNode {
                            is_dir: n.kind == NodeKind::Dir,
                            size: n.size,
                            created_at: n.created_at,
                            path: self.where_is(&files, &n, value).await?,
                        }),
                        // Removed since it was read.
                        None => continue,
                    }
                }
                _ => None,
            };
            let account = (value == DamagedValue::TotpSecret)
                .then(|| {
                    accounts
                        .iter()
                        .find(|a| a.id == row)
                        .map(|a| a.name.clone())
                })
                .flatten();
            damaged.push(Damaged {
                value,
                row,
                node,
                account,
                detail: None,
            });
        }
        let mut check = TenantCheck {
            rows,
            damaged,
            files_read: 0,
            bytes_read: 0,
        };
        if contents {
            let mut pace = pace.map(crate::contents_check::Pace::new);
            self.check_contents(&files, t.id, &mut check, pace.as_mut(), checked)
                .await?;
        }
        Ok(check)
    }

    /// Reads the contents of every file of tenant `tenant_id` (a page of files at a time) but
    /// those whose data key was found not to open, noting those that do not read.
    async fn check_contents(
        &self,
        files: &crate::files::Files,
        tenant_id: i64,
        check: &mut TenantCheck,
        mut pace: Option<&mut crate::contents_check::Pace>,
        checked: &(dyn Fn(Checked) + Send + Sync),
    ) -> AdminResult<()> {
        let no_key: std::collections::HashSet<i64> = (check.damaged.iter())
            .filter(|d| d.value == DamagedValue::DataKey)
            .map(|d| d.row)
            .collect();
        let mut after = None;
        loop {
            let page = self.catalog.tenant_files(tenant_id, after, 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for n in page {
                if no_key.contains(&n.id) {
                    continue;
                }
                let paced = pace.as_deref_mut();
                match crate::contents_check::check_file(files, &self.catalog, n.clone(), paced)
                    .await
                {
                    Ok(FileChecked::Read(bytes)) => {
                        check.files_read += 1;
                        check.bytes_read += bytes;
                    }
                    // Removed, or its contents replaced, since the page was read.
                    Ok(FileChecked::Gone) => {}
                    Ok(FileChecked::Damaged(detail)) => {
                        check.damaged.push(Damaged {
                            value: DamagedValue::Contents,
                            row: n.id,
                            node: Some(DamagedNode {
                                is_dir: false,
                                size: n.size,
                                created_at: n.created_at,
                                // Resolved for the damaged alone (`None` where a name on the
                                // way does not open: listed on its own).
                                path: files.path_of(&n).await.ok(),
                            }),
                            account: None,
                            detail: Some(detail),
                        });
                    }
                    Ok(FileChecked::NotNow(failed)) => {
                        return Err(AdminError::NotReadNow { row: n.id, failed });
                    }
                    Err(e) => return Err(e.into()),
                }
                checked(Checked::Contents {
                    files: check.files_read,
                    bytes: check.bytes_read,
                });
            }
        }
        Ok(())
    }

    /// Where node `n` is: its path, or, where its name is the damaged `value`, its
    /// directory's; `None` where a name above it does not open.
    async fn where_is(
        &self,
        files: &crate::files::Files,
        n: &catalog::Node,
        value: DamagedValue,
    ) -> AdminResult<Option<String>> {
        let at = match value {
            DamagedValue::Name => match n.parent_id {
                Some(parent) => match self.catalog.node(parent).await? {
                    Some(p) => p,
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
            _ => n.clone(),
        };
        Ok(files.path_of(&at).await.ok())
    }
}

/// What `tenant repair` did with one damaged value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The node's name replaced with this one: the file or directory is listed again, its
    /// contents as they were.
    Renamed(String),
    /// The file's classes cleared: `classify run --tenant T` finds them anew.
    ClassesCleared,
    /// The class history row removed (an earlier version's classes, which no longer open).
    HistoryRemoved,
    /// Changed since the check (renamed, re-keyed, classified again): left as it is now.
    ChangedMeanwhile,
    /// Not repaired here: what the administrator can do.
    Left(String),
}

/// The name a node whose name does not open is given: its id keeps it unique.
fn damaged_name(id: i64) -> String {
    format!("damaged-{id}")
}

impl Admin {
    /// Repairs what [`Admin::check_tenant`] finds in `tenant` where that loses nothing that
    /// still opens: a name that does not open is replaced with `damaged-ID` (the file's
    /// contents and data key as they were), classes that do not open are cleared (to be found
    /// anew), a class history row whose classes do not open is removed. A data key or TOTP
    /// secret that does not open is left, with what to do. Each value is changed only while
    /// its bytes are those found damaged. Returns each damaged value with what became of it.
    pub async fn repair_tenant(
        &self,
        tenant: &str,
        checked: &(dyn Fn(Checked) + Send + Sync),
    ) -> AdminResult<Vec<(Damaged, Repair)>> {
        let found = self.check_tenant(tenant, false, None, checked).await?;
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let key = files.tenant_key().await.map_err(|e| AdminError::Files {
            what: format!("tenant {tenant}"),
            source: e,
        })?;
        let mut done = Vec::with_capacity(found.damaged.len());
        for d in found.damaged {
            let repair = match d.value {
                DamagedValue::Name => self.rename_damaged(&key, t.id, d.row).await?,
                DamagedValue::Classes => match self.catalog.node(d.row).await? {
                    Some(n) if n.tenant_id == t.id => match n.classes {
                        Some(sealed) if classes_damaged(&key, &n, &sealed) => {
                            match self.catalog.clear_damaged_classes(n.id, sealed).await? {
                                catalog::Replaced::Done => Repair::ClassesCleared,
                                catalog::Replaced::Changed => Repair::ChangedMeanwhile,
                            }
                        }
                        _ => Repair::ChangedMeanwhile,
                    },
                    _ => Repair::ChangedMeanwhile,
                },
                DamagedValue::ClassHistory => {
                    match self.catalog.class_history_value(t.id, d.row).await? {
                        Some((root, sealed))
                            if key
                                .open_classes(root.as_deref().unwrap_or_default(), &sealed)
                                .is_err() =>
                        {
                            match (self.catalog)
                                .remove_damaged_class_history(d.row, sealed)
                                .await?
                            {
                                catalog::Replaced::Done => Repair::HistoryRemoved,
                                catalog::Replaced::Changed => Repair::ChangedMeanwhile,
                            }
                        }
                        _ => Repair::ChangedMeanwhile,
                    }
                }
                DamagedValue::DataKey => Repair::Left(
                    "the file's contents cannot be read by anyone: remove it (by its path, through \
                     SFTP, or `tenant repair` first where its name does not open either)"
                        .into(),
                ),
                DamagedValue::Contents => Repair::Left(
                    "restore the file from its sender, then remove or replace it".into(),
                ),
                DamagedValue::TotpSecret => Repair::Left(format!(
                    "enrol the account's second factor again: `strongroom user mfa {}`",
                    d.account.as_deref().unwrap_or("NAME")
                )),
            };
            done.push((d, repair));
        }
        Ok(done)
    }

    /// Gives node `id` of tenant `tenant_id`, whose name does not open under `key`, the name
    /// [`damaged_name`].
    async fn rename_damaged(
        &self,
        key: &TenantKey,
        tenant_id: i64,
        id: i64,
    ) -> AdminResult<Repair> {
        let n = match self.catalog.node(id).await? {
            Some(n) if n.tenant_id == tenant_id => n,
            _ => return Ok(Repair::ChangedMeanwhile),
        };
        if key.open_name(&n.sealed_name, &n.name_mac).is_ok() {
            return Ok(Repair::ChangedMeanwhile);
        }
        let name = damaged_name(id);
        let mac = key.name_mac(name.as_bytes());
        let sealed = key.seal_name(name.as_bytes(), &mac);
        // Where a rotation goes on, the name may stand under the key it replaces too.
        if let Some(parent) = n.parent_id
            && (self.catalog)
                .lookup_forms(parent, &key.lookup_macs(name.as_bytes()))
                .await?
                .is_some()
        {
            return Err(AdminError::Invalid(format!(
                "node {id}: its directory already holds a file named {name}: rename that one \
                 first"
            )));
        }
        let replaced = self
            .catalog
            .replace_damaged_name(id, n.sealed_name.clone(), mac, sealed)
            .await?;
        Ok(match replaced {
            catalog::Replaced::Changed => Repair::ChangedMeanwhile,
            catalog::Replaced::Done => Repair::Renamed(name),
        })
    }
}

/// Whether the stored classes `sealed` of file `n` do not open under `key` (bound to its sealed
/// contents' root, else to nothing).
fn classes_damaged(key: &TenantKey, n: &catalog::Node, sealed: &[u8]) -> bool {
    let root = n.seal.as_ref().map_or(&[][..], |s| &s.content_root[..]);
    key.open_classes(root, sealed).is_err()
}
