//! Helpers for the real libzmq 4.3 peer (the `zmq` crate): sockets with
//! bounded waits, and its socket monitor, which tells what libzmq saw of a
//! connection (handshake succeeded or failed, and why).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// RCVTIMEO/SNDTIMEO of libzmq sockets in tests.
pub const ZMQ_TIMEO: i32 = 20_000;

/// A libzmq socket whose blocking calls give up after [`ZMQ_TIMEO`], and
/// whose close never waits.
pub fn zmq_socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(ZMQ_TIMEO).unwrap();
    s.set_sndtimeo(ZMQ_TIMEO).unwrap();
    s.set_linger(0).unwrap();
    s
}

/// Binds a libzmq socket on an ephemeral loopback port; its endpoint.
pub fn zmq_bind(s: &zmq::Socket) -> String {
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.get_last_endpoint().unwrap().unwrap()
}

/// A libzmq socket with its monitor, which reports what libzmq saw of its
/// connections. It derefs to the socket.
///
/// libzmq sends monitor events with a blocking send, so an event nobody
/// reads blocks whichever libzmq thread emits it, the I/O thread included,
/// stalling every connection of the context. So the reader lives as long as
/// the socket, reads without limit, and on drop closes the socket first and
/// reads until libzmq's last event (MONITOR_STOPPED).
pub struct Monitored {
    socket: Option<zmq::Socket>,
    events: zmq::Socket,
}

impl Monitored {
    /// Starts monitoring `socket` (every event); before bind/connect, so
    /// that no event is missed.
    pub fn new(ctx: &zmq::Context, socket: zmq::Socket) -> Monitored {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "inproc://monitor-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        socket.monitor(&name, zmq::SocketEvent::ALL as i32).unwrap();
        let events = ctx.socket(zmq::PAIR).unwrap();
        events.set_linger(0).unwrap();
        events.set_rcvhwm(0).unwrap();
        events.connect(&name).unwrap();
        Monitored {
            socket: Some(socket),
            events,
        }
    }

    /// The next event and its value, if one comes within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<(zmq::SocketEvent, u32)> {
        self.events
            .set_rcvtimeo(timeout.as_millis() as i32)
            .unwrap();
        let msg = match self.events.recv_multipart(0) {
            Ok(m) => m,
            Err(zmq::Error::EAGAIN) => return None,
            Err(e) => panic!("monitor: {e}"),
        };
        let head = &msg[0];
        let event = u16::from_le_bytes([head[0], head[1]]);
        let value = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
        Some((zmq::SocketEvent::from_raw(event), value))
    }

    /// Waits (at most 20 s) for `event`, skipping others; its value.
    pub fn wait_for(&self, event: zmq::SocketEvent) -> u32 {
        let deadline = Instant::now() + Duration::from_millis(ZMQ_TIMEO as u64);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left) {
                Some((e, v)) if e == event => return v,
                Some(other) => seen.push(other),
                None => break,
            }
        }
        panic!("libzmq never reported {event:?}; it reported {seen:?}");
    }
}

impl std::ops::Deref for Monitored {
    type Target = zmq::Socket;
    fn deref(&self) -> &zmq::Socket {
        self.socket.as_ref().unwrap()
    }
}

impl Drop for Monitored {
    fn drop(&mut self) {
        drop(self.socket.take());
        let deadline = Instant::now() + Duration::from_millis(ZMQ_TIMEO as u64);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left) {
                Some((zmq::SocketEvent::MONITOR_STOPPED, _)) | None => return,
                Some(_) => {}
            }
        }
    }
}
