//! Classification of stored files: what data classes and bank formats a file holds
//! (`crates/classify` decides that). An upload is scanned while it is written when its writes
//! arrive in order (a large file is not read twice); otherwise, and for files stored before
//! classification, the file is read back after its commit. The result is sealed with the
//! tenant key, bound to the file's contents, and stored in the file's catalog row.
//!
//! Never here: what counts as a card number or an IBAN (crates/classify), sealing itself (the
//! vault).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use catalog::Node;
use classify::{Classification, Patterns, Scanner};
use vault::TenantKey;

use super::path::JailPath;
use super::{Files, FsError, FsResult, blocking};

/// Bytes of out-of-order writes held back per upload, waiting for the gap before them to be
/// written; beyond this the upload is classified by reading it back after its commit.
pub const MAX_REORDER_BYTES: usize = 2 << 20;
/// Bytes held for their scans by all the uploads of this node together: out-of-order writes
/// held back, batches queued for scanning tasks, and the scanners' own state beyond
/// [`SCANNER_BASE_BYTES`] each (the requests' own memory budget is given back once they are
/// answered; these outlive that). Beyond it, an upload is read back after its commit instead.
pub const MAX_SCAN_NODE_BYTES: usize = 128 << 20;
/// A scanner's own state up to this is not charged to the node's budget: a text's scanner
/// keeps some 40 KiB, a gzip file's or a ZIP archive's about 200 KiB. A bzip2 file's decoder
/// (3.7 MB) and a large workbook's cells (up to some 13 MiB) are charged.
pub const SCANNER_BASE_BYTES: usize = 256 << 10;
/// Most state one upload's scanner may keep between writes; beyond it the upload is read back
/// after its commit (on a scanning lane: the read-back's state lives only while it runs).
pub const MAX_SCANNER_BYTES: usize = 16 << 20;
/// Bytes read back per step.
const READ_BACK_CHUNK: usize = 256 << 10;

/// What the uploads of a node hold back for their scans, against [`MAX_SCAN_NODE_BYTES`].
pub struct ScanBudget {
    held: AtomicUsize,
    limit: usize,
}

impl Default for ScanBudget {
    fn default() -> Self {
        Self::new(MAX_SCAN_NODE_BYTES)
    }
}

impl ScanBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes `n` bytes if they fit.
    fn take(&self, n: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn give(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// Scans this node runs on threads at once, per core, unless configured (`[limits]
/// classify_threads`): batches of uploads scanned beside their transfer and files read back
/// alike. A scanning thread is taken from the runtime's blocking pool, which file operations
/// need too; bounding them keeps many large uploads at once from filling that pool or taking
/// every core from the transfers.
pub const SCAN_LANES_PER_CORE: usize = 2;

/// A scanner's state charged to the node's budget: what its [`Scanner::held_bytes`] is beyond
/// [`SCANNER_BASE_BYTES`], updated after it is fed and given back when it is dropped (so an
/// upload that is stalled, given up or aborted holds it no longer than its scanner).
struct StateCharge {
    budget: Arc<ScanBudget>,
    charged: usize,
}

impl StateCharge {
    fn new(budget: &Arc<ScanBudget>) -> Self {
        Self {
            budget: budget.clone(),
            charged: 0,
        }
    }

    /// Charges a scanner that now holds `held` bytes: false (and nothing charged) when that is
    /// beyond [`MAX_SCANNER_BYTES`] or the node's budget.
    fn charge(&mut self, held: usize) -> bool {
        let want = held.saturating_sub(SCANNER_BASE_BYTES);
        if want <= self.charged {
            self.budget.give(self.charged - want);
            self.charged = want;
            return true;
        }
        if want <= MAX_SCANNER_BYTES && self.budget.take(want - self.charged) {
            self.charged = want;
            return true;
        }
        self.release();
        false
    }

    fn release(&mut self) {
        self.budget.give(self.charged);
        self.charged = 0;
    }
}

impl Drop for StateCharge {
    fn drop(&mut self) {
        self.release();
    }
}

/// How long one file's scan may take on the lanes, in all: this, and as long as reading what
/// it was fed at [`MIN_SCAN_RATE`] takes. Every shape measured is read faster (the slowest at
/// some 30 to 60 MB/s of one core, any bomb within the file's budget of contents and work in
/// some 10 s: `classify_hostile`); past it the scan stops and the file is classified by what
/// was read, `scanned_in_part`, so that a shape not yet known to be slow holds a lane for a
/// bounded time (a 100 MB file some 40 s), not for as long as it would take.
pub const SCAN_TIME_BASE: Duration = Duration::from_secs(30);
/// Bytes per second of what a scan is fed that its allowance grows by ([`SCAN_TIME_BASE`]).
pub const MIN_SCAN_RATE: u64 = 8_000_000;

/// The node's scanning lanes ([`SCAN_LANES_PER_CORE`]): a batch of an upload's scan, or a
/// read-back, waits for one and holds it while it scans (an idle upload holds none); and how
/// long a file's scan may hold them in all.
pub struct ScanLanes {
    lanes: Arc<tokio::sync::Semaphore>,
    time_base: Duration,
    min_rate: u64,
}

impl Default for ScanLanes {
    fn default() -> Self {
        Self::new(Self::default_count())
    }
}

impl ScanLanes {
    /// [`SCAN_LANES_PER_CORE`] for each core of this machine.
    pub fn default_count() -> usize {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        cores * SCAN_LANES_PER_CORE
    }

    pub fn new(lanes: usize) -> Self {
        Self {
            lanes: Arc::new(tokio::sync::Semaphore::new(lanes.max(1))),
            time_base: SCAN_TIME_BASE,
            min_rate: MIN_SCAN_RATE,
        }
    }

    /// With another allowance of scanning time (the tests' tiny one).
    #[cfg(test)]
    fn with_allowance(mut self, time_base: Duration, min_rate: u64) -> Self {
        (self.time_base, self.min_rate) = (time_base, min_rate.max(1));
        self
    }

    /// Whether a file's scan that has taken `spent` on the lanes, fed `fed` bytes, may go on.
    fn allows(&self, spent: Duration, fed: u64) -> bool {
        spent <= self.time_base + Duration::from_secs_f64(fed as f64 / self.min_rate as f64)
    }

    /// A lane now, if one is free (the tests hold one to see what waits for it).
    #[cfg(test)]
    fn try_take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.lanes.clone().try_acquire_owned().ok()
    }

    /// A lane, once one is free (`None` only if the lanes were closed, which they never are).
    async fn take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.lanes.clone().acquire_owned().await.ok()
    }

    /// Lanes free now (the tests watch them).
    #[cfg(test)]
    fn free(&self) -> usize {
        self.lanes.available_permits()
    }
}

