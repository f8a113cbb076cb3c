//! What idle connections and idle pipes keep resident, and that it goes
//! back once they are gone. One test per binary: it reads the process's
//! resident size, which other tests running beside it would disturb.
//! (`examples/idle_conns.rs` measures the same at 10,000 connections.)

mod common;
#[path = "support/raw_zmtp.rs"]
mod raw_zmtp;
#[path = "support/rss.rs"]
mod rss;
use rss::rss_kib;

use common::*;
use std::time::{Duration, Instant};
use zeroring::monitor::Event;
use zeroring::{Context, SocketType::*};

#[test]
fn idle_connections_and_pipes_cost_pages_and_give_them_back() {
    const PEERS: usize = 500;
    let ctx = Context::new();
    // An idle inproc pipe with gigabyte rings holds their touched pages.
    let before = rss_kib();
    let (a, b) = {
        let a = socket(&ctx, Pair);
        a.set_ring_capacity(1 << 30).unwrap();
        a.bind("inproc://huge").unwrap();
        let b = socket(&ctx, Pair);
        b.set_ring_capacity(1 << 30).unwrap();
        b.connect("inproc://huge").unwrap();
        (a, b)
    };
    a.send("x", 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"x");
    let huge = rss_kib().saturating_sub(before);
    assert!(
        huge < 4 << 10,
        "an idle pipe of 1 GiB rings holds {huge} KiB"
    );
    drop((a, b));

    // Idle tcp connections, served by a thread blocked in recv.
    let router = socket(&ctx, Router);
    let events = monitor(&ctx, &router, "idle");
    router.bind("tcp://127.0.0.1:0").unwrap();
    let port: u16 = router
        .get_last_endpoint()
        .unwrap()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let serving = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (got, received) = std::sync::mpsc::channel();
    let server = {
        let serving = serving.clone();
        std::thread::spawn(move || {
            // As an idle server: blocked in recv (waking to see the flag).
            router.set_rcvtimeo(100).unwrap();
            while serving.load(std::sync::atomic::Ordering::Relaxed) {
                if router.recv_multipart(0).is_ok() {
                    let _ = got.send(());
                }
            }
        })
    };
    // Each peer says hello, and the memory is read once the server has
    // every hello: then it has taken each peer's pipe in (which it does on
    // its own thread, as late as its next receive).
    let connect = |n: usize| -> Vec<raw_zmtp::Peer> {
        let peers: Vec<_> = (0..n)
            .map(|_| {
                let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut p = raw_zmtp::Peer::new(s, Duration::from_secs(20));
                p.handshake("DEALER");
                p.send(&raw_zmtp::message(b"hello", false));
                p
            })
            .collect();
        for i in 0..n {
            received
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("the server got {i} of {n} hellos in 20 s"));
        }
        peers
    };
    let wait_for = |want: Event, n: usize| {
        let mut seen = 0;
        while seen < n {
            if next_event(&events).event == want {
                seen += 1;
            }
        }
    };
    // Warm-up: what the first connections allocate once (thread stacks,
    // tables) is not what each one costs.
    let warm = connect(8);
    wait_for(Event::HandshakeSucceeded, 8);
    let base = rss_kib();
    let peers = connect(PEERS);
    wait_for(Event::HandshakeSucceeded, PEERS);
    let loaded = rss_kib();
    let each = (loaded.saturating_sub(base)) / PEERS as u64;
    assert!(each <= 64, "an idle connection holds {each} KiB");

    drop(peers);
    wait_for(Event::Disconnected, PEERS);
    // Given back a moment after (the I/O thread trims the heap a second
    // after connections end): bounded, and loud.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = rss_kib();
        let back = loaded.saturating_sub(now) as f64 / loaded.saturating_sub(base).max(1) as f64;
        if back >= 0.9 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{:.0} % of {} KiB back after the peers left",
            back * 100.0,
            loaded - base
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(warm);
    serving.store(false, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
}
