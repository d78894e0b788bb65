//! The runtime of the server's contents check (`[storage] contents_check_days`): one pass over
//! every tenant's files at a time, each read whole at the configured pace, from where the last
//! pass stopped (kept in the catalog every [`SAVED_EVERY`], so that a restart goes on rather
//! than begins again); an `integrity` alert for the files of a tenant whose contents do not
//! open. A file that cannot be read for a passing lack of the server's resources (too many
//! open files, no memory), or a catalog that fails, pauses the pass where it is (10 s, then
//! twice as long each time in a row, at most 5 min): never an alert. What a file's check is,
//! when a pass is due and the alert's words are the service's (`service::contents_check`).

use std::sync::Arc;
use std::time::Duration;

use catalog::ContentsCheck;
use service::contents_check::{self as check, FileChecked, Next, Pace};

use crate::Shared;

/// How long after the start the contents check looks whether a pass is due (or one goes on):
/// the start's own work first.
const FIRST: Duration = Duration::from_secs(2);
/// How often the pass's place is kept while it reads: what a restart reads again at most, at
/// the pace (and the files whose damage it found are alerted by then).
const SAVED_EVERY: Duration = Duration::from_secs(5);
/// The longest wait before the next pass is looked at again (the clock may have moved).
const LOOK_AGAIN: Duration = Duration::from_secs(3600);
/// After a failure of the server's own (a file it could not read for want of resources, its
/// catalog failing), the pass goes on after this long, twice as long after each such pause in
/// a row that read no file, …
const PAUSE_FIRST: Duration = Duration::from_secs(10);
/// … and at most this long.
const PAUSE_MOST: Duration = Duration::from_secs(300);
/// Files whose damage is kept for one alert at most: more are alerted at once.
const MOST_IN_ONE_ALERT: usize = 100;

/// Runs passes `every` apart, reading `rate` bytes per second, until the server stops.
pub(crate) async fn check_contents_forever(shared: Arc<Shared>, every: Duration, rate: u64) {
    tokio::time::sleep(FIRST).await;
    let mut pace = Pace::new(rate);
    let mut pause = PAUSE_FIRST;
    loop {
        let state = match shared.catalog.contents_check().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, seconds = pause.as_secs(),
                    "contents check: its state could not be read; read again after a pause");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(PAUSE_MOST);
                continue;
            }
        };
        let now = shared.clock.now().as_millis();
        let pass = match check::next(state, every, now) {
            Next::Wait(d) => {
                tokio::time::sleep(d.min(LOOK_AGAIN)).await;
                continue;
            }
            Next::Begin => match shared.catalog.last_node_id().await {
                Ok(last) => {
                    tracing::info!("contents check: a pass begins");
                    check::begun(now, last)
                }
                Err(e) => {
                    tracing::error!(error = %e, seconds = pause.as_secs(),
                        "contents check: the catalog could not be read; read again after a pause");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(PAUSE_MOST);
                    continue;
                }
            },
            Next::Resume(s) => {
                tracing::info!(
                    files = s.files_read,
                    bytes = s.bytes_read,
                    "contents check: the pass goes on where it stopped"
                );
                s
            }
        };
        let read_before = pass.files_read;
        let paused = match run_pass(&shared, pass, &mut pace).await {
            Ok(PassEnd::Done(done)) => {
                tracing::info!(
                    files = done.files_read,
                    bytes = done.bytes_read,
                    damaged = done.damaged,
                    seconds =
                        (done.finished_at.unwrap_or(done.started_at) - done.started_at) / 1000,
                    "contents check: the pass is done"
                );
                pause = PAUSE_FIRST;
                continue;
            }
            Ok(PassEnd::Paused { at }) => {
                tracing::info!(seconds = pause.as_secs(), "contents check: the pass pauses");
                at
            }
            Err(e) => {
                tracing::error!(error = %e, seconds = pause.as_secs(),
                    "contents check: the catalog failed; the pass goes on after a pause");
                // Its place as last kept.
                read_before
            }
        };
        if paused > read_before {
            pause = PAUSE_FIRST;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(PAUSE_MOST);
    }
}

