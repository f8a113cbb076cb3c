//! loom models of the SPSC frame ring (`zeroring::ring`).
//!
//! Every model uses the smallest ring (64 bytes), so a handful of records
//! forces the producer to wrap with a PADDING record and to wait for the
//! consumer's release. Under `--cfg loom` every 8-byte word of the region has
//! a tracked cell, so a missing happens-before edge between a payload write
//! and its read (or a read and the overwrite after release) is reported as a
//! data race; a wrong byte or order fails the byte-by-byte checks; a release
//! policy that can stall both sides runs out of loom branches.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!       CARGO_TARGET_DIR=target/loom cargo test -p zeroring-loom-tests --release`

#![cfg(loom)]

use loom::thread;
use zeroring::ring::{self, MORE};
use zeroring_loom_tests::{byte, check_record, model, push_spin, put_spin};

/// Records `(tag, payload len)`. Under loom a line is 16 bytes: in the
/// 64-byte region record 0 takes `[0,32)`; record 1 `[32,56)` is packed
/// behind it or not, depending on how far behind the consumer is seen; the
/// later ones wrap with PADDING and need earlier ones released.
const WRAPPING: [(u8, usize); 4] = [(0, 20), (1, 12), (2, 3), (3, 17)];

/// Records published one by one arrive intact and in order across the wrap,
/// and every byte read happens-after its write and happens-before its
/// overwrite, with the consumer releasing in batches (every second record,
/// or when it has caught up with the tail it last loaded).
#[test]
fn wrap_padding_and_batched_release() {
    wrap_model(false);
}

/// The same with every record sent by `push` (claim, copy, commit and
/// publish in one step).
#[test]
fn wrap_padding_and_batched_release_by_push() {
    wrap_model(true);
}

fn wrap_model(by_push: bool) {
    model(move || wrap_once(by_push));
}

fn wrap_once(by_push: bool) {
    {
        let (mut tx, mut rx) = ring::ring(ring::MIN_CAPACITY);
        let consumer = thread::spawn(move || {
            let mut next = 0;
            while next < WRAPPING.len() {
                match rx.peek().expect("ring corrupt") {
                    None => {
                        // The batching policy must never leave records
                        // unreleased while we wait: the producer may be
                        // waiting for exactly that room.
                        assert_eq!(rx.unreleased(), 0, "waiting while holding records");
                        thread::yield_now();
                    }
                    Some(rec) => {
                        let (tag, len) = WRAPPING[next];
                        check_record(&rx, &rec, tag, len, 0);
                        rx.advance(rec);
                        next += 1;
                        if next % 2 == 0 || rx.caught_up() {
                            rx.release();
                        }
                    }
                }
            }
            assert_eq!(rx.peek().unwrap(), None, "nothing beyond what was sent");
        });

        for &(tag, len) in &WRAPPING {
            if by_push {
                push_spin(&mut tx, tag, len);
            } else {
                put_spin(&mut tx, tag, len, 0);
                tx.publish();
            }
        }
        consumer.join().unwrap();
        // Joined: the consumer's last release is visible.
        assert_eq!(tx.queued_msgs(1), 0);
    }
}

/// With the batch's first header stored `Relaxed`, the consumer can read
/// a payload before it is written: loom reports the race.
#[test]
#[should_panic]
fn broken_publish_ordering_is_caught() {
    model(|| {
        ring::breaks::set(ring::breaks::PUBLISH_RELAXED);
        wrap_once(true);
    });
}

/// With the released head loaded `Relaxed`, the producer can overwrite
/// bytes the consumer is still reading: loom reports the race.
#[test]
#[should_panic]
fn broken_head_ordering_is_caught() {
    model(|| {
        ring::breaks::set(ring::breaks::HEAD_RELAXED);
        wrap_once(false);
    });
}

