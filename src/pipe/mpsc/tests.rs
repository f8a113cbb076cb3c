use super::hooks::{claim_racing, hostile_cursor, hostile_word};
use super::*;
use std::time::{Duration, Instant};

fn take(rx: &mut Consumer) -> Option<Vec<u8>> {
    let rec = rx.peek().unwrap()?;
    let out = rx.payload(&rec).to_vec();
    rx.advance(rec);
    Some(out)
}

#[test]
fn records_arrive_in_claim_order_once_published() {
    let (tx, mut rx) = mpsc(256);
    let tx2 = tx.with_owner(2);
    let mut a = tx.claim(3).unwrap();
    let mut b = tx2.claim(5).unwrap();
    a.payload().copy_from_slice(b"aaa");
    b.payload().copy_from_slice(b"bbbbb");
    assert_eq!(rx.claimant(), Some(0), "the head waits for owner 0");
    b.commit(0);
    assert_eq!(rx.peek().unwrap(), None, "b is behind a, unpublished");
    a.commit(DESCRIPTOR);
    let rec = rx.peek().unwrap().unwrap();
    assert_eq!(rec.flags(), DESCRIPTOR);
    assert_eq!(take(&mut rx).unwrap(), b"aaa");
    assert_eq!(take(&mut rx).unwrap(), b"bbbbb");
    assert_eq!(take(&mut rx), None);
    assert!(rx.caught_up());
    assert!(!rx.claims_pending());
}

#[test]
fn wraps_with_padding_and_payloads_stay_contiguous() {
    let (tx, mut rx) = mpsc(128);
    for round in 0..300u32 {
        let len = (round as usize * 7) % (tx.max_payload() + 1);
        let data = vec![round as u8; len];
        tx.push(&data).unwrap();
        assert_eq!(take(&mut rx).unwrap(), data);
        assert_eq!(take(&mut rx), None);
        rx.release();
    }
}

#[test]
fn full_until_released() {
    let (tx, mut rx) = mpsc(64);
    for i in 0..4 {
        tx.push(&[i; 8]).unwrap();
    }
    assert_eq!(tx.claim(0).unwrap_err(), ClaimError::Full);
    assert_eq!(take(&mut rx).unwrap(), [0; 8]);
    assert_eq!(
        tx.claim(0).unwrap_err(),
        ClaimError::Full,
        "advance alone frees nothing"
    );
    rx.release();
    tx.push(&[4; 8]).unwrap();
    for i in 1..5 {
        assert_eq!(take(&mut rx).unwrap(), [i; 8]);
    }
    assert_eq!(tx.claim(9).unwrap_err(), ClaimError::TooLarge);
}

#[test]
fn dropped_and_shortened_claims_become_padding() {
    let (tx, mut rx) = mpsc(256);
    let mut c = tx.claim(40).unwrap();
    c.payload().fill(0xff);
    drop(c);
    let mut c = tx.claim(40).unwrap();
    c.payload()[..3].copy_from_slice(b"xyz");
    c.commit_len(3, 0);
    tx.push(b"next").unwrap();
    assert_eq!(take(&mut rx).unwrap(), b"xyz");
    assert_eq!(take(&mut rx).unwrap(), b"next");
    assert_eq!(take(&mut rx), None);
    rx.release();
    // The dirty bytes were zeroed: laps later, nothing stale is a header.
    for round in 0..100u8 {
        tx.push(&[round; 17]).unwrap();
        assert_eq!(take(&mut rx).unwrap(), [round; 17]);
        assert_eq!(take(&mut rx), None);
        rx.release();
    }
}

#[test]
fn a_panicking_writer_publishes_padding() {
    let (tx, mut rx) = mpsc(256);
    let tx2 = tx.clone();
    let r = std::thread::spawn(move || {
        let mut c = tx2.claim(16).unwrap();
        c.payload()[0] = 1;
        panic!("writer dies mid-write");
    })
    .join();
    assert!(r.is_err());
    tx.push(b"after").unwrap();
    assert_eq!(take(&mut rx).unwrap(), b"after");
}

