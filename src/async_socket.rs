//! Async sockets: `send(..).await`, `recv().await`, a [`Stream`] of
//! messages and a [`Sink`] for them (feature `async`, alias `tokio`).
//!
//! A task that must wait registers its `Waker` on the socket's doorbell in
//! notify mode; the peer that publishes (or makes room) wakes it directly,
//! with no system call when both run on one thread. Nothing spins and no
//! runtime-specific reactor is involved, so the sockets work on tokio (any
//! flavour), async-std, smol or a hand-written executor alike.
//!
//! An operation takes a message from a pipe only in the poll that returns
//! it, and a send puts a whole message in or nothing, so every future here
//! is cancellation-safe: dropping it (a `select!` branch that lost, a
//! timeout) loses no message.
//!
//! ```
//! use zeroring::{AsyncSocket, Context, SocketType};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let ctx = Context::new();
//! let mut rep = AsyncSocket::new(ctx.socket(SocketType::Rep)?)?;
//! rep.get_ref().bind("inproc://doc-async")?;
//! let mut req = AsyncSocket::new(ctx.socket(SocketType::Req)?)?;
//! req.get_ref().connect("inproc://doc-async")?;
//!
//! let server = tokio::spawn(async move {
//!     let question = rep.recv().await?;
//!     rep.send([b"re: ".as_slice(), &question].concat()).await
//! });
//! req.send("hello").await?;
//! assert_eq!(req.recv().await?, b"re: hello");
//! server.await.unwrap()?;
//! # Ok::<(), zeroring::Error>(())
//! # }).unwrap();
//! ```

use crate::error::{Error, Result};
use crate::Socket;
use futures_core::Stream;
use futures_sink::Sink;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A [`Socket`] driven by async tasks. Operations take `&mut self`, so one
/// runs at a time and the futures are `Send`: spawn the task that owns the
/// socket on any runtime thread. Options, bind and connect are on the
/// inner socket ([`get_ref`](Self::get_ref)).
///
/// As a [`Stream`] it yields whole messages (ending when the context is
/// shut down); as a [`Sink`] it takes whole messages, holding at most one
/// until the socket can take it.
#[derive(Debug)]
pub struct AsyncSocket {
    socket: Socket,
    /// A message the [`Sink`] accepted and has not yet sent.
    pending: Option<Vec<Vec<u8>>>,
}

impl AsyncSocket {
    /// Wraps `socket`. From now on it also rings its peers with full
    /// fences (a few nanoseconds a message), so that a peer waiting in a
    /// task needs no `membarrier` before it sleeps.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn new(socket: Socket) -> Result<Self> {
        socket.make_strong()?;
        Ok(Self {
            socket,
            pending: None,
        })
    }

    /// The socket, for options, bind, connect, [`get_events`](Socket::get_events).
    pub fn get_ref(&self) -> &Socket {
        &self.socket
    }

    /// The socket back, for blocking use.
    pub fn into_inner(self) -> Socket {
        self.socket
    }

    /// Sends a one-frame message, waiting for room as
    /// [`Socket::send`] blocks. Dropped before it completes, it sent nothing.
    ///
    /// # Errors
    ///
    /// Those of [`Socket::send_multipart`] other than waiting's (the future
    /// waits instead: no [`Error::WouldBlock`], [`Error::TimedOut`] or
    /// [`Error::Interrupted`]): [`Error::MessageTooLarge`],
    /// [`Error::NotSupported`], [`Error::WrongState`],
    /// [`Error::HostUnreachable`], [`Error::Terminated`],
    /// [`Error::IoThreadDied`].
    pub async fn send<T: AsRef<[u8]>>(&mut self, data: T) -> Result<()> {
        self.send_multipart([data]).await
    }

    /// Sends a whole message, all frames or none, waiting for room as
    /// [`Socket::send_multipart`] blocks. Dropped before it completes, it
    /// sent nothing.
    ///
    /// # Errors
    ///
    /// Those of [`Socket::send_multipart`] other than waiting's (the future
    /// waits instead: no [`Error::WouldBlock`], [`Error::TimedOut`] or
    /// [`Error::Interrupted`]): [`Error::MessageTooLarge`],
    /// [`Error::NotSupported`], [`Error::WrongState`],
    /// [`Error::HostUnreachable`], [`Error::Terminated`],
    /// [`Error::IoThreadDied`].
    pub async fn send_multipart<I, T>(&mut self, frames: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let frames: Vec<T> = frames.into_iter().collect();
        let this = &mut *self;
        poll_fn(move |cx| {
            std::task::ready!(this.poll_flush_pending(cx))?;
            this.socket.poll_send_multipart(cx, &frames)
        })
        .await
    }

    /// Receives one frame (the next of a multipart message if one is under
    /// way: see [`Socket::get_rcvmore`]), waiting as [`Socket::recv_bytes`]
    /// blocks. Dropped before it completes, it took nothing.
    ///
    /// # Errors
    ///
    /// Those of [`Socket::recv_multipart`] other than waiting's (the future
    /// waits instead): [`Error::NotSupported`], [`Error::WrongState`],
    /// [`Error::Terminated`], [`Error::IoThreadDied`].
    pub async fn recv(&mut self) -> Result<Vec<u8>> {
        // A `&mut` moved in: a closure borrowing the field would hold a
        // `&Socket`, which is not `Send` (a socket is not `Sync`).
        let socket = &mut self.socket;
        poll_fn(move |cx| socket.poll_recv_bytes(cx)).await
    }

    /// Receives a whole message (or the rest of one under way), waiting as
    /// [`Socket::recv_multipart`] blocks. Dropped before it completes, it
    /// took nothing.
    ///
    /// # Errors
    ///
    /// Those of [`Socket::recv_multipart`] other than waiting's (the future
    /// waits instead): [`Error::NotSupported`], [`Error::WrongState`],
    /// [`Error::Terminated`], [`Error::IoThreadDied`].
    pub async fn recv_multipart(&mut self) -> Result<Vec<Vec<u8>>> {
        let socket = &mut self.socket;
        poll_fn(move |cx| socket.poll_recv_multipart(cx)).await
    }

    /// Sends the message the sink holds, if any.
    fn poll_flush_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let Some(msg) = &self.pending else {
            return Poll::Ready(Ok(()));
        };
        let sent = std::task::ready!(self.socket.poll_send_multipart(cx, msg));
        // Sent, or refused (too large, no route, shut down): either way it
        // leaves the sink, as the message of a failed `send` would.
        self.pending = None;
        Poll::Ready(sent)
    }
}

impl Stream for AsyncSocket {
    type Item = Result<Vec<Vec<u8>>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().socket.poll_recv_multipart(cx) {
            Poll::Ready(Err(Error::Terminated)) => Poll::Ready(None),
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Sink<Vec<Vec<u8>>> for AsyncSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_flush_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: Vec<Vec<u8>>) -> Result<()> {
        let this = self.get_mut();
        if this.pending.is_some() {
            // poll_ready was not called, or did not say ready.
            return Err(Error::WrongState);
        }
        this.pending = Some(msg);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_flush_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_flush_pending(cx)
    }
}
