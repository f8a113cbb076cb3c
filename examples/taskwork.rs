//! Task worker (zguide chapter 1, `taskwork`): PULLs workloads from the
//! ventilator, "works" (sleeps) that many milliseconds, and PUSHes an empty
//! result to the sink.
//!
//! `cargo run --example taskwork -- [TASKS] [RESULTS]` connects to the
//! ventilator at TASKS (default `tcp://localhost:5557`, where `taskvent`
//! binds) and the sink at RESULTS (default `tcp://localhost:5558`, where
//! `tasksink` binds; `ipc://` endpoints work as well), and works forever.
//! `cargo run --example taskwork -- --inproc` runs one worker against
//! minimal stand-ins for the ventilator and the sink, in one process
//! (`taskvent -- --inproc` runs the real ones, with four workers).

use std::io::Write;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;
use zeroring::{Context, Error, Socket, SocketType};

/// A worker's two sockets: a PULL connected to `tasks` and a PUSH connected
/// to `results`.
pub fn connect(ctx: &Context, tasks: &str, results: &str) -> zeroring::Result<(Socket, Socket)> {
    let receiver = ctx.socket(SocketType::Pull)?;
    receiver.connect(tasks)?;
    let sender = ctx.socket(SocketType::Push)?;
    sender.connect(results)?;
    Ok((receiver, sender))
}

/// Does each task that arrives on `receiver` and signals `sender` when done,
/// until the context is shut down.
pub fn work(receiver: &Socket, sender: &Socket) -> zeroring::Result<()> {
    loop {
        let task = receiver.recv_bytes(0)?;
        let workload = String::from_utf8_lossy(&task);
        print!("{workload}."); // show progress
        std::io::stdout().flush().ok();
        thread::sleep(Duration::from_millis(workload.parse().unwrap_or(0))); // do the work
        sender.send("", 0)?; // send the result to the sink
    }
}

/// One worker, fed ten 1 ms tasks by a stand-in ventilator whose results a
/// stand-in sink collects.
fn inproc() -> zeroring::Result<()> {
    let ctx = Context::new();
    let ventilator = ctx.socket(SocketType::Push)?;
    ventilator.bind("inproc://tasks")?;
    let sink = ctx.socket(SocketType::Pull)?;
    sink.bind("inproc://results")?;
    let (receiver, sender) = connect(&ctx, "inproc://tasks", "inproc://results")?;
    let worker = thread::spawn(move || work(&receiver, &sender));
    for _ in 0..10 {
        ventilator.send("1", 0)?;
    }
    for _ in 0..10 {
        sink.recv_bytes(0)?;
    }
    println!("\n10 tasks done");
    ctx.shutdown(); // the worker's blocked recv returns Error::Terminated
    match worker.join().expect("worker thread panicked") {
        Err(Error::Terminated) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().is_some_and(|a| a == "--inproc") {
        inproc()
    } else {
        let tasks = args.first().map_or("tcp://localhost:5557", String::as_str);
        let results = args.get(1).map_or("tcp://localhost:5558", String::as_str);
        let ctx = Context::new();
        connect(&ctx, tasks, results).and_then(|(receiver, sender)| work(&receiver, &sender))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::TransportNotSupported(endpoint)) => {
            let scheme = endpoint.split("://").next().unwrap_or_default();
            eprintln!("{scheme}:// is not supported: use tcp://, ipc:// or --inproc");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("taskwork: {e}");
            ExitCode::FAILURE
        }
    }
}