#[test]
fn an_abandoned_claim_is_skipped_once_its_owner_is_dead() {
    let (tx, mut rx) = mpsc(256);
    let dead = tx.with_owner(7);
    let mut c = dead.claim(24).unwrap();
    c.payload().fill(0xee);
    std::mem::forget(c); // the process dies mid-write
    tx.push(b"live").unwrap();
    assert_eq!(rx.peek().unwrap(), None);
    assert_eq!(rx.claimant(), Some(7));
    assert!(rx.claims_pending());
    // SAFETY: owner 9 holds nothing; the call checks the mark's owner.
    assert_eq!(unsafe { rx.skip_abandoned(9) }, Ok(false));
    // SAFETY: owner 7's claim was forgotten: nothing writes it again.
    assert_eq!(unsafe { rx.skip_abandoned(7) }, Ok(true));
    assert_eq!(take(&mut rx).unwrap(), b"live");
    rx.release();
    // A publish that lands before the skip wins.
    let c = dead.claim(8).unwrap();
    let pos = c.position();
    c.commit(0);
    // SAFETY: nothing of owner 7 is claimed at the head any more.
    assert_eq!(unsafe { rx.skip_abandoned(7) }, Ok(false));
    assert_eq!(rx.position(), pos);
    assert_eq!(take(&mut rx).unwrap(), [0; 8]);
}

/// Moves both ends a lap on (to position `to`), so that a claim can land
/// beyond head + capacity without crossing the region's end.
fn run_to(tx: &Producer, rx: &mut Consumer, to: u64) {
    while rx.position() < to {
        tx.push(&[0; 8]).unwrap();
        take(rx).unwrap();
        rx.release();
    }
    assert_eq!(rx.position(), to);
}

#[test]
fn an_overshooting_claim_is_taken_back() {
    let (tx, mut rx) = mpsc(256);
    let other = tx.with_owner(1);
    run_to(&tx, &mut rx, 128);
    tx.push(&[1; 56]).unwrap(); // [128, 192)
                                // The room check passes (192 + 24 <= 128 + 256); meanwhile another
                                // producer claims [192, 368): ours lands at [368, 392), past 384.
    let mut held = Vec::new();
    let r = claim_racing(&tx, 16, || {
        for len in [56, 56, 40] {
            held.push(other.claim(len).unwrap());
        }
    });
    assert_eq!(r.err(), Some(ClaimError::Full));
    assert_eq!(rx.ring.header().tail.load(Ordering::Relaxed), 368, "undone");
    for c in held {
        c.commit(0);
    }
    assert_eq!(take(&mut rx).unwrap(), [1; 56]);
    rx.release();
    tx.push(&[3; 16]).unwrap();
    assert_eq!(take(&mut rx).unwrap(), [0; 56]);
    assert_eq!(take(&mut rx).unwrap(), [0; 56]);
    assert_eq!(take(&mut rx).unwrap(), [0; 40]);
    assert_eq!(take(&mut rx).unwrap(), [3; 16]);
    assert_eq!(take(&mut rx), None);
}

#[test]
fn an_overshooting_claim_that_fits_later_is_kept() {
    let (tx, mut rx) = mpsc(256);
    let other = tx.with_owner(1);
    run_to(&tx, &mut rx, 128);
    tx.push(&[1; 56]).unwrap(); // [128, 192)
    let r = claim_racing(&tx, 16, || {
        for len in [56, 56, 40] {
            other.push(&[2; 56][..len]).unwrap();
        }
        // The consumer releases the first record before our add.
        assert_eq!(take(&mut rx).unwrap(), [1; 56]);
        rx.release();
    });
    let mut c = r.unwrap();
    assert_eq!(c.position(), 368);
    c.payload().fill(3);
    c.commit(0);
    for len in [56, 56, 40] {
        assert_eq!(take(&mut rx).unwrap(), &[2; 56][..len]);
    }
    assert_eq!(take(&mut rx).unwrap(), [3; 16]);
}

