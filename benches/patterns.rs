//! Issue 3's patterns, zeroring and libzmq (the `zmq` crate, real libzmq
//! 4.3.4) side by side in the same run, over inproc, threads pinned:
//!
//! - `pub_fanout/{1,4,16,64}`: one publisher thread sends 32-byte messages
//!   to N subscribers, which one receiver thread (the other core) drains in
//!   turn; throughput is messages delivered per second (about 800,000 a
//!   sample whatever N), after an untimed warm-up of a tenth as many. Nothing may be dropped, so
//!   the counts compare: zeroring's XPUB uses XPUB_NODROP (a blocking send
//!   waits for room), libzmq's uses high-water marks of 0 (its pipes grow
//!   without bound; the `zmq` crate has no XPUB_NODROP setter).
//! - `reqrep_roundtrip`: REQ/REP round trips of 64 bytes; one-way latency is
//!   half the time per iteration.
//!
//! `cargo bench --bench patterns`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "../examples/common/hw.rs"]
mod hw;
use hw::{cores, pin};

const MSG: usize = 32;
/// Messages sent (and drained) before the clock starts, per timed message:
/// the pipes' memory is touched once and both threads are running, so what
/// is timed is the steady state, for both libraries alike.
fn warm(per_sub: u64) -> u64 {
    per_sub / 10
}

/// zeroring: returns the time to deliver `per_sub` messages to each of
/// `subs` subscribers.
fn zr_fanout(subs: usize, per_sub: u64, cores: &[core_affinity::CoreId]) -> Duration {
    use zeroring::{Context, SocketType, DONTWAIT};
    let ctx = Context::new();
    let publ = ctx.socket(SocketType::XPub).unwrap();
    publ.set_xpub_nodrop(true).unwrap();
    publ.set_xpub_verbose(true).unwrap();
    publ.bind("inproc://fanout").unwrap();
    let socks: Vec<_> = (0..subs)
        .map(|_| {
            let s = ctx.socket(SocketType::Sub).unwrap();
            s.connect("inproc://fanout").unwrap();
            s.set_subscribe(b"").unwrap();
            s
        })
        .collect();
    for _ in 0..subs {
        publ.recv_bytes(0).unwrap();
    }
    let (tx, rx) = mpsc::channel();
    let rcores = cores.to_vec();
    let receiver = std::thread::spawn(move || {
        pin(&rcores, 1);
        let mut buf = [0u8; MSG];
        let mut left = (warm(per_sub) + per_sub) * subs as u64;
        while left > 0 {
            for s in &socks {
                if s.recv_into(&mut buf, DONTWAIT).is_ok() {
                    left -= 1;
                    if left == per_sub * subs as u64 {
                        tx.send(()).unwrap();
                    }
                }
            }
        }
    });
    pin(cores, 0);
    let msg = [7u8; MSG];
    for _ in 0..warm(per_sub) {
        publ.send(msg, 0).unwrap();
    }
    rx.recv().unwrap();
    let start = Instant::now();
    for _ in 0..per_sub {
        publ.send(msg, 0).unwrap();
    }
    receiver.join().unwrap();
    start.elapsed()
}

