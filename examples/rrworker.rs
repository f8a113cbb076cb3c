//! Request-reply worker (zguide chapter 2, `rrworker`): a REP socket that
//! takes requests from a broker's backend and answers each with "World".
//!
//! `cargo run --example rrworker -- [ENDPOINT]` connects to the broker's
//! backend at ENDPOINT (default `tcp://localhost:5560`, where `rrbroker` and
//! `msgqueue` bind; `ipc://` endpoints work as well) and works forever.
//! `cargo run --example rrworker -- --inproc` runs the worker behind a
//! stand-in broker (`zeroring::proxy`) with one REQ client sending ten
//! requests, in one process (`rrbroker -- --inproc` runs the real broker
//! with several clients and workers).

use std::process::ExitCode;
use std::thread;
use std::time::Duration;
use zeroring::{Context, Error, SocketType};

/// Answers each request arriving over a REP socket connected to `endpoint`
/// with "World", until the context is shut down.
pub fn worker(ctx: &Context, endpoint: &str) -> zeroring::Result<()> {
    let responder = ctx.socket(SocketType::Rep)?;
    responder.connect(endpoint)?;
    loop {
        let request = responder.recv_bytes(0)?;
        println!("Received request: [{}]", String::from_utf8_lossy(&request));
        thread::sleep(Duration::from_millis(10)); // do some 'work'
        responder.send("World", 0)?;
    }
}

/// The worker, a stand-in broker and a client, as threads of one process.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("inproc://frontend")?;
    let backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("inproc://backend")?;
    let threads = [
        thread::spawn(move || zeroring::proxy(&frontend, &backend)),
        thread::spawn({
            let ctx = ctx.clone();
            move || worker(&ctx, "inproc://backend")
        }),
    ];
    let requester = ctx.socket(SocketType::Req)?;
    requester.connect("inproc://frontend")?;
    for _ in 0..10 {
        requester.send("Hello", 0)?;
        requester.recv_bytes(0)?;
    }
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
        endpoint => worker(&Context::new(), endpoint.unwrap_or("tcp://localhost:5560")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("rrworker: {e}");
            ExitCode::FAILURE
        }
    }
}
