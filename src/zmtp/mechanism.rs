//! The security mechanism: configuration, the pieces NULL, PLAIN and CURVE
//! share (peer metadata validation, ERROR replies), and dispatch to each
//! one's state machine.

use std::net::SocketAddr;
use std::sync::Arc;

use super::command::{Command, Metadata, IDENTITY, SOCKET_TYPE};
use super::curve::{CurveClient, CurveCredentials, CurveSecretKey, CurveServer, MessageCipher};
use super::error::{escape, ZmtpError};
use super::greeting::MechanismName;
use super::null::Null;
use super::plain::{PlainClient, PlainServer};
use super::socket_type::check_peer;
use super::zap::{AuthAnswer, AuthReply, AuthRequest};
use crate::SocketType;

/// What a PLAIN server knows of a client when it decides whether to let it
/// in: what libzmq's ZAP request (RFC 27) carries for PLAIN.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct PlainCredentials<'a> {
    /// The username from the client's HELLO.
    pub username: &'a str,
    /// The password from the client's HELLO.
    pub password: &'a [u8],
    /// The client's address, when the transport knows it.
    pub peer_address: Option<SocketAddr>,
    /// The server socket's ZAP domain (`ZMQ_ZAP_DOMAIN`; empty when unset).
    pub zap_domain: &'a str,
}

impl std::fmt::Debug for PlainCredentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("peer_address", &self.peer_address)
            .field("zap_domain", &self.zap_domain)
            .finish()
    }
}