/// Without the consumer's zeroing, an old lap's header is taken for a new
/// record: a wrong record, or a corrupt ring.
#[test]
#[should_panic]
fn missing_zeroing_is_caught() {
    model(|| {
        ring::breaks::set(ring::breaks::NO_ZEROING);
        wrap_once(true);
    });
}

/// Bodies sent by `push_delimited`, each behind an empty frame: 32, 24
/// and 32 bytes of records in the 64-byte region, so the third pads to
/// the start and needs the first released.
const DELIMITED: [(u8, usize); 3] = [(30, 12), (31, 4), (32, 12)];

/// A message of an empty frame and a body sent by `push_delimited` (one
/// store publishes both) is seen whole or not at all, intact, across the
/// wrap.
#[test]
fn delimited_messages_arrive_whole() {
    model(delimited_once);
}

/// With the delimiter's header stored `Relaxed`, the consumer can read the
/// body before it is written: loom reports the race.
#[test]
#[should_panic]
fn broken_delimited_publish_ordering_is_caught() {
    model(|| {
        ring::breaks::set(ring::breaks::PUBLISH_RELAXED);
        delimited_once();
    });
}

fn delimited_once() {
    let (mut tx, mut rx) = ring::ring(ring::MIN_CAPACITY);
    let consumer = thread::spawn(move || {
        for &(tag, len) in &DELIMITED {
            let delimiter = loop {
                match rx.peek().expect("ring corrupt") {
                    Some(rec) => break rec,
                    None => {
                        assert_eq!(rx.unreleased(), 0, "waiting while holding records");
                        thread::yield_now();
                    }
                }
            };
            check_record(&rx, &delimiter, tag, 0, MORE);
            rx.advance(delimiter);
            let body = rx
                .peek()
                .expect("ring corrupt")
                .expect("the body is published with its delimiter");
            check_record(&rx, &body, tag, len, 0);
            rx.advance(body);
            rx.release();
        }
        assert_eq!(rx.peek().unwrap(), None, "nothing beyond what was sent");
    });
    for &(tag, len) in &DELIMITED {
        let data: Vec<u8> = (0..len).map(|j| byte(tag, j)).collect();
        loop {
            match tx.push_delimited(&data) {
                Ok(()) => break,
                Err(ring::ClaimError::Full) => thread::yield_now(),
                Err(e) => panic!("push_delimited({len}) for body {tag}: {e:?}"),
            }
        }
    }
    consumer.join().unwrap();
    assert_eq!(tx.queued_msgs(1), 0);
}

/// Messages as lists of frames `(tag, payload len, flags)`.
///
/// - `m0` `[0,24)`.
/// - `m1` `[24,40) [40,56)`.
/// - `m2` wraps: PADDING `[56,64)`, `[64,88)` (needs `m0` released), then
///   its last frame `[88,104)` (needs `m1`'s first frame released) is
///   claimed while its first frame is committed but unpublished.
const MULTIPART: [&[(u8, usize, u32)]; 3] = [
    &[(10, 12, 0)],
    &[(11, 4, MORE), (12, 4, 0)],
    &[(13, 12, MORE), (14, 4, 0)],
];

