//! Request-reply client (zguide chapter 2, `rrclient`): a REQ socket that
//! sends "Hello" ten times to a broker and prints each reply.
//!
//! `cargo run --example rrclient -- [ENDPOINT]` connects to the broker's
//! frontend at ENDPOINT (default `tcp://localhost:5559`, where `rrbroker` and
//! `msgqueue` bind; `ipc://` endpoints work as well).
//! `cargo run --example rrclient -- --inproc` runs the client against a
//! stand-in broker (`zeroring::proxy`) and one REP worker in one process
//! (`rrbroker -- --inproc` runs the real broker with several clients and
//! workers).

use std::process::ExitCode;
use std::thread;
use zeroring::{Context, Error, SocketType};

/// Sends ten "Hello" requests over a REQ socket connected to `endpoint`,
/// waiting for each reply.
pub fn client(ctx: &Context, endpoint: &str) -> zeroring::Result<()> {
    let requester = ctx.socket(SocketType::Req)?;
    requester.connect(endpoint)?;
    for request_nbr in 0..10 {
        requester.send("Hello", 0)?;
        let reply = requester.recv_bytes(0)?;
        println!(
            "Received reply {request_nbr} [{}]",
            String::from_utf8_lossy(&reply)
        );
    }
    Ok(())
}

/// The client, a stand-in broker and a worker, as threads of one process.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("inproc://frontend")?;
    let backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("inproc://backend")?;
    let responder = ctx.socket(SocketType::Rep)?;
    responder.connect("inproc://backend")?;
    let threads = [
        thread::spawn(move || zeroring::proxy(&frontend, &backend)),
        thread::spawn(move || loop {
            responder.recv_bytes(0)?;
            responder.send("World", 0)?;
        }),
    ];
    client(&ctx, "inproc://frontend")?;
    ctx.shutdown(); // the broker's and the worker's blocked calls return Error::Terminated
    for handle in threads {
        match handle.join().expect("thread panicked") {
            Err(Error::Terminated) | Ok(()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--inproc") => inproc(),
        endpoint => client(&Context::new(), endpoint.unwrap_or("tcp://localhost:5559")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("rrclient: {e}");
            ExitCode::FAILURE
        }
    }
}
