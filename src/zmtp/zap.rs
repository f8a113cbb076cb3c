//! Authentication decisions, and ZAP (RFC 27) requests and replies, sans IO.
//!
//! A mechanism that must ask whether a peer may in (a PLAIN server at a
//! client's HELLO, NULL when the socket has a ZAP domain, a CURVE server at
//! INITIATE) does not decide by itself: its handshake hands the driver an
//! [`AuthRequest`] (as [`HandshakeEvent::Authenticate`]) and waits, without
//! blocking, until the driver calls [`Handshake::authenticate`] with an
//! [`AuthAnswer`]. The driver gets the answer however it likes: from a
//! closure at once, or from a ZAP handler over an inproc socket (the frames
//! are built by [`AuthRequest::to_zap_frames`] and read back by
//! [`ZapReplyReader`]), with other connections going on meanwhile.
//!
//! [`HandshakeEvent::Authenticate`]: super::HandshakeEvent::Authenticate
//! [`Handshake::authenticate`]: super::Handshake::authenticate

use super::command::Metadata;
use super::greeting::MechanismName;

/// Where a ZAP handler binds, in the context of the sockets it serves.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The ZAP version requests carry and replies must carry.
pub const ZAP_VERSION: &[u8] = b"1.0";

/// The request id a connection's request carries, as libzmq's: each
/// connection asks once, over a pipe of its own.
pub const ZAP_REQUEST_ID: &[u8] = b"1";

/// What a handshake asks its driver: may this peer in? The fields are RFC
/// 27's request, as libzmq 4.3 fills them.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The socket's ZAP domain (`ZMQ_ZAP_DOMAIN`; empty when unset).
    pub domain: String,
    /// The peer's address as libzmq writes it: the IP address for tcp
    /// (no port), `:uid:gid:pid` for ipc; empty when unknown.
    pub address: String,
    /// Our socket's routing id (`ZMQ_ROUTING_ID`; libzmq sends the local
    /// one: the peer's is not known before the handshake ends).
    pub routing_id: Vec<u8>,
    /// The mechanism asking: NULL, PLAIN or CURVE.
    pub mechanism: MechanismName,
    /// The mechanism's credentials: none for NULL, username and password
    /// for PLAIN, the client's long-term public key for CURVE.
    pub credentials: Vec<Vec<u8>>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("domain", &self.domain)
            .field("address", &self.address)
            .field("routing_id", &self.routing_id.escape_ascii().to_string())
            .field("mechanism", &self.mechanism)
            .field(
                "credentials",
                &format!("<{} hidden>", self.credentials.len()),
            )
            .finish()
    }
}

impl AuthRequest {
    /// The request's frames as a ZAP handler reads them from a REQ-like
    /// peer: an empty delimiter, then version, request id, domain, address,
    /// identity, mechanism and the credentials.
    pub fn to_zap_frames(&self) -> Vec<Vec<u8>> {
        let mut frames = vec![
            Vec::new(),
            ZAP_VERSION.to_vec(),
            ZAP_REQUEST_ID.to_vec(),
            self.domain.as_bytes().to_vec(),
            self.address.as_bytes().to_vec(),
            self.routing_id.clone(),
            self.mechanism.name().into_bytes(),
        ];
        frames.extend(self.credentials.iter().cloned());
        frames
    }
}

/// A handler's answer: its status code, and for 200 the user id and
/// metadata the connection's messages carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthReply {
    /// 200 (admitted), 300 (temporary failure: closed without an ERROR),
    /// 400 (refused: ERROR "400"), 500 (internal error: ERROR "500").
    pub status_code: u16,
    /// The handler's explanation (not sent to the peer).
    pub status_text: Vec<u8>,
    /// Who the peer is, as the handler names it: messages from the
    /// connection carry it as their "User-Id" property.
    pub user_id: Vec<u8>,
    /// Properties the handler attaches to the connection's messages.
    pub metadata: Metadata,
}

impl AuthReply {
    /// Status 200 for `user_id`, no metadata.
    pub fn ok(user_id: impl Into<Vec<u8>>) -> AuthReply {
        AuthReply {
            status_code: 200,
            status_text: b"OK".to_vec(),
            user_id: user_id.into(),
            metadata: Metadata::new(),
        }
    }

    /// A refusal with `status_code` (300, 400 or 500).
    pub fn refused(status_code: u16) -> AuthReply {
        AuthReply {
            status_code,
            status_text: Vec::new(),
            user_id: Vec::new(),
            metadata: Metadata::new(),
        }
    }
}

