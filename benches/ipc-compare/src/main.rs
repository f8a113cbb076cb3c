//! ipc between two processes, by message size: zeroring, libzmq (the `zmq`
//! crate) and iceoryx2, in the same run, printed as one table.
//!
//! - one-way latency: a ping-pong of `rounds` round trips, both sides
//!   busy-spinning (zeroring `WaitStrategy::BusySpin`, libzmq `DONTWAIT`
//!   in a loop, iceoryx2 `receive()` in a loop), reported as half the mean
//!   round trip;
//! - throughput: the child sends `count` messages one way as fast as it can
//!   (blocking at its limits: zeroring PUSH/PULL at the HWM, libzmq the
//!   same, iceoryx2 `RetryUntilDelivered`), the parent counts from the
//!   first message.
//!
//! Every sender loans or allocates each message and writes its first and
//! last 8 bytes (not the rest, as libzmq's `remote_thr`); every receiver
//! borrows it in place where it can and reads those bytes back.
//!
//! `cargo run --release -- [--sizes 32,64,...] [--only zeroring,libzmq,iceoryx2] [--csv PATH]`

use std::process::{Child, Command};
use std::time::{Duration, Instant};

const SIZES: [usize; 11] = [
    8,
    32,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1 << 20,
    4 << 20,
];

fn rounds(size: usize) -> u64 {
    if size <= 65536 {
        20_000
    } else {
        300
    }
}

fn count(size: usize) -> u64 {
    ((512u64 << 20) / size as u64).clamp(200, 2_000_000)
}

fn stamp(buf: &mut [u8], seq: u64) {
    let n = buf.len();
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[n - 8..].copy_from_slice(&seq.to_le_bytes());
}

fn read_stamp(buf: &[u8]) -> u64 {
    let n = buf.len();
    let a = u64::from_le_bytes(buf[..8].try_into().unwrap());
    let b = u64::from_le_bytes(buf[n - 8..].try_into().unwrap());
    assert_eq!(a, b, "torn message");
    a
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Imp {
    Zeroring,
    Libzmq,
    Iceoryx2,
}

impl Imp {
    fn name(self) -> &'static str {
        match self {
            Imp::Zeroring => "zeroring",
            Imp::Libzmq => "libzmq",
            Imp::Iceoryx2 => "iceoryx2",
        }
    }
    fn parse(s: &str) -> Imp {
        match s {
            "zeroring" => Imp::Zeroring,
            "libzmq" => Imp::Libzmq,
            "iceoryx2" => Imp::Iceoryx2,
            o => panic!("unknown implementation {o}"),
        }
    }
}

/// One side of a measurement: the parent is `a` (pinger, receiver), the
/// child `b` (echoer, sender).
trait Side {
    fn send(&mut self, seq: u64);
    /// Blocks (spinning) for the next message; its stamp.
    fn recv(&mut self) -> u64;
}

mod zr {
    use super::*;
    use zeroring::{Context, Socket, SocketType, WaitStrategy};

    pub struct Z {
        _ctx: Context,
        s: Socket,
        size: usize,
    }

    /// Latency (`Pair`) busy-spins; throughput waits as libzmq's does
    /// (the default: spin briefly, then park).
    pub fn open(ep: &str, size: usize, kind: SocketType, bind: bool) -> Z {
        let ctx = Context::new();
        let s = ctx.socket(kind).unwrap();
        if kind == SocketType::Pair {
            s.set_wait_strategy(WaitStrategy::BusySpin).unwrap();
        }
        if bind {
            s.bind(&format!("ipc://{ep}")).unwrap();
        } else {
            s.connect(&format!("ipc://{ep}")).unwrap();
        }
        Z { _ctx: ctx, s, size }
    }

    impl Side for Z {
        fn send(&mut self, seq: u64) {
            let mut buf = self.s.loan(self.size, 0).unwrap();
            stamp(&mut buf, seq);
            buf.send().unwrap();
        }
        fn recv(&mut self) -> u64 {
            let f = self.s.recv_frame(0).unwrap();
            read_stamp(&f)
        }
    }
}

mod lz {
    use super::*;

    pub struct L {
        _ctx: zmq::Context,
        s: zmq::Socket,
        size: usize,
        msg: zmq::Message,
        spin: bool,
    }

    pub fn open(ep: &str, size: usize, kind: zmq::SocketType, bind: bool, spin: bool) -> L {
        let ctx = zmq::Context::new();
        let s = ctx.socket(kind).unwrap();
        if bind {
            s.bind(&format!("ipc://{ep}")).unwrap();
        } else {
            s.connect(&format!("ipc://{ep}")).unwrap();
        }
        L {
            _ctx: ctx,
            s,
            size,
            msg: zmq::Message::new(),
            spin,
        }
    }

