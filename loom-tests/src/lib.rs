//! Helpers shared by the loom models in `tests/`.
//!
//! Without `--cfg loom` this crate is empty; the models themselves live in
//! `tests/ring.rs`, `tests/mpsc.rs`, `tests/chunks.rs`, `tests/doorbell.rs`
//! and `tests/threadsafe.rs` and only build under
//! `RUSTFLAGS="--cfg loom"`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p zeroring-loom-tests --release
//! ```
//!
//! To see a failing interleaving, add `LOOM_LOG=trace LOOM_LOCATION=1` and
//! select the one test.

#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};
use zeroring::ring::{ClaimError, Consumer, Producer, Record};

/// Preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
pub const DEFAULT_PREEMPTIONS: usize = 2;

/// Runs `f` under loom with a bounded number of preemptions (from
/// `LOOM_MAX_PREEMPTIONS`, else [`DEFAULT_PREEMPTIONS`]), so every model
/// finishes in seconds. Prints how many executions were explored (visible
/// with `--nocapture`).
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    if std::env::var_os("LOOM_LOG").is_some() {
        // loom's own entry point installs the tracing subscriber that prints
        // the interleaving (LOOM_LOG=trace, with LOOM_LOCATION=1). It applies
        // no default bound: set LOOM_MAX_PREEMPTIONS as well.
        return loom::model(f);
    }
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let start = std::time::Instant::now();
    b.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    eprintln!(
        "{}: {} executions, preemption bound {:?}, {:.2?}",
        std::thread::current().name().unwrap_or("model"),
        runs.load(Ordering::Relaxed),
        b.preemption_bound,
        start.elapsed()
    );
}

/// Byte `j` of the payload of record `tag`: differs between records and
/// between positions, so a torn, stale or misplaced byte is caught.
pub fn byte(tag: u8, j: usize) -> u8 {
    tag.wrapping_mul(41).wrapping_add(j as u8).wrapping_add(1)
}

/// Claims `len` bytes, fills them with record `tag`'s pattern and commits
/// with `flags`, yielding to the consumer while the ring is full. Does not
/// publish.
pub fn put_spin(tx: &mut Producer, tag: u8, len: usize, flags: u32) {
    loop {
        match tx.claim(len) {
            Ok(buf) => {
                for (j, b) in buf.iter_mut().enumerate() {
                    *b = byte(tag, j);
                }
                break;
            }
            Err(ClaimError::Full) => loom::thread::yield_now(),
            Err(e) => panic!("claim({len}) for record {tag}: {e:?}"),
        }
    }
    tx.commit(len, flags);
}

/// [`put_spin`] and publish, by `Producer::push`.
pub fn push_spin(tx: &mut Producer, tag: u8, len: usize) {
    let data: Vec<u8> = (0..len).map(|j| byte(tag, j)).collect();
    loop {
        match tx.push(&data) {
            Ok(()) => return,
            Err(ClaimError::Full) => loom::thread::yield_now(),
            Err(e) => panic!("push({len}) for record {tag}: {e:?}"),
        }
    }
}

/// Checks that `rec` is record `tag` of `len` bytes with `flags`, byte by byte.
pub fn check_record(rx: &Consumer, rec: &Record, tag: u8, len: usize, flags: u32) {
    assert_eq!(rec.len(), len, "length of record {tag}");
    assert_eq!(rec.flags(), flags, "flags of record {tag}");
    for (j, &b) in rx.payload(rec).iter().enumerate() {
        assert_eq!(b, byte(tag, j), "byte {j} of record {tag}");
    }
}
