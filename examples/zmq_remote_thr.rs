//! libzmq's `remote_thr` over the `zmq` crate (libzmq 4.3.4 itself), the twin of
//! zeroring's `remote_thr` example: a PUSH connected to `<connect-to>` sends
//! `<message-count>` messages of `<message-size>` bytes, then waits for them
//! to leave (LINGER). Prints nothing.
//!
//! `cargo run --release --example zmq_remote_thr -- tcp://127.0.0.1:5555 32 1000000`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: zmq_remote_thr <connect-to> <message-size> <message-count>");
        std::process::exit(1);
    }
    let (connect_to, size, count): (&str, usize, u64) =
        (&args[1], args[2].parse()?, args[3].parse()?);
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH)?;
    push.connect(connect_to)?;
    let payload = vec![0u8; size];
    for _ in 0..count {
        push.send(&payload[..], 0)?;
    }
    // Dropping the context flushes what is still queued (LINGER -1).
    Ok(())
}
