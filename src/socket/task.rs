//! The socket's operations as steps of an async task: each either finishes
//! now or registers the task on the doorbell (notify mode) and returns
//! `Pending`. Nothing spins and nothing is taken from a pipe unless it is
//! returned, so a future dropped between steps loses no message.

use super::{Socket, DONTWAIT};
use crate::error::{Error, Fail, Result};
use std::task::{Context, Poll};

impl Socket {
    /// Makes this socket ring its peers with full fences, so that a peer
    /// waiting in a task skips `membarrier` when all its writers do (see
    /// [`Doorbell::sleep_until_with`](crate::pipe::Doorbell::sleep_until_with)).
    pub(crate) fn make_strong(&self) -> Result<()> {
        self.core()?.make_strong();
        Ok(())
    }

    /// Receives a whole message if one is there; else `Pending`, with the
    /// task woken when one may have come. A message is all published at
    /// once, so once its first frame is there, so are the rest.
    pub(crate) fn poll_recv_multipart(&self, cx: &mut Context<'_>) -> Poll<Result<Vec<Vec<u8>>>> {
        let mut c = self.core()?;
        let mut frames = Vec::new();
        let mut first = match c.poll_next_frame(cx) {
            Poll::Ready(Ok(frame)) => frame,
            Poll::Ready(Err(f)) => {
                c.refresh_fd();
                return Poll::Ready(Err(f.into_error(0)));
            }
            Poll::Pending => return Poll::Pending,
        };
        loop {
            frames.push(c.payload(&first).to_vec());
            c.consume(first);
            if !first.more() {
                c.refresh_fd();
                return Poll::Ready(Ok(frames));
            }
            first = match c.next_frame(DONTWAIT) {
                Ok(frame) => frame,
                Err(f) => {
                    c.refresh_fd();
                    return Poll::Ready(Err(f.into_error(0)));
                }
            };
        }
    }

    /// Sends a whole message if the socket can take it now (all frames or
    /// none); else `Pending`, with the task woken when room may have come.
    pub(crate) fn poll_send_multipart<T: AsRef<[u8]>>(
        &self,
        cx: &mut Context<'_>,
        frames: &[T],
    ) -> Poll<Result<()>> {
        let mut c = self.core()?;
        if c.sending {
            return Poll::Ready(Err(Error::WrongState));
        }
        let mut failed_len = 0;
        let sent = c.poll_op(cx, true, |c| {
            for (i, frame) in frames.iter().enumerate() {
                let frame = frame.as_ref();
                let more = i + 1 < frames.len();
                if let Err(f) = c.send_frame(frame, more, DONTWAIT) {
                    c.abort_message();
                    failed_len = frame.len();
                    return Err(f);
                }
            }
            Ok(())
        });
        if sent.is_ready() {
            c.refresh_fd();
        }
        sent.map_err(|f: Fail| f.into_error(failed_len))
    }
}

impl Socket {
    /// Receives one frame if one is there; else `Pending` (see
    /// [`poll_recv_multipart`](Self::poll_recv_multipart)).
    pub(crate) fn poll_recv_bytes(&self, cx: &mut Context<'_>) -> Poll<Result<Vec<u8>>> {
        let mut c = self.core()?;
        let frame = match c.poll_next_frame(cx) {
            Poll::Ready(Ok(frame)) => frame,
            Poll::Ready(Err(f)) => {
                c.refresh_fd();
                return Poll::Ready(Err(f.into_error(0)));
            }
            Poll::Pending => return Poll::Pending,
        };
        let data = c.payload(&frame).to_vec();
        c.consume(frame);
        c.refresh_fd();
        Poll::Ready(Ok(data))
    }
}
