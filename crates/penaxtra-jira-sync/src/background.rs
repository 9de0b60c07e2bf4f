//! [`WorkerHandle`]: a task that runs a round now and then every interval
//! until stopped (the worker, the reconciler). A foundation: it knows no
//! engine.

use std::time::Duration;

/// A worker running in the background; stops when dropped or on
/// [`WorkerHandle::stop`].
#[derive(Debug)]
pub struct WorkerHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the worker after its current round.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl WorkerHandle {
    /// Runs `round(n)` now and then every `interval` until stopped.
    pub(crate) fn spawn<F, Fut>(interval: Duration, round: F) -> Self
    where
        F: Fn(u64) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                round(n).await;
                n += 1;
                tokio::select! {
                    _ = &mut rx => break,
                    _ = tokio::time::sleep(interval) => {}
                }
            }
        });
        Self {
            stop: Some(tx),
            task,
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
