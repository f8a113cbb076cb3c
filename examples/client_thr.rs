//! Throughput of the thread-safe sockets: `<threads>` threads share one
//! CLIENT and send `<message-count>` messages of `<message-size>` bytes in
//! all to one SERVER, which receives them; the clock starts at the first
//! message. Threads are pinned round-robin to the cores, the server to
//! the first. The threads take their messages from a shared budget, 256 at
//! a time: with fixed shares, those that share no core with the server
//! would finish first and leave their cores idle.
//!
//! `cargo run --release --example client_thr -- 32 10000000 4` (inproc, one
//! process)
//!
//! Between two processes over an endpoint (ipc: shared-memory rings
//! between zeroring processes), the server first:
//!
//! `client_thr 32 10000000 4 server ipc:///tmp/x` and
//! `client_thr 32 10000000 4 client ipc:///tmp/x`

use std::sync::Arc;
use std::time::Instant;
use zeroring::{Client, Context, Server};

#[path = "common/budget.rs"]
mod budget;
#[path = "common/hw.rs"]
mod hw;
use budget::Budget;
use hw::{cores, pin};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let role = args.get(4).map(String::as_str);
    if !matches!(
        (args.len(), role),
        (4, None) | (6, Some("server")) | (6, Some("client"))
    ) {
        eprintln!(
            "usage: client_thr <message-size> <message-count> <threads> [server|client <endpoint>]"
        );
        std::process::exit(1);
    }
    let size: usize = args[1].parse()?;
    let threads: u64 = args[3].parse()?;
    let count: u64 = args[2].parse()?;
    let cores = cores();

    let ctx = Context::new();
    match (role, args.get(5)) {
        (Some("server"), Some(endpoint)) => {
            let server = ctx.server()?;
            server.bind(endpoint)?;
            pin(&cores, 0);
            report(size, count, threads, receive(&server, size, count)?);
        }
        (Some("client"), Some(endpoint)) => {
            let client = Arc::new(ctx.client()?);
            client.connect(endpoint)?;
            for s in send(&client, size, count, threads, &cores, 1) {
                s.join().expect("sender panicked")?;
            }
            // The messages are on their way; the context's drop lingers
            // until the server has them.
        }
        _ => {
            let server = ctx.server()?;
            server.bind("inproc://client_thr")?;
            let client = Arc::new(ctx.client()?);
            client.connect("inproc://client_thr")?;
            pin(&cores, 0);
            let senders = send(&client, size, count, threads, &cores, 1);
            let elapsed = receive(&server, size, count)?;
            for s in senders {
                s.join().expect("sender panicked")?;
            }
            report(size, count, threads, elapsed);
        }
    }
    Ok(())
}

type Sender = std::thread::JoinHandle<zeroring::Result<()>>;

/// `threads` threads sending `count` messages in all on `client`, pinned
/// from core `first` on.
fn send(
    client: &Arc<Client>,
    size: usize,
    count: u64,
    threads: u64,
    cores: &[core_affinity::CoreId],
    first: usize,
) -> Vec<Sender> {
    let budget = Arc::new(Budget::new(count));
    (0..threads)
        .map(|t| {
            let (client, cores, budget) = (client.clone(), cores.to_vec(), budget.clone());
            std::thread::spawn(move || -> zeroring::Result<()> {
                pin(&cores, first + t as usize);
                let payload = vec![0u8; size];
                loop {
                    let k = budget.take();
                    if k == 0 {
                        return Ok(());
                    }
                    for _ in 0..k {
                        client.send(&payload, 0)?;
                    }
                }
            })
        })
        .collect()
}

/// Receives `count` messages; microseconds from the first to the last.
fn receive(server: &Server, size: usize, count: u64) -> zeroring::Result<u64> {
    let mut buf = vec![0u8; size.max(1)];
    server.recv_from_into(&mut buf, 0)?;
    let start = Instant::now();
    for _ in 1..count {
        let (_, n) = server.recv_from_into(&mut buf, 0)?;
        assert_eq!(n, size, "message of wrong size");
    }
    Ok((start.elapsed().as_micros() as u64).max(1))
}

fn report(size: usize, count: u64, threads: u64, elapsed: u64) {
    let throughput = (count as f64 / elapsed as f64 * 1_000_000.0) as u64;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("threads: {threads}");
    println!("mean throughput: {throughput} [msg/s]");
}
