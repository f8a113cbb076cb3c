//! Thread-safe sockets over ipc in shared memory, against a peer in a child
//! process: the high-water mark counted in messages across the two
//! processes (a writer at it woken by the remote reader's release), a
//! peer killed while this side reads or waits to write, a peer that
//! writes garbage over the shared segment, and messages too large for the
//! rings (in chunks of the sender's pool) both ways, queued before the
//! connection, and held by a reader that is killed.

mod common;
use common::proc::{self, hear, spawn, tell};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use zeroring::{Context, Error, RoutingId, DONTWAIT};

/// Long enough never to expire on a loaded machine unless something hangs.
const PATIENCE_MS: i32 = 60_000;
const WITHIN: Duration = Duration::from_secs(120);

/// A fresh endpoint in the temporary directory.
fn endpoint(name: &str) -> String {
    let p = std::env::temp_dir().join(format!("zr-tss-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    format!("ipc://{}", p.display())
}

/// A SERVER bound at `ep`, its receives patient.
fn bound_server(ctx: &Context, ep: &str) -> zeroring::Server {
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind(ep).unwrap();
    server
}

/// What a child does, by role; a no-op in the parent's normal run.
#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    let ctx = Context::new();
    match role[0].as_str() {
        // Binds a SERVER with RCVHWM 5 that reads the first message, then
        // nothing until told, then `n` more.
        "slow-server" => {
            let server = ctx.server().unwrap();
            server.set_rcvhwm(5).unwrap();
            server.set_rcvtimeo(PATIENCE_MS).unwrap();
            server.bind(&role[1]).unwrap();
            tell("bound");
            let (_, first) = server.recv_from(0).unwrap();
            assert_eq!(first, b"hello");
            // Caught up: what was read goes back to the writers now.
            assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
            tell(&format!("got hello shm {}", server.shared_memory_peers()));
            let n: usize = hear().strip_prefix("read ").unwrap().parse().unwrap();
            for _ in 0..n {
                server.recv_from(0).unwrap();
            }
            tell("read");
            assert_eq!(hear(), "exit");
        }
        // Binds a SERVER that never reads, until killed.
        "deaf-server" => {
            let server = ctx.server().unwrap();
            server.bind(&role[1]).unwrap();
            tell("bound");
            loop {
                std::thread::park();
            }
        }
        // A CLIENT that sends `n` numbered messages, all but the first
        // once its connection is in shared memory, then waits to be killed.
        "sender" => {
            let client = ctx.client().unwrap();
            client.set_sndtimeo(PATIENCE_MS).unwrap();
            client.connect(&role[1]).unwrap();
            let n: u32 = role[2].parse().unwrap();
            client.send(0u32.to_le_bytes(), 0).unwrap();
            let deadline = std::time::Instant::now() + WITHIN;
            while client.shared_memory_peers() == 0 {
                assert!(std::time::Instant::now() < deadline, "never upgraded");
                // A call on the socket takes the peer its engine handed over.
                let _ = client.recv_bytes(DONTWAIT);
                thread::yield_now();
            }
            for i in 1..n {
                client.send(i.to_le_bytes(), 0).unwrap();
            }
            tell(&format!("sent shm {}", client.shared_memory_peers()));
            loop {
                std::thread::park();
            }
        }
        // A CLIENT that says hello and waits for the reply.
        "greeter" => {
            let client = ctx.client().unwrap();
            client.set_rcvtimeo(PATIENCE_MS).unwrap();
            client.connect(&role[1]).unwrap();
            client.send("again", 0).unwrap();
            assert_eq!(client.recv_bytes(0).unwrap(), b"welcome");
            tell("welcomed");
        }
        // A CLIENT that sends "ping" until a SERVER answers "pong", each
        // time told to.
        "persistent" => {
            let client = ctx.client().unwrap();
            client.set_rcvtimeo(50).unwrap();
            client.connect(&role[1]).unwrap();
            while hear() == "ping" {
                let deadline = std::time::Instant::now() + WITHIN;
                loop {
                    assert!(std::time::Instant::now() < deadline, "no pong");
                    client.send("ping", 0).unwrap();
                    if let Ok(m) = client.recv_bytes(0) {
                        assert_eq!(m, b"pong");
                        break;
                    }
                }
                tell("ponged");
            }
        }
        // A CLIENT that sends "one", then (told to) "two".
        "pinger" => {
            let client = ctx.client().unwrap();
            client.connect(&role[1]).unwrap();
            client.send("one", 0).unwrap();
            assert_eq!(hear(), "go");
            client.send("two", 0).unwrap();
            tell("sent");
            assert_eq!(hear(), "exit");
        }
        // A CLIENT that says hello, then (told to) writes garbage over
        // every word of its shared segment, then stays until killed.
        "hostile" => {
            let client = ctx.client().unwrap();
            client.connect(&role[1]).unwrap();
            client.send("hello", 0).unwrap();
            let deadline = std::time::Instant::now() + WITHIN;
            while client.shared_memory_peers() == 0 {
                assert!(std::time::Instant::now() < deadline, "never upgraded");
                let _ = client.recv_bytes(DONTWAIT);
                thread::yield_now();
            }
            assert_eq!(hear(), "go");
            proc::scribble("zeroring-mpsc");
            tell("scribbled");
            loop {
                std::thread::park();
            }
        }
        // A CLIENT that, once in shared memory, sends from THREADS threads
        // messages of every size (`sizes`) and reads their echoes, checking
        // each and every thread's order.
        "big-client" => {
            let client = Arc::new(ctx.client().unwrap());
            client.set_sndtimeo(PATIENCE_MS).unwrap();
            client.set_rcvtimeo(PATIENCE_MS).unwrap();
            client.connect(&role[1]).unwrap();
            client.send(b"hello", 0).unwrap();
            upgraded(
                || client.shared_memory_peers(),
                || {
                    let _ = client.recv_bytes(DONTWAIT);
                },
            );
            let senders: Vec<_> = (0..THREADS)
                .map(|t| {
                    let client = client.clone();
                    thread::spawn(move || {
                        for (seq, len) in sizes(t).into_iter().enumerate() {
                            client.send(message(t, seq as u32, len), 0).unwrap();
                        }
                    })
                })
                .collect();
            let mut order = Order::default();
            for _ in 0..(0..THREADS).map(|t| sizes(t).len()).sum::<usize>() {
                order.check(&client.recv_bytes(0).unwrap());
            }
            for s in senders {
                s.join().unwrap();
            }
            tell(&format!("echoed shm {}", client.shared_memory_peers()));
            assert_eq!(hear(), "exit");
        }
        // A CLIENT that, once in shared memory, sends messages of 1 MiB
        // without waiting until refused (the pool spent: its reader is not
        // reading yet), then the rest of `n` waiting for room, then (told
        // to) checks that every chunk came back.
        "bulk-sender" => {
            let client = ctx.client().unwrap();
            client.set_sndtimeo(PATIENCE_MS).unwrap();
            client.connect(&role[1]).unwrap();
            client.send(b"hello", 0).unwrap();
            upgraded(
                || client.shared_memory_peers(),
                || {
                    let _ = client.recv_bytes(DONTWAIT);
                },
            );
            let n: u32 = role[2].parse().unwrap();
            let mut seq = 0;
            loop {
                match client.send(message(0, seq, 1 << 20), DONTWAIT) {
                    Ok(()) => seq += 1,
                    Err(Error::WouldBlock) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            tell(&format!("full at {seq}"));
            for seq in seq..n {
                client.send(message(0, seq, 1 << 20), 0).unwrap();
            }
            tell("sent");
            assert_eq!(hear(), "count");
            chunks_back(|| client.shared_memory_chunks_in_use());
            tell("chunks back");
        }
        // Binds a SERVER that reads `n` messages, checking each and every
        // sender thread's order.
        "big-server" => {
            let server = bound_server(&ctx, &role[1]);
            tell("bound");
            let n: usize = role[2].parse().unwrap();
            let mut order = Order::default();
            for _ in 0..n {
                order.check(&server.recv_from(0).unwrap().1);
            }
            tell(&format!("got {n} shm {}", server.shared_memory_peers()));
            assert_eq!(hear(), "exit");
        }
        other => panic!("no such role {other}"),
    }
}

/// Sending threads of the large-message tests.
const THREADS: u32 = 4;
/// The largest message a thread-safe socket sends.
const MAX_MESSAGE: usize = 64 << 20;

/// What thread `t` of a "big-client" sends, in order: small messages
/// between large ones of every class, and (thread 0) the largest allowed.
fn sizes(t: u32) -> Vec<usize> {
    let mut v = Vec::new();
    for _ in 0..3 {
        v.extend([16, (64 << 10) + 1, 16, 1 << 20]);
    }
    if t == 0 {
        v.extend([16, MAX_MESSAGE, 16]);
    }
    v
}

/// Message `seq` of thread `thread`, `len` bytes: both numbers, then bytes
/// that [`check`] can tell from any other message's.
fn message(thread: u32, seq: u32, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len];
    m[..4].copy_from_slice(&thread.to_le_bytes());
    m[4..8].copy_from_slice(&seq.to_le_bytes());
    fill(&mut m[8..], thread, seq, len);
    m
}

fn fill(b: &mut [u8], thread: u32, seq: u32, len: usize) {
    let seed = (u64::from(thread) << 32 | u64::from(seq)) ^ (len as u64).rotate_left(17);
    for (i, c) in b.chunks_mut(8).enumerate() {
        let w = seed
            .wrapping_add(i as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        c.copy_from_slice(&w.to_le_bytes()[..c.len()]);
    }
}

/// A message made by [`message`], intact: its thread and number.
fn check(m: &[u8]) -> (u32, u32) {
    assert!(m.len() >= 8, "a message of {} bytes", m.len());
    let thread = u32::from_le_bytes(m[..4].try_into().unwrap());
    let seq = u32::from_le_bytes(m[4..8].try_into().unwrap());
    let mut want = vec![0u8; m.len() - 8];
    fill(&mut want, thread, seq, m.len());
    assert!(
        m[8..] == want[..],
        "message {seq} of thread {thread} ({} bytes) garbled",
        m.len()
    );
    (thread, seq)
}

/// Each sending thread's messages, checked to arrive intact and in order.
#[derive(Default)]
struct Order(std::collections::HashMap<u32, u32>);

impl Order {
    fn check(&mut self, m: &[u8]) {
        let (thread, seq) = check(m);
        let next = self.0.entry(thread).or_insert(0);
        assert_eq!(seq, *next, "thread {thread}'s messages out of order");
        *next += 1;
    }
}

/// Waits (bounded) until `peers` says the connection is in shared memory,
/// running `adopt` (a call on the socket takes the peer its engine handed
/// over) between looks.
fn upgraded(peers: impl Fn() -> usize, adopt: impl Fn()) {
    let deadline = std::time::Instant::now() + WITHIN;
    while peers() == 0 {
        assert!(std::time::Instant::now() < deadline, "never upgraded");
        adopt();
        thread::yield_now();
    }
}

/// Waits (bounded) until `in_use` says no peer holds a chunk of the pool.
fn chunks_back(in_use: impl Fn() -> usize) {
    let deadline = std::time::Instant::now() + WITHIN;
    while in_use() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} chunks never came back",
            in_use()
        );
        thread::yield_now();
    }
}

