//! PLAIN and CURVE security options, as libzmq has them
//! (`ZMQ_PLAIN_SERVER`, `_USERNAME`, `_PASSWORD`, `ZMQ_CURVE_SERVER`,
//! `_PUBLICKEY`, `_SECRETKEY`, `_SERVERKEY`, `ZMQ_ZAP_DOMAIN`,
//! `ZMQ_ZAP_ENFORCE_DOMAIN`), plus the authenticator closures a zeroring
//! PLAIN or CURVE server may ask in place of a ZAP handler.
//!
//! CURVE with neither an authenticator nor a ZAP handler admits every
//! client whose handshake succeeds (it must know the server's public key,
//! and it proves it holds its own key pair), as libzmq's CURVE server does
//! without a ZAP handler (unless `ZMQ_ZAP_ENFORCE_DOMAIN`); with
//! [`Socket::set_curve_authenticator`] the server decides from the
//! client's public key, and a ZAP handler gets that key as the credential.
//!
//! Like every tcp option they apply to connections made by later `bind` and
//! `connect` calls. inproc never authenticates, as in libzmq.
//!
//! Who decides whether a peer may in, in this order: the socket's
//! authenticator closure (PLAIN only), else the ZAP handler (RFC 27) the
//! application bound at `inproc://zeromq.zap.01` in the socket's context,
//! asked without blocking anything else (see [`crate::zmtp::zap`]). With
//! neither, a PLAIN server refuses every client: it closes the connection
//! at the client's HELLO, sending no ERROR. libzmq 4.3's PLAIN server does
//! exactly that when no ZAP handler is installed (its
//! `plain_server_t::process_hello` fails when `zap_connect` finds no
//! handler), unlike its NULL and CURVE mechanisms, which then accept
//! everyone unless `ZMQ_ZAP_ENFORCE_DOMAIN` is set. Its clients retry after
//! RECONNECT_IVL, as after any lost connection.
//!
//! A client with bad credentials gets RFC 24's ERROR "400". libzmq's own
//! PLAIN code spells that command's name with the C literal `"\x05ERROR"`,
//! which reads as `"\x5eRROR"`: its server sends, and its client expects,
//! that malformed command. So a libzmq 4.3.4 client refused by zeroring
//! reports a protocol error (`ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`)
//! where a libzmq server would have it report an authentication failure
//! (400); either way it then stops reconnecting. zeroring sends the RFC's
//! form, which every conformant peer reads.

use super::Socket;
use crate::error::{Error, Result};
use crate::zmtp::curve::parse_key;
use crate::zmtp::{
    Authenticator, CurveAuthenticator, CurveCredentials, CurveSecretKey, PlainCredentials,
};
use std::sync::Arc;

/// Which mechanism the options chose.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    #[default]
    Null,
    Plain,
    Curve,
}

/// A socket's security settings; libzmq keeps the same state (a mechanism,
/// the as-server flag, the credentials and keys) and the last option set
/// wins.
#[derive(Clone, Default)]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) struct Security {
    kind: Kind,
    as_server: bool,
    username: String,
    password: String,
    zap_domain: String,
    zap_enforce_domain: bool,
    authenticator: Option<Authenticator>,
    curve_public: [u8; 32],
    curve_secret: Option<CurveSecretKey>,
    curve_server: [u8; 32],
    curve_authenticator: Option<CurveAuthenticator>,
}

impl Security {
    /// The mechanism a new connection's handshake runs.
    #[cfg(not(loom))]
    pub fn mechanism(&self) -> crate::zmtp::MechanismConfig {
        use crate::zmtp::MechanismConfig;
        // Unset keys are zeros, as in libzmq (a handshake with them fails).
        let secret = || {
            self.curve_secret
                .clone()
                .unwrap_or_else(|| CurveSecretKey::from_bytes([0; 32]))
        };
        match (self.kind, self.as_server) {
            (Kind::Null, _) => MechanismConfig::Null,
            (Kind::Plain, true) => MechanismConfig::PlainServer {
                authenticator: self.authenticator.clone(),
            },
            (Kind::Plain, false) => MechanismConfig::plain_client(&*self.username, &*self.password),
            (Kind::Curve, true) => MechanismConfig::CurveServer {
                secret_key: secret(),
                authenticator: self.curve_authenticator.clone(),
            },
            (Kind::Curve, false) => {
                MechanismConfig::curve_client(self.curve_public, secret(), self.curve_server)
            }
        }
    }

