//! Options of the sockets that address their peers by routing id.

use super::Socket;
use crate::error::{Error, Result};
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
    /// As any option read: the socket's context is gone.
    pub fn get_stream_notify(&self) -> Result<bool> {
        Ok(self.core()?.opts.stream_notify)
    }
}
