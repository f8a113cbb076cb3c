//! PUSH/PULL over inproc: delivery, round-robin, fair-queueing, high-water
//! marks, timeouts, connect-before-bind, many senders, peers going away.

mod common;
use common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use zeroring::{Context, Error, SocketType::*, DONTWAIT};

#[test]
fn delivers_in_order() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://order");
    for i in 0..1000u32 {
        push.send(i.to_le_bytes(), 0).unwrap();
    }
    for i in 0..1000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn connect_before_bind_queues_then_delivers() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.connect("inproc://late-bind").unwrap();
    for i in 0..10u8 {
        push.send([i], 0).unwrap();
    }
    let pull = socket(&ctx, Pull);
    pull.bind("inproc://late-bind").unwrap();
    for i in 0..10u8 {
        assert_eq!(pull.recv_bytes(0).unwrap(), [i]);
    }
}

#[test]
fn round_robin_over_pullers() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.bind("inproc://rr").unwrap();
    let pulls: Vec<_> = (0..3)
        .map(|_| {
            let p = socket(&ctx, Pull);
            p.connect("inproc://rr").unwrap();
            p
        })
        .collect();
    for i in 0..30u8 {
        push.send([i], 0).unwrap();
    }
    for (k, p) in pulls.iter().enumerate() {
        let got: Vec<u8> = (0..10).map(|_| p.recv_bytes(0).unwrap()[0]).collect();
        assert!(matches!(p.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
        // Each puller got every third message, in order.
        assert!(
            got.windows(2).all(|w| w[1] == w[0] + 3),
            "puller {k}: {got:?}"
        );
    }
}

#[test]
fn round_robin_skips_a_full_peer() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.bind("inproc://rr-full").unwrap();
    let slow = socket(&ctx, Pull);
    slow.set_rcvhwm(1).unwrap();
    slow.connect("inproc://rr-full").unwrap();
    let fast = socket(&ctx, Pull);
    fast.set_rcvhwm(1000).unwrap();
    fast.connect("inproc://rr-full").unwrap();
    // slow holds 2 (1 + 1); everything else must go to fast, none blocks.
    for i in 0..100u8 {
        push.send([i], DONTWAIT).unwrap();
    }
    let mut slow_got = 0;
    while slow.recv_bytes(DONTWAIT).is_ok() {
        slow_got += 1;
    }
    let mut fast_got = 0;
    while fast.recv_bytes(DONTWAIT).is_ok() {
        fast_got += 1;
    }
    assert_eq!(slow_got, 2);
    assert_eq!(fast_got, 98);
}

#[test]
fn fair_queue_does_not_let_a_busy_pusher_starve_a_quiet_one() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("inproc://fq").unwrap();
    let busy = socket(&ctx, Push);
    busy.connect("inproc://fq").unwrap();
    let quiet = socket(&ctx, Push);
    quiet.connect("inproc://fq").unwrap();
    for _ in 0..500 {
        busy.send("busy", 0).unwrap();
    }
    for _ in 0..5 {
        quiet.send("quiet", 0).unwrap();
    }
    let first: Vec<Vec<u8>> = (0..10).map(|_| pull.recv_bytes(0).unwrap()).collect();
    let quiet_seen = first.iter().filter(|m| m.as_slice() == b"quiet").count();
    assert_eq!(quiet_seen, 5, "messages alternate between pipes: {first:?}");
}

