//! Message queue broker (zguide chapter 2, `msgqueue`): `rrbroker` with its
//! loop replaced by the built-in proxy, `zeroring::proxy(&frontend, &backend)`,
//! between a ROUTER frontend for clients and a DEALER backend for
//! workers.
//!
//! `cargo run --example msgqueue -- [FRONTEND] [BACKEND]` binds FRONTEND
//! (default `tcp://*:5559`, for `rrclient`) and BACKEND (default
//! `tcp://*:5560`, for `rrworker`); `ipc://` endpoints work as well.
//! `cargo run --example msgqueue -- --inproc` runs the proxy, three
//! `rrclient.rs` clients and two `rrworker.rs` workers as threads of one
//! process, and exits once every request is answered.

use std::process::ExitCode;
use std::thread;
use zeroring::{Context, Error, SocketType};

#[allow(dead_code)] // rrclient's own main() is not used here
#[path = "rrclient.rs"]
mod rrclient;
#[allow(dead_code)] // rrworker's own main() is not used here
#[path = "rrworker.rs"]
mod rrworker;

/// Binds the frontend and the backend and runs the proxy between them until
/// the context is shut down.
pub fn msgqueue(ctx: &Context, frontend: &str, backend: &str) -> zeroring::Result<()> {
    let router = ctx.socket(SocketType::Router)?;
    router.bind(frontend)?;
    let dealer = ctx.socket(SocketType::Dealer)?;
    dealer.bind(backend)?;
    zeroring::proxy(&router, &dealer)
}

/// The proxy, three clients and two workers, as threads of one process.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let mut servers = Vec::new();
    servers.push(thread::spawn({
        let ctx = ctx.clone();
        move || msgqueue(&ctx, "inproc://frontend", "inproc://backend")
    }));
    for _ in 0..2 {
        let ctx = ctx.clone();
        servers.push(thread::spawn(move || {
            rrworker::worker(&ctx, "inproc://backend")
        }));
    }
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let ctx = ctx.clone();
            thread::spawn(move || rrclient::client(&ctx, "inproc://frontend"))
        })
        .collect();
    for client in clients {
        client.join().expect("client thread panicked")?;
    }
    ctx.shutdown(); // the proxy and the workers' blocked recvs return Error::Terminated
    for server in servers {
        match server.join().expect("thread panicked") {
            Err(Error::Terminated) | Ok(()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().is_some_and(|a| a == "--inproc") {
        inproc()
    } else {
        let frontend = args.first().map_or("tcp://*:5559", String::as_str);
        msgqueue(
            &Context::new(),
            frontend,
            args.get(1).map_or("tcp://*:5560", String::as_str),
        )
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("msgqueue: {e}");
            ExitCode::FAILURE
        }
    }
}
