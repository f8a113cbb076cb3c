//! libzmq's `remote_thr`: a PUSH connected to `<connect-to>` sends
//! `<message-count>` messages of `<message-size>` bytes, then waits for them
//! to leave (LINGER). Prints nothing.
//!
//! `cargo run --release --example remote_thr -- tcp://127.0.0.1:5555 32 1000000`

use zeroring::{Context, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: remote_thr <connect-to> <message-size> <message-count>");
        std::process::exit(1);
    }
    let (connect_to, size, count): (&str, usize, u64) =
        (&args[1], args[2].parse()?, args[3].parse()?);
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push)?;
    push.connect(connect_to)?;
    let payload = vec![0u8; size];
    for _ in 0..count {
        push.send(&payload, 0)?;
    }
    // Dropping the context flushes what is still queued (LINGER -1).
    Ok(())
}
