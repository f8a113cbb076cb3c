//! Many producer threads into one consumer, 32-byte messages: the mpsc
//! frame ring (`zeroring::mpsc`) beside crossbeam-channel's bounded and
//! unbounded channels, N zeroring PUSH sockets into one PULL, and N
//! threads sharing one CLIENT into a SERVER (inproc), with 1, 2 and 4
//! producers. Reported as messages per second.
//!
//! Issue 16's bar: CLIENT/SERVER at least 2x crossbeam-channel and 1.5x
//! the PUSH sockets at 4 producers.
//!
//! Threads live for a whole benchmark and are pinned: the consumer to the
//! first core, producer `i` to core `1 + i` (modulo the cores). On a
//! machine with fewer than `producers + 1` cores the threads share cores,
//! so 4 producers on a 2-core machine oversubscribe it 5 threads to 2
//! cores, and what is measured there is largely the scheduler: spinning
//! threads yield after a few rounds, crossbeam's park. One sample: the
//! producers send `iters` messages in all, each taking them from a shared
//! budget 256 at a time, and the time runs from their start until the
//! consumer has taken all of them. Not a fixed share each: a producer that
//! shares its core with the consumer sends less than one with a core of
//! its own, and with shares the others would finish first and leave their
//! cores idle (half the second core's time, 4 producers on two cores),
//! measuring the slowest thread instead of the arrangement.
//!
//! Waiting: the ring's producers spin and then yield while it is full,
//! its consumer spins and then yields while it is empty (a socket would
//! sleep on its doorbell; the spin is the best case of both); crossbeam's
//! `send`/`recv` block as they do for their users (spin, then park); the
//! sockets block as sockets do.
//!
//! `cargo bench --bench mpsc`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::mpsc as stdmpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use zeroring::mpsc::ClaimError;

#[path = "../examples/common/budget.rs"]
mod budget;
use budget::Budget;

const SIZE: usize = 32;
/// The ring's region: 256 KiB, a socket pipe's default ring.
const RING: usize = 256 << 10;
/// crossbeam's bounded channel: as many 32-byte messages as the ring holds
/// records of them (40 bytes each).
const BOUND: usize = RING / 40;

type Cores = Vec<core_affinity::CoreId>;

fn pin(cores: &[core_affinity::CoreId], n: usize) {
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[n % cores.len()]);
    }
}

/// A pinned thread that runs `job(n)` for each `n` it is handed.
struct Worker {
    cmd: Option<stdmpsc::Sender<u64>>,
    done: stdmpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn spawn(cores: &Cores, core: usize, mut job: impl FnMut(u64) + Send + 'static) -> Self {
        let (cmd_tx, cmd_rx) = stdmpsc::channel::<u64>();
        let (done_tx, done_rx) = stdmpsc::channel();
        let cores = cores.clone();
        let thread = std::thread::spawn(move || {
            pin(&cores, core);
            while let Ok(n) = cmd_rx.recv() {
                job(n);
                if done_tx.send(()).is_err() {
                    return;
                }
            }
        });
        Worker {
            cmd: Some(cmd_tx),
            done: done_rx,
            thread: Some(thread),
        }
    }

    fn start(&self, n: u64) {
        self.cmd.as_ref().unwrap().send(n).expect("worker gone");
    }

    fn finish(&self) {
        self.done.recv().expect("worker panicked");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.cmd.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() && !std::thread::panicking() {
                panic!("worker panicked");
            }
        }
    }
}

/// A producer worker: sends with `send_one` until the budget is spent.
fn producer(
    cores: &Cores,
    core: usize,
    budget: &Arc<Budget>,
    mut send_one: impl FnMut() + Send + 'static,
) -> Worker {
    let budget = budget.clone();
    Worker::spawn(cores, core, move |_| loop {
        let k = budget.take();
        if k == 0 {
            return;
        }
        for _ in 0..k {
            send_one();
        }
    })
}

/// Producers and a consumer, each a worker.
struct Fan {
    producers: Vec<Worker>,
    consumer: Worker,
    budget: Arc<Budget>,
}

impl Fan {
    fn run(&self, n: u64) -> Duration {
        let n = n.max(1);
        self.budget.set(n);
        let start = Instant::now();
        self.consumer.start(n);
        for p in &self.producers {
            p.start(0);
        }
        self.consumer.finish();
        let elapsed = start.elapsed();
        for p in &self.producers {
            p.finish();
        }
        elapsed
    }
}

