//! The PLAIN mechanism (RFC 24): clear-text username and password.
//!
//! ```text
//! C: HELLO(username, password)   S: WELCOME | ERROR
//! C: INITIATE(metadata)          S: READY(metadata) | ERROR
//! ```
//!
//! The greeting's as-server flag says which side is which; the handshake
//! checks that there is exactly one server before either machine runs.

use super::command::Command;
use super::error::ZmtpError;
use super::mechanism::{reject, unexpected, validate_peer, Local, Progress};

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
    /// HELLO taken; the handshake is asking whether the client may in.
    WaitAuth,
    WaitInitiate,
    Done,
}

/// PLAIN's server side. It does not judge credentials itself: at HELLO it
/// asks ([`Progress::Authenticate`] with the username and password), and
/// the handshake decides (ERROR "400" and the like are the handshake's).
pub(crate) struct PlainServer {
    state: ServerState,
}

impl PlainServer {
    pub fn new() -> PlainServer {
        PlainServer {
            state: ServerState::WaitHello,
        }
    }

    /// The command it waits for.
    pub fn expecting(&self) -> &'static str {
        match self.state {
            ServerState::WaitHello => "HELLO",
            ServerState::WaitAuth => "nothing before the authentication decision",
            ServerState::WaitInitiate => "INITIATE",
            ServerState::Done => "nothing more",
        }
    }

    /// The client may in: WELCOME.
    pub fn on_authenticated(&mut self, out: &mut Vec<u8>) -> Result<Progress, ZmtpError> {
        if self.state != ServerState::WaitAuth {
            return Err(ZmtpError::InvalidConfig(
                "a PLAIN server is admitted only after a HELLO",
            ));
        }
        Command::Welcome.encode_frame(out);
        self.state = ServerState::WaitInitiate;
        Ok(Progress::Continue)
    }

    pub fn on_command(
        &mut self,
        local: &Local,
        cmd: Command,
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        match (self.state, cmd) {
            (ServerState::WaitHello, Command::Hello { username, password }) => {
                self.state = ServerState::WaitAuth;
                Ok(Progress::Authenticate(vec![username, password]))
            }
            (ServerState::WaitInitiate, Command::Initiate(md)) => {
                match validate_peer(local.socket_type, md) {
                    Ok(peer) => {
                        Command::Ready(local.metadata.clone()).encode_frame(out);
                        self.state = ServerState::Done;
                        Ok(Progress::Done(peer))
                    }
                    Err(e) => Err(reject(out, e)),
                }
            }
            (state, other) => Err(unexpected(other, self.expecting_in(state))),
        }
    }

    fn expecting_in(&self, state: ServerState) -> &'static str {
        PlainServer { state }.expecting()
    }
}

#[cfg(test)]
mod tests {
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
        PlainServer::new()
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
    fn server_asks_at_hello_and_welcomes_once_admitted() {
        let l = local(SocketType::Router);
        let mut s = server();
        let mut out = Vec::new();
        assert_eq!(
            s.on_command(&l, hello(b"admin", b"pw"), &mut out),
            Ok(Progress::Authenticate(vec![
                b"admin".to_vec(),
                b"pw".to_vec()
            ]))
        );
        assert!(out.is_empty(), "nothing goes before the decision");
        assert_eq!(s.on_authenticated(&mut out), Ok(Progress::Continue));
        assert_eq!(decode_frames(&out), vec![Command::Welcome]);
        assert!(s.on_authenticated(&mut out).is_err(), "admitted once");
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
    fn server_takes_nothing_while_it_waits_for_the_decision() {
        let l = local(SocketType::Router);
        let mut s = server();
        let mut out = Vec::new();
        s.on_command(&l, hello(b"u", b"p"), &mut out).unwrap();
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "DEALER");
        assert!(matches!(
            s.on_command(&l, Command::Initiate(md), &mut out),
            Err(ZmtpError::UnexpectedCommand { .. })
        ));
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
        s.on_authenticated(&mut out).unwrap();
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
