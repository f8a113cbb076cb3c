//! A libzmq 4.3.4 peer with CURVE and the draft API, driven line by line
//! on stdin, for the interop tests (tests/curve_interop.rs,
//! tests/threadsafe_interop.rs).
//!
//! ```text
//! libzmq-curve-peer TYPE bind|connect ENDPOINT server|client SECRET_Z85 [SERVER_PUBLIC_Z85]
//! libzmq-curve-peer TYPE bind|connect ENDPOINT none
//! ```
//!
//! `none`: no CURVE (the NULL mechanism). TYPE may be a draft type too
//! (CLIENT, SERVER, RADIO, DISH, GATHER, SCATTER).
//!
//! It prints `ready ENDPOINT` once bound or connecting (the endpoint bound,
//! for `tcp://127.0.0.1:0`), then answers each command with one line:
//!
//! - `send HEX,HEX,...`: sends the frames (hex, may be empty) as one
//!   message; `sent` or `error TEXT`. `trysend` does not wait (DONTWAIT).
//! - `recv [MS]`: waits up to MS milliseconds (10 s if not given) for a
//!   message; `recv HEX,HEX,...` or `timeout`.
//! - `sub HEX`: subscribes (SUB); `ok`.
//! - `sendto ID HEX`: sends one frame to routing id ID (SERVER); `sent`
//!   or `error TEXT`.
//! - `recvid [MS]`: as `recv`, for one frame with its routing id (SERVER):
//!   `recv ID HEX` or `timeout`.
//! - `join HEX`, `leave HEX`: joins or leaves the group (DISH; hex, may be
//!   empty); `ok` or `error TEXT`.
//! - `sendgroup GROUP_HEX HEX`: sends one frame to the group (RADIO);
//!   `sent` or `error TEXT`.
//! - `recvgroup [MS]`: as `recv`, for one frame with its group (DISH):
//!   `recv GROUP_HEX HEX` or `timeout`.
//! - `event ID`: waits up to 10 s for the monitor event ID (decimal, the
//!   ZMQ_EVENT_* number), skipping others; `event ID VALUE` or `timeout`.
//! - `quit`: closes everything and exits 0.
//!
//! The socket's LINGER is 0; its monitor sees every event from the start.
//!
//! `libzmq-curve-peer has-curve` prints `yes` if this libzmq has CURVE,
//! `has-draft` if it has the draft API;
//! `perf-thr` and `perf-lat` measure libzmq's CURVE throughput and latency
//! inside this process (see `perf.rs`).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::{BufRead, Write};

mod perf;