/// libzmq, the same shape.
fn zmq_fanout(subs: usize, per_sub: u64, cores: &[core_affinity::CoreId]) -> Duration {
    let ctx = zmq::Context::new();
    let publ = ctx.socket(zmq::XPUB).unwrap();
    publ.set_sndhwm(0).unwrap();
    publ.set_xpub_verbose(true).unwrap();
    publ.bind("inproc://fanout").unwrap();
    let socks: Vec<_> = (0..subs)
        .map(|_| {
            let s = ctx.socket(zmq::SUB).unwrap();
            s.set_rcvhwm(0).unwrap();
            s.connect("inproc://fanout").unwrap();
            s.set_subscribe(b"").unwrap();
            s
        })
        .collect();
    // With XPUB_VERBOSE every subscriber's subscription comes up: once all
    // are in, every message reaches every subscriber.
    for _ in 0..subs {
        publ.recv_bytes(0).unwrap();
    }
    let (tx, rx) = mpsc::channel();
    let rcores = cores.to_vec();
    let receiver = std::thread::spawn(move || {
        pin(&rcores, 1);
        let mut buf = [0u8; MSG];
        let mut left = (warm(per_sub) + per_sub) * subs as u64;
        while left > 0 {
            for s in &socks {
                if s.recv_into(&mut buf, zmq::DONTWAIT).is_ok() {
                    left -= 1;
                    if left == per_sub * subs as u64 {
                        tx.send(()).unwrap();
                    }
                }
            }
        }
    });
    pin(cores, 0);
    let msg = [7u8; MSG];
    for _ in 0..warm(per_sub) {
        publ.send(&msg[..], 0).unwrap();
    }
    rx.recv().unwrap();
    let start = Instant::now();
    for _ in 0..per_sub {
        publ.send(&msg[..], 0).unwrap();
    }
    receiver.join().unwrap();
    start.elapsed()
}

fn fanout(c: &mut Criterion) {
    const DELIVERIES: u64 = 800_000;
    let cores = cores();
    let mut group = c.benchmark_group("pub_fanout");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    for subs in [1usize, 4, 16, 64] {
        let per_sub = DELIVERIES / subs as u64;
        group.throughput(Throughput::Elements(per_sub * subs as u64));
        group.bench_with_input(BenchmarkId::new("zeroring", subs), &subs, |b, &subs| {
            b.iter_custom(|iters| (0..iters).map(|_| zr_fanout(subs, per_sub, &cores)).sum())
        });
        group.bench_with_input(BenchmarkId::new("libzmq", subs), &subs, |b, &subs| {
            b.iter_custom(|iters| (0..iters).map(|_| zmq_fanout(subs, per_sub, &cores)).sum())
        });
    }
    group.finish();
}

fn reqrep(c: &mut Criterion) {
    let cores = cores();
    let mut group = c.benchmark_group("reqrep_roundtrip");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));

    {
        use zeroring::{Context, SocketType};
        let ctx = Context::new();
        let req = ctx.socket(SocketType::Req).unwrap();
        req.bind("inproc://rr").unwrap();
        let rep = ctx.socket(SocketType::Rep).unwrap();
        rep.connect("inproc://rr").unwrap();
        let ecores = cores.clone();
        let echo = std::thread::spawn(move || {
            pin(&ecores, 1);
            let mut buf = [0u8; 64];
            while let Ok(n) = rep.recv_into(&mut buf, 0) {
                if n == 0 {
                    break;
                }
                rep.send(&buf[..n], 0).unwrap();
            }
        });
        pin(&cores, 0);
        let msg = [1u8; 64];
        let mut buf = [0u8; 64];
        group.bench_function("zeroring", |b| {
            b.iter(|| {
                req.send(msg, 0).unwrap();
                req.recv_into(&mut buf, 0).unwrap();
            })
        });
        req.send([], 0).unwrap();
        echo.join().unwrap();
    }
    {
        let ctx = zmq::Context::new();
        let req = ctx.socket(zmq::REQ).unwrap();
        req.bind("inproc://rr").unwrap();
        let rep = ctx.socket(zmq::REP).unwrap();
        rep.connect("inproc://rr").unwrap();
        let ecores = cores.clone();
        let echo = std::thread::spawn(move || {
            pin(&ecores, 1);
            let mut buf = [0u8; 64];
            while let Ok(n) = rep.recv_into(&mut buf, 0) {
                if n == 0 {
                    break;
                }
                rep.send(&buf[..n], 0).unwrap();
            }
        });
        pin(&cores, 0);
        let msg = [1u8; 64];
        let mut buf = [0u8; 64];
        group.bench_function("libzmq", |b| {
            b.iter(|| {
                req.send(&msg[..], 0).unwrap();
                req.recv_into(&mut buf, 0).unwrap();
            })
        });
        req.send(&[][..], 0).unwrap();
        echo.join().unwrap();
    }
    group.finish();
}

criterion_group!(benches, fanout, reqrep);
criterion_main!(benches);
