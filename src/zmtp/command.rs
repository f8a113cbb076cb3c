//! ZMTP command bodies and metadata properties.
//!
//! A command body is a name length (1 octet), the name, and data whose
//! grammar depends on the name:
//!
//! | command | data |
//! |---|---|
//! | READY, INITIATE | metadata: properties `name-len(1) name value-len(4, BE) value` |
//! | ERROR | reason length (1), reason |
//! | HELLO | username length (1), username, password length (1), password |
//! | WELCOME | nothing |
//! | PING | TTL (2, BE, deciseconds), context (0-16 octets) |
//! | PONG | the PING's context |
//! | SUBSCRIBE, CANCEL | the topic (the rest of the body) |

use super::error::ZmtpError;
use super::frame::FrameHeader;
use super::frame::FrameKind;

/// The longest PING context RFC 37 allows; a PONG echoes at most this much.
pub const MAX_PING_CONTEXT: usize = 16;
/// The longest value a metadata property may have (2^31-1).
pub const MAX_PROPERTY_VALUE: usize = i32::MAX as usize;
/// Property name of the sender's socket type.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// Property name of the sender's routing id.
pub const IDENTITY: &str = "Identity";
/// Property name of the resource the sender connects to (ZMTP 3.1).
pub const RESOURCE: &str = "Resource";

/// Metadata properties, in the order they were sent or added. Names compare
/// without regard to case; a name may repeat, and lookups find the first.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    properties: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.properties
                    .iter()
                    .map(|(k, v)| (k, v.escape_ascii().to_string())),
            )
            .finish()
    }
}

/// Whether `name` follows RFC 37's property-name grammar: 1 to 255 octets of
/// `A-Z a-z 0-9 - _ . +`.
pub fn is_valid_property_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
}

impl Metadata {
    /// No properties.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Appends a property. The caller keeps to the grammar (see
    /// [`is_valid_property_name`], [`MAX_PROPERTY_VALUE`]); the handshake
    /// checks its configuration before building metadata.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.properties.push((name.into(), value.into()));
    }

    /// The value of the first property called `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// All properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The number of properties.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// The encoded size in octets.
    pub fn encoded_len(&self) -> usize {
        self.properties
            .iter()
            .map(|(k, v)| 1 + k.len() + 4 + v.len())
            .sum()
    }

    /// Appends the properties' wire form to `out`. Names longer than 255
    /// octets and values longer than 2^31-1 are not representable; the
    /// handshake's configuration check keeps them out.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for (k, v) in &self.properties {
            out.push(k.len() as u8);
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
    }

    /// Parses properties filling all of `data`. Names must be 1 to 255
    /// printable ASCII octets (the grammar's character set is not enforced on
    /// what peers send); values at most 2^31-1 octets.
    pub fn decode(mut data: &[u8]) -> Result<Metadata, ZmtpError> {
        let mut md = Metadata::new();
        while let Some((&name_len, rest)) = data.split_first() {
            let name_len = usize::from(name_len);
            if name_len == 0 {
                return Err(ZmtpError::MalformedProperty("empty property name"));
            }
            let (name, rest) = split(rest, name_len).ok_or(ZmtpError::MalformedProperty(
                "property name runs past the end",
            ))?;
            if !name.iter().all(|b| b.is_ascii_graphic()) {
                return Err(ZmtpError::MalformedProperty(
                    "property name is not printable ASCII",
                ));
            }
            let (len, rest) = split(rest, 4).ok_or(ZmtpError::MalformedProperty(
                "property value size runs past the end",
            ))?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len > MAX_PROPERTY_VALUE {
                return Err(ZmtpError::MalformedProperty(
                    "property value above 2^31-1 octets",
                ));
            }
            let (value, rest) = split(rest, len).ok_or(ZmtpError::MalformedProperty(
                "property value runs past the end",
            ))?;
            // Printable ASCII is valid UTF-8.
            let name = String::from_utf8_lossy(name).into_owned();
            md.push(name, value);
            data = rest;
        }
        Ok(md)
    }
}

