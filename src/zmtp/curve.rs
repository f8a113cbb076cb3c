//! The CURVE mechanism (RFC 26, CurveZMQ, as ZMTP 3.0 carries it in RFC 23),
//! byte for byte as libzmq 4.3 speaks it (`curve_client_tools.hpp`,
//! `curve_server.cpp`, `curve_mechanism_base.cpp`).
//!
//! ```text
//! C: HELLO    version 1.0, 72 octets of padding, C', short nonce,
//!             Box[64 zeros](C'->S)
//! S: WELCOME  long nonce, Box[S' + cookie](S->C')
//!             cookie = long nonce + SecretBox[C' + s'](cookie key)
//! C: INITIATE cookie, short nonce, Box[C + vouch nonce + vouch + metadata](C'->S')
//!             vouch = Box[C' + S](C->S')
//! S: READY    short nonce, Box[metadata](S'->C')      (or ERROR)
//! then        MESSAGE short nonce, Box[flags + frame body](C'<->S')
//!             (in a ZMTP message frame without flags, as libzmq sends it;
//!             MORE and COMMAND travel in the boxed flags)
//! ```
//!
//! Every box is NaCl's `crypto_box` (X25519, XSalsa20, Poly1305): the
//! handshake's from RustCrypto's `crypto_box` and `crypto_secretbox` (the
//! cookie too), MESSAGE's put together from the same primitives (X25519
//! from `curve25519-dalek`, XSalsa20 from `salsa20`, Poly1305 from `orion`)
//! for speed: see `MessageCipher`. A box on the wire is the 16-octet
//! Poly1305 tag and then the ciphertext, as NaCl lays it out. Nothing here
//! implements a primitive.
//!
//! Nonces: each side counts its short nonces from 1 (the client's HELLO is 1,
//! its INITIATE 2; the server's READY is 1), and a MESSAGE's nonce must be
//! above the last one the peer used, as libzmq checks, so a replayed or
//! reordered MESSAGE closes the connection. The long nonces (WELCOME, the
//! cookie's, the vouch's) are random. The server makes a fresh short-term
//! key pair for each connection and a fresh cookie key for each WELCOME, as
//! libzmq does, and forgets the cookie key once the INITIATE has used it,
//! so a replayed INITIATE cannot be opened.
//!
//! Secrets (long-term and short-term secret keys, the cookie key, the
//! precomputed connection key) are zeroized when dropped and never shown by
//! `Debug`.

use std::net::SocketAddr;

use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadInPlace, KeyInit, OsRng};
use crypto_box::SalsaBox;
use crypto_secretbox::XSalsa20Poly1305;
use curve25519_dalek::montgomery::MontgomeryPoint;
use orion::hazardous::mac::poly1305::{OneTimeKey, Poly1305, Tag};
use salsa20::cipher::consts::U10;
use salsa20::cipher::{KeyIvInit, StreamCipher};
use salsa20::Salsa20;
use zeroize::{Zeroize, Zeroizing};

use super::command::{Command, Metadata};
use super::error::ZmtpError;
use super::frame::{FrameHeader, FrameKind};
use super::mechanism::{reject, unexpected, validate_peer, Local, Progress};

/// The size of a CURVE key, public or secret.
pub const KEY_LEN: usize = 32;
/// What a MESSAGE adds to a frame body: the name (8), the short nonce (8),
/// the tag (16) and the flags octet (1).
pub const MESSAGE_OVERHEAD: usize = 8 + 8 + TAG_LEN + 1;

const TAG_LEN: usize = 16;
const HELLO_NONCE: &[u8; 16] = b"CurveZMQHELLO---";
const WELCOME_NONCE: &[u8; 8] = b"WELCOME-";
const COOKIE_NONCE: &[u8; 8] = b"COOKIE--";
const VOUCH_NONCE: &[u8; 8] = b"VOUCH---";
const INITIATE_NONCE: &[u8; 16] = b"CurveZMQINITIATE";
const READY_NONCE: &[u8; 16] = b"CurveZMQREADY---";
const MESSAGE_C: &[u8; 16] = b"CurveZMQMESSAGEC";
const MESSAGE_S: &[u8; 16] = b"CurveZMQMESSAGES";
const MESSAGE_NAME: &[u8] = b"\x07MESSAGE";
/// MESSAGE flags: the frame continues, the frame is a command.
const FLAG_MORE: u8 = 0x01;
const FLAG_COMMAND: u8 = 0x02;

/// The HELLO body is exactly 200 octets (RFC 26; libzmq refuses others).
const HELLO_LEN: usize = 200;
/// The WELCOME body is exactly 168 octets.
const WELCOME_LEN: usize = 168;
/// An INITIATE body has at least this many octets (empty metadata).
const INITIATE_MIN: usize = 257;

/// A CURVE secret key: zeroized when dropped, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct CurveSecretKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurveSecretKey(<hidden>)")
    }
}

impl CurveSecretKey {
    /// The key with these 32 octets.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> CurveSecretKey {
        CurveSecretKey(Zeroizing::new(bytes))
    }

    /// A new random key from the operating system's generator.
    ///
    /// # Errors
    ///
    /// [`ZmtpError::Cryptographic`] if the operating system has no random
    /// octets to give.
    pub fn generate() -> Result<CurveSecretKey, ZmtpError> {
        let mut key = CurveSecretKey::from_bytes([0; KEY_LEN]);
        random(&mut key.0[..])?;
        Ok(key)
    }

    /// The key's octets.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The public key that goes with this secret key (X25519's base point
    /// multiplication, as libzmq's `zmq_curve_public`).
    pub fn public_key(&self) -> [u8; KEY_LEN] {
        self.with_key(|sk| sk.public_key().to_bytes())
    }

    /// Runs `f` with the key as `crypto_box` wants it, wiped afterwards
    /// (`crypto_box::SecretKey` zeroizes only part of itself when dropped).
    fn with_key<R>(&self, f: impl FnOnce(&crypto_box::SecretKey) -> R) -> R {
        struct Wiped(crypto_box::SecretKey);
        impl Drop for Wiped {
            fn drop(&mut self) {
                // SAFETY: `crypto_box::SecretKey` is two 32-octet arrays (the
                // key and its clamped scalar): no pointers, no references,
                // and all zeros is a valid value of each; nothing reads the
                // key after this but its own `Drop`, which zeroizes again.
                unsafe { zeroize::zeroize_flat_type(&mut self.0 as *mut crypto_box::SecretKey) }
            }
        }
        let key = Wiped(crypto_box::SecretKey::from_bytes(*self.0));
        f(&key.0)
    }

    /// The connection key between this (transient) key and the peer's:
    /// NaCl's `crypto_box_beforenm`, HSalsa20 of the X25519 shared secret,
    /// computed once per connection for READY, INITIATE and every MESSAGE.
    fn connection_key(&self, peer: &[u8; KEY_LEN]) -> ConnectionKey {
        // X25519 as NaCl and libsodium compute it (the scalar clamped).
        let shared = Zeroizing::new(MontgomeryPoint(*peer).mul_clamped(*self.0).to_bytes());
        ConnectionKey(Zeroizing::new(
            salsa20::hsalsa::<U10>(GenericArray::from_slice(&shared[..]), &[0; 16].into()).into(),
        ))
    }

    /// The precomputed box key between this key and `peer` (NaCl's
    /// `crypto_box_beforenm`); it zeroizes itself when dropped.
    fn salsa_box(&self, peer: &[u8; KEY_LEN]) -> SalsaBox {
        let peer = crypto_box::PublicKey::from_bytes(*peer);
        self.with_key(|sk| SalsaBox::new(&peer, sk))
    }
}

