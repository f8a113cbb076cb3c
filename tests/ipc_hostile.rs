//! Hostile peers over ipc://, in child processes: one that keeps zeroing
//! the doorbell words it was given (the socket must keep serving its other
//! peers), one of another user at an abstract name (refused at connect),
//! and shared-memory peers built by hand that offer forged segments.

mod common;
use common::proc::{self, hear, spawn, spawn_as, tell};
use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroring::monitor::Event;
use zeroring::{Context, SocketType::*, WaitStrategy, DONTWAIT};

const WITHIN: Duration = Duration::from_secs(20);

/// An abstract endpoint of this test process.
fn abstract_endpoint(name: &str) -> String {
    format!("ipc://@zr-hostile-{}-{name}", std::process::id())
}

/// Address ranges of this process's mappings whose name contains `name`.
fn mappings(name: &str) -> Vec<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|l| l.contains(name))
        .map(|l| {
            let (range, _) = l.split_once(' ').unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            (
                usize::from_str_radix(lo, 16).unwrap(),
                usize::from_str_radix(hi, 16).unwrap(),
            )
        })
        .collect()
}

#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    let ctx = Context::new();
    match role[0].as_str() {
        // Connects a PUSH, then zeroes the `sleeping` word of the peer's
        // doorbell (a mapping that was not there before the connection) in
        // a loop, so that the peer's writers see nobody sleeping.
        "bell-zeroer" => {
            let push = socket(&ctx, Push);
            let own = mappings("zeroring-bell");
            push.connect(&role[1]).unwrap();
            push.send("hello", 0).unwrap();
            let deadline = Instant::now() + WITHIN;
            let peer = loop {
                let found: Vec<_> = mappings("zeroring-bell")
                    .into_iter()
                    .filter(|m| !own.contains(m))
                    .collect();
                if !found.is_empty() {
                    break found;
                }
                assert!(Instant::now() < deadline, "the peer's doorbell never came");
                std::thread::yield_now();
            };
            let stop = Arc::new(AtomicBool::new(false));
            let zeroer = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        for &(lo, _) in &peer {
                            // SAFETY: the first page of a shared mapping
                            // of ours, writable; breaking the peer's trust
                            // in it is the point. The second word is
                            // `sleeping` (leaving the futex word alone
                            // keeps the sleeper asleep).
                            unsafe { (lo as *mut u32).add(1).write_volatile(0) };
                        }
                        std::hint::spin_loop();
                    }
                })
            };
            tell("zeroing");
            hear();
            stop.store(true, Ordering::Relaxed);
            zeroer.join().unwrap();
        }
        // Connects, says so, and waits for the parent to end it.
        "connecter" => {
            let push = socket(&ctx, Push);
            // A refused peer never takes what is queued: exit all the same.
            push.set_linger(0).unwrap();
            push.connect(&role[1]).unwrap();
            let _ = push.send("hello", DONTWAIT);
            tell("connecting");
            hear();
        }
        other => panic!("no such role {other}"),
    }
}

/// A peer of our user that keeps zeroing our doorbell's words costs the
/// socket latency, not liveness: its tcp peer is served all along.
#[test]
fn zeroed_doorbell_does_not_freeze_the_socket() {
    let ctx = Context::new();
    let server = socket(&ctx, Pull);
    // Sleep on the doorbell at once, so that every message below finds the
    // server asleep (the words the attacker zeroes).
    server.set_wait_strategy(WaitStrategy::Park).unwrap();
    let ep = abstract_endpoint("zeroed");
    server.bind(&ep).unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let tcp = server.get_last_endpoint().unwrap();
    let mut child = spawn(&["bell-zeroer", &ep]);
    assert_eq!(server.recv_bytes(0).unwrap(), b"hello");
    child.expect("zeroing", WITHIN);

    let client = socket(&ctx, Push);
    client.connect(&tcp).unwrap();
    // No receive timeout: a frozen socket would wait for ever (and
    // `bounded` fail), where one that looks again every few milliseconds
    // takes these messages in a second or so.
    server.set_rcvtimeo(-1).unwrap();
    bounded(move || {
        for i in 0..2000u32 {
            client.send(i.to_le_bytes(), 0).unwrap();
            assert_eq!(server.recv_bytes(0).unwrap(), i.to_le_bytes());
        }
    });
    child.say("stop");
    child.success(WITHIN);
}

/// Another user's process is refused at an abstract name (which has no
/// file mode to keep it out), before it can map anything of ours. Needs
/// root, to run the child as someone else.
#[test]
fn abstract_endpoint_refuses_another_user() {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: only root can start a child as another user");
        return;
    }
    let ctx = Context::new();
    let server = socket(&ctx, Pull);
    let events = monitor(&ctx, &server, "abstract-refused");
    let ep = abstract_endpoint("refused");
    server.bind(&ep).unwrap();
    expect_event(&events, Event::Listening);
    let nobody = 65534;
    let mut child = spawn_as(&["connecter", &ep], nobody);
    child.expect("connecting", WITHIN);
    let ev = expect_event(&events, Event::AcceptFailed);
    assert_eq!(ev.value, libc::EACCES as u32);
    // Nothing came through, and our own user is still welcome.
    assert!(server.recv_bytes(DONTWAIT).is_err());
    let mut friend = spawn(&["connecter", &ep]);
    friend.expect("connecting", WITHIN);
    loop {
        match next_event(&events).event {
            Event::Accepted => break,
            // The other user's reconnects.
            Event::AcceptFailed => continue,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(server.recv_bytes(0).unwrap(), b"hello");
    child.say("stop");
    friend.say("stop");
    child.success(WITHIN);
    friend.success(WITHIN);
}
