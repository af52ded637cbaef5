//! Change notification through Redis pub/sub: a replica that changes a key
//! or team publishes on one channel; every replica's subscriber wakes its
//! snapshot refresher at once. Polling stays the guarantee (a lost message,
//! or Redis down, costs at most one poll interval); this only makes the
//! common case faster.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;

/// The pub/sub side of the shared Redis.
pub struct ChangeChannel {
    client: redis::Client,
    publisher: ConnectionManager,
    channel: String,
    timeout: Duration,
}

impl std::fmt::Debug for ChangeChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeChannel")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl ChangeChannel {
    /// A channel named after `prefix` on `url` (connects lazily).
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let publisher = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(ChangeChannel {
            client,
            publisher,
            channel: format!("{prefix}:changes"),
            timeout,
        })
    }

    /// Tell the other replicas that keys or teams changed (best effort).
    pub async fn publish(&self) {
        let mut con = self.publisher.clone();
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(&self.channel).arg(1);
        let sent = cmd.query_async::<i64>(&mut con);
        if tokio::time::timeout(self.timeout, sent).await.is_err() {
            tracing::debug!("governance: change not published (Redis slow); peers poll");
        }
    }

    /// Wake `wake` on every message, resubscribing after a failure, until aborted.
    pub fn spawn_subscriber(
        self: &Arc<Self>,
        wake: Arc<tokio::sync::Notify>,
    ) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.listen(&wake).await {
                    tracing::debug!(error = ?e.kind(), "governance: change subscription lost; peers poll meanwhile");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    async fn listen(&self, wake: &tokio::sync::Notify) -> redis::RedisResult<()> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(&self.channel).await?;
        // A change made while unsubscribed is picked up by this reload.
        wake.notify_one();
        let mut messages = pubsub.on_message();
        while messages.next().await.is_some() {
            wake.notify_one();
        }
        Ok(())
    }
}
