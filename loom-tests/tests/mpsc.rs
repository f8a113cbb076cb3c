//! loom models of the multi-producer frame ring (`zeroring::mpsc`).
//!
//! Every 8-byte word of the region has a tracked cell under `--cfg loom`,
//! so a payload read not ordered after its write, or a write (a claim, the
//! consumer's zeroing) not ordered after the last read of the lap before,
//! is a data race loom reports; a lost, duplicated, reordered or garbled
//! record fails the checks below; a consumer or producer that can wait
//! forever runs out of loom's branches.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!       CARGO_TARGET_DIR=target/loom cargo test -p zeroring-loom-tests --release`

#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use zeroring::mpsc::{self, ClaimError, Consumer, Producer};
use zeroring_loom_tests::model;

/// Producer `p`'s record `i`: `len >= 2` bytes, tagged with `p` and `i`
/// in the first two, then bytes that differ between records and
/// positions.
fn record(p: u8, i: u8, len: usize) -> Vec<u8> {
    let mut data: Vec<u8> = (0..len)
        .map(|j| p.wrapping_mul(67) ^ i.wrapping_mul(29) ^ (j as u8 + 1))
        .collect();
    data[0] = p;
    data[1] = i;
    data
}

/// Pushes producer `p`'s records (`lens`), yielding while the ring is full.
fn produce(tx: &Producer, p: u8, lens: &[usize]) {
    for (i, &len) in lens.iter().enumerate() {
        let data = record(p, i as u8, len);
        loop {
            match tx.push(&data) {
                Ok(()) => break,
                Err(ClaimError::Full) => thread::yield_now(),
                Err(e) => panic!("producer {p} record {i}: {e:?}"),
            }
        }
    }
}

/// Reads `total` records, each tagged with its producer and index in its
/// first two bytes; checks every byte and each producer's order. Releases
/// every second record, or when caught up, and never waits holding some.
/// `stalled` is asked what to do when the head waits on a claim.
fn consume(
    rx: &mut Consumer,
    lens: &[&[usize]],
    total: usize,
    mut stalled: impl FnMut(&mut Consumer),
) {
    let mut next = vec![0usize; lens.len()];
    let mut got = 0;
    while got < total {
        match rx.peek().expect("ring corrupt") {
            None => {
                rx.release();
                stalled(rx);
                thread::yield_now();
            }
            Some(rec) => {
                let buf = rx.payload(&rec);
                let (p, i) = (buf[0] as usize, buf[1] as usize);
                assert!(p < lens.len(), "no producer {p}");
                assert_eq!(i, next[p], "producer {p}: record lost or reordered");
                assert_eq!(buf, record(p as u8, i as u8, lens[p][i]), "bytes");
                next[p] += 1;
                rx.advance(rec);
                got += 1;
                if got % 2 == 0 || rx.caught_up() {
                    rx.release();
                }
            }
        }
    }
    rx.release();
    assert_eq!(rx.peek().unwrap(), None, "nothing beyond what was sent");
}

/// Two producers, two records each, into a 64-byte ring that already holds
/// one unread record: the last claims wait for the consumer, lap the
/// region (a claim crossing its end becomes padding) and land on bytes
/// the consumer zeroed.
const TWO: [&[usize]; 2] = [&[8, 2], &[2, 8]];

fn two_once() {
    let (tx, mut rx) = mpsc::mpsc(mpsc::MIN_CAPACITY);
    // A first record of its own, so the producers' records straddle the lap.
    tx.push(&[9; 8]).unwrap();
    let tx1 = tx.with_owner(1);
    let t = thread::spawn(move || produce(&tx1, 1, TWO[1]));
    let c = thread::spawn(move || {
        let rec = rx.peek().unwrap();
        if let Some(rec) = rec {
            assert_eq!(rx.payload(&rec), [9; 8]);
            rx.advance(rec);
        } else {
            loop {
                if let Some(rec) = rx.peek().unwrap() {
                    assert_eq!(rx.payload(&rec), [9; 8]);
                    rx.advance(rec);
                    break;
                }
                thread::yield_now();
            }
        }
        consume(&mut rx, &TWO, 4, |_| {});
    });
    produce(&tx, 0, TWO[0]);
    t.join().unwrap();
    c.join().unwrap();
}

#[test]
fn two_producers_wrap_and_reuse() {
    model(two_once);
}

/// With the `LIVE` header stored `Relaxed`, the consumer can read a
/// payload before it is written: loom reports the race.
#[test]
#[should_panic]
fn broken_publish_ordering_is_caught() {
    model(|| {
        mpsc::breaks::set(mpsc::breaks::PUBLISH_RELAXED);
        two_once();
    });
}

