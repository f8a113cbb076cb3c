//! Cross-process wake-ups under stress: two processes exchange thousands
//! of bursts over ipc:// shared-memory pipes, each side parking on its
//! doorbell (futex in shared memory) between bursts, so every burst needs
//! a wake-up from the other process. A lost wake-up shows as a receive
//! timeout; counts and order are checked throughout.

mod common;
use common::proc::{self, spawn, tell};
use std::time::{Duration, Instant};
use zeroring::{Context, Socket, SocketType::*, WaitStrategy};

const ROUNDS: u64 = 10_000;
/// A lost wake-up fails within this (the whole test takes well under).
const TIMEO_MS: i32 = 10_000;

fn endpoint(name: &str) -> String {
    let p = std::env::temp_dir().join(format!("zr-wake-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    format!("ipc://{}", p.display())
}

/// A socket that parks at once when it must wait (no spinning), so each
/// burst finds it asleep.
fn parking(ctx: &Context, kind: zeroring::SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_wait_strategy(WaitStrategy::Park).unwrap();
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    s.set_sndtimeo(TIMEO_MS).unwrap();
    s
}

/// Burst `round`'s size: 1 to 61 messages, now and then large ones (which
/// go through chunks, whose writer may wait for the reader's release).
fn burst(round: u64) -> (u64, usize) {
    let n = 1 + (round * 7919) % 61;
    let len = if round % 97 == 0 { 100_000 } else { 8 };
    (n, len)
}

#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    assert_eq!(role[0], "burster");
    let ctx = Context::new();
    let out = parking(&ctx, Push);
    out.connect(&role[1]).unwrap();
    let acks = parking(&ctx, Pull);
    acks.connect(&role[2]).unwrap();
    let mut seq = 0u64;
    for round in 0..ROUNDS {
        let (n, len) = burst(round);
        for _ in 0..n {
            let mut m = vec![0u8; len];
            m[..8].copy_from_slice(&seq.to_le_bytes());
            out.send(m, 0).unwrap();
            seq += 1;
        }
        // Park until the parent has read the burst.
        let ack = acks.recv_bytes(0).unwrap();
        assert_eq!(ack, round.to_le_bytes());
    }
    tell(&format!("sent {seq}"));
}

#[test]
fn bursts_with_both_sides_parking_across_processes() {
    let (data, ack) = (endpoint("data"), endpoint("ack"));
    let ctx = Context::new();
    let input = parking(&ctx, Pull);
    input.bind(&data).unwrap();
    let acks = parking(&ctx, Push);
    acks.bind(&ack).unwrap();
    let start = Instant::now();
    let mut child = spawn(&["burster", &data, &ack]);
    let mut seq = 0u64;
    for round in 0..ROUNDS {
        let (n, len) = burst(round);
        for _ in 0..n {
            let m = input
                .recv_bytes(0)
                .unwrap_or_else(|e| panic!("round {round}, message {seq}: {e}"));
            assert_eq!(m.len(), len);
            assert_eq!(m[..8], seq.to_le_bytes(), "in order, none lost");
            seq += 1;
        }
        acks.send(round.to_le_bytes(), 0).unwrap();
    }
    child.expect(&format!("sent {seq}"), Duration::from_secs(20));
    child.success(Duration::from_secs(20));
    assert!(matches!(
        input.recv_bytes(zeroring::DONTWAIT),
        Err(zeroring::Error::WouldBlock)
    ));
    eprintln!("{ROUNDS} bursts, {seq} messages, {:?}", start.elapsed());
}
