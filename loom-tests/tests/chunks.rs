//! loom model of the chunk hand-back (`zeroring::ledger`): a writer puts
//! frames into a small pool of chunks and their descriptors into a ring;
//! it reuses a chunk only once the ledger says the reader released the
//! record that named it. Each chunk is a tracked cell, so a reuse that is
//! not ordered after the reader's last read of it is reported as a data
//! race, and a stale or early overwrite fails the reader's check.
//!
//! The reader writes nothing about chunks: the ring's release is the only
//! signal, as between processes, where it is all a writer can trust.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!       CARGO_TARGET_DIR=target/loom cargo test -p zeroring-loom-tests --release`

#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use zeroring::ledger::Ledger;
use zeroring::ring::{self, ClaimError, DESCRIPTOR, MORE};
use zeroring_loom_tests::model;

/// Chunks in the pool: fewer than frames, so the writer must reuse them.
const CHUNKS: usize = 2;
/// Frames sent, each `(tag, more)`: the pair in the middle is one message
/// of two chunk frames, published together.
const FRAMES: [(u64, bool); 4] = [(1, false), (2, true), (3, false), (4, false)];

struct Pool {
    data: [UnsafeCell<u64>; CHUNKS],
}

// SAFETY: every access to `data` goes through loom's cells, which check
// that accesses are ordered; the model is what is under test.
unsafe impl Sync for Pool {}

/// Frames reach the reader intact through reused chunks, and no chunk is
/// rewritten before the reader's last read of it happened (loom's race
/// detector), whatever the interleaving and however the reader batches its
/// releases.
#[test]
fn chunks_are_reused_only_after_release() {
    model(|| {
        let pool = Arc::new(Pool {
            data: [UnsafeCell::new(0), UnsafeCell::new(0)],
        });
        let (mut tx, mut rx) = ring::ring(ring::MIN_CAPACITY);
        let reader_pool = pool.clone();
        let reader = thread::spawn(move || {
            let mut next = 0;
            while next < FRAMES.len() {
                match rx.peek().expect("ring corrupt") {
                    None => {
                        assert_eq!(rx.unreleased(), 0, "waiting while holding records");
                        thread::yield_now();
                    }
                    Some(rec) => {
                        assert_ne!(rec.flags() & DESCRIPTOR, 0);
                        let chunk = rx.payload(&rec)[0] as usize;
                        let (tag, more) = FRAMES[next];
                        reader_pool.data[chunk].with(|p| {
                            // SAFETY: loom checks this read against the
                            // writer's writes of the chunk.
                            assert_eq!(unsafe { *p }, tag, "frame {next} in chunk {chunk}")
                        });
                        assert_eq!(rec.more(), more);
                        rx.advance(rec);
                        next += 1;
                        if !rec.more() && (next % 2 == 1 || rx.caught_up()) {
                            rx.release();
                        }
                    }
                }
            }
            rx.release();
        });

        let mut free: Vec<u32> = (0..CHUNKS as u32).collect();
        let mut ledger = Ledger::default();
        for (tag, more) in FRAMES {
            let chunk = loop {
                if let Some(c) = free.pop() {
                    break c;
                }
                ledger.reclaim(tx.released_head(), |c| free.push(c));
                if free.is_empty() {
                    thread::yield_now();
                }
            };
            pool.data[chunk as usize].with_mut(|p| {
                // SAFETY: loom checks this write against the reader's reads.
                unsafe { *p = tag }
            });
            loop {
                match tx.claim(1) {
                    Ok(buf) => {
                        buf[0] = chunk as u8;
                        break;
                    }
                    Err(ClaimError::Full) => thread::yield_now(),
                    Err(e) => panic!("claim: {e:?}"),
                }
            }
            tx.commit(1, DESCRIPTOR | if more { MORE } else { 0 });
            ledger.push(tx.position(), chunk);
            if !more {
                tx.publish();
                ledger.publish(tx.published_position());
            }
        }
        reader.join().unwrap();
        // Joined: the reader released everything; every chunk comes back.
        ledger.reclaim(tx.released_head(), |c| free.push(c));
        assert!(ledger.is_empty());
        assert_eq!(free.len(), CHUNKS);
    });
}

/// A rolled-back frame's chunk comes back at once and is never seen; the
/// published ones come back only through the reader.
#[test]
fn rollback_returns_only_unpublished_chunks() {
    model(|| {
        let (mut tx, mut rx) = ring::ring(ring::MIN_CAPACITY);
        let mut ledger = Ledger::default();
        let mut freed = Vec::new();
        tx.claim(1).unwrap()[0] = 0;
        tx.commit(1, DESCRIPTOR);
        ledger.push(tx.position(), 0);
        tx.publish();
        ledger.publish(tx.published_position());
        tx.claim(1).unwrap()[0] = 1;
        tx.commit(1, DESCRIPTOR | MORE);
        ledger.push(tx.position(), 1);
        let reader = thread::spawn(move || {
            loop {
                if let Some(rec) = rx.peek().unwrap() {
                    assert_eq!(rx.payload(&rec)[0], 0);
                    rx.advance(rec);
                    rx.release();
                    break;
                }
                thread::yield_now();
            }
            assert_eq!(rx.peek().unwrap(), None);
        });
        tx.rollback();
        ledger.rollback(|c| freed.push(c));
        assert_eq!(freed, [1]);
        // A head read before or after the release: chunk 0 at most.
        ledger.reclaim(tx.released_head(), |c| freed.push(c));
        reader.join().unwrap();
        ledger.reclaim(tx.released_head(), |c| freed.push(c));
        assert_eq!(freed, [1, 0]);
    });
}
