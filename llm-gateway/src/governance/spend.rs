//! Spend written behind: calls hand their [`SpendRecord`] to a bounded
//! queue and go on; a writer task stores them in batches. When the store
//! fails, the batch is appended to a local spill file (JSON lines, synced)
//! and replayed later; the request id makes a replay a no-op, so nothing is
//! billed twice.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::model::SpendRecord;
use super::store::Store;

/// How the writer batches.
#[derive(Debug, Clone)]
pub struct SpendWriterConfig {
    /// Queue capacity; past it a record goes straight to the spill file.
    pub capacity: usize,
    /// Largest batch.
    pub batch: usize,
    /// How long a record may wait for its batch.
    pub interval: Duration,
    /// The spill file.
    pub spill: PathBuf,
    /// How often the spill file is replayed while it is not empty.
    pub replay_every: Duration,
}

impl SpendWriterConfig {
    /// Defaults: 10 000 queued, batches of up to 1 024 every 100 ms, replay every second.
    pub fn new(spill: PathBuf) -> Self {
        SpendWriterConfig {
            capacity: 10_000,
            batch: 1024,
            interval: Duration::from_millis(100),
            spill,
            replay_every: Duration::from_secs(1),
        }
    }
}

enum Message {
    Record(SpendRecord),
    Flush(oneshot::Sender<()>),
}

/// The handle calls bill through.
#[derive(Debug, Clone)]
pub struct SpendWriter {
    queue: mpsc::Sender<Message>,
    spill: Arc<Spill>,
    /// Wakes the writer before its interval ends (a flush, a filling queue).
    early: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("spend message")
    }
}

/// The spill file, one writer at a time.
#[derive(Debug)]
struct Spill {
    path: PathBuf,
    lock: std::sync::Mutex<()>,
}

impl Spill {
    fn append(&self, rows: &[SpendRecord]) -> std::io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut text = Vec::new();
        for row in rows {
            serde_json::to_writer(&mut text, row)?;
            text.push(b'\n');
        }
        file.write_all(&text)?;
        file.sync_data()
    }

    fn read(&self) -> Vec<SpendRecord> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        // A torn last line (a crash mid-append) is skipped: its batch was
        // never acknowledged as spilled.
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Remove the first `count` rows' worth: the file is rewritten without
    /// what was replayed (rows appended meanwhile stay).
    fn drop_replayed(&self, count: usize) -> std::io::Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let rest: Vec<&str> = text.lines().skip(count).collect();
        let tmp = self.path.with_extension("tmp");
        let mut body = rest.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &self.path)
    }
}

impl SpendWriter {
    /// Start the writer (and replay a spill left by an earlier run).
    pub fn start(store: Arc<dyn Store>, config: SpendWriterConfig) -> SpendWriter {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let spill = Arc::new(Spill {
            path: config.spill.clone(),
            lock: std::sync::Mutex::new(()),
        });
        let early = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(write_loop(
            rx,
            store,
            config,
            Arc::clone(&spill),
            Arc::clone(&early),
        ));
        SpendWriter {
            queue: tx,
            spill,
            early,
        }
    }

    /// Bill one call; never waits on the store.
    pub fn bill(&self, record: SpendRecord) {
        match self.queue.try_send(Message::Record(record)) {
            Ok(()) => {
                if self.queue.capacity() <= self.queue.max_capacity() / 2 {
                    self.early.notify_one();
                }
            }
            Err(mpsc::error::TrySendError::Full(Message::Record(r)))
            | Err(mpsc::error::TrySendError::Closed(Message::Record(r))) => {
                if let Err(e) = self.spill.append(std::slice::from_ref(&r)) {
                    tracing::error!(error = %e, request_id = %r.request_id, "governance: spend lost (queue full and spill failed)");
                }
            }
            Err(_) => {}
        }
    }

    /// Wait until everything billed before this call is stored or spilled.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.queue.send(Message::Flush(tx)).await.is_ok() {
            self.early.notify_one();
            let _ = rx.await;
        }
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<Message>,
    store: Arc<dyn Store>,
    config: SpendWriterConfig,
    spill: Arc<Spill>,
    early: Arc<tokio::sync::Notify>,
) {
    let mut batch = Vec::with_capacity(config.batch);
    let mut replay = tokio::time::interval(config.replay_every);
    loop {
        tokio::select! {
            message = rx.recv() => match message {
                Some(Message::Record(r)) => {
                    batch.push(r);
                    // Let what arrives within the interval gather in the
                    // queue (no wake-up per record), unless a flush is
                    // asked for or the queue is half full.
                    tokio::select! {
                        _ = tokio::time::sleep(config.interval) => {}
                        _ = early.notified() => {}
                    }
                    let mut flushes = Vec::new();
                    for _ in 0..config.capacity.max(1) {
                        match rx.try_recv() {
                            Ok(Message::Record(r)) => {
                                batch.push(r);
                                if batch.len() >= config.batch {
                                    write(&*store, &spill, &mut batch).await;
                                }
                            }
                            Ok(Message::Flush(done)) => flushes.push(done),
                            Err(_) => break,
                        }
                    }
                    write(&*store, &spill, &mut batch).await;
                    for done in flushes {
                        let _ = done.send(());
                    }
                }
                Some(Message::Flush(done)) => {
                    write(&*store, &spill, &mut batch).await;
                    replay_spill(&*store, &spill).await;
                    let _ = done.send(());
                }
                None => {
                    write(&*store, &spill, &mut batch).await;
                    return;
                }
            },
            _ = replay.tick() => replay_spill(&*store, &spill).await,
        }
    }
}

async fn write(store: &dyn Store, spill: &Spill, batch: &mut Vec<SpendRecord>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.record_spend(batch).await {
        tracing::warn!(error = %e, rows = batch.len(), "governance: store down, spilling spend locally");
        if let Err(e) = spill.append(batch) {
            tracing::error!(error = %e, rows = batch.len(), "governance: spend lost (spill failed)");
        }
    }
    batch.clear();
}

async fn replay_spill(store: &dyn Store, spill: &Spill) {
    let rows = spill.read();
    if rows.is_empty() {
        return;
    }
    // Still down: kept for the next tick.
    if let Ok(new) = store.record_spend(&rows).await {
        tracing::info!(rows = rows.len(), new, "governance: spilled spend flushed");
        if let Err(e) = spill.drop_replayed(rows.len()) {
            tracing::warn!(error = %e, "governance: spill file not trimmed (replay is idempotent)");
        }
    }
}
