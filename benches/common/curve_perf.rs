//! zeroring's side of the CURVE comparison, in the shape the libzmq peer's
//! perf modes have (`interop/libzmq-curve-peer/src/perf.rs`), so that the
//! two measure the same thing: per run, fresh key pairs, two contexts, the
//! binding socket the CURVE server (in the first context, on
//! tcp://127.0.0.1:0) and the connecting socket the CURVE client (in the
//! second); everything made on the calling thread, before any pinning, so
//! the I/O threads are left to the scheduler; then each socket on a thread
//! of its own, pinned as given (the receiver or REQ to the first CPU).
//! Shared by benches/curve.rs and examples/curve_compare.rs; `curve: false`
//! is the same over the NULL mechanism, for the cost of the encryption.
#![allow(dead_code)]

use core_affinity::CoreId;
use std::hint::black_box;
use std::time::{Duration, Instant};
use zeroring::{Context, CurveKeyPair, Socket, SocketType};

/// The two CPUs the application threads are pinned to (the first and the
/// second of this process's, the same one twice if there is only one), or
/// `None` if they cannot be read. Call it before anything is pinned.
pub fn pins() -> Option<(CoreId, CoreId)> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let first = *cores.first()?;
    Some((first, cores[1 % cores.len()]))
}

/// The same as CPU numbers, as the peer takes them.
pub fn cpu_numbers(pins: Option<(CoreId, CoreId)>) -> Option<(usize, usize)> {
    pins.map(|(a, b)| (a.id, b.id))
}

fn pin(core: Option<CoreId>) {
    if let Some(c) = core {
        core_affinity::set_for_current(c);
    }
}

/// Holds the contexts until the sockets (moved to their threads) are gone.
struct Setup {
    server: Socket,
    client: Socket,
    _contexts: (Context, Context),
}

fn setup(curve: bool, server_type: SocketType, client_type: SocketType) -> Setup {
    let server_ctx = Context::new();
    let client_ctx = Context::new();
    let server = server_ctx.socket(server_type).unwrap();
    let client = client_ctx.socket(client_type).unwrap();
    server.set_linger(0).unwrap();
    client.set_linger(0).unwrap();
    if curve {
        let server_keys = CurveKeyPair::new().unwrap();
        let client_keys = CurveKeyPair::new().unwrap();
        server.set_curve_server(true).unwrap();
        server.set_curve_secretkey(&server_keys.secret_key).unwrap();
        client.set_curve_serverkey(&server_keys.public_key).unwrap();
        client.set_curve_publickey(&client_keys.public_key).unwrap();
        client.set_curve_secretkey(&client_keys.secret_key).unwrap();
    }
    server.bind("tcp://127.0.0.1:0").unwrap();
    client
        .connect(&server.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    Setup {
        server,
        client,
        _contexts: (server_ctx, client_ctx),
    }
}

/// PUSH (client) sends `count` messages of `size` bytes to PULL (server);
/// timed from the first received to the last, as libzmq's local_thr (and
/// the peer's `perf-thr`): `count - 1` intervals, throughput
/// `count / elapsed`.
pub fn zeroring_thr(
    curve: bool,
    count: u64,
    size: usize,
    pins: Option<(CoreId, CoreId)>,
) -> Duration {
    assert!(count > 0);
    let Setup {
        server: pull,
        client: push,
        _contexts,
    } = setup(curve, SocketType::Pull, SocketType::Push);
    // Each thread gives its socket back, closed (LINGER 0) only once both
    // are done: a PUSH closed while its last messages wait for the
    // handshake would drop them.
    std::thread::scope(|s| {
        let sender = s.spawn(move || {
            pin(pins.map(|p| p.1));
            let payload = vec![0x5au8; size];
            for _ in 0..count {
                push.send(&payload[..], 0).unwrap();
            }
            push
        });
        let receiver = s.spawn(move || {
            pin(pins.map(|p| p.0));
            let mut buf = vec![0u8; size];
            assert_eq!(pull.recv_into(&mut buf, 0).unwrap(), size);
            let start = Instant::now();
            for _ in 1..count {
                assert_eq!(pull.recv_into(&mut buf, 0).unwrap(), size);
            }
            let elapsed = start.elapsed();
            black_box(&buf);
            (elapsed, pull)
        });
        let (elapsed, _pull) = receiver.join().unwrap();
        let _push = sender.join().unwrap();
        elapsed
    })
}

/// REQ (client) and REP (server, echoing): one round trip untimed, then
/// `count` timed round trips of `size` bytes (the peer's `perf-lat`).
pub fn zeroring_lat(
    curve: bool,
    count: u64,
    size: usize,
    pins: Option<(CoreId, CoreId)>,
) -> Duration {
    let Setup {
        server: rep,
        client: req,
        _contexts,
    } = setup(curve, SocketType::Rep, SocketType::Req);
    std::thread::scope(|s| {
        let echo = s.spawn(move || {
            pin(pins.map(|p| p.1));
            let mut buf = vec![0u8; size];
            for _ in 0..=count {
                let n = rep.recv_into(&mut buf, 0).unwrap();
                rep.send(&buf[..n], 0).unwrap();
            }
            rep
        });
        let client = s.spawn(move || {
            pin(pins.map(|p| p.0));
            let msg = vec![0x5au8; size];
            let mut buf = vec![0u8; size];
            req.send(&msg[..], 0).unwrap();
            assert_eq!(req.recv_into(&mut buf, 0).unwrap(), size);
            let start = Instant::now();
            for _ in 0..count {
                req.send(&msg[..], 0).unwrap();
                assert_eq!(req.recv_into(&mut buf, 0).unwrap(), size);
            }
            (start.elapsed(), req)
        });
        let (elapsed, _req) = client.join().unwrap();
        let _rep = echo.join().unwrap();
        elapsed
    })
}