/// The driver's answer to an [`AuthRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthAnswer {
    /// The authenticator's or the ZAP handler's reply.
    Reply(AuthReply),
    /// There is nobody to ask: no authenticator, no ZAP handler bound. A
    /// PLAIN server then refuses (closing without an ERROR), NULL and CURVE
    /// admit unless `ZMQ_ZAP_ENFORCE_DOMAIN` is set, as in libzmq 4.3.
    NoHandler,
    /// The ZAP handler's reply broke RFC 27: the connection is closed with
    /// a protocol error, as libzmq closes it.
    Invalid(ZapError),
}

/// How a ZAP reply broke RFC 27; each is one of libzmq's
/// `ZMQ_PROTOCOL_ERROR_ZAP_*` monitor codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZapError {
    /// Not seven frames (`ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY`).
    #[error("malformed ZAP reply: not seven frames")]
    MalformedReply,
    /// The first frame is not the empty delimiter, or the handler went
    /// away without replying (`ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED`).
    #[error("ZAP reply without its delimiter, or no reply")]
    Unspecified,
    /// The version is not "1.0" (`ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION`).
    #[error("ZAP reply of another version than 1.0")]
    BadVersion,
    /// Not our request's id (`ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID`).
    #[error("ZAP reply to another request")]
    BadRequestId,
    /// Not 200, 300, 400 or 500
    /// (`ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE`).
    #[error("ZAP reply with an invalid status code")]
    InvalidStatusCode,
    /// The metadata frame does not parse
    /// (`ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA`).
    #[error("ZAP reply with malformed metadata")]
    InvalidMetadata,
}

impl ZapError {
    /// libzmq's `ZMQ_PROTOCOL_ERROR_ZAP_*` code for it.
    pub fn code(self) -> u32 {
        match self {
            ZapError::Unspecified => 0x2000_0000,
            ZapError::MalformedReply => 0x2000_0001,
            ZapError::BadRequestId => 0x2000_0002,
            ZapError::BadVersion => 0x2000_0003,
            ZapError::InvalidStatusCode => 0x2000_0004,
            ZapError::InvalidMetadata => 0x2000_0005,
        }
    }
}

/// The number of frames in a ZAP reply (delimiter included).
const REPLY_FRAMES: usize = 7;

/// Reads a ZAP reply frame by frame, as libzmq's `zap_client_t` does: the
/// first six must have MORE, the seventh must not; then each field is
/// checked.
#[derive(Debug, Default)]
pub struct ZapReplyReader {
    frames: Vec<Vec<u8>>,
    done: bool,
}

impl ZapReplyReader {
    /// A reader for one reply.
    pub fn new() -> ZapReplyReader {
        ZapReplyReader::default()
    }

    /// Takes the reply's next frame; the answer once the reply is whole or
    /// known to be malformed, `None` while more frames are due. After an
    /// answer every further frame is ignored (answers `None`).
    pub fn push(&mut self, frame: &[u8], more: bool) -> Option<AuthAnswer> {
        if self.done {
            return None;
        }
        let last = self.frames.len() + 1 == REPLY_FRAMES;
        if more == last {
            self.done = true;
            return Some(AuthAnswer::Invalid(ZapError::MalformedReply));
        }
        self.frames.push(frame.to_vec());
        if !last {
            return None;
        }
        self.done = true;
        Some(match parse_reply(std::mem::take(&mut self.frames)) {
            Ok(reply) => AuthAnswer::Reply(reply),
            Err(e) => AuthAnswer::Invalid(e),
        })
    }
}

