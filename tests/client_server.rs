//! CLIENT and SERVER over inproc: thread-safe sockets with libzmq 4.3's
//! draft semantics (single frames, routing ids, load-balancing and
//! fair-queuing, high-water marks, timeouts).

#[path = "support/many_senders.rs"]
mod many_senders;

use std::collections::HashMap;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use zeroring::{Client, Context, Error, RoutingId, Server, SocketType, DONTWAIT, SNDMORE};

/// Long enough never to expire on a loaded machine unless something hangs.
const PATIENCE_MS: i32 = 30_000;

fn pair(ctx: &Context, name: &str) -> (Client, Server) {
    let server = ctx.server().unwrap();
    server.bind(name).unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    let client = ctx.client().unwrap();
    client.connect(name).unwrap();
    client.set_rcvtimeo(PATIENCE_MS).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    (client, server)
}

#[test]
fn handles_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Client>();
    shareable::<Server>();
    shareable::<RoutingId>();
}

/// The bar: 8 threads on one CLIENT, one SERVER; nothing lost or
/// duplicated, each thread's order kept. Some messages are large (they
/// travel outside the ring), and the marks are small, so senders block.
#[test]
fn eight_threads_on_one_client_lose_nothing_and_keep_their_order() {
    const THREADS: u32 = 8;
    const PER_THREAD: u32 = 20_000;
    const LARGE_EVERY: u32 = 1000;
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvhwm(100).unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("inproc://eight").unwrap();
    let client = Arc::new(ctx.client().unwrap());
    client.set_sndhwm(100).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect("inproc://eight").unwrap();

    let senders = many_senders::send_from_threads(&client, THREADS, PER_THREAD, LARGE_EVERY);
    let mut received = many_senders::Received::new(THREADS, LARGE_EVERY);
    for _ in 0..THREADS * PER_THREAD {
        let (id, m) = server.recv_from(0).unwrap();
        received.take(id, &m);
    }
    received.finish(senders, PER_THREAD);
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
}

/// Replies by routing id reach the client that asked, among several, while
/// the clients' threads all ask at once.
#[test]
fn replies_by_routing_id_reach_the_right_client() {
    const CLIENTS: usize = 4;
    const THREADS_PER_CLIENT: usize = 2;
    const ROUNDS: usize = 500;
    let ctx = Context::new();
    let server = Arc::new(ctx.server().unwrap());
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("inproc://replies").unwrap();
    let echo = {
        let server = server.clone();
        thread::spawn(move || {
            let mut ids = HashMap::new();
            for _ in 0..CLIENTS * THREADS_PER_CLIENT * ROUNDS {
                let (id, m) = server.recv_from(0).unwrap();
                // Every message of a client comes with that client's id.
                assert_eq!(*ids.entry(m[0]).or_insert(id), id);
                server.send_to(id, &m, 0).unwrap();
            }
            ids
        })
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = Arc::new(ctx.client().unwrap());
            client.set_rcvtimeo(PATIENCE_MS).unwrap();
            client.connect("inproc://replies").unwrap();
            let threads: Vec<_> = (0..THREADS_PER_CLIENT)
                .map(|t| {
                    let client = client.clone();
                    thread::spawn(move || {
                        for r in 0..ROUNDS {
                            client.send([c as u8, t as u8, r as u8], 0).unwrap();
                        }
                    })
                })
                .collect();
            (client, threads)
        })
        .collect();
    for (c, (client, threads)) in clients.into_iter().enumerate() {
        for t in threads {
            t.join().unwrap();
        }
        let mut per_thread = [0usize; THREADS_PER_CLIENT];
        for _ in 0..THREADS_PER_CLIENT * ROUNDS {
            let m = client.recv_bytes(0).unwrap();
            assert_eq!(m[0] as usize, c, "client {c} got client {}'s reply", m[0]);
            per_thread[m[1] as usize] += 1;
        }
        assert_eq!(per_thread, [ROUNDS; THREADS_PER_CLIENT]);
        assert!(matches!(
            client.recv_bytes(DONTWAIT),
            Err(Error::WouldBlock)
        ));
    }
    let ids = echo.join().unwrap();
    let distinct: std::collections::HashSet<_> = ids.values().collect();
    assert_eq!(
        distinct.len(),
        CLIENTS,
        "each client has its own routing id"
    );
}

