//! Fail-open limits while the shared state is unreachable: counted in this
//! process, then carried into the shared state when it answers again.
//!
//! During an outage every process admits up to each fail-open limit on its
//! own. When the shared state answers a reservation again, the router hands
//! it what this process granted meanwhile ([`RouterState::carry_in`]): each
//! reservation still within the window, with its tokens (settled ones with
//! what they used) and, for a call still running, its in-flight slot, whose
//! settle then reaches the shared state too. The shared limits so count the
//! outage's traffic for the rest of its window, as if it had been there.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_trait::async_trait;

use crate::error::Result;

use super::state::{Admission, Ask, Carried, InProcessState, Reservation, RouterState, ScopeUsage};

/// The counters of one router's fail-open limits during an outage.
#[derive(Debug)]
pub(crate) struct Outage {
    counts: InProcessState,
    ids: Mutex<Ids>,
    /// Something was granted here since the last hand-over.
    pending: AtomicBool,
    shared: Arc<dyn RouterState>,
}

#[derive(Debug, Default)]
struct Ids {
    /// Granted here and not settled yet.
    open: HashSet<u64>,
    /// Handed over unsettled: their settle goes to the shared state.
    carried: HashSet<u64>,
}

impl Outage {
    pub(crate) fn new(shared: Arc<dyn RouterState>) -> Self {
        Outage {
            counts: InProcessState::new(),
            ids: Mutex::default(),
            pending: AtomicBool::new(false),
            shared,
        }
    }

    fn ids(&self) -> MutexGuard<'_, Ids> {
        // Plain sets: a panic elsewhere leaves them usable.
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserve against this process's own counters.
    pub(crate) fn reserve_now(&self, ask: &Ask<'_>) -> Admission {
        let admission = self.counts.reserve_now(ask);
        if matches!(admission, Admission::Granted(_)) && !ask.scopes.is_empty() {
            self.ids().open.insert(ask.id);
            self.pending.store(true, Ordering::Release);
        }
        admission
    }

    /// Whether there is anything to hand over (one atomic load per call).
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Everything granted here within the window, to carry into the shared
    /// state; the counters start empty again.
    pub(crate) fn take(&self) -> Vec<Carried> {
        self.pending.store(false, Ordering::Release);
        let mut carried = self.counts.take_all(Instant::now());
        let mut ids = self.ids();
        let open = std::mem::take(&mut ids.open);
        for c in &mut carried {
            c.in_flight = open.contains(&c.id);
            if c.in_flight {
                ids.carried.insert(c.id);
            }
        }
        carried
    }

    /// Hand everything granted here to the shared state, bounded by `bound`.
    /// What does not arrive (the state failed again) is dropped with a
    /// warning: its calls ran, and the shared limits never learn of them.
    pub(crate) async fn hand_over(&self, bound: std::time::Duration) {
        let carried = self.take();
        if carried.is_empty() {
            return;
        }
        let handed = tokio::time::timeout(bound, self.shared.carry_in(&carried)).await;
        match handed {
            Ok(Ok(())) => {
                tracing::info!(
                    reservations = carried.len(),
                    "router: the state answers again; carried in what this process admitted meanwhile"
                );
            }
            _ => {
                let mut ids = self.ids();
                for c in &carried {
                    ids.carried.remove(&c.id);
                }
                tracing::warn!(
                    reservations = carried.len(),
                    "router: could not carry what this process admitted during the outage into the state"
                );
            }
        }
    }
}

#[async_trait]
impl RouterState for Outage {
    async fn reserve(&self, ask: &Ask<'_>) -> Result<Admission> {
        Ok(self.reserve_now(ask))
    }

    async fn settle(&self, reservation: &Reservation, tokens: u64) -> Result<()> {
        let (here, carried) = {
            let mut ids = self.ids();
            let here = ids.open.remove(&reservation.id);
            (here, !here && ids.carried.remove(&reservation.id))
        };
        if here {
            self.counts.settle_now(reservation, tokens);
        }
        if carried {
            return self.shared.settle(reservation, tokens).await;
        }
        Ok(())
    }

    async fn usage(&self, scope: &str) -> Result<ScopeUsage> {
        Ok(self.counts.usage_now(scope))
    }
}
