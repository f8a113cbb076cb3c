//! zeroring against libzmq (the `zmq` crate, libzmq 4.3.4) over `inproc://`,
//! side by side in one run, each with one context and two sockets made the
//! same way, default options on both (zeroring's wait strategy is its default
//! spin-then-park).
//!
//! - `push_pull_32B`: throughput of 32-byte messages, PUSH on one pinned
//!   thread, PULL on the other core. One sample sends and receives `iters`
//!   messages and is timed end to end: from handing both threads their count
//!   to the last message received (which includes waking the two threads from
//!   a channel, a few tens of µs against samples of tens of ms). Reported as
//!   messages per second. `zeroring_zerocopy` sends with `loan` and receives
//!   with `recv_frame` instead of copying.
//! - `pair_roundtrip_64B`: PAIR ping-pong of 64-byte messages between two
//!   pinned threads; the time reported is one round trip (one-way latency is
//!   half of it), measured by the pinging thread around `iters` round trips.
//!
//! Worker threads live for a whole benchmark function; the main thread reads
//! the core list once, pins nothing, and sleeps while a sample runs, so the
//! two cores belong to the two sides. libzmq's own I/O and reaper threads are
//! started by the unpinned main thread, as in libzmq's perf tools.
//!
//! `cargo bench --bench inproc`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const THR_SIZE: usize = 32;
const LAT_SIZE: usize = 64;

type Cores = Vec<core_affinity::CoreId>;

/// Pins the calling thread to the `n`th of `cores` (read before any pinning).
fn pin(cores: &[core_affinity::CoreId], n: usize) {
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[n % cores.len()]);
    }
}

/// A thread pinned to one core that runs `job(n)` for each `n` it is sent
/// and sends back the result. It stops when the `Worker` is dropped.
struct Worker<R> {
    cmd: Option<mpsc::Sender<u64>>,
    result: mpsc::Receiver<R>,
    thread: Option<JoinHandle<()>>,
}

impl<R: Send + 'static> Worker<R> {
    fn spawn(cores: &Cores, core: usize, mut job: impl FnMut(u64) -> R + Send + 'static) -> Self {
        let (cmd_tx, cmd_rx) = mpsc::channel::<u64>();
        let (res_tx, res_rx) = mpsc::channel();
        let cores = cores.clone();
        let thread = std::thread::spawn(move || {
            pin(&cores, core);
            while let Ok(n) = cmd_rx.recv() {
                if res_tx.send(job(n)).is_err() {
                    return;
                }
            }
        });
        Worker {
            cmd: Some(cmd_tx),
            result: res_rx,
            thread: Some(thread),
        }
    }

    fn start(&self, n: u64) {
        self.cmd.as_ref().unwrap().send(n).expect("worker gone");
    }

    fn finish(&self) -> R {
        self.result.recv().expect("worker panicked")
    }
}

impl<R> Drop for Worker<R> {
    fn drop(&mut self) {
        self.cmd.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() && !std::thread::panicking() {
                panic!("worker panicked");
            }
        }
    }
}

/// Throughput: a sender on core 1 and a receiver on core 0.
struct Stream {
    sender: Worker<()>,
    receiver: Worker<Instant>,
}

impl Stream {
    /// Time from handing out `n` to the last of `n` messages received.
    fn run(&self, n: u64) -> Duration {
        let start = Instant::now();
        self.receiver.start(n);
        self.sender.start(n);
        let end = self.receiver.finish();
        self.sender.finish();
        end - start
    }
}

fn zeroring_stream(cores: &Cores, ctx: &zeroring::Context, zerocopy: bool) -> Stream {
    use zeroring::SocketType;
    let name = if zerocopy {
        "inproc://thr_zc"
    } else {
        "inproc://thr"
    };
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(name).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(name).unwrap();
    let payload = [0x5au8; THR_SIZE];
    let sender = Worker::spawn(cores, 1, move |n| {
        for _ in 0..n {
            if zerocopy {
                let mut loan = push.loan(THR_SIZE, 0).unwrap();
                loan.copy_from_slice(&payload);
                loan.send().unwrap();
            } else {
                push.send(&payload[..], 0).unwrap();
            }
        }
    });
    let receiver = Worker::spawn(cores, 0, move |n| {
        let mut buf = [0u8; THR_SIZE];
        for _ in 0..n {
            if zerocopy {
                let frame = pull.recv_frame(0).unwrap();
                assert_eq!(frame.len(), THR_SIZE);
                black_box(frame[THR_SIZE - 1]);
            } else {
                let len = pull.recv_into(&mut buf, 0).unwrap();
                assert_eq!(len, THR_SIZE);
                black_box(&buf);
            }
        }
        Instant::now()
    });
    Stream { sender, receiver }
}