/// Frames committed with MORE and published once are seen all or none: the
/// consumer never finds the ring empty in the middle of a message, even when
/// the producer had to wait for room between the frames. A frame committed
/// and rolled back is never seen at all.
#[test]
fn multipart_all_or_nothing() {
    model(|| {
        let (mut tx, mut rx) = ring::ring(ring::MIN_CAPACITY);
        let frames: Vec<(u8, usize, u32)> =
            MULTIPART.iter().flat_map(|m| m.iter().copied()).collect();
        let total = frames.len();
        let consumer = thread::spawn(move || {
            let mut next = 0;
            let mut in_message = false;
            while next < total {
                match rx.peek().expect("ring corrupt") {
                    None => {
                        assert!(
                            !in_message,
                            "saw only part of a message (frame {next} missing)"
                        );
                        assert_eq!(rx.unreleased(), 0, "waiting while holding records");
                        thread::yield_now();
                    }
                    Some(rec) => {
                        let (tag, len, flags) = frames[next];
                        check_record(&rx, &rec, tag, len, flags);
                        in_message = rec.more();
                        rx.advance(rec);
                        next += 1;
                        if next % 2 == 0 || rx.caught_up() {
                            rx.release();
                        }
                    }
                }
            }
            assert!(!in_message);
            assert_eq!(rx.peek().unwrap(), None);
        });

        for (i, msg) in MULTIPART.iter().enumerate() {
            if i == 1 {
                // A frame that is committed, then abandoned: never visible.
                put_spin(&mut tx, 99, 4, MORE);
                tx.rollback();
                assert_eq!(tx.unpublished(), 0);
            }
            for &(tag, len, flags) in msg.iter() {
                put_spin(&mut tx, tag, len, flags);
            }
            tx.publish();
        }
        consumer.join().unwrap();
        assert_eq!(tx.queued_msgs(1), 0);
    });
}

/// Message limit of the HWM model.
const LIMIT: u64 = 2;

/// Messages of the HWM model, as frames `(tag, payload len, flags)`; one is
/// multipart and must count once.
const HWM_MSGS: [&[(u8, usize, u32)]; 4] = [
    &[(20, 1, 0)],
    &[(21, 8, MORE), (22, 3, 0)],
    &[(23, 5, 0)],
    &[(24, 2, 0)],
];

/// The producer starts a message only while `below(LIMIT)`, and the count it
/// reads back follows the consumer's releases consistently: never more than
/// `LIMIT` unreleased after a publish, never a released count that goes
/// backwards or exceeds what was published, and exactly 0 once the consumer
/// is done. Seen from the consumer, it never holds more than `LIMIT`
/// messages advanced past but unreleased, although it releases only when it
/// has caught up (the largest batches the policy allows).
#[test]
fn hwm_follows_releases() {
    model(|| {
        let (mut tx, mut rx) = ring::ring(ring::MIN_CAPACITY);
        let frames: Vec<(u8, usize, u32)> =
            HWM_MSGS.iter().flat_map(|m| m.iter().copied()).collect();
        let total = frames.len();
        let consumer = thread::spawn(move || {
            let mut next = 0;
            while next < total {
                match rx.peek().expect("ring corrupt") {
                    None => {
                        assert_eq!(rx.unreleased_msgs(), 0, "waiting while holding messages");
                        thread::yield_now();
                    }
                    Some(rec) => {
                        let (tag, len, flags) = frames[next];
                        check_record(&rx, &rec, tag, len, flags);
                        rx.advance(rec);
                        next += 1;
                        assert!(
                            rx.unreleased_msgs() <= LIMIT,
                            "{} messages unreleased, limit {LIMIT}",
                            rx.unreleased_msgs()
                        );
                        if rx.caught_up() {
                            rx.release();
                        }
                    }
                }
            }
        });

        let mut sent = 0u64;
        let mut done_seen = 0u64;
        for msg in HWM_MSGS.iter() {
            while !tx.below(LIMIT, 1) {
                thread::yield_now();
            }
            for &(tag, len, flags) in msg.iter() {
                put_spin(&mut tx, tag, len, flags);
            }
            tx.publish();
            sent += 1;
            let queued = tx.queued_msgs(1);
            assert!(
                queued <= LIMIT,
                "{queued} queued after a publish, limit {LIMIT}"
            );
            assert!(queued <= sent);
            let done = sent - queued;
            assert!(
                done >= done_seen,
                "released count went back from {done_seen} to {done}"
            );
            done_seen = done;
        }
        consumer.join().unwrap();
        assert_eq!(
            tx.queued_msgs(1),
            0,
            "all released once the consumer is done"
        );
        assert!(tx.below(1, 1));
    });
}