#[test]
fn inproc_hwm_is_the_sum_of_both_sides() {
    // libzmq test_hwm: a default PUSH->PULL inproc pair holds 2000.
    let ctx = Context::new();
    let (_pull, push) = pair_of(&ctx, Pull, Push, "inproc://hwm-default");
    let mut sent = 0;
    while push.send("x", DONTWAIT).is_ok() {
        sent += 1;
    }
    assert_eq!(sent, 2000);

    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(3).unwrap();
    pull.bind("inproc://hwm-set").unwrap();
    let push = socket(&ctx, Push);
    push.set_sndhwm(4).unwrap();
    push.connect("inproc://hwm-set").unwrap();
    let mut sent = 0;
    while push.send("x", DONTWAIT).is_ok() {
        sent += 1;
    }
    assert_eq!(sent, 7);
    // Draining gives room back in whole low-water marks (half the mark,
    // rounded up: 4), as libzmq's reader reports its reads: 4 of the 7.
    for _ in 0..7 {
        pull.recv_bytes(0).unwrap();
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    for _ in 0..4 {
        push.send("y", DONTWAIT).unwrap();
    }
    assert!(matches!(push.send("z", DONTWAIT), Err(Error::WouldBlock)));
    // And again once those are read: 11 read, room for 8 of them.
    for _ in 0..4 {
        pull.recv_bytes(0).unwrap();
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    for _ in 0..4 {
        push.send("y", DONTWAIT).unwrap();
    }
    assert!(matches!(push.send("z", DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn hwm_counts_from_connect_before_bind_too() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    push.connect("inproc://hwm-late").unwrap();
    let mut before = 0;
    while push.send("x", DONTWAIT).is_ok() {
        before += 1;
    }
    assert_eq!(before, 5, "unbound: only the sender's own mark");
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(3).unwrap();
    pull.bind("inproc://hwm-late").unwrap();
    let mut after = 0;
    while push.send("x", DONTWAIT).is_ok() {
        after += 1;
    }
    assert_eq!(after, 3, "the binder's mark is added when it binds");
}

#[test]
fn zero_hwm_means_no_message_limit() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(0).unwrap();
    pull.bind("inproc://hwm0").unwrap();
    let push = socket(&ctx, Push);
    push.set_sndhwm(0).unwrap();
    push.connect("inproc://hwm0").unwrap();
    for _ in 0..5000 {
        push.send("x", DONTWAIT).unwrap();
    }
    for _ in 0..5000 {
        pull.recv_bytes(DONTWAIT).unwrap();
    }
}

#[test]
fn blocked_sender_resumes_when_the_reader_drains() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    pull.bind("inproc://resume").unwrap();
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect("inproc://resume").unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let sender = std::thread::spawn(move || {
        for i in 0..100u32 {
            push.send(i.to_le_bytes(), 0).unwrap();
        }
        done_tx.send(()).unwrap();
    });
    for i in 0..100u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
    done_rx.recv_timeout(BOUND).expect("sender never finished");
    sender.join().unwrap();
}

#[test]
fn no_peer_blocks_dontwait_would_block_and_sndtimeo_times_out() {
    let ctx = Context::new();
    let push = ctx.socket(Push).unwrap();
    assert!(matches!(push.send("x", DONTWAIT), Err(Error::WouldBlock)));
    push.set_sndtimeo(50).unwrap();
    let start = Instant::now();
    assert!(matches!(push.send("x", 0), Err(Error::TimedOut)));
    assert!(start.elapsed() >= Duration::from_millis(50));
    push.set_sndtimeo(0).unwrap();
    assert!(matches!(push.send("x", 0), Err(Error::WouldBlock)));

    let pull = ctx.socket(Pull).unwrap();
    pull.set_rcvtimeo(30).unwrap();
    let start = Instant::now();
    assert!(matches!(pull.recv_bytes(0), Err(Error::TimedOut)));
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn timeouts_hold_for_every_wait_strategy() {
    use zeroring::WaitStrategy::*;
    for wait in [
        BusySpin,
        Park,
        SpinThenPark {
            spin: Duration::from_micros(50),
        },
    ] {
        let ctx = Context::new();
        let pull = ctx.socket(Pull).unwrap();
        pull.set_wait_strategy(wait).unwrap();
        pull.set_rcvtimeo(20).unwrap();
        assert!(
            matches!(pull.recv_bytes(0), Err(Error::TimedOut)),
            "{wait:?}"
        );
    }
}

#[test]
fn many_pushers_lose_and_duplicate_nothing() {
    const PUSHERS: u32 = 4;
    const EACH: u32 = 20_000;
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("inproc://many").unwrap();
    let senders: Vec<_> = (0..PUSHERS)
        .map(|p| {
            let push = socket(&ctx, Push);
            push.connect("inproc://many").unwrap();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let mut msg = [0u8; 8];
                    msg[..4].copy_from_slice(&p.to_le_bytes());
                    msg[4..].copy_from_slice(&i.to_le_bytes());
                    push.send(msg, 0).unwrap();
                }
            })
        })
        .collect();
    let (count, sum, next) = bounded(move || {
        let mut next: HashMap<u32, u32> = HashMap::new();
        let mut sum = 0u64;
        for _ in 0..PUSHERS * EACH {
            let m = pull.recv_bytes(0).unwrap();
            let p = u32::from_le_bytes(m[..4].try_into().unwrap());
            let i = u32::from_le_bytes(m[4..].try_into().unwrap());
            let expect = next.entry(p).or_default();
            assert_eq!(i, *expect, "pusher {p}: out of order or duplicated");
            *expect += 1;
            sum += i as u64;
        }
        assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
        (PUSHERS * EACH, sum, next)
    });
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(count, PUSHERS * EACH);
    assert_eq!(sum, PUSHERS as u64 * (EACH as u64 * (EACH as u64 - 1) / 2));
    assert!(next.values().all(|&n| n == EACH));
}

#[test]
fn reader_drains_what_a_departed_writer_sent() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://drain");
    for i in 0..100u8 {
        push.send([i], 0).unwrap();
    }
    drop(push);
    for i in 0..100u8 {
        assert_eq!(pull.recv_bytes(0).unwrap(), [i]);
    }
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

#[test]
fn waiting_reader_survives_its_writer_leaving() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://leave-r");
    pull.set_rcvtimeo(200).unwrap();
    let reader = std::thread::spawn(move || {
        let first = pull.recv_bytes(0);
        let second = pull.recv_bytes(0);
        (
            first.map_err(|e| e.to_string()),
            second.map_err(|e| e.to_string()),
        )
    });
    push.send("last words", 0).unwrap();
    drop(push);
    let (first, second) = reader.join().unwrap();
    assert_eq!(first.unwrap(), b"last words");
    assert_eq!(second.unwrap_err(), Error::TimedOut.to_string());
}