    impl Side for L {
        fn send(&mut self, seq: u64) {
            let mut m = zmq::Message::with_size(self.size);
            stamp(&mut m, seq);
            self.s.send(m, 0).unwrap();
        }
        fn recv(&mut self) -> u64 {
            if self.spin {
                while self.s.recv(&mut self.msg, zmq::DONTWAIT).is_err() {
                    std::hint::spin_loop();
                }
            } else {
                self.s.recv(&mut self.msg, 0).unwrap();
            }
            read_stamp(&self.msg)
        }
    }
}

mod ic {
    use super::*;
    use iceoryx2::port::update_connections::UpdateConnections;
    use iceoryx2::prelude::*;
    use iceoryx2::service::port_factory::publish_subscribe::PortFactory;
    use iceoryx2::service::port_factory::PortFactory as _;

    type Svc = PortFactory<ipc::Service, [u8], ()>;

    pub struct I {
        _node: Node<ipc::Service>,
        _services: (Svc, Svc),
        publisher: iceoryx2::port::publisher::Publisher<ipc::Service, [u8], ()>,
        subscriber: iceoryx2::port::subscriber::Subscriber<ipc::Service, [u8], ()>,
        size: usize,
    }

    fn service(node: &Node<ipc::Service>, name: &str, size: usize) -> Svc {
        let _ = size;
        node.service_builder(&name.try_into().unwrap())
            .publish_subscribe::<[u8]>()
            .max_publishers(1)
            .max_subscribers(1)
            .history_size(0)
            .subscriber_max_buffer_size(64)
            .enable_safe_overflow(false)
            .open_or_create()
            .unwrap()
    }

    /// The services of endpoint `ep`; side `a` publishes on a2b.
    pub fn open(ep: &str, a: bool, size: usize) -> I {
        let base = ep.rsplit('/').next().unwrap();
        let (a2b, b2a) = (format!("{base}-a2b"), format!("{base}-b2a"));
        let (out, inn) = if a { (&a2b, &b2a) } else { (&b2a, &a2b) };
        let node = NodeBuilder::new().create::<ipc::Service>().unwrap();
        let (so, si) = (service(&node, out, size), service(&node, inn, size));
        let publisher = so
            .publisher_builder()
            .initial_max_slice_len(size)
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            .create()
            .unwrap();
        let subscriber = si.subscriber_builder().create().unwrap();
        I {
            _node: node,
            _services: (so, si),
            publisher,
            subscriber,
            size,
        }
    }

    impl I {
        /// Whether the peer's subscriber is connected to our publisher.
        pub fn peer_ready(&self) -> bool {
            self.subscriber.update_connections().is_ok()
                && self.publisher.update_connections().is_ok()
                && self._services.0.dynamic_config().number_of_subscribers() > 0
        }
    }

    impl Side for I {
        fn send(&mut self, seq: u64) {
            let mut sample = self.publisher.loan_slice_uninit(self.size).unwrap();
            let p = sample.payload_mut();
            let n = p.len();
            for (i, b) in seq.to_le_bytes().into_iter().enumerate() {
                p[i].write(b);
                p[n - 8 + i].write(b);
            }
            // SAFETY: a benchmark's payload: the bytes not written are
            // shared memory the service zeroed when it made the segment
            // (or an earlier sample's), never read as anything but u8.
            let sample = unsafe { sample.assume_init() };
            sample.send().unwrap();
        }
        fn recv(&mut self) -> u64 {
            loop {
                if let Some(s) = self.subscriber.receive().unwrap() {
                    return read_stamp(s.payload());
                }
                std::hint::spin_loop();
            }
        }
    }
}

/// Runs in the child: the echoer (latency) or the sender (throughput).
fn child(imp: Imp, mode: &str, size: usize, n: u64, ep: &str) {
    match (imp, mode) {
        (Imp::Zeroring, "lat") => echo(zr::open(ep, size, zeroring::SocketType::Pair, false), n),
        (Imp::Zeroring, "thr") => {
            send_all(zr::open(ep, size, zeroring::SocketType::Push, false), n)
        }
        (Imp::Libzmq, "lat") => echo(lz::open(ep, size, zmq::PAIR, false, true), n),
        (Imp::Libzmq, "thr") => send_all(lz::open(ep, size, zmq::PUSH, false, false), n),
        (Imp::Iceoryx2, _) => {
            let mut side = ic::open(ep, false, size);
            while !side.peer_ready() {
                std::thread::yield_now();
            }
            if mode == "lat" {
                echo(side, n)
            } else {
                // A sample sent before both ends of the connection are up
                // is dropped, not retried: wait for the receiver's word.
                assert_eq!(side.recv(), u64::MAX);
                send_all(side, n)
            }
        }
        _ => unreachable!(),
    }
}

fn echo(mut s: impl Side, n: u64) {
    for _ in 0..n {
        let seq = s.recv();
        s.send(seq);
    }
}

fn send_all(mut s: impl Side, n: u64) {
    for seq in 0..n {
        s.send(seq);
    }
    // Let the last messages leave before the sockets go (zeroring and
    // libzmq linger; iceoryx2's samples live in our segment).
    std::thread::sleep(Duration::from_millis(200));
}

