//! The `zmq` crate's `Socket` methods zeroring's own API lacks: `Message`
//! receives, `recv_string`, the `is_*` and `_identity` names, `poll`, and
//! the multicast options zeroring keeps but has no use for.

use super::Message;
use crate::error::Result;
#[cfg(not(loom))]
use crate::PollEvents;
use crate::Socket;

/// Options a `zmq`-crate program sets that zeroring keeps, so that a get
/// returns what was set, but does not act on: ZMQ_RATE, RECOVERY_IVL and
/// MULTICAST_HOPS, which libzmq applies only to its multicast transports
/// (PGM, NORM), which zeroring does not have.
#[derive(Debug, Clone)]
pub(crate) struct StoredOptions {
    rate: i32,
    recovery_ivl: i32,
    multicast_hops: i32,
}

impl Default for StoredOptions {
    /// libzmq 4.3's defaults.
    fn default() -> Self {
        Self {
            rate: 100,
            recovery_ivl: 10_000,
            multicast_hops: 1,
        }
    }
}

macro_rules! stored_option {
    ($field:ident, $ty:ty, $set:ident, $get:ident, $name:literal) => {
        #[doc = concat!("`", $name, "`: kept for [`", stringify!($get), "`](Self::", stringify!($get), "), not acted on: libzmq uses it only for its multicast transports (PGM, NORM), and zeroring has none.")]
        ///
        /// # Errors
        ///
        /// [`Error::WrongState`](crate::Error::WrongState) while a frame or loan of the socket is alive.
        pub fn $set(&self, value: $ty) -> Result<()> {
            self.core()?.opts.stored.$field = value;
            Ok(())
        }
        #[doc = concat!("The `", $name, "` last set (libzmq's default if none).")]
        ///
        /// # Errors
        ///
        /// [`Error::WrongState`](crate::Error::WrongState) while a frame or loan of the socket is alive.
        pub fn $get(&self) -> Result<$ty> {
            Ok(self.core()?.opts.stored.$field)
        }
    };
}

macro_rules! is_alias {
    ($($is:ident => $get:ident),* $(,)?) => {$(
        #[doc = concat!("The `zmq` crate's name for [`", stringify!($get), "`](Self::", stringify!($get), ").")]
        ///
        /// # Errors
        ///
        #[doc = concat!("As [`", stringify!($get), "`](Self::", stringify!($get), ").")]
        pub fn $is(&self) -> Result<bool> {
            self.$get()
        }
    )*};
}

