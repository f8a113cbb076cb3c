//! libzmq's `inproc_lat` over the `zmq` crate (libzmq itself), to run back to
//! back with zeroring's `inproc_lat` example: the same REQ/REP round trips
//! (REQ binds, REP connects, as in libzmq's tool) between two threads pinned
//! to different cores, and the same output: one-way latency,
//! elapsed / (count × 2), in µs.
//!
//! `cargo run --release --example zmq_inproc_lat -- 64 1000000`

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
        eprintln!("usage: zmq_inproc_lat <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    let size: usize = args[1].parse()?;
    let count: u64 = args[2].parse()?;

    let ctx = zmq::Context::new();
    let local = ctx.socket(zmq::REQ)?;
    local.bind("inproc://lat_test")?;
    let remote = ctx.socket(zmq::REP)?;
    remote.connect("inproc://lat_test")?;

    let cores = core_affinity::get_core_ids().unwrap_or_default();
    pin(&cores, 0);
    let echo = std::thread::spawn(move || -> zmq::Result<()> {
        pin(&cores, 1);
        let mut buf = vec![0u8; size.max(1)];
        for _ in 0..count {
            let n = remote.recv_into(&mut buf, 0)?;
            remote.send(&buf[..n], 0)?;
        }
        Ok(())
    });

    let msg = vec![0u8; size];
    let mut buf = vec![0u8; size.max(1)];
    let start = Instant::now();
    for _ in 0..count {
        local.send(&msg[..], 0)?;
        let n = local.recv_into(&mut buf, 0)?;
        assert_eq!(n, size, "reply of wrong size");
    }
    let elapsed = start.elapsed().as_nanos() as f64 / 1000.0;
    echo.join().expect("echo thread panicked")?;

    let latency = elapsed / (count as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}