#[test]
fn waiting_writer_survives_its_reader_leaving_and_shutdown_frees_it() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://leave-w");
    // Fill the pipe (2000 by default), so the next send blocks.
    while push.send("x", DONTWAIT).is_ok() {}
    push.set_sndtimeo(-1).unwrap();
    let writer = std::thread::spawn(move || push.send("blocked", 0).map_err(|e| e.to_string()));
    drop(pull);
    // With its only peer gone the writer has nowhere to go: it keeps waiting
    // (as libzmq's PUSH does) until the context shuts down.
    let ctx2 = ctx.clone();
    let result = bounded(move || {
        ctx2.shutdown();
        writer.join().unwrap()
    });
    assert_eq!(result.unwrap_err(), Error::Terminated.to_string());
}

#[test]
fn shutdown_wakes_a_blocked_reader() {
    let ctx = Context::new();
    let pull = ctx.socket(Pull).unwrap();
    pull.set_wait_strategy(zeroring::WaitStrategy::Park)
        .unwrap();
    pull.bind("inproc://shutdown").unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        ready_tx.send(()).unwrap();
        pull.recv_bytes(0).map_err(|e| e.to_string())
    });
    ready_rx.recv_timeout(BOUND).unwrap();
    let result = bounded(move || {
        ctx.shutdown();
        reader.join().unwrap()
    });
    assert_eq!(result.unwrap_err(), Error::Terminated.to_string());
}

#[test]
fn wrapping_a_small_ring_with_mixed_sizes_keeps_every_byte() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_ring_capacity(4096).unwrap();
    pull.bind("inproc://wrap").unwrap();
    let push = socket(&ctx, Push);
    push.set_ring_capacity(4096).unwrap();
    push.connect("inproc://wrap").unwrap();
    let sender = std::thread::spawn(move || {
        let mut seed = 7u32;
        for i in 0..50_000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = (seed >> 16) as usize % 2000;
            let msg: Vec<u8> = (0..len).map(|k| (i as usize + k) as u8).collect();
            push.send(&msg, 0).unwrap();
        }
    });
    bounded(move || {
        let mut seed = 7u32;
        for i in 0..50_000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = (seed >> 16) as usize % 2000;
            let msg = pull.recv_bytes(0).unwrap();
            assert_eq!(msg.len(), len);
            assert!(msg
                .iter()
                .enumerate()
                .all(|(k, &b)| b == (i as usize + k) as u8));
        }
    });
    sender.join().unwrap();
}

#[test]
fn conflate_keeps_only_the_newest_message() {
    // libzmq test_conflate: 20 messages sent, one received: the last.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_conflate(true).unwrap();
    pull.bind("inproc://conflate").unwrap();
    let push = socket(&ctx, Push);
    push.set_conflate(true).unwrap();
    push.set_sndhwm(1).unwrap();
    push.connect("inproc://conflate").unwrap();
    for i in 0..5000u32 {
        push.send(i.to_le_bytes(), DONTWAIT)
            .expect("no message limit with CONFLATE");
    }
    assert_eq!(pull.recv_bytes(0).unwrap(), 4999u32.to_le_bytes());
    assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    push.send("next", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"next");
}
