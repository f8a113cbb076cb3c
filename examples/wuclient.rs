//! Weather update client (zguide chapter 1, `wuclient`): a SUB socket that
//! subscribes to one zipcode, collects a number of updates and prints the
//! average temperature.
//!
//! `cargo run --example wuclient -- [ZIPCODE] [ENDPOINT] [--updates N]`
//! subscribes to the prefix ZIPCODE (default `"10001 "`; the space stops
//! "10001" from matching "100010") at ENDPOINT (default
//! `tcp://localhost:5556`, where `wuserver` binds; or an `ipc://` one) and
//! averages N updates (default 100). `cargo run --example wuclient --
//! --inproc` runs the client against a minimal publisher thread standing in
//! for `wuserver`, in one process (`wuserver -- --inproc` runs the real one).

use std::process::ExitCode;
use std::thread;
use zeroring::{Context, Error, Socket, SocketType};

/// A SUB socket connected to `endpoint` and subscribed to `zipcode`.
pub fn subscribe(ctx: &Context, endpoint: &str, zipcode: &str) -> zeroring::Result<Socket> {
    let subscriber = ctx.socket(SocketType::Sub)?;
    subscriber.connect(endpoint)?;
    subscriber.set_subscribe(zipcode.as_bytes())?;
    Ok(subscriber)
}

/// Receives `updates` "zipcode temperature relhumidity" updates and returns
/// their average temperature.
pub fn average_temperature(subscriber: &Socket, updates: u32) -> zeroring::Result<i64> {
    let mut total = 0;
    for _ in 0..updates {
        let update = subscriber.recv_bytes(0)?;
        let update = String::from_utf8_lossy(&update);
        let temperature: i64 = update
            .split(' ')
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        total += temperature;
    }
    Ok(total / i64::from(updates.max(1)))
}

/// Subscribes to `zipcode`, collects `updates` and prints the average.
pub fn client(ctx: &Context, endpoint: &str, zipcode: &str, updates: u32) -> zeroring::Result<()> {
    println!("Collecting updates from weather server...");
    let subscriber = subscribe(ctx, endpoint, zipcode)?;
    let average = average_temperature(&subscriber, updates)?;
    println!("Average temperature for zipcode '{zipcode}' was {average}F");
    Ok(())
}

/// The client and a stand-in publisher, as two threads of one process.
fn inproc(zipcode: &str, updates: u32) -> zeroring::Result<()> {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub)?;
    publisher.bind("inproc://weather")?;
    // Updates for the zipcode asked for, with some for another one between
    // them for the subscription to filter out.
    let zip = zipcode.trim().to_owned();
    let server = thread::spawn(move || -> zeroring::Result<()> {
        for n in 0u64.. {
            let zip = if n % 3 == 0 { "00000" } else { &zip };
            publisher.send(format!("{zip} {} {}", n % 100, 10 + n % 50), 0)?;
        }
        Ok(())
    });
    client(&ctx, "inproc://weather", zipcode, updates)?;
    ctx.shutdown(); // the publisher's next send returns Error::Terminated
    match server.join().expect("publisher thread panicked") {
        Err(Error::Terminated) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut inproc_mode, mut updates, mut positional) = (false, 100, Vec::new());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--inproc" => inproc_mode = true,
            "--updates" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => updates = n,
                None => {
                    eprintln!("usage: wuclient [ZIPCODE] [ENDPOINT] [--updates N] [--inproc]");
                    return ExitCode::FAILURE;
                }
            },
            _ => positional.push(arg),
        }
    }
    let zipcode = positional.first().map_or("10001 ", String::as_str);
    let endpoint = positional
        .get(1)
        .map_or("tcp://localhost:5556", String::as_str);
    let result = if inproc_mode {
        inproc(zipcode, updates)
    } else {
        client(&Context::new(), endpoint, zipcode, updates)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("wuclient: {e}");
            ExitCode::FAILURE
        }
    }
}
