//! The thread-safe sockets' `*_async` methods (feature `async`): each the
//! blocking method of the same name, awaited instead of blocking. How a
//! task waits is told in `tasks`.

use super::tasks::Registered;
use super::{copy_into, routing_id, Handle};
use super::{Client, Dish, Gather, Radio, RoutingId, Scatter, Server};
use crate::error::{Fail, Result};
use std::future::poll_fn;

impl Handle {
    /// Receives one message through `f`, waiting for one.
    async fn recv_async<R>(&self, mut f: impl FnMut(u32, &[u8]) -> R) -> Result<R> {
        let core = &*self.core;
        let mut reg = Registered::inbox(core);
        poll_fn(|cx| core.poll_recv(cx, &mut reg, &mut f))
            .await
            .map_err(|f| f.into_error(0))
    }

    /// Sends a message of `len` bytes by `attempt`, waiting for room.
    async fn send_async(
        &self,
        len: usize,
        mut attempt: impl FnMut() -> Result<(), Fail>,
    ) -> Result<()> {
        self.check_send(len, 0)?;
        let core = &*self.core;
        let mut reg = Registered::room(core);
        poll_fn(|cx| core.poll_send(cx, &mut reg, &mut attempt))
            .await
            .map_err(|f| f.into_error(len))
    }

    /// A send to one of the peers, in turn (CLIENT, SCATTER).
    async fn send_lb_async(&self, data: &[u8]) -> Result<()> {
        let core = &*self.core;
        self.send_async(data.len(), || core.try_send_lb(data)).await
    }
}

impl Client {
    /// [`send`](Self::send), awaited: waits while no peer can take the
    /// message (none yet, or all at their high-water mark), whatever
    /// SNDTIMEO says. Any number of tasks may send on one socket at once
    /// (share it by reference or in an `Arc`); the future is `Send` when
    /// `T` is. Dropped before it completes, it sent nothing.
    ///
    /// ```
    /// use std::sync::Arc;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let ctx = zeroring::Context::new();
    /// let server = Arc::new(ctx.server()?);
    /// server.bind("inproc://ts-async-doc")?;
    /// let client = ctx.client()?;
    /// client.connect("inproc://ts-async-doc")?;
    ///
    /// let echo = tokio::spawn({
    ///     let server = server.clone();
    ///     async move {
    ///         let (peer, msg) = server.recv_from_async().await?;
    ///         server.send_to_async(peer, [b"re: ".as_slice(), &msg].concat()).await
    ///     }
    /// });
    /// client.send_async("hello").await?;
    /// assert_eq!(client.recv_bytes_async().await?, b"re: hello");
    /// echo.await.unwrap()?;
    /// # Ok::<(), zeroring::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`send`](Self::send) other than waiting's (no
    /// [`Error::WouldBlock`](crate::Error::WouldBlock) or
    /// [`Error::TimedOut`](crate::Error::TimedOut)):
    /// [`Error::MessageTooLarge`](crate::Error::MessageTooLarge) above
    /// 64 MiB, [`Error::Terminated`](crate::Error::Terminated) after the
    /// context's shutdown (also while waiting).
    pub async fn send_async<T: AsRef<[u8]>>(&self, data: T) -> Result<()> {
        self.h.send_lb_async(data.as_ref()).await
    }

    /// [`recv_bytes`](Self::recv_bytes), awaited: waits for a message,
    /// whatever RCVTIMEO says. Any number of tasks may wait on one socket
    /// at once; each message goes to one of them. Dropped before it
    /// completes, it took nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Terminated`](crate::Error::Terminated) after the context's
    /// shutdown (also while waiting).
    pub async fn recv_bytes_async(&self) -> Result<Vec<u8>> {
        self.h.recv_async(|_, data| data.to_vec()).await
    }

    /// [`recv_into`](Self::recv_into), awaited, as
    /// [`recv_bytes_async`](Self::recv_bytes_async).
    ///
    /// # Errors
    ///
    /// As [`recv_bytes_async`](Self::recv_bytes_async).
    pub async fn recv_into_async(&self, buf: &mut [u8]) -> Result<usize> {
        self.h.recv_async(|_, data| copy_into(buf, data)).await
    }
}

impl Server {
    /// [`send_to`](Self::send_to), awaited: waits while the peer's pipe is
    /// at its high-water mark, as [`Client::send_async`].
    ///
    /// # Errors
    ///
    /// [`Error::HostUnreachable`](crate::Error::HostUnreachable) when no
    /// connected peer has that routing id (also if it goes while the
    /// future waits); the others as [`Client::send_async`].
    pub async fn send_to_async<T: AsRef<[u8]>>(&self, to: RoutingId, data: T) -> Result<()> {
        let (data, core) = (data.as_ref(), &*self.h.core);
        self.h
            .send_async(data.len(), || core.try_send_to(to.get(), data))
            .await
    }

    /// [`recv_from`](Self::recv_from), awaited, as
    /// [`Client::recv_bytes_async`].
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes_async`].
    pub async fn recv_from_async(&self) -> Result<(RoutingId, Vec<u8>)> {
        self.h
            .recv_async(|id, data| (routing_id(id), data.to_vec()))
            .await
    }

    /// [`recv_from_into`](Self::recv_from_into), awaited, as
    /// [`Client::recv_bytes_async`].
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes_async`].
    pub async fn recv_from_into_async(&self, buf: &mut [u8]) -> Result<(RoutingId, usize)> {
        self.h
            .recv_async(|id, data| (routing_id(id), copy_into(buf, data)))
            .await
    }
}

impl Scatter {
    /// [`send`](Self::send), awaited, as [`Client::send_async`].
    ///
    /// # Errors
    ///
    /// As [`Client::send_async`].
    pub async fn send_async<T: AsRef<[u8]>>(&self, data: T) -> Result<()> {
        self.h.send_lb_async(data.as_ref()).await
    }
}

impl Gather {
    /// [`recv_bytes`](Self::recv_bytes), awaited, as
    /// [`Client::recv_bytes_async`].
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes_async`].
    pub async fn recv_bytes_async(&self) -> Result<Vec<u8>> {
        self.h.recv_async(|_, data| data.to_vec()).await
    }

    /// [`recv_into`](Self::recv_into), awaited, as
    /// [`Client::recv_bytes_async`].
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes_async`].
    pub async fn recv_into_async(&self, buf: &mut [u8]) -> Result<usize> {
        self.h.recv_async(|_, data| copy_into(buf, data)).await
    }
}

impl Radio {
    /// [`send`](Self::send), for symmetry with the other types' async
    /// sends: a RADIO never waits (a peer at its mark misses the message),
    /// so the future completes at its first poll.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_async<G: AsRef<[u8]>, T: AsRef<[u8]>>(
        &self,
        group: G,
        data: T,
    ) -> Result<()> {
        self.send(group, data, 0)
    }
}

impl Dish {
    /// [`recv_group`](Self::recv_group), awaited, as
    /// [`Client::recv_bytes_async`]: the next message of a joined group,
    /// `(group, data)`.
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes_async`].
    pub async fn recv_group_async(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        let core = &*self.h.core;
        loop {
            let got = self.h.recv_async(|_, m| super::of_joined_group(core, m));
            if let Some(got) = got.await? {
                return Ok(got);
            }
        }
    }
}