impl Socket {
    /// Sends `msg` (the `zmq` crate's deprecated name for `send`).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_msg(&self, msg: Message, flags: i32) -> Result<()> {
        self.send(msg, flags)
    }

    /// Sends `data` (the `zmq` crate's deprecated name for `send`).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_str(&self, data: &str, flags: i32) -> Result<()> {
        self.send(data, flags)
    }

    /// Receives one frame into `msg`, reusing its buffer; `msg.get_more()`
    /// then says whether more frames of the message follow.
    ///
    /// # Errors
    ///
    /// As [`recv_bytes`](Self::recv_bytes); `msg` is left as it was.
    pub fn recv(&self, msg: &mut Message, flags: i32) -> Result<()> {
        #[cfg_attr(loom, allow(unused_mut))]
        let mut frame = self.recv_frame(flags)?;
        #[cfg_attr(loom, allow(unused_variables))]
        let metadata = msg.fill(&frame, frame.more());
        #[cfg(not(loom))]
        frame.properties_into(metadata);
        Ok(())
    }

    /// Receives one frame as a new [`Message`].
    ///
    /// # Errors
    ///
    /// As [`recv_bytes`](Self::recv_bytes).
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        let mut msg = Message::new();
        self.recv(&mut msg, flags)?;
        Ok(msg)
    }

    /// Receives one frame as text; a frame that is not UTF-8 comes back
    /// whole as the inner `Err`.
    ///
    /// # Errors
    ///
    /// As [`recv_bytes`](Self::recv_bytes).
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        let bytes = self.recv_bytes(flags)?;
        Ok(String::from_utf8(bytes).map_err(|e| e.into_bytes()))
    }

    /// The `zmq` crate's name for [`set_routing_id`](Self::set_routing_id).
    ///
    /// # Errors
    ///
    /// As [`set_routing_id`](Self::set_routing_id).
    pub fn set_identity(&self, id: &[u8]) -> Result<()> {
        self.set_routing_id(id)
    }

    /// The `zmq` crate's name for [`get_routing_id`](Self::get_routing_id).
    ///
    /// # Errors
    ///
    /// As [`get_routing_id`](Self::get_routing_id).
    pub fn get_identity(&self) -> Result<Vec<u8>> {
        self.get_routing_id()
    }

    is_alias! {
        is_ipv6 => get_ipv6,
        is_immediate => get_immediate,
        is_plain_server => get_plain_server,
        is_conflate => get_conflate,
        is_probe_router => get_probe_router,
        is_router_mandatory => get_router_mandatory,
        is_router_handover => get_router_handover,
    }

    stored_option!(rate, i32, set_rate, get_rate, "ZMQ_RATE");
    stored_option!(
        recovery_ivl,
        i32,
        set_recovery_ivl,
        get_recovery_ivl,
        "ZMQ_RECOVERY_IVL"
    );
    stored_option!(
        multicast_hops,
        i32,
        set_multicast_hops,
        get_multicast_hops,
        "ZMQ_MULTICAST_HOPS"
    );

    /// The readiness descriptor (`ZMQ_FD`), as
    /// [`readiness_fd`](Self::readiness_fd).
    ///
    /// # Errors
    ///
    /// As [`readiness_fd`](Self::readiness_fd).
    #[cfg(not(loom))]
    pub fn get_fd(&self) -> Result<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        Ok(self.readiness_fd()?.as_raw_fd())
    }

    /// Waits up to `timeout_ms` (-1: no limit) for `events` on this socket
    /// alone; returns 1 if some came, else 0.
    ///
    /// # Errors
    ///
    /// As [`poll`](crate::poll).
    #[cfg(not(loom))]
    pub fn poll(&self, events: PollEvents, timeout_ms: i64) -> Result<i32> {
        crate::poll(&mut [self.as_poll_item(events)], timeout_ms)
    }
}

/// Sockets given away by [`Socket::into_raw`], by handle, until
/// [`Socket::from_raw`] takes them back.
static RAW: std::sync::Mutex<Vec<(usize, Socket)>> = std::sync::Mutex::new(Vec::new());

impl Socket {
    /// An opaque handle for this socket, the one [`into_raw`](Self::into_raw)
    /// returns (the `zmq` crate's; not a libzmq socket: C code cannot use it).
    pub fn as_mut_ptr(&mut self) -> *mut std::ffi::c_void {
        std::sync::Arc::as_ptr(self.shared()).cast_mut().cast()
    }

    /// Gives the socket up for an opaque handle; [`from_raw`](Self::from_raw)
    /// takes it back (until then the socket stays open).
    pub fn into_raw(mut self) -> *mut std::ffi::c_void {
        let handle = self.as_mut_ptr();
        RAW.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((handle as usize, self));
        handle
    }

    /// The socket [`into_raw`](Self::into_raw) gave up for `handle`.
    ///
    /// # Safety
    ///
    /// `handle` must come from `into_raw` and not have been taken back yet,
    /// as with the `zmq` crate. zeroring checks it: any other handle aborts
    /// the process with a message, rather than making a socket of nothing.
    pub unsafe fn from_raw(handle: *mut std::ffi::c_void) -> Socket {
        let mut raw = RAW.lock().unwrap_or_else(|e| e.into_inner());
        match raw.iter().position(|(h, _)| *h == handle as usize) {
            Some(i) => raw.swap_remove(i).1,
            None => {
                eprintln!("zeroring: Socket::from_raw of a handle into_raw did not give");
                std::process::abort()
            }
        }
    }
}
