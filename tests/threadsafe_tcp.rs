//! Thread-safe sockets over tcp (zeroring on both ends): CLIENT/SERVER
//! and SCATTER/GATHER through the ZMTP engine.

#[path = "support/many_senders.rs"]
mod many_senders;

use std::sync::Arc;
use std::thread;
use zeroring::{Context, Error, DONTWAIT};

/// Long enough never to expire on a loaded machine unless something hangs.
const PATIENCE_MS: i32 = 30_000;

/// Several threads on each of two CLIENTs, one SERVER over tcp: every
/// message arrives once, in each thread's order, and replies by routing id
/// reach the client that asked.
#[test]
fn client_threads_and_replies_over_tcp() {
    const CLIENTS: u8 = 2;
    const THREADS: u8 = 4;
    const PER_THREAD: u32 = 2_000;
    let ctx = Context::new();
    let server = Arc::new(ctx.server().unwrap());
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = server.get_last_endpoint().unwrap();
    let echo = {
        let server = server.clone();
        thread::spawn(move || {
            let mut next = std::collections::HashMap::new();
            for _ in 0..CLIENTS as u32 * THREADS as u32 * PER_THREAD {
                let (id, m) = server.recv_from(0).unwrap();
                let seq = u32::from_le_bytes(m[2..6].try_into().unwrap());
                let n = next.entry((m[0], m[1])).or_insert((id, 0u32));
                assert_eq!(n.0, id, "client {}'s routing id changed", m[0]);
                assert_eq!(n.1, seq, "client {} thread {} out of order", m[0], m[1]);
                n.1 += 1;
                server.send_to(id, &m, 0).unwrap();
            }
        })
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = Arc::new(ctx.client().unwrap());
            client.set_rcvtimeo(PATIENCE_MS).unwrap();
            client.set_sndtimeo(PATIENCE_MS).unwrap();
            client.connect(&endpoint).unwrap();
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let client = client.clone();
                    thread::spawn(move || {
                        for seq in 0..PER_THREAD {
                            let mut m = vec![c, t];
                            m.extend_from_slice(&seq.to_le_bytes());
                            client.send(m, 0).unwrap();
                        }
                    })
                })
                .collect();
            (c, client, threads)
        })
        .collect();
    for (c, client, threads) in clients {
        for t in threads {
            t.join().unwrap();
        }
        for _ in 0..THREADS as u32 * PER_THREAD {
            let m = client.recv_bytes(0).unwrap();
            assert_eq!(m[0], c, "client {c} got client {}'s reply", m[0]);
        }
        assert!(matches!(
            client.recv_bytes(DONTWAIT),
            Err(Error::WouldBlock)
        ));
    }
    echo.join().unwrap();
}

