//! `Message`: an owned frame and its more-flag, as the `zmq` crate's.

use std::ops::{Deref, DerefMut};

/// The properties of the connection a message came on.
#[cfg(not(loom))]
pub(crate) type Metadata = Option<crate::Properties>;
#[cfg(loom)]
pub(crate) type Metadata = ();

/// One frame, owned, as the `zmq` crate's `Message`: derefs to `[u8]`, and
/// after [`Socket::recv`](crate::Socket::recv) says whether more frames of
/// the message follow ([`get_more`](Self::get_more)) and what its
/// connection's properties are ([`gets`](Self::gets)). Equality and hashing
/// look at the bytes and the more-flag only.
#[derive(Clone, Default)]
pub struct Message {
    data: Vec<u8>,
    more: bool,
    /// Shared by every message of one connection.
    metadata: Metadata,
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self.data == other.data && self.more == other.more
    }
}

impl Eq for Message {}

impl std::hash::Hash for Message {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.data.hash(state);
        self.more.hash(state);
    }
}

impl Message {
    /// An empty message.
    pub fn new() -> Message {
        Message::default()
    }

    /// A message of `len` zero bytes.
    pub fn with_size(len: usize) -> Message {
        Message::from(vec![0; len])
    }

    /// As [`with_size`](Self::with_size) (the `zmq` crate's older name).
    pub fn with_capacity(len: usize) -> Message {
        Message::with_size(len)
    }

    /// A message holding a copy of `data`.
    pub fn from_slice(data: &[u8]) -> Message {
        Message::from(data)
    }

    /// The bytes as text, if they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }

    /// Whether more frames of the message follow this one (`ZMQ_MORE`).
    pub fn get_more(&self) -> bool {
        self.more
    }

    /// A property of the connection a received message came on, as
    /// libzmq's `zmq_msg_gets`: over tcp and ipc, `"Socket-Type"` (the
    /// peer's), `"Identity"` when the peer announced one (REQ, DEALER and
    /// ROUTER peers do, perhaps empty), the `X-` properties the peer set
    /// (`ZMQ_METADATA`), `"Peer-Address"` (the peer's IP; over ipc
    /// `localhost:uid:gid:pid`), and on a PLAIN server `"User-Id"`, the
    /// username its authenticator let in. Names match exactly, as in
    /// libzmq. `None` for a property the connection lacks, a value that is
    /// not UTF-8 (as the `zmq` crate's), a message from an inproc peer, or
    /// one not received. A connecter that reconnected gives the new
    /// connection's properties for messages the old one left unread.
    pub fn gets<'a>(&'a mut self, property: &str) -> Option<&'a str> {
        #[cfg(not(loom))]
        {
            let value = self.metadata.as_ref()?.get(property)?;
            std::str::from_utf8(value).ok()
        }
        #[cfg(loom)]
        {
            let _ = property;
            None
        }
    }

    /// The bytes, without a copy.
    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }

    /// Fills the message with a received frame, keeping its buffer; its
    /// properties are for the caller to set in the place this returns.
    pub(crate) fn fill(&mut self, data: &[u8], more: bool) -> &mut Metadata {
        self.data.clear();
        self.data.extend_from_slice(data);
        self.more = more;
        &mut self.metadata
    }
}

/// The bytes, as the `zmq` crate's.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", &self.data)
    }
}

impl Deref for Message {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl DerefMut for Message {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message {
            data,
            more: false,
            metadata: Default::default(),
        }
    }
}

impl From<Box<[u8]>> for Message {
    fn from(data: Box<[u8]>) -> Self {
        Message::from(data.into_vec())
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Self {
        Message::from(data.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Message {
    fn from(data: &[u8; N]) -> Self {
        Message::from(&data[..])
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::from(text.as_bytes())
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::from(text.into_bytes())
    }
}

/// A copy of what `v` would make, as the `zmq` crate's.
impl<T: Into<Message> + Clone> From<&T> for Message {
    fn from(v: &T) -> Self {
        v.clone().into()
    }
}

impl From<Message> for Vec<u8> {
    fn from(msg: Message) -> Self {
        msg.data
    }
}