/// A peer that writes garbage over the shared segment breaks only its own
/// connection: nothing comes of it here (no panic, no hang, no message),
/// a reply to it is refused, and the SERVER goes on with the next peer.
#[test]
fn a_hostile_peers_scribble_closes_only_its_connection() {
    let ep = endpoint("hostile");
    let ctx = Context::new();
    let server = bound_server(&ctx, &ep);
    let mut child = spawn(&["hostile", &ep]);
    let (id, m) = server.recv_from(0).unwrap();
    assert_eq!(m, b"hello");
    child.say("go");
    child.expect("scribbled", WITHIN);
    server.set_rcvtimeo(200).unwrap();
    assert!(matches!(server.recv_from(0), Err(Error::TimedOut)));
    assert!(matches!(
        server.send_to(id, "x", DONTWAIT),
        Err(Error::HostUnreachable)
    ));
    child.kill();

    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    let mut next = spawn(&["greeter", &ep]);
    let (id, m) = server.recv_from(0).unwrap();
    assert_eq!(m, b"again");
    server.send_to(id, "welcome", 0).unwrap();
    next.expect("welcomed", WITHIN);
    next.success(WITHIN);
}

/// A SERVER bound here that closes ends its shared-memory connections (not
/// only its pipes): the CLIENT in the child reconnects to the next SERVER
/// bound there.
#[test]
fn a_closed_binder_ends_its_connections() {
    let ep = endpoint("rebind");
    let ctx = Context::new();
    let mut child = spawn(&["persistent", &ep]);
    for round in 0..2 {
        let server = bound_server(&ctx, &ep);
        child.say("ping");
        let (id, m) = server.recv_from(0).unwrap();
        assert_eq!(m, b"ping", "round {round}");
        server.send_to(id, "pong", 0).unwrap();
        child.expect("ponged", WITHIN);
        assert_eq!(server.shared_memory_peers(), 1, "over shared memory");
    }
    child.say("exit");
    child.success(WITHIN);
}

