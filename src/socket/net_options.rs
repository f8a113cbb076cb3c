//! Options libzmq sets on the kernel's sockets: SNDBUF, RCVBUF, TOS,
//! BACKLOG, TCP_MAXRT and BINDTODEVICE, with libzmq's names, ranges and
//! defaults. Each applies to the `bind` and `connect` calls made after it
//! (and to the connections those make).

use super::Socket;
use crate::error::{Error, Result};

/// The longest BINDTODEVICE value libzmq takes (its BINDDEVSIZ).
const DEVICE_MAX: usize = 16;

macro_rules! net_int_option {
    ($(#[$doc:meta])* $field:ident, $set:ident, $get:ident, $min:expr) => {
        $(#[$doc])*
        ///
        /// # Errors
        ///
        #[doc = concat!("[`Error::InvalidArgument`] below ", stringify!($min), ", as libzmq; [`Error::WrongState`] while a frame or loan of the socket is alive.")]
        pub fn $set(&self, value: i32) -> Result<()> {
            if value < $min {
                return Err(Error::InvalidArgument(concat!(stringify!($field), " out of range")));
            }
            self.core()?.opts.net.$field = value;
            Ok(())
        }
        #[doc = concat!("The current `", stringify!($field), "` option.")]
        ///
        /// # Errors
        ///
        /// [`Error::WrongState`] while a frame or loan of the socket is alive.
        pub fn $get(&self) -> Result<i32> {
            Ok(self.core()?.opts.net.$field)
        }
    };
}

impl Socket {
    net_int_option!(
        /// `ZMQ_SNDBUF` in bytes (default -1: the OS's): SO_SNDBUF of the
        /// tcp sockets made from now on, set before they listen or connect
        /// (accepted connections inherit a listener's). Linux keeps twice
        /// the value asked for. Not set on ipc sockets, as in libzmq.
        sndbuf, set_sndbuf, get_sndbuf, -1
    );
    net_int_option!(
        /// `ZMQ_RCVBUF` in bytes (default -1: the OS's): SO_RCVBUF, as
        /// [`set_sndbuf`](Self::set_sndbuf) sets SO_SNDBUF.
        rcvbuf, set_rcvbuf, get_rcvbuf, -1
    );
    net_int_option!(
        /// `ZMQ_TOS` (default 0: the OS's): IP_TOS, and IPV6_TCLASS on IPv6
        /// sockets, of tcp listeners, connecters and the connections a
        /// listener accepts.
        tos, set_tos, get_tos, 0
    );
    net_int_option!(
        /// `ZMQ_BACKLOG` (default 100): how many connections not yet
        /// accepted a tcp or ipc listener lets the kernel queue (listen(2)'s
        /// backlog; the kernel caps it at `net.core.somaxconn`).
        backlog, set_backlog, get_backlog, 0
    );
    net_int_option!(
        /// `ZMQ_TCP_MAXRT` in milliseconds (default 0: the OS's): how long
        /// data sent on a tcp connection may go unacknowledged before the
        /// kernel drops the connection (TCP_USER_TIMEOUT on Linux, as
        /// libzmq), on connections made and accepted from now on.
        maxrt, set_tcp_maxrt, get_tcp_maxrt, 0
    );

    /// `ZMQ_BINDTODEVICE`: tcp listeners and connecters made from now on
    /// take traffic only through the network interface `device` (`"lo"`,
    /// `"eth0"`: SO_BINDTODEVICE); empty for any (the default). The kernel
    /// wants CAP_NET_RAW for it: without, `bind` fails with the OS's error
    /// (EPERM), and a connecter keeps retrying, as libzmq's does.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a name over 16 bytes (libzmq's
    /// limit) or holding a NUL; [`Error::WrongState`] while a frame or loan
    /// of the socket is alive.
    pub fn set_bindtodevice(&self, device: &str) -> Result<()> {
        if device.len() > DEVICE_MAX || device.contains('\0') {
            return Err(Error::InvalidArgument(
                "a device name is at most 16 bytes, without NUL",
            ));
        }
        self.core()?.opts.net.device = device.to_owned();
        Ok(())
    }

    /// The current `ZMQ_BINDTODEVICE` (empty for none), in the `zmq`
    /// crate's shape for strings.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a frame or loan of the socket is alive.
    pub fn get_bindtodevice(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.core()?.opts.net.device.clone()))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, SocketType};

    #[test]
    fn defaults_and_ranges_are_libzmqs() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Pull).unwrap();
        assert_eq!(s.get_sndbuf().unwrap(), -1);
        assert_eq!(s.get_rcvbuf().unwrap(), -1);
        assert_eq!(s.get_tos().unwrap(), 0);
        assert_eq!(s.get_backlog().unwrap(), 100);
        assert_eq!(s.get_tcp_maxrt().unwrap(), 0);
        assert_eq!(s.get_bindtodevice().unwrap().unwrap(), "");
        assert!(s.set_sndbuf(-2).is_err());
        assert!(s.set_tos(-1).is_err());
        assert!(s.set_backlog(-1).is_err());
        assert!(s.set_tcp_maxrt(-1).is_err());
        assert!(s.set_bindtodevice("seventeen-bytes-x").is_err());
        assert!(s.set_bindtodevice("l\0o").is_err());
        s.set_tcp_maxrt(1500).unwrap();
        assert_eq!(s.get_tcp_maxrt().unwrap(), 1500);
    }
}