/// A connection's precomputed box key (NaCl's `crypto_box_beforenm`):
/// zeroized when dropped.
pub(crate) struct ConnectionKey(Zeroizing<[u8; KEY_LEN]>);

impl ConnectionKey {
    /// The key as a box (READY's and INITIATE's).
    fn secretbox(&self) -> XSalsa20Poly1305 {
        XSalsa20Poly1305::new(GenericArray::from_slice(&self.0[..]))
    }
}

/// Fills `buf` from the operating system's generator.
fn random(buf: &mut [u8]) -> Result<(), ZmtpError> {
    OsRng
        .try_fill_bytes(buf)
        .map_err(|_| ZmtpError::Cryptographic("the operating system gave no random octets"))
}

/// A 24-octet nonce: a 16-octet prefix and a short (counter) nonce.
fn short_nonce(prefix: &[u8; 16], n: u64) -> [u8; 24] {
    let mut nonce = [0; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&n.to_be_bytes());
    nonce
}

/// A 24-octet nonce: an 8-octet prefix and 16 octets (random, or the
/// peer's).
fn long_nonce(prefix: &[u8; 8], tail: &[u8; 16]) -> [u8; 24] {
    let mut nonce = [0; 24];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(tail);
    nonce
}

/// 16 random octets for a long nonce.
fn random_tail() -> Result<[u8; 16], ZmtpError> {
    let mut tail = [0; 16];
    random(&mut tail)?;
    Ok(tail)
}

/// Appends NaCl's box of `plaintext` (tag, then ciphertext) to `out`.
fn seal<A: AeadInPlace>(cipher: &A, nonce: &[u8; 24], plaintext: &[u8], out: &mut Vec<u8>) {
    let tag_at = out.len();
    out.extend_from_slice(&[0; TAG_LEN]);
    out.extend_from_slice(plaintext);
    let (head, body) = out.split_at_mut(tag_at + TAG_LEN);
    // Salsa20's keystream covers 2^70 octets and we give no associated
    // data: encryption cannot fail.
    if let Ok(tag) = cipher.encrypt_in_place_detached(GenericArray::from_slice(nonce), b"", body) {
        head[tag_at..].copy_from_slice(&tag);
    }
}

/// Opens NaCl's box `boxed` (tag, then ciphertext), giving the plaintext in
/// memory that is zeroized when dropped; `None` if it does not open.
fn open<A: AeadInPlace>(cipher: &A, nonce: &[u8; 24], boxed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (tag, ciphertext) = boxed.split_at_checked(TAG_LEN)?;
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            b"",
            &mut plain,
            GenericArray::from_slice(tag),
        )
        .ok()?;
    Some(plain)
}

/// A command that is not the one expected (an ERROR is the peer's).
fn out_of_order(body: &[u8], expected: &'static str) -> ZmtpError {
    match super::command::split_name(body) {
        Ok((b"ERROR", _)) => match Command::decode(body) {
            Ok(cmd) => unexpected(cmd, expected),
            Err(e) => e,
        },
        Ok((name, _)) => ZmtpError::UnexpectedCommand {
            expected,
            got: super::error::escape(name),
        },
        Err(e) => e,
    }
}

fn malformed(command: &'static str, reason: &'static str) -> ZmtpError {
    ZmtpError::MalformedCurveCommand { command, reason }
}

fn key_at(data: &[u8], at: usize) -> [u8; KEY_LEN] {
    let mut key = [0; KEY_LEN];
    key.copy_from_slice(&data[at..at + KEY_LEN]);
    key
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut n = [0; 8];
    n.copy_from_slice(&data[at..at + 8]);
    u64::from_be_bytes(n)
}

/// Writes a command frame whose body is `body`.
fn command_frame(out: &mut Vec<u8>, body: &[u8]) {
    FrameHeader::new(FrameKind::Command, body.len()).write(out);
    out.extend_from_slice(body);
}

/// MESSAGE encryption once the handshake is done: each direction's key,
/// our next short nonce and the peer's last one.
///
/// A MESSAGE box is NaCl's `crypto_box_afternm` (XSalsa20 and Poly1305)
/// under the connection key with the nonce prefix + short nonce. XSalsa20
/// is HSalsa20 of the key and the nonce's first 16 octets, then Salsa20
/// with the last 8; the first 16 are one direction's fixed prefix
/// (`CurveZMQMESSAGEC` or `...S`), so each direction's HSalsa20 is done
/// once, here, not per frame. Poly1305 is orion's: RustCrypto's `poly1305`
/// 0.8 and 0.9 choose their AVX2 code on any CPU that has AVX2, where a
/// short message's tag costs about 20 times its portable code's (about
/// 0.8 against 0.05 µs for 33 octets, measured on a Xeon), and that choice
/// is a compile-time flag only.
pub(crate) struct MessageCipher {
    send_key: Zeroizing<[u8; KEY_LEN]>,
    recv_key: Zeroizing<[u8; KEY_LEN]>,
    next_nonce: u64,
    peer_nonce: u64,
}

impl std::fmt::Debug for MessageCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageCipher")
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

/// The Salsa20 subkey of XSalsa20 under `key` for nonces that begin with
/// `prefix`.
fn subkey(key: &ConnectionKey, prefix: &[u8; 16]) -> Zeroizing<[u8; KEY_LEN]> {
    Zeroizing::new(
        salsa20::hsalsa::<U10>(GenericArray::from_slice(&key.0[..]), prefix.into()).into(),
    )
}

/// Salsa20 under `subkey` at short nonce `nonce`, with its first 32
/// octets of keystream taken: the one-time Poly1305 key, as NaCl's
/// secretbox takes it.
fn keystream(subkey: &[u8; KEY_LEN], nonce: u64) -> (Salsa20, OneTimeKey) {
    let mut cipher = Salsa20::new(subkey.into(), &nonce.to_be_bytes().into());
    let mut otk = Zeroizing::new([0u8; KEY_LEN]);
    cipher.apply_keystream(&mut otk[..]);
    // 32 octets always make a one-time key.
    let otk = OneTimeKey::from_slice(&otk[..]).unwrap_or_else(|_| unreachable!());
    (cipher, otk)
}

/// A MESSAGE opened in place: what its flags say and where its frame body
/// lies in the frame's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opened {
    pub command: bool,
    pub more: bool,
    /// The frame body's offset in the MESSAGE command's body.
    pub at: usize,
}