/// How a call of [`run_pass`] ended.
enum PassEnd {
    /// Every file read: the pass, its end recorded.
    Done(ContentsCheck),
    /// Stopped before a file that could not be read now (the server's failure,
    /// [`FileChecked::NotNow`]); its place kept there, `at` files read in the pass by then.
    Paused { at: u64 },
}

/// Reads every tenant's files from where `pass` stands, keeping its place; returns it done, or
/// paused before a file that could not be read now.
async fn run_pass(
    shared: &Shared,
    mut pass: ContentsCheck,
    pace: &mut Pace,
) -> Result<PassEnd, catalog::CatalogError> {
    shared.catalog.save_contents_check(&pass).await?;
    let mut tenants = shared.catalog.list_tenants().await?;
    tenants.sort_by_key(|t| t.id);
    tenants.retain(|t| t.id >= pass.tenant_id);
    let mut saved = tokio::time::Instant::now();
    for t in tenants {
        if t.id != pass.tenant_id {
            pass.tenant_id = t.id;
            pass.after_node = None;
        }
        let files = shared.files_for(t.id);
        let mut found: Vec<(i64, String)> = Vec::new();
        loop {
            let page = (shared.catalog)
                .tenant_files(t.id, pass.after_node, check::PAGE)
                .await?;
            // Files made since the pass began are the next pass's (ids only grow).
            let page: Vec<_> = page
                .into_iter()
                .filter(|n| n.id <= pass.until_node)
                .collect();
            if page.is_empty() {
                break;
            }
            for node in page {
                let id = node.id;
                match check::check_file(&files, &shared.catalog, node, Some(&mut *pace)).await? {
                    FileChecked::Read(bytes) => {
                        pass.files_read += 1;
                        pass.bytes_read += bytes;
                    }
                    FileChecked::Gone => {}
                    FileChecked::Damaged(failed) => {
                        tracing::error!(tenant = %t.name, file = id, failed = %failed,
                            "contents check: a file's contents do not open");
                        pass.damaged += 1;
                        found.push((id, failed));
                    }
                    FileChecked::NotNow(failed) => {
                        tracing::warn!(tenant = %t.name, file = id, failed = %failed,
                            "contents check: a file could not be read now (the server's \
                             failure, not the file's); the pass goes on from it after a pause");
                        // Its place stays before this file: the next try reads it first.
                        raise(shared, &t.name, &mut found).await;
                        shared.catalog.save_contents_check(&pass).await?;
                        return Ok(PassEnd::Paused {
                            at: pass.files_read,
                        });
                    }
                }
                pass.after_node = Some(id);
                // What was found is alerted before the place past it is kept: a restart
                // between the two finds it again rather than never.
                if saved.elapsed() >= SAVED_EVERY || found.len() >= MOST_IN_ONE_ALERT {
                    raise(shared, &t.name, &mut found).await;
                    shared.catalog.save_contents_check(&pass).await?;
                    saved = tokio::time::Instant::now();
                }
            }
        }
        raise(shared, &t.name, &mut found).await;
        shared.catalog.save_contents_check(&pass).await?;
        saved = tokio::time::Instant::now();
    }
    pass.finished_at = Some(shared.clock.now().as_millis());
    shared.catalog.save_contents_check(&pass).await?;
    Ok(PassEnd::Done(pass))
}

/// Raises the alert for tenant `tenant`'s files `found` (stored, on the ledger's record,
/// delivered), if any; empties it.
async fn raise(shared: &Shared, tenant: &str, found: &mut Vec<(i64, String)>) {
    if found.is_empty() {
        return;
    }
    let now = shared.clock.now();
    let id = service::sessions::new_session_id(now.as_millis() as u64, shared.entropy.array());
    let record = check::alert_of(tenant, found, id, now);
    tracing::error!(alert = %record.id, tenant = %tenant, "{}", record.summary);
    service::detection::store_and_record(&shared.catalog, &shared.ledger, &record).await;
    shared.deliveries.deliver(&record).await;
    found.clear();
}
