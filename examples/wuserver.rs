//! Weather update server (zguide chapter 1, `wuserver`): a PUB socket that
//! publishes "zipcode temperature relhumidity" updates with random values.
//!
//! `cargo run --example wuserver -- [ENDPOINT]` binds ENDPOINT (default
//! `tcp://*:5556`, or an `ipc://` one) and publishes forever; `wuclient`
//! subscribes to it. `cargo run --example wuserver -- --inproc [--updates N]`
//! runs this publisher and three `wuclient.rs` clients (zipcodes 10001,
//! 10002 and 10003, N updates each, default 100) as threads of one process,
//! and exits when the clients are done.

use std::fmt::Write;
use std::process::ExitCode;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};
use zeroring::{Context, Error, Socket, SocketType};

#[allow(dead_code)] // wuclient's own main() is not used here
#[path = "wuclient.rs"]
mod wuclient;

/// xorshift64: random enough for made-up weather, and no dependency.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        XorShift(nanos as u64 | 1) // never zero: zero stays zero
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Publishes random weather updates on `publisher` until the context is shut
/// down.
pub fn publish(publisher: &Socket) -> zeroring::Result<()> {
    let mut rng = XorShift::seeded();
    let mut update = String::new();
    loop {
        let zipcode = rng.below(100_000);
        let temperature = rng.below(215) as i64 - 80;
        let relhumidity = rng.below(50) + 10;
        update.clear();
        write!(update, "{zipcode:05} {temperature} {relhumidity}").unwrap();
        publisher.send(&update, 0)?;
    }
}

/// The publisher and three clients, as threads of one process.
fn inproc(updates: u32) -> zeroring::Result<()> {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::Pub)?;
    publisher.bind("inproc://weather")?;
    // Subscribing before the publisher starts means no client misses the
    // first updates (zguide's "slow joiner"): over inproc, a subscription
    // made before a send applies to that send.
    let mut clients = Vec::new();
    for zipcode in ["10001 ", "10002 ", "10003 "] {
        let subscriber = wuclient::subscribe(&ctx, "inproc://weather", zipcode)?;
        clients.push(thread::spawn(move || -> zeroring::Result<()> {
            let average = wuclient::average_temperature(&subscriber, updates)?;
            println!("Average temperature for zipcode '{zipcode}' was {average}F");
            Ok(())
        }));
    }
    let server = thread::spawn(move || publish(&publisher));
    for client in clients {
        client.join().expect("client thread panicked")?;
    }
    ctx.shutdown(); // the publisher's next send returns Error::Terminated
    match server.join().expect("publisher thread panicked") {
        Err(Error::Terminated) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut inproc_mode, mut updates, mut endpoint) = (false, 100, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--inproc" => inproc_mode = true,
            "--updates" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => updates = n,
                None => {
                    eprintln!("usage: wuserver [ENDPOINT] | wuserver --inproc [--updates N]");
                    return ExitCode::FAILURE;
                }
            },
            _ => endpoint = Some(arg),
        }
    }
    let result = if inproc_mode {
        inproc(updates)
    } else {
        Context::new()
            .socket(SocketType::Pub)
            .and_then(|publisher| {
                publisher.bind(endpoint.as_deref().unwrap_or("tcp://*:5556"))?;
                publish(&publisher)
            })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("wuserver: {e}");
            ExitCode::FAILURE
        }
    }
}
