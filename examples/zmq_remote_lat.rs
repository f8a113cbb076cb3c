//! libzmq's `remote_lat` over the `zmq` crate (libzmq 4.3.4 itself), the twin of
//! zeroring's `remote_lat` example: a REQ connected to `<connect-to>` makes
//! `<roundtrip-count>` round trips of `<message-size>` bytes and prints the
//! one-way latency, elapsed / (count × 2).
//!
//! `cargo run --release --example zmq_remote_lat -- tcp://127.0.0.1:5555 64 10000`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: zmq_remote_lat <connect-to> <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    let (connect_to, size, count): (&str, usize, u64) =
        (&args[1], args[2].parse()?, args[3].parse()?);
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ)?;
    req.connect(connect_to)?;
    let msg = vec![0u8; size];
    let mut buf = vec![0u8; size.max(1)];
    let start = Instant::now();
    for _ in 0..count {
        req.send(&msg[..], 0)?;
        let n = req.recv_into(&mut buf, 0)?;
        if n != size {
            return Err(format!("message of bad size: {n}").into());
        }
    }
    let latency = start.elapsed().as_nanos() as f64 / 1000.0 / (count as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}
