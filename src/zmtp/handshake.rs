//! One connection's handshake: greeting exchange, then the security
//! mechanism, ending in READY or in failure.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::command::{
    is_valid_property_name, split_name, Command, Metadata, IDENTITY, MAX_PROPERTY_VALUE,
    SOCKET_TYPE,
};
use super::curve::{MessageCipher, MESSAGE_OVERHEAD};
use super::error::{escape, ZmtpError};
use super::frame::{FrameDecoder, FrameKind};
use super::greeting::{
    Greeting, GreetingDecoder, GREETING_LEN, PARTIAL_GREETING_LEN, SIGNATURE_LEN,
};
use super::heartbeat::HeartbeatConfig;
use super::mechanism::{reject, Local, Machine, MechanismConfig, PeerInfo, Progress};
use super::session::Session;
use super::socket_type::announces_identity;
use super::zap::{AuthAnswer, AuthReply, AuthRequest};
use crate::SocketType;

/// The largest command a peer may send before the handshake is done
/// (unless our own READY/INITIATE is larger: a peer configured as we are
/// always fits). NULL and PLAIN need far less: a PLAIN HELLO is at most
/// 2 + 255 + 255 octets, and libzmq's READY carries a socket type, an
/// identity of at most 255 octets and the application's few properties.
/// A larger command is refused at its header, so an unauthenticated peer
/// makes us hold at most this much.
pub const HANDSHAKE_COMMAND_MAX: u64 = 8 * 1024;

/// How we present ourselves on one connection.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// Our socket type, announced as Socket-Type and checked against the
    /// peer's.
    pub socket_type: SocketType,
    /// Our routing id (ROUTING_ID, 0-255 octets), announced as Identity by
    /// REQ, DEALER and ROUTER sockets as libzmq does; empty when unset.
    pub routing_id: Vec<u8>,
    /// Security mechanism and role; the role gives the as-server flag.
    pub mechanism: MechanismConfig,
    /// The largest frame we accept (MAXMSGSIZE); `None` for no limit (-1).
    pub max_frame_size: Option<u64>,
    /// Application properties to announce after Socket-Type and Identity.
    /// Names start with `X-` (RFC 37 reserves those for applications).
    pub properties: Vec<(String, Vec<u8>)>,
    /// Heartbeats once the handshake is done.
    pub heartbeat: HeartbeatConfig,
    /// The peer's address, for a PLAIN server's authenticator; `None` when
    /// the transport has none to give.
    pub peer_address: Option<SocketAddr>,
    /// The peer's address as an [`AuthRequest`] gives it (libzmq's form:
    /// the IP address for tcp, `:uid:gid:pid` for ipc); when empty, the IP
    /// of `peer_address`, if any.
    pub zap_address: String,
    /// `ZMQ_ZAP_DOMAIN`: carried by authentication requests; with NULL
    /// security, setting one makes the handshake ask about the peer.
    pub zap_domain: String,
    /// `ZMQ_ZAP_ENFORCE_DOMAIN`: with NULL (or CURVE) security, a peer is
    /// refused when there is nobody to ask about it (a PLAIN server always
    /// refuses then).
    pub zap_enforce_domain: bool,
}

impl HandshakeConfig {
    /// NULL security, no routing id, no frame limit, no extra properties,
    /// no heartbeats, no peer address, no ZAP domain.
    pub fn new(socket_type: SocketType) -> HandshakeConfig {
        HandshakeConfig {
            socket_type,
            routing_id: Vec::new(),
            mechanism: MechanismConfig::Null,
            max_frame_size: None,
            properties: Vec::new(),
            heartbeat: HeartbeatConfig::default(),
            peer_address: None,
            zap_address: String::new(),
            zap_domain: String::new(),
            zap_enforce_domain: false,
        }
    }

    /// The as-server flag our greeting carries.
    pub fn as_server(&self) -> bool {
        self.mechanism.as_server()
    }

    /// The metadata our READY or INITIATE carries, once the configuration
    /// has been checked to fit the wire.
    fn local_metadata(&self) -> Result<Metadata, ZmtpError> {
        self.mechanism.validate()?;
        if self.routing_id.len() > 255 {
            return Err(ZmtpError::InvalidConfig(
                "routing id longer than 255 octets",
            ));
        }
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, self.socket_type.name());
        if announces_identity(self.socket_type) {
            md.push(IDENTITY, self.routing_id.clone());
        }
        for (name, value) in &self.properties {
            let x_prefixed = name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("X-"));
            if !x_prefixed || !is_valid_property_name(name) {
                return Err(ZmtpError::InvalidConfig(
                    "application property names are X- and 1-255 of A-Z a-z 0-9 - _ . +",
                ));
            }
            if value.len() > MAX_PROPERTY_VALUE {
                return Err(ZmtpError::InvalidConfig(
                    "property values are at most 2^31-1 octets",
                ));
            }
            md.push(name.clone(), value.clone());
        }
        Ok(md)
    }
}

/// What a [`Handshake`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeEvent {
    /// The handshake succeeded: turn the handshake into a [`Session`] with
    /// [`Handshake::into_session`].
    Ready {
        /// The peer's socket type (compatible with ours).
        peer_socket_type: SocketType,
        /// The peer's Identity property, if it sent one.
        peer_routing_id: Option<Vec<u8>>,
        /// Every property the peer sent.
        peer_properties: Metadata,
        /// The ZMTP 3 minor version both sides speak: 0 with a 3.0 peer,
        /// otherwise 1.
        minor_version: u8,
        /// CURVE only: the peer's long-term public key, which the handshake
        /// proved it holds the secret of (a client's key, for a server; the
        /// server's, for a client).
        peer_curve_key: Option<[u8; 32]>,
        /// The authenticator's or ZAP handler's reply (status 200), when
        /// one was asked: its user id is the "User-Id" of the connection's
        /// messages, its metadata their further properties.
        auth: Option<AuthReply>,
    },
    /// The mechanism asks whether the peer may in. The handshake takes
    /// nothing more until the driver answers with
    /// [`Handshake::authenticate`] (from a ZAP handler, or at once); the
    /// driver bounds the wait (libzmq's HANDSHAKE_IVL).
    Authenticate(AuthRequest),
    /// The handshake failed; close the connection after flushing what
    /// [`Handshake::poll_transmit`] still holds (maybe an ERROR command).
    Failed(ZmtpError),
}

enum State {
    Greeting,
    Mechanism(Machine),
    Ready,
    Failed(ZmtpError),
}

/// The handshake of one connection, as a state machine fed with octets.
///
/// ```
/// use zeroring::zmtp::{Handshake, HandshakeConfig, HandshakeEvent};
/// use zeroring::SocketType;
///
/// let mut a = Handshake::new(HandshakeConfig::new(SocketType::Push))?;
/// let mut b = Handshake::new(HandshakeConfig::new(SocketType::Pull))?;
/// while !(a.is_ready() && b.is_ready()) {
///     if let Some(bytes) = a.poll_transmit() { b.feed(&bytes)?; }
///     if let Some(bytes) = b.poll_transmit() { a.feed(&bytes)?; }
/// }
/// assert!(matches!(
///     a.poll_event(),
///     Some(HandshakeEvent::Ready { peer_socket_type: SocketType::Pull, minor_version: 1, .. })
/// ));
/// # Ok::<(), zeroring::zmtp::ZmtpError>(())
/// ```
pub struct Handshake {
    config: HandshakeConfig,
    local: Local,
    greeting: GreetingDecoder,
    peer_greeting: Option<Greeting>,
    /// Our greeting, and how much of it is queued: it goes out as libzmq's
    /// does, in three steps (see [`new`](Self::new)).
    ours: [u8; GREETING_LEN],
    ours_queued: usize,
    /// Handshake commands: at most [`HANDSHAKE_COMMAND_MAX`] (or
    /// MAXMSGSIZE, if lower).
    decoder: FrameDecoder,
    state: State,
    out: Vec<u8>,
    events: VecDeque<HandshakeEvent>,
    /// Octets that arrived after the peer's READY; they belong to the session.
    leftover: Vec<u8>,
    /// CURVE: the session's MESSAGE cipher, once the handshake is done.
    cipher: Option<MessageCipher>,
    /// A [`HandshakeEvent::Authenticate`] awaits its answer.
    awaiting_auth: bool,
    /// The 200 reply, for the Ready event.
    auth: Option<AuthReply>,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Greeting => "greeting",
            State::Mechanism(_) if self.awaiting_auth => "authenticating",
            State::Mechanism(_) => "mechanism",
            State::Ready => "ready",
            State::Failed(_) => "failed",
        };
        f.debug_struct("Handshake")
            .field("config", &self.config)
            .field("state", &state)
            .field("peer_greeting", &self.peer_greeting)
            .finish_non_exhaustive()
    }
}

