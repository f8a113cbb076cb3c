//! zeroring against libzmq 4.3.4 (the `zmq` crate) and against the
//! hardware, in one run, over inproc: PUSH/PULL throughput of 32-byte
//! messages and REQ/REP one-way latency of 64-byte messages, both threads
//! pinned to different cores, measured alternately over several rounds;
//! beside them the same two cores' own limits: the rtrb crate's SPSC queue
//! of `[u8; 32]`, a cache line handed back and forth, and a line each way
//! (the floor of a round trip through two queues); and the frame ring
//! alone, without sockets. Prints the CPU, each side's median and the
//! ratios.
//!
//! `cargo run --release --example inproc_compare` (`-- ROUNDS` to change the
//! default 5 rounds).

use std::time::Instant;

#[path = "common/hw.rs"]
mod hw;
use hw::{cpu_name, median, pin, ping_pong, ping_pong_two_lines, rtrb_spsc};

const THR_MSGS: u64 = 5_000_000;
const LAT_TRIPS: u64 = 100_000;

/// One-way latency in µs of `len`-byte messages through two bare frame
/// rings (no sockets), one each way: what the ring's layout costs.
fn ring_lat(cores: &[core_affinity::CoreId], len: usize) -> f64 {
    use zeroring::ring::ring;
    let (mut atx, mut brx) = ring(256 << 10);
    let (mut btx, mut arx) = ring(256 << 10);
    let c = cores.to_vec();
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        let mut buf = [0u8; 64];
        for _ in 0..LAT_TRIPS {
            let rec = loop {
                if let Some(r) = brx.peek().unwrap() {
                    break r;
                }
                std::hint::spin_loop();
            };
            let n = rec.len();
            buf[..n].copy_from_slice(brx.payload(&rec));
            brx.advance(rec);
            while btx.push(&buf[..n]).is_err() {}
            // As a socket does: release in batches, not on the reply's path.
            if brx.unreleased() >= 64 << 10 {
                brx.release();
            }
        }
    });
    pin(cores, 0);
    let msg = [7u8; 64];
    let mut buf = [0u8; 64];
    let start = Instant::now();
    for _ in 0..LAT_TRIPS {
        while atx.push(&msg[..len]).is_err() {}
        let rec = loop {
            if let Some(r) = arx.peek().unwrap() {
                break r;
            }
            std::hint::spin_loop();
        };
        buf[..rec.len()].copy_from_slice(arx.payload(&rec));
        arx.advance(rec);
        if arx.unreleased() >= 64 << 10 {
            arx.release();
        }
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (2 * LAT_TRIPS) as f64;
    echo.join().unwrap();
    us
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

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    println!(
        "zeroring vs libzmq 4.3.4 vs the hardware, inproc, {} ({} cores), {rounds} rounds each, medians",
        cpu_name(),
        cores.len()
    );
    let (mut zt, mut mt, mut zl, mut ml) = (vec![], vec![], vec![], vec![]);
    let (mut qt, mut hop, mut two, mut raw) = (vec![], vec![], vec![], vec![]);
    let began = Instant::now();
    for _ in 0..rounds {
        // Each on threads of its own: pinning is per thread.
        let fresh =
            |f: &(dyn Fn() -> f64 + Sync)| std::thread::scope(|s| s.spawn(f).join().unwrap());
        zt.push(fresh(&|| zr_thr(&cores)));
        mt.push(fresh(&|| zmq_thr(&cores)));
        qt.push(fresh(&|| rtrb_spsc(&cores, THR_MSGS)));
        zl.push(fresh(&|| zr_lat(&cores)));
        ml.push(fresh(&|| zmq_lat(&cores)));
        hop.push(fresh(&|| ping_pong(&cores, LAT_TRIPS * 10)) / 1e3);
        two.push(fresh(&|| ping_pong_two_lines(&cores, LAT_TRIPS * 10)) / 1e3);
        raw.push(fresh(&|| ring_lat(&cores, 64)));
    }
    let (zt, mt, zl, ml) = (median(zt), median(mt), median(zl), median(ml));
    let (qt, hop, two, raw) = (median(qt), median(hop), median(two), median(raw));
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
    println!(
        "{:<38} {:>12} {:>12} {:>7.2}x  (zeroring / rtrb: {:.1} M msg/s)",
        "  against rtrb's SPSC queue of [u8; 32]",
        "",
        "",
        zt / qt,
        qt / 1e6
    );
    println!(
        "{:<38} {:>12} {:>12} {:>7.2}x  (zeroring / hand-off: {:.3} us)",
        "  against one cache-line hand-off",
        "",
        "",
        zl / hop,
        hop
    );
    println!(
        "{:<38} {:>12} {:>12} {:>7.2}x  (zeroring / two lines: {:.3} us)",
        "  against one line per direction",
        "",
        "",
        zl / two,
        two
    );
    println!(
        "{:<38} {:>12.3} {:>12} {:>7.2}x  (the ring alone / two lines)",
        "  the frame ring alone, 64 B [us]",
        raw,
        "",
        raw / two
    );
    println!("\n({:.1} s)", began.elapsed().as_secs_f64());
}