impl MessageCipher {
    /// The cipher of a connection with `key`, for the client's end or the
    /// server's; `next_nonce` is our next short nonce, `peer_nonce` the
    /// last one the peer used in the handshake.
    fn new(key: &ConnectionKey, client: bool, next_nonce: u64, peer_nonce: u64) -> Self {
        let (send, recv) = if client {
            (MESSAGE_C, MESSAGE_S)
        } else {
            (MESSAGE_S, MESSAGE_C)
        };
        MessageCipher {
            send_key: subkey(key, send),
            recv_key: subkey(key, recv),
            next_nonce,
            peer_nonce,
        }
    }

    /// Appends one frame (`parts` concatenated) as an encrypted MESSAGE
    /// command frame, encrypting in place in `out`.
    ///
    /// # Errors
    ///
    /// [`ZmtpError::Cryptographic`] once 2^64 - 1 short nonces are used.
    pub fn seal_frame(
        &mut self,
        out: &mut Vec<u8>,
        command: bool,
        more: bool,
        parts: &[&[u8]],
    ) -> Result<(), ZmtpError> {
        let nonce = self.next_nonce;
        self.next_nonce = nonce
            .checked_add(1)
            .ok_or(ZmtpError::Cryptographic("the short nonces are used up"))?;
        let plain_len = 1 + parts.iter().map(|p| p.len()).sum::<usize>();
        let body_len = MESSAGE_NAME.len() + 8 + TAG_LEN + plain_len;
        out.reserve(9 + body_len);
        // libzmq 4.3 sends MESSAGE in a message frame without flags (its
        // encoder moves the box into a new msg_t), and ORs a received
        // frame's flags into the decrypted message's: a command or MORE
        // flag on the wire would corrupt what it delivers.
        let frame_at = out.len();
        FrameHeader::new(FrameKind::Message { more: false }, body_len).write(out);
        out.extend_from_slice(MESSAGE_NAME);
        out.extend_from_slice(&nonce.to_be_bytes());
        let tag_at = out.len();
        out.extend_from_slice(&[0; TAG_LEN]);
        let mut flags = 0;
        if more {
            flags |= FLAG_MORE;
        }
        if command {
            flags |= FLAG_COMMAND;
        }
        out.push(flags);
        for part in parts {
            out.extend_from_slice(part);
        }
        let (tag, body) = out[tag_at..].split_at_mut(TAG_LEN);
        let (mut cipher, otk) = keystream(&self.send_key, nonce);
        cipher.apply_keystream(body);
        // orion's Poly1305 fails only when used after it finalized, which
        // one call cannot; were it to, the frame goes, not sent untagged.
        match Poly1305::poly1305(&otk, body) {
            Ok(mac) => {
                tag.copy_from_slice(mac.unprotected_as_bytes());
                Ok(())
            }
            Err(_) => {
                out.truncate(frame_at);
                Err(ZmtpError::Cryptographic(
                    "a MESSAGE cannot be authenticated",
                ))
            }
        }
    }

