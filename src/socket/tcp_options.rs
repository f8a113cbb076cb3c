//! tcp-only options, with libzmq's names, ranges and defaults. Like every
//! tcp option they apply to the `bind` and `connect` calls made after.

use super::Socket;
use crate::error::{Error, Result};

impl Socket {
    /// `ZMQ_IPV6` (default off): with it, `tcp://*:port` binds the IPv6
    /// wildcard, which takes IPv4 peers too (dual stack), IPv6 addresses
    /// (`tcp://[::1]:port`) are accepted, and host names may resolve to
    /// IPv6. Without it only IPv4 is used, as in libzmq.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_ipv6(&self, on: bool) -> Result<()> {
        self.core()?.opts.ipv6 = on;
        Ok(())
    }

    /// The current `ZMQ_IPV6` option.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_ipv6(&self) -> Result<bool> {
        Ok(self.core()?.opts.ipv6)
    }

    int_option!(
        /// `ZMQ_CONNECT_TIMEOUT` in milliseconds (default 0: as long as the
        /// OS tries): a tcp connect attempt not complete by then is given up
        /// and retried after RECONNECT_IVL.
        connect_timeout, set_connect_timeout, get_connect_timeout, 0
    );
    int_option!(
        /// `ZMQ_HANDSHAKE_IVL` in milliseconds (default 30000, 0 for none): a
        /// tcp connection whose ZMTP handshake is not done by then is closed
        /// (and a connecter's retried).
        handshake_ivl, set_handshake_ivl, get_handshake_ivl, 0
    );
    int_option!(
        /// `ZMQ_TCP_KEEPALIVE_IDLE` in seconds (default -1: the OS's): how
        /// long a connection is quiet before keepalive probes start.
        tcp_keepalive_idle, set_tcp_keepalive_idle, get_tcp_keepalive_idle, -1
    );
    int_option!(
        /// `ZMQ_TCP_KEEPALIVE_CNT` (default -1: the OS's): unanswered
        /// keepalive probes before the connection is dropped.
        tcp_keepalive_cnt, set_tcp_keepalive_cnt, get_tcp_keepalive_cnt, -1
    );
    int_option!(
        /// `ZMQ_TCP_KEEPALIVE_INTVL` in seconds (default -1: the OS's): the
        /// time between keepalive probes.
        tcp_keepalive_intvl, set_tcp_keepalive_intvl, get_tcp_keepalive_intvl, -1
    );

    /// `ZMQ_TCP_KEEPALIVE`: 1 turns TCP keepalive on for this socket's
    /// connections (then the `_IDLE`, `_CNT` and `_INTVL` options apply),
    /// 0 off, -1 (the default) leaves the OS's setting.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a value other than -1, 0 or 1;
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_tcp_keepalive(&self, value: i32) -> Result<()> {
        if !(-1..=1).contains(&value) {
            return Err(Error::InvalidArgument("tcp_keepalive is -1, 0 or 1"));
        }
        self.core()?.opts.tcp_keepalive = value;
        Ok(())
    }

    /// The current `ZMQ_TCP_KEEPALIVE` option.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_tcp_keepalive(&self) -> Result<i32> {
        Ok(self.core()?.opts.tcp_keepalive)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, SocketType};

    #[test]
    fn defaults_and_ranges_are_libzmqs() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Pull).unwrap();
        assert!(!s.get_ipv6().unwrap());
        assert_eq!(s.get_connect_timeout().unwrap(), 0);
        assert_eq!(s.get_handshake_ivl().unwrap(), 30_000);
        assert_eq!(s.get_tcp_keepalive().unwrap(), -1);
        assert_eq!(s.get_tcp_keepalive_idle().unwrap(), -1);
        assert_eq!(s.get_tcp_keepalive_cnt().unwrap(), -1);
        assert_eq!(s.get_tcp_keepalive_intvl().unwrap(), -1);

        s.set_ipv6(true).unwrap();
        assert!(s.get_ipv6().unwrap());
        s.set_tcp_keepalive(1).unwrap();
        assert_eq!(s.get_tcp_keepalive().unwrap(), 1);
        assert!(s.set_tcp_keepalive(2).is_err());
        assert!(s.set_tcp_keepalive(-2).is_err());
        assert!(s.set_connect_timeout(-1).is_err());
        assert!(s.set_handshake_ivl(-1).is_err());
        assert!(s.set_tcp_keepalive_idle(-2).is_err());
        s.set_tcp_keepalive_intvl(5).unwrap();
        assert_eq!(s.get_tcp_keepalive_intvl().unwrap(), 5);
    }
}
