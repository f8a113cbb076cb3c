//! zeroring against libzmq 4.3.4 (the `zmq` crate), in one run, over inproc:
//! PUSH/PULL throughput of 32-byte messages and REQ/REP one-way latency of
//! 64-byte messages, both threads pinned to different cores, measured
//! alternately over several rounds; prints each side's median and the ratio.
//!
//! `cargo run --release --example inproc_compare` (`-- ROUNDS` to change the
//! default 5 rounds).

use std::time::Instant;

const THR_MSGS: u64 = 5_000_000;
const LAT_TRIPS: u64 = 100_000;

/// Pins the calling thread to the `n`th of `cores` (read before any pinning:
/// a thread spawned later inherits a one-core mask).
fn pin(cores: &[core_affinity::CoreId], n: usize) {
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[n % cores.len()]);
    }
}

fn zr_thr(cores: &[core_affinity::CoreId]) -> f64 {
    use zeroring::{Context, SocketType};
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://thr").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://thr").unwrap();
    let c = cores.to_vec();
    let sender = std::thread::spawn(move || {
        pin(&c, 1);
        for _ in 0..THR_MSGS {
            push.send([0u8; 32], 0).unwrap();
        }
    });
    pin(cores, 0);
    let mut buf = [0u8; 32];
    pull.recv_into(&mut buf, 0).unwrap();
    let start = Instant::now();
    for _ in 1..THR_MSGS {
        pull.recv_into(&mut buf, 0).unwrap();
    }
    let rate = (THR_MSGS - 1) as f64 / start.elapsed().as_secs_f64();
    sender.join().unwrap();
    rate
}

fn zmq_thr(cores: &[core_affinity::CoreId]) -> f64 {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://thr").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect("inproc://thr").unwrap();
    let c = cores.to_vec();
    let sender = std::thread::spawn(move || {
        pin(&c, 1);
        for _ in 0..THR_MSGS {
            push.send(&[0u8; 32][..], 0).unwrap();
        }
    });
    pin(cores, 0);
    let mut buf = [0u8; 32];
    pull.recv_into(&mut buf, 0).unwrap();
    let start = Instant::now();
    for _ in 1..THR_MSGS {
        pull.recv_into(&mut buf, 0).unwrap();
    }
    let rate = (THR_MSGS - 1) as f64 / start.elapsed().as_secs_f64();
    sender.join().unwrap();
    rate
}

/// One-way latency in microseconds.
fn zr_lat(cores: &[core_affinity::CoreId]) -> f64 {
    use zeroring::{Context, SocketType};
    let ctx = Context::new();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.bind("inproc://lat").unwrap();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.connect("inproc://lat").unwrap();
    let c = cores.to_vec();
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        let mut buf = [0u8; 64];
        for _ in 0..LAT_TRIPS {
            let n = rep.recv_into(&mut buf, 0).unwrap();
            rep.send(&buf[..n], 0).unwrap();
        }
    });
    pin(cores, 0);
    let mut buf = [0u8; 64];
    let start = Instant::now();
    for _ in 0..LAT_TRIPS {
        req.send([0u8; 64], 0).unwrap();
        req.recv_into(&mut buf, 0).unwrap();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (LAT_TRIPS * 2) as f64;
    echo.join().unwrap();
    us
}

fn zmq_lat(cores: &[core_affinity::CoreId]) -> f64 {
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ).unwrap();
    req.bind("inproc://lat").unwrap();
    let rep = ctx.socket(zmq::REP).unwrap();
    rep.connect("inproc://lat").unwrap();
    let c = cores.to_vec();
    let trips = LAT_TRIPS / 10; // libzmq is ~100x slower here; keep rounds short
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        let mut buf = [0u8; 64];
        for _ in 0..trips {
            let n = rep.recv_into(&mut buf, 0).unwrap();
            rep.send(&buf[..n], 0).unwrap();
        }
    });
    pin(cores, 0);
    let mut buf = [0u8; 64];
    let start = Instant::now();
    for _ in 0..trips {
        req.send(&[0u8; 64][..], 0).unwrap();
        req.recv_into(&mut buf, 0).unwrap();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (trips * 2) as f64;
    echo.join().unwrap();
    us
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    println!(
        "zeroring vs libzmq 4.3.4, inproc, {} cores, {rounds} rounds each, medians",
        cores.len()
    );
    let (mut zt, mut mt, mut zl, mut ml) = (vec![], vec![], vec![], vec![]);
    let began = Instant::now();
    for _ in 0..rounds {
        zt.push(zr_thr(&cores));
        mt.push(zmq_thr(&cores));
        zl.push(zr_lat(&cores));
        ml.push(zmq_lat(&cores));
    }
    let (zt, mt, zl, ml) = (median(zt), median(mt), median(zl), median(ml));
    println!();
    println!(
        "{:<38} {:>12} {:>12} {:>8}",
        "", "zeroring", "libzmq", "ratio"
    );
    println!(
        "{:<38} {:>12.1} {:>12.1} {:>7.1}x",
        "PUSH/PULL 32 B throughput [M msg/s]",
        zt / 1e6,
        mt / 1e6,
        zt / mt
    );
    println!(
        "{:<38} {:>12.3} {:>12.3} {:>7.1}x",
        "REQ/REP 64 B one-way latency [us]",
        zl,
        ml,
        ml / zl
    );
    println!("\n({:.1} s)", began.elapsed().as_secs_f64());
}
