//! zeroring against libzmq (the `zmq` crate, libzmq 4.3.4) over tcp
//! loopback, side by side in one run: both ends in this process, each
//! application thread pinned to its own core, the I/O threads (one per
//! context, both libraries) left to the scheduler.
//!
//! - `tcp_push_pull_32B`: throughput of 32-byte messages, reported as
//!   messages per second (a sample is timed from handing out the count to
//!   the last message received).
//! - `tcp_pair_roundtrip_64B`: PAIR ping-pong of 64-byte messages; the time
//!   is one round trip, one-way latency half of it.
//!
//! `cargo bench --bench tcp`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

mod common;
use common::*;

const ANY_PORT: &str = "tcp://127.0.0.1:0";

fn push_pull(c: &mut Criterion) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let zr_ctx = zeroring::Context::new();
    let zmq_ctx = zmq::Context::new();

    let mut g = c.benchmark_group("tcp_push_pull_32B");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    let s = zeroring_stream(&cores, &zr_ctx, ANY_PORT, false);
    g.bench_function("zeroring", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    let s = zmq_stream(&cores, &zmq_ctx, ANY_PORT);
    g.bench_function("libzmq", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    g.finish();
}

fn pair_roundtrip(c: &mut Criterion) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let zr_ctx = zeroring::Context::new();
    let zmq_ctx = zmq::Context::new();

    let mut g = c.benchmark_group("tcp_pair_roundtrip_64B");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    let p = zeroring_pingpong(&cores, &zr_ctx, ANY_PORT);
    g.bench_function("zeroring", |b| b.iter_custom(|n| p.run(n)));
    drop(p);

    let p = zmq_pingpong(&cores, &zmq_ctx, ANY_PORT);
    g.bench_function("libzmq", |b| b.iter_custom(|n| p.run(n)));
    drop(p);

    g.finish();
}

criterion_group!(benches, push_pull, pair_roundtrip);
criterion_main!(benches);
