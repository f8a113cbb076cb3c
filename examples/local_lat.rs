//! libzmq's `local_lat`: a REP bound to `<bind-to>` echoes
//! `<roundtrip-count>` messages of `<message-size>` bytes. Prints nothing.
//!
//! `cargo run --release --example local_lat -- tcp://127.0.0.1:5555 64 10000`

use zeroring::{Context, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: local_lat <bind-to> <message-size> <roundtrip-count>");
        std::process::exit(1);
    }
    let (bind_to, size, count): (&str, usize, u64) = (&args[1], args[2].parse()?, args[3].parse()?);
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep)?;
    rep.bind(bind_to)?;
    let mut buf = vec![0u8; size.max(1)];
    for _ in 0..count {
        let n = rep.recv_into(&mut buf, 0)?;
        if n != size {
            return Err(format!("message of bad size: {n}").into());
        }
        rep.send(&buf[..n], 0)?;
    }
    Ok(())
}