/// A poll on a SERVER wakes for a message a peer in another process
/// publishes in the shared ring (its ring reaches the futex only; the
/// bridge passes it on to the poll).
#[test]
fn a_poll_wakes_for_a_message_from_another_process() {
    let ep = endpoint("poll");
    let ctx = Context::new();
    let server = bound_server(&ctx, &ep);
    let mut child = spawn(&["pinger", &ep]);
    assert_eq!(server.recv_from(0).unwrap().1, b"one");
    assert_eq!(server.shared_memory_peers(), 1);
    let server = Arc::new(server);
    let (started, polled) = std::sync::mpsc::channel();
    let poller = {
        let server = server.clone();
        thread::spawn(move || {
            let mut items = [server.as_poll_item(zeroring::POLLIN)];
            started.send(None).unwrap();
            let n = zeroring::poll(&mut items, -1).unwrap();
            started.send(Some(n)).unwrap();
        })
    };
    assert_eq!(polled.recv_timeout(WITHIN).unwrap(), None);
    child.say("go");
    child.expect("sent", WITHIN);
    let woken = polled
        .recv_timeout(WITHIN)
        .expect("the poll was never woken");
    assert_eq!(woken, Some(1));
    poller.join().unwrap();
    assert_eq!(server.recv_from(DONTWAIT).unwrap().1, b"two");
    child.say("exit");
    child.success(WITHIN);
}

