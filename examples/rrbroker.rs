//! Request-reply broker (zguide chapter 2, `rrbroker`): a ROUTER frontend for
//! clients and a DEALER backend for workers, with `zeroring::poll` shuffling
//! whole messages between the two. The ROUTER prefixes each request with the
//! client's routing id and the DEALER spreads requests over the workers;
//! replies come back with the id that routes them to their client.
//!
//! `cargo run --example rrbroker -- [FRONTEND] [BACKEND]` binds FRONTEND
//! (default `tcp://*:5559`, for `rrclient`) and BACKEND (default
//! `tcp://*:5560`, for `rrworker`); `ipc://` endpoints work as well.
//! `cargo run --example rrbroker -- --inproc` runs the broker, three
//! `rrclient.rs` clients and two `rrworker.rs` workers as threads of one
//! process, and exits once every request is answered.

use std::process::ExitCode;
use std::thread;
use zeroring::{poll, Context, Error, Socket, SocketType, POLLIN, SNDMORE};

#[allow(dead_code)] // rrclient's own main() is not used here
#[path = "rrclient.rs"]
mod rrclient;
#[allow(dead_code)] // rrworker's own main() is not used here
#[path = "rrworker.rs"]
mod rrworker;

/// Moves one whole message, frame by frame, from `from` to `to`.
fn forward(from: &Socket, to: &Socket) -> zeroring::Result<()> {
    loop {
        let frame = from.recv_bytes(0)?;
        let more = from.get_rcvmore()?;
        to.send(frame, if more { SNDMORE } else { 0 })?;
        if !more {
            return Ok(());
        }
    }
}

/// Shuffles messages between `frontend` and `backend` until the context is
/// shut down.
pub fn broker(frontend: &Socket, backend: &Socket) -> zeroring::Result<()> {
    let mut items = [frontend.as_poll_item(POLLIN), backend.as_poll_item(POLLIN)];
    loop {
        poll(&mut items, -1)?;
        if items[0].is_readable() {
            forward(frontend, backend)?;
        }
        if items[1].is_readable() {
            forward(backend, frontend)?;
        }
    }
}

/// The broker's two sockets, bound.
fn bind(ctx: &Context, frontend: &str, backend: &str) -> zeroring::Result<(Socket, Socket)> {
    let router = ctx.socket(SocketType::Router)?;
    router.bind(frontend)?;
    let dealer = ctx.socket(SocketType::Dealer)?;
    dealer.bind(backend)?;
    Ok((router, dealer))
}

/// The broker, three clients and two workers, as threads of one process.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let (frontend, backend) = bind(&ctx, "inproc://frontend", "inproc://backend")?;
    let mut servers = vec![thread::spawn(move || broker(&frontend, &backend))];
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
    ctx.shutdown(); // poll and the workers' blocked recvs return Error::Terminated
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
        let backend = args.get(1).map_or("tcp://*:5560", String::as_str);
        bind(&Context::new(), frontend, backend).and_then(|(f, b)| broker(&f, &b))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("rrbroker: {e}");
            ExitCode::FAILURE
        }
    }
}