/// `data` cut after `n` octets, if it has that many.
/// A command body's name and the data after it, looked at before the data
/// is parsed (a handshake refuses an unexpected command unread).
pub(crate) fn split_name(body: &[u8]) -> Result<(&[u8], &[u8]), ZmtpError> {
    let (&name_len, rest) = body
        .split_first()
        .ok_or(ZmtpError::MalformedCommand("empty command frame"))?;
    if name_len == 0 {
        return Err(ZmtpError::MalformedCommand("empty command name"));
    }
    split(rest, usize::from(name_len)).ok_or(ZmtpError::MalformedCommand(
        "command name runs past the end",
    ))
}

fn split(data: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (data.len() >= n).then(|| data.split_at(n))
}

/// A ZMTP command of the NULL and PLAIN mechanisms or of ZMTP 3.1 traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// READY: the sender's metadata; ends the NULL handshake and PLAIN's.
    Ready(Metadata),
    /// ERROR: a fatal handshake error with a reason of up to 255 octets.
    Error {
        /// The reason text (for logs; no defined meaning).
        reason: Vec<u8>,
    },
    /// PLAIN's HELLO: the client's credentials, each up to 255 octets.
    Hello {
        /// The username.
        username: Vec<u8>,
        /// The password.
        password: Vec<u8>,
    },
    /// PLAIN's WELCOME: the server accepted the credentials.
    Welcome,
    /// PLAIN's INITIATE: the client's metadata.
    Initiate(Metadata),
    /// PING (3.1): a heartbeat asking for a PONG.
    Ping {
        /// How long, in tenths of a second, the receiver may wait for more
        /// traffic before it considers the sender dead (0: no hint).
        ttl_deciseconds: u16,
        /// Octets the PONG echoes (RFC 37 allows up to 16; longer ones are
        /// accepted and the PONG echoes the first 16, as libzmq does).
        context: Vec<u8>,
    },
    /// PONG (3.1): the answer to a PING.
    Pong {
        /// The PING's context.
        context: Vec<u8>,
    },
    /// SUBSCRIBE (3.1): subscribe to messages starting with the topic.
    Subscribe(Vec<u8>),
    /// CANCEL (3.1): drop one subscription to the topic.
    Cancel(Vec<u8>),
    /// JOIN (3.1, libzmq's draft DISH): send me the messages of the group.
    Join(Vec<u8>),
    /// LEAVE (3.1, libzmq's draft DISH): stop sending me the group's.
    Leave(Vec<u8>),
    /// Any other command, kept as it came.
    Unknown {
        /// The command name.
        name: Vec<u8>,
        /// The data after the name.
        data: Vec<u8>,
    },
}

