//! Task sink (zguide chapter 1, `tasksink`): PULLs the start-of-batch signal
//! from the ventilator, then one result per task from the workers, and prints
//! how long the batch took.
//!
//! `cargo run --example tasksink -- [ENDPOINT]` binds ENDPOINT (default
//! `tcp://*:5558`, or an `ipc://` one), where `taskvent` and `taskwork`
//! connect. `cargo run --example tasksink -- --inproc` runs the sink against
//! a minimal PUSH standing in for the ventilator and the workers, in one
//! process (`taskvent -- --inproc` runs the real ones).

use std::io::Write;
use std::process::ExitCode;
use std::thread;
use std::time::Instant;
use zeroring::{Context, Error, Socket, SocketType};

/// How many results make a batch.
pub const TASKS: u32 = 100;

/// Waits for the start of the batch, then for `tasks` results.
pub fn sink(receiver: &Socket, tasks: u32) -> zeroring::Result<()> {
    receiver.recv_bytes(0)?; // wait for the start of the batch
    let start = Instant::now();
    for task_nbr in 0..tasks {
        receiver.recv_bytes(0)?;
        print!("{}", if task_nbr % 10 == 0 { ':' } else { '.' });
        std::io::stdout().flush().ok();
    }
    println!("\nTotal elapsed time: {} msec", start.elapsed().as_millis());
    Ok(())
}

/// The sink, fed a start signal and a batch of results by a stand-in PUSH.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let receiver = ctx.socket(SocketType::Pull)?;
    receiver.bind("inproc://results")?;
    let sink = thread::spawn(move || sink(&receiver, TASKS));
    let sender = ctx.socket(SocketType::Push)?;
    sender.connect("inproc://results")?;
    sender.send("0", 0)?;
    for _ in 0..TASKS {
        sender.send("", 0)?;
    }
    sink.join().expect("sink thread panicked")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--inproc") => inproc(),
        endpoint => Context::new()
            .socket(SocketType::Pull)
            .and_then(|receiver| {
                receiver.bind(endpoint.unwrap_or("tcp://*:5558"))?;
                sink(&receiver, TASKS)
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("tasksink: {e}");
            ExitCode::FAILURE
        }
    }
}
