//! libzmq's `inproc_thr` over the `zmq` crate (libzmq itself), to run back to
//! back with zeroring's `inproc_thr` example: same sockets (PUSH connects to
//! a bound PULL), same pinning (receiver on the first core, sender on the
//! second), same clock (started at the first message received) and the same
//! output.
//!
//! `cargo run --release --example zmq_inproc_thr -- 32 10000000`
//!
//! `ZR_HWM=<n>` sets SNDHWM and RCVHWM, before the pipe is made.

use std::time::Instant;

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
        eprintln!("usage: zmq_inproc_thr <message-size> <message-count>");
        std::process::exit(1);
    }
    let size: usize = args[1].parse()?;
    let count: u64 = args[2].parse()?;

    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL)?;
    let push = ctx.socket(zmq::PUSH)?;
    if let Ok(h) = std::env::var("ZR_HWM") {
        pull.set_rcvhwm(h.parse()?)?;
        push.set_sndhwm(h.parse()?)?;
    }
    pull.bind("inproc://thr_test")?;
    push.connect("inproc://thr_test")?;

    let cores = core_affinity::get_core_ids().unwrap_or_default();
    pin(&cores, 0);
    let worker = std::thread::spawn(move || -> zmq::Result<()> {
        pin(&cores, 1);
        let payload = vec![0u8; size];
        for _ in 0..count {
            push.send(&payload[..], 0)?;
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