/// A CLIENT here with SNDHWM 5 to a SERVER in a child with RCVHWM 5: the
/// connection's mark is their sum, counted in messages across the two
/// processes; a send blocked at it goes once the remote reader has made
/// room (its release rings this socket's doorbell, relayed to the waiting
/// writer).
#[test]
fn the_mark_spans_both_processes_and_a_release_wakes_the_writer() {
    const MORE: u32 = 3000;
    let ep = endpoint("hwm");
    let mut child = spawn(&["slow-server", &ep]);
    child.expect("bound", WITHIN);
    let ctx = Context::new();
    let client = Arc::new(ctx.client().unwrap());
    client.set_sndhwm(5).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect(&ep).unwrap();
    client.send("hello", 0).unwrap();
    child.expect("got hello shm 1", WITHIN);
    // Everything sent is released: the mark is whole.
    let mut sent = 0;
    while client.send(b"x", DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 10, "past the mark");
    }
    assert_eq!(sent, 10, "SNDHWM 5 here plus RCVHWM 5 there");
    assert_eq!(client.shared_memory_peers(), 1, "over shared memory");
    // Then many more through the mark: the writer waits for room again
    // and again, woken each time from the other process. Without a
    // deadline: one would end a wait nobody woke with a look that finds
    // the room, and hide the lost wake-up (the child's `expect` bounds
    // the test instead).
    client.set_sndtimeo(-1).unwrap();
    let blocked = {
        let client = client.clone();
        thread::spawn(move || (0..MORE).try_for_each(|i| client.send(i.to_le_bytes(), 0)))
    };
    child.say(&format!("read {}", 10 + MORE));
    child.expect("read", WITHIN);
    blocked.join().unwrap().unwrap();
    child.say("exit");
    child.success(WITHIN);
}

/// A CLIENT child killed after sending: every message it published is
/// read here, in order, then nothing more (no hang); the SERVER goes on
/// with the next peer, and replies to it.
#[test]
fn a_killed_peers_messages_are_read_and_the_server_goes_on() {
    const N: u32 = 300;
    let ep = endpoint("kill");
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvhwm(1000).unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind(&ep).unwrap();
    let mut child = spawn(&["sender", &ep, &N.to_string()]);
    child.expect("sent shm 1", WITHIN);
    child.kill();
    for i in 0..N {
        let (_, m) = server.recv_from(0).unwrap();
        assert_eq!(m, i.to_le_bytes(), "message {i}");
    }
    server.set_rcvtimeo(200).unwrap();
    assert!(matches!(server.recv_from(0), Err(Error::TimedOut)));
    assert_eq!(server.shared_memory_peers(), 1);

    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    let mut next = spawn(&["greeter", &ep]);
    let (id, m): (RoutingId, _) = server.recv_from(0).unwrap();
    assert_eq!(m, b"again");
    server.send_to(id, "welcome", 0).unwrap();
    next.expect("welcomed", WITHIN);
    next.success(WITHIN);
    assert_eq!(server.shared_memory_peers(), 2);
}

