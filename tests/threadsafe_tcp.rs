//! Thread-safe sockets over tcp (zeroring on both ends): CLIENT/SERVER
//! and SCATTER/GATHER through the ZMTP engine.

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

#[test]
fn radio_and_dish_have_no_tcp_yet() {
    let ctx = Context::new();
    let radio = ctx.radio().unwrap();
    assert!(matches!(
        radio.bind("tcp://127.0.0.1:0"),
        Err(Error::TransportNotSupported(_))
    ));
    assert!(matches!(
        radio.connect("ipc:///tmp/zeroring-ts-none"),
        Err(Error::TransportNotSupported(_))
    ));
}