/// With the released head loaded `Relaxed`, a producer's claim can write
/// bytes the consumer is still reading or zeroing: loom reports the race.
#[test]
#[should_panic]
fn broken_head_ordering_is_caught() {
    model(|| {
        mpsc::breaks::set(mpsc::breaks::HEAD_RELAXED);
        two_once();
    });
}

/// Without the consumer's zeroing, last lap's header is taken for a new
/// record: a wrong record, a corrupt ring or a race.
#[test]
#[should_panic]
fn missing_zeroing_is_caught() {
    model(|| {
        mpsc::breaks::set(mpsc::breaks::NO_ZEROING);
        two_once();
    });
}

/// Three producers, one record each, into a 128-byte ring holding two
/// unread records (48 bytes): two claims fit, the third may land beyond
/// the consumer's head plus the capacity, and is taken back or kept as
/// the consumer makes room, whichever comes first.
///
/// Four threads: at two preemptions loom explores 2.5 M executions (three
/// minutes here), too long for CI's step, so this model runs with one
/// preemption (every interleaving that switches threads at one point of
/// its own choosing besides the yields) unless `MPSC_LOOM_FULL` is set.
const THREE: [&[usize]; 3] = [&[24], &[24], &[24]];

#[test]
fn three_producers_overshoot() {
    let full = std::env::var_os("MPSC_LOOM_FULL").is_some();
    let mut b = loom::model::Builder::new();
    if !full || b.preemption_bound.is_none() {
        b.preemption_bound = Some(if full { 2 } else { 1 });
    }
    let start = std::time::Instant::now();
    b.check(|| {
        let (tx, mut rx) = mpsc::mpsc(128);
        tx.push(&[9; 24]).unwrap();
        tx.push(&[9; 8]).unwrap();
        let ts: Vec<_> = (1..3u8)
            .map(|p| {
                let tx = tx.with_owner(p as u16);
                thread::spawn(move || produce(&tx, p, THREE[p as usize]))
            })
            .collect();
        let c = thread::spawn(move || {
            for len in [24, 8] {
                let rec = loop {
                    if let Some(rec) = rx.peek().unwrap() {
                        break rec;
                    }
                    thread::yield_now();
                };
                assert_eq!(rx.payload(&rec), vec![9; len]);
                rx.advance(rec);
            }
            consume(&mut rx, &THREE, 3, |_| {});
        });
        produce(&tx, 0, THREE[0]);
        for t in ts {
            t.join().unwrap();
        }
        c.join().unwrap();
    });
    eprintln!(
        "three_producers_overshoot: preemption bound {:?}, {:.2?}",
        b.preemption_bound,
        start.elapsed()
    );
}

/// A producer (owner 7) claims a record, writes half of it and stops for
/// good (its process is killed: no unwinding, the claim stays marked);
/// another producer keeps sending. The consumer, told of the death (the
/// flag stands for the connection's end), skips the dead claim with its
/// CAS and reads every live record, whether the dead claim came first or
/// between them.
fn stopped_writer(skip_before_death: bool) {
    model(move || {
        let (tx, mut rx) = mpsc::mpsc(mpsc::MIN_CAPACITY);
        let dead = Arc::new(AtomicBool::new(false));
        let d = dead.clone();
        let victim = tx.with_owner(7);
        let v = thread::spawn(move || {
            let mut c = victim.claim(8).unwrap();
            c.payload()[..4].fill(0xee);
            std::mem::forget(c);
            d.store(true, Ordering::Release);
        });
        let live: [&[usize]; 1] = [&[8, 8]];
        let c = thread::spawn(move || {
            consume(&mut rx, &live, 2, |rx| {
                if rx.claimant() == Some(7) && (skip_before_death || dead.load(Ordering::Acquire)) {
                    // SAFETY (of the model): owner 7 has stopped for good
                    // (the flag is set after its last write), unless the
                    // model is the broken one.
                    let skipped = unsafe { rx.skip_abandoned(7) }.unwrap();
                    assert!(skipped, "owner 7's mark is ours to skip");
                }
            });
        });
        produce(&tx, 0, live[0]);
        v.join().unwrap();
        c.join().unwrap();
    });
}

#[test]
fn a_stopped_writer_is_skipped() {
    stopped_writer(false);
}

/// Skipping a claim whose writer has not stopped (by a timeout, say) lets
/// its writes race with the consumer's zeroing: loom reports it.
#[test]
#[should_panic]
fn skipping_a_live_writer_is_caught() {
    stopped_writer(true);
}