/// `i` rounds of spinning done: spin, or give the core away.
fn idle(i: &mut u32) {
    *i += 1;
    if *i < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

fn ring_fan(cores: &Cores, producers: usize) -> Fan {
    let (tx, mut rx) = zeroring::mpsc::mpsc(RING);
    let consumer = Worker::spawn(cores, 0, move |n| {
        let mut got = 0;
        let mut i = 0;
        while got < n {
            match rx.peek().expect("ring corrupt") {
                Some(rec) => {
                    i = 0;
                    black_box(rx.payload(&rec));
                    rx.advance(rec);
                    got += 1;
                    if rx.unreleased() * 4 >= rx.capacity() {
                        rx.release();
                    }
                }
                None => {
                    rx.release();
                    idle(&mut i);
                }
            }
        }
        rx.release();
    });
    let budget = Arc::default();
    let producers = (0..producers)
        .map(|p| {
            let tx = tx.with_owner(p as u16);
            let payload = [0x5au8; SIZE];
            producer(cores, 1 + p, &budget, move || {
                let mut i = 0;
                loop {
                    match tx.push(black_box(&payload)) {
                        Ok(()) => break,
                        Err(ClaimError::Full) => idle(&mut i),
                        Err(e) => panic!("{e:?}"),
                    }
                }
            })
        })
        .collect();
    Fan {
        producers,
        consumer,
        budget,
    }
}

fn crossbeam_fan(cores: &Cores, producers: usize, bounded: bool) -> Fan {
    let (tx, rx) = if bounded {
        crossbeam_channel::bounded::<[u8; SIZE]>(BOUND)
    } else {
        crossbeam_channel::unbounded()
    };
    let consumer = Worker::spawn(cores, 0, move |n| {
        for _ in 0..n {
            black_box(rx.recv().unwrap());
        }
    });
    let budget = Arc::default();
    let producers = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            producer(cores, 1 + p, &budget, move || {
                tx.send(black_box([0x5au8; SIZE])).unwrap();
            })
        })
        .collect();
    Fan {
        producers,
        consumer,
        budget,
    }
}

fn sockets_fan(cores: &Cores, ctx: &zeroring::Context, producers: usize, name: &str) -> Fan {
    use zeroring::SocketType;
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(name).unwrap();
    let consumer = Worker::spawn(cores, 0, move |n| {
        let mut buf = [0u8; SIZE];
        for _ in 0..n {
            black_box(pull.recv_into(&mut buf, 0).unwrap());
        }
    });
    let budget = Arc::default();
    let producers = (0..producers)
        .map(|p| {
            let push = ctx.socket(SocketType::Push).unwrap();
            push.connect(name).unwrap();
            let payload = [0x5au8; SIZE];
            producer(cores, 1 + p, &budget, move || {
                push.send(black_box(&payload[..]), 0).unwrap();
            })
        })
        .collect();
    Fan {
        producers,
        consumer,
        budget,
    }
}

/// `producers` threads sharing one CLIENT, into one SERVER (inproc).
fn client_fan(cores: &Cores, ctx: &zeroring::Context, producers: usize, name: &str) -> Fan {
    let server = ctx.server().unwrap();
    server.bind(name).unwrap();
    let consumer = Worker::spawn(cores, 0, move |n| {
        let mut buf = [0u8; SIZE];
        for _ in 0..n {
            black_box(server.recv_from_into(&mut buf, 0).unwrap());
        }
    });
    let client = Arc::new(ctx.client().unwrap());
    client.connect(name).unwrap();
    let budget = Arc::default();
    let producers = (0..producers)
        .map(|p| {
            let client = client.clone();
            let payload = [0x5au8; SIZE];
            producer(cores, 1 + p, &budget, move || {
                client.send(black_box(&payload[..]), 0).unwrap();
            })
        })
        .collect();
    Fan {
        producers,
        consumer,
        budget,
    }
}

fn bench_mpsc(c: &mut Criterion) {
    // Read once, before anything is pinned.
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let ctx = zeroring::Context::new();
    let mut g = c.benchmark_group("mpsc_32B");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    for producers in [1, 2, 4] {
        let fan = ring_fan(&cores, producers);
        g.bench_function(BenchmarkId::new("ring", producers), |b| {
            b.iter_custom(|n| fan.run(n))
        });
        drop(fan);
        for bounded in [true, false] {
            let fan = crossbeam_fan(&cores, producers, bounded);
            let name = if bounded {
                "crossbeam_bounded"
            } else {
                "crossbeam_unbounded"
            };
            g.bench_function(BenchmarkId::new(name, producers), |b| {
                b.iter_custom(|n| fan.run(n))
            });
            drop(fan);
        }
        let fan = sockets_fan(
            &cores,
            &ctx,
            producers,
            &format!("inproc://mpsc{producers}"),
        );
        g.bench_function(BenchmarkId::new("push_sockets", producers), |b| {
            b.iter_custom(|n| fan.run(n))
        });
        drop(fan);
        let fan = client_fan(
            &cores,
            &ctx,
            producers,
            &format!("inproc://client{producers}"),
        );
        g.bench_function(BenchmarkId::new("client_server", producers), |b| {
            b.iter_custom(|n| fan.run(n))
        });
        drop(fan);
    }
    g.finish();
}

criterion_group!(benches, bench_mpsc);
criterion_main!(benches);