#[test]
fn single_frames_only() {
    let ctx = Context::new();
    let (client, server) = pair(&ctx, "inproc://single");
    assert!(matches!(
        client.send("a", SNDMORE),
        Err(Error::InvalidArgument(_))
    ));
    client.send("b", 0).unwrap();
    let (id, m) = server.recv_from(0).unwrap();
    assert_eq!(m, b"b");
    assert!(matches!(
        server.send_to(id, "c", SNDMORE),
        Err(Error::InvalidArgument(_))
    ));
    // Nothing of the refused frames got through.
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
    assert!(matches!(
        client.recv_bytes(DONTWAIT),
        Err(Error::WouldBlock)
    ));
}

#[test]
fn unknown_or_gone_routing_id_is_unreachable() {
    let ctx = Context::new();
    let (client, server) = pair(&ctx, "inproc://unreachable");
    client.send("hi", 0).unwrap();
    let (id, _) = server.recv_from(0).unwrap();
    let other = RoutingId::new(id.get().wrapping_add(1000).max(1)).unwrap();
    assert!(matches!(
        server.send_to(other, "x", 0),
        Err(Error::HostUnreachable)
    ));
    server.send_to(id, "x", 0).unwrap();
    drop(client);
    assert!(matches!(
        server.send_to(id, "y", 0),
        Err(Error::HostUnreachable)
    ));
}

#[test]
fn dontwait_and_timeouts() {
    let ctx = Context::new();
    let client = ctx.client().unwrap();
    // No peer: a CLIENT's send blocks, as libzmq's.
    assert!(matches!(client.send("x", DONTWAIT), Err(Error::WouldBlock)));
    client.set_sndtimeo(0).unwrap();
    assert!(matches!(client.send("x", 0), Err(Error::WouldBlock)));
    client.set_sndtimeo(30).unwrap();
    let t = Instant::now();
    assert!(matches!(client.send("x", 0), Err(Error::TimedOut)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert!(matches!(
        client.recv_bytes(DONTWAIT),
        Err(Error::WouldBlock)
    ));
    client.set_rcvtimeo(30).unwrap();
    let t = Instant::now();
    assert!(matches!(client.recv_bytes(0), Err(Error::TimedOut)));
    assert!(t.elapsed() >= Duration::from_millis(30));
    assert!(client.set_rcvtimeo(-2).is_err());
    assert!(client.set_sndhwm(-1).is_err());
    assert_eq!(client.get_sndtimeo(), 30);
    assert_eq!(client.socket_type(), SocketType::Client);
}

/// A blocked send goes as soon as a peer appears.
#[test]
fn a_send_blocked_for_a_peer_goes_when_one_connects() {
    let ctx = Context::new();
    let client = Arc::new(ctx.client().unwrap());
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect("inproc://later").unwrap();
    let sender = {
        let client = client.clone();
        thread::spawn(move || client.send("waited", 0))
    };
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("inproc://later").unwrap();
    assert_eq!(server.recv_from(0).unwrap().1, b"waited");
    sender.join().unwrap().unwrap();
}

/// SNDHWM + RCVHWM messages fit in the pipe, as libzmq sums them for
/// inproc; then the send would block, until the reader has read.
#[test]
fn high_water_marks_count_messages() {
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvhwm(3).unwrap();
    server.bind("inproc://hwm").unwrap();
    let client = ctx.client().unwrap();
    client.set_sndhwm(4).unwrap();
    client.connect("inproc://hwm").unwrap();
    for i in 0..7u8 {
        client.send([i], DONTWAIT).unwrap();
    }
    assert!(matches!(client.send([7], DONTWAIT), Err(Error::WouldBlock)));
    client.set_sndtimeo(20).unwrap();
    assert!(matches!(client.send([7], 0), Err(Error::TimedOut)));
    for i in 0..7u8 {
        assert_eq!(server.recv_from(DONTWAIT).unwrap().1, [i]);
    }
    client.send([8], DONTWAIT).unwrap();
    assert_eq!(server.recv_from(DONTWAIT).unwrap().1, [8]);
}

/// A blocked sender wakes when the reader makes room.
#[test]
fn a_send_blocked_at_the_mark_goes_when_the_reader_reads() {
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvhwm(1).unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("inproc://hwm-wake").unwrap();
    let client = Arc::new(ctx.client().unwrap());
    client.set_sndhwm(1).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect("inproc://hwm-wake").unwrap();
    client.send("1", 0).unwrap();
    client.send("2", 0).unwrap();
    let sender = {
        let client = client.clone();
        thread::spawn(move || client.send("3", 0))
    };
    for want in ["1", "2", "3"] {
        assert_eq!(server.recv_from(0).unwrap().1, want.as_bytes());
    }
    sender.join().unwrap().unwrap();
}

#[test]
fn client_load_balances_over_servers() {
    let ctx = Context::new();
    let servers: Vec<Server> = (0..2)
        .map(|i| {
            let s = ctx.server().unwrap();
            s.bind(&format!("inproc://lb-{i}")).unwrap();
            s
        })
        .collect();
    let client = ctx.client().unwrap();
    for i in 0..2 {
        client.connect(&format!("inproc://lb-{i}")).unwrap();
    }
    for i in 0..6u8 {
        client.send([i], 0).unwrap();
    }
    for s in &servers {
        let mut got = Vec::new();
        while let Ok((_, m)) = s.recv_from(DONTWAIT) {
            got.push(m[0]);
        }
        assert_eq!(got.len(), 3, "round-robin: {got:?}");
    }
}

#[test]
fn server_fair_queues_its_clients() {
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.bind("inproc://fq").unwrap();
    let clients: Vec<Client> = (0..3)
        .map(|_| {
            let c = ctx.client().unwrap();
            c.connect("inproc://fq").unwrap();
            c
        })
        .collect();
    for (i, c) in clients.iter().enumerate() {
        for _ in 0..4 {
            c.send([i as u8], 0).unwrap();
        }
    }
    let got: Vec<u8> = (0..12)
        .map(|_| server.recv_from(DONTWAIT).unwrap().1[0])
        .collect();
    // Each window of three holds one message of each client.
    for w in got.chunks(3) {
        let mut w = w.to_vec();
        w.sort();
        assert_eq!(w, [0, 1, 2], "not fair-queued: {got:?}");
    }
}

/// Many threads receiving on one SERVER share its messages: each message
/// to exactly one of them.
#[test]
fn concurrent_receivers_share_the_messages() {
    const N: u32 = 20_000;
    const RECEIVERS: usize = 4;
    let ctx = Context::new();
    let (client, server) = pair(&ctx, "inproc://receivers");
    let server = Arc::new(server);
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let server = server.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let m = server.recv_from(0).unwrap().1;
                    if m.is_empty() {
                        return got;
                    }
                    got.push(u32::from_le_bytes(m[..].try_into().unwrap()));
                }
            })
        })
        .collect();
    for i in 0..N {
        client.send(i.to_le_bytes(), 0).unwrap();
    }
    for _ in 0..RECEIVERS {
        client.send([], 0).unwrap();
    }
    let mut all: Vec<u32> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
}

