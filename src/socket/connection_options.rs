//! Options on how a socket's connections are made: USE_FD (listen on the
//! application's descriptor), AFFINITY (which I/O thread), METADATA (what
//! our handshake tells peers) and SOCKS_PROXY (refused: see
//! [`Socket::set_socks_proxy`]).

use super::Socket;
use crate::error::{Error, Result};

impl Socket {
    /// `ZMQ_USE_FD` (default -1: none): the next tcp or ipc `bind`s listen
    /// on `fd`, a socket the application has already bound and set
    /// listening, instead of making one (for socket activation by systemd,
    /// or a listener made with options zeroring lacks). The endpoint given
    /// to `bind` only names it: a tcp one's address is taken from the
    /// descriptor (see [`get_last_endpoint`](Self::get_last_endpoint)), and
    /// an ipc one's file is neither replaced nor removed, as in libzmq.
    /// zeroring listens on a duplicate of `fd` (unlike libzmq, which takes
    /// `fd` itself): `fd` stays the application's to close.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] below -1; [`Error::WrongState`] while a
    /// frame or loan of the socket is alive. A descriptor that is not a
    /// listening stream socket of the endpoint's family fails the `bind`.
    pub fn set_use_fd(&self, fd: i32) -> Result<()> {
        if fd < -1 {
            return Err(Error::InvalidArgument("use_fd is a descriptor or -1"));
        }
        self.core()?.opts.use_fd = fd;
        Ok(())
    }

    /// The current `ZMQ_USE_FD`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a frame or loan of the socket is alive.
    pub fn get_use_fd(&self) -> Result<i32> {
        Ok(self.core()?.opts.use_fd)
    }

    /// `ZMQ_AFFINITY` (default 0: any): which of the context's I/O threads
    /// (bit i for thread i, see
    /// [`Context::set_io_threads`](crate::Context::set_io_threads)) may
    /// carry this socket's tcp and ipc connections. libzmq picks a thread
    /// for each new connection; zeroring keeps all of a socket's
    /// connections on one thread, so the mask is read once, when the
    /// socket's first tcp or ipc endpoint is bound or connected, and the
    /// socket's id picks among the threads it allows. Set it before then;
    /// later it changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a frame or loan of the socket is alive.
    /// A mask naming no thread the context has fails that first `bind` or
    /// `connect` with [`Error::NoIoThread`] (EMTHREAD), as in libzmq.
    pub fn set_affinity(&self, mask: u64) -> Result<()> {
        self.core()?.opts.affinity = mask;
        Ok(())
    }

    /// The current `ZMQ_AFFINITY`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a frame or loan of the socket is alive.
    pub fn get_affinity(&self) -> Result<u64> {
        Ok(self.core()?.opts.affinity)
    }

    /// `ZMQ_METADATA`: `"X-name:value"` adds an application property to
    /// what this socket's handshakes tell tcp and ipc peers (ZMTP READY),
    /// for connections made from now on; a peer reads it with
    /// [`Message::gets`](crate::Message::gets) (or libzmq's
    /// `zmq_msg_gets`). As in libzmq a name set twice keeps its first
    /// value.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] unless the text is a name starting with
    /// `X-` (at most 255 of `A-Z a-z 0-9 - _ . +`), a colon and a value of
    /// at least one byte; [`Error::WrongState`] while a frame or loan of
    /// the socket is alive.
    pub fn set_metadata(&self, property: &str) -> Result<()> {
        const BAD: Error = Error::InvalidArgument("metadata is `X-name:value`");
        let (name, value) = property.split_once(':').ok_or(BAD)?;
        if !name.starts_with("X-")
            || !crate::zmtp::command::is_valid_property_name(name)
            || value.is_empty()
        {
            return Err(BAD);
        }
        let mut c = self.core()?;
        if !c.opts.metadata.iter().any(|(n, _)| n == name) {
            c.opts
                .metadata
                .push((name.to_owned(), value.as_bytes().to_vec()));
        }
        Ok(())
    }

    /// `ZMQ_SOCKS_PROXY` (`host:port`, with a source as for `connect`):
    /// later tcp `connect`s go through this SOCKS5 proxy, as libzmq's do
    /// (no authentication; the destination is sent as the endpoint names
    /// it, a name for the proxy to resolve). `None` or `""` clears it.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a frame or loan of the socket is alive.
    pub fn set_socks_proxy(&self, proxy: Option<&str>) -> Result<()> {
        self.core()?.opts.socks_proxy = proxy.unwrap_or_default().to_owned();
        Ok(())
    }

    /// The `ZMQ_SOCKS_PROXY` last set (empty if none).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a frame or loan of the socket is alive.
    pub fn get_socks_proxy(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.core()?.opts.socks_proxy.clone()))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, Error, SocketType};

    #[test]
    fn metadata_takes_what_libzmq_takes() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Dealer).unwrap();
        s.set_metadata("X-hello:world").unwrap();
        s.set_metadata("X-hello:again").unwrap();
        for bad in [
            "hello:world",
            "X-hello",
            "X-hello:",
            ":x",
            "X-a b:c",
            "Y-a:b",
        ] {
            assert!(
                matches!(s.set_metadata(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
        assert_eq!(
            s.core().unwrap().opts.metadata,
            vec![("X-hello".to_owned(), b"world".to_vec())]
        );
    }

    #[test]
    fn a_socks_proxy_is_kept_and_cleared() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Dealer).unwrap();
        s.set_socks_proxy(Some("127.0.0.1:1080")).unwrap();
        assert_eq!(s.get_socks_proxy().unwrap().unwrap(), "127.0.0.1:1080");
        s.connect("tcp://127.0.0.1:5555").unwrap();
        // The destination must be one a proxy can be asked for.
        assert!(matches!(
            s.connect("tcp://[::1]:99999"),
            Err(Error::InvalidEndpoint { .. })
        ));
        s.set_socks_proxy(None).unwrap();
        assert_eq!(s.get_socks_proxy().unwrap().unwrap(), "");
    }
}