fn zmq_stream(cores: &Cores, ctx: &zmq::Context) -> Stream {
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://thr").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect("inproc://thr").unwrap();
    let payload = [0x5au8; THR_SIZE];
    let sender = Worker::spawn(cores, 1, move |n| {
        for _ in 0..n {
            push.send(&payload[..], 0).unwrap();
        }
    });
    let receiver = Worker::spawn(cores, 0, move |n| {
        let mut buf = [0u8; THR_SIZE];
        for _ in 0..n {
            let len = pull.recv_into(&mut buf, 0).unwrap();
            assert_eq!(len, THR_SIZE);
            black_box(&buf);
        }
        Instant::now()
    });
    Stream { sender, receiver }
}

fn push_pull(c: &mut Criterion) {
    // Read once, before anything is pinned: a thread spawned by a pinned
    // thread would see only its parent's core.
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let zr_ctx = zeroring::Context::new();
    let zmq_ctx = zmq::Context::new();

    let mut g = c.benchmark_group("push_pull_32B");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    let s = zeroring_stream(&cores, &zr_ctx, false);
    g.bench_function("zeroring", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    let s = zmq_stream(&cores, &zmq_ctx);
    g.bench_function("libzmq", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    let s = zeroring_stream(&cores, &zr_ctx, true);
    g.bench_function("zeroring_zerocopy", |b| b.iter_custom(|n| s.run(n)));
    drop(s);

    g.finish();
}

/// Round trips: the pinging side on core 0, an echo on core 1. The echo
/// returns every message until it gets an empty one.
struct PingPong {
    client: Worker<Duration>,
    echo: Option<JoinHandle<()>>,
}

impl PingPong {
    fn run(&self, n: u64) -> Duration {
        self.client.start(n);
        self.client.finish()
    }
}

impl Drop for PingPong {
    fn drop(&mut self) {
        self.client.start(0); // sends the empty message that stops the echo
        self.client.finish();
        if let Some(t) = self.echo.take() {
            t.join().expect("echo panicked");
        }
    }
}

fn zeroring_pingpong(cores: &Cores, ctx: &zeroring::Context) -> PingPong {
    use zeroring::SocketType;
    let local = ctx.socket(SocketType::Pair).unwrap();
    local.bind("inproc://lat").unwrap();
    let remote = ctx.socket(SocketType::Pair).unwrap();
    remote.connect("inproc://lat").unwrap();
    let c = cores.clone();
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        let mut buf = [0u8; LAT_SIZE];
        loop {
            let n = remote.recv_into(&mut buf, 0).unwrap();
            if n == 0 {
                return;
            }
            remote.send(&buf[..n], 0).unwrap();
        }
    });
    let msg = [0x5au8; LAT_SIZE];
    let client = Worker::spawn(cores, 0, move |n| {
        if n == 0 {
            local.send(&[][..], 0).unwrap();
            return Duration::ZERO;
        }
        let mut buf = [0u8; LAT_SIZE];
        let start = Instant::now();
        for _ in 0..n {
            local.send(&msg[..], 0).unwrap();
            let len = local.recv_into(&mut buf, 0).unwrap();
            assert_eq!(len, LAT_SIZE);
        }
        start.elapsed()
    });
    PingPong {
        client,
        echo: Some(echo),
    }
}

fn zmq_pingpong(cores: &Cores, ctx: &zmq::Context) -> PingPong {
    let local = ctx.socket(zmq::PAIR).unwrap();
    local.bind("inproc://lat").unwrap();
    let remote = ctx.socket(zmq::PAIR).unwrap();
    remote.connect("inproc://lat").unwrap();
    let c = cores.clone();
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        let mut buf = [0u8; LAT_SIZE];
        loop {
            let n = remote.recv_into(&mut buf, 0).unwrap();
            if n == 0 {
                return;
            }
            remote.send(&buf[..n], 0).unwrap();
        }
    });
    let msg = [0x5au8; LAT_SIZE];
    let client = Worker::spawn(cores, 0, move |n| {
        if n == 0 {
            local.send(&[][..], 0).unwrap();
            return Duration::ZERO;
        }
        let mut buf = [0u8; LAT_SIZE];
        let start = Instant::now();
        for _ in 0..n {
            local.send(&msg[..], 0).unwrap();
            let len = local.recv_into(&mut buf, 0).unwrap();
            assert_eq!(len, LAT_SIZE);
        }
        start.elapsed()
    });
    PingPong {
        client,
        echo: Some(echo),
    }
}

fn pair_roundtrip(c: &mut Criterion) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let zr_ctx = zeroring::Context::new();
    let zmq_ctx = zmq::Context::new();

    let mut g = c.benchmark_group("pair_roundtrip_64B");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    let p = zeroring_pingpong(&cores, &zr_ctx);
    g.bench_function("zeroring", |b| b.iter_custom(|n| p.run(n)));
    drop(p);

    let p = zmq_pingpong(&cores, &zmq_ctx);
    g.bench_function("libzmq", |b| b.iter_custom(|n| p.run(n)));
    drop(p);

    g.finish();
}

criterion_group!(benches, push_pull, pair_roundtrip);
criterion_main!(benches);
