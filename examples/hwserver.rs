//! Hello World server (zguide chapter 1, `hwserver`): a REP socket that
//! answers every request with "World".
//!
//! `cargo run --example hwserver -- [ENDPOINT]` binds ENDPOINT (default
//! `tcp://*:5555`, as in the guide; `ipc:///tmp/hw` is shared memory
//! between zeroring processes, ZMTP with libzmq ones) and serves forever;
//! `hwclient` talks to it. `cargo run --example hwserver -- --inproc` runs
//! this server and the client of `hwclient.rs` as two threads of one
//! process, and exits once the client has its ten replies.

use std::process::ExitCode;
use std::thread;
use std::time::Duration;
use zeroring::{Context, Error, SocketType};

#[allow(dead_code)] // hwclient's own main() is not used here
#[path = "hwclient.rs"]
mod hwclient;

/// Binds a REP socket to `endpoint` and answers each request with "World",
/// until the context is shut down.
pub fn server(ctx: &Context, endpoint: &str) -> zeroring::Result<()> {
    let responder = ctx.socket(SocketType::Rep)?;
    responder.bind(endpoint)?;
    loop {
        let request = responder.recv_bytes(0)?;
        println!("Received {}", String::from_utf8_lossy(&request));
        thread::sleep(Duration::from_millis(100)); // do some 'work'
        responder.send("World", 0)?;
    }
}

/// The server and `hwclient`'s client, as two threads of one process.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let server = thread::spawn({
        let ctx = ctx.clone();
        move || server(&ctx, "inproc://hello")
    });
    hwclient::client(&ctx, "inproc://hello")?;
    ctx.shutdown(); // the server's blocked recv returns Error::Terminated
    match server.join().expect("server thread panicked") {
        Err(Error::Terminated) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--inproc") => inproc(),
        endpoint => server(&Context::new(), endpoint.unwrap_or("tcp://*:5555")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("hwserver: {e}");
            ExitCode::FAILURE
        }
    }
}