impl Command {
    /// The command name as it goes on the wire.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => b"READY",
            Command::Error { .. } => b"ERROR",
            Command::Hello { .. } => b"HELLO",
            Command::Welcome => b"WELCOME",
            Command::Initiate(_) => b"INITIATE",
            Command::Ping { .. } => b"PING",
            Command::Pong { .. } => b"PONG",
            Command::Subscribe(_) => b"SUBSCRIBE",
            Command::Cancel(_) => b"CANCEL",
            Command::Join(_) => b"JOIN",
            Command::Leave(_) => b"LEAVE",
            Command::Unknown { name, .. } => name,
        }
    }

    fn data_len(&self) -> usize {
        match self {
            Command::Ready(md) | Command::Initiate(md) => md.encoded_len(),
            Command::Error { reason } => 1 + reason.len(),
            Command::Hello { username, password } => 2 + username.len() + password.len(),
            Command::Welcome => 0,
            Command::Ping { context, .. } => 2 + context.len(),
            Command::Pong { context } => context.len(),
            Command::Subscribe(t) | Command::Cancel(t) | Command::Join(t) | Command::Leave(t) => {
                t.len()
            }
            Command::Unknown { data, .. } => data.len(),
        }
    }

    /// The size of the command body.
    pub fn body_len(&self) -> usize {
        1 + self.name().len() + self.data_len()
    }

    /// Appends the command body to `out`. Lengths that do not fit their
    /// 1-octet fields (names, ERROR reasons, HELLO credentials above 255
    /// octets) are cut to 255 octets; the handshake checks its configuration
    /// so its own commands never are.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        let name = self.name();
        let name = &name[..name.len().min(255)];
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        match self {
            Command::Ready(md) | Command::Initiate(md) => md.encode(out),
            Command::Error { reason } => put_short(out, reason),
            Command::Hello { username, password } => {
                put_short(out, username);
                put_short(out, password);
            }
            Command::Welcome => {}
            Command::Ping {
                ttl_deciseconds,
                context,
            } => {
                out.extend_from_slice(&ttl_deciseconds.to_be_bytes());
                out.extend_from_slice(context);
            }
            Command::Pong { context } => out.extend_from_slice(context),
            Command::Subscribe(t) | Command::Cancel(t) | Command::Join(t) | Command::Leave(t) => {
                out.extend_from_slice(t)
            }
            Command::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Appends the whole command frame (header and body) to `out`.
    pub fn encode_frame(&self, out: &mut Vec<u8>) {
        let mut body = Vec::with_capacity(self.body_len());
        self.encode_body(&mut body);
        FrameHeader::new(FrameKind::Command, body.len()).write(out);
        out.extend_from_slice(&body);
    }

    /// Parses a command body. Unknown names give [`Command::Unknown`];
    /// known commands whose data breaks their grammar give
    /// [`ZmtpError::MalformedCommand`] or [`ZmtpError::MalformedProperty`].
    pub fn decode(body: &[u8]) -> Result<Command, ZmtpError> {
        let (name, data) = split_name(body)?;
        Ok(match name {
            b"READY" => Command::Ready(Metadata::decode(data)?),
            b"INITIATE" => Command::Initiate(Metadata::decode(data)?),
            b"ERROR" => {
                let (reason, rest) = get_short(data).ok_or(ZmtpError::MalformedCommand(
                    "ERROR reason runs past the end",
                ))?;
                if !rest.is_empty() {
                    return Err(ZmtpError::MalformedCommand("octets after the ERROR reason"));
                }
                Command::Error {
                    reason: reason.to_vec(),
                }
            }
            b"HELLO" => {
                let (username, rest) = get_short(data).ok_or(ZmtpError::MalformedCommand(
                    "HELLO username runs past the end",
                ))?;
                let (password, rest) = get_short(rest).ok_or(ZmtpError::MalformedCommand(
                    "HELLO password runs past the end",
                ))?;
                if !rest.is_empty() {
                    return Err(ZmtpError::MalformedCommand(
                        "octets after the HELLO password",
                    ));
                }
                Command::Hello {
                    username: username.to_vec(),
                    password: password.to_vec(),
                }
            }
            b"WELCOME" => {
                if !data.is_empty() {
                    return Err(ZmtpError::MalformedCommand("WELCOME carries data"));
                }
                Command::Welcome
            }
            b"PING" => {
                let (ttl, context) =
                    split(data, 2).ok_or(ZmtpError::MalformedCommand("PING without a TTL"))?;
                Command::Ping {
                    ttl_deciseconds: u16::from_be_bytes([ttl[0], ttl[1]]),
                    context: context.to_vec(),
                }
            }
            b"PONG" => Command::Pong {
                context: data.to_vec(),
            },
            b"SUBSCRIBE" => Command::Subscribe(data.to_vec()),
            b"CANCEL" => Command::Cancel(data.to_vec()),
            b"JOIN" => Command::Join(data.to_vec()),
            b"LEAVE" => Command::Leave(data.to_vec()),
            _ => Command::Unknown {
                name: name.to_vec(),
                data: data.to_vec(),
            },
        })
    }
}

