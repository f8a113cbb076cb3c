//! Options of the sockets that address their peers by routing id.

use super::Socket;
use crate::error::{Error, Result};
use crate::pattern::Pattern;
use crate::SocketType;

impl Socket {
    /// `ZMQ_CONNECT_ROUTING_ID` (ROUTER, STREAM): the routing id this socket will
    /// know the peer of its next `connect` by, instead of the one the peer
    /// asks for (or an automatic one). Used by that one connect only, as in
    /// libzmq; a peer already known by that id makes the new one a
    /// duplicate (refused, or taking over with `ROUTER_HANDOVER`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an id that is empty or over 255
    /// bytes, or on a socket type that has no routing ids.
    pub fn set_connect_routing_id(&self, id: &[u8]) -> Result<()> {
        let mut c = self.core()?;
        if !matches!(c.kind, SocketType::Router | SocketType::Stream) {
            return Err(Error::InvalidArgument(
                "CONNECT_ROUTING_ID is for ROUTER and STREAM sockets",
            ));
        }
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidArgument("routing id must be 1..=255 bytes"));
        }
        c.io.opts.connect_routing_id = Some(id.to_vec());
        Ok(())
    }

    /// `ZMQ_STREAM_NOTIFY` (STREAM, default on): each connection's start
    /// and end come as a message of its routing id and an empty frame.
    /// Applies to connections made after.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] on a socket that is not a STREAM.
    pub fn set_stream_notify(&self, on: bool) -> Result<()> {
        let mut c = self.core()?;
        if c.kind != SocketType::Stream {
            return Err(Error::InvalidArgument(
                "STREAM_NOTIFY is for STREAM sockets",
            ));
        }
        c.opts.stream_notify = on;
        Ok(())
    }

    /// The current `ZMQ_STREAM_NOTIFY` option.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a loan holds the socket.
    pub fn get_stream_notify(&self) -> Result<bool> {
        Ok(self.core()?.opts.stream_notify)
    }

    /// `ZMQ_ROUTER_RAW` (ROUTER; deprecated in libzmq for STREAM): the
    /// socket's peers are raw byte streams, as a STREAM's, except that
    /// what goes to an unknown or full peer is dropped unless
    /// ROUTER_MANDATORY. Set before the first `bind` or `connect`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] on a socket that is not a ROUTER;
    /// [`Error::WrongState`] after a `bind` or `connect`.
    pub fn set_router_raw(&self, on: bool) -> Result<()> {
        let mut c = self.core()?;
        if c.kind != SocketType::Router {
            return Err(Error::InvalidArgument("ROUTER_RAW is for ROUTER sockets"));
        }
        if !c.last_endpoint.is_empty() || !c.io.pipes.is_empty() {
            return Err(Error::WrongState);
        }
        c.pattern = if on {
            Pattern::router_raw()
        } else {
            Pattern::of(SocketType::Router).ok_or(Error::NotSupported)?
        };
        c.opts.router_raw = on;
        Ok(())
    }

    /// The current `ZMQ_ROUTER_RAW` option.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a loan holds the socket.
    pub fn get_router_raw(&self) -> Result<bool> {
        Ok(self.core()?.opts.router_raw)
    }
}
