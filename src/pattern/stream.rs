//! STREAM (libzmq's `ZMQ_STREAM`): a ROUTER over raw byte-stream peers.
//!
//! Each peer's I/O thread engine speaks no ZMTP: every chunk it reads is a
//! one-frame message in the pipe, and every frame it takes is written as
//! it is (an empty frame in, with STREAM_NOTIFY, says the connection came
//! up or went). So the ROUTER's work is all there is: the id is prepended
//! in, and picks the peer out. What STREAM adds: the data frame ends the
//! message whatever its MORE flag says, and an empty one closes that
//! peer's connection. A ROUTER with ROUTER_RAW is one of these too.

use super::router::Router;
use super::{Behaviour, In, Io, PipeKey, Slot};
use crate::error::Fail;

#[derive(Debug)]
pub(crate) struct Stream {
    router: Router,
    /// A STREAM socket, not a ROUTER_RAW one.
    stream: bool,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            router: Router::raw(true),
            stream: true,
        }
    }
}

impl Stream {
    /// libzmq's deprecated ROUTER_RAW: a STREAM that drops what goes to an
    /// unknown or full peer, unless ROUTER_MANDATORY.
    pub(crate) fn router_raw() -> Self {
        Stream {
            router: Router::raw(false),
            stream: false,
        }
    }
}

impl Behaviour for Stream {
    fn attach(&mut self, io: &mut Io, key: PipeKey) {
        let given = io.pipes[key].given_id.is_some();
        self.router.attach(io, key);
        // libzmq's stream_t::identify_peer makes an id up for a peer
        // CONNECT_ROUTING_ID did not name, and stores it as the socket's
        // own ROUTING_ID too: a connecter reads its peer's id that way
        // (libzmq's test_stream does).
        if self.stream && !given {
            if let Some(id) = self.router.id_of(key) {
                io.opts.routing_id = Some(id.to_vec());
            }
        }
    }

    fn detach(&mut self, io: &mut Io, key: PipeKey) {
        self.router.detach(io, key);
    }

    fn send_bytes(&mut self, io: &mut Io, id: &[u8], more: bool) -> Result<(), Fail> {
        self.router.send_bytes(io, id, more)
    }

    fn reserve(&mut self, io: &mut Io, len: usize, _more: bool) -> Result<Slot, Fail> {
        if len == 0 {
            if let Some(key) = self.router.target() {
                // [id, ""]: close that peer's connection (what is queued
                // for it goes, as in libzmq).
                self.router.abort(io);
                io.pipes[key].broken = true;
                io.reap = true;
                return Ok(Slot::Discard);
            }
        }
        self.router.reserve(io, len, false)
    }

    fn commit(&mut self, io: &mut Io, slot: Slot, len: usize, _more: bool) {
        self.router.commit(io, slot, len, false);
    }

    fn abort(&mut self, io: &mut Io) {
        self.router.abort(io);
    }

    fn recv(&mut self, io: &mut Io) -> Result<In, Fail> {
        self.router.recv(io)
    }

    fn consumed(&mut self, io: &mut Io, frame: In) {
        self.router.consumed(io, frame);
    }

    fn held(&self) -> &[u8] {
        self.router.held()
    }

    fn held_source(&self) -> Option<PipeKey> {
        self.router.held_source()
    }

    fn readable(&mut self, io: &mut Io) -> bool {
        self.router.readable(io)
    }

    fn writable(&mut self, io: &mut Io) -> bool {
        self.router.writable(io)
    }

    /// The id frame opens a message (to a peer); the data frame ends it.
    fn sending(&self, more: bool) -> bool {
        more && self.router.target().is_some()
    }
}