    /// Opens a MESSAGE command's body (`\x07MESSAGE`, nonce, box) in place.
    ///
    /// # Errors
    ///
    /// Another command than MESSAGE, a body too short for its box, a nonce
    /// not above the peer's last one, or a box that does not open.
    pub fn open_frame(&mut self, body: &mut [u8]) -> Result<Opened, ZmtpError> {
        if !body.starts_with(MESSAGE_NAME) {
            let name = super::command::split_name(body).map_or(&b""[..], |(n, _)| n);
            return Err(ZmtpError::UnexpectedCommand {
                expected: "MESSAGE",
                got: super::error::escape(name),
            });
        }
        if body.len() < MESSAGE_OVERHEAD {
            return Err(malformed("MESSAGE", "shorter than its nonce and box"));
        }
        let nonce = u64_at(body, MESSAGE_NAME.len());
        if nonce <= self.peer_nonce {
            return Err(ZmtpError::InvalidNonce);
        }
        let (tag, sealed) = body[MESSAGE_NAME.len() + 8..].split_at_mut(TAG_LEN);
        let (mut cipher, otk) = keystream(&self.recv_key, nonce);
        // Checked in constant time before anything is decrypted.
        let tag = Tag::from_slice(tag).map_err(|_| malformed("MESSAGE", "no tag"))?;
        Poly1305::verify(&tag, &otk, sealed)
            .map_err(|_| ZmtpError::Cryptographic("a MESSAGE box does not open"))?;
        cipher.apply_keystream(sealed);
        self.peer_nonce = nonce;
        let flags = sealed[0];
        Ok(Opened {
            command: flags & FLAG_COMMAND != 0,
            more: flags & FLAG_MORE != 0,
            at: MESSAGE_OVERHEAD,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    WaitWelcome,
    WaitReady,
    Done,
}

/// CURVE's client side.
pub(crate) struct CurveClient {
    public: [u8; KEY_LEN],
    secret: CurveSecretKey,
    server: [u8; KEY_LEN],
    cn_public: [u8; KEY_LEN],
    cn_secret: CurveSecretKey,
    /// The box between C' and S, from HELLO until WELCOME is opened.
    hello_box: Option<SalsaBox>,
    /// The connection key between S' and c', once WELCOME told S'.
    precom: Option<ConnectionKey>,
    next_nonce: u64,
    peer_nonce: u64,
    state: ClientState,
    /// The transient key pair could not be made: fail at the start.
    broken: Option<ZmtpError>,
}

impl CurveClient {
    pub fn new(public: [u8; KEY_LEN], secret: CurveSecretKey, server: [u8; KEY_LEN]) -> Self {
        let (cn_secret, broken) = match CurveSecretKey::generate() {
            Ok(k) => (k, None),
            Err(e) => (CurveSecretKey::from_bytes([0; KEY_LEN]), Some(e)),
        };
        CurveClient {
            public,
            secret,
            server,
            cn_public: cn_secret.public_key(),
            cn_secret,
            hello_box: None,
            precom: None,
            next_nonce: 1,
            peer_nonce: 0,
            state: ClientState::WaitWelcome,
            broken,
        }
    }

    fn take_nonce(&mut self) -> u64 {
        let n = self.next_nonce;
        self.next_nonce += 1;
        n
    }

    /// Sends HELLO: our transient key and a box of 64 zeros to the server's
    /// long-term key, which only the right server opens.
    pub fn start(&mut self, out: &mut Vec<u8>) -> Result<(), ZmtpError> {
        if let Some(e) = self.broken.take() {
            return Err(e);
        }
        let nonce = self.take_nonce();
        let mut body = Vec::with_capacity(HELLO_LEN);
        body.extend_from_slice(b"\x05HELLO\x01\x00");
        body.extend_from_slice(&[0; 72]);
        body.extend_from_slice(&self.cn_public);
        body.extend_from_slice(&nonce.to_be_bytes());
        let hello_box = self.cn_secret.salsa_box(&self.server);
        seal(
            &hello_box,
            &short_nonce(HELLO_NONCE, nonce),
            &[0; 64],
            &mut body,
        );
        command_frame(out, &body);
        // WELCOME comes in the same box: one X25519 for both.
        self.hello_box = Some(hello_box);
        Ok(())
    }

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
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        match self.state {
            _ if body.starts_with(b"\x05ERROR") => Err(out_of_order(body, self.expecting())),
            ClientState::WaitWelcome => self.on_welcome(local, body, out),
            ClientState::WaitReady => self.on_ready(local, body),
            ClientState::Done => Err(out_of_order(body, "nothing more")),
        }
    }

    fn on_welcome(
        &mut self,
        local: &Local,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        if !body.starts_with(b"\x07WELCOME") {
            return Err(out_of_order(body, "WELCOME"));
        }
        if body.len() != WELCOME_LEN {
            return Err(malformed("WELCOME", "not 168 octets"));
        }
        let mut tail = [0; 16];
        tail.copy_from_slice(&body[8..24]);
        let hello_box = self
            .hello_box
            .take()
            .ok_or(ZmtpError::Cryptographic("no HELLO was sent"))?;
        let plain = open(&hello_box, &long_nonce(WELCOME_NONCE, &tail), &body[24..])
            .ok_or(ZmtpError::Cryptographic("the WELCOME box does not open"))?;
        let cn_server = key_at(&plain, 0);
        let cookie = &plain[32..128];

        // The vouch: Box[C' + S](C->S'), proving we hold C's secret.
        let vouch_tail = random_tail()?;
        let mut vouch_plain = Zeroizing::new([0u8; 64]);
        vouch_plain[..32].copy_from_slice(&self.cn_public);
        vouch_plain[32..].copy_from_slice(&self.server);
        let mut vouch = Vec::with_capacity(80);
        seal(
            &self.secret.salsa_box(&cn_server),
            &long_nonce(VOUCH_NONCE, &vouch_tail),
            &vouch_plain[..],
            &mut vouch,
        );

        let mut md = Vec::new();
        local.metadata.encode(&mut md);
        let mut plain = Zeroizing::new(Vec::with_capacity(128 + md.len()));
        plain.extend_from_slice(&self.public);
        plain.extend_from_slice(&vouch_tail);
        plain.extend_from_slice(&vouch);
        plain.extend_from_slice(&md);

        let precom = self.cn_secret.connection_key(&cn_server);
        let nonce = self.take_nonce();
        let mut initiate = Vec::with_capacity(INITIATE_MIN + md.len());
        initiate.extend_from_slice(b"\x08INITIATE");
        initiate.extend_from_slice(cookie);
        initiate.extend_from_slice(&nonce.to_be_bytes());
        seal(
            &precom.secretbox(),
            &short_nonce(INITIATE_NONCE, nonce),
            &plain,
            &mut initiate,
        );
        command_frame(out, &initiate);
        self.precom = Some(precom);
        self.state = ClientState::WaitReady;
        Ok(Progress::Continue)
    }

    fn on_ready(&mut self, local: &Local, body: &[u8]) -> Result<Progress, ZmtpError> {
        if !body.starts_with(b"\x05READY") {
            return Err(out_of_order(body, "READY"));
        }
        if body.len() < 6 + 8 + TAG_LEN {
            return Err(malformed("READY", "shorter than its nonce and box"));
        }
        let nonce = u64_at(body, 6);
        let precom = self
            .precom
            .as_ref()
            .ok_or(ZmtpError::Cryptographic("no connection key"))?;
        let plain = open(
            &precom.secretbox(),
            &short_nonce(READY_NONCE, nonce),
            &body[14..],
        )
        .ok_or(ZmtpError::Cryptographic("the READY box does not open"))?;
        self.peer_nonce = nonce;
        let md = Metadata::decode(&plain)?;
        let peer = validate_peer(local.socket_type, md)?;
        self.state = ClientState::Done;
        Ok(Progress::Done(peer))
    }

    /// The MESSAGE cipher, once the handshake is done.
    pub fn take_cipher(&mut self) -> Option<MessageCipher> {
        if self.state != ClientState::Done {
            return None;
        }
        let key = self.precom.take()?;
        Some(MessageCipher::new(
            &key,
            true,
            self.next_nonce,
            self.peer_nonce,
        ))
    }

    /// The server's long-term key, which the handshake proved it holds.
    pub fn server_key(&self) -> [u8; KEY_LEN] {
        self.server
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    WaitHello,
    WaitInitiate,
    /// INITIATE taken; the handshake is asking whether the client may in.
    WaitAuth,
    Done,
}

fn server_expecting(state: ServerState) -> &'static str {
    match state {
        ServerState::WaitHello => "HELLO",
        ServerState::WaitInitiate => "INITIATE",
        ServerState::WaitAuth => "nothing before the authentication decision",
        ServerState::Done => "nothing more",
    }
}

/// CURVE's server side.
pub(crate) struct CurveServer {
    public: [u8; KEY_LEN],
    secret: CurveSecretKey,
    cn_public: [u8; KEY_LEN],
    cn_secret: CurveSecretKey,
    /// The client's transient key C', from its HELLO.
    cn_client: [u8; KEY_LEN],
    /// The key of the cookie sent in WELCOME: made for this WELCOME,
    /// forgotten once INITIATE has used it.
    cookie_key: Option<Zeroizing<[u8; KEY_LEN]>>,
    precom: Option<ConnectionKey>,
    /// The client's long-term key, once its INITIATE vouched for it.
    client_key: Option<[u8; KEY_LEN]>,
    /// The client's metadata, from its INITIATE, checked once it is let in.
    metadata: Option<Metadata>,
    next_nonce: u64,
    peer_nonce: u64,
    state: ServerState,
    broken: Option<ZmtpError>,
}

impl CurveServer {
    pub fn new(secret: CurveSecretKey) -> Self {
        let (cn_secret, broken) = match CurveSecretKey::generate() {
            Ok(k) => (k, None),
            Err(e) => (CurveSecretKey::from_bytes([0; KEY_LEN]), Some(e)),
        };
        CurveServer {
            public: secret.public_key(),
            secret,
            cn_public: cn_secret.public_key(),
            cn_secret,
            cn_client: [0; KEY_LEN],
            cookie_key: None,
            precom: None,
            client_key: None,
            metadata: None,
            next_nonce: 1,
            peer_nonce: 0,
            state: ServerState::WaitHello,
            broken,
        }
    }

    pub fn expecting(&self) -> &'static str {
        server_expecting(self.state)
    }

    pub fn on_command(
        &mut self,
        _local: &Local,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        if let Some(e) = self.broken.take() {
            return Err(e);
        }
        match self.state {
            _ if body.starts_with(b"\x05ERROR") => Err(out_of_order(body, self.expecting())),
            ServerState::WaitHello => self.on_hello(body, out),
            ServerState::WaitInitiate => self.on_initiate(body),
            state @ (ServerState::WaitAuth | ServerState::Done) => {
                Err(out_of_order(body, server_expecting(state)))
            }
        }
    }

    fn on_hello(&mut self, body: &[u8], out: &mut Vec<u8>) -> Result<Progress, ZmtpError> {
        if !body.starts_with(b"\x05HELLO") {
            return Err(out_of_order(body, "HELLO"));
        }
        if body.len() != HELLO_LEN {
            return Err(malformed("HELLO", "not 200 octets"));
        }
        if body[6..8] != [1, 0] {
            return Err(malformed("HELLO", "not CurveZMQ version 1.0"));
        }
        let cn_client = key_at(body, 80);
        let nonce = u64_at(body, 112);
        // HELLO's box, and WELCOME's below: one X25519 for both.
        let hello_box = self.secret.salsa_box(&cn_client);
        open(&hello_box, &short_nonce(HELLO_NONCE, nonce), &body[120..]).ok_or(
            ZmtpError::Cryptographic(
                "the HELLO box does not open (the client has another server key)",
            ),
        )?;
        self.cn_client = cn_client;
        self.peer_nonce = nonce;

        // The cookie: SecretBox[C' + s'](a fresh cookie key).
        let mut cookie_key = Zeroizing::new([0u8; KEY_LEN]);
        random(&mut cookie_key[..])?;
        let cookie_tail = random_tail()?;
        let mut cookie_plain = Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(&self.cn_client);
        cookie_plain[32..].copy_from_slice(self.cn_secret.as_bytes());
        let mut cookie = Vec::with_capacity(80);
        seal(
            &XSalsa20Poly1305::new(GenericArray::from_slice(&cookie_key[..])),
            &long_nonce(COOKIE_NONCE, &cookie_tail),
            &cookie_plain[..],
            &mut cookie,
        );

        let mut plain = Zeroizing::new([0u8; 128]);
        plain[..32].copy_from_slice(&self.cn_public);
        plain[32..48].copy_from_slice(&cookie_tail);
        plain[48..].copy_from_slice(&cookie);
        let welcome_tail = random_tail()?;
        let mut welcome = Vec::with_capacity(WELCOME_LEN);
        welcome.extend_from_slice(b"\x07WELCOME");
        welcome.extend_from_slice(&welcome_tail);
        seal(
            &hello_box,
            &long_nonce(WELCOME_NONCE, &welcome_tail),
            &plain[..],
            &mut welcome,
        );
        command_frame(out, &welcome);
        self.cookie_key = Some(cookie_key);
        self.state = ServerState::WaitInitiate;
        Ok(Progress::Continue)
    }

    fn on_initiate(&mut self, body: &[u8]) -> Result<Progress, ZmtpError> {
        if !body.starts_with(b"\x08INITIATE") {
            return Err(out_of_order(body, "INITIATE"));
        }
        if body.len() < INITIATE_MIN {
            return Err(malformed("INITIATE", "shorter than its cookie and boxes"));
        }
        // The cookie key serves one INITIATE: rotated away whatever comes.
        let cookie_key = self
            .cookie_key
            .take()
            .ok_or(ZmtpError::Cryptographic("no cookie key"))?;
        let mut cookie_tail = [0; 16];
        cookie_tail.copy_from_slice(&body[9..25]);
        let cookie = open(
            &XSalsa20Poly1305::new(GenericArray::from_slice(&cookie_key[..])),
            &long_nonce(COOKIE_NONCE, &cookie_tail),
            &body[25..105],
        )
        .ok_or(ZmtpError::Cryptographic(
            "the INITIATE cookie does not open",
        ))?;
        drop(cookie_key);
        if cookie[..32] != self.cn_client || cookie[32..] != self.cn_secret.as_bytes()[..] {
            return Err(ZmtpError::Cryptographic("the INITIATE cookie is not ours"));
        }

        let nonce = u64_at(body, 105);
        if nonce <= self.peer_nonce {
            return Err(ZmtpError::InvalidNonce);
        }
        let precom = self.cn_secret.connection_key(&self.cn_client);
        let plain = open(
            &precom.secretbox(),
            &short_nonce(INITIATE_NONCE, nonce),
            &body[113..],
        )
        .ok_or(ZmtpError::Cryptographic("the INITIATE box does not open"))?;
        self.peer_nonce = nonce;
        // `plain` is C, the vouch's nonce tail, the vouch (80), metadata.
        let client_key = key_at(&plain, 0);
        let mut vouch_tail = [0; 16];
        vouch_tail.copy_from_slice(&plain[32..48]);
        let vouch = open(
            &self.cn_secret.salsa_box(&client_key),
            &long_nonce(VOUCH_NONCE, &vouch_tail),
            &plain[48..128],
        )
        .ok_or(ZmtpError::Cryptographic("the vouch does not open"))?;
        if vouch[..32] != self.cn_client {
            return Err(ZmtpError::KeyExchange(
                "the vouch is for another transient key",
            ));
        }
        if vouch[32..64] != self.public {
            return Err(ZmtpError::KeyExchange("the vouch is for another server"));
        }
        self.client_key = Some(client_key);
        // Parsed now, as libzmq does before its ZAP request; judged once
        // the client is let in.
        self.metadata = Some(Metadata::decode(&plain[128..])?);
        self.precom = Some(precom);
        self.state = ServerState::WaitAuth;
        Ok(Progress::Authenticate(vec![client_key.to_vec()]))
    }

    /// The client may in: its metadata is checked and READY sent.
    pub fn on_authenticated(
        &mut self,
        local: &Local,
        out: &mut Vec<u8>,
    ) -> Result<Progress, ZmtpError> {
        let (ServerState::WaitAuth, Some(md), Some(precom)) =
            (self.state, self.metadata.take(), self.precom.as_ref())
        else {
            return Err(ZmtpError::InvalidConfig(
                "a CURVE server is admitted only after an INITIATE",
            ));
        };
        let peer = match validate_peer(local.socket_type, md) {
            Ok(peer) => peer,
            Err(e) => return Err(reject(out, e)),
        };
        let mut md = Zeroizing::new(Vec::new());
        local.metadata.encode(&mut md);
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        let mut ready = Vec::with_capacity(14 + TAG_LEN + md.len());
        ready.extend_from_slice(b"\x05READY");
        ready.extend_from_slice(&nonce.to_be_bytes());
        seal(
            &precom.secretbox(),
            &short_nonce(READY_NONCE, nonce),
            &md,
            &mut ready,
        );
        command_frame(out, &ready);
        self.state = ServerState::Done;
        Ok(Progress::Done(peer))
    }

    /// The MESSAGE cipher, once the handshake is done.
    pub fn take_cipher(&mut self) -> Option<MessageCipher> {
        if self.state != ServerState::Done {
            return None;
        }
        let key = self.precom.take()?;
        Some(MessageCipher::new(
            &key,
            false,
            self.next_nonce,
            self.peer_nonce,
        ))
    }

    /// The client's long-term key, once its INITIATE vouched for it.
    pub fn client_key(&self) -> Option<[u8; KEY_LEN]> {
        self.client_key
    }
}

impl Drop for CurveServer {
    fn drop(&mut self) {
        self.cn_client.zeroize();
    }
}

/// What a CURVE server knows of a client when it decides whether to let it
/// in: what libzmq's ZAP request (RFC 27) carries for CURVE.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CurveCredentials<'a> {
    /// The client's long-term public key, which its INITIATE proved it
    /// holds the secret of.
    pub public_key: &'a [u8; KEY_LEN],
    /// The client's address, when the transport knows it.
    pub peer_address: Option<SocketAddr>,
    /// The server socket's ZAP domain (`ZMQ_ZAP_DOMAIN`; empty when unset).
    pub zap_domain: &'a str,
}

