//! An I/O thread whose connection waits for a full pipe sleeps until the
//! reader makes room; it does not spin. Its own test binary: it finds the
//! I/O thread by name, and no other test may start one.

mod common;
use common::*;
use std::time::{Duration, Instant};
use zeroring::{Context, Error, SocketType::*, DONTWAIT};

/// CPU time (clock ticks) of this process's I/O threads.
fn io_cpu_ticks() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| {
            let dir = t.ok()?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
            (comm.trim() == "zeroring-io").then_some(())?;
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // After the ")" that ends the name: fields 3.. ; utime, stime
            // are fields 14 and 15.
            let rest = &stat[stat.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?)
        })
        .sum()
}

#[test]
fn io_thread_sleeps_while_the_pipe_is_full() {
    bounded(|| {
        let ctx = Context::new();
        let pull = ctx.socket(Pull).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let push = ctx.socket(Push).unwrap();
        push.connect(&pull.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        // Large frames fill the receiving pipe to its high-water mark (the
        // pool's chunks, then the spill beyond them); then the socket
        // buffers and the sender's pipe fill too.
        let big = vec![7u8; 100_000];
        let mut sent = 0u64;
        let mut blocked_since: Option<Instant> = None;
        while blocked_since.is_none_or(|t| t.elapsed() < Duration::from_millis(300)) {
            match push.send(&big[..], DONTWAIT) {
                Ok(()) => {
                    sent += 1;
                    blocked_since = None;
                }
                Err(Error::WouldBlock) => {
                    blocked_since.get_or_insert_with(Instant::now);
                    std::thread::yield_now();
                }
                Err(e) => panic!("{e}"),
            }
        }
        let before = io_cpu_ticks();
        // The measurement window itself (not a synchronisation).
        std::thread::sleep(Duration::from_millis(500));
        let used = io_cpu_ticks() - before;
        assert!(
            used < 15,
            "the I/O thread used {used} ticks of 50 while waiting"
        );
        // Nothing was lost: everything sent arrives once the reader reads.
        for _ in 0..sent {
            assert_eq!(pull.recv_bytes(0).unwrap().len(), big.len());
        }
    });
}