/// What a client sent before it went is still delivered.
#[test]
fn messages_outlive_their_sender() {
    let ctx = Context::new();
    let (client, server) = pair(&ctx, "inproc://outlive");
    for i in 0..10u8 {
        client.send([i], 0).unwrap();
    }
    client.send(vec![7u8; 100_000], 0).unwrap();
    drop(client);
    for i in 0..10u8 {
        assert_eq!(server.recv_from(0).unwrap().1, [i]);
    }
    assert_eq!(server.recv_from(0).unwrap().1.len(), 100_000);
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
}

/// Waits (30 s at most) until the thread `tid` of this process sleeps
/// (state S in /proc: a futex or condition variable wait).
fn wait_asleep(tid: nix::unistd::Pid) {
    let started = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // The state follows the name, which may hold spaces and ')'.
        let state = stat[stat.rfind(')').unwrap() + 2..].chars().next();
        if state == Some('S') {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "thread {tid} never blocked (state {state:?})"
        );
        thread::yield_now();
    }
}

#[test]
fn shutdown_wakes_blocked_calls() {
    let ctx = Context::new();
    let (client, server) = pair(&ctx, "inproc://shutdown");
    let server = Arc::new(server);
    let client = Arc::new(client);
    client.set_sndhwm(1).unwrap();
    // Each thread tells its kernel id, then makes its call.
    let (tids, tid) = std::sync::mpsc::channel();
    let receiver = {
        let (server, tids) = (server.clone(), tids.clone());
        thread::spawn(move || {
            tids.send(nix::unistd::gettid()).unwrap();
            server.recv_from(0)
        })
    };
    let lonely = Arc::new(ctx.client().unwrap());
    let sender = {
        let lonely = lonely.clone();
        thread::spawn(move || {
            tids.send(nix::unistd::gettid()).unwrap();
            lonely.send("nobody", 0)
        })
    };
    // Shut down once both sleep in the kernel (in their calls: nothing
    // else they do before sleeps), so that it is the shutdown that wakes
    // them. The assertions hold in either order, though: a call that
    // starts after the shutdown fails the same way at once.
    for _ in 0..2 {
        wait_asleep(tid.recv().unwrap());
    }
    ctx.shutdown();
    assert!(matches!(receiver.join().unwrap(), Err(Error::Terminated)));
    assert!(matches!(sender.join().unwrap(), Err(Error::Terminated)));
    assert!(matches!(client.send("x", 0), Err(Error::Terminated)));
    assert!(matches!(ctx.client(), Err(Error::Terminated)));
}