fn spawn(imp: Imp, mode: &str, size: usize, n: u64, ep: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child",
            imp.name(),
            mode,
            &size.to_string(),
            &n.to_string(),
            ep,
        ])
        .spawn()
        .unwrap()
}

/// One-way latency in µs.
fn latency(imp: Imp, size: usize, ep: &str) -> f64 {
    let n = rounds(size);
    let warm = n / 10;
    let mut c;
    let mut s: Box<dyn Side> = match imp {
        Imp::Zeroring => {
            let s = zr::open(ep, size, zeroring::SocketType::Pair, true);
            c = spawn(imp, "lat", size, n + warm, ep);
            Box::new(s)
        }
        Imp::Libzmq => {
            let s = lz::open(ep, size, zmq::PAIR, true, true);
            c = spawn(imp, "lat", size, n + warm, ep);
            Box::new(s)
        }
        Imp::Iceoryx2 => {
            let s = ic::open(ep, true, size);
            c = spawn(imp, "lat", size, n + warm, ep);
            while !s.peer_ready() {
                std::thread::yield_now();
            }
            Box::new(s)
        }
    };
    for seq in 0..warm {
        s.send(seq);
        assert_eq!(s.recv(), seq);
    }
    let start = Instant::now();
    for seq in 0..n {
        s.send(seq);
        assert_eq!(s.recv(), seq);
    }
    let el = start.elapsed();
    c.wait().unwrap();
    el.as_secs_f64() * 1e6 / (2 * n) as f64
}

/// Throughput: (messages/s, GiB/s).
fn throughput(imp: Imp, size: usize, ep: &str) -> (f64, f64) {
    let n = count(size);
    let mut c;
    let mut s: Box<dyn Side> = match imp {
        Imp::Zeroring => {
            let s = zr::open(ep, size, zeroring::SocketType::Pull, true);
            c = spawn(imp, "thr", size, n, ep);
            Box::new(s)
        }
        Imp::Libzmq => {
            let s = lz::open(ep, size, zmq::PULL, true, false);
            c = spawn(imp, "thr", size, n, ep);
            Box::new(s)
        }
        Imp::Iceoryx2 => {
            let s = ic::open(ep, true, size);
            c = spawn(imp, "thr", size, n, ep);
            while !s.peer_ready() {
                std::thread::yield_now();
            }
            let mut s = s;
            s.send(u64::MAX);
            Box::new(s)
        }
    };
    assert_eq!(s.recv(), 0);
    let start = Instant::now();
    for seq in 1..n {
        assert_eq!(s.recv(), seq, "in order, none lost");
    }
    let el = start.elapsed().as_secs_f64();
    c.wait().unwrap();
    let rate = (n - 1) as f64 / el;
    (rate, rate * size as f64 / (1u64 << 30) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        let size = args[4].parse().unwrap();
        let n = args[5].parse().unwrap();
        return child(Imp::parse(&args[2]), &args[3], size, n, &args[6]);
    }
    let mut sizes = SIZES.to_vec();
    let mut imps = vec![Imp::Zeroring, Imp::Libzmq, Imp::Iceoryx2];
    // `--csv PATH`: also one line per size and library (for
    // `examples/plot_scaling.rs`): size,library,latency_us,messages_per_s.
    let mut csv: Option<String> = None;
    let mut rows = String::from("size,library,latency_us,messages_per_s\n");
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sizes" => {
                sizes = it
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|s| s.parse().unwrap())
                    .collect();
            }
            "--only" => imps = it.next().unwrap().split(',').map(Imp::parse).collect(),
            "--csv" => csv = Some(it.next().unwrap().clone()),
            o => panic!("unknown argument {o}"),
        }
    }
    println!("ipc between two processes; latency one-way (busy-spin), throughput one way");
    println!(
        "{:>9} | {:>27} | {:>44}",
        "size", "latency us (zr / zmq / iox2)", "throughput Mmsg/s or GiB/s (zr / zmq / iox2)"
    );
    let mut k = 0;
    for &size in &sizes {
        let mut lat = Vec::new();
        let mut thr = Vec::new();
        for &imp in &imps {
            k += 1;
            let ep = std::env::temp_dir()
                .join(format!("zrcmp-{}-{k}", std::process::id()))
                .display()
                .to_string();
            let l = latency(imp, size, &format!("{ep}l"));
            let (rate, gib) = throughput(imp, size, &format!("{ep}t"));
            rows.push_str(&format!("{size},{},{l},{rate}\n", imp.name()));
            lat.push(format!("{l:.3}"));
            thr.push(if size < 65536 {
                format!("{:.2}M", rate / 1e6)
            } else {
                format!("{gib:.2}G")
            });
            let _ = std::fs::remove_file(format!("{ep}l"));
            let _ = std::fs::remove_file(format!("{ep}t"));
        }
        println!(
            "{:>9} | {:>27} | {:>44}",
            size,
            lat.join(" / "),
            thr.join(" / ")
        );
    }
    if let Some(path) = csv {
        std::fs::write(&path, rows).expect("--csv: cannot write");
    }
}
