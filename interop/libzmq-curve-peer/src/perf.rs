//! libzmq's own CURVE performance, measured entirely inside this process,
//! as libzmq's perf tools (local_thr/remote_thr, local_lat/remote_lat) do
//! but with CURVE on, for zeroring's benches to set beside their own
//! figures (benches/curve.rs, examples/curve_compare.rs):
//!
//! ```text
//! libzmq-curve-peer perf-thr COUNT SIZE [CPU_A CPU_B]
//! libzmq-curve-peer perf-lat COUNT SIZE [CPU_A CPU_B]
//! ```
//!
//! Both make a server key pair and a client key pair (zmq_curve_keypair);
//! the binding socket is the CURVE server, in one context, on
//! tcp://127.0.0.1:0, and the connecting socket the CURVE client, in a
//! second context. The sockets and their contexts (so their I/O threads)
//! are made on the main thread before any pinning; then one socket is
//! handed to a second thread.
//!
//! - `perf-thr`: PULL (server, on the main thread, CPU_A) receives COUNT
//!   messages of SIZE bytes that PUSH (client, on the other thread, CPU_B)
//!   sends. Timed from the first message received to the last, as
//!   local_thr does (so COUNT - 1 intervals; throughput COUNT / elapsed).
//! - `perf-lat`: REQ (client, main thread, CPU_A) and REP (server, echoing
//!   on the other thread, CPU_B); one round trip untimed, then COUNT timed
//!   round trips of SIZE bytes.
//!
//! Either prints one line, `elapsed_ns N`, and exits 0. With CPU_A and
//! CPU_B the two application threads are pinned (sched_setaffinity) to
//! those CPUs; the I/O threads are left to the scheduler.

use crate::{check, fail, set, set_int};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::time::{Duration, Instant};

extern "C" {
    fn zmq_ctx_new() -> *mut c_void;
    fn zmq_ctx_term(ctx: *mut c_void) -> c_int;
    fn zmq_socket(ctx: *mut c_void, kind: c_int) -> *mut c_void;
    fn zmq_close(s: *mut c_void) -> c_int;
    fn zmq_getsockopt(s: *mut c_void, opt: c_int, val: *mut c_void, len: *mut usize) -> c_int;
    fn zmq_bind(s: *mut c_void, ep: *const c_char) -> c_int;
    fn zmq_connect(s: *mut c_void, ep: *const c_char) -> c_int;
    fn zmq_send(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int;
    fn zmq_recv(s: *mut c_void, buf: *mut c_void, len: usize, flags: c_int) -> c_int;
    fn zmq_curve_keypair(public: *mut c_char, secret: *mut c_char) -> c_int;
}

const ZMQ_REQ: c_int = 3;
const ZMQ_REP: c_int = 4;
const ZMQ_PULL: c_int = 7;
const ZMQ_PUSH: c_int = 8;
const ZMQ_LINGER: c_int = 17;
const ZMQ_LAST_ENDPOINT: c_int = 32;
const ZMQ_CURVE_SERVER: c_int = 47;
const ZMQ_CURVE_PUBLICKEY: c_int = 48;
const ZMQ_CURVE_SECRETKEY: c_int = 49;
const ZMQ_CURVE_SERVERKEY: c_int = 50;

/// A socket handed to the other thread (libzmq allows moving a socket
/// between threads with a full barrier, which spawning and joining give).
struct Sock(*mut c_void);

// SAFETY: only one thread uses the socket at a time (see above).
unsafe impl Send for Sock {}

impl Sock {
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// A Z85 key pair: 40 characters each (and libzmq's NUL).
fn keypair() -> ([u8; 41], [u8; 41]) {
    let mut public = [0u8; 41];
    let mut secret = [0u8; 41];
    // SAFETY: libzmq writes 41 bytes (40 Z85 characters and a NUL) to each.
    let rc = unsafe { zmq_curve_keypair(public.as_mut_ptr().cast(), secret.as_mut_ptr().cast()) };
    check(rc, "zmq_curve_keypair");
    (public, secret)
}

fn context() -> *mut c_void {
    // SAFETY: no arguments; checked.
    let ctx = unsafe { zmq_ctx_new() };
    if ctx.is_null() {
        fail("zmq_ctx_new");
    }
    ctx
}

fn socket(ctx: *mut c_void, kind: c_int) -> *mut c_void {
    // SAFETY: `ctx` is live.
    let s = unsafe { zmq_socket(ctx, kind) };
    if s.is_null() {
        fail("zmq_socket");
    }
    set_int(s, ZMQ_LINGER, 0);
    s
}

/// Two contexts, a CURVE server of `server_kind` bound on
/// tcp://127.0.0.1:0 in the first and a CURVE client of `client_kind`
/// connected to it from the second.
struct Setup {
    server_ctx: *mut c_void,
    server: *mut c_void,
    client_ctx: *mut c_void,
    client: *mut c_void,
}

impl Setup {
    fn new(server_kind: c_int, client_kind: c_int) -> Setup {
        let (server_public, server_secret) = keypair();
        let (client_public, client_secret) = keypair();
        let server_ctx = context();
        let server = socket(server_ctx, server_kind);
        set_int(server, ZMQ_CURVE_SERVER, 1);
        set(server, ZMQ_CURVE_SECRETKEY, &server_secret[..40]);
        // SAFETY: `server` is live; the endpoint is NUL-terminated.
        check(
            unsafe { zmq_bind(server, c"tcp://127.0.0.1:0".as_ptr()) },
            "zmq_bind",
        );
        let mut buf = [0u8; 256];
        let mut len = buf.len();
        // SAFETY: `buf` is valid for `len` bytes.
        let rc =
            unsafe { zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, buf.as_mut_ptr().cast(), &mut len) };
        check(rc, "LAST_ENDPOINT");
        let endpoint: CString = CStr::from_bytes_until_nul(&buf)
            .unwrap_or_else(|_| fail("LAST_ENDPOINT without a NUL"))
            .into();

        let client_ctx = context();
        let client = socket(client_ctx, client_kind);
        set(client, ZMQ_CURVE_SERVERKEY, &server_public[..40]);
        set(client, ZMQ_CURVE_PUBLICKEY, &client_public[..40]);
        set(client, ZMQ_CURVE_SECRETKEY, &client_secret[..40]);
        // SAFETY: `client` is live; the endpoint is NUL-terminated.
        check(
            unsafe { zmq_connect(client, endpoint.as_ptr()) },
            "zmq_connect",
        );
        Setup {
            server_ctx,
            server,
            client_ctx,
            client,
        }
    }

    fn close(self) {
        // SAFETY: each socket is closed once, by the thread that has it
        // now, then its context.
        unsafe {
            zmq_close(self.server);
            zmq_close(self.client);
            zmq_ctx_term(self.server_ctx);
            zmq_ctx_term(self.client_ctx);
        }
    }
}

/// Pins the calling thread to `cpu`.
fn pin(cpu: Option<usize>) {
    let Some(cpu) = cpu else { return };
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET checks `cpu`
    // against the set's size; pid 0 is the calling thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        fail(&format!(
            "sched_setaffinity to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        ));
    }
}

