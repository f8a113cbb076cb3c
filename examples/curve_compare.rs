//! CURVE over tcp loopback, zeroring against libzmq 4.3.4 built with CURVE
//! (the `interop/libzmq-curve-peer` program, which measures itself), in
//! one run: PUSH/PULL throughput of 32-byte messages and REQ/REP one-way
//! latency of 64-byte messages, measured alternately over several rounds,
//! the median of each; beside them zeroring over the NULL mechanism, for
//! the cost of the encryption. Each run: fresh keys, two contexts, the
//! binding socket the CURVE server, the two application threads pinned to
//! the first two CPUs (the I/O threads left to the scheduler), about a
//! second long.
//!
//! `cargo run --release --example curve_compare` (`-- ROUNDS` to change
//! the default 5 rounds). The peer is `ZERORING_CURVE_PEER`, or built on
//! first use (minutes the first time); without it the libzmq column says
//! why it is missing.

use std::time::{Duration, Instant};

#[path = "../tests/support/curve_peer.rs"]
mod curve_peer;
#[path = "../benches/common/curve_perf.rs"]
mod curve_perf;
#[path = "common/hw.rs"]
mod hw;

use curve_peer::{curve_peer, libzmq_perf, Perf};
use curve_perf::{cpu_numbers, pins, zeroring_lat, zeroring_thr};
use hw::{cpu_name, median};

const THR_SIZE: usize = 32;
const LAT_SIZE: usize = 64;
/// Each run aims at about this long.
const RUN: Duration = Duration::from_secs(1);

/// Messages per second from `count` messages in `elapsed`.
fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// One-way latency in µs from `count` round trips in `elapsed`.
fn one_way_us(count: u64, elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e6 / count as f64 / 2.0
}

/// A count that makes a run of `probe`'s kind last about [`RUN`].
fn calibrate(probe: impl Fn(u64) -> Duration, first: u64) -> u64 {
    let took = probe(first).max(Duration::from_micros(1));
    let n = first as f64 * RUN.as_secs_f64() / took.as_secs_f64();
    (n as u64).clamp(first, 50 * first)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROUNDS: a number"))
        .unwrap_or(5)
        .max(1);
    let began = Instant::now();
    let pins = pins();
    let cpus = cpu_numbers(pins);
    let peer = curve_peer().and_then(|p| {
        libzmq_perf(&p, Perf::Thr, 10, THR_SIZE, cpus)?;
        Ok(p)
    });
    if let Err(why) = &peer {
        eprintln!("** no libzmq CURVE figures: {why}");
        eprintln!("** (build interop/libzmq-curve-peer, or set ZERORING_CURVE_PEER)");
    }

    // Counts from zeroring's CURVE, the same for every side.
    let thr_count = calibrate(|n| zeroring_thr(true, n, THR_SIZE, pins), 100_000);
    let lat_count = calibrate(|n| zeroring_lat(true, n, LAT_SIZE, pins), 2_000);

    let mut thr = [Vec::new(), Vec::new(), Vec::new()];
    let mut lat = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Alternate which goes first, so neither always runs warmer.
        let order: [usize; 3] = if round % 2 == 0 { [0, 1, 2] } else { [1, 2, 0] };
        for side in order {
            match side {
                0 => {
                    thr[0].push(rate(
                        thr_count,
                        zeroring_thr(true, thr_count, THR_SIZE, pins),
                    ));
                    lat[0].push(one_way_us(
                        lat_count,
                        zeroring_lat(true, lat_count, LAT_SIZE, pins),
                    ));
                }
                1 => {
                    if let Ok(p) = &peer {
                        let t = libzmq_perf(p, Perf::Thr, thr_count, THR_SIZE, cpus)
                            .unwrap_or_else(|why| panic!("{why}"));
                        thr[1].push(rate(thr_count, t));
                        let l = libzmq_perf(p, Perf::Lat, lat_count, LAT_SIZE, cpus)
                            .unwrap_or_else(|why| panic!("{why}"));
                        lat[1].push(one_way_us(lat_count, l));
                    }
                }
                _ => {
                    thr[2].push(rate(
                        thr_count,
                        zeroring_thr(false, thr_count, THR_SIZE, pins),
                    ));
                    lat[2].push(one_way_us(
                        lat_count,
                        zeroring_lat(false, lat_count, LAT_SIZE, pins),
                    ));
                }
            }
        }
    }

    let med = |v: &Vec<f64>| (!v.is_empty()).then(|| median(v.clone()));
    let [zr_thr, zmq_thr, null_thr] = [&thr[0], &thr[1], &thr[2]].map(med);
    let [zr_lat, zmq_lat, null_lat] = [&lat[0], &lat[1], &lat[2]].map(med);
    let cell =
        |v: Option<f64>, scale: f64| v.map_or("n/a".to_owned(), |v| format!("{:.2}", v / scale));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}x", a / b),
        _ => "n/a".to_owned(),
    };

    println!(
        "{}; tcp loopback; application threads pinned to CPUs {}; median of {rounds} alternated runs",
        cpu_name(),
        cpus.map_or("(none)".to_owned(), |(a, b)| format!("{a} and {b}")),
    );
    println!("({thr_count} messages per throughput run, {lat_count} round trips per latency run)");
    println!();
    println!(
        "{:<28} {:>14} {:>14} {:>10} {:>14} {:>11}",
        "", "zeroring CURVE", "libzmq CURVE", "zr/libzmq", "zeroring NULL", "CURVE/NULL"
    );
    println!(
        "{:<28} {:>14} {:>14} {:>10} {:>14} {:>11}",
        "PUSH/PULL 32 B, M msg/s",
        cell(zr_thr, 1e6),
        cell(zmq_thr, 1e6),
        ratio(zr_thr, zmq_thr),
        cell(null_thr, 1e6),
        ratio(zr_thr, null_thr),
    );
    println!(
        "{:<28} {:>14} {:>14} {:>10} {:>14} {:>11}",
        "REQ/REP 64 B, one-way µs",
        cell(zr_lat, 1.0),
        cell(zmq_lat, 1.0),
        ratio(zr_lat, zmq_lat),
        cell(null_lat, 1.0),
        ratio(zr_lat, null_lat),
    );
    println!();
    println!("zr/libzmq: throughput above 1 and latency below 1 are zeroring ahead.");
    println!("({:.1} s)", began.elapsed().as_secs_f64());
}