/// The bar over tcp: 8 threads on one CLIENT, one SERVER; nothing
/// lost or duplicated, each thread's order kept. SNDHWM is small and the
/// server reads nothing until the CLIENT's ring is at its mark, so the
/// senders wait for room, which only the engine's releases (on the I/O
/// thread) give them: a lost wake-up is a send that times out. Some
/// messages are above the ring's inline limit (they travel by descriptor).
#[test]
fn eight_threads_on_one_client_over_tcp_wait_for_the_engine() {
    const THREADS: u32 = 8;
    const PER_THREAD: u32 = 10_000;
    const PROBE: u32 = u32::MAX;
    const LARGE_EVERY: u32 = 100;
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvhwm(100).unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let client = Arc::new(ctx.client().unwrap());
    client.set_sndhwm(8).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client
        .connect(&server.get_last_endpoint().unwrap())
        .unwrap();

    let senders = many_senders::send_from_threads(&client, THREADS, PER_THREAD, LARGE_EVERY);

    // The stream and the server's pipe fill up, then the client's ring:
    // the senders wait (a probe finds no room).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut probes = 0;
    loop {
        match client.send(PROBE.to_le_bytes(), DONTWAIT) {
            Ok(()) => probes += 1,
            Err(Error::WouldBlock) => break,
            Err(e) => panic!("probe: {e}"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the ring never filled"
        );
        thread::yield_now();
    }

    let mut received = many_senders::Received::new(THREADS, LARGE_EVERY);
    let mut n = 0;
    while n < THREADS * PER_THREAD {
        let (id, m) = server.recv_from(0).unwrap();
        if m[..4] == PROBE.to_le_bytes() {
            probes -= 1;
            continue;
        }
        received.take(id, &m);
        n += 1;
    }
    received.finish(senders, PER_THREAD);
    while probes > 0 {
        let (_, m) = server.recv_from(0).unwrap();
        assert_eq!(m, PROBE.to_le_bytes(), "a message after the last");
        probes -= 1;
    }
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
}

/// Messages a CLIENT sent before it was dropped still reach the SERVER
/// (LINGER: the engine sends what is queued in the ring, then closes).
#[test]
fn messages_outlive_a_dropped_client_over_tcp() {
    const N: u32 = 1_000;
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let client = ctx.client().unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client
        .connect(&server.get_last_endpoint().unwrap())
        .unwrap();
    for i in 0..N {
        client.send(i.to_le_bytes(), 0).unwrap();
    }
    drop(client);
    for i in 0..N {
        let (_, m) = server.recv_from(0).unwrap();
        assert_eq!(m, i.to_le_bytes());
    }
}

/// A connection that ends closes the ring its socket sends into: a
/// SERVER's sends to that peer become unreachable, and a CLIENT's go to
/// its other peer (both bound: a connecter's ring waits for reconnects).
#[test]
fn a_closed_connection_routes_sends_elsewhere() {
    let patience = std::time::Duration::from_millis(PATIENCE_MS as u64);
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let client = ctx.client().unwrap();
    client
        .connect(&server.get_last_endpoint().unwrap())
        .unwrap();
    client.send("hello", 0).unwrap();
    let (id, _) = server.recv_from(0).unwrap();
    server.send_to(id, "hi", 0).unwrap();
    drop(client);
    let deadline = std::time::Instant::now() + patience;
    loop {
        match server.send_to(id, "gone?", 0) {
            Ok(()) => assert!(std::time::Instant::now() < deadline, "never unreachable"),
            Err(Error::HostUnreachable) => break,
            Err(e) => panic!("send to a gone client: {e}"),
        }
        thread::sleep(std::time::Duration::from_millis(1));
    }

    let client = ctx.client().unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = client.get_last_endpoint().unwrap();
    let mut servers: Vec<_> = (0..2)
        .map(|_| {
            let s = ctx.server().unwrap();
            s.set_rcvtimeo(PATIENCE_MS).unwrap();
            s.connect(&endpoint).unwrap();
            s
        })
        .collect();
    // Both connections up: each server hears from the client.
    let mut heard = [false; 2];
    while heard != [true; 2] {
        client.send("hello", 0).unwrap();
        for (i, s) in servers.iter().enumerate() {
            heard[i] |= s.recv_from(DONTWAIT).is_ok();
        }
        thread::yield_now();
    }
    let survivor = servers.pop().unwrap();
    while survivor.recv_from(DONTWAIT).is_ok() {}
    drop(servers);
    // Once the client sees the loss, every message reaches the survivor
    // (those sent before may be lost with the connection).
    survivor.set_rcvtimeo(200).unwrap();
    let deadline = std::time::Instant::now() + patience;
    let mut in_a_row = 0;
    while in_a_row < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "sends never settled on the survivor"
        );
        client.send("after", 0).unwrap();
        match survivor.recv_from(0) {
            Ok(_) => in_a_row += 1,
            Err(_) => in_a_row = 0,
        }
    }
}

/// The roles the other way round: the CLIENT binds, the SERVER connects;
/// a send begun before any peer is there goes when one comes.
#[test]
fn server_connects_to_a_bound_client() {
    let ctx = Context::new();
    let client = Arc::new(ctx.client().unwrap());
    client.set_rcvtimeo(PATIENCE_MS).unwrap();
    client.set_sndtimeo(PATIENCE_MS).unwrap();
    client.bind("tcp://127.0.0.1:0").unwrap();
    let sender = {
        let client = client.clone();
        thread::spawn(move || client.send("ping", 0))
    };
    let server = ctx.server().unwrap();
    server.set_rcvtimeo(PATIENCE_MS).unwrap();
    server
        .connect(&client.get_last_endpoint().unwrap())
        .unwrap();
    let (id, m) = server.recv_from(0).unwrap();
    assert_eq!(m, b"ping");
    sender.join().unwrap().unwrap();
    server.send_to(id, "pong", 0).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"pong");
}

