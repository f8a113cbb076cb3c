//! Hello World client (zguide chapter 1, `hwclient`): a REQ socket that
//! sends "Hello" ten times and prints each "World" reply.
//!
//! `cargo run --example hwclient -- [ENDPOINT]` connects to ENDPOINT (default
//! `tcp://localhost:5555`, where `hwserver` binds; or the `ipc://` path it
//! was given). `cargo run --example hwclient -- --inproc` runs the client
//! against a minimal REP thread standing in for `hwserver`, in one process
//! (`hwserver -- --inproc` runs the real one).

use std::process::ExitCode;
use std::thread;
use zeroring::{Context, Error, SocketType};

/// Sends ten "Hello" requests over a REQ socket connected to `endpoint`,
/// waiting for each reply.
pub fn client(ctx: &Context, endpoint: &str) -> zeroring::Result<()> {
    println!("Connecting to hello world server...");
    let requester = ctx.socket(SocketType::Req)?;
    requester.connect(endpoint)?;
    for request_nbr in 0..10 {
        println!("Sending Hello {request_nbr}...");
        requester.send("Hello", 0)?;
        let reply = requester.recv_bytes(0)?;
        println!(
            "Received reply {request_nbr}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    Ok(())
}

/// The client and a stand-in server, as two threads of one process.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let responder = ctx.socket(SocketType::Rep)?;
    responder.bind("inproc://hello")?;
    let server = thread::spawn(move || -> zeroring::Result<()> {
        loop {
            responder.recv_bytes(0)?;
            responder.send("World", 0)?;
        }
    });
    client(&ctx, "inproc://hello")?;
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
        endpoint => client(&Context::new(), endpoint.unwrap_or("tcp://localhost:5555")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("hwclient: {e}");
            ExitCode::FAILURE
        }
    }
}
