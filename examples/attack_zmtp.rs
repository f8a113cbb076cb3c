//! Measures what hostile ZMTP peers cost a zeroring server: its resident
//! memory (this process's VmRSS; the attackers are raw `TcpStream`s in
//! the same process, whose own memory stays flat).
//!
//! - `cargo run --release --example attack_zmtp -- ping-flood [SECONDS]`:
//!   one peer completes the NULL handshake, then sends PINGs as fast as it
//!   can for SECONDS (default 30) and never reads the PONGs; a
//!   well-behaved PUSH peer sends beside it. Prints the server's RSS
//!   growth and what the good peer got through.
//! - `cargo run --release --example attack_zmtp -- handshakes [N] [SIZE]`:
//!   N peers (default 1,000) each send a greeting and a command announcing
//!   SIZE octets (default 8,192, the largest the handshake takes), all of
//!   it but the last octet (at most 1 MiB), and wait. Prints the RSS growth
//!   once it settles, and how many connections the server dropped.
//! - `cargo run --release --example attack_zmtp -- stalled-frames [N] [MS]`:
//!   N peers (default 6) each complete the handshake, send a 64 MiB
//!   message frame but for its last octet, and stall; the server's
//!   HANDSHAKE_IVL is MS (default 2,000). Prints the RSS while they stall
//!   and once the server has dropped them all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use zeroring::monitor::{Event, EVENT_ALL};
use zeroring::{Context, MonitorEvent, Socket, SocketType};

#[path = "../tests/support/raw_zmtp.rs"]
mod raw_zmtp;
use raw_zmtp::greeting;

/// This process's resident memory, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// RSS once it has held still for a second (the I/O thread has finished
/// with what it was doing).
fn settled_rss() -> u64 {
    let (mut last, mut still) = (rss(), 0);
    while still < 10 {
        thread::sleep(Duration::from_millis(100));
        let now = rss();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    last
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// A short-form frame (body under 256 octets) with `flags`.
fn short_frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![flags, body.len() as u8];
    out.extend_from_slice(body);
    out
}

/// A short command frame: name length, name, data.
fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    short_frame(0x04, &body)
}

fn ready_push() -> Vec<u8> {
    let mut props = vec![11u8];
    props.extend_from_slice(b"Socket-Type");
    props.extend_from_slice(&4u32.to_be_bytes());
    props.extend_from_slice(b"PUSH");
    command("READY", &props)
}

/// A PULL server on an ephemeral port, and a monitor of it.
fn server(ctx: &Context) -> (Socket, Socket, String) {
    server_with(ctx, 30_000)
}

fn server_with(ctx: &Context, handshake_ivl: i32) -> (Socket, Socket, String) {
    let pull = ctx.socket(SocketType::Pull).expect("socket");
    pull.set_handshake_ivl(handshake_ivl)
        .expect("handshake_ivl");
    pull.set_rcvtimeo(10_000).expect("rcvtimeo");
    pull.monitor("inproc://attack-mon", EVENT_ALL)
        .expect("monitor");
    let mon = ctx.socket(SocketType::Pair).expect("socket");
    mon.set_rcvtimeo(100).expect("rcvtimeo");
    mon.connect("inproc://attack-mon").expect("connect");
    pull.bind("tcp://127.0.0.1:0").expect("bind");
    let endpoint = pull.get_last_endpoint().expect("endpoint").expect("UTF-8");
    (pull, mon, endpoint)
}

fn ping_flood(seconds: u64) {
    let ctx = Context::new();
    let (pull, _mon, endpoint) = server(&ctx);
    let addr = endpoint.trim_start_matches("tcp://").to_owned();
    let mut raw = TcpStream::connect(&addr).expect("connect");
    let mut hello = greeting().to_vec();
    hello.extend(ready_push());
    hello.extend(short_frame(0, b"warm"));
    raw.write_all(&hello).expect("write");
    assert_eq!(pull.recv_bytes(0).expect("warm"), b"warm");
    let before = rss();

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flooder = {
        let (stop, sent) = (stop.clone(), sent.clone());
        thread::spawn(move || {
            let ping = command("PING", b"\x00\x00sixteen octets..");
            let batch = ping.repeat((1 << 20) / ping.len());
            while !stop.load(Ordering::Relaxed) {
                raw.write_all(&batch).expect("flood");
                sent.fetch_add((batch.len() / ping.len()) as u64, Ordering::Relaxed);
            }
            // Everything before it has been read once this arrives.
            raw.write_all(&short_frame(0, b"end")).expect("write");
            raw
        })
    };
    let good = ctx.socket(SocketType::Push).expect("socket");
    good.connect(&endpoint).expect("connect");
    let (mut peak, mut served) = (before, 0u64);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        good.send("good", 0).expect("send");
        assert_eq!(pull.recv_bytes(0).expect("the good peer's"), b"good");
        served += 1;
        thread::sleep(Duration::from_millis(100));
        peak = peak.max(rss());
    }
    stop.store(true, Ordering::Relaxed);
    let _raw = flooder.join().expect("flooder");
    while pull.recv_bytes(0).expect("the flood's end") != b"end" {}
    let after = rss();
    let pings = sent.load(Ordering::Relaxed);
    println!(
        "ping flood: {pings} PINGs in {seconds} s ({:.0} MB), never read",
        pings as f64 * 25.0 / 1e6
    );
    println!(
        "server RSS: {:.1} MiB before, peak {:.1} MiB (+{:.1}), after {:.1} MiB (+{:.1})",
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before)),
        mib(after),
        mib(after.saturating_sub(before)),
    );
    println!("good peer: {served} messages through during the flood");
}