#[test]
fn hostile_headers_are_corrupt() {
    let (_tx, mut rx) = mpsc(64);
    for word in [
        5u64,                                          // neither LIVE nor CLAIMED
        5 | (0x4000_0001u64 << 32),                    // CLAIMED with junk
        5 | (((LIVE | 0x100) as u64) << 32),           // unknown flag
        100 | ((LIVE as u64) << 32),                   // runs past the end
        (200 - 8) | (((PADDING | LIVE) as u64) << 32), // padding past a lap
    ] {
        hostile_word(&rx, 0, word);
        assert_eq!(rx.peek(), Err(Corrupt), "{word:#x}");
    }
    // Padding after padding to the end of a lap: stops, no endless loop.
    for off in (0..64).step_by(8) {
        hostile_word(&rx, off, padding_word(8));
    }
    assert_eq!(rx.peek(), Ok(None));
    assert_eq!(rx.unreleased(), 64);
    // A claim mark too long to skip.
    let mut rx2 = mpsc(64).1;
    hostile_word(&rx2, 0, 200 | ((CLAIMED as u64) << 32));
    // SAFETY: owner 0 holds no claim of this ring.
    assert_eq!(unsafe { rx2.skip_abandoned(0) }, Err(Corrupt));
}

#[test]
fn hostile_cursors_are_corrupt() {
    let (tx, mut rx) = mpsc(64);
    // Fill the ring, so that the producer loads the head: 32.
    for _ in 0..4 {
        tx.push(&[1; 8]).unwrap();
    }
    take(&mut rx).unwrap();
    take(&mut rx).unwrap();
    rx.release();
    for _ in 0..2 {
        tx.push(&[1; 8]).unwrap();
    }
    // A head that goes back.
    hostile_cursor(&rx, 1, 8);
    assert_eq!(tx.claim(8).err(), Some(ClaimError::Corrupt));
    // A tail behind the cached head.
    hostile_cursor(&rx, 1, 32);
    hostile_cursor(&rx, 0, 16);
    assert_eq!(tx.claim(8).err(), Some(ClaimError::Corrupt));
    // A tail beyond any honest lead.
    hostile_cursor(&rx, 0, 1 << 50);
    assert_eq!(tx.claim(8).err(), Some(ClaimError::Corrupt));
    // A misaligned tail (found by the fuzzer: an atomic at a misaligned
    // address).
    hostile_cursor(&rx, 0, 98);
    assert_eq!(tx.claim(8).err(), Some(ClaimError::Corrupt));
    // Honest again: works again (nothing hostile was kept).
    hostile_cursor(&rx, 0, 96);
    for _ in 0..4 {
        take(&mut rx).unwrap();
    }
    rx.release();
    tx.push(&[2; 8]).unwrap();
    assert_eq!(take(&mut rx).unwrap(), [2; 8]);
}

/// Producer `p`'s `seq`th record: its length and payload byte `k`.
fn len_of(p: u32, seq: u32, max: usize) -> usize {
    let x = seq.wrapping_mul(2_654_435_761).wrapping_add(p * 97);
    8 + (x >> 7) as usize % (max - 7)
}
fn byte_of(p: u32, seq: u32, k: usize) -> u8 {
    (p as usize * 31 + seq as usize * 7 + k) as u8
}

/// Several threads (a different number of handles than threads: two share
/// one) into one consumer through a small ring, sizes mixed: every record
/// arrives exactly once, intact, in each producer's order.
#[test]
fn many_producers_nothing_lost_duplicated_or_reordered() {
    stress::<4>(2048, 20_000);
}

