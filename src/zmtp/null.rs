//! The NULL mechanism (RFC 37): no authentication. Each side sends READY
//! with its metadata as soon as the greetings are exchanged and is done when
//! the peer's READY has been validated. An ERROR from the peer is fatal.

use super::command::Command;
use super::error::ZmtpError;
use super::mechanism::{reject, unexpected, validate_peer, Local, Progress};

/// NULL's state: READY sent, waiting for the peer's.
#[derive(Debug, Default)]
pub(crate) struct Null {
    done: bool,
}

impl Null {
    pub fn new() -> Null {
        Null::default()
    }

    /// Sends our READY.
    pub fn start(&mut self, local: &Local, out: &mut Vec<u8>) {
        Command::Ready(local.metadata.clone()).encode_frame(out);
    }

    /// The command it waits for.
    pub fn expecting(&self) -> &'static str {
        if self.done {
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
            Command::Ready(md) if !self.done => match validate_peer(local.socket_type, md) {
                Ok(peer) => {
                    self.done = true;
                    Ok(Progress::Done(peer))
                }
                Err(e) => Err(reject(out, e)),
            },
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
        let mut m = Null::new();
        let mut out = Vec::new();
        m.start(&l, &mut out);
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
        let e = Null::new()
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
            Null::new().on_command(
                &l,
                Command::Error {
                    reason: b"go away".to_vec()
                },
                &mut out
            ),
            Err(ZmtpError::PeerError("go away".into()))
        );
        let e = Null::new()
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
}
