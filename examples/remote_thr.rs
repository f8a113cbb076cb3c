//! libzmq's `remote_thr`: a PUSH connected to `<connect-to>` sends
//! `<message-count>` messages of `<message-size>` bytes, then waits for them
//! to leave (LINGER). Prints nothing.
//!
//! With `--loan`, each message is written in place with `Socket::loan`
//! (over ipc, a large one lies in a shared chunk: no copy at all); with
//! `--loan-fill` the sender also writes every byte of it, as a real
//! producer would.
//!
//! `ZR_RING=<bytes>` sets the pipe's ring capacity (over ipc the larger
//! of the two processes' offers is used).
//!
//! `cargo run --release --example remote_thr -- tcp://127.0.0.1:5555 32 1000000`

use zeroring::{Context, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().collect();
    let loan = args.iter().any(|a| a == "--loan");
    let fill = args.iter().any(|a| a == "--loan-fill");
    args.retain(|a| !a.starts_with("--"));
    if args.len() != 4 {
        eprintln!(
            "usage: remote_thr <connect-to> <message-size> <message-count> [--loan|--loan-fill]"
        );
        std::process::exit(1);
    }
    let (connect_to, size, count): (&str, usize, u64) =
        (&args[1], args[2].parse()?, args[3].parse()?);
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push)?;
    if let Ok(r) = std::env::var("ZR_RING") {
        push.set_ring_capacity(r.parse()?)?;
    }
    push.connect(connect_to)?;
    if loan || fill {
        for i in 0..count {
            let mut buf = push.loan(size, 0)?;
            if fill {
                buf.fill(i as u8);
            }
            buf.send()?;
        }
    } else {
        let payload = vec![0u8; size];
        for _ in 0..count {
            push.send(&payload, 0)?;
        }
    }
    // Dropping the context flushes what is still queued (LINGER -1).
    Ok(())
}