/// Bytes an upload's scan takes inline, in the write's own request, before it moves to a
/// task of its own (most uploads are smaller and never start one).
pub const INLINE_SCAN_BYTES: u64 = 1 << 20;
/// Bytes gathered and queued for an upload's scanning task; when it falls further behind, the
/// upload is read back after its commit instead (the transfer is never slowed by its scan).
const MAX_QUEUED_BYTES: usize = 16 << 20;
/// Bytes of an upload gathered into one batch for its scanning task (one hand-off to a thread
/// per batch, not per write; a stalled upload holds at most this, and no lane).
const SCAN_BATCH_BYTES: usize = 256 << 10;
/// Batches queued for a scanning task: as many as [`MAX_QUEUED_BYTES`] can fill, and the last.
const SCAN_QUEUE: usize = MAX_QUEUED_BYTES / SCAN_BATCH_BYTES + 1;

/// Chunks of an upload gathered for its scanning task: their bytes are held against the node's
/// budget and the upload's queue until the batch is dropped, scanned or not (so an abandoned
/// scan gives them back).
struct Batch {
    chunks: Vec<Bytes>,
    bytes: usize,
    budget: Arc<ScanBudget>,
    queued: Arc<AtomicUsize>,
}

impl Batch {
    fn new(budget: &Arc<ScanBudget>, queued: &Arc<AtomicUsize>) -> Self {
        Self {
            chunks: Vec::new(),
            bytes: 0,
            budget: budget.clone(),
            queued: queued.clone(),
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.budget.give(self.bytes);
        self.queued.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Where an upload's scanner is.
enum Scan {
    /// Given up: the file is read back after its commit.
    None,
    /// In this request's hands.
    Inline(Box<Scanner>),
    /// With a task of its own ([`scan_batches`]), fed in order, a batch at a time, through a
    /// bounded queue.
    Worker {
        /// The batch being gathered.
        pending: Batch,
        queue: tokio::sync::mpsc::Sender<Batch>,
        /// Bytes gathered or queued and not yet scanned.
        queued: Arc<AtomicUsize>,
        done: tokio::task::JoinHandle<Option<Classification>>,
    },
}

/// An upload's scanning task: each batch is scanned on the runtime's blocking pool, holding one
/// of the node's scanning lanes only while it is scanned, until the queue is closed (the
/// upload's commit); the scanner's state stays charged to the node's budget (`charge`) while
/// the task holds it. Returns what the scanner found, finished on a lane too, or `None` if the
/// lanes were closed (they never are), a batch's thread failed, or the scanner's state outgrew
/// its budget (the upload is then read back after its commit). A scan past its time
/// ([`SCAN_TIME_BASE`]) is fed no more: what it read, `scanned_in_part`.
async fn scan_batches(
    mut scanner: Box<Scanner>,
    mut charge: StateCharge,
    mut batches: tokio::sync::mpsc::Receiver<Batch>,
    lanes: Arc<ScanLanes>,
) -> Option<Classification> {
    let (mut spent, mut fed, mut stopped) = (Duration::ZERO, 0u64, false);
    while let Some(batch) = batches.recv().await {
        if stopped {
            // (Its bytes are given back as it is dropped.)
            continue;
        }
        let lane = lanes.take().await?;
        let clock = lanes.clone();
        (scanner, spent, fed, stopped) = tokio::task::spawn_blocking(move || {
            let _lane = lane;
            let began = Instant::now();
            // What the upload's requests left for this thread first (a compressed file's
            // bytes, an archive's: see `Scanner::defer`).
            scanner.resume();
            for chunk in &batch.chunks {
                scanner.feed(chunk);
                fed += chunk.len() as u64;
                if !clock.allows(spent + began.elapsed(), fed) {
                    return (scanner, spent + began.elapsed(), fed, true);
                }
            }
            (scanner, spent + began.elapsed(), fed, false)
        })
        .await
        .ok()?;
        if stopped {
            tracing::warn!(
                seconds = spent.as_secs_f64(),
                bytes = fed,
                "an upload's scan took longer than its allowance: classified by what was read"
            );
        }
        if !charge.charge(scanner.held_bytes()) {
            return None;
        }
    }
    // The end: what is left to read (a container read at its end, a 7-Zip archive's
    // folders) is read here too, not in the commit's request.
    let lane = lanes.take().await?;
    let found = tokio::task::spawn_blocking(move || {
        let _lane = lane;
        scanner.finish()
    })
    .await
    .ok()?;
    Some(if stopped { found.read_in_part() } else { found })
}

/// An upload's scan as its writes arrive.
pub struct Streamed {
    /// The next offset the scanner expects.
    next: u64,
    scan: Scan,
    /// Writes that arrived ahead of `next`.
    ahead: BTreeMap<u64, Bytes>,
    ahead_bytes: usize,
    budget: Arc<ScanBudget>,
    /// The inline scanner's state, charged to `budget`.
    state: StateCharge,
    lanes: Arc<ScanLanes>,
}

/// What an upload's scan found, once its task (if it has one) has caught up.
pub enum Finish {
    Done(Option<Classification>),
    Scanning(tokio::task::JoinHandle<Option<Classification>>),
}

impl Finish {
    pub async fn result(self) -> Option<Classification> {
        match self {
            Finish::Done(c) => c,
            Finish::Scanning(done) => done.await.ok().flatten(),
        }
    }
}

impl Streamed {
    /// For a file written from empty; no scanner (read back later) for one that starts from
    /// earlier contents (a resumed or appended upload).
    pub fn new(
        from_empty: bool,
        patterns: Option<Arc<Patterns>>,
        budget: Arc<ScanBudget>,
        lanes: Arc<ScanLanes>,
    ) -> Self {
        Self {
            next: 0,
            scan: if from_empty {
                // In the upload's own requests, no work that may outgrow the bytes written:
                // a compressed file or an archive goes to a task of its own at once.
                let mut scanner = Scanner::with_patterns(patterns);
                scanner.defer();
                Scan::Inline(Box::new(scanner))
            } else {
                Scan::None
            },
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
            state: StateCharge::new(&budget),
            budget,
            lanes,
        }
    }

    /// Whether the verdict is in before the end (not text: nothing more is scanned), and how
    /// many of the file's first bytes it was made on.
    fn settled(&self) -> bool {
        self.verdict().is_some()
    }

    fn verdict(&self) -> Option<u64> {
        match &self.scan {
            Scan::Inline(s) if s.settled() => Some(s.verdict_len()),
            _ => None,
        }
    }

    /// `data` was written at `offset`.
    pub fn wrote(&mut self, offset: u64, data: &Bytes) {
        if matches!(self.scan, Scan::None) {
            return;
        }
        if let Some(judged) = self.verdict() {
            // Only a write over the part the verdict was made on can change it.
            if offset < judged {
                self.give_up();
            }
            return;
        }
        if offset != self.next {
            if offset < self.next
                || self.ahead_bytes + data.len() > MAX_REORDER_BYTES
                || !self.budget.take(data.len())
            {
                // Overwritten, or too much held back: read it back instead.
                self.give_up();
            } else {
                self.ahead_bytes += data.len();
                if let Some(old) = self.ahead.insert(offset, data.clone()) {
                    // The same offset written twice: the first is no longer held.
                    self.ahead_bytes -= old.len();
                    self.budget.give(old.len());
                }
            }
            return;
        }
        self.scan_next(data.clone());
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() != self.next {
                if *entry.key() < self.next {
                    self.give_up();
                }
                return;
            }
            let chunk = entry.remove();
            self.ahead_bytes -= chunk.len();
            self.budget.give(chunk.len());
            self.scan_next(chunk);
        }
        if self.settled() {
            self.release();
        }
    }

    /// Scans the next in-order `chunk`: inline while the file is small, then queued for its
    /// scanning task.
    fn scan_next(&mut self, chunk: Bytes) {
        let len = chunk.len();
        self.next += len as u64;
        match &mut self.scan {
            Scan::None => {}
            Scan::Inline(scanner) => {
                scanner.feed(&chunk);
                let layered = scanner.wants_thread();
                if !self.state.charge(scanner.held_bytes()) {
                    // Its state outgrew what an upload may hold: read back instead.
                    self.give_up();
                } else if layered || self.next >= INLINE_SCAN_BYTES && !scanner.settled() {
                    self.move_to_worker();
                    // (Without a runtime to give it a task, it reads on here.)
                    if let Scan::Inline(scanner) = &mut self.scan {
                        scanner.resume();
                    }
                }
            }
            Scan::Worker {
                pending,
                queue,
                queued,
                ..
            } => {
                let room = queued.fetch_add(len, Ordering::AcqRel) + len <= MAX_QUEUED_BYTES;
                if room && self.budget.take(len) {
                    pending.chunks.push(chunk);
                    pending.bytes += len;
                    if pending.bytes < SCAN_BATCH_BYTES {
                        return;
                    }
                    let batch = std::mem::replace(pending, Batch::new(&self.budget, queued));
                    // Refused, the batch is dropped and gives its bytes back.
                    if queue.try_send(batch).is_ok() {
                        return;
                    }
                } else {
                    queued.fetch_sub(len, Ordering::AcqRel);
                }
                // The scan fell behind the transfer: read back after the commit instead.
                self.give_up();
            }
        }
    }

    /// Hands the scanner to a task of its own (inline still, without a runtime).
    fn move_to_worker(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Scan::Inline(scanner) = std::mem::replace(&mut self.scan, Scan::None) else {
            return;
        };
        let (queue, batches) = tokio::sync::mpsc::channel(SCAN_QUEUE);
        let charge = std::mem::replace(&mut self.state, StateCharge::new(&self.budget));
        let done = runtime.spawn(scan_batches(scanner, charge, batches, self.lanes.clone()));
        let queued = Arc::new(AtomicUsize::new(0));
        self.scan = Scan::Worker {
            pending: Batch::new(&self.budget, &queued),
            queue,
            queued,
            done,
        };
    }

    /// The file's size was set to `size` (a truncation drops bytes already scanned).
    pub fn resized(&mut self, size: u64) {
        let judged = self.verdict().unwrap_or(self.next);
        if size < judged {
            self.give_up();
        }
    }

    fn release(&mut self) {
        self.ahead.clear();
        self.budget.give(self.ahead_bytes);
        self.ahead_bytes = 0;
    }

    /// Stops scanning: a scanning task is stopped (what it had queued is given back as it is
    /// dropped; a batch being scanned, once it is done).
    fn give_up(&mut self) {
        if let Scan::Worker { done, .. } = &self.scan {
            done.abort();
        }
        self.scan = Scan::None;
        self.state.release();
        self.release();
    }

    /// What the scan found, if it saw the whole file of `size` bytes in order (or enough of
    /// it to know it is not text); a scanning task is awaited by [`Finish::result`].
    pub fn finish(&mut self, size: u64) -> Finish {
        let seen = match self.verdict() {
            Some(judged) => size >= judged,
            None => self.next == size && self.ahead.is_empty(),
        };
        self.release();
        self.state.release();
        match std::mem::replace(&mut self.scan, Scan::None) {
            Scan::Inline(scanner) if seen => Finish::Done(Some(scanner.finish())),
            // The last batch, then closing the queue lets the task scan what it holds and
            // return the scanner; not seen whole, what it holds is not scanned.
            Scan::Worker {
                pending,
                queue,
                done,
                ..
            } => {
                if seen && (pending.chunks.is_empty() || queue.try_send(pending).is_ok()) {
                    drop(queue);
                    Finish::Scanning(done)
                } else {
                    done.abort();
                    Finish::Done(None)
                }
            }
            _ => Finish::Done(None),
        }
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        self.give_up();
    }
}

/// The sealed stored form of `c` for a file whose contents have `content_root` (empty when
/// unsealed).
pub(crate) fn seal(tk: &TenantKey, content_root: &[u8], c: &Classification) -> Vec<u8> {
    tk.seal_classes(content_root, c.encode().as_bytes())
}

impl Files {
    /// The tenant's own patterns (read once per session; a stored pattern that no longer
    /// compiles is skipped and logged).
    pub(crate) async fn patterns(&self) -> Option<Arc<Patterns>> {
        self.patterns
            .get_or_init(|| async {
                let stored = match self.catalog.classify_patterns(self.tenant_id).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "classification patterns could not be read");
                        return None;
                    }
                };
                let usable: Vec<(&str, &str)> = stored
                    .iter()
                    .filter(|(name, source)| {
                        let ok = classify::patterns::compile(name, source).is_ok();
                        if !ok {
                            tracing::warn!(pattern = %name, "a stored classification pattern does not compile; skipped");
                        }
                        ok
                    })
                    .map(|(n, s)| (n.as_str(), s.as_str()))
                    .collect();
                Patterns::new(usable)
                    .ok()
                    .filter(|p| !p.is_empty())
                    .map(Arc::new)
            })
            .await
            .clone()
    }

    /// What classification found in `node`, if it has been classified.
    pub async fn classes_of(&self, node: &Node) -> FsResult<Option<Classification>> {
        let Some(sealed) = &node.classes else {
            return Ok(None);
        };
        let root = node.seal.as_ref().map_or(&[][..], |s| &s.content_root[..]);
        self.open_classes(root, sealed).await.map(Some)
    }

    /// Opens sealed classes under the tenant key, or, where they were sealed under a newer key
    /// than the one cached (a rotation begun since), under the key read again.
    async fn open_classes(&self, root: &[u8], sealed: &[u8]) -> FsResult<Classification> {
        let plain = match self.tenant_key().await?.open_classes(root, sealed) {
            Ok(plain) => plain,
            Err(_) => self.fresh_state().await?.0.open_classes(root, sealed)?,
        };
        // Sealed, so only this code wrote it; a stored form that does not read is damage.
        let damaged = || FsError::Key(vault::KeyError::Name);
        let text = String::from_utf8(plain).map_err(|_| damaged())?;
        Classification::decode(&text).ok_or_else(damaged)
    }

    /// What the contents of file `file_id` that a read saw held: the read recorded the file's
    /// size `size_then` (`None`: a record from before file ids, which does not say) and ended at
    /// `read_ms`; `node` is the file now (`None`: deleted). Of
    /// the file's contents over time (earlier ones from the class history, then the current),
    /// those of that size committed before the read, else any committed before it, the latest
    /// (commit times are in seconds). `None`: those contents were never classified.
    pub async fn classes_then(
        &self,
        file_id: i64,
        node: Option<&Node>,
        size_then: Option<u64>,
        read_ms: i64,
    ) -> FsResult<Option<Classification>> {
        /// One of a file's contents over time.
        struct Contents {
            created_at: i64,
            size: u64,
            root: Vec<u8>,
            sealed: Option<Vec<u8>>,
        }
        let mut versions: Vec<Contents> = self
            .catalog
            .class_history(file_id)
            .await?
            .into_iter()
            .map(|v| Contents {
                created_at: v.created_at,
                size: v.size,
                root: v.content_root.unwrap_or_default(),
                sealed: Some(v.classes),
            })
            .collect();
        if let Some(n) = node {
            versions.push(Contents {
                created_at: n.created_at,
                size: n.size,
                root: n
                    .seal
                    .as_ref()
                    .map(|s| s.content_root.clone())
                    .unwrap_or_default(),
                sealed: n.classes.clone(),
            });
        }
        let before = |v: &&Contents| v.created_at * 1000 <= read_ms;
        let chosen = versions
            .iter()
            .filter(before)
            .rfind(|v| Some(v.size) == size_then)
            .or_else(|| versions.iter().rfind(before))
            .or_else(|| versions.first());
        match chosen {
            Some(Contents {
                root,
                sealed: Some(sealed),
                ..
            }) => self.open_classes(root, sealed).await.map(Some),
            _ => Ok(None),
        }
    }

    /// Reads the file at `path` back, classifies it and stores the result (unless the file
    /// was replaced meanwhile). Returns what it found.
    pub async fn classify_stored(&self, path: &JailPath) -> FsResult<Classification> {
        let file = self.open_read(path).await?;
        let (blob, size) = (file.blob.clone(), file.node.size);
        let patterns = self.patterns().await;
        let clock = self.reservations.scan_lanes();
        let lane = clock.take().await;
        let found = blocking(move || {
            let _lane = lane;
            // A format read from its end (a Parquet file's footer names its row groups) is
            // read at the places it names: all of it, whatever its size.
            let mut head = vec![0u8; classify::scan::SNIFF_LEN];
            let n = blob.read_at(&mut head, 0)?;
            // A read that fails fails the classification (it is not the file's damage).
            let failed = std::cell::Cell::new(None);
            let read_at = |at: u64, buf: &mut [u8]| match blob.read_at(buf, at) {
                Ok(n) => Some(n),
                Err(e) => {
                    failed.set(Some(e));
                    None
                }
            };
            if let Some(found) =
                classify::classify_stored(&head[..n], size, &read_at, patterns.clone())
            {
                return match failed.take() {
                    Some(e) => Err(e),
                    None => Ok(found),
                };
            }
            let mut scanner = Scanner::with_patterns(patterns);
            let mut buf = vec![0u8; READ_BACK_CHUNK];
            let mut at = 0u64;
            let began = Instant::now();
            while at < size {
                let n = blob.read_at(&mut buf, at)?;
                if n == 0 {
                    break;
                }
                scanner.feed(&buf[..n]);
                at += n as u64;
                // Past its allowance of time: what was read, said to be read in part.
                if at < size && !clock.allows(began.elapsed(), at) {
                    tracing::warn!(
                        seconds = began.elapsed().as_secs_f64(),
                        bytes = at,
                        "a file's scan took longer than its allowance: classified by what was read"
                    );
                    return Ok(scanner.finish().read_in_part());
                }
            }
            Ok::<_, vault::BlobError>(scanner.finish())
        })
        .await
        .map_err(|e| FsError::from(e).at(path))?;
        let root = file.node.seal.as_ref().map(|s| s.content_root.clone());
        let (found, root) = (&found, &root);
        self.with_current_key(|tk| async move {
            let sealed = seal(&tk, root.as_deref().unwrap_or_default(), found);
            let (id, version) = (file.node.id, tk.version);
            self.catalog
                .set_classes(self.tenant_id, id, version, root.clone(), size, sealed)
                .await?;
            Ok(())
        })
        .await?;
        Ok(found.clone())
    }

    /// After a commit whose writes could not be scanned as they came: reads the file back in
    /// the background.
    pub(crate) fn classify_later(&self, path: JailPath) {
        let files = self.clone();
        tokio::spawn(async move {
            if let Err(e) = files.classify_stored(&path).await {
                tracing::warn!(error = %e, "an upload could not be classified after its commit");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: usize) -> Vec<u8> {
        let mut t = b"name,card_number\n".to_vec();
        for _ in 0..lines {
            t.extend_from_slice(b"Ann Example,4111111111111111\n");
        }
        t
    }

    fn streamed(budget: &Arc<ScanBudget>) -> Streamed {
        Streamed::new(true, None, budget.clone(), Arc::new(ScanLanes::new(4)))
    }

    fn cards(c: &Classification) -> u64 {
        c.counts.get(classify::Class::CardNumber)
    }

    /// The result without a runtime (the scan stays inline).
    fn done(f: Finish) -> Option<Classification> {
        match f {
            Finish::Done(c) => c,
            Finish::Scanning(_) => panic!("a scanning thread without a runtime"),
        }
    }

    #[test]
    fn writes_out_of_order_are_held_back_within_the_budgets_and_given_back() {
        let budget = Arc::new(ScanBudget::default());
        let data = Bytes::from(text(1000));
        let (a, b) = (data.slice(..10_000), data.slice(10_000..));
        let mut s = streamed(&budget);
        s.wrote(10_000, &b);
        assert_eq!(budget.held(), b.len());
        s.wrote(0, &a);
        assert_eq!(budget.held(), 0);
        assert_eq!(cards(&done(s.finish(data.len() as u64)).unwrap()), 1000);

        // The node's budget is shared: beyond it, the upload is read back after its commit.
        let small = Arc::new(ScanBudget::new(1000));
        let mut s = streamed(&small);
        s.wrote(10_000, &b);
        assert_eq!(small.held(), 0, "nothing held past the node's budget");
        s.wrote(0, &a);
        assert!(done(s.finish(data.len() as u64)).is_none());

        // Dropped without a commit (a disconnect): what it held is given back.
        let mut s = streamed(&budget);
        s.wrote(20_000, &data.slice(20_000..));
        assert!(budget.held() > 0);
        drop(s);
        assert_eq!(budget.held(), 0);
    }

    /// A bzip2 file's scanner keeps its decoder (3.7 MB) between writes: charged to the node's
    /// budget while the upload is open, given back when it commits or is dropped; where the
    /// budget is spent, uploads are read back after their commit instead.
    #[test]
    fn scanners_state_is_charged_to_the_node_and_given_back() {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        std::io::Write::write_all(&mut e, &text(1000)).unwrap();
        let data = Bytes::from(e.finish().unwrap());
        let (a, b) = (data.slice(..50), data.slice(50..));
        let budget = Arc::new(ScanBudget::default());
        let mut s = streamed(&budget);
        s.wrote(0, &a);
        s.wrote(50, &b);
        let held = budget.held();
        assert!(held > 3_000_000 && held < 4_000_000, "{held}");
        let found = done(s.finish(data.len() as u64)).unwrap();
        assert_eq!(cards(&found), 1000);
        assert_eq!(budget.held(), 0);

        // Uploads at once, stalled after their first bytes: as many as the budget holds are
        // scanned as they arrive; the rest give up (read back after their commit) and hold
        // nothing. Dropped (disconnected), they give everything back.
        let mut open: Vec<Streamed> = (0..60).map(|_| streamed(&budget)).collect();
        for s in &mut open {
            s.wrote(0, &a);
            s.wrote(50, &data.slice(50..80));
        }
        let scanning = open
            .iter()
            .filter(|s| !matches!(s.scan, Scan::None))
            .count();
        assert_eq!(scanning, MAX_SCAN_NODE_BYTES / held, "{scanning}");
        assert!(budget.held() <= MAX_SCAN_NODE_BYTES);
        drop(open);
        assert_eq!(budget.held(), 0);

        // More than one upload's scanner may keep: read back.
        let tight = Arc::new(ScanBudget::new(1 << 20));
        let mut s = streamed(&tight);
        s.wrote(0, &data);
        assert!(matches!(s.scan, Scan::None));
        assert_eq!(tight.held(), 0);
        assert!(done(s.finish(data.len() as u64)).is_none());
    }

    #[test]
    fn a_file_known_not_to_be_text_holds_nothing_back() {
        let budget = Arc::new(ScanBudget::default());
        let binary: Bytes = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut s = streamed(&budget);
        s.wrote(0, &binary.slice(..65_536));
        s.wrote(500_000, &binary.slice(500_000..));
        assert_eq!(budget.held(), 0);
        s.wrote(65_536, &binary.slice(65_536..500_000));
        let c = done(s.finish(binary.len() as u64)).unwrap();
        assert!(c.formats.contains(&classify::Format::Binary), "{c:?}");

        // A write over the part the verdict was made on: read back instead.
        let mut s = streamed(&budget);
        s.wrote(0, &binary.slice(..65_536));
        s.wrote(100, &Bytes::from_static(b"card 4111111111111111\n"));
        assert!(done(s.finish(binary.len() as u64)).is_none());
    }

    fn feed(s: &mut Streamed, data: &Bytes) {
        for (k, chunk) in data.chunks(256 << 10).enumerate() {
            s.wrote((k * (256 << 10)) as u64, &data.slice_ref(chunk));
        }
    }

    /// Waits (at most 10 s) until `done` holds.
    async fn until(what: &str, done: impl Fn() -> bool) {
        for _ in 0..1000 {
            if done() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("not within 10 s: {what}");
    }

    /// A large upload is scanned by a task of its own, fed in order; when the scan cannot
    /// keep up within the node's budget, the upload is read back after its commit instead.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_upload_is_scanned_beside_its_transfer() {
        let budget = Arc::new(ScanBudget::default());
        let data = Bytes::from(text(200_000));
        assert!(data.len() as u64 > 2 * INLINE_SCAN_BYTES);
        let mut s = streamed(&budget);
        feed(&mut s, &data);
        assert!(matches!(s.scan, Scan::Worker { .. }));
        let found = s.finish(data.len() as u64).result().await.unwrap();
        assert_eq!(cards(&found), 200_000);
        assert_eq!(budget.held(), 0, "every queued chunk given back");

        // Not seen whole (the file is longer than what was written in order): the task is
        // stopped and what it held is given back.
        let mut s = streamed(&budget);
        feed(&mut s, &data);
        assert!(budget.held() > 0);
        assert!(s.finish(data.len() as u64 + 1).result().await.is_none());
        until("the stopped task's bytes given back", || budget.held() == 0).await;

        // Nothing may be queued beyond the node's budget: given up, read back later.
        let tight = Arc::new(ScanBudget::new(1000));
        let mut s = streamed(&tight);
        feed(&mut s, &data);
        assert!(s.finish(data.len() as u64).result().await.is_none());
        assert_eq!(tight.held(), 0);
    }

    /// A scan past its allowance of time is fed no more: the file is classified by what was
    /// read, `scanned_in_part`, and what was queued is given back; within it (the default),
    /// the same upload is read whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scan_past_its_time_stops_and_says_so() {
        let budget = Arc::new(ScanBudget::default());
        let data = Bytes::from(text(200_000));
        let scan = |lanes: ScanLanes| {
            let mut s = Streamed::new(true, None, budget.clone(), Arc::new(lanes));
            feed(&mut s, &data);
            assert!(matches!(s.scan, Scan::Worker { .. }));
            s.finish(data.len() as u64)
        };
        // No time at all beyond what the first write's batch takes.
        let hurried = ScanLanes::new(4).with_allowance(Duration::ZERO, u64::MAX);
        let found = scan(hurried).result().await.unwrap();
        assert!(cards(&found) > 0 && cards(&found) < 200_000, "{found:?}");
        assert_eq!(found.formats.last(), Some(&classify::Format::ScannedInPart));
        until("the stopped scan's bytes given back", || budget.held() == 0).await;
        let found = scan(ScanLanes::new(4)).result().await.unwrap();
        assert_eq!(cards(&found), 200_000);
        assert!(!found.formats.contains(&classify::Format::ScannedInPart));
    }

    /// A compressed upload is not inflated in its own requests: its first write hands it to a
    /// task of its own (a zstd bomb of 16 KiB holds 512 MiB of contents, this one of 1 KiB 32
    /// MiB: inflated in a write's request it would hold that request, and a thread of the
    /// runtime, for as long),
    /// which counts what it holds; so is a plain text's scan, unchanged, inline.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_compressed_upload_leaves_its_requests_at_once() {
        let mut bomb = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, (23 - 10) << 3];
        let mut e = Vec::new();
        for i in 0..256u32 {
            let header = (128u32 << 10) << 3 | 1 << 1 | u32::from(i == 255);
            e.extend_from_slice(&[
                header as u8,
                (header >> 8) as u8,
                (header >> 16) as u8,
                b'7',
            ]);
        }
        bomb.extend(e);
        let bomb = Bytes::from(bomb);
        let budget = Arc::new(ScanBudget::default());
        let mut s = streamed(&budget);
        s.wrote(0, &bomb);
        assert!(
            matches!(s.scan, Scan::Worker { .. }),
            "handed on at its first write"
        );
        let found = s.finish(bomb.len() as u64).result().await.unwrap();
        assert_eq!(found.formats, vec![classify::Format::Zstd]);
        assert_eq!(budget.held(), 0);

        // A text stays in its requests (most uploads are small and need no task).
        let data = Bytes::from(text(100));
        let mut s = streamed(&budget);
        s.wrote(0, &data);
        assert!(matches!(s.scan, Scan::Inline(_)));
        assert_eq!(cards(&done(s.finish(data.len() as u64)).unwrap()), 100);
    }

    /// A scanning task keeps its scanner's state charged while it holds it: a bzip2 upload past
    /// its first MiB holds its decoder until the commit, or until it is dropped mid-way (a
    /// disconnect), and gives it back either way.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scanning_tasks_state_is_charged_until_it_ends() {
        // Lines a compressor cannot shrink much: 2 MiB and more compressed.
        let mut plain = b"name,card_number,reference\n".to_vec();
        let mut x = 7u64;
        for _ in 0..300_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            plain.extend(format!("Ann,4111111111111111,{:016x}\n", x).as_bytes());
        }
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        std::io::Write::write_all(&mut e, &plain).unwrap();
        let data = Bytes::from(e.finish().unwrap());
        assert!(data.len() as u64 > 2 * INLINE_SCAN_BYTES, "{}", data.len());
        let budget = Arc::new(ScanBudget::default());
        let mut s = streamed(&budget);
        let half = data.slice(..data.len() / 2);
        feed(&mut s, &half);
        assert!(matches!(s.scan, Scan::Worker { .. }));
        until("the task's scanner charged", || budget.held() > 3_000_000).await;
        s.wrote(half.len() as u64, &data.slice(half.len()..));
        let found = s.finish(data.len() as u64).result().await.unwrap();
        assert_eq!(cards(&found), 300_000);
        assert_eq!(budget.held(), 0, "its state given back");

        // Dropped mid-way, its task stalled waiting for more: all given back.
        let mut s = streamed(&budget);
        feed(&mut s, &half);
        until("the task's scanner charged", || budget.held() > 3_000_000).await;
        drop(s);
        until("the dropped upload's state given back", || {
            budget.held() == 0
        })
        .await;
    }

    /// Scanning threads are bounded by the node's lanes, and a lane is held only while a batch
    /// is scanned: with one lane, an idle upload holds none and a second upload is scanned too;
    /// an upload whose batches find no lane before its queue fills is read back after its
    /// commit, and what it had queued is given back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lane_is_held_only_while_a_batch_is_scanned() {
        let budget = Arc::new(ScanBudget::default());
        let lanes = Arc::new(ScanLanes::new(1));
        let data = Bytes::from(text(100_000));
        assert!(data.len() as u64 > INLINE_SCAN_BYTES);
        let upload = || Streamed::new(true, None, budget.clone(), lanes.clone());

        // The first upload's writes so far are scanned; it goes quiet (a stalled client).
        let mut first = upload();
        feed(&mut first, &data);
        assert!(matches!(first.scan, Scan::Worker { .. }));
        // Every batch sent is scanned (only the one being gathered, under a batch, is held)
        // and the lane is free while the upload idles.
        until(
            "the idle upload's batches scanned and its lane free",
            || budget.held() < SCAN_BATCH_BYTES && lanes.free() == 1,
        )
        .await;
        let mut second = upload();
        feed(&mut second, &data);
        let found = second.finish(data.len() as u64).result().await.unwrap();
        assert_eq!(cards(&found), 100_000);
        let found = first.finish(data.len() as u64).result().await.unwrap();
        assert_eq!(cards(&found), 100_000);
        assert_eq!(lanes.free(), 1);

        // No lane to be had (held here): the queue fills and the scan is given up.
        let big = Bytes::from(text(700_000));
        assert!(big.len() > MAX_QUEUED_BYTES);
        let held = lanes.try_take().unwrap();
        let mut third = upload();
        feed(&mut third, &big);
        assert!(matches!(third.scan, Scan::None), "fell behind: given up");
        assert!(third.finish(big.len() as u64).result().await.is_none());
        until("the abandoned queue's bytes are given back", || {
            budget.held() == 0
        })
        .await;
        drop(held);
        assert_eq!(lanes.free(), 1);
    }

    #[test]
    fn a_truncation_below_what_was_scanned_means_reading_back() {
        let budget = Arc::new(ScanBudget::default());
        let data = Bytes::from(text(100));
        let mut s = streamed(&budget);
        s.wrote(0, &data);
        s.resized(10);
        s.resized(data.len() as u64);
        assert!(done(s.finish(data.len() as u64)).is_none());

        // Growing the file leaves a gap the scan never saw: read back too.
        let mut s = streamed(&budget);
        s.wrote(0, &data);
        s.resized(data.len() as u64 + 100);
        assert!(done(s.finish(data.len() as u64 + 100)).is_none());
    }
}