fn handshakes(n: usize, size: u64) {
    let ctx = Context::new();
    let (_pull, mon, endpoint) = server(&ctx);
    let addr = endpoint.trim_start_matches("tcp://").to_owned();
    let before = rss();
    let mut header = greeting().to_vec();
    header.push(0x06);
    header.extend_from_slice(&size.to_be_bytes());
    header.extend_from_slice(b"\x05READY");
    let body_sent = (size.saturating_sub(1) as usize).clamp(6, 1 << 20);
    let rest = vec![b'x'; body_sent - 6];
    let mut peers = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(&addr).expect("connect");
        s.set_nonblocking(true).expect("nonblocking");
        // What the kernel takes now; a refused peer's socket may not take all.
        let _ = s.write_all(&header);
        let _ = s.write_all(&rest);
        peers.push(s);
    }
    // Let the server read it all: until its RSS holds still for a second.
    let (mut last, mut still) = (rss(), 0);
    let (mut accepted, mut dropped) = (0usize, 0usize);
    while still < 10 {
        while let Ok(ev) = MonitorEvent::recv(&mon, 0) {
            match ev.event {
                Event::Accepted => accepted += 1,
                Event::Disconnected => dropped += 1,
                _ => {}
            }
        }
        let now = rss();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    let grown = last.saturating_sub(before);
    println!(
        "{n} peers, each announcing a {size}-octet handshake command and sending {body_sent} octets of it"
    );
    println!(
        "server RSS: {:.1} MiB before, {:.1} MiB after (+{:.1} MiB, {:.1} KiB a connection)",
        mib(before),
        mib(last),
        mib(grown),
        grown as f64 / 1024.0 / n as f64
    );
    println!("connections accepted: {accepted}, dropped by the server: {dropped}");
    // The peers' unread bytes are theirs: keep the sockets open until here.
    let mut buf = [0u8; 64];
    let _ = peers.first_mut().map(|p| p.read(&mut buf));
}

fn stalled_frames(n: usize, ivl_ms: u64) {
    const SIZE: usize = 64 << 20;
    let ctx = Context::new();
    let (_pull, mon, endpoint) = server_with(&ctx, ivl_ms as i32);
    let addr = endpoint.trim_start_matches("tcp://").to_owned();
    let mut frame = greeting().to_vec();
    frame.extend(ready_push());
    frame.push(0x02);
    frame.extend_from_slice(&(SIZE as u64).to_be_bytes());
    frame.resize(frame.len() + SIZE - 1, b'x');
    // (The attackers' buffer, resident from here on, is not the server's.)
    let before = rss();
    let start = Instant::now();
    let peers: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).expect("connect");
            s.write_all(&frame).expect("write");
            s
        })
        .collect();
    let stalled = rss();
    let mut dropped = 0;
    while dropped < n {
        if let Ok(ev) = MonitorEvent::recv(&mon, 0) {
            dropped += usize::from(ev.event == Event::Disconnected);
        }
    }
    let took = start.elapsed();
    drop(peers);
    let after = settled_rss();
    println!(
        "{n} peers, each stalled one octet short of a 64 MiB frame; HANDSHAKE_IVL {ivl_ms} ms"
    );
    println!(
        "server RSS: {:.1} MiB before, {:.1} MiB while they stall (+{:.1}), {:.1} MiB once all {n} were dropped after {:.1} s (+{:.1})",
        mib(before),
        mib(stalled),
        mib(stalled.saturating_sub(before)),
        mib(after),
        took.as_secs_f64(),
        mib(after.saturating_sub(before)),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("ping-flood") => ping_flood(num(1, 30)),
        Some("handshakes") => handshakes(num(1, 1000) as usize, num(2, 8192)),
        Some("stalled-frames") => stalled_frames(num(1, 6) as usize, num(2, 2000)),
        _ => {
            eprintln!(
                "usage: attack_zmtp ping-flood [SECONDS] | handshakes [N] [SIZE] | stalled-frames [N] [MS]"
            );
            std::process::exit(2);
        }
    }
}
