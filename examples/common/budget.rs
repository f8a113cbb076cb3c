//! The messages many producer threads have yet to send, taken a batch at a
//! time, so that every producer sends until the count is reached. A fixed
//! share each would time the slowest thread: on a machine with fewer cores
//! than threads, those sharing a core with the consumer send less, and the
//! others would finish first and leave their cores idle. Shared by
//! `client_thr` and `benches/mpsc.rs`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

/// Messages left to send, for any number of producer threads.
#[derive(Default)]
pub struct Budget(AtomicU64);

impl Budget {
    /// Messages a producer takes at a time: the shared counter's line moves
    /// between cores once per this many messages.
    pub const TAKE: u64 = 256;

    /// A budget of `n` messages.
    pub fn new(n: u64) -> Self {
        Budget(AtomicU64::new(n))
    }

    /// Sets the messages left to `n` (a new sample).
    pub fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// Up to [`TAKE`](Self::TAKE) messages to send; 0 once all are taken.
    pub fn take(&self) -> u64 {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                (left != 0).then(|| left.saturating_sub(Self::TAKE))
            })
            .map_or(0, |left| left.min(Self::TAKE))
    }
}