fn send(s: *mut c_void, buf: &[u8]) {
    // SAFETY: `buf` is valid for reads of its length.
    let rc = unsafe { zmq_send(s, buf.as_ptr().cast(), buf.len(), 0) };
    check(rc, "zmq_send");
}

/// Receives one message into `buf`; its size, which must be `buf`'s.
fn recv(s: *mut c_void, buf: &mut [u8]) -> usize {
    // SAFETY: `buf` is valid for writes of its length; libzmq writes at
    // most that many bytes.
    let rc = unsafe { zmq_recv(s, buf.as_mut_ptr().cast(), buf.len(), 0) };
    check(rc, "zmq_recv");
    if rc as usize != buf.len() {
        fail(&format!("received {rc} bytes, not {}", buf.len()));
    }
    rc as usize
}

fn throughput(count: u64, size: usize, cpus: (Option<usize>, Option<usize>)) -> Duration {
    let setup = Setup::new(ZMQ_PULL, ZMQ_PUSH);
    let push = Sock(setup.client);
    let sender = std::thread::spawn(move || {
        pin(cpus.1);
        let payload = vec![0x5au8; size];
        for _ in 0..count {
            send(push.get(), &payload);
        }
    });
    pin(cpus.0);
    let mut buf = vec![0u8; size];
    recv(setup.server, &mut buf);
    let start = Instant::now();
    for _ in 1..count {
        recv(setup.server, &mut buf);
    }
    let elapsed = start.elapsed();
    std::hint::black_box(&buf);
    if sender.join().is_err() {
        fail("the sender panicked");
    }
    setup.close();
    elapsed
}

fn latency(count: u64, size: usize, cpus: (Option<usize>, Option<usize>)) -> Duration {
    let setup = Setup::new(ZMQ_REP, ZMQ_REQ);
    let rep = Sock(setup.server);
    let echo = std::thread::spawn(move || {
        pin(cpus.1);
        let mut buf = vec![0u8; size];
        for _ in 0..=count {
            let n = recv(rep.get(), &mut buf);
            send(rep.get(), &buf[..n]);
        }
    });
    pin(cpus.0);
    let msg = vec![0x5au8; size];
    let mut buf = vec![0u8; size];
    // One round trip untimed: the connection and its handshake.
    send(setup.client, &msg);
    recv(setup.client, &mut buf);
    let start = Instant::now();
    for _ in 0..count {
        send(setup.client, &msg);
        recv(setup.client, &mut buf);
    }
    let elapsed = start.elapsed();
    if echo.join().is_err() {
        fail("the echo panicked");
    }
    setup.close();
    elapsed
}

/// `perf-thr` or `perf-lat` with its arguments (COUNT SIZE [CPU_A CPU_B]).
pub fn run(mode: &str, args: &[String]) {
    fn usage() -> ! {
        fail("usage: perf-thr|perf-lat COUNT SIZE [CPU_A CPU_B]")
    }
    if args.len() != 2 && args.len() != 4 {
        usage();
    }
    let count: u64 = args[0].parse().unwrap_or_else(|_| usage());
    let size: usize = args[1].parse().unwrap_or_else(|_| usage());
    if count == 0 {
        fail("COUNT must be at least 1");
    }
    let cpu = |i: usize| {
        args.get(i)
            .map(|a| a.parse::<usize>().unwrap_or_else(|_| usage()))
    };
    let cpus = (cpu(2), cpu(3));
    let elapsed = match mode {
        "perf-thr" => throughput(count, size, cpus),
        "perf-lat" => latency(count, size, cpus),
        _ => usage(),
    };
    println!("elapsed_ns {}", elapsed.as_nanos());
}
