//! Socket patterns, composed from small building blocks as libzmq composes
//! them: [`LoadBalance`] for outbound round-robin, [`FairQueue`] for inbound.
//! Patterns see only [`Pipe`]s, never a transport.

mod fq;
mod lb;

pub(crate) use fq::FairQueue;
pub(crate) use lb::LoadBalance;

use crate::pipe::PipeEnd;
use crate::SocketType;
use std::sync::Arc;

/// A pipe as a socket's pattern sees it.
pub(crate) struct Pipe {
    pub end: PipeEnd,
    /// The endpoint that made it: unbind and disconnect close by endpoint.
    pub endpoint: Arc<str>,
    /// The peer broke the ring; drop the pipe at the next message boundary.
    pub broken: bool,
}

impl Pipe {
    /// Nothing more will ever come out of, or go into, this pipe.
    pub fn finished(&mut self) -> bool {
        self.broken || (self.end.peer_closed() && !self.end.readable())
    }
}

/// Which directions a socket type uses and how many peers it takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub sends: bool,
    pub receives: bool,
    /// PAIR takes a single peer; further pipes are refused.
    pub single_peer: bool,
}

impl Shape {
    /// The shape of `kind`, or `None` where the pattern is not built yet.
    pub fn of(kind: SocketType) -> Option<Shape> {
        let s = |sends, receives, single_peer| Some(Shape { sends, receives, single_peer });
        match kind {
            SocketType::Push => s(true, false, false),
            SocketType::Pull => s(false, true, false),
            SocketType::Pair => s(true, true, true),
            _ => None,
        }
    }
}
