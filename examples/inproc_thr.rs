//! libzmq's `inproc_thr`, over zeroring: a PUSH thread sends
//! `<message-count>` messages of `<message-size>` bytes to a PULL, each
//! thread pinned to its own core; the clock starts at the first message.
//!
//! `cargo run --release --example inproc_thr -- 32 10000000`
//!
//! `ZR_HWM=<n>` sets SNDHWM and RCVHWM; `ZR_RING=<bytes>` the pipe's ring
//! capacity; `ZR_SPIN=1` busy-spins both sides.

use std::time::Instant;
use zeroring::{Context, SocketType};

/// Pins the calling thread to the `n`th of `cores`. The list must be read
/// before any pinning: a thread spawned later inherits a one-core mask.
fn pin(cores: &[core_affinity::CoreId], n: usize) {
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[n % cores.len()]);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: inproc_thr <message-size> <message-count>");
        std::process::exit(1);
    }
    let size: usize = args[1].parse()?;
    let count: u64 = args[2].parse()?;

    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull)?;
    let push = ctx.socket(SocketType::Push)?;
    // Options that shape the pipe must be set before it is made.
    if let Ok(h) = std::env::var("ZR_HWM") {
        pull.set_rcvhwm(h.parse()?)?;
        push.set_sndhwm(h.parse()?)?;
    }
    if let Ok(r) = std::env::var("ZR_RING") {
        pull.set_ring_capacity(r.parse()?)?;
        push.set_ring_capacity(r.parse()?)?;
    }
    if std::env::var_os("ZR_SPIN").is_some() {
        pull.set_wait_strategy(zeroring::WaitStrategy::BusySpin)?;
        push.set_wait_strategy(zeroring::WaitStrategy::BusySpin)?;
    }
    pull.bind("inproc://thr_test")?;
    push.connect("inproc://thr_test")?;

    let cores = core_affinity::get_core_ids().unwrap_or_default();
    pin(&cores, 0);
    let worker = std::thread::spawn(move || -> zeroring::Result<()> {
        pin(&cores, 1);
        let payload = vec![0u8; size];
        for _ in 0..count {
            push.send(&payload, 0)?;
        }
        Ok(())
    });

    let mut buf = vec![0u8; size.max(1)];
    pull.recv_into(&mut buf, 0)?;
    let start = Instant::now();
    for _ in 1..count {
        let n = pull.recv_into(&mut buf, 0)?;
        assert_eq!(n, size, "message of wrong size");
    }
    let elapsed = (start.elapsed().as_micros() as u64).max(1);
    worker.join().expect("sender panicked")?;

    let throughput = (count as f64 / elapsed as f64 * 1_000_000.0) as u64;
    let megabits = (throughput * size as u64 * 8) as f64 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
    Ok(())
}