#[test]
fn scatter_to_gather_over_tcp() {
    const THREADS: u32 = 3;
    const PER_THREAD: u32 = 3_000;
    let ctx = Context::new();
    let gather = ctx.gather().unwrap();
    gather.set_rcvtimeo(PATIENCE_MS).unwrap();
    gather.bind("tcp://127.0.0.1:0").unwrap();
    let scatter = Arc::new(ctx.scatter().unwrap());
    scatter.set_sndtimeo(PATIENCE_MS).unwrap();
    scatter
        .connect(&gather.get_last_endpoint().unwrap())
        .unwrap();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let scatter = scatter.clone();
            thread::spawn(move || {
                for seq in 0..PER_THREAD {
                    scatter
                        .send([t.to_le_bytes(), seq.to_le_bytes()].concat(), 0)
                        .unwrap();
                }
            })
        })
        .collect();
    let mut next = [0u32; THREADS as usize];
    for _ in 0..THREADS * PER_THREAD {
        let m = gather.recv_bytes(0).unwrap();
        let t = u32::from_le_bytes(m[..4].try_into().unwrap()) as usize;
        assert_eq!(u32::from_le_bytes(m[4..].try_into().unwrap()), next[t]);
        next[t] += 1;
    }
    for s in senders {
        s.join().unwrap();
    }
}

/// A GATHER has no ring to send into per connection (it never sends):
/// it still takes a SCATTER's messages, small and large, whichever side
/// binds.
#[test]
fn gather_without_a_sending_ring_in_either_role() {
    let ctx = Context::new();
    for gather_binds in [true, false] {
        let gather = ctx.gather().unwrap();
        gather.set_rcvtimeo(PATIENCE_MS).unwrap();
        let scatter = ctx.scatter().unwrap();
        scatter.set_sndtimeo(PATIENCE_MS).unwrap();
        if gather_binds {
            gather.bind("tcp://127.0.0.1:0").unwrap();
            scatter
                .connect(&gather.get_last_endpoint().unwrap())
                .unwrap();
        } else {
            scatter.bind("tcp://127.0.0.1:0").unwrap();
            gather
                .connect(&scatter.get_last_endpoint().unwrap())
                .unwrap();
        }
        for i in 0..100u32 {
            scatter.send(i.to_le_bytes(), 0).unwrap();
        }
        let big = vec![9u8; 100_000];
        scatter.send(&big, 0).unwrap();
        for i in 0..100u32 {
            assert_eq!(gather.recv_bytes(0).unwrap(), i.to_le_bytes());
        }
        assert_eq!(gather.recv_bytes(0).unwrap(), big);
        assert!(matches!(
            gather.recv_bytes(DONTWAIT),
            Err(Error::WouldBlock)
        ));
    }
}

/// Receives the next `(group, body)`, or `None` once nothing comes
/// within `ms`.
fn next(dish: &zeroring::Dish, ms: i32) -> Option<(String, String)> {
    dish.set_rcvtimeo(ms).unwrap();
    match dish.recv_group(0) {
        Ok((g, m)) => Some((String::from_utf8(g).unwrap(), String::from_utf8(m).unwrap())),
        Err(Error::TimedOut) => None,
        Err(e) => panic!("{e}"),
    }
}

