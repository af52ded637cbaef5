//! What the files and batches routes keep in this process: the uploaded
//! batch input files (bounded in count and bytes) and the batches created
//! through the gateway, each with the deployment that runs it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use llm_runtime::LlmProvider;
use serde_json::{Map, Value};

use crate::error::GatewayError;

/// The most bytes of input files kept at once.
pub const MAX_STORED_BYTES: usize = 512 * 1024 * 1024;
/// The most input files kept at once.
pub const MAX_FILES: usize = 10_000;
/// The most batches remembered (the oldest are forgotten past it).
pub const MAX_BATCHES: usize = 10_000;

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// `file-...`.
    pub id: String,
    /// The name it was uploaded under.
    pub filename: String,
    /// Its `purpose` (`batch`).
    pub purpose: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Its bytes.
    pub bytes: Bytes,
}

/// A batch created through the gateway.
#[derive(Debug, Clone)]
pub struct BatchEntry {
    /// `batch_...`, the gateway's id.
    pub id: String,
    /// The model the caller named.
    pub model: String,
    /// The model group (or wildcard pattern) it resolved to.
    pub group: String,
    /// The deployment that runs it.
    pub deployment: String,
    /// That deployment's provider.
    pub provider: Arc<dyn LlmProvider>,
    /// The upstream's id for it.
    pub upstream_id: String,
    /// The input file.
    pub input_file_id: String,
    /// The endpoint of every line (`/v1/chat/completions`).
    pub endpoint: String,
    /// `24h`.
    pub completion_window: String,
    /// The caller's labels.
    pub metadata: Map<String, Value>,
    /// Unix seconds.
    pub created_at: u64,
    /// The lines' `custom_id`s, in the file's order.
    pub custom_ids: Vec<String>,
    /// Creation order (set when added).
    pub(super) seq: u64,
}

impl BatchEntry {
    /// Where the output file of `self` is named (`file-out-...`).
    pub fn output_file_id(&self) -> String {
        format!("file-out-{}", self.suffix())
    }

    /// Where the error file of `self` is named (`file-err-...`).
    pub fn error_file_id(&self) -> String {
        format!("file-err-{}", self.suffix())
    }

    fn suffix(&self) -> &str {
        self.id.strip_prefix("batch_").unwrap_or(&self.id)
    }
}

/// Which file of a batch an output file id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The succeeded requests' answers.
    Output,
    /// The failed requests' errors.
    Errors,
}

#[derive(Debug, Default)]
struct Inner {
    files: BTreeMap<String, StoredFile>,
    bytes: usize,
    batches: BTreeMap<String, BatchEntry>,
    seq: u64,
}

/// The files and batches of this process.
#[derive(Debug, Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