#[test]
fn endpoints_and_types() {
    let ctx = Context::new();
    assert!(matches!(
        ctx.socket(SocketType::Client),
        Err(Error::NotSupported)
    ));
    let server = ctx.server().unwrap();
    server.bind("inproc://taken").unwrap();
    let again = ctx.server().unwrap();
    assert!(matches!(
        again.bind("inproc://taken"),
        Err(Error::AddrInUse(_))
    ));
    assert!(matches!(
        again.connect("inproc://taken"),
        Err(Error::IncompatibleSocketType { .. })
    ));
    assert!(matches!(
        ctx.dish().unwrap().bind("udp://127.0.0.1:5555"),
        Err(Error::TransportNotSupported(_))
    ));
    assert!(matches!(
        again.bind("nonsense"),
        Err(Error::InvalidEndpoint { .. })
    ));
    // A name is free again once its socket has gone.
    drop(server);
    again.bind("inproc://taken").unwrap();
    assert_eq!(again.socket_type(), SocketType::Server);
}

/// A sender blocked on a full ring (holding credits toward the mark) while
/// the peers change: it goes to the new peer, and the old pipe's messages
/// all arrive.
#[test]
fn a_sender_blocked_on_a_full_ring_goes_to_a_new_peer() {
    let ctx = Context::new();
    let first = ctx.server().unwrap();
    first.bind("inproc://full-ring-1").unwrap();
    let client = Arc::new(ctx.client().unwrap());
    client.set_ring_capacity(4096).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.connect("inproc://full-ring-1").unwrap();
    let msg = [7u8; 900];
    let mut queued = 0;
    while client.send(msg, DONTWAIT).is_ok() {
        queued += 1;
    }
    assert!(queued < 10, "a 4 KiB ring holds a few 900-byte records");
    let sender = {
        let client = client.clone();
        thread::spawn(move || client.send(msg, 0))
    };
    let second = ctx.server().unwrap();
    second.set_rcvtimeo(PATIENCE_MS).unwrap();
    second.bind("inproc://full-ring-2").unwrap();
    client.connect("inproc://full-ring-2").unwrap();
    assert_eq!(second.recv_from(0).unwrap().1, msg);
    sender.join().unwrap().unwrap();
    for _ in 0..queued {
        assert_eq!(first.recv_from(DONTWAIT).unwrap().1, msg);
    }
}

/// Peers that leave together, found gone in one fair-queue turn that
/// wrapped past the end of the list, are all dropped, and the SERVER goes
/// on (it once removed them by position in the order it met them, which
/// after a wrap is not ascending: an index out of bounds).
#[test]
fn peers_gone_in_one_wrapped_turn_are_all_dropped() {
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("inproc://wrapped-turn").unwrap();
    let first = ctx.client().unwrap();
    first.connect("inproc://wrapped-turn").unwrap();
    let second = ctx.client().unwrap();
    second.connect("inproc://wrapped-turn").unwrap();
    // The first peer's message: the next turn starts at the second peer.
    first.send("a", 0).unwrap();
    assert_eq!(server.recv_from(0).unwrap().1, b"a");
    drop(first);
    drop(second);
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
    // Still a working socket: a new peer is heard.
    let third = ctx.client().unwrap();
    third.connect("inproc://wrapped-turn").unwrap();
    third.send("c", 0).unwrap();
    assert_eq!(server.recv_from(0).unwrap().1, b"c");
}

#[test]
fn last_endpoint_names_inproc_binds_and_connects() {
    // libzmq reports ZMQ_LAST_ENDPOINT for inproc as for any transport.
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    assert_eq!(server.get_last_endpoint(), None);
    server.bind("inproc://last-endpoint").unwrap();
    assert_eq!(
        server.get_last_endpoint().as_deref(),
        Some("inproc://last-endpoint")
    );
    // A bind refused leaves the last one named.
    assert!(server.bind("inproc://last-endpoint").is_err());
    assert_eq!(
        server.get_last_endpoint().as_deref(),
        Some("inproc://last-endpoint")
    );
    let client = ctx.client().unwrap();
    client.connect("inproc://last-endpoint").unwrap();
    assert_eq!(
        client.get_last_endpoint().as_deref(),
        Some("inproc://last-endpoint")
    );
}