/// Sends `body` to `group` until the dish has it (a JOIN travels to the
/// RADIO on its own time, and RADIO drops what no peer joined), then
/// returns how many went; each try waits a little for the message.
fn send_until_heard(radio: &zeroring::Radio, dish: &zeroring::Dish, group: &str, body: &str) {
    for _ in 0..600 {
        radio.send(group, body, 0).unwrap();
        if let Some(got) = next(dish, 50) {
            assert_eq!(got, (group.to_owned(), body.to_owned()));
            // Copies sent before the first was heard may follow.
            while let Some(more) = next(dish, 200) {
                assert_eq!(more, (group.to_owned(), body.to_owned()));
            }
            return;
        }
    }
    panic!("{group} never reached the dish");
}

/// RADIO to DISH over tcp, either side binding: only the groups joined
/// arrive, a group left stops, and a group joined later starts (as the
/// DISH's user sees it; `radio_filters_before_the_wire` shows the RADIO
/// does the filtering).
#[test]
fn radio_to_dish_over_tcp_by_group() {
    for dish_binds in [true, false] {
        let ctx = Context::new();
        let radio = ctx.radio().unwrap();
        let dish = ctx.dish().unwrap();
        dish.join("tv").unwrap();
        if dish_binds {
            dish.bind("tcp://127.0.0.1:0").unwrap();
            radio.connect(&dish.get_last_endpoint().unwrap()).unwrap();
        } else {
            radio.bind("tcp://127.0.0.1:0").unwrap();
            dish.connect(&radio.get_last_endpoint().unwrap()).unwrap();
        }
        send_until_heard(&radio, &dish, "tv", "first");
        // The JOIN of tv is in: radio sends in order on one connection,
        // so what the dish gets next tells what was filtered.
        radio.send("radio", "not joined", 0).unwrap();
        radio.send("t", "a prefix, not tv", 0).unwrap();
        radio.send("tv", "second", 0).unwrap();
        assert_eq!(
            next(&dish, PATIENCE_MS),
            Some(("tv".into(), "second".into()))
        );
        dish.join("radio").unwrap();
        send_until_heard(&radio, &dish, "radio", "now");
        dish.leave("tv").unwrap();
        // Once a radio message sent after tv's last arrives, tv's LEAVE
        // was read before it at the RADIO (one connection, in order).
        for _ in 0..600 {
            radio.send("tv", "left", 0).unwrap();
            radio.send("radio", "mark", 0).unwrap();
            match next(&dish, 50) {
                Some((g, _)) if g == "radio" => break,
                Some((g, m)) => assert_eq!((g.as_str(), m.as_str()), ("tv", "left")),
                None => {}
            }
        }
        radio.send("tv", "gone", 0).unwrap();
        radio.send("radio", "last", 0).unwrap();
        loop {
            let got = next(&dish, PATIENCE_MS).expect("radio's last never came");
            assert_ne!(got.1, "gone", "a left group's message arrived");
            if got.1 == "last" {
                break;
            }
        }
    }
}

/// The RADIO filters at the sender, after JOIN and after LEAVE: with marks
/// of one message, a flood of a group the DISH has not joined (16 MiB, more than the kernel's
/// buffers) would leave the pipes full and the joined message dropped if
/// it went on the wire; it does not, so the joined one arrives.
#[test]
fn radio_filters_before_the_wire() {
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    dish.set_rcvhwm(1).unwrap();
    dish.bind("tcp://127.0.0.1:0").unwrap();
    dish.join("in").unwrap();
    let radio = ctx.radio().unwrap();
    radio.set_sndhwm(1).unwrap();
    radio.connect(&dish.get_last_endpoint().unwrap()).unwrap();
    send_until_heard(&radio, &dish, "in", "joined");
    let big = vec![7u8; 16 << 10];
    for _ in 0..1024 {
        radio.send("out", &big, 0).unwrap();
    }
    radio.send("in", "still heard", 0).unwrap();
    assert_eq!(
        next(&dish, PATIENCE_MS),
        Some(("in".into(), "still heard".into()))
    );
    // The same after a LEAVE: the RADIO stops sending the group left.
    dish.leave("in").unwrap();
    dish.join("next").unwrap();
    // The LEAVE went before the JOIN on one connection: in at the RADIO
    // once `next` is heard.
    send_until_heard(&radio, &dish, "next", "joined");
    for _ in 0..1024 {
        radio.send("in", &big, 0).unwrap();
    }
    radio.send("next", "still heard", 0).unwrap();
    assert_eq!(
        next(&dish, PATIENCE_MS),
        Some(("next".into(), "still heard".into()))
    );
}

