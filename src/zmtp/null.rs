//! The NULL mechanism (RFC 37): no authentication. Each side sends READY
//! with its metadata as soon as the greetings are exchanged and is done when
//! the peer's READY has been validated. An ERROR from the peer is fatal.
//!
//! With a ZAP domain, a NULL socket first asks whether the peer may in (as
//! libzmq 4.3's `null_mechanism_t`): its READY waits for the answer, and a
//! refusal sends ERROR with the status code instead (300: nothing). The
//! peer's READY may arrive meanwhile; it is validated and kept.

use super::command::Command;
use super::error::ZmtpError;
use super::mechanism::{reject, unexpected, validate_peer, Local, PeerInfo, Progress};

/// NULL's state.
#[derive(Debug, Default)]
pub(crate) struct Null {
    /// Ask about the peer before sending READY (a ZAP domain is set).
    asks: bool,
    ready_sent: bool,
    /// The peer's READY, validated, while our READY waits for the answer.
    peer: Option<PeerInfo>,
    done: bool,
}

impl Null {
    pub fn new(asks: bool) -> Null {
        Null {
            asks,
            ..Null::default()
        }
    }

    /// Sends our READY, or asks first.
    pub fn start(&mut self, local: &Local, out: &mut Vec<u8>) -> Progress {
        if self.asks {
            return Progress::Authenticate(Vec::new());
        }
        self.send_ready(local, out);
        Progress::Continue
    }

    fn send_ready(&mut self, local: &Local, out: &mut Vec<u8>) {
        Command::Ready(local.metadata.clone()).encode_frame(out);
        self.ready_sent = true;
    }

    /// The peer may in: our READY goes, and if the peer's came, we are done.
    pub fn on_authenticated(&mut self, local: &Local, out: &mut Vec<u8>) -> Progress {
        if self.ready_sent {
            return Progress::Continue;
        }
        self.send_ready(local, out);
        match self.peer.take() {
            Some(peer) => {
                self.done = true;
                Progress::Done(peer)
            }
            None => Progress::Continue,
        }
    }

    /// The command it waits for.
    pub fn expecting(&self) -> &'static str {
        if self.done || self.peer.is_some() {
            "nothing more"
        } else {
            "READY"
        }
    }

    pub fn on_command(
        &mut self,
        local: &Local,
        cmd: Command,
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        match cmd {
            Command::Ready(md) if !self.done && self.peer.is_none() => {
                match validate_peer(local.socket_type, md) {
                    Ok(peer) if self.ready_sent => {
                        self.done = true;
                        Ok(Progress::Done(peer))
                    }
                    Ok(peer) => {
                        self.peer = Some(peer);
                        Ok(Progress::Continue)
                    }
                    Err(e) => Err(reject(out, e)),
                }
            }
            other => Err(unexpected(other, "READY")),
        }
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

    fn ready(t: &str) -> Command {
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, t);
        Command::Ready(md)
    }

    #[test]
    fn sends_ready_and_accepts_a_compatible_peer() {
        let l = local(SocketType::Push);
        let mut m = Null::new(false);
        let mut out = Vec::new();
        assert_eq!(m.start(&l, &mut out), Progress::Continue);
        assert_eq!(&out[..8], b"\x04\x1a\x05READY");
        let mut out = Vec::new();
        let p = m.on_command(&l, ready("PULL"), &mut out).unwrap();
        assert!(matches!(p, Progress::Done(ref i) if i.socket_type == SocketType::Pull));
        assert!(out.is_empty());
        // A second READY is out of order.
        assert!(matches!(
            m.on_command(&l, ready("PULL"), &mut out),
            Err(ZmtpError::UnexpectedCommand { .. })
        ));
    }

    #[test]
    fn rejects_an_incompatible_peer_with_error() {
        let l = local(SocketType::Push);
        let mut out = Vec::new();
        let e = Null::new(false)
            .on_command(&l, ready("PUSH"), &mut out)
            .unwrap_err();
        assert!(matches!(e, ZmtpError::IncompatibleSocketType { .. }));
        assert_eq!(Command::decode(&out[2..]).unwrap().name(), b"ERROR");
    }

    #[test]
    fn peer_error_and_other_commands_are_fatal() {
        let l = local(SocketType::Pair);
        let mut out = Vec::new();
        assert_eq!(
            Null::new(false).on_command(
                &l,
                Command::Error {
                    reason: b"go away".to_vec()
                },
                &mut out
            ),
            Err(ZmtpError::PeerError("go away".into()))
        );
        let e = Null::new(false)
            .on_command(&l, Command::Welcome, &mut out)
            .unwrap_err();
        assert_eq!(
            e,
            ZmtpError::UnexpectedCommand {
                expected: "READY",
                got: "WELCOME".into()
            }
        );
    }

    #[test]
    fn with_a_domain_ready_waits_for_the_answer() {
        let l = local(SocketType::Push);
        // The peer's READY first, then the answer.
        let mut m = Null::new(true);
        let mut out = Vec::new();
        assert_eq!(m.start(&l, &mut out), Progress::Authenticate(Vec::new()));
        assert!(out.is_empty());
        assert_eq!(
            m.on_command(&l, ready("PULL"), &mut out),
            Ok(Progress::Continue)
        );
        assert_eq!(m.expecting(), "nothing more");
        assert!(out.is_empty());
        let p = m.on_authenticated(&l, &mut out);
        assert!(matches!(p, Progress::Done(ref i) if i.socket_type == SocketType::Pull));
        assert_eq!(&out[..8], b"\x04\x1a\x05READY");
        // The answer first, then the peer's READY.
        let mut m = Null::new(true);
        let mut out = Vec::new();
        m.start(&l, &mut out);
        assert_eq!(m.on_authenticated(&l, &mut out), Progress::Continue);
        assert_eq!(&out[..8], b"\x04\x1a\x05READY");
        assert!(matches!(
            m.on_command(&l, ready("PULL"), &mut out),
            Ok(Progress::Done(_))
        ));
    }
}
