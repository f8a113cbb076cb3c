//! How cost grows with the work, zeroring and libzmq 4.3.4 (the `zmq` crate)
//! side by side in the same run, over inproc, threads pinned:
//!
//! - `fair_queue/{1,16,256}`: one PULL fair-queues N PUSH peers; one thread
//!   sends 32-byte messages round-robin over the N pushers while another
//!   receives them all. Messages per second.
//! - `poll/{1,100,1000}`: `poll` over N PULL sockets of which one (the
//!   middle one, the only one with a peer) is readable: the time of one
//!   call that finds it (the message stays, so every call finds it).
//!
//! (PUB fan-out to 1, 4, 16 and 64 subscribers is `--bench patterns`.)
//! With criterion's HTML reports each group's `report/lines.svg` in
//! `target/criterion/` plots both libraries against N; README shows them.
//!
//! `cargo bench --bench scaling`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};

#[path = "../examples/common/hw.rs"]
mod hw;
use hw::{cores, pin};

/// Messages a fair-queue sample delivers, whatever the number of peers.
const FQ_MSGS: u64 = 200_000;

fn zr_fair_queue(peers: usize, cores: &[core_affinity::CoreId]) -> Duration {
    use zeroring::{Context, SocketType};
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://fq").unwrap();
    let pushers: Vec<_> = (0..peers)
        .map(|_| {
            let s = ctx.socket(SocketType::Push).unwrap();
            s.connect("inproc://fq").unwrap();
            s
        })
        .collect();
    let c = cores.to_vec();
    let sender = std::thread::spawn(move || {
        pin(&c, 1);
        for i in 0..FQ_MSGS {
            pushers[i as usize % peers].send([7u8; 32], 0).unwrap();
        }
    });
    pin(cores, 0);
    let mut buf = [0u8; 32];
    let start = Instant::now();
    for _ in 0..FQ_MSGS {
        pull.recv_into(&mut buf, 0).unwrap();
    }
    let t = start.elapsed();
    sender.join().unwrap();
    t
}

fn zmq_fair_queue(peers: usize, cores: &[core_affinity::CoreId]) -> Duration {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://fq").unwrap();
    let pushers: Vec<_> = (0..peers)
        .map(|_| {
            let s = ctx.socket(zmq::PUSH).unwrap();
            s.connect("inproc://fq").unwrap();
            s
        })
        .collect();
    let c = cores.to_vec();
    let sender = std::thread::spawn(move || {
        pin(&c, 1);
        for i in 0..FQ_MSGS {
            pushers[i as usize % peers].send(&[7u8; 32][..], 0).unwrap();
        }
    });
    pin(cores, 0);
    let mut buf = [0u8; 32];
    let start = Instant::now();
    for _ in 0..FQ_MSGS {
        pull.recv_into(&mut buf, 0).unwrap();
    }
    let t = start.elapsed();
    sender.join().unwrap();
    t
}

fn fair_queue(c: &mut Criterion) {
    let cores = cores();
    let mut group = c.benchmark_group("fair_queue");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(FQ_MSGS));
    for peers in [1usize, 16, 256] {
        group.bench_with_input(BenchmarkId::new("zeroring", peers), &peers, |b, &n| {
            b.iter_custom(|iters| (0..iters).map(|_| zr_fair_queue(n, &cores)).sum())
        });
        group.bench_with_input(BenchmarkId::new("libzmq", peers), &peers, |b, &n| {
            b.iter_custom(|iters| (0..iters).map(|_| zmq_fair_queue(n, &cores)).sum())
        });
    }
    group.finish();
}

/// libzmq's 1,000 socket pairs need more descriptors than a default soft
/// limit of 1,024 allows: raise it to the hard limit.
fn more_descriptors() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn poll(c: &mut Criterion) {
    more_descriptors();
    let mut group = c.benchmark_group("poll");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2));
    for n in [1usize, 100, 1000] {
        {
            use zeroring::{Context, PollItem, SocketType, POLLIN};
            let ctx = Context::new();
            let pulls: Vec<_> = (0..n)
                .map(|i| {
                    let pull = ctx.socket(SocketType::Pull).unwrap();
                    pull.bind(&format!("inproc://poll{i}")).unwrap();
                    pull
                })
                .collect();
            let push = ctx.socket(SocketType::Push).unwrap();
            push.connect(&format!("inproc://poll{}", n / 2)).unwrap();
            push.send("ready", 0).unwrap();
            let mut items: Vec<_> = pulls.iter().map(|p| PollItem::new(p, POLLIN)).collect();
            group.bench_with_input(BenchmarkId::new("zeroring", n), &n, |b, _| {
                b.iter(|| {
                    let ready = zeroring::poll(&mut items, 0).unwrap();
                    assert_eq!(ready, 1);
                })
            });
        }
        {
            let ctx = zmq::Context::new();
            // One PUSH, to the middle PULL only: libzmq allows 1,023
            // sockets a context by default.
            let pulls: Vec<_> = (0..n)
                .map(|i| {
                    let pull = ctx.socket(zmq::PULL).unwrap();
                    pull.bind(&format!("inproc://poll{i}")).unwrap();
                    pull
                })
                .collect();
            let push = ctx.socket(zmq::PUSH).unwrap();
            push.connect(&format!("inproc://poll{}", n / 2)).unwrap();
            push.send("ready", 0).unwrap();
            let mut items: Vec<_> = pulls.iter().map(|p| p.as_poll_item(zmq::POLLIN)).collect();
            group.bench_with_input(BenchmarkId::new("libzmq", n), &n, |b, _| {
                b.iter(|| {
                    let ready = zmq::poll(&mut items, 0).unwrap();
                    assert_eq!(ready, 1);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, fair_queue, poll);
criterion_main!(benches);