/// Checks a whole reply's fields, in libzmq's order.
fn parse_reply(frames: Vec<Vec<u8>>) -> Result<AuthReply, ZapError> {
    let Ok([delimiter, version, id, status, text, user_id, metadata]) =
        <[Vec<u8>; REPLY_FRAMES]>::try_from(frames)
    else {
        return Err(ZapError::MalformedReply);
    };
    if !delimiter.is_empty() {
        return Err(ZapError::Unspecified);
    }
    if version != ZAP_VERSION {
        return Err(ZapError::BadVersion);
    }
    if id != ZAP_REQUEST_ID {
        return Err(ZapError::BadRequestId);
    }
    let status_code = match status.as_slice() {
        [d @ b'2'..=b'5', b'0', b'0'] => u16::from(d - b'0') * 100,
        _ => return Err(ZapError::InvalidStatusCode),
    };
    let metadata = Metadata::decode(&metadata).map_err(|_| ZapError::InvalidMetadata)?;
    Ok(AuthReply {
        status_code,
        status_text: text,
        user_id,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(frames: &[&[u8]]) -> Option<AuthAnswer> {
        let mut r = ZapReplyReader::new();
        let mut answer = None;
        for (i, f) in frames.iter().enumerate() {
            let got = r.push(f, i + 1 < frames.len());
            if got.is_some() {
                assert!(answer.is_none());
                answer = got;
            }
        }
        answer
    }

    fn md(pairs: &[(&str, &[u8])]) -> Vec<u8> {
        let mut m = Metadata::new();
        for (k, v) in pairs {
            m.push(*k, *v);
        }
        let mut out = Vec::new();
        m.encode(&mut out);
        out
    }

    #[test]
    fn request_frames_follow_rfc_27() {
        let req = AuthRequest {
            domain: "global".into(),
            address: "127.0.0.1".into(),
            routing_id: b"srv".to_vec(),
            mechanism: MechanismName::PLAIN,
            credentials: vec![b"admin".to_vec(), b"secret".to_vec()],
        };
        let frames = req.to_zap_frames();
        let want: Vec<&[u8]> = vec![
            b"",
            b"1.0",
            b"1",
            b"global",
            b"127.0.0.1",
            b"srv",
            b"PLAIN",
            b"admin",
            b"secret",
        ];
        assert_eq!(frames, want);
        assert!(!format!("{req:?}").contains("secret"));
        let null = AuthRequest {
            mechanism: MechanismName::NULL,
            credentials: Vec::new(),
            ..req
        };
        assert_eq!(null.to_zap_frames().len(), 7);
    }

    #[test]
    fn a_good_reply_gives_status_user_id_and_metadata() {
        let meta = md(&[("X-Role", b"admin"), ("Hello", b"world")]);
        let got = reply(&[b"", b"1.0", b"1", b"200", b"OK", b"alice", &meta]);
        let Some(AuthAnswer::Reply(r)) = got else {
            panic!("{got:?}");
        };
        assert_eq!(r.status_code, 200);
        assert_eq!(r.status_text, b"OK");
        assert_eq!(r.user_id, b"alice");
        assert_eq!(r.metadata.get("x-role"), Some(&b"admin"[..]));
        assert_eq!(r.metadata.get("Hello"), Some(&b"world"[..]));
        for (code, want) in [(b"300", 300), (b"400", 400), (b"500", 500)] {
            let got = reply(&[b"", b"1.0", b"1", code, b"", b"", b""]);
            assert!(
                matches!(got, Some(AuthAnswer::Reply(ref r)) if r.status_code == want),
                "{got:?}"
            );
        }
    }

    #[test]
    fn malformed_replies_get_libzmqs_codes() {
        use ZapError::*;
        let cases: Vec<(Vec<&[u8]>, ZapError)> = vec![
            (vec![b"", b"1.0", b"1", b"200", b"OK", b""], MalformedReply),
            (vec![b"x", b"1.0", b"1", b"200", b"", b"", b""], Unspecified),
            (vec![b"", b"2.0", b"1", b"200", b"", b"", b""], BadVersion),
            (vec![b"", b"1.0", b"2", b"200", b"", b"", b""], BadRequestId),
            (
                vec![b"", b"1.0", b"1", b"201", b"", b"", b""],
                InvalidStatusCode,
            ),
            (
                vec![b"", b"1.0", b"1", b"600", b"", b"", b""],
                InvalidStatusCode,
            ),
            (
                vec![b"", b"1.0", b"1", b"20", b"", b"", b""],
                InvalidStatusCode,
            ),
            (
                vec![b"", b"1.0", b"1", b"200", b"", b"", b"\x05X-Bad"],
                InvalidMetadata,
            ),
        ];
        for (frames, want) in cases {
            assert_eq!(
                reply(&frames),
                Some(AuthAnswer::Invalid(want)),
                "{frames:?}"
            );
            assert_eq!(want.code() >> 28, 2);
        }
        // Eight frames: the seventh has MORE.
        let mut r = ZapReplyReader::new();
        for f in 0..6 {
            assert_eq!(r.push(&[f], true), None);
        }
        assert_eq!(
            r.push(b"", true),
            Some(AuthAnswer::Invalid(ZapError::MalformedReply))
        );
        assert_eq!(r.push(b"", false), None, "answered once");
    }
}