/// Decides whether a PLAIN client may connect (the part of a ZAP handler
/// libzmq users write). `true` lets it in.
pub type Authenticator = Arc<dyn Fn(&PlainCredentials<'_>) -> bool + Send + Sync>;

/// Decides whether a CURVE client may connect, from its long-term public
/// key (what libzmq's ZAP request carries for CURVE). `true` lets it in.
pub type CurveAuthenticator = Arc<dyn Fn(&CurveCredentials<'_>) -> bool + Send + Sync>;

/// Which security mechanism a connection uses, and in which role.
///
/// The role decides the greeting's as-server flag: a PLAIN or CURVE server
/// sends 1, their clients and NULL send 0.
#[derive(Clone, Default)]
pub enum MechanismConfig {
    /// No security (RFC 37's NULL): both sides send READY. With a ZAP
    /// domain (`HandshakeConfig::zap_domain`) the handshake asks whether
    /// the peer may in before sending its READY, as libzmq 4.3 does.
    #[default]
    Null,
    /// PLAIN client (RFC 24): sends HELLO with these credentials.
    PlainClient {
        /// Up to 255 octets.
        username: String,
        /// Up to 255 octets.
        password: Vec<u8>,
    },
    /// PLAIN server (RFC 24): asks about each client's HELLO and answers
    /// ERROR "400" when the answer is no.
    PlainServer {
        /// Answers at once for every client, on the handshake's caller.
        /// With none, the handshake asks its driver
        /// ([`HandshakeEvent::Authenticate`](super::HandshakeEvent::Authenticate)),
        /// which asks the context's ZAP handler; without one, every client's
        /// connection is closed at its HELLO, as libzmq 4.3's PLAIN server
        /// closes them when no ZAP handler is installed.
        authenticator: Option<Authenticator>,
    },
    /// CURVE client (RFC 26): knows the server's long-term public key and
    /// proves it holds its own key pair.
    CurveClient {
        /// Our long-term public key (C).
        public_key: [u8; 32],
        /// Our long-term secret key (c).
        secret_key: CurveSecretKey,
        /// The server's long-term public key (S).
        server_key: [u8; 32],
    },
    /// CURVE server (RFC 26): proves it holds the secret of the key its
    /// clients know, and learns each client's long-term public key, which
    /// it asks about once the client's INITIATE has vouched for it.
    CurveServer {
        /// Our long-term secret key (s); the public key is derived from it.
        secret_key: CurveSecretKey,
        /// Answers at once for every client, from its public key. With
        /// none, the handshake asks its driver (a ZAP handler, whose
        /// credential is the key); without one, every client whose
        /// handshake succeeds is admitted, as by libzmq's CURVE server
        /// without a ZAP handler (unless `ZMQ_ZAP_ENFORCE_DOMAIN`).
        authenticator: Option<CurveAuthenticator>,
    },
}

impl MechanismConfig {
    /// A PLAIN client with these credentials.
    pub fn plain_client(username: impl Into<String>, password: impl Into<Vec<u8>>) -> Self {
        MechanismConfig::PlainClient {
            username: username.into(),
            password: password.into(),
        }
    }

    /// A PLAIN server that admits the clients `authenticate` approves.
    pub fn plain_server(
        authenticate: impl Fn(&PlainCredentials<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        MechanismConfig::PlainServer {
            authenticator: Some(Arc::new(authenticate)),
        }
    }

    /// A PLAIN server that asks its driver (a ZAP handler) about each
    /// client.
    pub fn plain_server_zap() -> Self {
        MechanismConfig::PlainServer {
            authenticator: None,
        }
    }

    /// The mechanism name the greeting carries.
    pub fn name(&self) -> MechanismName {
        match self {
            MechanismConfig::Null => MechanismName::NULL,
            MechanismConfig::PlainClient { .. } | MechanismConfig::PlainServer { .. } => {
                MechanismName::PLAIN
            }
            MechanismConfig::CurveClient { .. } | MechanismConfig::CurveServer { .. } => {
                MechanismName::CURVE
            }
        }
    }

    /// A CURVE client with this key pair, for the server whose public key
    /// is `server_key`.
    pub fn curve_client(
        public_key: [u8; 32],
        secret_key: CurveSecretKey,
        server_key: [u8; 32],
    ) -> Self {
        MechanismConfig::CurveClient {
            public_key,
            secret_key,
            server_key,
        }
    }

    /// A CURVE server with this secret key and no authenticator (its
    /// driver is asked: a ZAP handler, or nobody, which admits everyone).
    pub fn curve_server(secret_key: CurveSecretKey) -> Self {
        MechanismConfig::CurveServer {
            secret_key,
            authenticator: None,
        }
    }

    /// The greeting's as-server flag.
    pub fn as_server(&self) -> bool {
        matches!(
            self,
            MechanismConfig::PlainServer { .. } | MechanismConfig::CurveServer { .. }
        )
    }

    /// Whether a peer is refused when there is nobody to ask about it
    /// ([`AuthAnswer::NoHandler`]): always for a PLAIN server (libzmq's
    /// `plain_server_t` fails without a ZAP handler); for NULL (and CURVE)
    /// only with `ZMQ_ZAP_ENFORCE_DOMAIN`.
    pub fn requires_handler(&self, enforce_domain: bool) -> bool {
        match self {
            MechanismConfig::PlainServer { .. } => true,
            _ => enforce_domain,
        }
    }

    /// The answer to `request` the configuration gives at once, if it holds
    /// an authenticator for it (the closure path); `None` when the driver
    /// must be asked. A panicking authenticator is the caller's to catch.
    pub(crate) fn answer_at_once(
        &self,
        request: &AuthRequest,
        peer_address: Option<SocketAddr>,
    ) -> Option<AuthAnswer> {
        if let MechanismConfig::CurveServer {
            authenticator: Some(authenticate),
            ..
        } = self
        {
            let Some(public_key) = request
                .credentials
                .first()
                .and_then(|k| <&[u8; 32]>::try_from(k.as_slice()).ok())
            else {
                return Some(AuthAnswer::Reply(AuthReply::refused(400)));
            };
            let credentials = CurveCredentials {
                public_key,
                peer_address,
                zap_domain: &request.domain,
            };
            return Some(AuthAnswer::Reply(if authenticate(&credentials) {
                // As czmq's zauth: a CURVE client is known by its key, in Z85.
                AuthReply::ok(credentials.public_key_z85())
            } else {
                AuthReply::refused(400)
            }));
        }
        let MechanismConfig::PlainServer {
            authenticator: Some(authenticate),
        } = self
        else {
            return None;
        };
        let [username, password] = request.credentials.as_slice() else {
            return Some(AuthAnswer::Reply(AuthReply::refused(400)));
        };
        // RFC 24 usernames are printable ASCII; one that is not UTF-8
        // cannot be shown to the authenticator, so it is refused.
        let Ok(username) = std::str::from_utf8(username) else {
            return Some(AuthAnswer::Reply(AuthReply::refused(400)));
        };
        let credentials = PlainCredentials {
            username,
            password,
            peer_address,
            zap_domain: &request.domain,
        };
        Some(AuthAnswer::Reply(if authenticate(&credentials) {
            // As czmq's zauth: a PLAIN client is known by its username.
            AuthReply::ok(username)
        } else {
            AuthReply::refused(400)
        }))
    }

    /// Checks what must fit the wire: credentials of at most 255 octets.
    pub(crate) fn validate(&self) -> Result<(), ZmtpError> {
        if let MechanismConfig::PlainClient { username, password } = self {
            if username.len() > 255 || password.len() > 255 {
                return Err(ZmtpError::InvalidConfig(
                    "PLAIN username and password are at most 255 octets",
                ));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for MechanismConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MechanismConfig::Null => f.write_str("Null"),
            MechanismConfig::PlainClient { username, .. } => f
                .debug_struct("PlainClient")
                .field("username", username)
                .field("password", &"<hidden>")
                .finish(),
            MechanismConfig::PlainServer { .. } => f.write_str("PlainServer"),
            MechanismConfig::CurveClient {
                public_key,
                server_key,
                ..
            } => f
                .debug_struct("CurveClient")
                .field("public_key", &super::curve::z85(public_key))
                .field("secret_key", &"<hidden>")
                .field("server_key", &super::curve::z85(server_key))
                .finish(),
            MechanismConfig::CurveServer { .. } => f.write_str("CurveServer"),
        }
    }
}

/// What the handshake learned about the peer from its validated metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type (compatible with ours).
    pub socket_type: SocketType,
    /// The peer's Identity property, when it sent one (0-255 octets).
    pub routing_id: Option<Vec<u8>>,
    /// All properties the peer sent, Socket-Type and Identity included.
    pub properties: Metadata,
}

/// Checks a peer's READY/INITIATE metadata against our socket type.
pub(crate) fn validate_peer(local: SocketType, md: Metadata) -> Result<PeerInfo, ZmtpError> {
    let peer = md.get(SOCKET_TYPE).ok_or(ZmtpError::MissingSocketType)?;
    let socket_type = check_peer(local, peer)?;
    let routing_id = md.get(IDENTITY).map(<[u8]>::to_vec);
    if routing_id.as_ref().is_some_and(|id| id.len() > 255) {
        return Err(ZmtpError::MalformedProperty(
            "Identity longer than 255 octets",
        ));
    }
    Ok(PeerInfo {
        socket_type,
        routing_id,
        properties: md,
    })
}

/// Writes an ERROR command telling the peer why we give up, and gives back
/// the error for our side.
pub(crate) fn reject(out: &mut Vec<u8>, e: ZmtpError) -> ZmtpError {
    let reason: &[u8] = match e {
        // libzmq's PLAIN server sends the ZAP status code.
        ZmtpError::AuthenticationFailed => b"400",
        ZmtpError::AuthenticatorPanicked | ZmtpError::AuthInternalError => b"500",
        ZmtpError::IncompatibleSocketType { .. } => b"Invalid socket type",
        ZmtpError::MissingSocketType => b"Missing socket type",
        _ => b"Invalid metadata",
    };
    Command::Error {
        reason: reason.to_vec(),
    }
    .encode_frame(out);
    e
}

/// An unexpected command: a peer's ERROR is reported as such; anything else
/// is out of order.
pub(crate) fn unexpected(cmd: Command, expected: &'static str) -> ZmtpError {
    match cmd {
        Command::Error { reason } => ZmtpError::PeerError(escape(&reason)),
        other => ZmtpError::UnexpectedCommand {
            expected,
            got: escape(other.name()),
        },
    }
}

/// What we announce about ourselves.
#[derive(Debug, Clone)]
pub(crate) struct Local {
    pub socket_type: SocketType,
    pub metadata: Metadata,
}

/// A mechanism's answer to a command.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Keep going.
    Continue,
    /// Ask whether the peer may in, with these credentials (none for NULL,
    /// username and password for PLAIN, the client's public key for
    /// CURVE). The handshake builds the request (domain, address, routing
    /// id, mechanism), gets the answer, decides from it, and on success
    /// calls [`Machine::on_authenticated`]; meanwhile the mechanism only
    /// sees the commands its state expects.
    Authenticate(Vec<Vec<u8>>),
    /// The handshake is complete; the peer is validated.
    Done(PeerInfo),
}

/// One connection's mechanism state machine.
pub(crate) enum Machine {
    Null(Null),
    PlainClient(PlainClient),
    PlainServer(PlainServer),
    CurveClient(Box<CurveClient>),
    CurveServer(Box<CurveServer>),
}

impl Machine {
    /// The machine for `config`; `zap_domain` is the socket's ZAP domain
    /// (NULL asks about its peer only when there is one).
    pub fn new(config: &MechanismConfig, zap_domain: &str) -> Machine {
        match config {
            MechanismConfig::Null => Machine::Null(Null::new(!zap_domain.is_empty())),
            MechanismConfig::PlainClient { username, password } => {
                Machine::PlainClient(PlainClient::new(username.as_bytes(), password))
            }
            MechanismConfig::PlainServer { .. } => Machine::PlainServer(PlainServer::new()),
            MechanismConfig::CurveClient {
                public_key,
                secret_key,
                server_key,
            } => Machine::CurveClient(Box::new(CurveClient::new(
                *public_key,
                secret_key.clone(),
                *server_key,
            ))),
            MechanismConfig::CurveServer { secret_key, .. } => {
                Machine::CurveServer(Box::new(CurveServer::new(secret_key.clone())))
            }
        }
    }

    /// Writes the commands to send once the greetings are exchanged (or
    /// asks first).
    pub fn start(&mut self, local: &Local, out: &mut Vec<u8>) -> Result<Progress, ZmtpError> {
        Ok(match self {
            Machine::Null(m) => m.start(local, out),
            Machine::PlainClient(m) => {
                m.start(out);
                Progress::Continue
            }
            Machine::CurveClient(m) => {
                m.start(out)?;
                Progress::Continue
            }
            Machine::PlainServer(_) | Machine::CurveServer(_) => Progress::Continue,
        })
    }

    /// The name of the command it waits for ("nothing more" once done).
    /// Anything else but an ERROR is refused before its data is parsed.
    pub fn expecting(&self) -> &'static str {
        match self {
            Machine::Null(m) => m.expecting(),
            Machine::PlainClient(m) => m.expecting(),
            Machine::PlainServer(m) => m.expecting(),
            Machine::CurveClient(m) => m.expecting(),
            Machine::CurveServer(m) => m.expecting(),
        }
    }

    /// Handles one command body from the peer, writing replies to `out`.
    /// NULL and PLAIN commands are parsed by their grammar; CURVE's are
    /// read by the CURVE machines (their data is boxes).
    pub fn on_command(
        &mut self,
        local: &Local,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        match self {
            Machine::Null(m) => m.on_command(local, Command::decode(body)?, out),
            Machine::PlainClient(m) => m.on_command(local, Command::decode(body)?, out),
            Machine::PlainServer(m) => m.on_command(local, Command::decode(body)?, out),
            Machine::CurveClient(m) => m.on_command(local, body, out),
            Machine::CurveServer(m) => m.on_command(local, body, out),
        }
    }

    /// Once done: the cipher the session's frames go through (CURVE), and
    /// the peer's long-term CURVE key (the server's for a client, the
    /// client's for a server).
    pub fn finish(&mut self) -> (Option<MessageCipher>, Option<[u8; 32]>) {
        match self {
            Machine::CurveClient(m) => (m.take_cipher(), Some(m.server_key())),
            Machine::CurveServer(m) => (m.take_cipher(), m.client_key()),
            _ => (None, None),
        }
    }

    /// The peer was admitted (after [`Progress::Authenticate`]): carry on.
    pub fn on_authenticated(
        &mut self,
        local: &Local,
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        match self {
            Machine::Null(m) => Ok(m.on_authenticated(local, out)),
            Machine::PlainServer(m) => m.on_authenticated(out),
            Machine::CurveServer(m) => m.on_authenticated(local, out),
            Machine::PlainClient(_) | Machine::CurveClient(_) => Err(ZmtpError::InvalidConfig(
                "a client is never asked to authenticate",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(pairs: &[(&str, &[u8])]) -> Metadata {
        let mut m = Metadata::new();
        for (k, v) in pairs {
            m.push(*k, *v);
        }
        m
    }

    #[test]
    fn validates_socket_type_and_identity() {
        let ok = validate_peer(
            SocketType::Router,
            md(&[("socket-type", b"DEALER"), ("IDENTITY", b"abc")]),
        )
        .unwrap();
        assert_eq!(ok.socket_type, SocketType::Dealer);
        assert_eq!(ok.routing_id.as_deref(), Some(&b"abc"[..]));

        let none = validate_peer(SocketType::Push, md(&[("Socket-Type", b"PULL")])).unwrap();
        assert_eq!(none.routing_id, None);

        assert_eq!(
            validate_peer(SocketType::Push, md(&[("X-A", b"1")])),
            Err(ZmtpError::MissingSocketType)
        );
        assert!(matches!(
            validate_peer(SocketType::Push, md(&[("Socket-Type", b"PUSH")])),
            Err(ZmtpError::IncompatibleSocketType { .. })
        ));
        let long = vec![1u8; 256];
        assert!(matches!(
            validate_peer(
                SocketType::Router,
                md(&[("Socket-Type", b"DEALER"), ("Identity", &long)])
            ),
            Err(ZmtpError::MalformedProperty(_))
        ));
    }

    #[test]
    fn config_roles_names_and_debug() {
        let c = MechanismConfig::plain_client("admin", "secret");
        assert_eq!(c.name(), MechanismName::PLAIN);
        assert!(!c.as_server());
        assert!(!format!("{c:?}").contains("secret"));
        let s = MechanismConfig::plain_server(|c| c.username == "admin" && c.password == b"secret");
        assert!(s.as_server());
        assert!(s.requires_handler(false));
        assert!(!MechanismConfig::Null.requires_handler(false));
        assert!(MechanismConfig::Null.requires_handler(true));
        assert_eq!(format!("{s:?}"), "PlainServer");
        assert!(!MechanismConfig::Null.as_server());
        assert_eq!(MechanismConfig::default().name(), MechanismName::NULL);
        assert!(MechanismConfig::plain_client("x".repeat(256), "")
            .validate()
            .is_err());
        assert!(MechanismConfig::plain_client("", vec![0; 256])
            .validate()
            .is_err());
        assert!(MechanismConfig::plain_client("u", vec![0; 255])
            .validate()
            .is_ok());
    }

    #[test]
    fn reject_writes_an_error_command() {
        let mut out = Vec::new();
        let e = reject(&mut out, ZmtpError::AuthenticationFailed);
        assert_eq!(e, ZmtpError::AuthenticationFailed);
        assert_eq!(out, b"\x04\x0a\x05ERROR\x03400");
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = PlainCredentials {
            username: "admin",
            password: b"secret",
            peer_address: None,
            zap_domain: "global",
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("admin") && shown.contains("global"));
        assert!(!shown.contains("secret"));
    }
}
