//! Stored files as administrators see them: listings and a file's facts with their data
//! classes, a tenant's own classification patterns, and `classify run` over files stored
//! before (or under earlier rules). Never here: the classifier's rules (`classify`).

use super::{Admin, AdminError, AdminResult};

impl Admin {
    /// The entries of a directory as administrators see them: files with their classes, in
    /// order of their names (the catalog keeps them in the order of their names' MACs).
    pub async fn file_list(&self, tenant: &str, dir: &str) -> AdminResult<Vec<ListedEntry>> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let fail = |e| AdminError::Files {
            what: format!("{tenant}:{dir}"),
            source: e,
        };
        let listing = files.open_dir(&Self::jail_any(dir)?).await.map_err(fail)?;
        let mut out = Vec::new();
        loop {
            let page = files.read_dir(&listing, 500).await.map_err(fail)?;
            if page.is_empty() {
                break;
            }
            let ids: Vec<i64> = page
                .iter()
                .filter(|(_, n)| n.kind == catalog::NodeKind::File)
                .map(|(_, n)| n.id)
                .collect();
            let expired = self.catalog.expired_among(&ids, self.now()).await?;
            let canaries = self.catalog.canaries_among(&ids)?;
            for (name, node) in page {
                let is_dir = node.kind == catalog::NodeKind::Dir;
                let classification = if is_dir {
                    None
                } else {
                    // Shown, not kept whole: a directory's every file is held until sorted.
                    (files.classes_of(&node).await.map_err(fail)?).map(|c| c.summary())
                };
                out.push(ListedEntry {
                    name: String::from_utf8_lossy(&name).into_owned(),
                    id: node.id,
                    is_dir,
                    size: node.size,
                    canary: canaries.contains(&node.id),
                    expired: expired.contains(&node.id),
                    classification,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Adds a classification pattern to `tenant` (checked first: a clear error and nothing
    /// stored for a bad name or expression). New sessions count it in their uploads;
    /// `classify run --again` applies it to stored files.
    pub async fn add_classify_pattern(
        &self,
        tenant: &str,
        name: &str,
        pattern: &str,
    ) -> AdminResult<()> {
        let t = self.catalog.tenant(tenant).await?;
        classify::patterns::compile(name, pattern)
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        if self.catalog.classify_patterns(t.id).await?.len() >= classify::patterns::MAX_PATTERNS {
            return Err(AdminError::Invalid(
                classify::PatternError::TooMany.to_string(),
            ));
        }
        self.catalog
            .add_classify_pattern(t.id, name, pattern, self.now())
            .await?;
        Ok(())
    }

    /// A tenant's classification patterns (name, expression).
    pub async fn classify_patterns(&self, tenant: &str) -> AdminResult<Vec<(String, String)>> {
        let t = self.catalog.tenant(tenant).await?;
        Ok(self.catalog.classify_patterns(t.id).await?)
    }

    /// Removes a tenant's classification pattern.
    pub async fn remove_classify_pattern(&self, tenant: &str, name: &str) -> AdminResult<()> {
        let t = self.catalog.tenant(tenant).await?;
        if !self.catalog.remove_classify_pattern(t.id, name).await? {
            return Err(AdminError::Invalid(format!(
                "tenant {tenant} has no pattern named {name}"
            )));
        }
        Ok(())
    }

    /// A stored file as administrators see it, with what classification found in it.
    pub async fn file_show(&self, tenant: &str, path: &str) -> AdminResult<FileReport> {
        let t = self.catalog.tenant(tenant).await?;
        let files = self.files_of(t.id)?;
        let jail = Self::jail(path)?;
        let fail = |e| AdminError::Files {
            what: format!("{tenant}:{path}"),
            source: e,
        };
        let node = files.resolve(&jail).await.map_err(fail)?;
        if node.kind != catalog::NodeKind::File {
            return Err(fail(crate::files::FsError::IsADirectory));
        }
        let classification = files.classes_of(&node).await.map_err(fail)?;
        Ok(FileReport {
            tenant: t.name,
            path: path.to_owned(),
            id: node.id,
            size: node.size,
            mtime: node.mtime,
            created_at: node.created_at,
            canary: self.catalog.is_canary(node.id).await?,
            expired: self
                .catalog
                .expired_file(node.id, self.now())
                .await?
                .is_some(),
            classification,
        })
    }

    /// Classifies the stored files of `tenant` (every tenant when `None`) that have no
    /// classification yet or one found under earlier rules ([`classify::RULES`]: a file may
    /// hold classes they did not know), every file when `again`, reading each back. Each file
    /// done goes to `each` with its place and how many there are (to be printed at once, with
    /// a progress bar: a tenant's hundreds of thousands of classifications, their sketches a
    /// few KiB each, are not held); an error of `each` (its output gone) stops the run.
    /// Returns how many were classified. Canaries are left alone (their contents are decoys).
    pub async fn classify_run(
        &self,
        tenant: Option<&str>,
        again: bool,
        mut each: impl FnMut(ClassifiedFile, usize, usize) -> std::io::Result<()>,
    ) -> AdminResult<usize> {
        let tenants = match tenant {
            Some(t) => vec![self.catalog.tenant(t).await?],
            None => self.catalog.list_tenants().await?,
        };
        // Which files need it, a page of the tenant's files at a time: kept by id (a
        // tenant's hundreds of thousands of rows, their stored classes a few KiB each, are
        // not held), each read again when its turn comes.
        let tenants = tenants
            .into_iter()
            .map(|t| Ok((self.files_of(t.id)?, t)))
            .collect::<AdminResult<Vec<_>>>()?;
        let mut todo: Vec<(usize, i64)> = Vec::new();
        for (at, (files, t)) in tenants.iter().enumerate() {
            let canaries: std::collections::HashSet<i64> = (self.catalog)
                .canaries(Some(&t.name))
                .await?
                .into_iter()
                .map(|c| c.node_id)
                .collect();
            let mut after = None;
            loop {
                let page = self.catalog.tenant_files(t.id, after, 500).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for n in page {
                    if canaries.contains(&n.id) {
                        continue;
                    }
                    // A stored classification that does not open is classified again too.
                    let stale = again
                        || match files.classes_of(&n).await {
                            Ok(Some(c)) => c.rules < classify::RULES,
                            Ok(None) | Err(_) => true,
                        };
                    if stale {
                        todo.push((at, n.id));
                    }
                }
            }
        }
        let total = todo.len();
        let mut done = 0;
        for (i, (at, id)) in todo.into_iter().enumerate() {
            let (files, t) = &tenants[at];
            // Removed since: nothing to classify (its id not taken by another tenant's node).
            let node = match self.catalog.node(id).await? {
                Some(n) if n.tenant_id == t.id && n.kind == catalog::NodeKind::File => n,
                _ => continue,
            };
            let tenant = t.name.clone();
            let path = files.path_of(&node).await.map_err(|e| AdminError::Files {
                what: format!("file {}", node.id),
                source: e,
            })?;
            let jail = Self::jail(&path)?;
            let found = files
                .classify_stored(&jail)
                .await
                .map_err(|e| AdminError::Files {
                    what: format!("{tenant}:{path}"),
                    source: e,
                })?;
            let file = ClassifiedFile {
                tenant,
                path,
                id: node.id,
                size: node.size,
                classification: found,
            };
            each(file, i + 1, total).map_err(|source| AdminError::Write {
                what: "the classifications",
                source,
            })?;
            done += 1;
        }
        Ok(done)
    }
}

/// A stored file as `file show` prints it.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub tenant: String,
    pub path: String,
    pub id: i64,
    pub size: u64,
    pub mtime: i64,
    pub created_at: i64,
    pub canary: bool,
    /// Its retention ran out: clients no longer see it, and the sweeper deletes it.
    pub expired: bool,
    /// `None`: not classified yet (`classify run`).
    pub classification: Option<classify::Classification>,
}

/// A file `classify run` classified.
#[derive(Debug, Clone)]
pub struct ClassifiedFile {
    pub tenant: String,
    pub path: String,
    pub id: i64,
    pub size: u64,
    pub classification: classify::Classification,
}

/// An entry of `file list`.
#[derive(Debug, Clone)]
pub struct ListedEntry {
    pub name: String,
    pub id: i64,
    pub is_dir: bool,
    pub size: u64,
    pub canary: bool,
    /// Its retention ran out: clients no longer see it, and the sweeper deletes it.
    pub expired: bool,
    /// `None` for a directory or a file not classified yet.
    pub classification: Option<classify::Summary>,
}

/// A classification's counts as reports list them: each class present, then the tenant's own
/// patterns as `custom.NAME`.
/// How many different values of each class `c` holds, estimated, for the classes whose every
/// occurrence was sketched.
pub(super) fn distinct_counts(
    c: &classify::Classification,
) -> std::collections::BTreeMap<String, u64> {
    c.distinct_counts()
        .map(|(class, n)| (class.as_str().to_owned(), n))
        .collect()
}

pub(super) fn class_counts(
    c: &classify::Classification,
) -> std::collections::BTreeMap<String, u64> {
    c.counts
        .present()
        .map(|(class, n)| (class.as_str().to_owned(), n))
        .chain(c.custom.iter().map(|(k, n)| (format!("custom.{k}"), *n)))
        .collect()
}
