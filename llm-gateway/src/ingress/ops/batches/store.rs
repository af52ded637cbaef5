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