/// More threads than this machine's cores, a ring that holds a dozen
/// records: claims overshoot, refresh the head and wait all the time (the
/// bench found a fresh head compared with a stale tail taken for corrupt).
#[test]
fn oversubscribed_producers_on_a_tiny_ring() {
    stress::<8>(512, 5_000);
}

fn stress<const PRODUCERS: u32>(capacity: usize, n: u32) {
    #[allow(non_snake_case)]
    let N = n;
    let (tx, mut rx) = mpsc(capacity);
    let max = tx.max_payload();
    let deadline = Instant::now() + Duration::from_secs(60);
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = if p % 4 == 3 {
                tx.clone()
            } else {
                tx.with_owner(p as u16)
            };
            std::thread::spawn(move || {
                for seq in 0..N {
                    let len = len_of(p, seq, max);
                    let mut c = loop {
                        match tx.claim(len) {
                            Ok(c) => break c,
                            Err(ClaimError::Full) => {
                                assert!(Instant::now() < deadline, "producer {p} stuck at {seq}");
                                std::thread::yield_now();
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    };
                    let buf = c.payload();
                    buf[..4].copy_from_slice(&p.to_le_bytes());
                    buf[4..8].copy_from_slice(&seq.to_le_bytes());
                    for (k, b) in buf.iter_mut().enumerate().skip(8) {
                        *b = byte_of(p, seq, k);
                    }
                    if seq % 5 == 4 {
                        drop(c); // padding: skipped by the consumer
                        continue;
                    }
                    c.commit(0);
                }
            })
        })
        .collect();
    let mut next = vec![0u32; PRODUCERS as usize];
    let expected = |_p: u32, seq: u32| seq % 5 != 4 && seq < N;
    let mut got = 0u64;
    let total: u64 = (0..PRODUCERS)
        .map(|p| (0..N).filter(|&s| expected(p, s)).count() as u64)
        .sum();
    while got < total {
        match rx.peek().unwrap() {
            Some(rec) => {
                let buf = rx.payload(&rec);
                let p = u32::from_le_bytes(buf[..4].try_into().unwrap());
                let seq = u32::from_le_bytes(buf[4..8].try_into().unwrap());
                assert!(p < PRODUCERS);
                let mut want = next[p as usize];
                while !expected(p, want) {
                    want += 1;
                }
                assert_eq!(seq, want, "producer {p}: lost, duplicated or reordered");
                assert_eq!(buf.len(), len_of(p, seq, max));
                assert!(buf
                    .iter()
                    .enumerate()
                    .skip(8)
                    .all(|(k, &b)| b == byte_of(p, seq, k)));
                next[p as usize] = seq + 1;
                rx.advance(rec);
                got += 1;
                if rx.caught_up() || rx.unreleased() >= capacity / 4 {
                    rx.release();
                }
            }
            None => {
                rx.release();
                assert!(Instant::now() < deadline, "consumer stuck at {got}/{total}");
                std::hint::spin_loop();
            }
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    rx.release();
    assert_eq!(rx.peek().unwrap(), None);
}

/// The slip (as the one-writer ring's): it waits for the producers to get
/// `SLIP` ahead of the head, and ends once they stop writing: nothing at
/// the head at all, or a burst that ended.
#[test]
fn a_slip_waits_for_the_producers_to_get_ahead() {
    let (tx, mut rx) = mpsc(1 << 18);
    assert!(rx.slip(), "nothing published at all: the stream ended");
    tx.push(b"m").unwrap();
    assert!(rx.slip(), "a burst that ended");
    // Some 40 KB: well past the slip's distance (16 KiB).
    for _ in 0..40 {
        tx.push(&[1; 1000]).unwrap();
    }
    assert!(rx.slip(), "the producer is ahead");
    // Read past it all: nothing published at the head again.
    while take(&mut rx).is_some() {}
    rx.release();
    assert!(rx.slip());
}