/// A CLIENT here blocked at its mark toward a SERVER child that never
/// reads: killing the child wakes the send, which then queues for the next
/// connection (a CLIENT's peer reconnects, as libzmq's does).
#[test]
fn a_writer_waiting_for_room_is_woken_when_the_reader_dies() {
    let ep = endpoint("deaf");
    let mut child = spawn(&["deaf-server", &ep]);
    child.expect("bound", WITHIN);
    let ctx = Context::new();
    let client = Arc::new(ctx.client().unwrap());
    client.set_sndhwm(2).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect(&ep).unwrap();
    // Fill the connection's mark once it is up in shared memory.
    let deadline = std::time::Instant::now() + WITHIN;
    while client.shared_memory_peers() == 0 {
        assert!(std::time::Instant::now() < deadline, "never upgraded");
        let _ = client.send(b"fill", DONTWAIT);
        thread::yield_now();
    }
    while client.send(b"fill", DONTWAIT).is_ok() {}
    let blocked = {
        let client = client.clone();
        thread::spawn(move || client.send(b"after", 0))
    };
    child.kill();
    blocked.join().unwrap().unwrap();
}

/// Sends `body` to `group` on `radio` until `dish` receives it (a join
/// travels on its own time, and a RADIO drops what nobody joined).
fn hear_on(radio: &zeroring::Radio, dish: &zeroring::Dish, group: &str, body: &str) {
    dish.set_rcvtimeo(50).unwrap();
    for _ in 0..2400 {
        radio.send(group, body, 0).unwrap();
        match dish.recv_group(0) {
            Ok((g, b)) if g == group.as_bytes() && b == body.as_bytes() => return,
            // A copy sent in an earlier round that came late.
            Ok(_) | Err(Error::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    panic!("{group} never arrived");
}

/// A connecting DISH's joins reach a RADIO over shared memory (the RADIO
/// reads them from the DISH's ring), those made after the connection too,
/// and all of them again the next RADIO bound there after the first went.
#[test]
fn a_connecting_dishs_joins_reach_each_radio_it_connects_to() {
    let ep = endpoint("dish");
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    dish.connect(&ep).unwrap();
    dish.join("tv").unwrap();
    let radio = ctx.radio().unwrap();
    radio.bind(&ep).unwrap();
    hear_on(&radio, &dish, "tv", "first");
    dish.join("radio").unwrap();
    hear_on(&radio, &dish, "radio", "later");
    assert_eq!(radio.shared_memory_peers(), 1, "over shared memory");
    drop(radio);

    let radio = ctx.radio().unwrap();
    radio.bind(&ep).unwrap();
    hear_on(&radio, &dish, "tv", "again");
    hear_on(&radio, &dish, "radio", "again");
    assert_eq!(radio.shared_memory_peers(), 1, "over shared memory");
    assert_eq!(dish.shared_memory_peers(), 2);
}

/// A CLIENT child sends messages of 64 KiB + 1, 1 MiB and the largest
/// allowed (64 MiB), between small ones, from four threads over shared
/// memory: all arrive here intact and in each thread's order, and so do
/// their echoes from this SERVER (its own chunks) back in the child.
#[test]
fn large_messages_cross_processes_both_ways() {
    let ep = endpoint("big");
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.set_sndtimeo(PATIENCE_MS).unwrap();
    server.bind(&ep).unwrap();
    let mut child = spawn(&["big-client", &ep]);
    let (_, hello) = server.recv_from(0).unwrap();
    assert_eq!(hello, b"hello");
    let mut order = Order::default();
    for _ in 0..(0..THREADS).map(|t| sizes(t).len()).sum::<usize>() {
        let (id, m) = server.recv_from(0).unwrap();
        order.check(&m);
        server.send_to(id, &m, 0).unwrap();
    }
    child.expect("echoed shm 1", WITHIN);
    assert_eq!(server.shared_memory_peers(), 1, "over shared memory");
    child.say("exit");
    child.success(WITHIN);
    chunks_back(|| server.shared_memory_chunks_in_use());
}

/// Many more large messages in a row than the sender's pool holds at once
/// (200 of 1 MiB, 32 chunks of that size): a sender that may not wait is
/// refused once the pool is spent, one that waits is woken as chunks come
/// back; all arrive, and all chunks are back at the end.
#[test]
fn more_large_messages_than_the_pool_holds_all_arrive() {
    const N: u32 = 200;
    let ep = endpoint("bulk");
    let ctx = Context::new();
    let server = bound_server(&ctx, &ep);
    let mut child = spawn(&["bulk-sender", &ep, &N.to_string()]);
    assert_eq!(server.recv_from(0).unwrap().1, b"hello");
    child.expect("full at 32", WITHIN);
    let mut order = Order::default();
    for _ in 0..N {
        let (_, m) = server.recv_from(0).unwrap();
        assert_eq!(m.len(), 1 << 20);
        order.check(&m);
    }
    assert_eq!(server.shared_memory_peers(), 1, "over shared memory");
    child.expect("sent", WITHIN);
    child.say("count");
    child.expect("chunks back", WITHIN);
    child.success(WITHIN);
}

/// Large messages a CLIENT queued before its peer existed (in its ring to
/// the engine) move into the shared ring through chunks once the SERVER
/// binds, never dropped.
#[test]
fn large_messages_queued_before_the_peer_binds_arrive() {
    let ep = endpoint("early");
    let ctx = Context::new();
    let client = ctx.client().unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect(&ep).unwrap();
    for (seq, len) in [(64 << 10) + 1, 16, 1 << 20, MAX_MESSAGE]
        .into_iter()
        .enumerate()
    {
        client.send(message(0, seq as u32, len), 0).unwrap();
    }
    let mut child = spawn(&["big-server", &ep, "4"]);
    child.expect("bound", WITHIN);
    child.expect("got 4 shm 1", WITHIN);
    chunks_back(|| client.shared_memory_chunks_in_use());
    child.say("exit");
    child.success(WITHIN);
}

/// A SERVER child killed while it holds large messages unread: every chunk
/// comes back to this CLIENT's pool, and the CLIENT goes on with the next
/// SERVER bound there, large messages included.
#[test]
fn a_killed_reader_gives_back_the_chunks_it_held() {
    let ep = endpoint("deaf-big");
    let mut child = spawn(&["deaf-server", &ep]);
    child.expect("bound", WITHIN);
    let ctx = Context::new();
    let client = ctx.client().unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect(&ep).unwrap();
    upgraded(
        || client.shared_memory_peers(),
        || {
            let _ = client.recv_bytes(DONTWAIT);
        },
    );
    for seq in 0..5 {
        client.send(message(0, seq, 1 << 20), 0).unwrap();
    }
    assert_eq!(
        client.shared_memory_chunks_in_use(),
        5,
        "held by the reader"
    );
    child.kill();
    chunks_back(|| client.shared_memory_chunks_in_use());

    let mut next = spawn(&["big-server", &ep, "3"]);
    next.expect("bound", WITHIN);
    for (seq, len) in [1 << 20, 16, 4 << 20].into_iter().enumerate() {
        client.send(message(1, seq as u32, len), 0).unwrap();
    }
    // In shared memory again (the next SERVER says so), through chunks of
    // the same pool.
    next.expect("got 3 shm 1", WITHIN);
    chunks_back(|| client.shared_memory_chunks_in_use());
    next.say("exit");
    next.success(WITHIN);
}

/// A RADIO's large message reaches its DISH over shared memory in a chunk.
#[test]
fn a_radios_large_message_reaches_its_dish() {
    let ep = endpoint("radio-big");
    let ctx = Context::new();
    let radio = ctx.radio().unwrap();
    radio.bind(&ep).unwrap();
    let dish = ctx.dish().unwrap();
    dish.connect(&ep).unwrap();
    dish.join("big").unwrap();
    hear_on(&radio, &dish, "big", "small first");
    assert_eq!(radio.shared_memory_peers(), 1, "over shared memory");
    let big = message(0, 0, 1 << 20);
    radio.send("big", &big, 0).unwrap();
    dish.set_rcvtimeo(PATIENCE_MS).unwrap();
    loop {
        let (g, m) = dish.recv_group(0).unwrap();
        assert_eq!(g, b"big");
        // Copies of the small one `hear_on` sent may come late.
        if m != b"small first" {
            check(&m);
            assert_eq!(m.len(), big.len());
            break;
        }
    }
    chunks_back(|| radio.shared_memory_chunks_in_use());
}
