//! zeroring against libzmq (the `zmq` crate, libzmq 4.3.4) over `inproc://`,
//! side by side in one run, each with one context and two sockets made the
//! same way, default options on both (zeroring's wait strategy is its default
//! spin-then-park).
//!
//! - `push_pull_32B`: throughput of 32-byte messages, PUSH on one pinned
//!   thread, PULL on the other core. One sample sends and receives `iters`
//!   messages and is timed end to end: from handing both threads their count
//!   to the last message received (which includes waking the two threads from
//!   a channel, a few tens of µs against samples of tens of ms). Reported as
//!   messages per second. `zeroring_zerocopy` sends with `loan` and receives
//!   with `recv_frame` instead of copying.
//! - `pair_roundtrip_64B`: PAIR ping-pong of 64-byte messages between two
//!   pinned threads; the time reported is one round trip (one-way latency is
//!   half of it), measured by the pinging thread around `iters` round trips.
//!
//! Worker threads live for a whole benchmark function; the main thread reads
//! the core list once, pins nothing, and sleeps while a sample runs, so the
//! two cores belong to the two sides. libzmq's own I/O and reaper threads are
//! started by the unpinned main thread, as in libzmq's perf tools.
//!
//! `cargo bench --bench inproc`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

mod common;
use common::*;

fn push_pull(c: &mut Criterion) {
    // Read once, before anything is pinned: a thread spawned by a pinned
    // thread would see only its parent's core.
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let zr_ctx = zeroring::Context::new();
    let zmq_ctx = zmq::Context::new();

    let mut g = c.benchmark_group("push_pull_32B");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    let s = zeroring_stream(&cores, &zr_ctx, "inproc://thr", false);
    g.bench_function("zeroring", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    let s = zmq_stream(&cores, &zmq_ctx, "inproc://thr");
    g.bench_function("libzmq", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    let s = zeroring_stream(&cores, &zr_ctx, "inproc://thr_zc", true);
    g.bench_function("zeroring_zerocopy", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    g.finish();
}

fn pair_roundtrip(c: &mut Criterion) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let zr_ctx = zeroring::Context::new();
    let zmq_ctx = zmq::Context::new();

    let mut g = c.benchmark_group("pair_roundtrip_64B");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    let p = zeroring_pingpong(&cores, &zr_ctx, "inproc://lat");
    g.bench_function("zeroring", |b| b.iter_custom(|n| p.run(n)));
    drop(p);

    let p = zmq_pingpong(&cores, &zmq_ctx, "inproc://lat");
    g.bench_function("libzmq", |b| b.iter_custom(|n| p.run(n)));
    drop(p);

    g.finish();
}

criterion_group!(benches, push_pull, pair_roundtrip);
criterion_main!(benches);