impl Handshake {
    /// Starts a handshake. Our greeting goes out as libzmq's engine sends
    /// it: the 10-octet signature at once, the major version once the
    /// peer's signature is in, the rest once its major version is (the
    /// exchange by which ZMTP tells its versions apart, which libzmq's own
    /// tests and raw STREAM peers read step by step). Fails when the
    /// configuration does not fit the wire.
    pub fn new(config: HandshakeConfig) -> Result<Handshake, ZmtpError> {
        let local = Local {
            socket_type: config.socket_type,
            metadata: config.local_metadata()?,
        };
        let greeting = Greeting::new(config.mechanism.name(), config.as_server());
        // Our INITIATE (the larger of READY and INITIATE) with its name.
        let mut ours = Command::Initiate(local.metadata.clone()).body_len() as u64;
        if config.mechanism.name() == super::greeting::MechanismName::CURVE {
            // CURVE's INITIATE adds its cookie, nonce and boxes.
            ours += 257;
        }
        let cap = HANDSHAKE_COMMAND_MAX.max(ours);
        let mut ours = greeting.encode();
        // The padding as libzmq fills it: the length of the identity
        // message a ZMTP 1.0 peer would read (the routing id's, plus one).
        ours[1..9].copy_from_slice(&(config.routing_id.len() as u64 + 1).to_be_bytes());
        Ok(Handshake {
            decoder: FrameDecoder::new(Some(config.max_frame_size.map_or(cap, |m| m.min(cap)))),
            config,
            local,
            greeting: GreetingDecoder::new(),
            peer_greeting: None,
            ours,
            ours_queued: SIGNATURE_LEN,
            state: State::Greeting,
            out: ours[..SIGNATURE_LEN].to_vec(),
            events: VecDeque::new(),
            leftover: Vec::new(),
            cipher: None,
            awaiting_auth: false,
            auth: None,
        })
    }

    /// The configuration the handshake runs with.
    pub fn config(&self) -> &HandshakeConfig {
        &self.config
    }

    /// The peer's greeting, once it has arrived.
    pub fn peer_greeting(&self) -> Option<&Greeting> {
        self.peer_greeting.as_ref()
    }