    /// `ZMQ_ZAP_DOMAIN`.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn zap_domain(&self) -> &str {
        &self.zap_domain
    }

    /// `ZMQ_ZAP_ENFORCE_DOMAIN`.
    #[cfg_attr(loom, allow(dead_code))]
    pub fn zap_enforce_domain(&self) -> bool {
        self.zap_enforce_domain
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("kind", &self.kind)
            .field("as_server", &self.as_server)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("zap_domain", &self.zap_domain)
            .field("zap_enforce_domain", &self.zap_enforce_domain)
            .field("authenticator", &self.authenticator.is_some())
            .field("curve_public", &crate::zmtp::curve::z85(&self.curve_public))
            .field(
                "curve_secret",
                &self.curve_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("curve_server", &crate::zmtp::curve::z85(&self.curve_server))
            .field("curve_authenticator", &self.curve_authenticator.is_some())
            .finish()
    }
}

/// A PLAIN credential or ZAP domain: at most 255 bytes (one length octet
/// on the wire).
fn check_len(value: &str, what: &'static str) -> Result<()> {
    if value.len() > 255 {
        return Err(Error::InvalidArgument(what));
    }
    Ok(())
}

impl Socket {
    /// `ZMQ_PLAIN_SERVER`: `true` makes this socket a PLAIN server, which
    /// asks the [authenticator](Self::set_plain_authenticator) about each
    /// client, or without one the context's ZAP handler (bound at
    /// `inproc://zeromq.zap.01`); `false` goes back to NULL security.
    ///
    /// With neither, every client is refused: its connection is closed at
    /// its HELLO, with no ERROR, and it retries after its RECONNECT_IVL.
    /// That is what libzmq 4.3's PLAIN server does when no ZAP handler is
    /// installed (unlike its NULL and CURVE mechanisms, which then let
    /// everyone in unless `ZMQ_ZAP_ENFORCE_DOMAIN` is set).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_plain_server(&self, on: bool) -> Result<()> {
        let sec = &mut self.core()?.opts.security;
        sec.kind = if on { Kind::Plain } else { Kind::Null };
        sec.as_server = on;
        Ok(())
    }

    /// Whether this socket is a PLAIN server.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_plain_server(&self) -> Result<bool> {
        let c = self.core()?;
        Ok(c.opts.security.kind == Kind::Plain && c.opts.security.as_server)
    }

    /// `ZMQ_PLAIN_USERNAME`: the username this socket sends as a PLAIN
    /// client (1 to 255 bytes). Setting one makes the socket a PLAIN
    /// client; `None` goes back to NULL security, as in libzmq.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty value or one over 255 bytes;
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_plain_username(&self, username: Option<&str>) -> Result<()> {
        self.set_credential(username, |sec, v| sec.username = v)
    }

    /// The username set with [`set_plain_username`](Self::set_plain_username)
    /// (empty if none).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_plain_username(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.core()?.opts.security.username.to_string()))
    }

    /// `ZMQ_PLAIN_PASSWORD`: the password this socket sends as a PLAIN
    /// client (1 to 255 bytes). Setting one makes the socket a PLAIN
    /// client; `None` goes back to NULL security, as in libzmq.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty value or one over 255 bytes;
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_plain_password(&self, password: Option<&str>) -> Result<()> {
        self.set_credential(password, |sec, v| sec.password = v)
    }

    /// The password set with [`set_plain_password`](Self::set_plain_password)
    /// (empty if none).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_plain_password(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.core()?.opts.security.password.to_string()))
    }

    fn set_credential(
        &self,
        value: Option<&str>,
        store: impl FnOnce(&mut Security, String),
    ) -> Result<()> {
        let sec = &mut self.core()?.opts.security;
        match value {
            None => sec.kind = Kind::Null,
            Some(v) => {
                if v.is_empty() {
                    return Err(Error::InvalidArgument(
                        "PLAIN credentials are 1 to 255 bytes (None turns PLAIN off)",
                    ));
                }
                check_len(v, "PLAIN credentials are 1 to 255 bytes")?;
                store(sec, v.to_owned());
                sec.kind = Kind::Plain;
                sec.as_server = false;
            }
        }
        Ok(())
    }

    /// `ZMQ_ZAP_DOMAIN`: the domain (at most 255 bytes) each
    /// authentication request carries (to the authenticator, or the ZAP
    /// handler), so one handler can serve several sockets.
    ///
    /// With NULL security, setting a domain turns ZAP on, as in libzmq 4.3:
    /// each peer of a later connection is let in only once the ZAP handler
    /// bound at `inproc://zeromq.zap.01` in this socket's context says 200
    /// (the request's mechanism is "NULL", with no credentials). Without a
    /// handler, peers are let in unless
    /// [`ZAP_ENFORCE_DOMAIN`](Self::set_zap_enforce_domain) is set.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for more than 255 bytes; the errors of a
    /// closed socket.
    pub fn set_zap_domain(&self, domain: &str) -> Result<()> {
        check_len(domain, "the ZAP domain is at most 255 bytes")?;
        self.core()?.opts.security.zap_domain = domain.to_owned();
        Ok(())
    }

    /// `ZMQ_ZAP_ENFORCE_DOMAIN` (libzmq 4.3's draft option): with NULL
    /// security and a [ZAP domain](Self::set_zap_domain), a peer is refused
    /// when no ZAP handler is bound (its connection is closed, the monitor
    /// says `HANDSHAKE_FAILED_NO_DETAIL` with `EFAULT`), where by default it
    /// is let in. A PLAIN server refuses then anyway.
    ///
    /// # Errors
    ///
    /// The errors of a closed socket.
    pub fn set_zap_enforce_domain(&self, on: bool) -> Result<()> {
        self.core()?.opts.security.zap_enforce_domain = on;
        Ok(())
    }

    /// Whether [`set_zap_enforce_domain`](Self::set_zap_enforce_domain) is on.
    ///
    /// # Errors
    ///
    /// The errors of a closed socket.
    pub fn get_zap_enforce_domain(&self) -> Result<bool> {
        Ok(self.core()?.opts.security.zap_enforce_domain)
    }

    /// The security mechanism of connections made from now on
    /// (`ZMQ_MECHANISM`): PLAIN once a PLAIN option is set, CURVE once a
    /// CURVE option is, NULL again when a credential is set to `None` or
    /// the server option to `false`, as libzmq.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_mechanism(&self) -> Result<crate::Mechanism> {
        Ok(match self.core()?.opts.security.kind {
            Kind::Null => crate::Mechanism::ZMQ_NULL,
            Kind::Plain => crate::Mechanism::ZMQ_PLAIN,
            Kind::Curve => crate::Mechanism::ZMQ_CURVE,
        })
    }

    /// The domain set with [`set_zap_domain`](Self::set_zap_domain).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_zap_domain(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.core()?.opts.security.zap_domain.to_string()))
    }

    /// Decides which clients a PLAIN server lets in: called on the context's
    /// I/O thread for each client's HELLO, with its username, password,
    /// address and this socket's ZAP domain; `true` admits it, `false` sends
    /// it ERROR "400" and closes the connection, as a libzmq server does
    /// when its ZAP handler says 400. A zeroring client then tries again
    /// after RECONNECT_IVL. A libzmq 4.3.4 client stops reconnecting, as it
    /// does when a libzmq server refuses it, but reports a protocol error
    /// rather than an authentication failure: libzmq spells ERROR's name
    /// with the C literal `"\x05ERROR"` (which reads as `"\x5eRROR"`), so it
    /// only recognises its own malformed ERROR.
    ///
    /// It stands in for a ZAP handler (and is asked instead of one, if both
    /// are there), so it should answer quickly: it runs on the I/O thread
    /// that serves every connection of the context. A client it admits has
    /// its username as its messages' "User-Id". A slow decision belongs in
    /// a ZAP handler, which is asked without blocking anything else. If it panics, that client is refused as by a ZAP handler's
    /// internal error: it gets ERROR "500", both sides' monitors report
    /// `HANDSHAKE_FAILED_AUTH` with 500, and every other connection goes on.
    ///
    /// ```
    /// use zeroring::{Context, SocketType};
    /// let ctx = Context::new();
    /// let rep = ctx.socket(SocketType::Rep).unwrap();
    /// rep.set_plain_server(true).unwrap();
    /// rep.set_plain_authenticator(|c| c.username == "admin" && c.password == b"secret")
    ///     .unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_plain_authenticator(
        &self,
        authenticate: impl Fn(&PlainCredentials<'_>) -> bool + Send + Sync + 'static,
    ) -> Result<()> {
        self.core()?.opts.security.authenticator = Some(Arc::new(authenticate));
        Ok(())
    }
}

