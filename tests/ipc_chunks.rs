//! Large frames over ipc:// between processes: they travel in shared
//! chunks (only a descriptor enters the ring), so frames far beyond the
//! ring's size go through, loans write them in place, a PUB's subscribers
//! share one chunk, and a reader killed while holding chunks holds up
//! nothing once it is gone.

mod common;
use common::proc::{self, spawn, tell};
use common::*;
use std::time::Duration;
use zeroring::{Context, Error, Socket, SocketType::*, DONTWAIT, SNDMORE};

const WITHIN: Duration = Duration::from_secs(30);
const MIB: usize = 1 << 20;

fn endpoint(name: &str) -> String {
    let p = std::env::temp_dir().join(format!("zr-chunk-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    format!("ipc://{}", p.display())
}

/// Fills `buf` as frame `seq`: its number at both ends, its low byte in
/// between.
fn fill(buf: &mut [u8], seq: u64) {
    buf.fill(seq as u8);
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    let n = buf.len();
    buf[n - 8..].copy_from_slice(&(!seq).to_le_bytes());
}

fn frame(len: usize, seq: u64) -> Vec<u8> {
    let mut v = vec![0; len];
    fill(&mut v, seq);
    v
}

/// Checks frame `seq` of `len` bytes: both ends, and a byte of every page.
fn check(f: &[u8], len: usize, seq: u64) {
    assert_eq!(f.len(), len, "frame {seq}: length");
    assert_eq!(f[..8], seq.to_le_bytes(), "frame {seq}: head");
    assert_eq!(f[len - 8..], (!seq).to_le_bytes(), "frame {seq}: tail");
    for i in (8..len - 8).step_by(4093) {
        assert_eq!(f[i], seq as u8, "frame {seq}: byte {i}");
    }
}

/// Loans `len` bytes and sends them as frame `seq`.
fn loan_send(s: &Socket, len: usize, seq: u64, flags: i32) {
    let mut buf = s.loan(len, flags).unwrap();
    fill(&mut buf, seq);
    buf.send().unwrap();
}

#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    let ctx = Context::new();
    match role[0].as_str() {
        "big-sender" => {
            let push = socket(&ctx, Push);
            push.connect(&role[1]).unwrap();
            for seq in 0..100 {
                loan_send(&push, MIB, seq, 0);
            }
            for seq in 100..200 {
                push.send(frame(MIB, seq), 0).unwrap();
            }
            // Chunks and ring records in one message.
            push.send("head", SNDMORE).unwrap();
            loan_send(&push, 3 * MIB, 200, SNDMORE);
            push.send(frame(40 * 1024, 201), SNDMORE).unwrap();
            push.send("tail", 0).unwrap();
            for seq in 202..205 {
                loan_send(&push, 40 * MIB, seq, 0);
            }
            match push.send(vec![0; 64 * MIB + 1], 0) {
                Err(Error::MessageTooLarge { .. }) => tell("too-large"),
                other => panic!("a frame beyond the largest chunk: {other:?}"),
            }
            tell("sent");
        }
        "subscriber" => {
            let sub = socket(&ctx, Sub);
            sub.set_subscribe(b"").unwrap();
            sub.connect(&role[1]).unwrap();
            // Hellos until the publisher sees us; then frames in batches.
            loop {
                let f = sub.recv_bytes(0).unwrap();
                if f == b"hello" {
                    tell("hello");
                    continue;
                }
                if f == b"end" {
                    break;
                }
                assert_eq!(f, b"batch");
                let n: u64 = String::from_utf8(sub.recv_bytes(0).unwrap())
                    .unwrap()
                    .parse()
                    .unwrap();
                for i in 0..8 {
                    let seq = n * 8 + i;
                    let len = if seq % 2 == 0 { 4 * MIB } else { MIB + 5 };
                    let f = sub.recv_frame(0).unwrap();
                    check(&f, len, seq);
                }
                tell(&format!("batch {n}"));
            }
            tell("end");
        }
        "reader" => {
            let pull = socket(&ctx, Pull);
            pull.connect(&role[1]).unwrap();
            let n: u64 = role[2].parse().unwrap();
            for _ in 0..n {
                let f = pull.recv_frame(0).unwrap();
                assert_eq!(f.len(), MIB);
            }
            tell("read");
            if role[3] == "stall" {
                loop {
                    std::thread::park();
                }
            }
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn frames_far_beyond_the_ring_cross_processes() {
    let ep = endpoint("big");
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind(&ep).unwrap();
    let mut child = spawn(&["big-sender", &ep]);
    for seq in 0..200 {
        let f = pull.recv_frame(0).unwrap();
        check(&f, MIB, seq);
        assert!(!f.more());
    }
    assert_eq!(pull.recv_bytes(0).unwrap(), b"head");
    check(&pull.recv_frame(0).unwrap(), 3 * MIB, 200);
    check(&pull.recv_bytes(0).unwrap(), 40 * 1024, 201);
    assert!(pull.get_rcvmore().unwrap());
    assert_eq!(pull.recv_bytes(0).unwrap(), b"tail");
    for seq in 202..205 {
        check(&pull.recv_frame(0).unwrap(), 40 * MIB, seq);
    }
    child.expect("too-large", WITHIN);
    child.expect("sent", WITHIN);
    child.success(WITHIN);
}

#[test]
fn a_pub_fans_large_frames_out_to_processes() {
    let ep = endpoint("fanout");
    let ctx = Context::new();
    let publisher = socket(&ctx, Pub);
    publisher.bind(&ep).unwrap();
    let subs = [spawn(&["subscriber", &ep]), spawn(&["subscriber", &ep])];
    // Until both have subscribed (a hello reached each).
    for s in &subs {
        loop {
            publisher.send("hello", 0).unwrap();
            if let Ok(fact) = s.try_next(Duration::from_millis(20)) {
                assert_eq!(fact, "hello");
                break;
            }
        }
    }
    // Batches that fit the pool: a PUB never waits, it would drop.
    for n in 0..6u64 {
        publisher.send("batch", SNDMORE).unwrap();
        publisher.send(n.to_string(), SNDMORE).unwrap();
        for i in 0..8 {
            let seq = n * 8 + i;
            let more = if i < 7 { SNDMORE } else { 0 };
            if seq % 2 == 0 {
                loan_send(&publisher, 4 * MIB, seq, more);
            } else {
                publisher.send(frame(MIB + 5, seq), more).unwrap();
            }
        }
        for s in &subs {
            s.expect(&format!("batch {n}"), WITHIN);
        }
    }
    publisher.send("end", 0).unwrap();
    for mut s in subs {
        s.expect("end", WITHIN);
        s.success(WITHIN);
    }
}

#[test]
fn a_killed_reader_gives_its_chunks_back() {
    let ep = endpoint("killed");
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.bind(&ep).unwrap();
    let mut stalled = spawn(&["reader", &ep, "2", "stall"]);
    let big = frame(MIB, 0);
    push.send(&big, 0).unwrap();
    push.send(&big, 0).unwrap();
    stalled.expect("read", WITHIN);
    // Fill the pool's 1 MiB chunks (and the ring) until the stalled
    // reader holds them all.
    let mut held = 0;
    let deadline = std::time::Instant::now() + WITHIN;
    loop {
        match push.send(&big, DONTWAIT) {
            Ok(()) => held += 1,
            Err(Error::WouldBlock) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(std::time::Instant::now() < deadline);
    }
    assert!((8..=1000).contains(&held), "{held} held");
    stalled.kill();
    // Everything the dead reader held comes back: a new reader gets many
    // times the pool's worth.
    let mut fresh = spawn(&["reader", &ep, "200", "exit"]);
    for _ in 0..200 {
        push.send(&big, 0).unwrap();
    }
    fresh.expect("read", WITHIN);
    fresh.success(WITHIN);
}
