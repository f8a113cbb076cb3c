//! Issue 16's bar, shared by its inproc and tcp tests: threads sending on
//! one CLIENT, and the checks of what one SERVER receives (count,
//! checksum, each thread's order, one routing id).

use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use zeroring::{Client, RoutingId};

/// Thread `t`'s message `seq`: `t` and `seq` first, one in `large_every`
/// above the ring's inline limit (it travels by descriptor).
pub fn message(t: u32, seq: u32, large_every: u32) -> Vec<u8> {
    let len = if seq % large_every == large_every - 1 {
        20_000
    } else {
        8 + (seq % 40) as usize
    };
    let mut m = vec![(t as u8) ^ (seq as u8); len];
    m[..4].copy_from_slice(&t.to_le_bytes());
    m[4..8].copy_from_slice(&seq.to_le_bytes());
    m
}

fn sum(m: &[u8]) -> u64 {
    m.iter().map(|&b| b as u64).sum()
}

/// `threads` threads that start together and each send `per_thread`
/// messages on `client`; each returns the checksum of what it sent.
pub fn send_from_threads(
    client: &Arc<Client>,
    threads: u32,
    per_thread: u32,
    large_every: u32,
) -> Vec<JoinHandle<u64>> {
    let start = Arc::new(Barrier::new(threads as usize));
    (0..threads)
        .map(|t| {
            let (client, start) = (client.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut checksum = 0u64;
                for seq in 0..per_thread {
                    let m = message(t, seq, large_every);
                    checksum += sum(&m);
                    client.send(&m, 0).unwrap();
                }
                checksum
            })
        })
        .collect()
}

/// What the SERVER has received so far from the threads.
pub struct Received {
    next: Vec<u32>,
    checksum: u64,
    from: Option<RoutingId>,
    large_every: u32,
}

impl Received {
    pub fn new(threads: u32, large_every: u32) -> Self {
        Self {
            next: vec![0; threads as usize],
            checksum: 0,
            from: None,
            large_every,
        }
    }

    /// Checks one message from thread `m[..4]`: the one routing id, the
    /// thread's next in order, whole.
    pub fn take(&mut self, id: RoutingId, m: &[u8]) {
        assert_eq!(
            *self.from.get_or_insert(id),
            id,
            "one client, one routing id"
        );
        let t = u32::from_le_bytes(m[..4].try_into().unwrap());
        let seq = u32::from_le_bytes(m[4..8].try_into().unwrap());
        let next = &mut self.next[t as usize];
        assert_eq!(seq, *next, "thread {t}'s messages out of order");
        assert_eq!(
            m,
            message(t, seq, self.large_every),
            "message {t}/{seq} garbled"
        );
        *next += 1;
        self.checksum += sum(m);
    }

    /// Once every message is in: each thread's were all there, and the
    /// checksums of what was sent and received agree.
    pub fn finish(self, senders: Vec<JoinHandle<u64>>, per_thread: u32) {
        let sent: u64 = senders.into_iter().map(|s| s.join().unwrap()).sum();
        assert_eq!(self.checksum, sent);
        assert!(self.next.iter().all(|&n| n == per_thread));
    }
}
