//! `proxy` and `proxy_steerable`, as libzmq defines them: move whole messages
//! between two sockets in both directions, optionally copying every frame to
//! a capture socket, until the context ends (or, steerable, until told).

use crate::error::{Error, Result};
use crate::poll::{poll, PollEvents, POLLIN, POLLOUT};
use crate::{Socket, DONTWAIT, SNDMORE};

/// Moves one whole message from `from` to `to` (and a copy to `capture`).
/// Returns the bytes moved.
fn forward(from: &Socket, to: &Socket, capture: Option<&Socket>) -> Result<u64> {
    let mut bytes = 0;
    loop {
        let frame = from.recv_bytes(DONTWAIT)?;
        let more = from.get_rcvmore()?;
        let flags = if more { SNDMORE } else { 0 };
        if let Some(c) = capture {
            c.send(&frame, flags)?;
        }
        bytes += frame.len() as u64;
        to.send(frame, flags)?;
        if !more {
            return Ok(bytes);
        }
    }
}

/// Counters a steerable proxy reports for STATISTICS, in libzmq's order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProxyStats {
    /// Messages received by the frontend.
    pub frontend_msgs_in: u64,
    /// Bytes received by the frontend.
    pub frontend_bytes_in: u64,
    /// Messages sent by the frontend.
    pub frontend_msgs_out: u64,
    /// Bytes sent by the frontend.
    pub frontend_bytes_out: u64,
    /// Messages received by the backend.
    pub backend_msgs_in: u64,
    /// Bytes received by the backend.
    pub backend_bytes_in: u64,
    /// Messages sent by the backend.
    pub backend_msgs_out: u64,
    /// Bytes sent by the backend.
    pub backend_bytes_out: u64,
}

/// Runs a proxy between `frontend` and `backend` until the context is shut
/// down (then [`Error::Terminated`]), like `zmq_proxy`.
///
/// ```no_run
/// use zeroring::{proxy, Context, SocketType};
/// let ctx = Context::new();
/// let frontend = ctx.socket(SocketType::Router).unwrap();
/// frontend.bind("inproc://clients").unwrap();
/// let backend = ctx.socket(SocketType::Dealer).unwrap();
/// backend.bind("inproc://workers").unwrap();
/// proxy(&frontend, &backend).unwrap_err(); // until ctx.shutdown()
/// ```
///
/// The four functions have the `zmq` crate's names and arities (which
/// take `&mut Socket`; a `&mut` passes here as well).
///
/// # Errors
///
/// [`Error::Terminated`] when the context is shut down; any error of a
/// receive or send on the sockets.
pub fn proxy(frontend: &Socket, backend: &Socket) -> Result<()> {
    run(frontend, backend, None, None)
}

/// [`proxy`], copying every frame either way to `capture`.
///
/// # Errors
///
/// As [`proxy`].
pub fn proxy_with_capture(frontend: &Socket, backend: &Socket, capture: &Socket) -> Result<()> {
    run(frontend, backend, Some(capture), None)
}

/// A proxy that a `control` socket steers, like `zmq_proxy_steerable`: the
/// messages `PAUSE`, `RESUME`, `TERMINATE` (returns `Ok`) and `STATISTICS`
/// (replies with eight 8-byte counters, see [`ProxyStats`]).
///
/// # Errors
///
/// As [`proxy`], and [`Error::InvalidArgument`] for an unknown command.
pub fn proxy_steerable(frontend: &Socket, backend: &Socket, control: &Socket) -> Result<()> {
    run(frontend, backend, None, Some(control))
}

/// [`proxy_steerable`] with a `capture` socket, as [`proxy_with_capture`].
///
/// # Errors
///
/// As [`proxy_steerable`].
pub fn proxy_steerable_with_capture(
    frontend: &Socket,
    backend: &Socket,
    capture: &Socket,
    control: &Socket,
) -> Result<()> {
    run(frontend, backend, Some(capture), Some(control))
}

fn run(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: Option<&Socket>,
) -> Result<()> {
    let mut stats = ProxyStats::default();
    let mut paused = false;
    loop {
        // As libzmq's proxy: take a message from one side only while the
        // other can take it (a send then never blocks the proxy, and its
        // control socket is still served); wait for room otherwise.
        // One socket on both sides (a ROUTER echoing) is not held back.
        let same = std::ptr::eq(frontend, backend);
        let front_in = same || backend.writable()?;
        let back_in = same || frontend.writable()?;
        let wanted = |read: bool, room_for_other: bool| {
            let mut ev = PollEvents::empty();
            if read {
                ev |= POLLIN;
            }
            if !room_for_other {
                ev |= POLLOUT;
            }
            ev
        };
        let mut items = vec![
            frontend.as_poll_item(wanted(front_in, back_in)),
            backend.as_poll_item(wanted(back_in, front_in)),
        ];
        if let Some(c) = control {
            items.push(c.as_poll_item(POLLIN));
        }
        if paused {
            items.truncate(0);
            items.extend(control.map(|c| c.as_poll_item(POLLIN)));
        }
        poll(&mut items, -1)?;
        if let Some(c) = control {
            if c.readable()? {
                let cmd = c.recv_multipart(DONTWAIT)?;
                match cmd.first().map(Vec::as_slice) {
                    Some(b"PAUSE") => paused = true,
                    Some(b"RESUME") => paused = false,
                    Some(b"TERMINATE") => return Ok(()),
                    Some(b"STATISTICS") => {
                        let s = stats;
                        let all = [
                            s.frontend_msgs_in,
                            s.frontend_bytes_in,
                            s.frontend_msgs_out,
                            s.frontend_bytes_out,
                            s.backend_msgs_in,
                            s.backend_bytes_in,
                            s.backend_msgs_out,
                            s.backend_bytes_out,
                        ];
                        c.send_multipart(all.iter().map(|v| v.to_ne_bytes()), 0)?;
                    }
                    _ => return Err(Error::InvalidArgument("unknown proxy control command")),
                }
            }
        }
        if paused {
            continue;
        }
        if front_in && frontend.readable()? {
            let bytes = forward(frontend, backend, capture)?;
            stats.frontend_msgs_in += 1;
            stats.frontend_bytes_in += bytes;
            stats.backend_msgs_out += 1;
            stats.backend_bytes_out += bytes;
        }
        if back_in && backend.readable()? {
            let bytes = forward(backend, frontend, capture)?;
            stats.backend_msgs_in += 1;
            stats.backend_bytes_in += bytes;
            stats.frontend_msgs_out += 1;
            stats.frontend_bytes_out += bytes;
        }
    }
}
