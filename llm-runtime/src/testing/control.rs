//! [`ConnControl`]: how a scripted response ends its own connection.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use super::raw::Takeover;

/// What a response uses to end its own connection.
#[derive(Debug, Default)]
pub(super) struct ConnControl {
    /// Close with `SO_LINGER` 0 (a RST) instead of a FIN.
    pub(super) reset: AtomicBool,
    /// Wakes the connection task, which then drops the connection.
    pub(super) abort: Notify,
    /// A raw response for the connection task to write in hyper's stead.
    pub(super) takeover: Takeover,
}

impl ConnControl {
    /// Asks for the connection to be dropped now, with a RST when `reset`.
    pub(super) fn abort(&self, reset: bool) {
        if reset {
            self.reset.store(true, Ordering::SeqCst);
        }
        // notify_one keeps a permit if the task is not waiting yet.
        self.abort.notify_one();
    }
}
