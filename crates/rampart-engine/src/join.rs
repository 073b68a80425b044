//! Running sibling nodes concurrently on the engine's own task.
//!
//! Parallel stages, parallel steps and strategy iterations are futures polled
//! together here rather than spawned: they borrow the plan, need no `'static`
//! data, and are dropped (stopping their processes) if the run is. A future
//! does nothing until first polled, so bounding how many are polled at once
//! is all `maxConcurrency` needs: the next one starts when a running one ends.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

pub(crate) type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Runs `futures` with at most `limit` (at least 1) in flight, starting them
/// in order, and returns when all are done.
pub(crate) async fn join_bounded(futures: Vec<BoxFuture<'_>>, limit: usize) {
    let limit = limit.max(1);
    let mut pending: Vec<Option<BoxFuture<'_>>> = futures.into_iter().map(Some).collect();
    let mut next = 0;
    let mut running: Vec<usize> = Vec::new();
    poll_fn(|cx| {
        loop {
            while running.len() < limit && next < pending.len() {
                running.push(next);
                next += 1;
            }
            let before = running.len();
            running.retain(|&i| match pending[i].as_mut() {
                Some(future) => {
                    if future.as_mut().poll(cx).is_ready() {
                        pending[i] = None;
                        false
                    } else {
                        true
                    }
                }
                None => false,
            });
            if running.is_empty() && next >= pending.len() {
                return Poll::Ready(());
            }
            // Something finished: start the next ones before waiting.
            if running.len() == before || next >= pending.len() {
                return Poll::Pending;
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn at_most_limit_run_at_once_and_all_finish() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let futures: Vec<BoxFuture<'_>> = (0..7)
            .map(|i| {
                let (in_flight, max, done) = (in_flight.clone(), max.clone(), done.clone());
                Box::pin(async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10 + i)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                }) as BoxFuture<'_>
            })
            .collect();
        join_bounded(futures, 3).await;
        assert_eq!(done.load(Ordering::SeqCst), 7);
        assert_eq!(max.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn ready_futures_and_empty_lists_finish() {
        join_bounded(Vec::new(), 0).await;
        let count = AtomicUsize::new(0);
        let futures: Vec<BoxFuture<'_>> = (0..5)
            .map(|_| {
                Box::pin(async {
                    count.fetch_add(1, Ordering::SeqCst);
                }) as BoxFuture<'_>
            })
            .collect();
        join_bounded(futures, 2).await;
        assert_eq!(count.load(Ordering::SeqCst), 5);
    }
}
