//! What idle tcp connections cost a zeroring server, and how much of it
//! comes back once they close.
//!
//! A ROUTER binds loopback; a child process (this example again) opens
//! `<count>` connections and completes a ZMTP NULL handshake on each (raw
//! bytes, so that the client side costs the server nothing of zeroring's),
//! then sends nothing. Once the server's monitor has seen every handshake,
//! the server's resident memory over its baseline is divided by the count.
//! Then the child exits, and the server samples its resident memory each
//! second for up to a minute, printing how much of the growth came back.
//! Meanwhile a thread serves the ROUTER as an idle server would: blocked in
//! `recv`.
//!
//! `cargo run --release --example idle_conns [-- <count>]` (default 10,000;
//! the process needs that many descriptors: `ulimit -n`).

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroring::monitor::{Event, EVENT_DISCONNECTED, EVENT_HANDSHAKE_SUCCEEDED};
use zeroring::{Context, MonitorEvent, SocketType};

#[path = "../tests/support/raw_zmtp.rs"]
mod raw_zmtp;
#[path = "../tests/support/rss.rs"]
mod rss;
use rss::rss_kib;

/// The child: `count` raw peers, handshaken, idle until stdin closes.
fn client(port: u16, count: usize) {
    let mut peers = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut peer = raw_zmtp::Peer::new(stream, Duration::from_secs(30));
        peer.handshake("DEALER");
        peers.push(peer);
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// Counts `monitor`'s events as they come (so that none is dropped at its
/// mark while the main thread waits elsewhere), and says when `n`
/// handshakes, then `n` disconnections, have been seen.
fn count_events(monitor: zeroring::Socket, n: usize) -> std::sync::mpsc::Receiver<Event> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for want in [Event::HandshakeSucceeded, Event::Disconnected] {
            let mut seen = 0;
            while seen < n {
                let ev = MonitorEvent::recv(&monitor, 0).expect("monitor event within its timeout");
                if ev.event == want {
                    seen += 1;
                }
            }
            if tx.send(want).is_err() {
                return;
            }
        }
    });
    rx
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("client") {
        return client(args[2].parse().unwrap(), args[3].parse().unwrap());
    }
    let count: usize = args.get(1).map_or(10_000, |s| s.parse().expect("count"));
    let ctx = Context::new();
    let router = ctx.socket(SocketType::Router).unwrap();
    router
        .monitor(
            "inproc://idle-monitor",
            EVENT_HANDSHAKE_SUCCEEDED | EVENT_DISCONNECTED,
        )
        .unwrap();
    let monitor = ctx.socket(SocketType::Pair).unwrap();
    monitor.set_rcvtimeo(120_000).unwrap();
    monitor.connect("inproc://idle-monitor").unwrap();
    let counted = count_events(monitor, count);
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.get_last_endpoint().unwrap().unwrap();
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let serving = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let server = {
        let serving = serving.clone();
        std::thread::spawn(move || {
            router.set_rcvtimeo(200).unwrap();
            while serving.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = router.recv_multipart(0);
            }
        })
    };
    let base = rss_kib();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["client", &port.to_string(), &count.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("child");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the client failed");
    assert_eq!(counted.recv().unwrap(), Event::HandshakeSucceeded);
    let loaded = rss_kib();
    let grown = loaded.saturating_sub(base);
    println!(
        "{count} idle connections: {grown} KiB over the baseline of {base} KiB, \
         {:.1} KiB each",
        grown as f64 / count as f64
    );

    drop(child.stdin.take());
    child.wait().unwrap();
    assert_eq!(counted.recv().unwrap(), Event::Disconnected);
    let closed = Instant::now();
    loop {
        let now = rss_kib();
        let back = loaded.saturating_sub(now) as f64 / grown.max(1) as f64;
        println!(
            "{:>4.1} s after they closed: {now} KiB resident, {:.0} % of the growth back",
            closed.elapsed().as_secs_f64(),
            back * 100.0
        );
        if back >= 0.9 || closed.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    serving.store(false, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
}
