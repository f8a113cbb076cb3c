//! Task ventilator (zguide chapter 1, `taskvent`): the head of a PUSH/PULL
//! pipeline. It sends the sink a start-of-batch signal, then PUSHes 100 tasks
//! (workloads of 1 to 10 ms) that PUSH spreads over the connected workers;
//! the workers (`taskwork`) PUSH their results to the sink (`tasksink`).
//!
//! `cargo run --example taskvent -- [TASKS] [SINK]` binds TASKS (default
//! `tcp://*:5557`), connects to the sink at SINK (default
//! `tcp://localhost:5558`) and starts when you press Enter; `ipc://`
//! endpoints work as well. `cargo run --example taskvent -- --inproc` runs
//! the ventilator, four `taskwork.rs` workers and the `tasksink.rs` sink as
//! threads of one process, and exits once the sink has every result.

use std::process::ExitCode;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};
use zeroring::{Context, Error, Socket, SocketType};

#[allow(dead_code)] // tasksink's own main() is not used here
#[path = "tasksink.rs"]
mod tasksink;
#[allow(dead_code)] // taskwork's own main() is not used here
#[path = "taskwork.rs"]
mod taskwork;

/// xorshift64: random enough for made-up workloads, and no dependency.
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

/// Signals the start of a batch to `sink`, then sends `tasks` workloads to
/// the workers through `sender`.
pub fn ventilate(sender: &Socket, sink: &Socket, tasks: u32) -> zeroring::Result<()> {
    println!("Sending tasks to workers...");
    sink.send("0", 0)?; // the first message, "0", signals the start of the batch
    let mut rng = XorShift::seeded();
    let workloads: Vec<u64> = (0..tasks).map(|_| rng.below(10) + 1).collect();
    // Printed before the tasks go out, so the workers' progress does not cut the line.
    println!(
        "Total expected cost: {} msec",
        workloads.iter().sum::<u64>()
    );
    for workload in workloads {
        sender.send(workload.to_string(), 0)?;
    }
    Ok(())
}

/// The ventilator, four workers and the sink, as threads of one process.
fn inproc() -> zeroring::Result<()> {
    const TASKS: &str = "inproc://tasks";
    const RESULTS: &str = "inproc://results";
    let ctx = Context::new();
    let receiver = ctx.socket(SocketType::Pull)?;
    receiver.bind(RESULTS)?;
    let sink = thread::spawn(move || tasksink::sink(&receiver, tasksink::TASKS));
    let sender = ctx.socket(SocketType::Push)?;
    sender.bind(TASKS)?;
    let start = ctx.socket(SocketType::Push)?;
    start.connect(RESULTS)?;
    // Every worker connects before the first task goes out, so PUSH spreads
    // the tasks over all of them (the guide asks you to press Enter when
    // they are ready).
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (tasks, results) = taskwork::connect(&ctx, TASKS, RESULTS)?;
        workers.push(thread::spawn(move || taskwork::work(&tasks, &results)));
    }
    ventilate(&sender, &start, tasksink::TASKS)?;
    sink.join().expect("sink thread panicked")?;
    ctx.shutdown(); // the workers' blocked recvs return Error::Terminated
    for worker in workers {
        match worker.join().expect("worker thread panicked") {
            Err(Error::Terminated) | Ok(()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The guide's ventilator: bind, connect, wait for Enter, go.
fn standalone(tasks: &str, sink: &str) -> zeroring::Result<()> {
    let ctx = Context::new();
    let sender = ctx.socket(SocketType::Push)?;
    sender.bind(tasks)?;
    let start = ctx.socket(SocketType::Push)?;
    start.connect(sink)?;
    println!("Press Enter when the workers are ready: ");
    std::io::stdin().read_line(&mut String::new())?;
    ventilate(&sender, &start, tasksink::TASKS)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().is_some_and(|a| a == "--inproc") {
        inproc()
    } else {
        let tasks = args.first().map_or("tcp://*:5557", String::as_str);
        standalone(
            tasks,
            args.get(1).map_or("tcp://localhost:5558", String::as_str),
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
            eprintln!("taskvent: {e}");
            ExitCode::FAILURE
        }
    }
}