/// Appends a 1-octet length and up to 255 octets of `s`.
fn put_short(out: &mut Vec<u8>, s: &[u8]) {
    let s = &s[..s.len().min(255)];
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

/// Reads a 1-octet length and that many octets.
fn get_short(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&len, rest) = data.split_first()?;
    split(rest, usize::from(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libzmq's DEALER with an empty routing id sends exactly this READY.
    const LIBZMQ_DEALER_READY: &[u8] =
        b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00";

    fn dealer_ready() -> Command {
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "DEALER");
        md.push(IDENTITY, Vec::new());
        Command::Ready(md)
    }

    fn round_trip(cmd: Command) {
        let mut body = Vec::new();
        cmd.encode_body(&mut body);
        assert_eq!(body.len(), cmd.body_len());
        assert_eq!(Command::decode(&body).unwrap(), cmd);
    }

    #[test]
    fn libzmq_dealer_ready_byte_exact() {
        let mut out = Vec::new();
        dealer_ready().encode_frame(&mut out);
        assert_eq!(out.len(), 43);
        assert_eq!(out, LIBZMQ_DEALER_READY);
        let cmd = Command::decode(&LIBZMQ_DEALER_READY[2..]).unwrap();
        assert_eq!(cmd, dealer_ready());
        let Command::Ready(md) = cmd else {
            unreachable!()
        };
        assert_eq!(md.get("socket-type"), Some(&b"DEALER"[..]));
        assert_eq!(md.get("IDENTITY"), Some(&b""[..]));
        assert_eq!(md.get("Resource"), None);
    }

    /// libzmq 4.3.4's dish_session_t writes "\4JOIN" / "\5LEAVE" and the
    /// group, as a command frame.
    #[test]
    fn join_and_leave_as_libzmq_writes_them() {
        let mut out = Vec::new();
        Command::Join(b"tv".to_vec()).encode_frame(&mut out);
        assert_eq!(out, b"\x04\x07\x04JOINtv");
        let mut out = Vec::new();
        Command::Leave(b"tv".to_vec()).encode_frame(&mut out);
        assert_eq!(out, b"\x04\x08\x05LEAVEtv");
        assert_eq!(
            Command::decode(b"\x04JOIN").unwrap(),
            Command::Join(Vec::new())
        );
        assert_eq!(
            Command::decode(b"\x05LEAVEab").unwrap(),
            Command::Leave(b"ab".to_vec())
        );
        // Not JOIN: a longer name that starts the same.
        assert!(matches!(
            Command::decode(b"\x05JOINS").unwrap(),
            Command::Unknown { .. }
        ));
    }

    #[test]
    fn round_trips() {
        round_trip(dealer_ready());
        round_trip(Command::Ready(Metadata::new()));
        let mut md = Metadata::new();
        md.push(SOCKET_TYPE, "ROUTER");
        md.push("X-Big", vec![9u8; 1000]);
        md.push(RESOURCE, "system/name-service/test");
        round_trip(Command::Initiate(md));
        round_trip(Command::Error {
            reason: b"400".to_vec(),
        });
        round_trip(Command::Error { reason: Vec::new() });
        round_trip(Command::Hello {
            username: b"admin".to_vec(),
            password: b"secret".to_vec(),
        });
        round_trip(Command::Hello {
            username: Vec::new(),
            password: Vec::new(),
        });
        round_trip(Command::Welcome);
        round_trip(Command::Ping {
            ttl_deciseconds: 0x1234,
            context: b"ctx".to_vec(),
        });
        round_trip(Command::Pong {
            context: vec![1; 16],
        });
        round_trip(Command::Subscribe(b"topic".to_vec()));
        round_trip(Command::Subscribe(Vec::new()));
        round_trip(Command::Cancel(b"\x00\x01".to_vec()));
        round_trip(Command::Join(b"weather".to_vec()));
        round_trip(Command::Leave(Vec::new()));
        round_trip(Command::Unknown {
            name: b"FUTURE".to_vec(),
            data: b"group".to_vec(),
        });
    }

    #[test]
    fn wire_forms() {
        let mut b = Vec::new();
        Command::Ping {
            ttl_deciseconds: 50,
            context: Vec::new(),
        }
        .encode_body(&mut b);
        assert_eq!(b, b"\x04PING\x00\x32");
        let mut b = Vec::new();
        Command::Welcome.encode_body(&mut b);
        assert_eq!(b, b"\x07WELCOME");
        let mut b = Vec::new();
        Command::Hello {
            username: b"u".to_vec(),
            password: b"pw".to_vec(),
        }
        .encode_body(&mut b);
        assert_eq!(b, b"\x05HELLO\x01u\x02pw");
        let mut b = Vec::new();
        Command::Subscribe(b"A".to_vec()).encode_body(&mut b);
        assert_eq!(b, b"\x09SUBSCRIBEA");
        // A READY above 255 octets goes in a long command frame.
        let mut md = Metadata::new();
        md.push("X-Pad", vec![0u8; 300]);
        let mut out = Vec::new();
        Command::Ready(md).encode_frame(&mut out);
        assert_eq!(out[0], 0x06);
        assert_eq!(out.len(), 9 + 6 + 1 + 5 + 4 + 300);
    }

    #[test]
    fn malformed_commands() {
        use ZmtpError::MalformedCommand as C;
        let cases: &[&[u8]] = &[
            b"",
            b"\x00",
            b"\x05REA",
            b"\x05ERROR",
            b"\x05ERROR\x03ab",
            b"\x05ERROR\x01abc",
            b"\x05HELLO",
            b"\x05HELLO\x02u",
            b"\x05HELLO\x01u",
            b"\x05HELLO\x01u\x01pX",
            b"\x07WELCOMEx",
            b"\x04PING",
            b"\x04PING\x00",
        ];
        for body in cases {
            assert!(
                matches!(Command::decode(body), Err(C(_))),
                "{:?}",
                body.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn malformed_properties() {
        use ZmtpError::MalformedProperty as P;
        let cases: &[&[u8]] = &[
            b"\x05READY\x00\x00\x00\x00\x00",
            b"\x05READY\x05Ident",
            b"\x05READY\x02ab\x00\x00",
            b"\x05READY\x02ab\x00\x00\x00\x05abc",
            b"\x05READY\x02ab\x80\x00\x00\x00",
            b"\x05READY\x02a b\x00\x00\x00\x00",
            b"\x08INITIATE\x01",
        ];
        for body in cases {
            assert!(
                matches!(Command::decode(body), Err(P(_))),
                "{:?}",
                body.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn long_ping_contexts_are_accepted() {
        let mut body = b"\x04PING\x00\x01".to_vec();
        body.extend_from_slice(&[7; 20]);
        assert_eq!(
            Command::decode(&body).unwrap(),
            Command::Ping {
                ttl_deciseconds: 1,
                context: vec![7; 20]
            }
        );
    }

    #[test]
    fn names_are_case_insensitive_and_validated() {
        let mut md = Metadata::new();
        md.push("X-Hello", "1");
        md.push("x-hello", "2");
        assert_eq!(md.get("X-HELLO"), Some(&b"1"[..]));
        assert_eq!(md.len(), 2);
        assert!(!md.is_empty());
        assert_eq!(md.iter().count(), 2);
        assert!(is_valid_property_name("Socket-Type"));
        assert!(is_valid_property_name("X-a.b_c+d9"));
        assert!(!is_valid_property_name(""));
        assert!(!is_valid_property_name("a b"));
        assert!(!is_valid_property_name(&"x".repeat(256)));
        assert!(format!("{md:?}").contains("X-Hello"));
    }

    #[test]
    fn command_names_are_exact() {
        // A lower-case "ready" is not READY.
        assert_eq!(
            Command::decode(b"\x05ready").unwrap(),
            Command::Unknown {
                name: b"ready".to_vec(),
                data: Vec::new()
            }
        );
    }
}