/// The DISH's joins reach a RADIO that comes after them, and one that
/// comes back after a restart (re-sent when the connection is up).
#[test]
fn dish_joins_are_sent_again_to_a_new_connection() {
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    dish.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = dish.get_last_endpoint().unwrap();
    dish.join("a").unwrap();
    dish.join("b").unwrap();
    dish.leave("a").unwrap();
    for _ in 0..2 {
        let radio = ctx.radio().unwrap();
        radio.connect(&endpoint).unwrap();
        send_until_heard(&radio, &dish, "b", "hello");
        radio.send("a", "left before", 0).unwrap();
        radio.send("b", "end", 0).unwrap();
        assert_eq!(next(&dish, PATIENCE_MS), Some(("b".into(), "end".into())));
    }
}

/// A DISH that connected sends its joins again when it reconnects to a
/// RADIO that came back on the same port.
#[test]
fn a_connected_dish_joins_again_after_a_reconnect() {
    let ctx = Context::new();
    let radio = ctx.radio().unwrap();
    radio.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = radio.get_last_endpoint().unwrap();
    let dish = ctx.dish().unwrap();
    dish.connect(&endpoint).unwrap();
    dish.join("g").unwrap();
    send_until_heard(&radio, &dish, "g", "first");
    drop(radio);
    let radio = ctx.radio().unwrap();
    // The old listener closes on the I/O thread, soon after the drop.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Err(e) = radio.bind(&endpoint) {
        assert!(
            matches!(e, Error::AddrInUse(_)) && std::time::Instant::now() < deadline,
            "{e}"
        );
        thread::sleep(std::time::Duration::from_millis(10));
    }
    send_until_heard(&radio, &dish, "g", "again");
}

/// A group of the longest (255 bytes, libzmq 4.3.3's) travels over tcp: its
/// JOIN, its group frame.
#[test]
fn the_longest_group_over_tcp() {
    let ctx = Context::new();
    let longest = "g".repeat(zeroring::GROUP_MAX_LENGTH);
    let dish = ctx.dish().unwrap();
    dish.bind("tcp://127.0.0.1:0").unwrap();
    dish.join(&longest).unwrap();
    let radio = ctx.radio().unwrap();
    radio.connect(&dish.get_last_endpoint().unwrap()).unwrap();
    send_until_heard(&radio, &dish, &longest, "joined");
}

/// The largest RADIO message (64 MiB with its group and the group's
/// length) reaches a DISH over tcp, and a larger one is refused at the
/// send (it was lost there, unseen: its pipe to the peer refused it).
#[test]
fn the_largest_radio_message_over_tcp() {
    const MAX: usize = 64 << 20;
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    dish.bind("tcp://127.0.0.1:0").unwrap();
    dish.join("g").unwrap();
    let radio = ctx.radio().unwrap();
    radio.connect(&dish.get_last_endpoint().unwrap()).unwrap();
    send_until_heard(&radio, &dish, "g", "joined");
    let mut big = vec![7u8; MAX - 1];
    assert!(matches!(
        radio.send("g", &big, 0),
        Err(Error::MessageTooLarge { .. })
    ));
    big.pop();
    radio.send("g", &big, 0).unwrap();
    dish.set_rcvtimeo(PATIENCE_MS).unwrap();
    let (group, got) = dish.recv_group(0).unwrap();
    assert_eq!(group, b"g");
    assert!(got == big, "the body changed on the way");
}

#[test]
fn radio_and_dish_refuse_what_libzmq_refuses() {
    let ctx = Context::new();
    let radio = ctx.radio().unwrap();
    assert!(matches!(
        radio.bind("udp://127.0.0.1:5556"),
        Err(Error::TransportNotSupported(_))
    ));
    assert!(matches!(
        radio.send([b'g'; zeroring::GROUP_MAX_LENGTH + 1], "m", 0),
        Err(Error::InvalidArgument(_))
    ));
}
