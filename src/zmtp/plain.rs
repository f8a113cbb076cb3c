//! The PLAIN mechanism (RFC 24): clear-text username and password.
//!
//! ```text
//! C: HELLO(username, password)   S: WELCOME | ERROR
//! C: INITIATE(metadata)          S: READY(metadata) | ERROR
//! ```
//!
//! The greeting's as-server flag says which side is which; the handshake
//! checks that there is exactly one server before either machine runs.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use super::command::Command;
use super::error::ZmtpError;
use super::mechanism::{
    reject, unexpected, validate_peer, Authenticator, Local, PlainCredentials, Progress,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    WaitWelcome,
    WaitReady,
    Done,
}

/// PLAIN's client side.
pub(crate) struct PlainClient {
    hello: Command,
    state: ClientState,
}

impl PlainClient {
    pub fn new(username: &[u8], password: &[u8]) -> PlainClient {
        PlainClient {
            hello: Command::Hello {
                username: username.to_vec(),
                password: password.to_vec(),
            },
            state: ClientState::WaitWelcome,
        }
    }

    /// Sends HELLO.
    pub fn start(&mut self, out: &mut Vec<u8>) {
        self.hello.encode_frame(out);
    }

    /// The command it waits for.
    pub fn expecting(&self) -> &'static str {
        match self.state {
            ClientState::WaitWelcome => "WELCOME",
            ClientState::WaitReady => "READY",
            ClientState::Done => "nothing more",
        }
    }

    pub fn on_command(
        &mut self,
        local: &Local,
        cmd: Command,
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        match (self.state, cmd) {
            (ClientState::WaitWelcome, Command::Welcome) => {
                Command::Initiate(local.metadata.clone()).encode_frame(out);
                self.state = ClientState::WaitReady;
                Ok(Progress::Continue)
            }
            (ClientState::WaitReady, Command::Ready(md)) => {
                match validate_peer(local.socket_type, md) {
                    Ok(peer) => {
                        self.state = ClientState::Done;
                        Ok(Progress::Done(peer))
                    }
                    Err(e) => Err(reject(out, e)),
                }
            }
            (ClientState::WaitWelcome, other) => Err(unexpected(other, "WELCOME")),
            (ClientState::WaitReady, other) => Err(unexpected(other, "READY")),
            (ClientState::Done, other) => Err(unexpected(other, "nothing more")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    WaitHello,
    WaitInitiate,
    Done,
}

/// PLAIN's server side.
pub(crate) struct PlainServer {
    authenticator: Option<Authenticator>,
    zap_domain: String,
    peer_address: Option<SocketAddr>,
    state: ServerState,
    /// The username the authenticator accepted: the connection's User-Id,
    /// as a ZAP handler's reply gives libzmq's.
    user: Option<String>,
}

impl PlainServer {
    pub fn new(
        authenticator: Option<Authenticator>,
        zap_domain: String,
        peer_address: Option<SocketAddr>,
    ) -> PlainServer {
        PlainServer {
            authenticator,
            zap_domain,
            peer_address,
            state: ServerState::WaitHello,
            user: None,
        }
    }

    /// Asks the authenticator about a HELLO's credentials.
    fn authenticate(&mut self, username: &[u8], password: &[u8]) -> Result<(), ZmtpError> {
        let Some(authenticator) = &self.authenticator else {
            return Err(ZmtpError::NoAuthenticator);
        };
        // RFC 24 usernames are printable ASCII; one that is not UTF-8
        // cannot be shown to the authenticator, so it is refused.
        let Ok(username) = std::str::from_utf8(username) else {
            return Err(ZmtpError::AuthenticationFailed);
        };
        let credentials = PlainCredentials {
            username,
            password,
            peer_address: self.peer_address,
            zap_domain: &self.zap_domain,
        };
        // User code on the I/O thread: a panic there must refuse this
        // client only, not end every connection the thread carries.
        // Unwind-safe enough: the closure only reads `credentials`, which
        // nothing uses after a panic, and our own state is not touched; the
        // authenticator's state is its owner's, as a ZAP handler's is.
        match std::panic::catch_unwind(AssertUnwindSafe(|| authenticator(&credentials))) {
            Ok(true) => {
                self.user = Some(username.to_owned());
                Ok(())
            }
            Ok(false) => Err(ZmtpError::AuthenticationFailed),
            Err(_) => Err(ZmtpError::AuthenticatorPanicked),
        }
    }

    /// The command it waits for.
    pub fn expecting(&self) -> &'static str {
        match self.state {
            ServerState::WaitHello => "HELLO",
            ServerState::WaitInitiate => "INITIATE",
            ServerState::Done => "nothing more",
        }
    }

    pub fn on_command(
        &mut self,
        local: &Local,
        cmd: Command,
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        match (self.state, cmd) {
            (ServerState::WaitHello, Command::Hello { username, password }) => {
                match self.authenticate(&username, &password) {
                    Ok(()) => {}
                    // No ERROR: libzmq without a ZAP handler just closes, and
                    // its clients retry as after any lost connection (a
                    // libzmq 4.3 client takes an ERROR for a protocol error
                    // and never retries).
                    Err(e @ ZmtpError::NoAuthenticator) => return Err(e),
                    Err(e) => return Err(reject(out, e)),
                }
                Command::Welcome.encode_frame(out);
                self.state = ServerState::WaitInitiate;
                Ok(Progress::Continue)
            }
            (ServerState::WaitInitiate, Command::Initiate(md)) => {
                match validate_peer(local.socket_type, md) {
                    Ok(mut peer) => {
                        peer.user_id = self.user.take();
                        Command::Ready(local.metadata.clone()).encode_frame(out);
                        self.state = ServerState::Done;
                        Ok(Progress::Done(peer))
                    }
                    Err(e) => Err(reject(out, e)),
                }
            }
            (ServerState::WaitHello, other) => Err(unexpected(other, "HELLO")),
            (ServerState::WaitInitiate, other) => Err(unexpected(other, "INITIATE")),
            (ServerState::Done, other) => Err(unexpected(other, "nothing more")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::zmtp::command::{Metadata, SOCKET_TYPE};
    use crate::SocketType;

    fn local(t: SocketType) -> Local {
        let mut metadata = Metadata::new();
        metadata.push(SOCKET_TYPE, t.name());
        Local {
            socket_type: t,
            metadata,
        }
    }

    fn decode_frames(out: &[u8]) -> Vec<Command> {
        let mut d = crate::zmtp::frame::FrameDecoder::new(None);
        let mut rest = out;
        let mut cmds = Vec::new();
        while let (n, Some(f)) = d.decode(rest).unwrap() {
            rest = &rest[n..];
            cmds.push(Command::decode(&f.body).unwrap());
        }
        cmds
    }

    fn server() -> PlainServer {
        PlainServer::new(
            Some(Arc::new(|c: &PlainCredentials<'_>| {
                c.username == "admin" && c.password == b"pw"
            })),
            String::new(),
            None,
        )
    }

    fn hello(u: &[u8], p: &[u8]) -> Command {
        Command::Hello {
            username: u.to_vec(),
            password: p.to_vec(),
        }
    }

    #[test]
    fn client_flow() {
        let l = local(SocketType::Dealer);
        let mut c = PlainClient::new(b"admin", b"pw");
        let mut out = Vec::new();
        c.start(&mut out);
        assert_eq!(decode_frames(&out), vec![hello(b"admin", b"pw")]);
        let mut out = Vec::new();
        assert_eq!(
            c.on_command(&l, Command::Welcome, &mut out),
            Ok(Progress::Continue)
        );
        assert_eq!(
            decode_frames(&out),
            vec![Command::Initiate(l.metadata.clone())]
        );
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "ROUTER");
        let p = c.on_command(&l, Command::Ready(md), &mut out).unwrap();
        assert!(matches!(p, Progress::Done(ref i) if i.socket_type == SocketType::Router));
    }

    #[test]
    fn client_sees_server_error() {
        let l = local(SocketType::Dealer);
        let mut c = PlainClient::new(b"admin", b"bad");
        let mut out = Vec::new();
        assert_eq!(
            c.on_command(
                &l,
                Command::Error {
                    reason: b"400".to_vec()
                },
                &mut out
            ),
            Err(ZmtpError::PeerError("400".into()))
        );
        let mut c = PlainClient::new(b"admin", b"bad");
        assert!(matches!(
            c.on_command(&l, Command::Ready(Metadata::new()), &mut out),
            Err(ZmtpError::UnexpectedCommand {
                expected: "WELCOME",
                ..
            })
        ));
    }

    #[test]
    fn server_accepts_good_credentials() {
        let l = local(SocketType::Router);
        let mut s = server();
        let mut out = Vec::new();
        assert_eq!(
            s.on_command(&l, hello(b"admin", b"pw"), &mut out),
            Ok(Progress::Continue)
        );
        assert_eq!(decode_frames(&out), vec![Command::Welcome]);
        let mut out = Vec::new();
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "DEALER");
        let p = s.on_command(&l, Command::Initiate(md), &mut out).unwrap();
        assert!(matches!(p, Progress::Done(_)));
        assert_eq!(
            decode_frames(&out),
            vec![Command::Ready(l.metadata.clone())]
        );
    }

    #[test]
    fn server_rejects_bad_credentials_with_error_400() {
        let l = local(SocketType::Router);
        for (u, p) in [
            (&b"admin"[..], &b"nope"[..]),
            (b"root", b"pw"),
            (b"\xff", b"pw"),
        ] {
            let mut out = Vec::new();
            assert_eq!(
                server().on_command(&l, hello(u, p), &mut out),
                Err(ZmtpError::AuthenticationFailed)
            );
            assert_eq!(
                decode_frames(&out),
                vec![Command::Error {
                    reason: b"400".to_vec()
                }]
            );
        }
    }

    #[test]
    fn server_shows_the_authenticator_address_and_domain() {
        let peer: SocketAddr = "192.0.2.7:4000".parse().unwrap();
        let seen = Arc::new(std::sync::Mutex::new(None));
        let record = seen.clone();
        let mut s = PlainServer::new(
            Some(Arc::new(move |c: &PlainCredentials<'_>| {
                *record.lock().unwrap() = Some((
                    c.username.to_owned(),
                    c.password.to_vec(),
                    c.peer_address,
                    c.zap_domain.to_owned(),
                ));
                true
            })),
            "global".into(),
            Some(peer),
        );
        let mut out = Vec::new();
        s.on_command(&local(SocketType::Rep), hello(b"u", b"p"), &mut out)
            .unwrap();
        assert_eq!(
            seen.lock().unwrap().clone(),
            Some(("u".into(), b"p".to_vec(), Some(peer), "global".into()))
        );
    }

    #[test]
    fn a_panicking_authenticator_refuses_with_error_500() {
        let mut s = PlainServer::new(
            Some(Arc::new(|c: &PlainCredentials<'_>| {
                assert_ne!(c.username, "boom", "the authenticator's own bug");
                true
            })),
            String::new(),
            None,
        );
        let mut out = Vec::new();
        assert_eq!(
            s.on_command(&local(SocketType::Rep), hello(b"boom", b"p"), &mut out),
            Err(ZmtpError::AuthenticatorPanicked)
        );
        assert_eq!(
            decode_frames(&out),
            vec![Command::Error {
                reason: b"500".to_vec()
            }]
        );
    }

    #[test]
    fn server_without_authenticator_refuses_without_error() {
        let mut s = PlainServer::new(None, String::new(), None);
        let mut out = Vec::new();
        assert_eq!(
            s.on_command(&local(SocketType::Rep), hello(b"u", b"p"), &mut out),
            Err(ZmtpError::NoAuthenticator)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn server_rejects_out_of_order_and_bad_metadata() {
        let l = local(SocketType::Router);
        let mut out = Vec::new();
        assert!(matches!(
            server().on_command(&l, Command::Initiate(Metadata::new()), &mut out),
            Err(ZmtpError::UnexpectedCommand {
                expected: "HELLO",
                ..
            })
        ));
        let mut s = server();
        s.on_command(&l, hello(b"admin", b"pw"), &mut out).unwrap();
        let mut out = Vec::new();
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "PUB");
        assert!(matches!(
            s.on_command(&l, Command::Initiate(md), &mut out),
            Err(ZmtpError::IncompatibleSocketType { .. })
        ));
        assert_eq!(decode_frames(&out)[0].name(), b"ERROR");
    }
}
