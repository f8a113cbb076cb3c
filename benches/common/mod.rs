//! What the inproc and tcp benches share: pinned worker threads, a
//! PUSH/PULL stream and a PAIR ping-pong, for zeroring and for libzmq (the
//! `zmq` crate, real libzmq 4.3.4), on any endpoint. The PULL (or the first
//! PAIR) binds and the other connects to its last endpoint, so
//! `tcp://127.0.0.1:0` works.

use criterion::black_box;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes per message in the throughput runs.
pub const THR_SIZE: usize = 32;
/// Bytes per message in the round-trip runs.
pub const LAT_SIZE: usize = 64;

/// The machine's cores, read once before anything is pinned.
pub type Cores = Vec<core_affinity::CoreId>;

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
pub struct Stream {
    sender: Worker<()>,
    receiver: Worker<Instant>,
}

impl Stream {
    /// Time from handing out `n` to the last of `n` messages received.
    pub fn run(&self, n: u64) -> Duration {
        let start = Instant::now();
        self.receiver.start(n);
        self.sender.start(n);
        let end = self.receiver.finish();
        self.sender.finish();
        end - start
    }
}

/// PUSH/PULL over zeroring; the PULL binds `bind` and the PUSH connects to
/// where it ended up.
pub fn zeroring_stream(
    cores: &Cores,
    ctx: &zeroring::Context,
    bind: &str,
    zerocopy: bool,
) -> Stream {
    use zeroring::SocketType;
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(bind).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
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

/// The same with libzmq.
pub fn zmq_stream(cores: &Cores, ctx: &zmq::Context, bind: &str) -> Stream {
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind(bind).unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
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

/// What the ping-pong needs of a socket, from either library.
pub trait Echo: Send + 'static {
    fn send_bytes(&self, data: &[u8]);
    fn recv_bytes_into(&self, buf: &mut [u8]) -> usize;
}

impl Echo for zeroring::Socket {
    fn send_bytes(&self, data: &[u8]) {
        self.send(data, 0).unwrap();
    }
    fn recv_bytes_into(&self, buf: &mut [u8]) -> usize {
        self.recv_into(buf, 0).unwrap()
    }
}

impl Echo for zmq::Socket {
    fn send_bytes(&self, data: &[u8]) {
        self.send(data, 0).unwrap();
    }
    fn recv_bytes_into(&self, buf: &mut [u8]) -> usize {
        self.recv_into(buf, 0).unwrap()
    }
}

/// Round trips: the pinging side on core 0, an echo on core 1. The echo
/// returns every message until it gets an empty one.
pub struct PingPong {
    client: Worker<Duration>,
    echo: Option<JoinHandle<()>>,
}

impl PingPong {
    pub fn run(&self, n: u64) -> Duration {
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

/// PAIR ping-pong over zeroring; one side binds `bind`.
pub fn zeroring_pingpong(cores: &Cores, ctx: &zeroring::Context, bind: &str) -> PingPong {
    use zeroring::SocketType;
    let local = ctx.socket(SocketType::Pair).unwrap();
    local.bind(bind).unwrap();
    let remote = ctx.socket(SocketType::Pair).unwrap();
    remote
        .connect(&local.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    pingpong(cores, local, remote)
}

/// The same with libzmq.
pub fn zmq_pingpong(cores: &Cores, ctx: &zmq::Context, bind: &str) -> PingPong {
    let local = ctx.socket(zmq::PAIR).unwrap();
    local.bind(bind).unwrap();
    let remote = ctx.socket(zmq::PAIR).unwrap();
    remote
        .connect(&local.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    pingpong(cores, local, remote)
}

/// `remote` echoes on core 1; `local` pings from core 0.
fn pingpong(cores: &Cores, local: impl Echo, remote: impl Echo) -> PingPong {
    let c = cores.clone();
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        let mut buf = [0u8; LAT_SIZE];
        loop {
            let n = remote.recv_bytes_into(&mut buf);
            if n == 0 {
                return;
            }
            remote.send_bytes(&buf[..n]);
        }
    });
    let msg = [0x5au8; LAT_SIZE];
    let client = Worker::spawn(cores, 0, move |n| {
        if n == 0 {
            local.send_bytes(&[]);
            return Duration::ZERO;
        }
        let mut buf = [0u8; LAT_SIZE];
        let start = Instant::now();
        for _ in 0..n {
            local.send_bytes(&msg);
            let len = local.recv_bytes_into(&mut buf);
            assert_eq!(len, LAT_SIZE);
        }
        start.elapsed()
    });
    PingPong {
        client,
        echo: Some(echo),
    }
}
