//! Throughput of the thread-safe sockets: `<threads>` threads share one
//! CLIENT and send `<message-count>` messages of `<message-size>` bytes in
//! all to one SERVER (inproc), which receives them; the clock starts at
//! the first message. Threads are pinned round-robin to the cores, the
//! server to the first.
//!
//! `cargo run --release --example client_thr -- 32 10000000 4`

use std::sync::Arc;
use std::time::Instant;
use zeroring::Context;

#[path = "common/hw.rs"]
mod hw;
use hw::{cores, pin};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: client_thr <message-size> <message-count> <threads>");
        std::process::exit(1);
    }
    let size: usize = args[1].parse()?;
    let threads: u64 = args[3].parse()?;
    let count: u64 = args[2].parse::<u64>()? / threads * threads;

    let ctx = Context::new();
    let server = ctx.server()?;
    server.bind("inproc://client_thr")?;
    let client = Arc::new(ctx.client()?);
    client.connect("inproc://client_thr")?;

    let cores = cores();
    pin(&cores, 0);
    let senders: Vec<_> = (0..threads)
        .map(|t| {
            let (client, cores) = (client.clone(), cores.clone());
            std::thread::spawn(move || -> zeroring::Result<()> {
                pin(&cores, 1 + t as usize);
                let payload = vec![0u8; size];
                for _ in 0..count / threads {
                    client.send(&payload, 0)?;
                }
                Ok(())
            })
        })
        .collect();

    let mut buf = vec![0u8; size.max(1)];
    server.recv_from_into(&mut buf, 0)?;
    let start = Instant::now();
    for _ in 1..count {
        let (_, n) = server.recv_from_into(&mut buf, 0)?;
        assert_eq!(n, size, "message of wrong size");
    }
    let elapsed = (start.elapsed().as_micros() as u64).max(1);
    for s in senders {
        s.join().expect("sender panicked")?;
    }
    let throughput = (count as f64 / elapsed as f64 * 1_000_000.0) as u64;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("threads: {threads}");
    println!("mean throughput: {throughput} [msg/s]");
    Ok(())
}
