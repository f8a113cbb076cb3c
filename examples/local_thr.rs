//! libzmq's `local_thr`: a PULL bound to `<bind-to>` receives
//! `<message-count>` messages of `<message-size>` bytes; the clock starts at
//! the first. Works against libzmq's `remote_thr` and zeroring's.
//!
//! With `--zero-copy`, each message is borrowed in place with
//! `Socket::recv_frame` (over ipc, a large one straight from the sender's
//! shared chunk) instead of copied out, and its first and last bytes read;
//! a fifth line gives the throughput in GiB/s.
//!
//! `ZR_RING=<bytes>` sets the ring capacity it offers (see `remote_thr`).
//!
//! `cargo run --release --example local_thr -- tcp://127.0.0.1:5555 32 1000000`

use std::time::Instant;
use zeroring::{Context, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().collect();
    let zero_copy = args.iter().any(|a| a == "--zero-copy");
    args.retain(|a| !a.starts_with("--"));
    if args.len() != 4 {
        eprintln!("usage: local_thr <bind-to> <message-size> <message-count> [--zero-copy]");
        std::process::exit(1);
    }
    let (bind_to, size, count): (&str, usize, u64) = (&args[1], args[2].parse()?, args[3].parse()?);
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull)?;
    if let Ok(r) = std::env::var("ZR_RING") {
        pull.set_ring_capacity(r.parse()?)?;
    }
    pull.bind(bind_to)?;
    let mut buf = vec![0u8; size.max(1)];
    pull.recv_into(&mut buf, 0)?;
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 1..count {
        let n = if zero_copy {
            let frame = pull.recv_frame(0)?;
            if let (Some(a), Some(b)) = (frame.first(), frame.last()) {
                sum += (*a as u64) + (*b as u64);
            }
            frame.len()
        } else {
            pull.recv_into(&mut buf, 0)?
        };
        if n != size {
            return Err(format!("message of bad size: {n}").into());
        }
    }
    let elapsed = (start.elapsed().as_micros() as u64).max(1);
    std::hint::black_box(sum);
    let throughput = (count as f64 / elapsed as f64 * 1_000_000.0) as u64;
    let megabits = (throughput * size as u64 * 8) as f64 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
    if zero_copy {
        // Not one of libzmq's lines: only with zeroring's own flag.
        let gib = (count as f64 * size as f64) / (elapsed as f64 / 1e6) / (1u64 << 30) as f64;
        println!("mean throughput: {gib:.2} [GiB/s]");
    }
    Ok(())
}
