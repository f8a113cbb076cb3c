//! CURVE over tcp loopback, zeroring against libzmq 4.3.4 built with CURVE,
//! side by side in one run. libzmq runs in its own process
//! (`interop/libzmq-curve-peer`, its `perf-thr`/`perf-lat` modes: the
//! `zmq` crate's libzmq has no CURVE), which measures itself and reports
//! the elapsed time, so its start-up and handshake are outside the figure;
//! zeroring runs the same shape in this process (benches/common/
//! curve_perf.rs): per sample, two contexts, the binding socket the CURVE
//! server, the application threads pinned to the first two CPUs, the I/O
//! threads left to the scheduler.
//!
//! - `curve_thr_32B`: PUSH/PULL throughput of 32-byte messages, in
//!   messages per second (timed from the first message received to the
//!   last, as libzmq's local_thr).
//! - `curve_lat_64B`: REQ/REP round trips of 64-byte messages; the time is
//!   one round trip, one-way latency half of it.
//!
//! The peer is `ZERORING_CURVE_PEER`, or built on first use (libsodium and
//! libzmq from source: minutes the first time); without it the `libzmq`
//! functions are skipped, with a message, and zeroring's still run.
//!
//! `cargo bench --bench curve`

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

#[path = "../tests/support/curve_peer.rs"]
mod curve_peer;
#[path = "common/curve_perf.rs"]
mod curve_perf;

use curve_peer::{curve_peer, libzmq_perf, Perf};
use curve_perf::{cpu_numbers, pins, zeroring_lat, zeroring_thr};

const THR_SIZE: usize = 32;
const LAT_SIZE: usize = 64;

/// The peer, tried once (a run of each mode included): `None`, after a
/// loud message, if it cannot be had.
fn peer() -> Option<&'static PathBuf> {
    static PEER: OnceLock<Option<PathBuf>> = OnceLock::new();
    PEER.get_or_init(|| {
        let tried = curve_peer().and_then(|p| {
            libzmq_perf(&p, Perf::Thr, 10, THR_SIZE, None)?;
            libzmq_perf(&p, Perf::Lat, 10, LAT_SIZE, None)?;
            Ok(p)
        });
        match tried {
            Ok(p) => Some(p),
            Err(why) => {
                eprintln!();
                eprintln!("**********************************************************************");
                eprintln!("** SKIPPING the libzmq CURVE benchmarks: no libzmq CURVE peer.");
                eprintln!("** {why}");
                eprintln!("** (build interop/libzmq-curve-peer, or set ZERORING_CURVE_PEER)");
                eprintln!("**********************************************************************");
                eprintln!();
                None
            }
        }
    })
    .as_ref()
}

fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
}

fn thr(c: &mut Criterion) {
    let pins = pins();
    let peer = peer();
    let mut g = c.benchmark_group("curve_thr_32B");
    configure(&mut g);
    g.throughput(Throughput::Elements(1));
    g.bench_function("zeroring", |b| {
        b.iter_custom(|n| zeroring_thr(true, n, THR_SIZE, pins))
    });
    if let Some(p) = peer {
        g.bench_function("libzmq", |b| {
            b.iter_custom(|n| {
                libzmq_perf(p, Perf::Thr, n, THR_SIZE, cpu_numbers(pins))
                    .unwrap_or_else(|why| panic!("{why}"))
            })
        });
    }
    g.finish();
}

fn lat(c: &mut Criterion) {
    let pins = pins();
    let peer = peer();
    let mut g = c.benchmark_group("curve_lat_64B");
    configure(&mut g);
    g.bench_function("zeroring", |b| {
        b.iter_custom(|n| zeroring_lat(true, n, LAT_SIZE, pins))
    });
    if let Some(p) = peer {
        g.bench_function("libzmq", |b| {
            b.iter_custom(|n| {
                libzmq_perf(p, Perf::Lat, n, LAT_SIZE, cpu_numbers(pins))
                    .unwrap_or_else(|why| panic!("{why}"))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, thr, lat);
criterion_main!(benches);