    /// Whether the handshake succeeded.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready)
    }

    /// The error the handshake failed with, if it did.
    pub fn error(&self) -> Option<&ZmtpError> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Takes octets that arrived from the peer. Octets after the peer's
    /// READY are kept for the session. Returns the error if the handshake
    /// failed, now or before (it is also reported once as an event).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), ZmtpError> {
        match &self.state {
            State::Failed(e) => return Err(e.clone()),
            State::Ready => {
                self.leftover.extend_from_slice(bytes);
                return Ok(());
            }
            _ => {}
        }
        self.process(bytes).map_err(|e| self.fail(e))
    }

    fn fail(&mut self, e: ZmtpError) -> ZmtpError {
        self.state = State::Failed(e.clone());
        self.events.push_back(HandshakeEvent::Failed(e.clone()));
        e
    }

    fn process(&mut self, mut bytes: &[u8]) -> Result<(), ZmtpError> {
        if matches!(self.state, State::Greeting) {
            let (n, greeting) = self.greeting.decode(bytes)?;
            bytes = &bytes[n..];
            self.queue_greeting();
            let Some(greeting) = greeting else {
                return Ok(());
            };
            self.on_greeting(greeting)?;
        }
        while !bytes.is_empty() {
            let State::Mechanism(machine) = &mut self.state else {
                // Ready: what follows READY is traffic.
                self.leftover.extend_from_slice(bytes);
                return Ok(());
            };
            let limit = self.config.max_frame_size;
            let (n, frame) = self.decoder.decode(bytes).map_err(|e| match e {
                ZmtpError::FrameTooLarge { size, max } if limit.map_or(true, |l| max < l) => {
                    ZmtpError::HandshakeCommandTooLarge { size, max }
                }
                e => e,
            })?;
            bytes = &bytes[n..];
            let Some(frame) = frame else {
                break;
            };
            if frame.kind != FrameKind::Command {
                return Err(ZmtpError::UnexpectedCommand {
                    expected: "a command",
                    got: "message frame".into(),
                });
            }
            // The name first: metadata is parsed only when the mechanism
            // is waiting for it.
            let (name, _) = split_name(&frame.body)?;
            let expected = machine.expecting();
            if name != b"ERROR" && name != expected.as_bytes() {
                return Err(ZmtpError::UnexpectedCommand {
                    expected,
                    got: escape(name),
                });
            }
            let progress = machine.on_command(&self.local, &frame.body, &mut self.out)?;
            self.on_progress(progress)?;
        }
        Ok(())
    }

    /// Acts on what the mechanism said.
    fn on_progress(&mut self, progress: Progress) -> Result<(), ZmtpError> {
        match progress {
            Progress::Continue => Ok(()),
            Progress::Done(peer) => {
                self.on_ready(peer);
                Ok(())
            }
            Progress::Authenticate(credentials) => self.ask(credentials),
        }
    }

    /// The request for `credentials`: answered at once by the
    /// configuration's authenticator if it has one, else by the driver.
    fn ask(&mut self, credentials: Vec<Vec<u8>>) -> Result<(), ZmtpError> {
        let address = match (&self.config.zap_address, self.config.peer_address) {
            (a, Some(peer)) if a.is_empty() => peer.ip().to_string(),
            (a, _) => a.clone(),
        };
        let request = AuthRequest {
            domain: self.config.zap_domain.clone(),
            address,
            routing_id: self.config.routing_id.clone(),
            mechanism: self.config.mechanism.name(),
            credentials,
        };
        // User code: a panic in it must refuse this peer only, not end
        // every connection of the thread that runs us. Unwind-safe enough:
        // the closure only reads the request, which nothing uses after a
        // panic, and our own state is not touched; the authenticator's
        // state is its owner's, as a ZAP handler's is.
        let config = &self.config;
        let at_once = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            config
                .mechanism
                .answer_at_once(&request, config.peer_address)
        }));
        self.awaiting_auth = true;
        match at_once {
            Ok(Some(answer)) => self.decide(answer),
            Ok(None) => {
                self.events.push_back(HandshakeEvent::Authenticate(request));
                Ok(())
            }
            Err(_) => Err(reject(&mut self.out, ZmtpError::AuthenticatorPanicked)),
        }
    }

    /// Resumes a handshake that asked ([`HandshakeEvent::Authenticate`])
    /// with the answer: status 200 lets the mechanism go on; 300 closes
    /// without an ERROR, 400 and 500 send ERROR with the code; an invalid
    /// ZAP reply closes with a protocol error; no handler refuses or
    /// admits as the mechanism requires (see
    /// [`MechanismConfig::requires_handler`]). An answer nobody asked for
    /// is ignored.
    ///
    /// # Errors
    ///
    /// The error the handshake failed with, now or before (it is also
    /// reported once as an event): flush [`poll_transmit`](Self::poll_transmit)
    /// (maybe an ERROR) and close.
    pub fn authenticate(&mut self, answer: AuthAnswer) -> Result<(), ZmtpError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        if !self.awaiting_auth {
            return Ok(());
        }
        self.decide(answer).map_err(|e| self.fail(e))
    }

    /// Whether the handshake waits for the answer to its request.
    pub fn is_authenticating(&self) -> bool {
        self.awaiting_auth && matches!(self.state, State::Mechanism(_))
    }

    /// The one place an answer becomes a decision, for every mechanism.
    fn decide(&mut self, answer: AuthAnswer) -> Result<(), ZmtpError> {
        self.awaiting_auth = false;
        match answer {
            AuthAnswer::Reply(reply) => match reply.status_code {
                200 => self.auth = Some(reply),
                // A temporary failure: closed without an ERROR (RFC 27 and
                // libzmq's zap_client_common_handshake_t).
                300..=399 => return Err(ZmtpError::AuthTemporaryFailure),
                400..=499 => return Err(reject(&mut self.out, ZmtpError::AuthenticationFailed)),
                _ => return Err(reject(&mut self.out, ZmtpError::AuthInternalError)),
            },
            AuthAnswer::NoHandler => {
                let enforce = self.config.zap_enforce_domain;
                if self.config.mechanism.requires_handler(enforce) {
                    return Err(ZmtpError::NoAuthenticator);
                }
            }
            AuthAnswer::Invalid(e) => return Err(ZmtpError::ZapProtocol(e)),
        }
        let State::Mechanism(machine) = &mut self.state else {
            return Ok(());
        };
        let progress = machine.on_authenticated(&self.local, &mut self.out)?;
        self.on_progress(progress)
    }

    /// Queues the next part of our greeting that what arrived of the
    /// peer's (validated as it came) allows: the major version after its
    /// signature, the rest after its major version.
    fn queue_greeting(&mut self) {
        let upto = match self.greeting.received() {
            n if n >= PARTIAL_GREETING_LEN => GREETING_LEN,
            n if n >= SIGNATURE_LEN => PARTIAL_GREETING_LEN,
            _ => return,
        };
        if upto > self.ours_queued {
            self.out
                .extend_from_slice(&self.ours[self.ours_queued..upto]);
            self.ours_queued = upto;
        }
    }

    /// Checks the peer's greeting against ours and starts the mechanism.
    fn on_greeting(&mut self, peer: Greeting) -> Result<(), ZmtpError> {
        self.peer_greeting = Some(peer);
        let ours = self.config.mechanism.name();
        if peer.mechanism != ours {
            return Err(ZmtpError::MechanismMismatch {
                local: ours.name(),
                peer: peer.mechanism.name(),
            });
        }
        // Only two servers are refused here. libzmq (4.3 at least) sends
        // as-server 0 even from a PLAIN server and never reads the flag, so
        // a peer saying "client" may well be a server; two real clients
        // fail anyway, each getting a HELLO where it expects WELCOME. NULL's
        // flag "has no significance" (RFC 37).
        if peer.as_server && self.config.as_server() {
            return Err(ZmtpError::RoleConflict(match self.config.mechanism {
                MechanismConfig::CurveServer { .. } => "both peers are CURVE servers",
                _ => "both peers are PLAIN servers",
            }));
        }
        let mut machine = Machine::new(&self.config.mechanism, &self.config.zap_domain);
        let progress = machine.start(&self.local, &mut self.out)?;
        self.state = State::Mechanism(machine);
        self.on_progress(progress)
    }

    fn on_ready(&mut self, peer: PeerInfo) {
        let minor_version = self.minor_version().unwrap_or(0);
        let mut peer_key = None;
        if let State::Mechanism(machine) = &mut self.state {
            let (cipher, key) = machine.finish();
            self.cipher = cipher;
            peer_key = key;
        }
        self.state = State::Ready;
        self.events.push_back(HandshakeEvent::Ready {
            peer_socket_type: peer.socket_type,
            peer_routing_id: peer.routing_id,
            peer_properties: peer.properties,
            minor_version,
            peer_curve_key: peer_key,
            auth: self.auth.take(),
        });
    }

    /// The ZMTP 3 minor version both sides speak, once the peer's greeting
    /// has arrived.
    pub fn minor_version(&self) -> Option<u8> {
        self.peer_greeting.map(|g| g.negotiated_minor())
    }

    /// All octets queued for the peer, if any, in one buffer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<HandshakeEvent> {
        self.events.pop_front()
    }

    /// The session that continues a successful handshake at `now`, taking
    /// over its unsent output, and the octets that arrived after READY (the
    /// session's first input); or the handshake itself back if it has not
    /// succeeded.
    #[allow(clippy::result_large_err)]
    pub fn into_session(self, now: Instant) -> Result<(Session, Vec<u8>), Handshake> {
        if !self.is_ready() {
            return Err(self);
        }
        let minor = self.minor_version().unwrap_or(0);
        // A CURVE frame is its body in a MESSAGE: the limit is the body's.
        let max = match self.cipher {
            Some(_) => self
                .config
                .max_frame_size
                .map(|m| m.saturating_add(MESSAGE_OVERHEAD as u64)),
            None => self.config.max_frame_size,
        };
        let session = Session::resume(
            max,
            self.out,
            minor,
            &self.config.heartbeat,
            now,
            self.cipher,
        );
        Ok((session, self.leftover))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::frame::encode_message;
    use crate::zmtp::greeting::MechanismName;
    use crate::zmtp::session::Incoming;
    use crate::zmtp::session::SessionEvent;
    use crate::zmtp::CurveSecretKey;
    use SocketType::*;

    /// Runs two handshakes against each other until neither has anything
    /// to send; each direction's bytes are delivered in `chunk`-sized pieces.
    fn pump(a: &mut Handshake, b: &mut Handshake, chunk: usize) {
        fn deliver(from: &mut Handshake, to: &mut Handshake, chunk: usize) -> bool {
            let Some(bytes) = from.poll_transmit() else {
                return false;
            };
            for piece in bytes.chunks(chunk) {
                if to.feed(piece).is_err() {
                    break;
                }
            }
            true
        }
        while deliver(a, b, chunk) | deliver(b, a, chunk) {}
    }

    fn events(h: &mut Handshake) -> Vec<HandshakeEvent> {
        std::iter::from_fn(|| h.poll_event()).collect()
    }

    fn ready_of(h: &mut Handshake) -> (SocketType, Option<Vec<u8>>, Metadata, u8) {
        match events(h).as_slice() {
            [HandshakeEvent::Ready {
                peer_socket_type,
                peer_routing_id,
                peer_properties,
                minor_version,
                ..
            }] => (
                *peer_socket_type,
                peer_routing_id.clone(),
                peer_properties.clone(),
                *minor_version,
            ),
            other => panic!("expected one Ready, got {other:?}"),
        }
    }

    fn failed_of(h: &mut Handshake) -> ZmtpError {
        match events(h).as_slice() {
            [HandshakeEvent::Failed(e)] => e.clone(),
            other => panic!("expected one Failed, got {other:?}"),
        }
    }

    fn config(t: SocketType, mechanism: MechanismConfig) -> HandshakeConfig {
        HandshakeConfig {
            mechanism,
            ..HandshakeConfig::new(t)
        }
    }

    fn plain_server() -> MechanismConfig {
        MechanismConfig::plain_server(|c| c.username == "admin" && c.password == b"password")
    }

    /// A libzmq-style peer's 64-octet greeting (no routing id: its
    /// padding says 1).
    fn greeting(minor: u8, mechanism: MechanismName, as_server: bool) -> Vec<u8> {
        let mut g = Greeting::new(mechanism, as_server);
        g.minor = minor;
        let mut g = g.encode().to_vec();
        g[8] = 1;
        g
    }

    #[test]
    fn null_handshake_in_every_chunk_size() {
        for chunk in [1, 2, 7, 11, 64, 1000] {
            let mut dealer = Handshake::new(HandshakeConfig {
                routing_id: b"me".to_vec(),
                properties: vec![("X-App".into(), b"demo".to_vec())],
                ..HandshakeConfig::new(Dealer)
            })
            .unwrap();
            let mut router = Handshake::new(HandshakeConfig::new(Router)).unwrap();
            pump(&mut dealer, &mut router, chunk);
            assert!(dealer.is_ready() && router.is_ready());
            let (t, id, props, minor) = ready_of(&mut router);
            assert_eq!((t, id.as_deref(), minor), (Dealer, Some(&b"me"[..]), 1));
            assert_eq!(props.get("x-app"), Some(&b"demo"[..]));
            let (t, id, _, _) = ready_of(&mut dealer);
            assert_eq!((t, id), (Router, Some(Vec::new())));
        }
    }

    #[test]
    fn sends_the_libzmq_dealer_ready_after_the_greeting() {
        let mut h = Handshake::new(HandshakeConfig::new(Dealer)).unwrap();
        let mut g = h.poll_transmit().unwrap();
        h.feed(&greeting(1, MechanismName::NULL, false)).unwrap();
        let rest = h.poll_transmit().unwrap();
        g.extend_from_slice(&rest[..64 - g.len()]);
        assert_eq!(g, greeting(1, MechanismName::NULL, false));
        assert_eq!(
            &rest[64 - 10..],
            b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"
        );
    }

    #[test]
    fn accepts_a_libzmq_dealer_ready() {
        let mut h = Handshake::new(HandshakeConfig::new(Router)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        wire.extend_from_slice(
            b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00",
        );
        h.feed(&wire).unwrap();
        let (t, id, _, minor) = ready_of(&mut h);
        assert_eq!((t, id, minor), (Dealer, Some(Vec::new()), 1));
    }

    #[test]
    fn the_greeting_goes_out_in_libzmqs_three_steps() {
        // The signature at once, the major version once the peer's
        // signature is in, the rest once its major version is: what
        // libzmq's engine does (and its test_stream reads).
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let ours = greeting(1, MechanismName::NULL, false);
        assert_eq!(h.poll_transmit().unwrap(), ours[..10]);
        let g = greeting(1, MechanismName::NULL, false);
        h.feed(&g[..9]).unwrap();
        assert_eq!(h.poll_transmit(), None);
        h.feed(&g[9..10]).unwrap();
        assert_eq!(h.poll_transmit().unwrap(), ours[10..11]);
        h.feed(&g[10..11]).unwrap();
        assert_eq!(h.poll_transmit().unwrap(), ours[11..]);
        assert!(h.peer_greeting().is_none());
        h.feed(&g[11..]).unwrap();
        assert_eq!(h.peer_greeting().map(|g| g.minor), Some(1));
        assert!(h.poll_transmit().is_some());
    }

    #[test]
    fn speaks_3_0_to_a_3_0_peer() {
        let mut h = Handshake::new(HandshakeConfig::new(Sub)).unwrap();
        let mut wire = greeting(0, MechanismName::NULL, false);
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "PUB");
        Command::Ready(md).encode_frame(&mut wire);
        h.feed(&wire).unwrap();
        assert_eq!(ready_of(&mut h).3, 0);
        assert_eq!(h.minor_version(), Some(0));
        let (mut s, rest) = h.into_session(Instant::now()).unwrap();
        assert!(rest.is_empty());
        assert_eq!(s.minor_version(), 0);
        // The greeting and READY not yet taken are still queued.
        let out = s.poll_transmit().unwrap();
        assert_eq!(out.len(), 64 + 2 + 6 + 16 + 3);
        s.subscribe(b"weather");
        assert_eq!(s.poll_transmit().unwrap(), b"\x00\x08\x01weather");
    }

    #[test]
    fn minor_versions_between_two_handshakes() {
        // A future 3.2 peer is spoken to in 3.1.
        let mut h = Handshake::new(HandshakeConfig::new(Pair)).unwrap();
        h.feed(&greeting(2, MechanismName::NULL, false)).unwrap();
        assert_eq!(h.minor_version(), Some(1));
    }

    #[test]
    fn messages_after_ready_go_to_the_session() {
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "PUSH");
        Command::Ready(md).encode_frame(&mut wire);
        encode_message(&mut wire, b"one", false);
        encode_message(&mut wire, b"tw", false);
        // Cut inside the second message.
        let cut = wire.len() - 1;
        h.feed(&wire[..cut]).unwrap();
        assert!(h.is_ready());
        h.feed(&wire[cut..]).unwrap();
        let (mut s, rest) = h.into_session(Instant::now()).unwrap();
        s.feed(&rest, Instant::now()).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert_eq!(
            got,
            vec![
                SessionEvent::Message {
                    payload: b"one".to_vec(),
                    more: false
                },
                SessionEvent::Message {
                    payload: b"tw".to_vec(),
                    more: false
                },
            ]
        );
    }

    #[test]
    fn into_session_before_ready_gives_the_handshake_back() {
        let h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let h = h.into_session(Instant::now()).unwrap_err();
        assert!(!h.is_ready());
        assert!(format!("{h:?}").contains("greeting"));
    }

    #[test]
    fn wrong_socket_type_is_refused_with_error() {
        let mut push = Handshake::new(HandshakeConfig::new(Push)).unwrap();
        let mut push2 = Handshake::new(HandshakeConfig::new(Push)).unwrap();
        pump(&mut push, &mut push2, 1000);
        let e = failed_of(&mut push);
        assert_eq!(
            e,
            ZmtpError::IncompatibleSocketType {
                local: Push,
                peer: "PUSH".into()
            }
        );
        assert_eq!(push.error(), Some(&e));
        assert_eq!(push.feed(b"more"), Err(e));
        // Each side refused the other (and the ERROR arrived too late to
        // matter: the side was already failed).
        assert!(matches!(
            failed_of(&mut push2),
            ZmtpError::IncompatibleSocketType { .. }
        ));
    }

    #[test]
    fn peer_error_is_reported() {
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        Command::Error {
            reason: b"Invalid socket type".to_vec(),
        }
        .encode_frame(&mut wire);
        assert_eq!(
            h.feed(&wire),
            Err(ZmtpError::PeerError("Invalid socket type".into()))
        );
    }

    #[test]
    fn missing_socket_type_is_refused() {
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        Command::Ready(Metadata::new()).encode_frame(&mut wire);
        assert_eq!(h.feed(&wire), Err(ZmtpError::MissingSocketType));
        let out = h.poll_transmit().unwrap();
        assert!(out.ends_with(b"\x05ERROR\x13Missing socket type"));
    }

    #[test]
    fn message_frames_during_the_handshake_are_refused() {
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        encode_message(&mut wire, b"early", false);
        assert!(matches!(
            h.feed(&wire),
            Err(ZmtpError::UnexpectedCommand { .. })
        ));
    }

    /// A READY whose one property value is `len` octets.
    fn ready_with_value(len: usize) -> Vec<u8> {
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "PUSH");
        md.push("X-Big", vec![b'v'; len]);
        let mut wire = Vec::new();
        Command::Ready(md).encode_frame(&mut wire);
        wire
    }

    #[test]
    fn a_large_handshake_command_is_refused_at_its_header() {
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        // 64 MiB announced, nothing of it sent.
        wire.push(0x06);
        wire.extend_from_slice(&(64u64 << 20).to_be_bytes());
        let want = ZmtpError::HandshakeCommandTooLarge {
            size: 64 << 20,
            max: HANDSHAKE_COMMAND_MAX,
        };
        assert_eq!(h.feed(&wire), Err(want.clone()));
        assert_eq!(failed_of(&mut h), want);
        // MAXMSGSIZE below the cap stays the limit, with its own error.
        let mut h = Handshake::new(HandshakeConfig {
            max_frame_size: Some(1000),
            ..HandshakeConfig::new(Pull)
        })
        .unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        wire.extend(ready_with_value(2000));
        assert!(matches!(
            h.feed(&wire),
            Err(ZmtpError::FrameTooLarge { max: 1000, .. })
        ));
    }

    #[test]
    fn a_large_ish_ready_fits_and_the_session_keeps_maxmsgsize() {
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        wire.extend(ready_with_value(6000));
        // After READY, frames are the session's: MAXMSGSIZE (none), not
        // the handshake's cap.
        encode_message(&mut wire, &vec![1; 100_000], false);
        h.feed(&wire).unwrap();
        let (_, _, props, _) = ready_of(&mut h);
        assert_eq!(props.get("X-Big").map(<[u8]>::len), Some(6000));
        let (mut s, rest) = h.into_session(Instant::now()).unwrap();
        s.feed(&rest, Instant::now()).unwrap();
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::Message { payload, .. }) if payload.len() == 100_000
        ));
        // Just over the cap: refused.
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        wire.extend(ready_with_value(HANDSHAKE_COMMAND_MAX as usize));
        assert!(matches!(
            h.feed(&wire),
            Err(ZmtpError::HandshakeCommandTooLarge { .. })
        ));
    }

    #[test]
    fn peers_configured_alike_fit_whatever_their_properties() {
        let big = || HandshakeConfig {
            properties: vec![("X-Big".into(), vec![7; 20_000])],
            ..HandshakeConfig::new(Dealer)
        };
        let (mut a, mut b) = (
            Handshake::new(big()).unwrap(),
            Handshake::new(big()).unwrap(),
        );
        pump(&mut a, &mut b, 4096);
        assert!(a.is_ready() && b.is_ready());
    }

    #[test]
    fn unexpected_commands_are_refused_before_their_data_is_parsed() {
        // Metadata that would not parse, in a command NULL does not expect.
        let garbage = [&b"\x08INITIATE"[..], &[0; 64]].concat();
        let mut h = Handshake::new(HandshakeConfig::new(Pull)).unwrap();
        let mut wire = greeting(1, MechanismName::NULL, false);
        crate::zmtp::frame::encode_command(&mut wire, &garbage);
        assert_eq!(
            h.feed(&wire),
            Err(ZmtpError::UnexpectedCommand {
                expected: "READY",
                got: "INITIATE".into()
            })
        );
        // A PLAIN server waiting for HELLO does not read a READY's metadata.
        let garbage = [&b"\x05READY"[..], &[0; 64]].concat();
        let mut h = Handshake::new(config(Pull, plain_server())).unwrap();
        let mut wire = greeting(1, MechanismName::PLAIN, false);
        crate::zmtp::frame::encode_command(&mut wire, &garbage);
        assert_eq!(
            h.feed(&wire),
            Err(ZmtpError::UnexpectedCommand {
                expected: "HELLO",
                got: "READY".into()
            })
        );
    }

    #[test]
    fn greeting_and_frame_errors() {
        let cases: Vec<(Vec<u8>, ZmtpError)> = vec![
            (
                vec![0x00],
                ZmtpError::BadGreeting("the first octet is not 0xFF (not a ZMTP 2.0+ peer)"),
            ),
            (
                {
                    let mut g = greeting(0, MechanismName::NULL, false);
                    g[10] = 2;
                    g.truncate(11);
                    g
                },
                ZmtpError::UnsupportedVersion { major: 2 },
            ),
            (
                greeting(1, MechanismName::CURVE, true),
                ZmtpError::MechanismMismatch {
                    local: "NULL".into(),
                    peer: "CURVE".into(),
                },
            ),
            (
                {
                    let mut g = greeting(1, MechanismName::NULL, false);
                    g.extend_from_slice(&[0x24, 0]);
                    g
                },
                ZmtpError::ReservedFlags(0x24),
            ),
            (
                {
                    let mut g = greeting(1, MechanismName::NULL, false);
                    g.extend_from_slice(&[0x04, 200]);
                    g
                },
                ZmtpError::FrameTooLarge {
                    size: 200,
                    max: 100,
                },
            ),
            (
                {
                    let mut g = greeting(1, MechanismName::NULL, false);
                    g.extend_from_slice(&[0x04, 1, 0]);
                    g
                },
                ZmtpError::MalformedCommand("empty command name"),
            ),
        ];
        for (wire, want) in cases {
            let mut h = Handshake::new(HandshakeConfig {
                max_frame_size: Some(100),
                ..HandshakeConfig::new(Pull)
            })
            .unwrap();
            assert_eq!(h.feed(&wire), Err(want.clone()));
            assert_eq!(failed_of(&mut h), want);
        }
    }

    #[test]
    fn plain_accepts_good_credentials_in_both_directions() {
        for chunk in [1, 5, 1000] {
            let mut client = Handshake::new(HandshakeConfig {
                routing_id: b"c1".to_vec(),
                ..config(Dealer, MechanismConfig::plain_client("admin", "password"))
            })
            .unwrap();
            let mut server = Handshake::new(config(Router, plain_server())).unwrap();
            assert!(server.config().as_server());
            pump(&mut client, &mut server, chunk);
            let (t, id, _, minor) = ready_of(&mut server);
            assert_eq!((t, id.as_deref(), minor), (Dealer, Some(&b"c1"[..]), 1));
            assert_eq!(ready_of(&mut client).0, Router);
        }
    }

    #[test]
    fn plain_rejects_bad_credentials() {
        let mut client =
            Handshake::new(config(Req, MechanismConfig::plain_client("admin", "wrong"))).unwrap();
        let mut server = Handshake::new(config(Rep, plain_server())).unwrap();
        pump(&mut client, &mut server, 1000);
        assert_eq!(failed_of(&mut server), ZmtpError::AuthenticationFailed);
        assert_eq!(failed_of(&mut client), ZmtpError::PeerError("400".into()));
    }

    #[test]
    fn plain_role_and_mechanism_conflicts() {
        let both_servers = (
            config(Pair, plain_server()),
            config(Pair, plain_server()),
            ZmtpError::RoleConflict("both peers are PLAIN servers"),
        );
        let both_clients = (
            config(Pair, MechanismConfig::plain_client("a", "b")),
            config(Pair, MechanismConfig::plain_client("a", "b")),
            ZmtpError::UnexpectedCommand {
                expected: "WELCOME",
                got: "HELLO".into(),
            },
        );
        let plain_vs_null = (
            config(Pair, MechanismConfig::plain_client("a", "b")),
            config(Pair, MechanismConfig::Null),
            ZmtpError::MechanismMismatch {
                local: "PLAIN".into(),
                peer: "NULL".into(),
            },
        );
        for (ca, cb, want) in [both_servers, both_clients, plain_vs_null] {
            let mut a = Handshake::new(ca).unwrap();
            let mut b = Handshake::new(cb).unwrap();
            pump(&mut a, &mut b, 1000);
            assert_eq!(failed_of(&mut a), want);
            assert!(matches!(
                failed_of(&mut b),
                ZmtpError::RoleConflict(_)
                    | ZmtpError::MechanismMismatch { .. }
                    | ZmtpError::UnexpectedCommand { .. }
            ));
        }
    }

    /// libzmq's PLAIN server sends as-server 0 (it sets the flag for no
    /// mechanism): a client must go on with it.
    #[test]
    fn plain_client_goes_on_with_a_server_whose_greeting_says_client() {
        let mut client = Handshake::new(config(
            Push,
            MechanismConfig::plain_client("admin", "password"),
        ))
        .unwrap();
        client.poll_transmit();
        client
            .feed(&greeting(1, MechanismName::PLAIN, false))
            .unwrap();
        let mut d = FrameDecoder::new(None);
        let sent = client.poll_transmit().unwrap();
        // After the rest of our greeting.
        let (_, hello) = d.decode(&sent[54..]).unwrap();
        assert_eq!(
            Command::decode(&hello.unwrap().body).unwrap().name(),
            b"HELLO"
        );
    }

    #[test]
    fn null_ignores_the_peer_as_server_flag() {
        let mut h = Handshake::new(HandshakeConfig::new(Pair)).unwrap();
        h.feed(&greeting(1, MechanismName::NULL, true)).unwrap();
        assert!(h.poll_transmit().is_some());
    }

    #[test]
    fn plain_with_a_3_0_server() {
        let mut client = Handshake::new(config(
            Push,
            MechanismConfig::plain_client("admin", "password"),
        ))
        .unwrap();
        client.poll_transmit();
        let mut wire = greeting(0, MechanismName::PLAIN, true);
        Command::Welcome.encode_frame(&mut wire);
        client.feed(&wire).unwrap();
        let sent = client.poll_transmit().unwrap().split_off(54);
        // HELLO, then INITIATE.
        assert!(sent.starts_with(b"\x04\x15\x05HELLO\x05admin\x08password"));
        assert!(sent[23..].starts_with(b"\x04\x1d\x08INITIATE"));
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "PULL");
        let mut wire = Vec::new();
        Command::Ready(md).encode_frame(&mut wire);
        client.feed(&wire).unwrap();
        assert_eq!(ready_of(&mut client).3, 0);
    }

    fn curve_keys() -> (CurveSecretKey, [u8; 32], CurveSecretKey, [u8; 32]) {
        let server = CurveSecretKey::generate().unwrap();
        let client = CurveSecretKey::generate().unwrap();
        let (sp, cp) = (server.public_key(), client.public_key());
        (server, sp, client, cp)
    }

    /// A CURVE server whose authenticator admits everyone at once.
    fn curve_server_admitting(secret_key: CurveSecretKey) -> MechanismConfig {
        MechanismConfig::CurveServer {
            secret_key,
            authenticator: Some(std::sync::Arc::new(|_| true)),
        }
    }

    #[test]
    fn a_curve_server_asks_about_the_client_key() {
        let (ss, sp, cs, cp) = curve_keys();
        let pair = |server: MechanismConfig, enforce: bool| {
            let client = Handshake::new(config(
                Req,
                MechanismConfig::curve_client(cp, cs.clone(), sp),
            ))
            .unwrap();
            let server = Handshake::new(HandshakeConfig {
                zap_domain: "d".into(),
                zap_enforce_domain: enforce,
                ..config(Rep, server)
            })
            .unwrap();
            (client, server)
        };
        // The driver is asked, with the key as the credential.
        let (mut client, mut server) = pair(MechanismConfig::curve_server(ss.clone()), false);
        pump(&mut client, &mut server, 100);
        let req = request_of(&mut server);
        assert_eq!(req.mechanism, MechanismName::CURVE);
        assert_eq!(req.credentials, vec![cp.to_vec()]);
        assert_eq!(req.domain, "d");
        // No handler: admitted (libzmq's CURVE without ZAP)...
        server.authenticate(AuthAnswer::NoHandler).unwrap();
        pump(&mut client, &mut server, 100);
        assert!(server.is_ready() && client.is_ready());
        // ...unless the domain is enforced.
        let (mut client, mut server) = pair(MechanismConfig::curve_server(ss.clone()), true);
        pump(&mut client, &mut server, 100);
        request_of(&mut server);
        assert_eq!(
            server.authenticate(AuthAnswer::NoHandler),
            Err(ZmtpError::NoAuthenticator)
        );
        // A closure answers at once: its refusal is ERROR "400"; its
        // approval gives the key in Z85 as the User-Id.
        let refusing = MechanismConfig::CurveServer {
            secret_key: ss.clone(),
            authenticator: Some(std::sync::Arc::new(|_| false)),
        };
        let (mut client, mut server) = pair(refusing, false);
        pump(&mut client, &mut server, 100);
        assert_eq!(failed_of(&mut server), ZmtpError::AuthenticationFailed);
        assert_eq!(failed_of(&mut client), ZmtpError::PeerError("400".into()));
        let (mut client, mut server) = pair(curve_server_admitting(ss), false);
        pump(&mut client, &mut server, 100);
        let user_id = auth_of(&mut server).unwrap().user_id;
        assert_eq!(user_id, crate::zmtp::curve::z85(&cp).into_bytes());
    }

    #[test]
    fn curve_handshake_then_encrypted_traffic_both_ways() {
        let (ss, sp, cs, cp) = curve_keys();
        for chunk in [1, 7, 4096] {
            let mut client = Handshake::new(HandshakeConfig {
                routing_id: b"c1".to_vec(),
                ..config(Dealer, MechanismConfig::curve_client(cp, cs.clone(), sp))
            })
            .unwrap();
            let mut server =
                Handshake::new(config(Router, curve_server_admitting(ss.clone()))).unwrap();
            assert!(server.config().as_server());
            pump(&mut client, &mut server, chunk);
            let ev = events(&mut server);
            let [HandshakeEvent::Ready {
                peer_routing_id,
                peer_curve_key,
                ..
            }] = ev.as_slice()
            else {
                panic!("{ev:?}")
            };
            assert_eq!(peer_routing_id.as_deref(), Some(&b"c1"[..]));
            assert_eq!(*peer_curve_key, Some(cp));
            let ev = events(&mut client);
            assert!(matches!(
                ev.as_slice(),
                [HandshakeEvent::Ready { peer_curve_key: Some(k), .. }] if *k == sp
            ));
            let now = Instant::now();
            let (mut c, rest) = client.into_session(now).unwrap();
            assert!(rest.is_empty());
            let (mut s, rest) = server.into_session(now).unwrap();
            assert!(rest.is_empty());
            assert!(c.is_encrypted() && s.is_encrypted());
            c.send_message(&[&b"hello"[..], b"world"]);
            c.subscribe(b"topic");
            let wire = c.poll_transmit().unwrap();
            assert!(!wire.windows(5).any(|w| w == b"hello"));
            for piece in wire.chunks(chunk) {
                s.feed(piece, now).unwrap();
            }
            assert_eq!(
                std::iter::from_fn(|| s.poll_event()).collect::<Vec<_>>(),
                vec![
                    SessionEvent::Message {
                        payload: b"hello".to_vec(),
                        more: true
                    },
                    SessionEvent::Message {
                        payload: b"world".to_vec(),
                        more: false
                    },
                    SessionEvent::Subscribe(b"topic".to_vec()),
                ]
            );
            s.send_frame(b"back", false);
            c.feed(&s.poll_transmit().unwrap(), now).unwrap();
            assert_eq!(
                c.poll_event(),
                Some(SessionEvent::Message {
                    payload: b"back".to_vec(),
                    more: false
                })
            );
        }
    }

    #[test]
    fn curve_session_reads_a_frame_again_until_taken_and_pings_encrypted() {
        let (ss, sp, cs, cp) = curve_keys();
        let mut client =
            Handshake::new(config(Push, MechanismConfig::curve_client(cp, cs, sp))).unwrap();
        let mut server = Handshake::new(config(Pull, curve_server_admitting(ss))).unwrap();
        pump(&mut client, &mut server, 4096);
        let now = Instant::now();
        let (mut c, _) = client.into_session(now).unwrap();
        let (mut s, _) = server.into_session(now).unwrap();
        c.send_frame(b"one", false);
        c.send_frame(b"two", false);
        let mut wire = c.poll_transmit().unwrap();
        let (n, first) = s.read(&mut wire, now).unwrap();
        assert_eq!(
            first,
            Incoming::Message {
                payload: b"one",
                more: false
            }
        );
        // Not taken: the same frame again, not decrypted twice.
        let (n2, again) = s.read(&mut wire, now).unwrap();
        assert_eq!(
            (n2, again),
            (
                n,
                Incoming::Message {
                    payload: b"one",
                    more: false
                }
            )
        );
        s.taken();
        let (_, second) = s.read(&mut wire[n..], now).unwrap();
        assert_eq!(
            second,
            Incoming::Message {
                payload: b"two",
                more: false
            }
        );
        s.taken();
        // A PING in a MESSAGE is answered by a PONG in a MESSAGE.
        let mut ping = Vec::new();
        let mut cipher_side = c;
        cipher_side.send_command_for_tests(&Command::Ping {
            ttl_deciseconds: 0,
            context: b"ctx".to_vec(),
        });
        ping.extend(cipher_side.poll_transmit().unwrap());
        let (_, handled) = s.read(&mut ping, now).unwrap();
        assert_eq!(handled, Incoming::Handled);
        let pong = s.poll_transmit().unwrap();
        assert!(!pong.windows(4).any(|w| w == b"PONG"));
        cipher_side.feed(&pong, now).unwrap();
        assert_eq!(cipher_side.poll_event(), None);
        assert!(cipher_side.error().is_none());
        // A plain frame is refused once encrypted.
        let mut plain = Vec::new();
        encode_message(&mut plain, b"clear", false);
        assert!(matches!(
            s.read(&mut plain, now),
            Err(ZmtpError::UnexpectedCommand {
                expected: "MESSAGE",
                ..
            })
        ));
        // A MESSAGE in a command frame (RFC 26's wording) is taken too.
        let (ss, sp, cs, cp) = curve_keys();
        let mut client =
            Handshake::new(config(Push, MechanismConfig::curve_client(cp, cs, sp))).unwrap();
        let mut server = Handshake::new(config(Pull, curve_server_admitting(ss))).unwrap();
        pump(&mut client, &mut server, 4096);
        let (mut c, _) = client.into_session(now).unwrap();
        let (mut s, _) = server.into_session(now).unwrap();
        c.send_frame(b"cmd-framed", false);
        let mut wire = c.poll_transmit().unwrap();
        assert_eq!(wire[0], 0x00, "libzmq's way: a message frame, no flags");
        assert_eq!(s.message_header(&wire), None, "no direct read of a box");
        wire[0] = 0x04;
        assert_eq!(
            s.read(&mut wire, now).unwrap().1,
            Incoming::Message {
                payload: b"cmd-framed",
                more: false
            }
        );
    }

    #[test]
    fn curve_with_a_wrong_server_key_fails_on_both_sides() {
        let (ss, _, cs, cp) = curve_keys();
        let wrong = CurveSecretKey::generate().unwrap().public_key();
        let mut client =
            Handshake::new(config(Req, MechanismConfig::curve_client(cp, cs, wrong))).unwrap();
        let mut server = Handshake::new(config(Rep, MechanismConfig::curve_server(ss))).unwrap();
        pump(&mut client, &mut server, 1000);
        assert!(matches!(
            failed_of(&mut server),
            ZmtpError::Cryptographic(_)
        ));
        assert!(!client.is_ready());
        // Two CURVE servers, and CURVE against PLAIN.
        let (ss, ..) = curve_keys();
        let mut a =
            Handshake::new(config(Pair, MechanismConfig::curve_server(ss.clone()))).unwrap();
        let mut b = Handshake::new(config(Pair, MechanismConfig::curve_server(ss))).unwrap();
        pump(&mut a, &mut b, 1000);
        assert_eq!(
            failed_of(&mut a),
            ZmtpError::RoleConflict("both peers are CURVE servers")
        );
        let c =
            MechanismConfig::curve_client([1; 32], CurveSecretKey::from_bytes([2; 32]), [3; 32]);
        assert!(!format!("{c:?}").contains("secret_key: ["));
        let mut a = Handshake::new(config(Pair, c)).unwrap();
        let mut b = Handshake::new(config(Pair, plain_server())).unwrap();
        pump(&mut a, &mut b, 1000);
        assert!(matches!(
            failed_of(&mut a),
            ZmtpError::MechanismMismatch { .. }
        ));
    }

    #[test]
    fn invalid_configurations() {
        let cases = [
            HandshakeConfig {
                routing_id: vec![1; 256],
                ..HandshakeConfig::new(Dealer)
            },
            HandshakeConfig {
                properties: vec![("App".into(), Vec::new())],
                ..HandshakeConfig::new(Dealer)
            },
            HandshakeConfig {
                properties: vec![("X-a b".into(), Vec::new())],
                ..HandshakeConfig::new(Dealer)
            },
            config(Dealer, MechanismConfig::plain_client("u".repeat(256), "")),
        ];
        for c in cases {
            assert!(matches!(
                Handshake::new(c),
                Err(ZmtpError::InvalidConfig(_))
            ));
        }
        // Identity is only announced by REQ, DEALER and ROUTER.
        let mut h = Handshake::new(HandshakeConfig {
            routing_id: b"id".to_vec(),
            ..HandshakeConfig::new(Push)
        })
        .unwrap();
        h.poll_transmit();
        h.feed(&greeting(1, MechanismName::NULL, false)).unwrap();
        let out = h.poll_transmit().unwrap();
        assert_eq!(
            &out[54..],
            b"\x04\x1a\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"
        );
    }

    // --- asking for an authentication decision ------------------------

    /// The one Authenticate event the handshake reported.
    fn request_of(h: &mut Handshake) -> AuthRequest {
        match events(h).as_slice() {
            [HandshakeEvent::Authenticate(r)] => r.clone(),
            other => panic!("expected one Authenticate, got {other:?}"),
        }
    }

    fn auth_of(h: &mut Handshake) -> Option<AuthReply> {
        match events(h).as_slice() {
            [HandshakeEvent::Ready { auth, .. }] => auth.clone(),
            other => panic!("expected one Ready, got {other:?}"),
        }
    }

    /// A PLAIN client and a server that asks its driver, run until the
    /// server waits for the answer.
    fn plain_pair_asking(password: &str) -> (Handshake, Handshake, AuthRequest) {
        let mut client = Handshake::new(config(
            Dealer,
            MechanismConfig::plain_client("admin", password),
        ))
        .unwrap();
        let mut server = Handshake::new(HandshakeConfig {
            routing_id: b"srv".to_vec(),
            zap_domain: "global".into(),
            peer_address: Some("192.0.2.7:4000".parse().unwrap()),
            ..config(Router, MechanismConfig::plain_server_zap())
        })
        .unwrap();
        pump(&mut client, &mut server, 7);
        assert!(server.is_authenticating());
        assert!(format!("{server:?}").contains("authenticating"));
        let req = request_of(&mut server);
        assert!(events(&mut client).is_empty());
        (client, server, req)
    }

    #[test]
    fn a_plain_server_asks_its_driver_and_goes_on_with_the_answer() {
        let (mut client, mut server, req) = plain_pair_asking("secret");
        assert_eq!(
            req,
            AuthRequest {
                domain: "global".into(),
                address: "192.0.2.7".into(),
                routing_id: b"srv".to_vec(),
                mechanism: MechanismName::PLAIN,
                credentials: vec![b"admin".to_vec(), b"secret".to_vec()],
            }
        );
        // Nothing moves while the decision is out.
        pump(&mut client, &mut server, 7);
        assert!(!server.is_ready() && !client.is_ready());
        let mut reply = AuthReply::ok("alice");
        reply.metadata.push("X-Role", "admin");
        server
            .authenticate(AuthAnswer::Reply(reply.clone()))
            .unwrap();
        assert!(!server.is_authenticating());
        pump(&mut client, &mut server, 7);
        assert_eq!(auth_of(&mut server), Some(reply));
        assert_eq!(auth_of(&mut client), None);
        // An answer nobody asked for changes nothing.
        assert_eq!(server.authenticate(AuthAnswer::NoHandler), Ok(()));
        assert!(server.is_ready());
    }

    #[test]
    fn refusals_as_libzmq_sends_them() {
        // (answer, our error, what the client gets: an ERROR, or nothing)
        let cases = [
            (
                AuthAnswer::Reply(AuthReply::refused(400)),
                ZmtpError::AuthenticationFailed,
                Some("400"),
            ),
            (
                AuthAnswer::Reply(AuthReply::refused(500)),
                ZmtpError::AuthInternalError,
                Some("500"),
            ),
            (
                AuthAnswer::Reply(AuthReply::refused(300)),
                ZmtpError::AuthTemporaryFailure,
                None,
            ),
            (
                AuthAnswer::Invalid(crate::zmtp::ZapError::BadVersion),
                ZmtpError::ZapProtocol(crate::zmtp::ZapError::BadVersion),
                None,
            ),
            (AuthAnswer::NoHandler, ZmtpError::NoAuthenticator, None),
        ];
        for (answer, ours, theirs) in cases {
            let (mut client, mut server, _) = plain_pair_asking("pw");
            assert_eq!(server.authenticate(answer.clone()), Err(ours.clone()));
            assert_eq!(failed_of(&mut server), ours);
            assert_eq!(server.authenticate(answer), Err(ours.clone()));
            pump(&mut client, &mut server, 1000);
            match theirs {
                Some(code) => assert_eq!(failed_of(&mut client), ZmtpError::PeerError(code.into())),
                None => assert!(events(&mut client).is_empty(), "{ours}: nothing sent"),
            }
        }
    }

    fn null_pair(server_cfg: HandshakeConfig) -> (Handshake, Handshake) {
        let client = Handshake::new(HandshakeConfig::new(Push)).unwrap();
        let server = Handshake::new(server_cfg).unwrap();
        (client, server)
    }

    #[test]
    fn null_with_a_zap_domain_asks_before_its_ready() {
        let cfg = || HandshakeConfig {
            zap_domain: "dom".into(),
            zap_address: ":1000:1000:42".into(),
            ..HandshakeConfig::new(Pull)
        };
        let (mut client, mut server) = null_pair(cfg());
        pump(&mut client, &mut server, 3);
        let req = request_of(&mut server);
        assert_eq!(req.mechanism, MechanismName::NULL);
        assert_eq!(req.address, ":1000:1000:42");
        assert_eq!((req.domain.as_str(), req.credentials.len()), ("dom", 0));
        // The client's READY came; ours waits for the answer.
        assert!(!client.is_ready() && !server.is_ready());
        server
            .authenticate(AuthAnswer::Reply(AuthReply::ok("u")))
            .unwrap();
        pump(&mut client, &mut server, 3);
        assert_eq!(auth_of(&mut server).unwrap().user_id, b"u");
        assert_eq!(ready_of(&mut client).0, Pull);

        // No handler: admitted, unless the domain is enforced.
        let (mut client, mut server) = null_pair(cfg());
        pump(&mut client, &mut server, 1000);
        request_of(&mut server);
        server.authenticate(AuthAnswer::NoHandler).unwrap();
        pump(&mut client, &mut server, 1000);
        assert_eq!(auth_of(&mut server), None);
        assert!(client.is_ready());
        let (mut client, mut server) = null_pair(HandshakeConfig {
            zap_enforce_domain: true,
            ..cfg()
        });
        pump(&mut client, &mut server, 1000);
        request_of(&mut server);
        assert_eq!(
            server.authenticate(AuthAnswer::NoHandler),
            Err(ZmtpError::NoAuthenticator)
        );
        // Refused with 400: ERROR "400" in place of READY.
        let (mut client, mut server) = null_pair(cfg());
        pump(&mut client, &mut server, 1000);
        request_of(&mut server);
        let _ = server.authenticate(AuthAnswer::Reply(AuthReply::refused(400)));
        pump(&mut client, &mut server, 1000);
        assert_eq!(failed_of(&mut client), ZmtpError::PeerError("400".into()));
        // No domain: nobody is asked, even with the domain enforced.
        let (mut client, mut server) = null_pair(HandshakeConfig {
            zap_enforce_domain: true,
            ..HandshakeConfig::new(Pull)
        });
        pump(&mut client, &mut server, 1000);
        assert_eq!(auth_of(&mut server), None);
    }

    #[test]
    fn the_authenticator_closure_answers_at_once() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let record = seen.clone();
        let server_cfg = move || HandshakeConfig {
            zap_domain: "global".into(),
            peer_address: Some("192.0.2.7:4000".parse().unwrap()),
            ..config(
                Rep,
                MechanismConfig::plain_server({
                    let record = record.clone();
                    move |c| {
                        assert_ne!(c.username, "boom", "the authenticator's own bug");
                        *record.lock().unwrap() = Some((c.peer_address, c.zap_domain.to_owned()));
                        c.password == b"pw"
                    }
                }),
            )
        };
        let client = |user: &[u8], password: &str| {
            Handshake::new(config(
                Req,
                MechanismConfig::PlainClient {
                    username: String::from_utf8_lossy(user).into_owned(),
                    password: password.into(),
                },
            ))
            .unwrap()
        };
        let mut c = client(b"admin", "pw");
        let mut s = Handshake::new(server_cfg()).unwrap();
        pump(&mut c, &mut s, 1000);
        // Admitted at once, known by its username.
        assert_eq!(auth_of(&mut s).unwrap().user_id, b"admin");
        assert_eq!(
            seen.lock().unwrap().clone(),
            Some((Some("192.0.2.7:4000".parse().unwrap()), "global".into()))
        );
        let mut c = client(b"admin", "nope");
        let mut s = Handshake::new(server_cfg()).unwrap();
        pump(&mut c, &mut s, 1000);
        assert_eq!(failed_of(&mut s), ZmtpError::AuthenticationFailed);
        assert_eq!(failed_of(&mut c), ZmtpError::PeerError("400".into()));
        // Its panic refuses this client with 500.
        let mut c = client(b"boom", "pw");
        let mut s = Handshake::new(server_cfg()).unwrap();
        pump(&mut c, &mut s, 1000);
        assert_eq!(failed_of(&mut s), ZmtpError::AuthenticatorPanicked);
        assert_eq!(failed_of(&mut c), ZmtpError::PeerError("500".into()));
    }

    #[test]
    fn a_username_that_is_not_utf8_is_refused_by_the_closure() {
        let mut s = Handshake::new(config(Rep, MechanismConfig::plain_server(|_| true))).unwrap();
        let mut wire = greeting(1, MechanismName::PLAIN, false);
        Command::Hello {
            username: b"\xff".to_vec(),
            password: b"pw".to_vec(),
        }
        .encode_frame(&mut wire);
        assert_eq!(s.feed(&wire), Err(ZmtpError::AuthenticationFailed));
    }
}