impl CurveCredentials<'_> {
    /// The client's public key in Z85 (40 characters): the User-Id libzmq's
    /// usual ZAP handlers give a CURVE client.
    pub fn public_key_z85(&self) -> String {
        z85(self.public_key)
    }
}

const Z85: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// A key in Z85 (RFC 32).
pub(crate) fn z85(key: &[u8; KEY_LEN]) -> String {
    let mut text = String::with_capacity(40);
    for group in key.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = Z85[(value % 85) as usize];
            value /= 85;
        }
        text.extend(digits.iter().map(|&d| d as char));
    }
    text
}

/// A key from 40 Z85 characters (RFC 32), if they are that.
pub(crate) fn z85_key(text: &[u8]) -> Option<[u8; KEY_LEN]> {
    if text.len() != 40 {
        return None;
    }
    let mut key = [0; KEY_LEN];
    for (group, out) in text.chunks_exact(5).zip(key.chunks_exact_mut(4)) {
        let mut value: u64 = 0;
        for &c in group {
            let digit = Z85.iter().position(|&a| a == c)?;
            value = value * 85 + digit as u64;
        }
        out.copy_from_slice(&u32::try_from(value).ok()?.to_be_bytes());
    }
    Some(key)
}

/// A key given as 32 octets or 40 Z85 characters (libzmq also takes the
/// Z85 text with its terminating NUL: 41 octets).
pub fn parse_key(value: &[u8]) -> Option<[u8; KEY_LEN]> {
    match value.len() {
        KEY_LEN => value.try_into().ok(),
        40 => z85_key(value),
        41 if value[40] == 0 => z85_key(&value[..40]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::command::SOCKET_TYPE;
    use crate::zmtp::frame::FrameDecoder;
    use crate::zmtp::mechanism::PeerInfo;
    use crate::SocketType;

    // libzmq's test keys (doc/zmq_curve.txt, tests/test_sodium.cpp).
    const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    fn key(z: &str) -> [u8; 32] {
        z85_key(z.as_bytes()).unwrap()
    }

    fn hex(s: &str) -> [u8; 32] {
        let mut k = [0; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        k
    }

    #[test]
    fn z85_keys_match_libzmqs_test_values() {
        // doc/zmq_curve.txt gives each key in hex and in Z85.
        let pairs = [
            (
                "BB88471D65E2659B30C55A5321CEBB5AAB2B70A398645C26DCA2B2FCB43FC518",
                CLIENT_PUBLIC,
            ),
            (
                "7BB864B489AFA3671FBE69101F94B38972F24816DFB01B51656B3FEC8DFD0888",
                CLIENT_SECRET,
            ),
            (
                "54FCBA24E93249969316FB617C872BB0C1D1FF14800427C594CBFACF1BC2D652",
                SERVER_PUBLIC,
            ),
            (
                "8E0BDD697628B91D8F245587EE95C5B04D48963F79259877B49CD9063AEAD3B7",
                SERVER_SECRET,
            ),
        ];
        for (h, z) in pairs {
            assert_eq!(key(z), hex(h));
            assert_eq!(z85(&hex(h)), z);
            assert_eq!(parse_key(z.as_bytes()), Some(hex(h)));
            assert_eq!(parse_key(&hex(h)), Some(hex(h)));
            let mut nul = z.as_bytes().to_vec();
            nul.push(0);
            assert_eq!(parse_key(&nul), Some(hex(h)));
        }
        assert_eq!(parse_key(&[0; 31]), None);
        assert_eq!(parse_key(&[b'~'; 40]), None);
        assert_eq!(parse_key(&[b'#'; 40]), None, "a group above 2^32 - 1");
    }

    #[test]
    fn public_keys_derive_as_libzmqs_curve_public() {
        // tests/test_sodium.cpp: zmq_curve_public of the client's secret.
        let client = CurveSecretKey::from_bytes(key(CLIENT_SECRET));
        assert_eq!(z85(&client.public_key()), CLIENT_PUBLIC);
        let server = CurveSecretKey::from_bytes(key(SERVER_SECRET));
        assert_eq!(z85(&server.public_key()), SERVER_PUBLIC);
        assert_eq!(format!("{client:?}"), "CurveSecretKey(<hidden>)");
        let a = CurveSecretKey::generate().unwrap();
        let b = CurveSecretKey::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn boxes_are_nacls_crypto_box() {
        // NaCl's box test (tests/box.c of the NaCl distribution, as
        // RustCrypto's crypto_box tests carry it): the first 16 octets of
        // the ciphertext are the tag, as on CURVE's wire.
        let alice_sk = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob_pk = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        let nonce: [u8; 24] = [
            0x69, 0x69, 0x6e, 0xe9, 0x55, 0xb6, 0x2b, 0x73, 0xcd, 0x62, 0xbd, 0xa8, 0x75, 0xfc,
            0x73, 0xd6, 0x82, 0x19, 0xe0, 0x03, 0x6b, 0x7a, 0x0b, 0x37,
        ];
        let b = CurveSecretKey::from_bytes(alice_sk).salsa_box(&bob_pk);
        let plaintext: [u8; 131] = [
            0xbe, 0x07, 0x5f, 0xc5, 0x3c, 0x81, 0xf2, 0xd5, 0xcf, 0x14, 0x13, 0x16, 0xeb, 0xeb,
            0x0c, 0x7b, 0x52, 0x28, 0xc5, 0x2a, 0x4c, 0x62, 0xcb, 0xd4, 0x4b, 0x66, 0x84, 0x9b,
            0x64, 0x24, 0x4f, 0xfc, 0xe5, 0xec, 0xba, 0xaf, 0x33, 0xbd, 0x75, 0x1a, 0x1a, 0xc7,
            0x28, 0xd4, 0x5e, 0x6c, 0x61, 0x29, 0x6c, 0xdc, 0x3c, 0x01, 0x23, 0x35, 0x61, 0xf4,
            0x1d, 0xb6, 0x6c, 0xce, 0x31, 0x4a, 0xdb, 0x31, 0x0e, 0x3b, 0xe8, 0x25, 0x0c, 0x46,
            0xf0, 0x6d, 0xce, 0xea, 0x3a, 0x7f, 0xa1, 0x34, 0x80, 0x57, 0xe2, 0xf6, 0x55, 0x6a,
            0xd6, 0xb1, 0x31, 0x8a, 0x02, 0x4a, 0x83, 0x8f, 0x21, 0xaf, 0x1f, 0xde, 0x04, 0x89,
            0x77, 0xeb, 0x48, 0xf5, 0x9f, 0xfd, 0x49, 0x24, 0xca, 0x1c, 0x60, 0x90, 0x2e, 0x52,
            0xf0, 0xa0, 0x89, 0xbc, 0x76, 0x89, 0x70, 0x40, 0xe0, 0x82, 0xf9, 0x37, 0x76, 0x38,
            0x48, 0x64, 0x5e, 0x07, 0x05,
        ];
        let mut out = Vec::new();
        seal(&b, &nonce, &plaintext, &mut out);
        // NaCl's box output begins with the tag f3ffc770..3305d9, then
        // the ciphertext 8e993b9f48681273...
        let want: [u8; 24] = [
            0xf3, 0xff, 0xc7, 0x70, 0x3f, 0x94, 0x00, 0xe5, 0x2a, 0x7d, 0xfb, 0x4b, 0x3d, 0x33,
            0x05, 0xd9, 0x8e, 0x99, 0x3b, 0x9f, 0x48, 0x68, 0x12, 0x73,
        ];
        assert_eq!(out[..24], want);
        assert_eq!(out.len(), 16 + 131);
        assert_eq!(
            open(&b, &nonce, &out).as_deref().map(|v| &v[..]),
            Some(&plaintext[..])
        );
    }

    #[test]
    fn message_boxes_are_nacls_crypto_box() {
        // MESSAGE's own composition (HSalsa20 once per direction, Salsa20,
        // Poly1305) against crypto_box's box with the same keys and nonce,
        // at lengths around Salsa20's and Poly1305's block edges.
        let a = CurveSecretKey::generate().unwrap();
        let b = CurveSecretKey::generate().unwrap();
        let (a_key, b_key) = (
            a.connection_key(&b.public_key()),
            b.connection_key(&a.public_key()),
        );
        assert_eq!(*a_key.0, *b_key.0);
        let reference = a.salsa_box(&b.public_key());
        let mut client = MessageCipher::new(&a_key, true, 3, 1);
        let mut server = MessageCipher::new(&b_key, false, 2, 2);
        for len in [0, 1, 15, 16, 31, 32, 33, 63, 64, 65, 1000] {
            let body: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut plain = vec![FLAG_MORE];
            plain.extend_from_slice(&body);
            for client_sends in [true, false] {
                let (from, to, prefix) = if client_sends {
                    (&mut client, &mut server, MESSAGE_C)
                } else {
                    (&mut server, &mut client, MESSAGE_S)
                };
                let mut wire = Vec::new();
                from.seal_frame(&mut wire, false, true, &[&body]).unwrap();
                let mut frame = bodies(&wire).remove(0);
                let mut want = Vec::new();
                let nonce = short_nonce(prefix, u64_at(&frame, 8));
                seal(&reference, &nonce, &plain, &mut want);
                assert_eq!(frame[16..], want[..], "{len} octets");
                let o = to.open_frame(&mut frame).unwrap();
                assert_eq!((o.command, o.more), (false, true));
                assert_eq!(&frame[o.at..], &body[..]);
            }
        }
        // A flipped bit in the tag: refused, and nothing decrypted.
        let mut wire = Vec::new();
        client.seal_frame(&mut wire, false, false, &[b"x"]).unwrap();
        let mut frame = bodies(&wire).remove(0);
        frame[16] ^= 1;
        let sealed = frame.clone();
        assert!(matches!(
            server.open_frame(&mut frame),
            Err(ZmtpError::Cryptographic(_))
        ));
        assert_eq!(frame, sealed);
    }

    fn local(t: SocketType) -> Local {
        let mut metadata = Metadata::new();
        metadata.push(SOCKET_TYPE, t.name());
        Local {
            socket_type: t,
            metadata,
        }
    }

    fn bodies(out: &[u8]) -> Vec<Vec<u8>> {
        let mut d = FrameDecoder::new(None);
        let mut rest = out;
        let mut all = Vec::new();
        while let (n, Some(f)) = d.decode(rest).unwrap() {
            rest = &rest[n..];
            all.push(f.body);
        }
        assert!(rest.is_empty());
        all
    }

    fn client(server: [u8; 32]) -> CurveClient {
        CurveClient::new(
            key(CLIENT_PUBLIC),
            CurveSecretKey::from_bytes(key(CLIENT_SECRET)),
            server,
        )
    }

    fn server() -> CurveServer {
        CurveServer::new(CurveSecretKey::from_bytes(key(SERVER_SECRET)))
    }

    /// The wire so far, by command: HELLO, WELCOME, INITIATE, READY.
    struct Run {
        c: CurveClient,
        s: CurveServer,
        hello: Vec<u8>,
        initiate: Vec<u8>,
        ready: Vec<u8>,
        peers: (PeerInfo, PeerInfo),
    }

    fn run() -> Run {
        let (cl, sl) = (local(SocketType::Dealer), local(SocketType::Router));
        let mut c = client(key(SERVER_PUBLIC));
        let mut s = server();
        let mut out = Vec::new();
        c.start(&mut out).unwrap();
        let hello = bodies(&out).remove(0);
        assert_eq!(hello.len(), 200);
        let mut out = Vec::new();
        assert_eq!(s.on_command(&sl, &hello, &mut out), Ok(Progress::Continue));
        let welcome = bodies(&out).remove(0);
        assert_eq!(welcome.len(), 168);
        let mut out = Vec::new();
        assert_eq!(
            c.on_command(&cl, &welcome, &mut out),
            Ok(Progress::Continue)
        );
        let initiate = bodies(&out).remove(0);
        assert_eq!(initiate.len(), 257 + cl.metadata.encoded_len());
        let mut out = Vec::new();
        // The server asks about the client's key before its READY.
        assert_eq!(
            s.on_command(&sl, &initiate, &mut out),
            Ok(Progress::Authenticate(vec![key(CLIENT_PUBLIC).to_vec()]))
        );
        assert!(out.is_empty());
        let Ok(Progress::Done(sp)) = s.on_authenticated(&sl, &mut out) else {
            panic!("server not done");
        };
        let ready = bodies(&out).remove(0);
        let Ok(Progress::Done(cp)) = c.on_command(&cl, &ready, &mut Vec::new()) else {
            panic!("client not done");
        };
        Run {
            c,
            s,
            hello,
            initiate,
            ready,
            peers: (cp, sp),
        }
    }

    #[test]
    fn a_client_and_a_server_agree_and_exchange_messages() {
        let mut r = run();
        assert_eq!(r.peers.0.socket_type, SocketType::Router);
        assert_eq!(r.peers.1.socket_type, SocketType::Dealer);
        assert_eq!(r.s.client_key(), Some(key(CLIENT_PUBLIC)));
        assert_eq!(r.c.server_key(), key(SERVER_PUBLIC));
        // The nonces so far: HELLO 1, INITIATE 2, READY 1.
        assert_eq!(u64_at(&r.hello, 112), 1);
        assert_eq!(u64_at(&r.initiate, 105), 2);
        assert_eq!(u64_at(&r.ready, 6), 1);
        let mut cc = r.c.take_cipher().unwrap();
        let mut sc = r.s.take_cipher().unwrap();
        assert!(r.c.take_cipher().is_none(), "taken once");

        let mut wire = Vec::new();
        cc.seal_frame(&mut wire, false, true, &[b"hel", b"lo"])
            .unwrap();
        cc.seal_frame(&mut wire, true, false, &[b"\x09SUBSCRIBE", b"t"])
            .unwrap();
        let mut frames = bodies(&wire);
        assert_eq!(frames[0].len(), MESSAGE_OVERHEAD + 5);
        assert_eq!(u64_at(&frames[0], 8), 3, "the client's first MESSAGE is 3");
        assert!(!frames[0].windows(5).any(|w| w == b"hello"), "encrypted");
        let o = sc.open_frame(&mut frames[0]).unwrap();
        assert_eq!((o.command, o.more), (false, true));
        assert_eq!(&frames[0][o.at..], b"hello");
        let o = sc.open_frame(&mut frames[1]).unwrap();
        assert_eq!((o.command, o.more), (true, false));
        assert_eq!(&frames[1][o.at..], b"\x09SUBSCRIBEt");

        let mut wire = Vec::new();
        sc.seal_frame(&mut wire, false, false, &[]).unwrap();
        let mut f = bodies(&wire).remove(0);
        assert_eq!(u64_at(&f, 8), 2, "the server's first MESSAGE is 2");
        let o = cc.open_frame(&mut f).unwrap();
        assert_eq!(f.len(), o.at);
    }

    #[test]
    fn replayed_reordered_and_forged_messages_are_refused() {
        let mut r = run();
        let mut cc = r.c.take_cipher().unwrap();
        let mut sc = r.s.take_cipher().unwrap();
        let mut wire = Vec::new();
        for m in [&b"a"[..], b"b", b"c"] {
            cc.seal_frame(&mut wire, false, false, &[m]).unwrap();
        }
        let frames = bodies(&wire);
        let mut second = frames[1].clone();
        sc.open_frame(&mut second).unwrap();
        // The first, after the second: its nonce is not above.
        assert_eq!(
            sc.open_frame(&mut frames[0].clone()),
            Err(ZmtpError::InvalidNonce)
        );
        // The second again (a replay).
        assert_eq!(
            sc.open_frame(&mut frames[1].clone()),
            Err(ZmtpError::InvalidNonce)
        );
        // A flipped bit in the third's box; then the third itself still
        // opens (a failed open does not move the nonce).
        let mut forged = frames[2].clone();
        *forged.last_mut().unwrap() ^= 1;
        assert!(matches!(
            sc.open_frame(&mut forged),
            Err(ZmtpError::Cryptographic(_))
        ));
        sc.open_frame(&mut frames[2].clone()).unwrap();
        // The client cannot open its own direction's frames.
        let mut own = Vec::new();
        cc.seal_frame(&mut own, false, false, &[b"x"]).unwrap();
        assert!(matches!(
            cc.open_frame(&mut bodies(&own)[0]),
            Err(ZmtpError::InvalidNonce | ZmtpError::Cryptographic(_))
        ));
        // Short, or not a MESSAGE.
        assert!(matches!(
            sc.open_frame(&mut b"\x07MESSAGE\0\0\0\0\0\0\0\x09".to_vec()),
            Err(ZmtpError::MalformedCurveCommand { .. })
        ));
        assert!(matches!(
            sc.open_frame(&mut b"\x04PING\0\0".to_vec()),
            Err(ZmtpError::UnexpectedCommand { .. })
        ));
    }

    #[test]
    fn a_wrong_server_key_fails_at_hello() {
        let other = CurveSecretKey::generate().unwrap().public_key();
        let mut c = client(other);
        let mut out = Vec::new();
        c.start(&mut out).unwrap();
        let hello = bodies(&out).remove(0);
        let mut s = server();
        let mut out = Vec::new();
        assert!(matches!(
            s.on_command(&local(SocketType::Rep), &hello, &mut out),
            Err(ZmtpError::Cryptographic(_))
        ));
        assert!(out.is_empty(), "no WELCOME, no ERROR");
    }

    #[test]
    fn a_server_with_a_stolen_public_key_cannot_welcome() {
        // A server that claims S but holds another secret: its WELCOME
        // box does not open for the client (and its HELLO neither).
        let mut c = client(key(SERVER_PUBLIC));
        let mut out = Vec::new();
        c.start(&mut out).unwrap();
        let hello = bodies(&out).remove(0);
        let mut impostor = CurveServer::new(CurveSecretKey::generate().unwrap());
        assert!(impostor
            .on_command(&local(SocketType::Rep), &hello, &mut Vec::new())
            .is_err());
        // A WELCOME of the right size but random content.
        let mut welcome = b"\x07WELCOME".to_vec();
        welcome.extend_from_slice(&[7; 160]);
        assert!(matches!(
            c.on_command(&local(SocketType::Req), &welcome, &mut Vec::new()),
            Err(ZmtpError::Cryptographic(_))
        ));
    }

    #[test]
    fn hello_and_initiate_are_checked() {
        let r = run();
        let l = local(SocketType::Router);
        // Truncated HELLO, wrong version.
        let mut out = Vec::new();
        assert!(matches!(
            server().on_command(&l, &r.hello[..199], &mut out),
            Err(ZmtpError::MalformedCurveCommand {
                command: "HELLO",
                ..
            })
        ));
        let mut v2 = r.hello.clone();
        v2[6] = 2;
        assert!(matches!(
            server().on_command(&l, &v2, &mut out),
            Err(ZmtpError::MalformedCurveCommand {
                command: "HELLO",
                ..
            })
        ));
        // A replayed HELLO to a new server opens (HELLO proves nothing) but
        // the replayed INITIATE does not: the new server's cookie key is
        // another.
        let mut s = server();
        s.on_command(&l, &r.hello, &mut out).unwrap();
        assert!(matches!(
            s.on_command(&l, &r.initiate, &mut out),
            Err(ZmtpError::Cryptographic(
                "the INITIATE cookie does not open"
            ))
        ));
        // A truncated INITIATE.
        let mut s = server();
        s.on_command(&l, &r.hello, &mut out).unwrap();
        assert!(matches!(
            s.on_command(&l, &r.initiate[..256], &mut out),
            Err(ZmtpError::MalformedCurveCommand {
                command: "INITIATE",
                ..
            })
        ));
        // HELLO twice to one server: the second is out of order.
        let mut s = server();
        s.on_command(&l, &r.hello, &mut out).unwrap();
        assert!(matches!(
            s.on_command(&l, &r.hello, &mut out),
            Err(ZmtpError::UnexpectedCommand {
                expected: "INITIATE",
                ..
            })
        ));
    }

    /// A client that vouches with a key pair that is not the C it claims.
    #[test]
    fn a_vouch_for_the_wrong_key_is_refused() {
        let l = local(SocketType::Router);
        let mut c = CurveClient::new(
            key(CLIENT_PUBLIC),                  // claims C...
            CurveSecretKey::generate().unwrap(), // ...without its secret
            key(SERVER_PUBLIC),
        );
        let mut s = server();
        let mut out = Vec::new();
        c.start(&mut out).unwrap();
        let mut welcome = Vec::new();
        s.on_command(&l, &bodies(&out)[0], &mut welcome).unwrap();
        let mut initiate = Vec::new();
        c.on_command(
            &local(SocketType::Dealer),
            &bodies(&welcome)[0],
            &mut initiate,
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(
            s.on_command(&l, &bodies(&initiate)[0], &mut out),
            Err(ZmtpError::Cryptographic("the vouch does not open"))
        );
        assert!(out.is_empty());
        assert_eq!(s.client_key(), None);
    }

    #[test]
    fn debug_shows_no_secret() {
        let s = CurveSecretKey::from_bytes(key(SERVER_SECRET));
        let shown = format!("{s:?}");
        assert!(!shown.contains("JTKVSB"));
        let r = run();
        let _ = r;
    }
}
