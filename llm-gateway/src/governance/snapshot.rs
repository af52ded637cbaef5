//! The in-memory copy of keys and teams that every request authenticates
//! against: swapped whole, never locked across an await, refreshed from the
//! store in the background.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use foldhash::HashMap;

use super::model::{KeyRecord, TeamRecord};
use super::store::{Contents, Store};

/// Keys by hash and teams by id, as of one store version.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The store's change counter when read.
    pub version: i64,
    /// Keys by hash.
    pub keys: HashMap<String, Arc<KeyRecord>>,
    /// Teams by id.
    pub teams: HashMap<String, Arc<TeamRecord>>,
}

impl From<Contents> for Snapshot {
    fn from(c: Contents) -> Self {
        Snapshot {
            version: c.version,
            keys: c
                .keys
                .into_iter()
                .map(|k| (k.token_hash.clone(), Arc::new(k)))
                .collect(),
            teams: c
                .teams
                .into_iter()
                .map(|t| (t.team_id.clone(), Arc::new(t)))
                .collect(),
        }
    }
}

/// The current [`Snapshot`], replaced atomically.
#[derive(Debug, Default)]
pub struct SnapshotCell {
    current: RwLock<Arc<Snapshot>>,
}

impl SnapshotCell {
    /// The current snapshot (a clone of an `Arc`: the lock is held for that only).
    pub fn load(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Install `next` unless the current one is newer.
    pub fn store(&self, next: Snapshot) {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if next.version >= guard.version {
            *guard = Arc::new(next);
        }
    }

    /// Read the store and install what it holds when its version moved (or
    /// `force`). A store failure keeps the current snapshot.
    pub async fn refresh(&self, store: &dyn Store, force: bool) -> bool {
        if !force {
            match store.version().await {
                Ok(v) if v == self.load().version => return false,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "governance: store unreachable, serving the last snapshot");
                    return false;
                }
            }
        }
        match store.contents().await {
            Ok(contents) => {
                self.store(contents.into());
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "governance: store unreachable, serving the last snapshot");
                false
            }
        }
    }
}

/// Poll the store's version every `every` and reload on change, until the
/// returned task is aborted. The staleness bound is `every` plus one read.
pub fn spawn_refresher(
    cell: Arc<SnapshotCell>,
    store: Arc<dyn Store>,
    every: Duration,
    wake: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // A change notification (Redis pub/sub, or this replica's own
            // management write) wakes the loop early.
            let _ = tokio::time::timeout(every, wake.notified()).await;
            cell.refresh(store.as_ref(), false).await;
        }
    })
}
