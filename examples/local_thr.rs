//! libzmq's `local_thr`: a PULL bound to `<bind-to>` receives
//! `<message-count>` messages of `<message-size>` bytes; the clock starts at
//! the first. Works against libzmq's `remote_thr` and zeroring's.
//!
//! `cargo run --release --example local_thr -- tcp://127.0.0.1:5555 32 1000000`

use std::time::Instant;
use zeroring::{Context, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: local_thr <bind-to> <message-size> <message-count>");
        std::process::exit(1);
    }
    let (bind_to, size, count): (&str, usize, u64) = (&args[1], args[2].parse()?, args[3].parse()?);
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull)?;
    pull.bind(bind_to)?;
    let mut buf = vec![0u8; size.max(1)];
    pull.recv_into(&mut buf, 0)?;
    let start = Instant::now();
    for _ in 1..count {
        let n = pull.recv_into(&mut buf, 0)?;
        if n != size {
            return Err(format!("message of bad size: {n}").into());
        }
    }
    let elapsed = (start.elapsed().as_micros() as u64).max(1);
    let throughput = (count as f64 / elapsed as f64 * 1_000_000.0) as u64;
    let megabits = (throughput * size as u64 * 8) as f64 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
    Ok(())
}
