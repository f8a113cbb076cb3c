//! Peers killed with SIGKILL in the middle of sending and of receiving,
//! over ipc:// shared-memory pipes: what a killed sender committed arrives
//! whole and once, in order, and nothing else; a killed receiver blocks no
//! sender; no segment or descriptor outlives its connection.

mod common;
use common::proc::{self, memfds, spawn, tell};
use common::*;
use std::sync::Mutex;
use std::time::Duration;
use zeroring::monitor::Event;
use zeroring::{Context, Error, Socket, SocketType::*, DONTWAIT};

const WITHIN: Duration = Duration::from_secs(20);

/// The tests count this process's memfds: one at a time.
static ALONE: Mutex<()> = Mutex::new(());

fn endpoint(name: &str) -> String {
    let p = std::env::temp_dir().join(format!("zr-crash-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    format!("ipc://{}", p.display())
}

/// FNV-1a, enough to tell a torn or foreign message from ours.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Message `seq`: its number, a body whose length varies with it, and a
/// checksum of both.
fn message(seq: u64) -> Vec<u8> {
    let mut m = seq.to_le_bytes().to_vec();
    m.extend(vec![seq as u8; (seq % 300) as usize]);
    let sum = checksum(&m);
    m.extend_from_slice(&sum.to_le_bytes());
    m
}

/// The number of a message, after checking it is whole.
fn check(m: &[u8]) -> u64 {
    assert!(m.len() >= 16, "short message");
    let (body, sum) = m.split_at(m.len() - 8);
    assert_eq!(checksum(body).to_le_bytes(), sum, "torn or foreign message");
    let seq = u64::from_le_bytes(body[..8].try_into().unwrap());
    assert_eq!(m, message(seq));
    seq
}

#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    let ctx = Context::new();
    match role[0].as_str() {
        // Sends numbered messages until killed, telling each one sent.
        "sender" => {
            let push = socket(&ctx, Push);
            push.set_sndhwm(50).unwrap();
            push.connect(&role[1]).unwrap();
            for seq in 0.. {
                push.send(message(seq), 0).unwrap();
                tell(&seq.to_string());
            }
        }
        // Reads `n` messages, then stops reading (until killed), or with
        // "exit" leaves after them.
        "receiver" => {
            let pull = socket(&ctx, Pull);
            pull.connect(&role[1]).unwrap();
            let n: u64 = role[2].parse().unwrap();
            let mut next = None;
            for _ in 0..n {
                let seq = check(&pull.recv_bytes(0).unwrap());
                if let Some(want) = next {
                    assert_eq!(seq, want, "in order, none lost or repeated");
                }
                next = Some(seq + 1);
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

/// Waits for the monitor's DISCONNECTED.
fn disconnected(events: &Socket) {
    while next_event(events).event != Event::Disconnected {}
}

#[test]
fn sender_killed_mid_send_delivers_exactly_what_it_committed() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let ep = endpoint("sender");
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let events = monitor(&ctx, &pull, "crash-sender");
    pull.bind(&ep).unwrap();
    let bells = memfds("zeroring-bell");
    assert_eq!(memfds("zeroring-pipe"), (0, 0));
    for cycle in 0..5u64 {
        let mut child = spawn(&["sender", &ep]);
        // Read a while (the child keeps filling the ring), then kill it
        // mid-stream.
        let mut next = 0u64;
        while next < 300 + cycle * 701 {
            assert_eq!(check(&pull.recv_bytes(0).unwrap()), next);
            next += 1;
        }
        // The messages came through shared memory, not the unix socket.
        assert!(memfds("zeroring-pipe").0 > 0);
        child.kill();
        disconnected(&events);
        // The dead sender's ring still holds what it published: all of it
        // comes, in order, then nothing.
        loop {
            match pull.recv_bytes(DONTWAIT) {
                Ok(m) => {
                    assert_eq!(check(&m), next, "in order, none lost or repeated");
                    next += 1;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("{e}"),
            }
        }
        // Every send that returned in the child (it told us) arrived.
        let told = child.rest(WITHIN);
        let committed: u64 = told.last().unwrap().parse().unwrap();
        assert!(
            next > committed,
            "cycle {cycle}: sent up to {committed}, received {next}"
        );
        // The pipe is gone with its segment and the child's doorbell.
        assert_eq!(memfds("zeroring-pipe"), (0, 0), "cycle {cycle}");
        assert_eq!(memfds("zeroring-bell"), bells, "cycle {cycle}");
    }
}

#[test]
fn receiver_killed_mid_receive_blocks_no_sender() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let ep = endpoint("receiver");
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_sndhwm(100).unwrap();
    let events = monitor(&ctx, &push, "crash-receiver");
    push.bind(&ep).unwrap();
    let bells = memfds("zeroring-bell");
    let mut seq = 0u64;
    for cycle in 0..3 {
        // A reader that reads a little, then stops: we fill its pipe.
        let mut stalled = spawn(&["receiver", &ep, "10", "stall"]);
        for _ in 0..10 {
            push.send(message(seq), 0).unwrap();
            seq += 1;
        }
        stalled.expect("read", WITHIN);
        while push.send(message(seq), DONTWAIT).is_ok() {
            seq += 1;
        }
        stalled.kill();
        disconnected(&events);
        // A new reader takes everything from here; the dead one holds up
        // nothing (its full pipe is dropped).
        let mut reader = spawn(&["receiver", &ep, "1000", "exit"]);
        for _ in 0..1000 {
            push.send(message(seq), 0).unwrap();
            seq += 1;
        }
        reader.expect("read", WITHIN);
        reader.success(WITHIN);
        disconnected(&events);
        // A send finds no peer (and lets go of the closed pipe).
        assert!(matches!(
            push.send(message(seq), DONTWAIT),
            Err(Error::WouldBlock)
        ));
        assert_eq!(memfds("zeroring-pipe"), (0, 0), "cycle {cycle}");
        assert_eq!(memfds("zeroring-bell"), bells, "cycle {cycle}");
    }
}