extern "C" {
    fn zmq_ctx_new() -> *mut c_void;
    fn zmq_ctx_term(ctx: *mut c_void) -> c_int;
    fn zmq_socket(ctx: *mut c_void, kind: c_int) -> *mut c_void;
    fn zmq_close(s: *mut c_void) -> c_int;
    fn zmq_setsockopt(s: *mut c_void, opt: c_int, val: *const c_void, len: usize) -> c_int;
    fn zmq_getsockopt(s: *mut c_void, opt: c_int, val: *mut c_void, len: *mut usize) -> c_int;
    fn zmq_bind(s: *mut c_void, ep: *const c_char) -> c_int;
    fn zmq_connect(s: *mut c_void, ep: *const c_char) -> c_int;
    fn zmq_send(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int;
    fn zmq_recv(s: *mut c_void, buf: *mut c_void, len: usize, flags: c_int) -> c_int;
    fn zmq_socket_monitor(s: *mut c_void, ep: *const c_char, events: c_int) -> c_int;
    fn zmq_curve_public(public: *mut c_char, secret: *const c_char) -> c_int;
    fn zmq_has(capability: *const c_char) -> c_int;
    fn zmq_errno() -> c_int;
    fn zmq_msg_init(msg: *mut ZmqMsg) -> c_int;
    fn zmq_msg_init_size(msg: *mut ZmqMsg, size: usize) -> c_int;
    fn zmq_msg_data(msg: *mut ZmqMsg) -> *mut c_void;
    fn zmq_msg_size(msg: *const ZmqMsg) -> usize;
    fn zmq_msg_send(msg: *mut ZmqMsg, s: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_recv(msg: *mut ZmqMsg, s: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_close(msg: *mut ZmqMsg) -> c_int;
    fn zmq_msg_set_routing_id(msg: *mut ZmqMsg, id: u32) -> c_int;
    fn zmq_msg_routing_id(msg: *mut ZmqMsg) -> u32;
    fn zmq_msg_set_group(msg: *mut ZmqMsg, group: *const c_char) -> c_int;
    fn zmq_msg_group(msg: *mut ZmqMsg) -> *const c_char;
    fn zmq_join(s: *mut c_void, group: *const c_char) -> c_int;
    fn zmq_leave(s: *mut c_void, group: *const c_char) -> c_int;
    fn zmq_strerror(errnum: c_int) -> *const c_char;
}

/// libzmq's `zmq_msg_t`: 64 opaque bytes, pointer-aligned.
#[repr(C, align(8))]
struct ZmqMsg([u8; 64]);

const ZMQ_PAIR: c_int = 0;
const ZMQ_SUBSCRIBE: c_int = 6;
const ZMQ_RCVMORE: c_int = 13;
const ZMQ_LINGER: c_int = 17;
const ZMQ_RECONNECT_IVL: c_int = 18;
const ZMQ_RCVTIMEO: c_int = 27;
const ZMQ_SNDTIMEO: c_int = 28;
const ZMQ_LAST_ENDPOINT: c_int = 32;
const ZMQ_CURVE_SERVER: c_int = 47;
const ZMQ_CURVE_PUBLICKEY: c_int = 48;
const ZMQ_CURVE_SECRETKEY: c_int = 49;
const ZMQ_CURVE_SERVERKEY: c_int = 50;
const ZMQ_SNDMORE: c_int = 2;
const ZMQ_DONTWAIT: c_int = 1;
const ZMQ_EVENT_ALL: c_int = 0xFFFF;
const TIMEOUT_MS: c_int = 10_000;

fn socket_type(name: &str) -> c_int {
    match name {
        "PAIR" => 0,
        "PUB" => 1,
        "SUB" => 2,
        "REQ" => 3,
        "REP" => 4,
        "DEALER" => 5,
        "ROUTER" => 6,
        "PULL" => 7,
        "PUSH" => 8,
        // The draft types (zmq.h under ZMQ_BUILD_DRAFT_API).
        "SERVER" => 12,
        "CLIENT" => 13,
        "RADIO" => 14,
        "DISH" => 15,
        "GATHER" => 16,
        "SCATTER" => 17,
        other => fail(&format!("unknown socket type {other}")),
    }
}

fn fail(what: &str) -> ! {
    eprintln!("libzmq-curve-peer: {what}");
    std::process::exit(2)
}

fn last_error() -> String {
    // SAFETY: zmq_errno and zmq_strerror take no pointers; zmq_strerror
    // returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(zmq_strerror(zmq_errno())) }
        .to_string_lossy()
        .into_owned()
}

fn check(rc: c_int, what: &str) {
    if rc < 0 {
        fail(&format!("{what}: {}", last_error()));
    }
}

/// Sets an option from a byte slice.
fn set(s: *mut c_void, opt: c_int, value: &[u8]) {
    // SAFETY: `s` is a live socket; libzmq copies `value.len()` bytes from
    // a pointer valid for that many.
    let rc = unsafe { zmq_setsockopt(s, opt, value.as_ptr().cast(), value.len()) };
    check(rc, "zmq_setsockopt");
}

fn set_int(s: *mut c_void, opt: c_int, value: c_int) {
    set(s, opt, &value.to_ne_bytes());
}

/// Receives one message's frames (`None` on timeout).
fn recv_message(s: *mut c_void) -> Option<Vec<Vec<u8>>> {
    let mut frames = Vec::new();
    loop {
        let mut buf = vec![0u8; 1 << 20];
        // SAFETY: `buf` is valid for writes of its length; libzmq writes at
        // most that many bytes and returns the frame's full size.
        let n = unsafe { zmq_recv(s, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return None;
        }
        buf.truncate((n as usize).min(1 << 20));
        frames.push(buf);
        let mut more: c_int = 0;
        let mut len = std::mem::size_of::<c_int>();
        // SAFETY: `more` is an int and `len` says so.
        let rc =
            unsafe { zmq_getsockopt(s, ZMQ_RCVMORE, (&mut more as *mut c_int).cast(), &mut len) };
        check(rc, "zmq_getsockopt(RCVMORE)");
        if more == 0 {
            return Some(frames);
        }
    }
}

/// Receives one message within `ms` milliseconds.
fn recv_within(s: *mut c_void, ms: c_int) -> Option<Vec<Vec<u8>>> {
    set_int(s, ZMQ_RCVTIMEO, ms);
    recv_message(s)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| {
            u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or_else(|_| fail("bad hex"))
        })
        .collect()
}

/// Where a draft socket's single frame goes.
enum To {
    /// A SERVER's peer, by routing id.
    Peer(u32),
    /// A RADIO's group.
    Group(CString),
}

/// Sends one frame `to` a peer or a group; `sent` or `error TEXT`.
fn send_one(s: *mut c_void, to: &To, data: &[u8]) -> String {
    let mut msg = ZmqMsg([0; 64]);
    // SAFETY: `msg` is a zmq_msg_t-sized, aligned buffer; libzmq
    // initialises it with `data.len()` bytes we then fill; the group is
    // NUL-terminated; the message is closed unless libzmq took it.
    unsafe {
        check(zmq_msg_init_size(&mut msg, data.len()), "zmq_msg_init_size");
        std::ptr::copy_nonoverlapping(data.as_ptr(), zmq_msg_data(&mut msg).cast(), data.len());
        let rc = match to {
            To::Peer(id) => zmq_msg_set_routing_id(&mut msg, *id),
            To::Group(group) => zmq_msg_set_group(&mut msg, group.as_ptr()),
        };
        if rc < 0 || zmq_msg_send(&mut msg, s, 0) < 0 {
            let e = last_error();
            zmq_msg_close(&mut msg);
            return format!("error {e}");
        }
    }
    "sent".into()
}

/// One frame of a draft socket, with its routing id (SERVER's) and its
/// group (DISH's).
struct Received {
    id: u32,
    group: Vec<u8>,
    data: Vec<u8>,
}

/// Receives one frame within `ms` milliseconds.
fn recv_one(s: *mut c_void, ms: c_int) -> Option<Received> {
    set_int(s, ZMQ_RCVTIMEO, ms);
    let mut msg = ZmqMsg([0; 64]);
    // SAFETY: as in `send_one`; the data pointer is valid for the
    // message's size, and the group a NUL-terminated string, until the
    // message is closed.
    unsafe {
        check(zmq_msg_init(&mut msg), "zmq_msg_init");
        if zmq_msg_recv(&mut msg, s, 0) < 0 {
            zmq_msg_close(&mut msg);
            return None;
        }
        let got = Received {
            id: zmq_msg_routing_id(&mut msg),
            group: CStr::from_ptr(zmq_msg_group(&mut msg)).to_bytes().to_vec(),
            data: std::slice::from_raw_parts(
                zmq_msg_data(&mut msg).cast::<u8>(),
                zmq_msg_size(&msg),
            )
            .to_vec(),
        };
        zmq_msg_close(&mut msg);
        Some(got)
    }
}

/// A group, from its hex.
fn group(text: &str) -> Result<CString, String> {
    CString::new(unhex(text)).map_err(|_| "error NUL in group".to_owned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(what @ ("has-curve" | "has-draft")) = args.first().map(String::as_str) {
        let name = if what == "has-curve" {
            c"curve"
        } else {
            c"draft"
        };
        // SAFETY: a NUL-terminated string.
        let has = unsafe { zmq_has(name.as_ptr()) };
        println!("{}", if has == 1 { "yes" } else { "no" });
        return;
    }
    if let Some(mode @ ("perf-thr" | "perf-lat")) = args.first().map(String::as_str) {
        perf::run(mode, &args[1..]);
        return;
    }
    if args.len() < 5 && !(args.len() == 4 && args[3] == "none") {
        fail("usage: TYPE bind|connect ENDPOINT server|client SECRET_Z85 [SERVER_PUBLIC_Z85]");
    }
    let kind = socket_type(&args[0]);
    let endpoint = CString::new(args[2].as_str()).unwrap_or_else(|_| fail("NUL in endpoint"));
    // SAFETY: no arguments; checked below.
    let ctx = unsafe { zmq_ctx_new() };
    if ctx.is_null() {
        fail("zmq_ctx_new");
    }
    // SAFETY: `ctx` is live.
    let s = unsafe { zmq_socket(ctx, kind) };
    if s.is_null() {
        fail(&format!("zmq_socket: {}", last_error()));
    }
    set_int(s, ZMQ_LINGER, 0);
    set_int(s, ZMQ_RCVTIMEO, TIMEOUT_MS);
    set_int(s, ZMQ_SNDTIMEO, TIMEOUT_MS);
    set_int(s, ZMQ_RECONNECT_IVL, 50);
    let secret = args.get(4).map_or(&b""[..], |s| s.as_bytes());
    match args[3].as_str() {
        "none" => {}
        "server" => {
            set_int(s, ZMQ_CURVE_SERVER, 1);
            set(s, ZMQ_CURVE_SECRETKEY, secret);
        }
        "client" => {
            let server = args
                .get(5)
                .unwrap_or_else(|| fail("a client needs the server key"));
            let secret_c = CString::new(secret).unwrap_or_else(|_| fail("NUL in key"));
            let mut public = [0u8; 41];
            // SAFETY: libzmq writes 41 bytes (40 Z85 characters and a NUL)
            // and reads a NUL-terminated 40-character secret.
            let rc = unsafe { zmq_curve_public(public.as_mut_ptr().cast(), secret_c.as_ptr()) };
            check(rc, "zmq_curve_public");
            set(s, ZMQ_CURVE_SERVERKEY, server.as_bytes());
            set(s, ZMQ_CURVE_PUBLICKEY, &public[..40]);
            set(s, ZMQ_CURVE_SECRETKEY, secret);
        }
        other => fail(&format!("role {other}: server or client")),
    }

    // The monitor first, so that no event is missed.
    let mon_ep = c"inproc://monitor";
    // SAFETY: `s` is live; the endpoint is NUL-terminated.
    check(
        unsafe { zmq_socket_monitor(s, mon_ep.as_ptr(), ZMQ_EVENT_ALL) },
        "zmq_socket_monitor",
    );
    // SAFETY: `ctx` is live.
    let mon = unsafe { zmq_socket(ctx, ZMQ_PAIR) };
    if mon.is_null() {
        fail("monitor socket");
    }
    set_int(mon, ZMQ_RCVTIMEO, TIMEOUT_MS);
    set_int(mon, ZMQ_LINGER, 0);
    // SAFETY: `mon` is live; the endpoint is NUL-terminated.
    check(
        unsafe { zmq_connect(mon, mon_ep.as_ptr()) },
        "monitor connect",
    );

    let bound = match args[1].as_str() {
        "bind" => {
            // SAFETY: `s` is live; the endpoint is NUL-terminated.
            check(unsafe { zmq_bind(s, endpoint.as_ptr()) }, "zmq_bind");
            let mut buf = [0u8; 256];
            let mut len = buf.len();
            // SAFETY: `buf` is valid for `len` bytes.
            let rc =
                unsafe { zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf.as_mut_ptr().cast(), &mut len) };
            check(rc, "LAST_ENDPOINT");
            CStr::from_bytes_until_nul(&buf)
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default()
        }
        "connect" => {
            // SAFETY: `s` is live; the endpoint is NUL-terminated.
            check(unsafe { zmq_connect(s, endpoint.as_ptr()) }, "zmq_connect");
            args[2].clone()
        }
        other => fail(&format!("{other}: bind or connect")),
    };
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock<'_>, line: String| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(&mut out, format!("ready {bound}"));

    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match cmd {
            "send" | "trysend" => {
                let wait = if cmd == "trysend" { ZMQ_DONTWAIT } else { 0 };
                let frames: Vec<Vec<u8>> = arg.split(',').map(unhex).collect();
                let mut answer = "sent".to_owned();
                for (i, f) in frames.iter().enumerate() {
                    let flags = wait | if i + 1 < frames.len() { ZMQ_SNDMORE } else { 0 };
                    // SAFETY: `f` is valid for reads of its length.
                    let rc = unsafe { zmq_send(s, f.as_ptr().cast(), f.len(), flags) };
                    if rc < 0 {
                        answer = format!("error {}", last_error());
                        break;
                    }
                }
                say(&mut out, answer);
            }
            "recv" => match recv_within(s, arg.parse().unwrap_or(TIMEOUT_MS)) {
                Some(frames) => {
                    let parts: Vec<String> = frames.iter().map(|f| hex(f)).collect();
                    say(&mut out, format!("recv {}", parts.join(",")));
                }
                None => say(&mut out, "timeout".into()),
            },
            "sub" => {
                set(s, ZMQ_SUBSCRIBE, &unhex(arg));
                say(&mut out, "ok".into());
            }
            "sendto" => {
                let (id, data) = arg.split_once(' ').unwrap_or((arg, ""));
                let id: u32 = id.parse().unwrap_or_else(|_| fail("routing id"));
                say(&mut out, send_one(s, &To::Peer(id), &unhex(data)));
            }
            "sendgroup" => {
                let (g, data) = arg.split_once(' ').unwrap_or((arg, ""));
                let answer = group(g)
                    .map(|g| send_one(s, &To::Group(g), &unhex(data)))
                    .unwrap_or_else(|e| e);
                say(&mut out, answer);
            }
            "recvid" | "recvgroup" => {
                let answer = match recv_one(s, arg.parse().unwrap_or(TIMEOUT_MS)) {
                    Some(m) if cmd == "recvid" => format!("recv {} {}", m.id, hex(&m.data)),
                    Some(m) => format!("recv {} {}", hex(&m.group), hex(&m.data)),
                    None => "timeout".into(),
                };
                say(&mut out, answer);
            }
            "join" | "leave" => {
                let answer = group(arg).map_or_else(
                    |e| e,
                    |g| {
                        // SAFETY: `s` is live; the group is NUL-terminated.
                        let rc = unsafe {
                            if cmd == "join" {
                                zmq_join(s, g.as_ptr())
                            } else {
                                zmq_leave(s, g.as_ptr())
                            }
                        };
                        if rc < 0 {
                            format!("error {}", last_error())
                        } else {
                            "ok".into()
                        }
                    },
                );
                say(&mut out, answer);
            }
            "event" => {
                let want: u16 = arg.parse().unwrap_or_else(|_| fail("event ID"));
                let answer = loop {
                    // A monitor message: 2 bytes event, 4 bytes value; then
                    // the endpoint.
                    let Some(frames) = recv_message(mon) else {
                        break "timeout".to_owned();
                    };
                    let Some(head) = frames.first().filter(|f| f.len() >= 6) else {
                        continue;
                    };
                    let id = u16::from_le_bytes([head[0], head[1]]);
                    let value = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
                    if id == want {
                        break format!("event {id} {value}");
                    }
                };
                say(&mut out, answer);
            }
            "quit" => break,
            other => say(&mut out, format!("error unknown command {other}")),
        }
    }
    // SAFETY: both sockets are live and closed once; then the context.
    unsafe {
        zmq_close(mon);
        zmq_close(s);
        zmq_ctx_term(ctx);
    }
}
