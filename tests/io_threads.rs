//! `Context::set_io_threads` (ZMQ_IO_THREADS). Its own test binary: it
//! counts this process's I/O threads, which no other test may start.

mod common;
use common::*;
use zeroring::{Context, SocketType::*};

/// The I/O threads of this process: named threads in /proc/self/task.
fn io_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == "zeroring-io")
        .count()
}

#[test]
fn io_threads_option_starts_that_many_and_spreads_sockets() {
    bounded(|| {
        let ctx = Context::new();
        assert!(ctx.set_io_threads(0).is_err());
        ctx.set_io_threads(3).unwrap();
        assert_eq!(io_threads(), 0, "started on first use");
        // Three sockets, ids in a row: one per thread.
        let pulls: Vec<_> = (0..3)
            .map(|_| {
                let pull = ctx.socket(Pull).unwrap();
                pull.bind("tcp://127.0.0.1:0").unwrap();
                pull
            })
            .collect();
        // A new thread names itself once it runs: wait for that (`bounded`
        // fails the test if it never happens).
        while io_threads() < 3 {
            std::thread::yield_now();
        }
        assert_eq!(io_threads(), 3);
        assert_eq!(ctx.get_io_threads().unwrap(), 3);
        assert!(matches!(
            ctx.set_io_threads(2),
            Err(zeroring::Error::WrongState)
        ));
        let push = ctx.socket(Push).unwrap();
        for pull in &pulls {
            push.connect(&pull.get_last_endpoint().unwrap().unwrap())
                .unwrap();
        }
        for i in 0..30u8 {
            push.send([i], 0).unwrap();
        }
        let mut got: Vec<u8> = Vec::new();
        for pull in &pulls {
            for _ in 0..10 {
                got.push(pull.recv_bytes(0).unwrap()[0]);
            }
        }
        got.sort_unstable();
        assert_eq!(got, (0..30).collect::<Vec<u8>>());
    });
}
