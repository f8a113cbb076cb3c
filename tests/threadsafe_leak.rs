//! The heap copies of large messages (above the pipe's inline limit, sent
//! by descriptor) are freed once their pipe's reader is gone, whatever
//! the order: a reader dropped with messages queued, a send racing the
//! reader's drop, a tcp connection that ends with messages queued in its
//! engine's ring (and sends racing its end).
//!
//! A counting allocator tracks the live allocations of each message size
//! these tests send (a box holds exactly the message); the tests' own
//! buffers are allocated a few bytes larger, so only copies are counted.

#[path = "support/raw_zmtp.rs"]
mod raw_zmtp;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use zeroring::{Context, Error};

/// The sizes counted: `BASE + i` for each test's own `i`.
const BASE: usize = 1_000_003;
const SIZES: usize = 4;

struct Counting;

static LIVE: [AtomicIsize; SIZES] = [const { AtomicIsize::new(0) }; SIZES];

fn counter(size: usize) -> Option<&'static AtomicIsize> {
    size.checked_sub(BASE).and_then(|i| LIVE.get(i))
}

// SAFETY: forwards to the system allocator; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(n) = counter(layout.size()) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as the caller's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(n) = counter(layout.size()) {
            n.fetch_sub(1, Ordering::Relaxed);
        }
        // SAFETY: as the caller's contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Long enough never to expire on a loaded machine unless something hangs.
const PATIENCE: Duration = Duration::from_secs(30);

/// A message of `BASE + i` bytes, in a buffer of another size.
fn message(i: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(BASE + i + 8);
    m.resize(BASE + i, 7);
    m
}

/// Waits until no copy of size `BASE + i` is left (the I/O thread may
/// drop an engine a little after its socket); panics after PATIENCE.
fn all_freed(i: usize) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let live = LIVE[i].load(Ordering::Relaxed);
        if live == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{live} copies of {} bytes never freed",
            BASE + i
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// A SERVER dropped with large messages queued from its CLIENT frees
/// them, the CLIENT still there.
#[test]
fn a_dropped_reader_frees_the_large_messages_queued() {
    const I: usize = 0;
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.bind("inproc://queued").unwrap();
    let client = ctx.client().unwrap();
    client.connect("inproc://queued").unwrap();
    let m = message(I);
    for _ in 0..8 {
        client.send(&m, 0).unwrap();
    }
    assert_eq!(LIVE[I].load(Ordering::Relaxed), 8);
    drop(server);
    assert_eq!(LIVE[I].load(Ordering::Relaxed), 0);
    drop(client);
}

/// A CLIENT's thread sends large messages while its SERVER's reader takes
/// a few and drops the socket: whatever was being published then is
/// freed too (by whoever lets go of the pipe last).
#[test]
fn sends_racing_the_readers_drop_leak_nothing() {
    const I: usize = 1;
    let ctx = Context::new();
    for round in 0..10 {
        let endpoint = format!("inproc://racing-{round}");
        let server = ctx.server().unwrap();
        server.set_rcvtimeo(PATIENCE.as_millis() as i32).unwrap();
        server.bind(&endpoint).unwrap();
        let client = Arc::new(ctx.client().unwrap());
        client.set_sndhwm(4).unwrap();
        client.set_sndtimeo(300).unwrap();
        client.connect(&endpoint).unwrap();
        let sender = {
            let client = client.clone();
            thread::spawn(move || {
                let m = message(I);
                // Until the SERVER is gone (then no peer: the wait for one
                // times out).
                while client.send(&m, 0).is_ok() {}
            })
        };
        for _ in 0..3 {
            server.recv_from(0).unwrap();
        }
        drop(server);
        sender.join().unwrap();
        drop(client);
        all_freed(I);
    }
}

/// A SERVER over tcp sends large messages to a peer that reads a few then
/// hangs up, while more are queued in the connection's ring and a thread
/// is sending: the engine's ring frees them all once the connection ends.
#[test]
fn an_ended_tcp_connection_frees_its_large_messages() {
    const I: usize = 2;
    let ctx = Context::new();
    for _ in 0..5 {
        let server = Arc::new(ctx.server().unwrap());
        server.set_rcvtimeo(PATIENCE.as_millis() as i32).unwrap();
        server.set_sndhwm(8).unwrap();
        server.set_sndtimeo(PATIENCE.as_millis() as i32).unwrap();
        server.bind("tcp://127.0.0.1:0").unwrap();
        let endpoint = server.get_last_endpoint().unwrap();
        let addr = endpoint.trim_start_matches("tcp://");
        let mut peer = raw_zmtp::Peer::new(std::net::TcpStream::connect(addr).unwrap(), PATIENCE);
        peer.handshake("CLIENT");
        peer.send(&raw_zmtp::message(b"hello", false));
        let (id, _) = server.recv_from(0).unwrap();
        let sender = {
            let server = server.clone();
            thread::spawn(move || {
                let m = message(I);
                loop {
                    match server.send_to(id, &m, 0) {
                        Ok(()) => {}
                        Err(Error::HostUnreachable) => break,
                        Err(e) => panic!("send to a gone peer: {e}"),
                    }
                }
            })
        };
        for _ in 0..3 {
            match peer.read_frame().unwrap() {
                Some(raw_zmtp::Frame::Message(body, false)) => assert_eq!(body.len(), BASE + I),
                other => panic!("expected a message, got {other:?}"),
            }
        }
        drop(peer);
        sender.join().unwrap();
        drop(server);
        all_freed(I);
    }
}