/// A CURVE key as the options take it: 32 bytes, or 40 Z85 characters
/// (41 with a terminating NUL, as libzmq's C API takes it).
fn curve_key(value: &[u8]) -> Result<[u8; 32]> {
    parse_key(value).ok_or(Error::InvalidArgument(
        "a CURVE key is 32 bytes or 40 Z85 characters",
    ))
}

impl Socket {
    /// `ZMQ_CURVE_SERVER`: `true` makes this socket a CURVE server (it
    /// needs its secret key, [`set_curve_secretkey`](Self::set_curve_secretkey));
    /// `false` goes back to NULL security, as in libzmq.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_curve_server(&self, on: bool) -> Result<()> {
        let sec = &mut self.core()?.opts.security;
        sec.kind = if on { Kind::Curve } else { Kind::Null };
        sec.as_server = on;
        Ok(())
    }

    /// Whether this socket is a CURVE server.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn is_curve_server(&self) -> Result<bool> {
        let c = self.core()?;
        Ok(c.opts.security.kind == Kind::Curve && c.opts.security.as_server)
    }

    /// `ZMQ_CURVE_PUBLICKEY`: this socket's long-term public key, 32 bytes
    /// or 40 Z85 characters. A CURVE client needs it (the server learns it);
    /// setting it makes the socket use CURVE, as in libzmq.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a key of another length or a bad Z85
    /// character; [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive.
    pub fn set_curve_publickey(&self, key: &[u8]) -> Result<()> {
        let key = curve_key(key)?;
        let sec = &mut self.core()?.opts.security;
        sec.curve_public = key;
        sec.kind = Kind::Curve;
        Ok(())
    }

    /// `ZMQ_CURVE_SECRETKEY`: this socket's long-term secret key, 32 bytes
    /// or 40 Z85 characters. Both CURVE roles need it; setting it makes the
    /// socket use CURVE, as in libzmq. It is kept zeroized-on-drop and
    /// never shown by `Debug`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a key of another length or a bad Z85
    /// character; [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive.
    pub fn set_curve_secretkey(&self, key: &[u8]) -> Result<()> {
        let mut key = curve_key(key)?;
        let secret = CurveSecretKey::from_bytes(key);
        zeroize::Zeroize::zeroize(&mut key);
        let sec = &mut self.core()?.opts.security;
        sec.curve_secret = Some(secret);
        sec.kind = Kind::Curve;
        Ok(())
    }

    /// `ZMQ_CURVE_SERVERKEY`: the long-term public key of the server this
    /// socket connects to, 32 bytes or 40 Z85 characters. Setting it makes
    /// the socket a CURVE client, as in libzmq.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a key of another length or a bad Z85
    /// character; [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive.
    pub fn set_curve_serverkey(&self, key: &[u8]) -> Result<()> {
        let key = curve_key(key)?;
        let sec = &mut self.core()?.opts.security;
        sec.curve_server = key;
        sec.kind = Kind::Curve;
        sec.as_server = false;
        Ok(())
    }

    /// The public key set with [`set_curve_publickey`](Self::set_curve_publickey),
    /// 32 bytes (zeros if none); `z85_encode` gives its text form.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_curve_publickey(&self) -> Result<Vec<u8>> {
        Ok(self.core()?.opts.security.curve_public.to_vec())
    }

    /// The secret key set with [`set_curve_secretkey`](Self::set_curve_secretkey),
    /// 32 bytes (zeros if none), as libzmq gives it.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_curve_secretkey(&self) -> Result<Vec<u8>> {
        Ok(self
            .core()?
            .opts
            .security
            .curve_secret
            .as_ref()
            .map_or_else(|| vec![0; 32], |k| k.as_bytes().to_vec()))
    }

    /// The server key set with [`set_curve_serverkey`](Self::set_curve_serverkey),
    /// 32 bytes (zeros if none).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_curve_serverkey(&self) -> Result<Vec<u8>> {
        Ok(self.core()?.opts.security.curve_server.to_vec())
    }

    /// Decides which clients a CURVE server lets in: called on the
    /// context's I/O thread once a client's INITIATE has proved it holds the
    /// secret of its long-term public key, with that key, its address and
    /// this socket's ZAP domain (what a libzmq ZAP handler gets for CURVE;
    /// [`CurveCredentials::public_key_z85`] is the User-Id such handlers
    /// usually give). `true` admits it; `false` sends it ERROR "400" and
    /// closes the connection, and both sides' monitors report
    /// `HANDSHAKE_FAILED_AUTH` with 400, as with a libzmq server whose ZAP
    /// handler says 400. A panic refuses that client with 500.
    ///
    /// Without one, the context's ZAP handler is asked (the credential is
    /// the client's 32-byte public key); without that either, every client
    /// whose handshake succeeds is admitted, as by libzmq's CURVE server
    /// without a ZAP handler, unless `ZMQ_ZAP_ENFORCE_DOMAIN` is set.
    ///
    /// ```
    /// use zeroring::{Context, CurveKeyPair, SocketType};
    /// let ctx = Context::new();
    /// let server = CurveKeyPair::new().unwrap();
    /// let allowed = CurveKeyPair::new().unwrap().public_key;
    /// let rep = ctx.socket(SocketType::Rep).unwrap();
    /// rep.set_curve_server(true).unwrap();
    /// rep.set_curve_secretkey(&server.secret_key).unwrap();
    /// rep.set_curve_authenticator(move |c| *c.public_key == allowed).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_curve_authenticator(
        &self,
        authenticate: impl Fn(&CurveCredentials<'_>) -> bool + Send + Sync + 'static,
    ) -> Result<()> {
        self.core()?.opts.security.curve_authenticator = Some(Arc::new(authenticate));
        Ok(())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::zmtp::MechanismConfig;
    use crate::{Context, SocketType};

    #[test]
    fn plain_options_follow_libzmq() {
        let ctx = Context::new();
        let s = ctx.socket(SocketType::Dealer).unwrap();
        let mech = |s: &crate::Socket| s.core().unwrap().opts.security.mechanism();
        assert!(matches!(mech(&s), MechanismConfig::Null));

        s.set_plain_username(Some("admin")).unwrap();
        assert!(matches!(mech(&s), MechanismConfig::PlainClient { .. }));
        s.set_plain_password(Some("pw")).unwrap();
        assert_eq!(s.get_plain_username().unwrap().unwrap(), "admin");
        assert_eq!(s.get_plain_password().unwrap().unwrap(), "pw");
        assert!(!s.get_plain_server().unwrap());

        s.set_plain_server(true).unwrap();
        assert!(s.get_plain_server().unwrap());
        assert!(matches!(
            mech(&s),
            MechanismConfig::PlainServer {
                authenticator: None,
            }
        ));
        s.set_zap_domain("global").unwrap();
        s.set_plain_authenticator(|_| true).unwrap();
        match mech(&s) {
            MechanismConfig::PlainServer { authenticator } => {
                assert!(authenticator.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.core().unwrap().opts.security.zap_domain(), "global");
        assert!(!s.get_zap_enforce_domain().unwrap());
        s.set_zap_enforce_domain(true).unwrap();
        assert!(s.get_zap_enforce_domain().unwrap());

        // A credential makes it a client again; None or false go to NULL.
        s.set_plain_password(Some("pw2")).unwrap();
        assert!(!s.get_plain_server().unwrap());
        s.set_plain_password(None).unwrap();
        assert!(matches!(mech(&s), MechanismConfig::Null));
        s.set_plain_server(true).unwrap();
        s.set_plain_server(false).unwrap();
        assert!(matches!(mech(&s), MechanismConfig::Null));

        assert!(s.set_plain_username(Some("")).is_err());
        assert!(s.set_plain_username(Some(&"u".repeat(256))).is_err());
        assert!(s.set_zap_domain(&"d".repeat(256)).is_err());
        s.set_zap_domain("").unwrap();
        assert!(!format!("{:?}", s.core().unwrap().opts.security).contains("pw2"));
    }
}
