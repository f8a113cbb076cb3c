//! ipc:// between processes: every pattern with the peer in a child
//! process (the rings in shared memory), both bind orders, a peer that
//! restarts, and a hostile peer that scribbles over the shared segment.

mod common;
use common::proc::{self, hear, spawn, tell};
use common::*;
use std::time::Duration;
use zeroring::monitor::Event;
use zeroring::{Context, Error, Socket, SocketType, SocketType::*, DONTWAIT};

const WITHIN: Duration = Duration::from_secs(20);

/// A fresh endpoint in the temporary directory.
fn endpoint(name: &str) -> String {
    let p = std::env::temp_dir().join(format!("zr-proc-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    format!("ipc://{}", p.display())
}

fn kind_of(name: &str) -> SocketType {
    match name {
        "PUSH" => Push,
        "PULL" => Pull,
        "REQ" => Req,
        "REP" => Rep,
        "DEALER" => Dealer,
        "ROUTER" => Router,
        "PAIR" => Pair,
        "XPUB" => XPub,
        "SUB" => Sub,
        other => panic!("no such kind {other}"),
    }
}

/// One side of a short exchange, by the side's socket type; the other side
/// runs its own type's script.
fn script(kind: SocketType, s: &Socket) {
    match kind {
        Push => {
            for i in 0..100 {
                s.send(format!("m{i}"), 0).unwrap();
            }
        }
        Pull => {
            for i in 0..100 {
                assert_eq!(s.recv_bytes(0).unwrap(), format!("m{i}").as_bytes());
            }
        }
        Req | Dealer => {
            for i in 0..10 {
                if kind == Dealer {
                    s.send_multipart([&b""[..], format!("q{i}").as_bytes()], 0)
                        .unwrap();
                    assert_eq!(s.recv_bytes(0).unwrap(), b"");
                } else {
                    s.send(format!("q{i}"), 0).unwrap();
                }
                assert_eq!(s.recv_bytes(0).unwrap(), format!("r{i}").as_bytes());
            }
        }
        Rep => {
            for i in 0..10 {
                assert_eq!(s.recv_bytes(0).unwrap(), format!("q{i}").as_bytes());
                s.send(format!("r{i}"), 0).unwrap();
            }
        }
        Router => {
            for i in 0..10 {
                let m = s.recv_multipart(0).unwrap();
                assert_eq!(m.len(), 3, "{m:?}");
                assert_eq!(m[2], format!("q{i}").as_bytes());
                s.send_multipart([&m[0][..], b"", format!("r{i}").as_bytes()], 0)
                    .unwrap();
            }
        }
        Pair => {
            for i in 0..10 {
                s.send(format!("p{i}"), 0).unwrap();
                assert_eq!(s.recv_bytes(0).unwrap(), format!("p{i}").as_bytes());
            }
        }
        XPub => {
            assert_eq!(s.recv_bytes(0).unwrap(), b"\x01A");
            s.send("B-no", 0).unwrap();
            for i in 0..10 {
                s.send(format!("A-{i}"), 0).unwrap();
            }
        }
        Sub => {
            s.set_subscribe(b"A").unwrap();
            for i in 0..10 {
                assert_eq!(s.recv_bytes(0).unwrap(), format!("A-{i}").as_bytes());
            }
        }
        other => panic!("no script for {other:?}"),
    }
}

/// What a child does, by role; a no-op in the parent's normal run.
#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    let ctx = Context::new();
    match role[0].as_str() {
        "peer" => {
            let kind = kind_of(&role[1]);
            let s = socket(&ctx, kind);
            s.set_reconnect_ivl(10).unwrap();
            match role[2].as_str() {
                "bind" => s.bind(&role[3]).unwrap(),
                _ => s.connect(&role[3]).unwrap(),
            }
            tell("ready");
            script(kind, &s);
            tell("done");
        }
        "echo" => {
            let r = socket(&ctx, Router);
            r.bind(&role[1]).unwrap();
            tell("bound");
            loop {
                let m = r.recv_multipart(0).unwrap();
                r.send_multipart(m, 0).unwrap();
            }
        }
        "hostile" => {
            let push = socket(&ctx, Push);
            let events = monitor(&ctx, &push, "hostile");
            push.connect(&role[1]).unwrap();
            push.send("hello", 0).unwrap();
            tell("sent");
            // The parent has it: the connection is in shared memory.
            assert_eq!(hear(), "go");
            proc::scribble("zeroring-pipe");
            tell("scribbled");
            while next_event(&events).event != Event::Disconnected {}
            tell("cut");
        }
        "hostile-binder" => {
            let push = socket(&ctx, Push);
            push.bind(&role[1]).unwrap();
            tell("bound");
            // The parent connects and its pipe comes up with the send.
            push.send("hello", 0).unwrap();
            proc::scribble("zeroring-pipe");
            tell("scribbled");
            // Serve until killed: the parent's reconnections come here.
            loop {
                std::thread::park();
            }
        }
        "burst-exit" => {
            let push = socket(&ctx, Push);
            push.connect(&role[1]).unwrap();
            for i in 0..BURST {
                push.send_multipart(burst_message(i), 0).unwrap();
            }
            // LINGER -1: the drops return once the burst is delivered.
            drop(push);
            drop(ctx);
            tell("gone");
        }
        "slow-sub" => {
            let sub = socket(&ctx, Sub);
            sub.connect(&role[1]).unwrap();
            sub.set_subscribe(b"").unwrap();
            assert_eq!(hear(), "go");
            read_burst(&sub);
            tell("all");
        }
        other => panic!("unknown role {other}"),
    }
}

/// Messages in [`burst_message`]'s burst.
const BURST: u32 = 1500;

/// Message `i` of a burst: 1 KiB, and every 100th has a second frame of
/// 100 KiB (which travels in a chunk of its own).
fn burst_message(i: u32) -> Vec<Vec<u8>> {
    let mut first = vec![i as u8; 1024];
    first[..4].copy_from_slice(&i.to_le_bytes());
    if i % 100 == 0 {
        vec![first, vec![!i as u8; 100 << 10]]
    } else {
        vec![first]
    }
}

/// Reads the whole burst from `s`, each message whole and in order, and
/// then nothing more.
fn read_burst(s: &Socket) {
    for i in 0..BURST {
        let m = s.recv_multipart(0).unwrap();
        assert_eq!(m, burst_message(i), "message {i}: whole, in order");
    }
    assert!(matches!(s.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
}

/// A sender that ends its process right after a burst, the reader having
/// read none of it, loses nothing: what is in the shared ring, and in the
/// chain segments and chunks of the sender's pool beyond it, outlives the
/// sender. (libzmq's ipc reader loses the tail there: see
/// `tests/ipc.rs`.)
#[test]
fn a_burst_outlives_the_sender_process() {
    let ep = endpoint("burst-exit");
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind(&ep).unwrap();
    let mut child = spawn(&["burst-exit", &ep]);
    child.expect("gone", WITHIN);
    child.success(WITHIN);
    read_burst(&pull);
}

/// A pipe holds its high-water marks' worth of messages, not its ring's:
/// a burst six times the shared ring, sent while the subscriber in the
/// other process reads nothing, reaches it whole (libzmq delivers it too;
/// its marks sum to 2,000).
#[test]
fn a_burst_beyond_the_shared_ring_reaches_a_slow_subscriber_whole() {
    let ep = endpoint("burst");
    let ctx = Context::new();
    let publisher = socket(&ctx, XPub);
    publisher.bind(&ep).unwrap();
    let mut child = spawn(&["slow-sub", &ep]);
    assert_eq!(publisher.recv_bytes(0).unwrap(), b"\x01");
    for i in 0..BURST {
        publisher.send_multipart(burst_message(i), 0).unwrap();
    }
    child.say("go");
    child.expect("all", WITHIN);
    child.success(WITHIN);
}

/// Receives from `s` until its monitor reports a disconnection; panics
/// after [`WITHIN`]. Only `allowed` may arrive meanwhile.
fn read_until_disconnected(s: &Socket, events: &Socket, allowed: &[u8]) {
    s.set_rcvtimeo(10).unwrap();
    let deadline = std::time::Instant::now() + WITHIN;
    loop {
        match zeroring::MonitorEvent::recv(events, zeroring::DONTWAIT) {
            Ok(ev) if ev.event == Event::Disconnected => break,
            Ok(_) => continue,
            Err(_) => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "connection never dropped"
        );
        if let Ok(m) = s.recv_bytes(0) {
            assert_eq!(m, allowed, "a message from the broken ring");
        }
    }
    s.set_rcvtimeo(TIMEO_MS).unwrap();
}

#[test]
fn every_pattern_across_processes_in_both_bind_orders() {
    let pairs = [
        (Push, "PULL"),
        (Pull, "PUSH"),
        (Req, "REP"),
        (Rep, "REQ"),
        (Dealer, "ROUTER"),
        (Router, "DEALER"),
        (Pair, "PAIR"),
        (XPub, "SUB"),
        (Sub, "XPUB"),
    ];
    for (n, (ours, theirs)) in pairs.into_iter().enumerate() {
        for parent_binds in [true, false] {
            let ep = endpoint(&format!("pattern{n}-{parent_binds}"));
            let ctx = Context::new();
            let s = socket(&ctx, ours);
            s.set_reconnect_ivl(10).unwrap();
            let mut child;
            if parent_binds {
                s.bind(&ep).unwrap();
                child = spawn(&["peer", theirs, "connect", &ep]);
            } else {
                // The connect comes first; the child binds later.
                s.connect(&ep).unwrap();
                child = spawn(&["peer", theirs, "bind", &ep]);
            }
            child.expect("ready", WITHIN);
            script(ours, &s);
            child.expect("done", WITHIN);
            child.success(WITHIN);
        }
    }
}

/// The peer restarts (killed, a new process binds the same path over the
/// stale file): the connecter reconnects and carries on.
#[test]
fn reconnects_after_the_peer_restarts() {
    let ep = endpoint("restart");
    let ctx = Context::new();
    let dealer = socket(&ctx, Dealer);
    dealer.set_reconnect_ivl(10).unwrap();
    let events = monitor(&ctx, &dealer, "restart");
    dealer.connect(&ep).unwrap();
    for round in 0..3u8 {
        let mut server = spawn(&["echo", &ep]);
        server.expect("bound", WITHIN);
        dealer.send([round], 0).unwrap();
        assert_eq!(dealer.recv_bytes(0).unwrap(), [round]);
        server.kill();
        // Sending before the loss is seen would put the message in the
        // dead pipe: wait for it.
        while next_event(&events).event != Event::Disconnected {}
    }
}

/// A child that scribbles over the shared segment breaks only its own
/// connection: a well-behaved peer alongside keeps being served.
#[test]
fn hostile_peer_breaks_only_its_own_connection() {
    let ep = endpoint("hostile");
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let events = monitor(&ctx, &pull, "hostile-parent");
    pull.bind(&ep).unwrap();
    let good_ctx = Context::new();
    let good = socket(&good_ctx, Push);
    good.connect(&ep).unwrap();
    good.send("good-0", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"good-0");

    let mut hostile = spawn(&["hostile", &ep]);
    hostile.expect("sent", WITHIN);
    assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
    hostile.say("go");
    hostile.expect("scribbled", WITHIN);
    // Reading finds the broken ring (whatever it held is not trusted)
    // while the good peer's messages keep coming.
    let mut got = Vec::new();
    for i in 1..=100 {
        good.send(format!("good-{i}"), 0).unwrap();
    }
    while got.len() < 100 {
        let m = pull.recv_bytes(0).unwrap();
        if m != b"hello" {
            got.push(m);
        }
    }
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m, format!("good-{}", i + 1).as_bytes());
    }
    // The broken ring is found by reading it, and the hostile pipe may
    // reach the socket only after the good messages were all taken: go on
    // receiving (each call attaches what arrived and reads every pipe)
    // until the connection is dropped.
    read_until_disconnected(&pull, &events, b"hello");
    // The connection was closed from our side.
    hostile.expect("cut", WITHIN);
}

/// A connecter that finds its peer's ring broken drops that connection as
/// a protocol error and connects again.
#[test]
fn a_connecter_reconnects_after_a_broken_ring() {
    let ep = endpoint("hostile-binder");
    let hostile = spawn(&["hostile-binder", &ep]);
    hostile.expect("bound", WITHIN);
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_reconnect_ivl(10).unwrap();
    let events = monitor(&ctx, &pull, "hostile-connecter");
    pull.connect(&ep).unwrap();
    hostile.expect("scribbled", WITHIN);
    read_until_disconnected(&pull, &events, b"hello");
    loop {
        match next_event(&events).event {
            Event::ConnectRetried | Event::ConnectDelayed => {}
            Event::Connected => break,
            other => panic!("unexpected {other:?} after the drop"),
        }
    }
}