/// A random id with `prefix` (`file-`, `batch_`).
pub(super) fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keep `file`, or refuse it when the store is full.
    pub fn add_file(&self, file: StoredFile) -> Result<(), GatewayError> {
        let mut inner = self.lock();
        if inner.files.len() >= MAX_FILES
            || inner.bytes.saturating_add(file.bytes.len()) > MAX_STORED_BYTES
        {
            return Err(GatewayError::bad_request(format!(
                "The gateway keeps at most {MAX_FILES} files and {} MiB of batch input: delete \
                 files that are no longer needed",
                MAX_STORED_BYTES / (1024 * 1024)
            ))
            .code("storage_full"));
        }
        inner.bytes += file.bytes.len();
        inner.files.insert(file.id.clone(), file);
        Ok(())
    }

    /// The uploaded file `id`.
    pub fn file(&self, id: &str) -> Option<StoredFile> {
        self.lock().files.get(id).cloned()
    }

    /// Every uploaded file, newest first.
    pub fn files(&self) -> Vec<StoredFile> {
        let mut files: Vec<StoredFile> = self.lock().files.values().cloned().collect();
        files.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        files
    }

    /// Forget the uploaded file `id`; whether it was there.
    pub fn delete_file(&self, id: &str) -> bool {
        let mut inner = self.lock();
        match inner.files.remove(id) {
            Some(f) => {
                inner.bytes -= f.bytes.len();
                true
            }
            None => false,
        }
    }

    /// Remember `entry` (forgetting the oldest past [`MAX_BATCHES`]).
    pub fn add_batch(&self, mut entry: BatchEntry) {
        let mut inner = self.lock();
        inner.seq += 1;
        entry.seq = inner.seq;
        inner.batches.insert(entry.id.clone(), entry);
        while inner.batches.len() > MAX_BATCHES {
            let oldest = inner
                .batches
                .values()
                .min_by_key(|b| b.seq)
                .map(|b| b.id.clone());
            match oldest {
                Some(id) => inner.batches.remove(&id),
                None => break,
            };
        }
    }

    /// The batch `id`.
    pub fn batch(&self, id: &str) -> Option<BatchEntry> {
        self.lock().batches.get(id).cloned()
    }

    /// Batches newest first, after the batch `after` when given, at most `limit`,
    /// and whether more follow.
    pub fn batches(&self, after: Option<&str>, limit: usize) -> (Vec<BatchEntry>, bool) {
        let inner = self.lock();
        let mut all: Vec<&BatchEntry> = inner.batches.values().collect();
        all.sort_by_key(|b| std::cmp::Reverse(b.seq));
        let start = after
            .and_then(|a| all.iter().position(|b| b.id == a).map(|i| i + 1))
            .unwrap_or(0);
        let rest = all.get(start..).unwrap_or_default();
        let page = rest.iter().take(limit).map(|b| (*b).clone()).collect();
        (page, rest.len() > limit)
    }

    /// The batch an output or error file id names.
    pub fn output(&self, file_id: &str) -> Option<(BatchEntry, OutputKind)> {
        let (suffix, kind) = if let Some(s) = file_id.strip_prefix("file-out-") {
            (s, OutputKind::Output)
        } else if let Some(s) = file_id.strip_prefix("file-err-") {
            (s, OutputKind::Errors)
        } else {
            return None;
        };
        self.batch(&format!("batch_{suffix}")).map(|b| (b, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize, len: usize) -> StoredFile {
        StoredFile {
            id: format!("file-{n}"),
            filename: "b.jsonl".into(),
            purpose: "batch".into(),
            created_at: 0,
            bytes: Bytes::from(vec![b'x'; len]),
        }
    }

    fn batch(provider: &Arc<dyn LlmProvider>, n: usize) -> BatchEntry {
        BatchEntry {
            id: format!("batch_{n}"),
            model: "m".into(),
            group: "m".into(),
            deployment: "m-0".into(),
            provider: Arc::clone(provider),
            upstream_id: format!("up-{n}"),
            input_file_id: "file-1".into(),
            endpoint: "/v1/chat/completions".into(),
            completion_window: "24h".into(),
            metadata: Map::new(),
            created_at: 0,
            custom_ids: vec![],
            seq: 0,
        }
    }

    #[test]
    fn the_file_store_is_bounded_in_count_and_bytes() {
        let store = Store::default();
        for n in 0..MAX_FILES {
            store.add_file(file(n, 1)).expect("room");
        }
        let e = store.add_file(file(MAX_FILES, 1)).expect_err("full");
        assert_eq!(e.code.as_deref(), Some("storage_full"));
        assert!(store.delete_file("file-0"));
        assert!(!store.delete_file("file-0"), "deleted once");
        store.add_file(file(MAX_FILES, 1)).expect("room again");

        let store = Store::default();
        store
            .add_file(file(0, MAX_STORED_BYTES))
            .expect("exactly the cap");
        assert!(store.add_file(file(1, 1)).is_err(), "one byte over");
        assert!(store.delete_file("file-0"));
        store.add_file(file(1, 1)).expect("bytes released");
    }

    #[test]
    fn batches_page_newest_first_and_the_oldest_are_forgotten() {
        let mut config = llm_runtime::providers::NamedConfig::default();
        config.api_key = Some("sk-test".into());
        let provider = llm_runtime::providers::connect_named("openai", &config)
            .expect("a built-in provider")
            .expect("connects");
        let store = Store::default();
        for n in 0..5 {
            store.add_batch(batch(&provider, n));
        }
        let ids = |page: &[BatchEntry]| page.iter().map(|b| b.id.clone()).collect::<Vec<_>>();
        let (page, more) = store.batches(None, 2);
        assert_eq!(
            (ids(&page), more),
            (vec!["batch_4".into(), "batch_3".into()], true)
        );
        let (page, more) = store.batches(Some("batch_3"), 10);
        assert_eq!(ids(&page), ["batch_2", "batch_1", "batch_0"]);
        assert!(!more);
        let entry = store.batch("batch_2").expect("kept");
        assert_eq!(
            store
                .output(&entry.output_file_id())
                .map(|(b, k)| (b.id, k)),
            Some(("batch_2".into(), OutputKind::Output))
        );
        assert_eq!(
            store.output(&entry.error_file_id()).map(|(_, k)| k),
            Some(OutputKind::Errors)
        );
        assert!(store.output("file-out-nope").is_none());
        for n in 5..MAX_BATCHES + 2 {
            store.add_batch(batch(&provider, n));
        }
        assert!(store.batch("batch_0").is_none() && store.batch("batch_1").is_none());
        assert!(store.batch("batch_2").is_some());
    }
}
